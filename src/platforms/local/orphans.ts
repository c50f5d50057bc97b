import { readFile } from "node:fs/promises";
import { poll } from "./monitor.js";
import type { ServerState } from "./state-file.js";

/**
 * The pid of a server that a supervisor which exited left running: its pid file names a live
 * process whose command line is this server's config (a reused pid belongs to another program).
 */
export async function orphanPid(server: ServerState): Promise<number | undefined> {
  const pid = Number((await readFile(server.pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  return cmdline?.split("\0").includes(server.config) ? pid : undefined;
}

/** Stops an orphaned server: SIGTERM (a clean shutdown), then SIGKILL if it is still there after 15 s. */
export async function stopOrphan(pid: number): Promise<void> {
  const gone = () =>
    readFile(`/proc/${pid}/cmdline`).then(
      () => undefined,
      () => true,
    );
  process.kill(pid, "SIGTERM");
  try {
    await poll(`orphan ${pid} to exit`, gone, { timeoutMs: 15_000, intervalMs: 50 });
  } catch {
    process.kill(pid, "SIGKILL");
    await poll(`orphan ${pid} to exit`, gone, { timeoutMs: 5_000, intervalMs: 50 });
  }
}
