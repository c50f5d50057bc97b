/**
 * Installing the pinned binaries: `go install` (or `go build` in a Go module of this repository, for
 * binaries whose module cannot be installed by version) into the machine-wide cache, then links from
 * `<toolsDir>/bin` (or the binary's own link dir, e.g. `<toolsDir>/cni/bin`). Idempotent: a cached
 * binary whose `--version` names its version is never rebuilt.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, lstat } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";

import { BuildFailedError } from "./errors.js";
import { findGo, type GoToolchain } from "./go.js";
import { cachedBinaryPath, linkNames, projectRoot, sharedCacheDir, toolLinkDir, toolsBinDir } from "./paths.js";
import { pinnedBinaries, type PinnedBinary, type ToolGroup } from "./binaries.js";

const execFileAsync = promisify(execFile);

/** How many `go install` run at once. @default 2 */
export const DEFAULT_BUILD_CONCURRENCY = 2;
/** How long a `<binary> --version` probe may take, in milliseconds. */
const VERSION_PROBE_TIMEOUT_MS = 15_000;
/** How much of go's output a failed build keeps, in characters. */
const BUILD_OUTPUT_TAIL_CHARS = 4_000;

/** One link of a pinned binary in its link dir (`<toolsDir>/bin` for most). */
export interface ToolLink {
  /** Absolute path of the link. */
  readonly path: string;
  /** Whether it exists and points at the cached binary. */
  readonly ok: boolean;
}

/** What is installed of one pinned binary. */
export interface ToolState {
  readonly binary: PinnedBinary;
  /** Where the binary lives in the shared cache. */
  readonly cachePath: string;
  /** Whether the cached binary runs `--version` and names the pinned version. */
  readonly built: boolean;
  readonly links: readonly ToolLink[];
}

/** Whether a binary is built and all its links are in place. */
export function isInstalled(state: ToolState): boolean {
  return state.built && state.links.every((l) => l.ok);
}

/** Inspects the shared cache and the link dirs (`<toolsDir>/bin`, …) for each pinned binary; changes nothing. */
export async function inspectTools(binaries: readonly PinnedBinary[] = pinnedBinaries()): Promise<ToolState[]> {
  return Promise.all(
    binaries.map(async (binary) => {
      const cachePath = cachedBinaryPath(binary);
      const [built, links] = await Promise.all([
        runsAsVersion(cachePath, binary.version),
        Promise.all(
          linkNames(binary).map(async (name) => {
            const path = join(toolLinkDir(binary), name);
            return { path, ok: (await readlink(path).catch(() => undefined)) === cachePath };
          }),
        ),
      ]);
      return { binary, cachePath, built, links };
    }),
  );
}

/** Options of {@link installTools}. */
export interface InstallOptions {
  /** Only the binaries of these groups. @default every group */
  readonly groups?: readonly ToolGroup[];
  /** Rebuild every binary even when it is cached. @default false */
  readonly force?: boolean;
  /** How many builds run at once. @default {@link DEFAULT_BUILD_CONCURRENCY} */
  readonly concurrency?: number;
  /** Receives one progress line at a time. @default writes to stderr */
  readonly log?: (line: string) => void;
  /** Aborting kills the running builds and removes their temp dirs. */
  readonly signal?: AbortSignal;
}

/** What {@link installTools} did. */
export interface InstallResult {
  /** Ids of the binaries built. */
  readonly built: readonly string[];
  /** Ids of the binaries whose links were (re)created. */
  readonly linked: readonly string[];
  /** One error per failed build. */
  readonly failed: readonly BuildFailedError[];
}

/**
 * Builds every pinned binary that is not cached (all of them with `force`), at most
 * `concurrency` at once, and links each into `<toolsDir>/bin`. Logs `tools: all present (N binaries)`
 * and does nothing else when everything is in place.
 * @throws {@link GoUnavailableError} when something must be built and Go is missing or too old
 */
