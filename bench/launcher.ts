// Runs the baseline tools' processes (natscli) for a benchmark from a helper process, so that the
// benchmark's own process never forks while it measures.
//
// Why: Node (libuv) starts a child with fork() + exec(). After a fork, every page the parent
// writes takes a copy-on-write fault once, and the benchmark's process holds the eventbus side's
// heap. Measured with `process.resourceUsage()` around an in-process backup of 100,000 events on
// this machine: about 1,300 minor faults and 40 ms of system time when the run before it was also
// in process, 11,000-12,000 faults and 130-160 ms of system time when a process (even
// `nats --version`) had been started in between — a cost of the benchmark's harness, charged to
// whichever in-process run came next. The helper is forked once, before anything is measured; it
// times each process from spawn to exit, as `execFile` timed in the benchmark's process did.
//
// Used as a module by the benchmarks (`startLauncher`, `runProcess`) and run as the helper itself
// when forked with EVENTBUS_BENCH_LAUNCHER=1.
import { type ChildProcess, execFile, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What a process run returned. */
export interface ProcessRun {
  /** From spawn to exit, as the helper measured it. */
  readonly millis: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: readonly string[];
  readonly timeoutMillis: number;
  /** Added to the helper's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

interface Reply {
  readonly id: number;
  readonly millis: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: string;
}

const HELPER_ENV = "EVENTBUS_BENCH_LAUNCHER";

if (process.env[HELPER_ENV] === "1" && process.send !== undefined) serve();

/** The helper: runs each request's process and sends back its output and time; exits with its parent. */
function serve(): void {
  process.on("disconnect", () => process.exit(0));
  process.on("message", (request: Request) => {
    const started = performance.now();
    execFile(
      request.cmd,
      [...request.args],
      { timeout: request.timeoutMillis, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...request.env } },
      (error, stdout, stderr) => {
        const reply: Reply = { id: request.id, millis: performance.now() - started, stdout, stderr, ...(error && { error: error.message }) };
        process.send?.(reply);
      },
    );
  });
}

let helper: ChildProcess | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (run: ProcessRun) => void; reject: (error: Error) => void }>();

/**
 * Forks the helper. Call it before anything is measured (a lazy fork would charge its faults to
 * the next measurement); the helper goes with the benchmark's process.
 */
export function startLauncher(): void {
  if (helper !== undefined) return;
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [HELPER_ENV]: "1" }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  child.on("message", (reply: Reply) => {
    const waiter = pending.get(reply.id);
    if (waiter === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0) idle(child);
    if (reply.error !== undefined) waiter.reject(new Error(`${reply.error}\n${reply.stdout}\n${reply.stderr}`));
    else waiter.resolve({ millis: reply.millis, stdout: reply.stdout, stderr: reply.stderr });
  });
  child.on("exit", (code, signal) => {
    helper = undefined;
    for (const waiter of pending.values()) waiter.reject(new Error(`the benchmark's process launcher exited (${signal ?? code})`));
    pending.clear();
  });
  idle(child);
  helper = child;
}

/** Runs `cmd` from the helper (started here if it is not yet: see {@link startLauncher}); rejects with its output when it fails. */
export function runProcess(
  cmd: string,
  args: readonly string[],
  options: { readonly timeoutMillis?: number; readonly env?: Readonly<Record<string, string>> } = {},
): Promise<ProcessRun> {
  startLauncher();
  const child = helper!;
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    child.ref();
    (child.channel as { ref?: () => void } | undefined)?.ref?.();
    child.send({ id, cmd, args, timeoutMillis: options.timeoutMillis ?? 600_000, ...(options.env && { env: options.env }) } satisfies Request);
  });
}

/** Lets the benchmark's process exit while the helper has nothing to do (it exits on disconnect). */
function idle(child: ChildProcess): void {
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
}
