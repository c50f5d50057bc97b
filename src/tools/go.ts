/** Finding the Go toolchain that builds the pinned binaries. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { GoUnavailableError } from "./errors.js";
import { lookPath } from "./find-binary.js";
import { goMinimumVersion } from "./binaries.js";

const execFileAsync = promisify(execFile);

/** Where Go is commonly installed when it is not on `$PATH` (the official tarball's location). */
const FALLBACK_GO = "/usr/local/go/bin/go";

/** A usable Go toolchain. */
export interface GoToolchain {
  /** Absolute path of the `go` command. */
  readonly path: string;
  /** Its version without the `go` prefix, e.g. `1.26.8`. */
  readonly version: string;
}

/**
 * The `go` command: from `$PATH`, else `$GOROOT/bin/go`, else `/usr/local/go/bin/go`; checked to be
 * at least {@link goMinimumVersion} unless `GOTOOLCHAIN` lets go fetch a newer toolchain itself.
 * @throws {@link GoUnavailableError} with one line that says what to install
 */
export async function findGo(): Promise<GoToolchain> {
  const minimum = goMinimumVersion();
  const install = `install Go >= ${minimum} (https://go.dev/dl/) and put it on $PATH`;
  const goroot = process.env["GOROOT"];
  const candidates = [lookPath("go"), goroot ? join(goroot, "bin", "go") : undefined, FALLBACK_GO];
  const path = candidates.find((p): p is string => p !== undefined && existsSync(p));
  if (path === undefined) throw new GoUnavailableError(`go not found on $PATH nor in ${FALLBACK_GO}; ${install}`);
  let env: { GOVERSION?: string; GOTOOLCHAIN?: string };
  try {
    const { stdout } = await execFileAsync(path, ["env", "-json", "GOVERSION", "GOTOOLCHAIN"], { timeout: 30_000 });
    env = JSON.parse(stdout) as typeof env;
  } catch (cause) {
    throw new GoUnavailableError(`${path} does not run (${String(cause).split("\n")[0]}); ${install}`, { cause });
  }
  const version = (env.GOVERSION ?? "").replace(/^go/, "");
  // GOTOOLCHAIN=local forbids go from fetching the newer toolchain that a module asks for.
  if (compareVersions(version, minimum) < 0 && env.GOTOOLCHAIN === "local") {
    throw new GoUnavailableError(`${path} is go${version}, older than go${minimum} with GOTOOLCHAIN=local; ${install}`);
  }
  return { path, version };
}

/** Compares dotted numeric versions (`1.26.8` vs `1.26.0`); a suffix such as `rc1` is ignored. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => v.split(".").map((part) => Number.parseInt(part, 10) || 0);
  const [pa, pb] = [parse(a), parse(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}
