import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { backoffDelay, sleep } from "../../client/backoff.js";
import { readServerStreams, type JszStream } from "../../observe/jsz.js";
import { CronSchedule } from "../../api/cron.js";
import { BackupScheduler, type BackupScheduleStatus } from "./backup-scheduler.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import type { BusPaths } from "./home.js";
import { healthzError, isHealthy, isStanServing, jsz } from "./monitor.js";
import { orphanPid } from "./orphans.js";
import { adoptedProcess, spawnedProcess, type ServerProcess } from "./server-process.js";
import { readServerRecord, readState, writeServerRecord, type LocalState, type ServerState } from "./state-file.js";

/** What a supervised server is doing. */
export const ServerPhase = {
  starting: "starting",
  running: "running",
  healthy: "healthy",
  stopping: "stopping",
  stopped: "stopped",
  backoff: "backoff",
} as const;
export type ServerPhase = (typeof ServerPhase)[keyof typeof ServerPhase];

/** Something that happened to the bus, for progress output and `eventbus logs`. */
export interface SupervisorEvent {
  readonly time: string;
  readonly server?: string;
  readonly level: "info" | "warn" | "error";
  readonly message: string;
}

/** One server as `status` reports it. */
export interface ServerStatus {
  readonly index: number;
  readonly name: string;
  readonly pid?: number;
  readonly phase: ServerPhase;
  readonly restarts: number;
  readonly serverVersion: string;
  readonly ports: ServerState["ports"];
  readonly startedAt?: string;
  readonly lastExit?: { readonly code: number | null; readonly signal: string | null; readonly at: string };
  /** The server was adopted from a supervisor that exited: it kept running, on its own ports. */
  readonly adopted?: boolean;
  /** The server runs another configuration than the state file's (an adopted server started before a change). */
  readonly stale?: boolean;
}

/** The supervisor's view of its bus. */
export interface SupervisorStatus {
  readonly name: string;
  readonly pid: number;
  /** The generation of the state file the servers run. */
  readonly generation: number;
  readonly persistent: boolean;
  readonly applying: boolean;
  readonly servers: readonly ServerStatus[];
  readonly events: readonly SupervisorEvent[];
  /** The scheduled backups (`spec.jetstream.backup`), when the bus has them or had a run. */
  readonly backups?: BackupScheduleStatus;
}

/** Options of a {@link Supervisor}. */
export interface SupervisorOptions {
  /** First restart delay after a crash; doubles per crash. @default 250 */
  readonly backoffInitialMillis?: number;
  /** @default 10_000 */
  readonly backoffMaxMillis?: number;
  /** A server up this long has its crash count forgotten. @default 30_000 */
  readonly backoffResetMillis?: number;
  /** How long a started server may take to become healthy. @default 60_000 */
  readonly healthTimeoutMillis?: number;
  /** How long a starting server may be unhealthy without progress before it is restarted. @default 20_000 */
  readonly stallMillis?: number;
  /** Called with every event as it happens. */
  readonly onEvent?: (event: SupervisorEvent) => void;
}

interface Managed {
  /** What the server runs: the state file's entry, with the digest of the configuration it was started with. */
  spec: ServerState;
  proc?: ServerProcess;
  exited?: Promise<void>;
  phase: ServerPhase;
  /** Crashes since the last long-enough run, for the backoff. */
  crashes: number;
  restarts: number;
  startedAt?: number;
  stopping: boolean;
  restartTimer?: NodeJS.Timeout;
  lastExit?: ServerStatus["lastExit"];
}

/** A replica its stream's leader reports behind, as the replica watch follows it. */
interface ReplicaLag {
  /** The smallest lag seen since it fell behind. */
  lag: number;
  /** When that lag was first seen (or the server last restarted). */
  since: number;
  /** Restarts of its server since it fell behind. */
  restarts: number;
}