export async function installTools(options: InstallOptions = {}): Promise<InstallResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const states = await inspectTools(pinnedBinaries(options.groups));
  const toBuild = states.filter((s) => options.force || !s.built);
  const toLink = states.filter((s) => !isInstalled(s) || options.force);
  if (toLink.length === 0) {
    await removeStaleLinks(log);
    log(`tools: all present (${states.length} binaries)`);
    return { built: [], linked: [], failed: [] };
  }

  const built: string[] = [];
  const failed: BuildFailedError[] = [];
  if (toBuild.length > 0) {
    const go = await findGo();
    await mkdir(sharedCacheDir(), { recursive: true });
    await forEachLimited(toBuild, options.concurrency ?? DEFAULT_BUILD_CONCURRENCY, async (state) => {
      const started = performance.now();
      log(`tools: building ${state.binary.id} …`);
      try {
        await build(go, state, options.signal);
        built.push(state.binary.id);
        log(`tools: ok ${state.binary.id} (${seconds(started)})`);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        const failure = err instanceof BuildFailedError ? err : new BuildFailedError(state.binary.id, String(err), { cause: err });
        failed.push(failure);
        log(`tools: FAILED ${state.binary.id} (${seconds(started)})\n${indent(failure.output)}`);
      }
    });
  }

  const linked: string[] = [];
  const failedIds = new Set(failed.map((f) => f.binary));
  await mkdir(toolsBinDir(), { recursive: true });
  for (const state of toLink) {
    if (failedIds.has(state.binary.id)) continue;
    await mkdir(toolLinkDir(state.binary), { recursive: true });
    for (const link of state.links) {
      if (!link.ok || options.force) await replaceLink(link.path, state.cachePath);
    }
    linked.push(state.binary.id);
    if (!built.includes(state.binary.id)) {
      log(`tools: linked ${state.binary.id} (cached in ${state.cachePath})`);
    }
  }
  await removeStaleLinks(log);
  const dirs = [...new Set(states.map((s) => toolLinkDir(s.binary)))].join(", ");
  if (failed.length === 0) log(`tools: ready (${states.length} binaries in ${dirs})`);
  return { built, linked, failed };
}

/**
 * Builds into a temp dir beside the cache entry, then renames into place atomically: `go install
 * <module>@<version>`, or, for a binary with a `goModuleDir`, `go build -o` in that module after
 * checking that it pins the version of binaries.json. A failure names what the build needs from the
 * machine (`buildNeeds`): go's own words for a missing C header do not say what to install.
 */
