import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { validate, type ResolvedEventBus } from "../../api/index.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import type { BusPaths } from "./home.js";

/** The manifest a bus runs, as written in its state dir and as resolved; undefined before the first `up`. */
export async function appliedBus(paths: BusPaths): Promise<{ readonly text: string; readonly bus: ResolvedEventBus } | undefined> {
  const text = await readFile(paths.manifest, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const result = validate(parse(text) as unknown);
  if (!result.ok) {
    throw new LocalPlatformError(
      LocalErrorCode.stateDir,
      `${paths.manifest}: the applied manifest is no longer valid; fix or remove the state dir ${paths.dir}`,
    );
  }
  return { text, bus: result.bus };
}