const MAX_EVENTS = 200;
const HEALTH_INTERVAL_MS = 1000;
/** How long a starting server may be unhealthy without any progress before it is restarted. */
const STALL_MILLIS = 20_000;
/** Exits of a server (each restarted after its backoff) while one wait for it to be healthy runs, beyond which it "keeps exiting". */
const MAX_EXITS_WHILE_WAITING = 5;
/** How many times a stalled server is restarted before the change fails. */
const MAX_STALL_RECOVERIES = 2;
/** How often the supervisor asks the stream leaders whether their replicas are current. */
const REPLICA_WATCH_INTERVAL_MS = 2000;
/** How long a server started outside a change is watched for a stall. */
const BACKGROUND_HEALTH_TIMEOUT_MILLIS = 10 * 60_000;
/** After the stall recoveries of a server watched in the background fail: the first pause before it is restarted again, doubled each round. */
const STALL_RETRY_PAUSE_MILLIS = 10_000;
const MAX_STALL_RETRY_PAUSE_MILLIS = 5 * 60_000;
/** How long a stalled server may take to exit after SIGTERM before it is killed. */
const STALLED_STOP_MILLIS = 10_000;

/** The streams a server holds, with their cluster as it sees it. */
async function streamViews(monitorPort: number): Promise<readonly JszStream[]> {
  return (await readServerStreams(`http://127.0.0.1:${monitorPort}`)) ?? [];
}

/**
 * What changes while a server catches up: the meta leader it sees, whether it is current, and the
 * messages and bytes of its streams. The same mark twice means no progress in between.
 */
async function progressMark(monitorPort: number): Promise<string> {
  const info = await jsz(monitorPort);
  if (!info) return "no answer";
  return [info.meta_cluster?.leader ?? "", info.streams ?? 0, info.messages ?? 0, info.bytes ?? 0].join("|");
}

/**
 * Runs the servers of one local bus: starts them from the state file, restarts a crashed one with
 * capped exponential backoff, applies a changed state file one server at a time, and stops them
 * in lame-duck mode so that clients move to the other servers first.
 */
export class Supervisor {
  private readonly servers = new Map<number, Managed>();
  private readonly events: SupervisorEvent[] = [];
  private state: LocalState | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private applying = false;
  private replicaTimer: NodeJS.Timeout | undefined;
  /** A round of {@link watchReplicas} runs. */
  private watchingReplicas = false;
  /** Each server holding a replica its leader reports behind: the smallest lag seen, since when, and the restarts it took. */
  private readonly replicasLagging = new Map<string, ReplicaLag>();
  private stopped = false;
  private readonly backups: BackupScheduler;

  constructor(
    readonly paths: BusPaths,
    private readonly options: SupervisorOptions = {},
  ) {
    this.backups = new BackupScheduler(paths, (level, message) => this.emit(level, message));
  }

  /**
   * Reads the state file and starts every server. A server that a supervisor which exited left
   * running is adopted, not restarted: it keeps serving on its own ports. One that runs an older
   * configuration is reported stale, for {@link apply} to restart it in turn.
   */
  async start(): Promise<void> {
    const state = await this.readStateOrThrow();
    this.state = state;
    this.emit("info", `starting ${state.servers.length} server(s) of bus ${state.name} (generation ${state.generation})`);
    for (const spec of state.servers) {
      const managed: Managed = { spec, phase: ServerPhase.starting, crashes: 0, restarts: 0, stopping: false };
      this.servers.set(spec.index, managed);
      if (!(await this.adopt(managed))) {
        await this.spawnServer(managed);
        this.watchUntilHealthy(managed);
      }
    }
    this.healthTimer = setInterval(() => void this.checkHealth(), HEALTH_INTERVAL_MS);
    this.healthTimer.unref();
    // A stream replica left behind (a server that died while no supervisor ran, one restarted or
    // outpaced under load) is watched for as long as the bus runs.
    this.replicaTimer = setInterval(() => void this.watchReplicas(), REPLICA_WATCH_INTERVAL_MS);
    this.replicaTimer.unref();
    await this.configureBackups();
  }