async function build(go: GoToolchain, state: ToolState, signal: AbortSignal | undefined): Promise<void> {
  const { binary, cachePath } = state;
  const tmp = await mkdtemp(join(sharedCacheDir(), `.build-${binary.id}-`));
  try {
    const env = {
      ...process.env,
      GOBIN: tmp,
      // Keep the user's GOFLAGS (e.g. -buildvcs=false) and the machine's module cache.
      GOFLAGS: [process.env["GOFLAGS"], "-trimpath"].filter(Boolean).join(" "),
      // Unset, go turns cgo on where it finds a C compiler: the binary would differ by machine.
      ...(binary.cgo === undefined ? {} : { CGO_ENABLED: binary.cgo ? "1" : "0" }),
    };
    const ldflags = binary.ldflags.length > 0 ? [`-ldflags=${binary.ldflags.join(" ")}`] : [];
    const flags = binary.tags.length > 0 ? [...ldflags, `-tags=${binary.tags.join(",")}`] : ldflags;
    const produced = join(tmp, binary.command);
    if (binary.goModuleDir === undefined) {
      const target = `${binary.module}@${binary.moduleVersion}`;
      const { code, output } = await run(go.path, ["install", ...flags, target], { cwd: tmp, env, signal });
      if (code !== 0) throw new BuildFailedError(binary.id, withNeeds(binary, tail(output)));
    } else {
      const cwd = join(projectRoot(), binary.goModuleDir);
      // A go.work above the clone must not redirect the pinned module; the eventbus repository's
      // VCS state means nothing in the binary.
      const moduleEnv = { ...env, GOWORK: "off", GOFLAGS: `${env.GOFLAGS} -buildvcs=false` };
      await checkModulePins(go, binary, cwd, moduleEnv, signal);
      const { code, output } = await run(go.path, ["build", ...flags, "-o", produced, binary.module], { cwd, env: moduleEnv, signal });
      if (code !== 0) throw new BuildFailedError(binary.id, withNeeds(binary, tail(output)));
    }
    if (!(await runsAsVersion(produced, binary.version))) {
      const files = (await readdir(tmp)).join(", ") || "nothing";
      throw new BuildFailedError(binary.id, `the build produced ${files}; expected ${binary.command} whose --version names ${binary.version}`);
    }
    await mkdir(join(sharedCacheDir(), binary.id), { recursive: true });
    await rename(produced, cachePath);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Fails unless the Go module in `cwd` resolves the binary's package to the module version of
 * binaries.json (so that a version stamped by `-ldflags` cannot lie).
 */
async function checkModulePins(go: GoToolchain, binary: PinnedBinary, cwd: string, env: NodeJS.ProcessEnv, signal: AbortSignal | undefined): Promise<void> {
  let resolved: string;
  try {
    // stdout alone: stderr carries go's `downloading …` lines on a fresh module cache.
    const { stdout } = await execFileAsync(go.path, ["list", "-f", "{{.Module.Version}}", binary.module], { cwd, env, signal });
    resolved = stdout.trim();
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new BuildFailedError(binary.id, tail((err as { stderr?: string }).stderr || String(err)), { cause: err });
  }
  if (resolved !== binary.moduleVersion) {
    throw new BuildFailedError(
      binary.id,
      `${binary.goModuleDir}/go.mod resolves ${binary.module} to ${resolved}, but src/tools/binaries.json pins ${binary.moduleVersion}; change them together`,
    );
  }
}

/** A failed build's output, followed by what the build needs from the machine when binaries.json says. */
function withNeeds(binary: PinnedBinary, output: string): string {
  return binary.buildNeeds === undefined ? output : `${output}\n(${binary.id} needs ${binary.buildNeeds})`;
}

/** Points `path` at `target`, replacing whatever is there without a moment of absence. */
async function replaceLink(path: string, target: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, path);
}

/**
 * Removes links in `<toolsDir>/bin` and the other link dirs into the shared cache that no pinned
 * binary owns any more (of any group: installing one group leaves the links of the others alone).
 * The `node` link into a `node@<version>` entry is scripts/bootstrap-node.sh's, not a pinned
 * binary's, and stays.
 */
async function removeStaleLinks(log: (line: string) => void): Promise<void> {
  const bin = toolsBinDir();
  const cache = sharedCacheDir();
  const binaries = pinnedBinaries();
  const expected = new Set(binaries.flatMap((b) => linkNames(b).map((name) => join(toolLinkDir(b), name))));
  for (const dir of new Set([bin, ...binaries.map(toolLinkDir)])) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const name of entries) {
      const path = join(dir, name);
      if (expected.has(path) || !(await lstat(path)).isSymbolicLink()) continue;
      const target = relative(cache, await readlink(path));
      if (dir === bin && name === "node" && target.startsWith("node@")) continue;
      if (!target.startsWith("..")) {
        await rm(path, { force: true });
        log(`tools: removed stale link ${path}`);
      }
    }
  }
}

/** Whether `path` runs `--version` successfully and prints `version`. */
async function runsAsVersion(path: string, version: string): Promise<boolean> {
  try {
    const { stdout, stderr } = await execFileAsync(path, ["--version"], { timeout: VERSION_PROBE_TIMEOUT_MS });
    return `${stdout}\n${stderr}`.includes(version);
  } catch {
    return false;
  }
}

interface RunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal | undefined;
}

function run(file: string, args: string[], options: RunOptions): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      // Not tail(): trimming each chunk's end would glue go's lines together.
      output += chunk.toString("utf8");
      if (output.length > BUILD_OUTPUT_TAIL_CHARS * 4) output = output.slice(-BUILD_OUTPUT_TAIL_CHARS * 4);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function tail(text: string, max = BUILD_OUTPUT_TAIL_CHARS): string {
  return text.length <= max ? text.trimEnd() : `…${text.slice(-max).trimEnd()}`;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}

function seconds(startedMs: number): string {
  return `${((performance.now() - startedMs) / 1000).toFixed(1)}s`;
}
