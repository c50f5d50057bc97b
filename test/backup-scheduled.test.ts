/**
 * Scheduled backups of a local bus, against a real bus and its real supervisor: runs into the state
 * dir with rotation, a failed run as a problem the supervisor survives, a schedule changed by `up`,
 * `eventbus backups`, `restore --latest` and `backup --into-dir`. The supervisor is started with
 * EVENTBUS_BACKUP_INTERVAL (its test seam: the scheduled run every second instead of at the
 * schedule's times); everything else is the path a schedule takes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { parseArchiveFileName } from "../src/backup/index.js";
import { busPaths, busStatus, isAlive, type BusReport } from "../src/platforms/local/index.js";
import { runCliProcess } from "./helpers/cli-process.js";
import { jetstreamManifest, publishAcked, startTestBus, type TestBus } from "./helpers/local-bus.js";
import { waitFor } from "./helpers/process.js";

const NAME = "sched";
const CLI_MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const manifest = (backup: string) => jetstreamManifest(NAME, `version: "2.10"\nreplicas: 1\nauth: basic${backup ? `\nbackup: ${backup}` : ""}`);

/** The archives of a directory, by file name. */
async function archives(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => parseArchiveFileName(f) !== undefined).sort();
}

async function messages(nc: NatsConnection): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info("default")).state.messages;
}