  /** Whether a server serves: `/healthz`, and for NATS Streaming its place in the raft cluster too. */
  private serving(monitorPort: number): Promise<boolean> {
    return this.kind === "stan" ? isStanServing(monitorPort) : isHealthy(monitorPort);
  }

  /** What the bus runs: JetStream, or NATS Streaming. */
  get kind(): "jetstream" | "stan" {
    return this.state?.kind ?? "jetstream";
  }

  status(): SupervisorStatus {
    const state = this.state;
    const backups = this.backups.status();
    return {
      name: state?.name ?? "",
      pid: process.pid,
      generation: state?.generation ?? 0,
      persistent: state?.persistent ?? false,
      applying: this.applying,
      servers: [...this.servers.values()]
        .sort((a, b) => a.spec.index - b.spec.index)
        .map((m) => ({
          index: m.spec.index,
          name: m.spec.name,
          ...(m.proc?.running() && { pid: m.proc.pid }),
          phase: m.phase,
          restarts: m.restarts,
          serverVersion: m.spec.serverVersion,
          ports: m.spec.ports,
          ...(m.startedAt !== undefined && { startedAt: new Date(m.startedAt).toISOString() }),
          ...(m.lastExit && { lastExit: m.lastExit }),
          ...(m.proc?.adopted && { adopted: true }),
          ...(state?.servers.some((s) => s.index === m.spec.index && s.digest !== m.spec.digest) && { stale: true }),
        })),
      events: [...this.events],
      ...(backups && { backups }),
    };
  }

  /**
   * Applies the state file as it is now: removed servers stop (highest index first), new servers
   * start, and changed servers restart one at a time, each healthy before the next is touched.
   */
  apply(): Promise<void> {
    return this.serialize(async () => {
      this.applying = true;
      try {
        const next = await this.readStateOrThrow();
        const previous = this.state;
        this.state = next;
        const desired = new Map(next.servers.map((s) => [s.index, s]));
        const removed = [...this.servers.keys()].filter((i) => !desired.has(i)).sort((a, b) => b - a);
        const added = next.servers.filter((s) => !this.servers.has(s.index));
        const changed = next.servers.filter((s) => this.servers.has(s.index) && this.servers.get(s.index)!.spec.digest !== s.digest);
        this.emit(
          "info",
          `applying generation ${next.generation} (was ${previous?.generation ?? "none"}): ${added.length} to add, ${changed.length} to restart, ${removed.length} to remove`,
        );
        await this.configureBackups();
        for (const index of removed) {
          const managed = this.servers.get(index)!;
          this.emit("info", "stopping (removed from the bus)", managed.spec.name);
          await this.stopServer(managed);
          this.servers.delete(index);
        }
        for (const spec of added) {
          const managed: Managed = { spec, phase: ServerPhase.starting, crashes: 0, restarts: 0, stopping: false };
          this.servers.set(spec.index, managed);
          await this.spawnServer(managed);
        }
        for (const spec of added) await this.waitServerHealthy(this.servers.get(spec.index)!);
        for (const spec of changed) {
          const managed = this.servers.get(spec.index)!;
          this.emit("info", "restarting with the new configuration", spec.name);
          await this.stopServer(managed);
          managed.spec = spec;
          managed.stopping = false;
          managed.crashes = 0;
          await this.spawnServer(managed);
          await this.waitServerHealthy(managed);
        }
        if (added.length + changed.length + removed.length > 0) await this.waitReplicasCurrent();
        this.emit("info", `generation ${next.generation} applied`);
      } finally {
        this.applying = false;
      }
    });
  }

