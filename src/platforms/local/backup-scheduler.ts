/**
 * The scheduled backups of a local bus (`spec.jetstream.backup`), run by its supervisor: at each
 * time of the schedule, every stream of the bus into `<state dir>/backups/`, verified, the newest
 * `keep` kept. Runs never overlap: the next time is taken after a run ends, so a run that outlasts
 * its period skips the times it covered. A failed run is an error event and a problem in `status`;
 * the supervisor goes on.
 */
import { readFileSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DirBackupResult } from "../../backup/index.js";
import { Duration } from "../../api/duration.js";
import type { ResolvedBackup } from "../../api/index.js";
import type { JetStreamPlan } from "../../plan/index.js";
import { projectRoot } from "../../tools/paths.js";
import type { BusPaths } from "./home.js";

/**
 * For tests: when set (a duration such as `2s`), the supervisor takes its scheduled backups at this
 * interval instead of at the schedule's times. Everything else (what is backed up, where, the
 * rotation, the events) is the same. Read by the supervisor only.
 */
export const BACKUP_INTERVAL_ENV = "EVENTBUS_BACKUP_INTERVAL";

/** The longest single timer: a run further away is reached through several (Node's timers hold 2^31-1 ms). */
const MAX_TIMER_MILLIS = 60 * 60_000;

/** What `status` shows of the scheduled backups. */
export interface BackupScheduleStatus {
  readonly schedule: string;
  readonly keep: number;
  readonly dir: string;
  readonly nextRunAt?: string;
  readonly running: boolean;
  /** When the last run that succeeded began. */
  readonly lastSuccessAt?: string;
  readonly lastRun?: {
    readonly at: string;
    readonly ok: boolean;
    readonly file?: string;
    readonly error?: string;
  };
}

type Emit = (level: "info" | "warn" | "error", message: string) => void;

/** Runs a bus's scheduled backups while its supervisor runs. */
export class BackupScheduler {
  private backup: ResolvedBackup | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextRunAt: Date | undefined;
  private running: Promise<void> | undefined;
  private lastRun: BackupScheduleStatus["lastRun"];
  private lastSuccessAt: string | undefined;
  private stopped = false;
  private readonly intervalMillis: number | undefined;

  constructor(
    private readonly paths: BusPaths,
    private readonly emit: Emit,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const interval = env[BACKUP_INTERVAL_ENV];
    this.intervalMillis = interval !== undefined && interval !== "" ? Duration.parse(interval).millis : undefined;
  }

  /** Takes the bus's backup settings (none: no scheduled backups) and arms the next run. */
  configure(backup: ResolvedBackup | undefined): void {
    if (this.stopped) return;
    const before = this.backup;
    this.backup = backup;
    const same = before !== undefined && backup !== undefined && before.schedule.toString() === backup.schedule.toString() && before.keep === backup.keep;
    if (same) return;
    if (backup === undefined) {
      if (before !== undefined) this.emit("info", "scheduled backups: off (the manifest has no spec.jetstream.backup)");
      this.disarm();
      return;
    }
    this.arm();
    this.emit(
      "info",
      `scheduled backups: "${backup.schedule.toString()}" (UTC), keeping ${backup.keep}, into ${this.paths.backups}; next at ${this.nextRunAt!.toISOString()}`,
    );
  }

  status(): BackupScheduleStatus | undefined {
    const backup = this.backup;
    if (backup === undefined && this.lastRun === undefined) return undefined;
    return {
      schedule: backup?.schedule.toString() ?? "",
      keep: backup?.keep ?? 0,
      dir: this.paths.backups,
      ...(this.nextRunAt && { nextRunAt: this.nextRunAt.toISOString() }),
      running: this.running !== undefined,
      ...(this.lastSuccessAt !== undefined && { lastSuccessAt: this.lastSuccessAt }),
      ...(this.lastRun && { lastRun: this.lastRun }),
    };
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    await this.running;
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextRunAt = undefined;
  }

  /** Arms the timer for the next run after now (a run in progress arms it when it ends). */
  private arm(): void {
    this.disarm();
    const backup = this.backup;
    if (backup === undefined || this.stopped || this.running) return;
    const now = new Date();
    const next = this.intervalMillis !== undefined ? new Date(now.getTime() + this.intervalMillis) : backup.schedule.next(now);
    this.nextRunAt = next;
    this.wait(next);
  }

  private wait(at: Date): void {
    const delay = Math.min(Math.max(0, at.getTime() - Date.now()), MAX_TIMER_MILLIS);
    this.timer = setTimeout(() => {
      if (Date.now() < at.getTime()) this.wait(at);
      else this.fire();
    }, delay);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const backup = this.backup;
    if (backup === undefined || this.stopped) return;
    this.running = this.run(backup).finally(() => {
      this.running = undefined;
      this.arm();
    });
  }

  private async run(backup: ResolvedBackup): Promise<void> {
    const at = new Date();
    try {
      const result = await this.backupNow(backup, at);
      const messages = result.streams.reduce((sum, s) => sum + s.messages, 0);
      this.lastRun = { at: at.toISOString(), ok: true, file: result.file };
      this.lastSuccessAt = at.toISOString();
      this.emit(
        "info",
        `scheduled backup: ${result.file} (${result.streams.length} stream(s), ${messages} message(s), ${result.bytes} bytes, verified) in ${(result.durationMillis / 1000).toFixed(2)} s` +
          (result.removed.length > 0 ? `; removed ${result.removed.join(", ")} (keeping ${backup.keep})` : ""),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.lastRun = { at: at.toISOString(), ok: false, error: message };
      this.emit("error", `scheduled backup failed: ${message}; the backups kept are unchanged`);
    }
  }

  private async backupNow(backup: ResolvedBackup, at: Date): Promise<DirBackupResult> {
    // Loaded when a backup runs: the supervisor of a bus without scheduled backups never needs them.
    const [{ backupIntoDir }, { busTlsFiles, loadBusSecrets }, { connectLocal, localConnection }] = await Promise.all([
      import("../../backup/index.js"),
      import("../../secrets/index.js"),
      import("./connect.js"),
    ]);
    const plan = JSON.parse(await readFile(this.paths.plan, "utf8")) as JetStreamPlan;
    const secrets = await loadBusSecrets(this.paths.secrets);
    const connection = localConnection(plan, secrets.credentials, secrets.tls ? busTlsFiles(this.paths.secrets).client.caFile : undefined);
    await mkdir(this.paths.backups, { recursive: true, mode: 0o700 });
    const nc = await connectLocal(connection, `eventbus-backup-${this.paths.name}`);
    try {
      return await backupIntoDir(nc, {
        dir: this.paths.backups,
        name: this.paths.name,
        keep: backup.keep,
        now: at,
        allStreams: true,
        sourceLabel: `local bus ${this.paths.name}`,
        eventbusVersion: eventbusVersion(),
      });
    } finally {
      await nc.close().catch(() => undefined);
    }
  }
}

let version: string | undefined;
function eventbusVersion(): string {
  version ??= (JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string }).version;
  return version;
}
