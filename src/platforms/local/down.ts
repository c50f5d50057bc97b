import { rm } from "node:fs/promises";
import { writeStoppedStatus } from "./bus-status.js";
import { formatEvent, isAlive, liveControl, supervisorOperation } from "./control-client.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import { busPaths, eventbusHome, isBusDir } from "./home.js";
import { withLock } from "./lock.js";
import { poll } from "./monitor.js";
import { orphanPid, stopOrphan } from "./orphans.js";
import { readState } from "./state-file.js";

/** Options of {@link downBus}. */
export interface DownOptions {
  readonly home?: string;
  /** Also delete the bus's state dir: its data, credentials and certificates. */
  readonly purge?: boolean;
  readonly onProgress?: (line: string) => void;
}

/** What `down` did. */
export interface DownResult {
  readonly name: string;
  /** Whether servers were running and were stopped. */
  readonly stopped: boolean;
  readonly purged: boolean;
}

/**
 * Stops a local bus: the supervisor stops every server in lame-duck mode and exits. Data is kept
 * unless `purge` is set. A bus whose supervisor died has its servers stopped by pid.
 */
export async function downBus(name: string, options: DownOptions = {}): Promise<DownResult> {
  const progress = options.onProgress ?? (() => {});
  const paths = busPaths(options.home ?? eventbusHome(), name);
  const state = await readState(paths.state);
  if (!state) throw new LocalPlatformError(LocalErrorCode.notFound, `no local bus named ${name} (looked in ${paths.dir})`);
  const result = await withLock(paths.lock, `bus ${name}`, async () => {
    let stopped = false;
    const control = await liveControl(paths);
    if (control) {
      progress(`stopping bus ${name} (lame duck: clients move away first)`);
      await supervisorOperation(control, "stop", (event) => progress(formatEvent(event)));
      await poll("the supervisor to exit", async () => (isAlive(control.pid) ? undefined : true), { timeoutMs: 30_000, intervalMs: 50 });
      stopped = true;
    }
    // Servers a dead supervisor left behind.
    for (const server of state.servers) {
      const pid = await orphanPid(server);
      if (pid === undefined) continue;
      progress(`stopping ${server.name} (pid ${pid}), left by a supervisor that exited`);
      await stopOrphan(pid);
      stopped = true;
    }
    await rm(paths.control, { force: true });
    if (!options.purge) await writeStoppedStatus(paths);
    return { name, stopped, purged: false };
  });
  if (!options.purge) return result;
  // busPaths refuses names that leave <home>/buses; this keeps a purge there whatever made the path.
  if (!isBusDir(paths.home, paths.dir)) {
    throw new LocalPlatformError(LocalErrorCode.invalidName, `refusing to delete ${paths.dir}: not a bus's state dir directly under ${paths.home}/buses`);
  }
  await rm(paths.dir, { recursive: true, force: true });
  progress(`deleted ${paths.dir} (data, credentials, certificates)`);
  return { ...result, purged: true };
}