  /** Stops every server in lame-duck mode, in parallel. Idempotent. */
  stop(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) return;
      this.stopped = true;
      clearInterval(this.healthTimer);
      clearInterval(this.replicaTimer);
      // A backup in progress ends first: its servers are about to go.
      await this.backups.stop();
      this.emit("info", "stopping all servers (lame duck)");
      await Promise.all([...this.servers.values()].map((m) => this.stopServer(m)));
      this.emit("info", "all servers stopped");
    });
  }

  /** Takes the scheduled backups of the applied manifest; a manifest that cannot be read is an error event. */
  private async configureBackups(): Promise<void> {
    try {
      const backup = this.state?.backup;
      if (backup !== undefined) {
        this.backups.configure(backup === null ? undefined : { schedule: CronSchedule.parse(backup.schedule), keep: backup.keep });
        return;
      }
      // A state file written before the schedule was kept in it: read the applied manifest (this
      // loads the schema and YAML, which the supervisor otherwise goes without).
      const { appliedBus } = await import("./applied.js");
      const applied = await appliedBus(this.paths);
      this.backups.configure(applied?.bus.spec.mode === "jetstream" ? applied.bus.spec.backup : undefined);
    } catch (error) {
      this.emit("error", `scheduled backups: ${(error as Error).message}`);
    }
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readStateOrThrow(): Promise<LocalState> {
    const state = await readState(this.paths.state);
    if (!state) throw new LocalPlatformError(LocalErrorCode.notFound, `no state file at ${this.paths.state}`);
    return state;
  }

  private emit(level: SupervisorEvent["level"], message: string, server?: string): void {
    const event: SupervisorEvent = { time: new Date().toISOString(), level, message, ...(server !== undefined && { server }) };
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) this.events.shift();
    this.options.onEvent?.(event);
  }

  private async spawnServer(managed: Managed): Promise<void> {
    const spec = managed.spec;
    if (!this.state?.persistent) await rm(spec.data, { recursive: true, force: true });
    await mkdir(spec.data, { recursive: true, mode: 0o700 });
    const log = await open(spec.log, "a", 0o600);
    const env = serverEnv(this.state?.servers.length ?? this.servers.size);
    let child: ChildProcess;
    try {
      child = spawn(spec.binary, [spec.configFlag ?? "-c", spec.config, ...spec.args], {
        stdio: ["ignore", log.fd, log.fd],
        env,
      });
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
    } finally {
      await log.close();
    }
    this.track(managed, spawnedProcess(child), Date.now());
    await writeServerRecord(spec.config, { pid: child.pid!, digest: spec.digest, startedAt: new Date(managed.startedAt!).toISOString() }).catch(
      (error: unknown) => {
        this.emit("warn", `could not record the running server: ${(error as Error).message}`, spec.name);
      },
    );
    this.emit(
      "info",
      `started (pid ${child.pid}, nats-server ${spec.serverVersion}, client port ${spec.ports.client}, GOMAXPROCS ${env["GOMAXPROCS"]})`,
      spec.name,
    );
  }

  /** Watches a server process: its exit restarts it, its startup is polled until healthy. */
  private track(managed: Managed, proc: ServerProcess, startedAt: number): void {
    managed.proc = proc;
    managed.phase = ServerPhase.running;
    managed.startedAt = startedAt;
    managed.exited = proc.exited.then(({ code, signal }) => this.onExit(managed, proc, code, signal));
    void this.watchStartup(managed, proc);
  }

  /**
   * Adopts the server a supervisor that exited left running, if there is one: it keeps its ports
   * and its clients. Its configuration is the one recorded when it was started (unknown if no
   * record names its pid, which makes it stale).
   */
  private async adopt(managed: Managed): Promise<boolean> {
    const spec = managed.spec;
    const pid = await orphanPid(spec);
    if (pid === undefined) return false;
    const record = await readServerRecord(spec.config).catch(() => undefined);
    const known = record?.pid === pid;
    managed.spec = { ...spec, digest: known ? record.digest : "unknown" };
    this.track(managed, adoptedProcess(pid, spec.config), known ? Date.parse(record.startedAt) : Date.now());
    const stale = managed.spec.digest !== spec.digest;
    this.emit(
      "warn",
      `adopted: left running by a supervisor that exited (pid ${pid}); it keeps its ports${stale ? ", and restarts with the new configuration when applied" : ""}`,
      spec.name,
    );
    return true;
  }

  /** Polls a starting server closely until it is healthy, so that readiness is seen at once. */
  private async watchStartup(managed: Managed, proc: ServerProcess): Promise<void> {
    const deadline = Date.now() + (this.options.healthTimeoutMillis ?? 60_000);
    while (managed.proc === proc && proc.running() && managed.phase === ServerPhase.running && Date.now() < deadline) {
      if (await this.serving(managed.spec.ports.monitor)) {
        if (managed.proc === proc && managed.phase === ServerPhase.running) managed.phase = ServerPhase.healthy;
        return;
      }
      await sleep(25);
    }
  }

  private onExit(managed: Managed, proc: ServerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (managed.proc !== proc) return;
    managed.lastExit = { code, signal, at: new Date().toISOString() };
    if (managed.stopping || this.stopped) {
      managed.phase = ServerPhase.stopped;
      return;
    }
    const uptime = Date.now() - (managed.startedAt ?? Date.now());
    if (uptime > (this.options.backoffResetMillis ?? 30_000)) managed.crashes = 0;
    const delay = backoffDelay(
      { initialMillis: this.options.backoffInitialMillis ?? 250, maxMillis: this.options.backoffMaxMillis ?? 10_000, jitter: 0 },
      managed.crashes,
    );
    managed.crashes++;
    managed.phase = ServerPhase.backoff;
    const how = proc.adopted ? "its exit status is unknown: it was adopted" : (signal ?? `code ${code}`);
    this.emit("warn", `exited unexpectedly (${how}); restarting in ${delay}ms`, managed.spec.name);
    managed.restartTimer = setTimeout(() => {
      managed.restartTimer = undefined;
      if (managed.stopping || this.stopped) return;
      managed.restarts++;
      this.spawnServer(managed).then(
        () => this.watchUntilHealthy(managed),
        (error: unknown) => this.emit("error", `could not restart: ${(error as Error).message}`, managed.spec.name),
      );
    }, delay);
  }

  /**
   * Lame duck (SIGUSR2): the server stops accepting clients, moves them away, then exits. A server
   * that is not serving (stalled) is stopped with SIGTERM instead, which skips the lame-duck wait.
   * Either way it is killed when it has not exited in time.
   */
  private async stopServer(managed: Managed, how: { readonly signal: "SIGUSR2" | "SIGTERM"; readonly limitMillis: number } = this.lameDuck()): Promise<void> {
    managed.stopping = true;
    clearTimeout(managed.restartTimer);
    const proc = managed.proc;
    if (!proc?.running()) {
      managed.phase = ServerPhase.stopped;
      return;
    }
    managed.phase = ServerPhase.stopping;
    proc.signal(how.signal);
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), how.limitMillis).unref());
    if ((await Promise.race([managed.exited, timer])) === "timeout") {
      this.emit("warn", `did not stop within ${how.limitMillis}ms; killing it`, managed.spec.name);
      proc.signal("SIGKILL");
      await managed.exited;
    }
    managed.phase = ServerPhase.stopped;
    this.emit("info", "stopped", managed.spec.name);
  }

  /**
   * How a server stops: nats-server in lame duck (SIGUSR2); nats-streaming-server, which handles no
   * SIGUSR2 (Go's default for it would end the process at once), shuts down on SIGTERM
   * (nats-streaming-server 0.25.6 `server/signal.go`: `Shutdown`, exit 143).
   */
  private lameDuck(): { readonly signal: "SIGUSR2" | "SIGTERM"; readonly limitMillis: number } {
    const limitMillis = (this.state?.lameDuckMillis ?? 10_000) + 15_000;
    return { signal: this.state?.kind === "stan" ? "SIGTERM" : "SIGUSR2", limitMillis };
  }

  /**
   * Watches a server started outside a change (at start, after a crash) until it is healthy, with
   * the stall recovery of {@link waitServerHealthy}: a cold-started server, or one restarted after a
   * crash under load, can stall behind its groups as one restarted by a change can. A change in
   * progress owns its servers and waits for them itself.
   */
  private watchUntilHealthy(managed: Managed, round = 0): void {
    if (this.applying) return;
    this.waitServerHealthy(managed, BACKGROUND_HEALTH_TIMEOUT_MILLIS).then(
      () => undefined,
      async (error: unknown) => {
        const name = managed.spec.name;
        this.emit("error", (error as Error).message.split("\n")[0]!, name);
        // Not given up on: a server left unhealthy is restarted again after a growing pause (as a
        // crashing one is), until it is healthy, the bus stops, or a change takes it over.
        const pauseMillis = backoffDelay({ initialMillis: STALL_RETRY_PAUSE_MILLIS, maxMillis: MAX_STALL_RETRY_PAUSE_MILLIS, jitter: 0 }, round);
        await sleep(pauseMillis);
        if (this.stopped || managed.stopping || this.applying || managed.phase === ServerPhase.healthy) return;
        if (await this.serving(managed.spec.ports.monitor)) return void (managed.phase = ServerPhase.healthy);
        this.emit("warn", `still not healthy ${pauseMillis / 1000}s later; restarting it again`, name);
        await this.restartStalled(managed);
        this.watchUntilHealthy(managed, round + 1);
      },
    );
  }

  /**
   * Waits until a server the supervisor (re)started is healthy. A server that is not healthy and
   * makes no progress (its view of the meta leader and its streams' messages stay the same) for
   * {@link STALL_MILLIS} is restarted, up to {@link MAX_STALL_RECOVERIES} times: under load,
   * nats-server 2.10 can leave a server added to a cluster, or a restarted stream replica, stalled
   * behind its group for good, while a restart catches it up in seconds. A server that catches up
   * slowly is waited for as long as it progresses, up to the health timeout.
   */
  private async waitServerHealthy(managed: Managed, timeoutMillis = this.options.healthTimeoutMillis ?? 60_000): Promise<void> {
    const name = managed.spec.name;
    const port = managed.spec.ports.monitor;
    const stallMillis = this.options.stallMillis ?? STALL_MILLIS;
    // Exits during this wait, not over the supervisor's life: a server of a long-lived bus that was
    // killed six times in a day does not "keep exiting", and failing its wait at once would have it
    // restarted again and again in the middle of catching up.
    const restartsBefore = managed.restarts;
    for (let recoveries = 0; ; recoveries++) {
      const started = Date.now();
      let mark: string | undefined;
      let progressedAt = started;
      let failure: string | undefined;
      for (;;) {
        // The bus is stopping, or something else stopped this server: nothing to wait for.
        if (this.stopped || managed.stopping) return;
        if (managed.restarts - restartsBefore > MAX_EXITS_WHILE_WAITING) {
          failure = `${name} keeps exiting`;
          break;
        }
        if (await this.serving(port)) {
          managed.phase = ServerPhase.healthy;
          this.emit("info", "healthy", name);
          return;
        }
        const now = Date.now();
        const seen = await progressMark(port);
        if (seen !== mark) {
          mark = seen;
          progressedAt = now;
        }
        if (now - started > timeoutMillis) {
          failure = `timed out after ${timeoutMillis}ms waiting for ${name} to be healthy`;
          break;
        }
        if (now - progressedAt > stallMillis) break;
        await sleep(100);
      }
      const why = await healthzError(port);
      if (failure !== undefined || recoveries >= MAX_STALL_RECOVERIES) {
        const tail = await logTail(managed.spec.log);
        const reason = failure ?? `made no progress for ${stallMillis}ms after ${recoveries} restart(s)`;
        throw new LocalPlatformError(LocalErrorCode.unhealthy, `${name} did not become healthy: ${reason}${why ? ` (/healthz: ${why})` : ""}\n${tail}`);
      }
      this.emit(
        "warn",
        `not healthy and no progress for ${stallMillis / 1000}s (${why ?? "unknown"}); restarting it to catch up (${recoveries + 1} of ${MAX_STALL_RECOVERIES})`,
        name,
      );
      await this.restartStalled(managed);
    }
  }

  /** Restarts a server that is not serving: SIGTERM (no lame-duck wait), SIGKILL if it lingers, then a new process. */
  private async restartStalled(managed: Managed): Promise<void> {
    await this.stopServer(managed, { signal: "SIGTERM", limitMillis: STALLED_STOP_MILLIS });
    managed.stopping = false;
    managed.crashes = 0;
    await this.spawnServer(managed);
  }

  /**
   * After servers joined, left or restarted, waits until every stream replica that one of the bus's
   * servers leads is current. A replica that stays behind without catching up for
   * {@link STALL_MILLIS} (a stream moved off a removed server, catching up under load) has its
   * server restarted, up to {@link MAX_STALL_RECOVERIES} times; then it is left to `up`, which
   * reports a stream without current replicas.
   */
  private async waitReplicasCurrent(timeoutMillis = this.options.healthTimeoutMillis ?? 60_000, giveWay: () => boolean = () => this.stopped): Promise<void> {
    const stallMillis = this.options.stallMillis ?? STALL_MILLIS;
    const deadline = Date.now() + timeoutMillis;
    const progress = new Map<string, { lag: number; at: number; recoveries: number }>();
    while (Date.now() < deadline && !giveWay()) {
      const behind = await this.replicasBehind();
      if (behind.size === 0) return;
      const now = Date.now();
      for (const [name, lag] of behind) {
        const seen = progress.get(name);
        if (!seen || lag < seen.lag) {
          progress.set(name, { lag, at: now, recoveries: seen?.recoveries ?? 0 });
          continue;
        }
        const managed = [...this.servers.values()].find((m) => m.spec.name === name);
        if (!managed || now - seen.at <= stallMillis || seen.recoveries >= MAX_STALL_RECOVERIES) continue;
        this.emit(
          "warn",
          `a stream replica is ${lag} messages behind and has not caught up for ${stallMillis / 1000}s; restarting it to catch up (${seen.recoveries + 1} of ${MAX_STALL_RECOVERIES})`,
          name,
        );
        progress.set(name, { lag, at: Date.now(), recoveries: seen.recoveries + 1 });
        await this.restartStalled(managed);
        await this.waitServerHealthy(managed).catch((error: unknown) => this.emit("error", (error as Error).message.split("\n")[0]!, name));
      }
      await sleep(250);
    }
  }

  /**
   * One round of the replica watch, every {@link REPLICA_WATCH_INTERVAL_MS} while the bus runs: a
   * healthy server holding a stream replica that its leader reports behind, whose lag has not gone
   * below its smallest value for {@link STALL_MILLIS}, is restarted (nats-server 2.10 can leave a
   * replica stalled for good while a restart catches it up in seconds: a failover run saw a
   * replica 962 messages behind for 2 minutes, after every restart-triggered wait had ended). After
   * {@link MAX_STALL_RECOVERIES} restarts the pause before the next grows, as for a crashing server.
   * A change owns the servers while it runs, and a server not yet healthy is watched by its start.
   */
  private async watchReplicas(): Promise<void> {
    if (this.watchingReplicas || this.stopped || this.applying) return;
    this.watchingReplicas = true;
    try {
      const behind = await this.replicasBehind();
      const now = Date.now();
      for (const name of this.replicasLagging.keys()) if (!behind.has(name)) this.replicasLagging.delete(name);
      const stallMillis = this.options.stallMillis ?? STALL_MILLIS;
      for (const [name, lag] of behind) {
        const seen = this.replicasLagging.get(name);
        if (!seen || lag < seen.lag) {
          this.replicasLagging.set(name, { lag, since: now, restarts: seen?.restarts ?? 0 });
          continue;
        }
        const managed = [...this.servers.values()].find((m) => m.spec.name === name);
        if (!managed || managed.stopping || managed.phase !== ServerPhase.healthy) continue;
        const extra =
          seen.restarts < MAX_STALL_RECOVERIES
            ? 0
            : backoffDelay(
                { initialMillis: STALL_RETRY_PAUSE_MILLIS, maxMillis: MAX_STALL_RETRY_PAUSE_MILLIS, jitter: 0 },
                seen.restarts - MAX_STALL_RECOVERIES,
              );
        if (now - seen.since <= stallMillis + extra || this.stopped || this.applying) continue;
        this.emit(
          "warn",
          `a stream replica is ${lag} messages behind and has not caught up for ${Math.round((now - seen.since) / 1000)}s; restarting it to catch up (restart ${seen.restarts + 1})`,
          name,
        );
        this.replicasLagging.set(name, { lag, since: Date.now(), restarts: seen.restarts + 1 });
        await this.restartStalled(managed);
        this.watchUntilHealthy(managed);
      }
    } catch (error) {
      this.emit("error", `watching stream replicas: ${(error as Error).message}`);
    } finally {
      this.watchingReplicas = false;
    }
  }

  /** The servers holding a stream replica that its leader reports not current, with the replica's lag. */
  private async replicasBehind(): Promise<Map<string, number>> {
    const behind = new Map<string, number>();
    const views = await Promise.all(
      [...this.servers.values()].map((m) => streamViews(m.spec.ports.monitor).then((streams) => ({ name: m.spec.name, streams }))),
    );
    for (const { name, streams } of views) {
      for (const stream of streams) {
        if (stream.cluster?.leader !== name) continue;
        for (const r of stream.cluster.replicas ?? []) if (!r.current) behind.set(r.name, Math.max(behind.get(r.name) ?? 0, r.lag ?? 0));
      }
    }
    return behind;
  }

  private async checkHealth(): Promise<void> {
    await Promise.all(
      [...this.servers.values()].map(async (m) => {
        if (m.phase !== ServerPhase.running && m.phase !== ServerPhase.healthy) return;
        const healthy = await this.serving(m.spec.ports.monitor);
        if (m.phase === ServerPhase.running || m.phase === ServerPhase.healthy) m.phase = healthy ? ServerPhase.healthy : ServerPhase.running;
      }),
    );
  }
}

