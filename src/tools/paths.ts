/**
 * Where tools live: the project-local tools dir (links) and the machine-wide build cache
 * (binaries, shared by every clone on the machine).
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import type { PinnedBinary } from "./binaries.js";

/** Environment variable that overrides {@link toolsDir}. */
export const TOOLS_DIR_ENV = "EVENTBUS_TOOLS_DIR";

/**
 * The nearest parent directory of this module that holds a `package.json`: the repository root
 * when run from `src/` or `dist/`.
 */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/**
 * The project-local tools dir: `$EVENTBUS_TOOLS_DIR`, or `<project root>/.tools`.
 * Its `bin/` holds links to the binaries in the shared cache.
 */
export function toolsDir(): string {
  const fromEnv = process.env[TOOLS_DIR_ENV];
  return fromEnv !== undefined && fromEnv !== "" ? resolve(fromEnv) : join(projectRoot(), ".tools");
}

/** `<toolsDir>/bin`, where `<command>-<version>` and default `<command>` links live. */
export function toolsBinDir(): string {
  return join(toolsDir(), "bin");
}

/**
 * The machine-wide cache of built binaries: `${XDG_CACHE_HOME:-~/.cache}/eventbus/tools`.
 * Each binary lives in `<cache>/<command>@<version>/<command>`.
 */
export function sharedCacheDir(): string {
  const xdg = process.env["XDG_CACHE_HOME"];
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), ".cache");
  return join(base, "eventbus", "tools");
}

/** Where the installer puts a pinned binary in the shared cache. */
export function cachedBinaryPath(binary: PinnedBinary): string {
  return join(sharedCacheDir(), binary.id, binary.command);
}

/** The directory of a pinned binary's links: `<toolsDir>/<linkDir>`, `<toolsDir>/bin` for most. */
export function toolLinkDir(binary: PinnedBinary): string {
  return join(toolsDir(), binary.linkDir);
}

/** The link names of a pinned binary in its {@link toolLinkDir}: `<command>-<version>`, and `<command>` for the default. */
export function linkNames(binary: PinnedBinary): string[] {
  const names = [`${binary.command}-${binary.version}`];
  if (binary.isDefault) names.push(binary.command);
  return names;
}