describe("scheduled backups - local platform", { timeout: 300_000 }, () => {
  let bus: TestBus;
  let nc: NatsConnection;
  let backupsDir: string;
  let other: string;
  const saved = process.env.EVENTBUS_BACKUP_INTERVAL;
  const env = () => ({ EVENTBUS_HOME: bus.home });
  const status = () => busStatus(NAME, { home: bus.home });
  /** The supervisor's events that say a scheduled backup was written. */
  const runs = (r: BusReport) => r.events.filter((e) => e.message.startsWith("scheduled backup: "));

  before(async () => {
    // The supervisor `up` spawns inherits this environment.
    process.env.EVENTBUS_BACKUP_INTERVAL = "1s";
    other = await mkdtemp(join(tmpdir(), "eventbus-backups-dir-"));
    bus = await startTestBus(manifest(`{ schedule: "0 * * * *", keep: 2 }`));
    backupsDir = busPaths(bus.home, NAME).backups;
    nc = await bus.connect();
    await publishAcked(nc, 5, "kept");
  });

  after(async () => {
    if (saved === undefined) delete process.env.EVENTBUS_BACKUP_INTERVAL;
    else process.env.EVENTBUS_BACKUP_INTERVAL = saved;
    await bus?.[Symbol.asyncDispose]();
    if (other) await rm(other, { recursive: true, force: true });
  });

  test("the supervisor writes verified archives named by UTC time into <state dir>/backups, keeps the newest `keep`, and status shows the schedule", async () => {
    // WHEN the supervisor has run the schedule three times after the events were stored
    const report = await waitFor(
      "3 scheduled backups with the 5 events",
      async () => {
        const r = await status();
        return runs(r).filter((e) => /, 5 message\(s\)/.test(e.message)).length >= 3 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // THEN the status says where and how, and the third run removed the oldest (keep 2)
    assert.equal(report.backups?.keep, 2);
    assert.equal(report.backups?.schedule, "0 * * * *");
    assert.equal(report.backups?.dir, backupsDir);
    assert.ok(
      runs(report).some((e) => /; removed sched-\d{8}T\d{6}Z(-\d+)?\.evbak \(keeping 2\)/.test(e.message)),
      JSON.stringify(runs(report)),
    );
    const text = await runCliProcess(["status", NAME], undefined, { env: env(), timeoutMillis: 60_000 });
    assert.match(text.stdout, /backups: "0 \* \* \* \*" \(UTC\), keep 2, into .*backups/);
    assert.doesNotMatch(text.stdout, /PROBLEM/);
    const files = await archives(backupsDir);
    assert.ok(files.length >= 2 && files.length <= 3, files.join(", ")); // 3 only between a rename and the removal
    for (const f of files) assert.equal((await stat(join(backupsDir, f))).mode & 0o777, 0o600, f);
  });

  test("a failed run is an error event and a problem; the supervisor goes on and the next run succeeds", async () => {
    // GIVEN the backups dir replaced by a file, so that no archive can be written
    // (the supervisor's scheduler makes the dir again when a run begins: a dir made between the
    // two renames is removed and the file put in its place again)
    await rename(backupsDir, `${backupsDir}.aside`);
    await writeFile(`${backupsDir}.file`, "not a directory");
    for (;;) {
      try {
        await rename(`${backupsDir}.file`, backupsDir);
        break;
      } catch (error) {
        if (!["EISDIR", "ENOTEMPTY", "EEXIST"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
        await rm(backupsDir, { recursive: true, force: true });
      }
    }
    const failed = await waitFor(
      "a failed run in status",
      async () => {
        const r = await status();
        return r.problems.some((p) => p.includes("the last scheduled backup")) ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    assert.ok(failed.supervised, "the supervisor still runs");
    assert.ok(failed.events.some((e) => e.level === "error" && e.message.startsWith("scheduled backup failed: ")));
    const metric = async (name: string) => {
      const text = await (await fetch(failed.metricsUrl!)).text();
      const m = new RegExp(`^${name}\\{bus="${NAME}"\\} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : undefined;
    };
    await waitFor("eventbus_backup_last_run_failed 1", async () => ((await metric("eventbus_backup_last_run_failed")) === 1 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    // WHEN the directory is back
    const fixedAt = Date.now() / 1000;
    await rm(backupsDir);
    await rename(`${backupsDir}.aside`, backupsDir);
    // THEN a later run succeeds and the problem is gone
    await waitFor(
      "a successful run after the failure",
      async () => {
        const r = await status();
        return r.backups?.lastRun?.ok === true && !r.problems.some((p) => p.includes("scheduled backup")) ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await waitFor("eventbus_backup_last_run_failed 0", async () => ((await metric("eventbus_backup_last_run_failed")) === 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const lastSuccess = await metric("eventbus_backup_last_success_timestamp_seconds");
    assert.ok(lastSuccess !== undefined && lastSuccess >= fixedAt, `${lastSuccess} is a run begun after the fix (${fixedAt})`);
  });

  test("`up` with another keep takes effect at the next run, and `up` without backup stops the schedule", async () => {
    await bus.apply(manifest(`{ schedule: "*/5 * * * *", keep: 1 }`));
    await waitFor(
      "a run that keeps 1",
      async () => {
        const r = await status();
        return r.backups?.schedule === "*/5 * * * *" && runs(r).some((e) => e.message.includes("(keeping 1)")) ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await bus.apply(manifest(""));
    const off = await waitFor(
      "the schedule off and no run in progress",
      async () => {
        const r = await status();
        return r.events.some((e) => e.message.startsWith("scheduled backups: off")) && r.backups?.running === false ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    assert.equal(off.backups?.nextRunAt, undefined);
    const files = await archives(backupsDir);
    assert.equal(files.length, 1, files.join(", "));
    assert.deepEqual(
      (await readdir(backupsDir)).filter((f) => f.includes(".partial-")),
      [],
    );
  });

  test("`eventbus backups` lists them verified, and `restore --latest --replace` puts the newest back", async () => {
    const listed = await runCliProcess(["backups", NAME, "-o", "json"], undefined, { env: env(), timeoutMillis: 60_000 });
    assert.equal(listed.code, 0, listed.stderr);
    const { backups } = JSON.parse(listed.stdout) as { backups: { file: string; verified: boolean; streams: string[]; messages: number; bytes: number }[] };
    assert.equal(backups.length, 1);
    assert.deepEqual([backups[0]!.verified, backups[0]!.streams, backups[0]!.messages], [true, ["default"], 5]);
    const text = await runCliProcess(["backups", NAME], undefined, { env: env(), timeoutMillis: 60_000 });
    assert.match(text.stdout, new RegExp(`${backups[0]!.file.replace(/\./g, "\\.")} .* default +5 +verified`));

    // GIVEN events published after the backup
    await publishAcked(nc, 3, "later");
    assert.equal(await messages(nc), 8);
    // WHEN the newest backup is restored over the stream
    const restored = await runCliProcess(["restore", NAME, "--latest", "--replace"], undefined, { env: env(), timeoutMillis: 120_000 });
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, new RegExp(`latest backup: ${backups[0]!.file.replace(/\./g, "\\.")}`));
    // THEN the stream holds what the backup held
    await waitFor("the restored stream", async () => ((await messages(nc).catch(() => -1)) === 5 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
  });

  test("`restore --latest` refuses a directory without backups; `backup --into-dir` writes and rotates as the schedule does", async () => {
    const empty = join(other, "empty");
    await mkdir(empty);
    const refused = await runCliProcess(["restore", NAME, "--latest", "--dir", empty], undefined, { env: env(), timeoutMillis: 60_000 });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--latest: no backup in .*empty; nothing was changed/);
    const both = await runCliProcess(["restore", NAME, "--latest", "-f", "x.evbak"], undefined, { env: env(), timeoutMillis: 60_000 });
    assert.equal(both.code, 2);

    const into = join(other, "into");
    await mkdir(into);
    for (let i = 0; i < 2; i++) {
      const run = await runCliProcess(["backup", NAME, "--into-dir", into, "--keep", "1", "--all-streams"], undefined, { env: env(), timeoutMillis: 60_000 });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /backed up 1 stream \(5 messages\) to .*sched-\d{8}T\d{6}Z(-\d+)?\.evbak: verified/);
      if (i === 1) assert.match(run.stdout, /removed sched-.*\.evbak \(keeping the newest 1\)/);
    }
    assert.equal((await archives(into)).length, 1);
    const listed = await runCliProcess(["backups", "--dir", into, "-o", "json"], undefined, { env: env(), timeoutMillis: 60_000 });
    assert.equal((JSON.parse(listed.stdout) as { backups: unknown[] }).backups.length, 1);
  });

  test("a state file written before the schedule was kept in it: a supervisor started on it takes the schedule from the applied manifest", async () => {
    // GIVEN a bus with a schedule, whose state file is then as an older eventbus wrote it (no `backup` key)
    await bus.apply(manifest(`{ schedule: "30 2 * * *", keep: 4 }`));
    const paths = busPaths(bus.home, NAME);
    const state = JSON.parse(await readFile(paths.state, "utf8")) as Record<string, unknown>;
    assert.deepEqual(state["backup"], { schedule: "30 2 * * *", keep: 4 }, "up writes the resolved schedule into the state file");
    delete state["backup"];
    await writeFile(paths.state, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    // WHEN its supervisor is SIGKILLed and another starts on that state (adopting the running server)
    const control = JSON.parse(await readFile(paths.control, "utf8")) as { pid: number };
    process.kill(control.pid, "SIGKILL");
    await waitFor("the supervisor gone", () => (isAlive(control.pid) ? undefined : true), { timeoutMs: 10_000, intervalMs: 50 });
    const supervisor = spawn(process.execPath, ["--import", "tsx", CLI_MAIN, "supervise", NAME], {
      env: { ...process.env, ...env() },
      stdio: "ignore",
      detached: true,
    });
    supervisor.unref();
    // THEN its status shows the manifest's schedule (`down` at the end stops it through its control endpoint)
    const report = await waitFor(
      "the schedule from the applied manifest",
      async () => {
        const r = await status().catch(() => undefined);
        return r?.backups?.schedule === "30 2 * * *" && r.backups.keep === 4 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.ok(report.events.some((e) => e.message.startsWith('scheduled backups: "30 2 * * *" (UTC), keeping 4')));
  });
});
