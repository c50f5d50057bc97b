/**
 * The process seam of the supervisor: a server it spawned, or one it adopted from a supervisor
 * that exited (the server outlived it and kept serving). Both are watched, signalled and awaited
 * the same way.
 */
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";

/** How a server process ended. Unknown (null, null) for an adopted one: it is not our child. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running nats-server process. */
export interface ServerProcess {
  readonly pid: number;
  /** Whether the process was adopted from a supervisor that exited, rather than spawned. */
  readonly adopted: boolean;
  /** Resolves once the process has exited. */
  readonly exited: Promise<ProcessExit>;
  /** Whether the process still runs. */
  running(): boolean;
  /** Sends a signal; nothing happens when the process is gone. */
  signal(signal: NodeJS.Signals): void;
}

/** A server this supervisor spawned. */
export function spawnedProcess(child: ChildProcess): ServerProcess {
  const exited = new Promise<ProcessExit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return {
    pid: child.pid!,
    adopted: false,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
    signal: (signal) => void child.kill(signal),
  };
}

/** How often an adopted process is checked for: it is not our child, so no exit event comes. */
const ADOPTED_POLL_MILLIS = 200;

/**
 * A server left running by a supervisor that exited. It is watched through `/proc/<pid>/cmdline`,
 * which must still name its config (a pid the kernel gave to another program is not ours).
 */
export function adoptedProcess(pid: number, config: string): ServerProcess {
  let alive = true;
  const isOurs = async () => {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
    return cmdline?.split("\0").includes(config) ?? false;
  };
  const exited = new Promise<ProcessExit>((resolve) => {
    const check = async () => {
      if (await isOurs()) {
        setTimeout(() => void check(), ADOPTED_POLL_MILLIS).unref();
        return;
      }
      alive = false;
      resolve({ code: null, signal: null });
    };
    void check();
  });
  return {
    pid,
    adopted: true,
    exited,
    running: () => alive,
    signal: (signal) => {
      if (!alive) return;
      try {
        process.kill(pid, signal);
      } catch {
        // gone meanwhile: the poll sees it
      }
    },
  };
}
