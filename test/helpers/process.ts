/**
 * A process seam for tests: spawn, capture output, await exit, stop (signal, then SIGKILL), and
 * a named polling helper with a deadline. Every process still alive when the test process exits
 * is killed, so a failing test never leaves a server behind.
 */
import { spawn } from "node:child_process";

/** How a process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A spawned process that the test owns. */
export interface ManagedProcess extends AsyncDisposable {
  readonly pid: number;
  /** Resolves when the process has exited; never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** How it exited, once it has. */
  exitInfo(): ExitInfo | undefined;
  /** The tail of its stdout and stderr, interleaved. */
  output(): string;
  /**
   * Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs and waits again.
   * Idempotent. @default signal "SIGINT", timeoutMs 10_000
   */
  stop(options?: { signal?: NodeJS.Signals; timeoutMs?: number }): Promise<ExitInfo>;
}

/** Options of {@link spawnProcess}. */
export interface SpawnOptions {
  readonly cwd?: string;
  /** Replaces the environment. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** How many characters of output are kept. @default 256_000 */
  readonly outputLimit?: number;
}

const DEFAULT_OUTPUT_LIMIT = 256_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

const live = new Set<number>();
process.once("exit", () => {
  for (const pid of live) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** Spawns `file`; resolves once the OS has started it, rejects if it cannot (e.g. ENOENT). */
export function spawnProcess(file: string, args: readonly string[], options: SpawnOptions = {}): Promise<ManagedProcess> {
  const limit = options.outputLimit ?? DEFAULT_OUTPUT_LIMIT;
  const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > limit) output = output.slice(-limit);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);

  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("close", (code, signal) => {
      info = { code, signal };
      if (child.pid !== undefined) live.delete(child.pid);
      resolve(info);
    });
  });

  return new Promise((resolve, reject) => {
    child.once("error", (err) => {
      // An error after the spawn (a failed kill) is not a start failure; close still follows.
      if (child.pid === undefined) reject(err);
    });
    child.once("spawn", () => {
      const pid = child.pid as number;
      live.add(pid);
      let stopping: Promise<ExitInfo> | undefined;
      const stop = (opts: { signal?: NodeJS.Signals; timeoutMs?: number } = {}) => {
        stopping ??= (async () => {
          if (info !== undefined) return info;
          child.kill(opts.signal ?? "SIGINT");
          const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS).unref());
          const first = await Promise.race([exited, timeout]);
          if (first !== undefined) return first;
          child.kill("SIGKILL");
          return exited;
        })();
        return stopping;
      };
      resolve({
        pid,
        exited,
        exitInfo: () => info,
        output: () => output,
        stop,
        [Symbol.asyncDispose]: async () => {
          await stop();
        },
      });
    });
  });
}

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this many milliseconds. @default 10_000 */
  readonly timeoutMs?: number;
  /** Poll every this many milliseconds. @default 25 */
  readonly intervalMs?: number;
  /** Stop waiting as soon as this rejects (e.g. the process exited early). */
  readonly failWhen?: Promise<never>;
}

/**
 * Polls `probe` until it returns something other than `undefined`, and returns that.
 * @param name - what is awaited, for the timeout message
 * @throws when the deadline passes or `failWhen` rejects
 */
export async function waitFor<T>(name: string, probe: () => T | undefined | Promise<T | undefined>, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let failed: unknown;
  let hasFailed = false;
  options.failWhen?.catch((err: unknown) => {
    failed = err;
    hasFailed = true;
  });
  for (;;) {
    // Let an already settled failWhen run its handler before probing.
    await new Promise<void>((r) => setImmediate(r));
    if (hasFailed) throw failed;
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${name}`);
    await new Promise<void>((r) => setTimeout(r, intervalMs));
    if (hasFailed) throw failed;
  }
}