/**
 * The end of a log file for an error message: the last lines that name an error (nats-server
 * prints its usage after a bad flag, which would hide the reason), then the last `lines` lines.
 */
export async function logTail(path: string, lines = 15): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return `  (no log at ${path})`;
  }
  const recent = text.trimEnd().split("\n").slice(-400);
  const tail = recent.slice(-lines);
  const errors = recent.filter((l) => /\[(FTL|ERR)\]|error|not defined|invalid|denied|failed|unable/i.test(l) && !tail.includes(l)).slice(-5);
  return [...errors, ...(errors.length > 0 ? ["..."] : []), ...tail].map((l) => `  | ${l}`).join("\n");
}

/**
 * The environment of a server process: the supervisor's, with GOMAXPROCS set to this machine's
 * cores shared among the bus's servers (at least 1), unless the supervisor's own environment sets
 * it. Go gives every process all the cores: three servers of 2 Ps each on a 2-core machine spent
 * their time contending, and with 1 each `bench:publish` published 45% more (raw nats.js 11.8k →
 * 17.0k events/s, Go's `nats bench` 17.3k → 23.9k) and `bench:flow`'s p99 latency fell.
 */
export function serverEnv(servers: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): NodeJS.ProcessEnv {
  if (env["GOMAXPROCS"] !== undefined && env["GOMAXPROCS"] !== "") return env;
  return { ...env, GOMAXPROCS: String(Math.max(1, Math.floor(cores / Math.max(1, servers)))) };
}
