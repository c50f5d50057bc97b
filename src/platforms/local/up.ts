/**
 * `eventbus up` as one pipeline, so that a failure at each step leaves a bus in a state that can
 * be said: the desired bus (nothing written, so a refusal changes nothing), the apply point (the
 * files the servers and the supervisor read), the act (the supervisor applies or starts), and the
 * wait (healthy servers in one meta group, then the stream), which stops what this `up` started
 * when the bus does not come up.
 */
import { spawn } from "node:child_process";
import { mkdir, open, rm } from "node:fs/promises";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ResolvedEventBus } from "../../api/index.js";
import type { JetStreamPlan } from "../../plan/index.js";
import { argoAuthFile, ensureSecretDir, saveBusSecrets, writeSecretFile } from "../../secrets/index.js";
import { writeReadyStatus } from "./bus-status.js";
import { withConnection, type LocalConnection } from "./connect.js";
import { formatEvent, liveControl, supervisorOperation, supervisorStatus } from "./control-client.js";
import { runSupervisorDaemon, type RunningDaemon } from "./daemon.js";
import { DEFAULT_BUS_MANIFEST } from "./default-bus.js";
import { desiredBus, desiredState, readLocalBus, type DesiredBus, type LocalSpec, type UpAction } from "./desired.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import { clusterDiagnostics, IncompleteMetaGroupError, MAX_COLD_STARTS, META_JOIN_GRACE_MS, waitHealthy } from "./health.js";
import { busPaths, eventbusHome, prepareBusDir, type BusPaths } from "./home.js";
import { withLock } from "./lock.js";
import { poll } from "./monitor.js";
import { scaleDown } from "./scaling.js";
import { readControl, writeFileAtomic } from "./state-file.js";
import { ensureStreamReady, type StreamOutcome } from "./stream.js";
import { logTail, type SupervisorEvent } from "./supervisor.js";

/** Options of {@link upBus}. */
export interface UpOptions {
  /** @default eventbusHome() */
  readonly home?: string;
  /** The manifest; the default bus when omitted. */
  readonly manifest?: { readonly text: string; readonly source: string };
  /** Run the supervisor in this process (`up --foreground`) instead of a detached one. */
  readonly foreground?: boolean;
  /** Progress lines, as they happen. */
  readonly onProgress?: (line: string) => void;
  /** Supervisor events, in foreground mode. */
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** How long the bus may take to become healthy. @default 120_000 */
  readonly timeoutMillis?: number;
  /**
   * Interrupts `up` (SIGINT): before anything is written, nothing changes; a start stops the
   * servers it started (the state is kept); an update goes on in the supervisor.
   */
  readonly signal?: AbortSignal;
}

/** What `up` did. */
export interface UpResult {
  readonly name: string;
  /** `created`: first start; `started`: an existing bus was started; `updated`: a change was applied; `unchanged`: nothing to do. */
  readonly action: UpAction;
  readonly generation: number;
  readonly persistent: boolean;
  readonly connection: Omit<LocalConnection, "auth"> & { readonly auth: LocalConnection["auth"]["mode"] };
  /** The stream `default` of a JetStream bus; none for NATS Streaming, whose channels come with their first event. */
  readonly stream?: StreamOutcome;
  /** The cluster ID a NATS Streaming client connects with (`eventbus-<name>`). */
  readonly clusterId?: string;
  readonly paths: BusPaths;
  /** The supervisor, when it runs in this process. */
  readonly daemon?: RunningDaemon;
}

/** How long the bus may take to become healthy, and its stream ready, unless {@link UpOptions.timeoutMillis} says. */
const DEFAULT_TIMEOUT_MILLIS = 120_000;

/**
 * Runs a managed JetStream (or NATS Streaming) bus on this machine, or applies a changed manifest to a running one.
 * Everything is checked before anything is written: an invalid manifest, a refused change, a
 * missing binary or an unusable state dir leave the bus as it was.
 */
export async function upBus(options: UpOptions = {}): Promise<UpResult> {
  const progress = options.onProgress ?? (() => {});
  const home = options.home ?? eventbusHome();
  const { bus, spec } = readLocalBus(options.manifest ?? { text: DEFAULT_BUS_MANIFEST, source: "<default bus>" }, progress);
  const paths = busPaths(home, bus.name);
  await prepareBusDir(paths);
  return withLock(paths.lock, `bus ${bus.name}`, () => apply(bus, spec, paths, options, progress));
}

async function apply(bus: ResolvedEventBus, spec: LocalSpec, paths: BusPaths, options: UpOptions, progress: (line: string) => void): Promise<UpResult> {
  const timeoutMs = options.timeoutMillis ?? DEFAULT_TIMEOUT_MILLIS;
  // 1. The desired bus: everything that can refuse the change, before anything is written.
  const desired = await desiredBus(bus, spec, paths);
  const { plan, connection } = desired;
  if (desired.action === "unchanged") {
    progress(`bus ${bus.name} is up to date (generation ${desired.generation}); nothing to do`);
    const stream =
      plan.kind === "jetstream"
        ? await withConnection(connection, "eventbus-up", (nc) => ensureStreamReady(nc, plan.stream, timeoutMs, options.signal, progress))
        : undefined;
    await writeReadyStatus(paths, plan.replicas);
    return outcome(desired, desired.generation, stream, paths);
  }
  if (options.signal?.aborted) throw interrupted(`nothing was changed on bus ${bus.name}`);

  // 2. The apply point: the new desired state is written, then the supervisor acts on it. A
  // scale-down stops the servers that go before the state names the servers that stay.
  await writeServerFiles(desired, paths);
  const generation = desired.removing.length > 0 ? await scaleDown(desired, paths, progress) : desired.generation;
  const state = desiredState(desired, generation);
  await writeFileAtomic(paths.plan, `${JSON.stringify(plan, null, 2)}\n`);
  await writeFileAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`);
  await writeFileAtomic(paths.manifest, desired.manifestText);

  // 3. Act: the running supervisor applies the new state, server by server; else one is started.
  const supervisor = new StartedSupervisor(paths, options);
  if (desired.action === "updated") {
    progress(`applying generation ${generation} to the running bus ${bus.name}`);
    // The supervisor goes on applying if this process is interrupted: it owns the rolling restart.
    await abortable(
      supervisorOperation(desired.control!, "apply", (event) => progress(formatEvent(event))),
      options.signal,
      () =>
        interrupted(
          `the supervisor goes on applying generation ${generation} to bus ${bus.name} on its own; \`eventbus status ${bus.name}\` shows when it is done`,
        ),
    );
  } else {
    if (options.signal?.aborted) throw interrupted(`bus ${bus.name} was not started; its new state is written, and the next \`eventbus up\` starts it`);
    const server = plan.kind === "jetstream" ? "nats-server" : "nats-streaming-server";
    progress(
      `starting bus ${bus.name}: ${plan.replicas} server(s), ${server} ${desired.serverVersion}, auth ${plan.auth}, TLS ${plan.kind === "jetstream" && plan.tls ? "on" : "off"}, ${desired.persistent ? "persistent" : "ephemeral"} store`,
    );
    if (desired.adopting > 0) progress(`  adopting ${desired.adopting} server(s) left running by a supervisor that exited (they keep their ports and clients)`);
    await supervisor.start();
  }

  // 4. Wait: every server healthy in one meta group, then the stream ready.
  await waitUp(desired, paths, supervisor, timeoutMs, options.signal, progress);
  let stream: StreamOutcome | undefined;
  if (plan.kind === "jetstream") {
    stream = await streamReady(desired, plan, paths, supervisor, timeoutMs, options.signal, progress);
    progress(`stream ${plan.stream.name}: ${stream.action}${stream.changes.length > 0 ? ` (${stream.changes.join("; ")})` : ""}`);
  } else if (desired.action !== "updated") await restartStale(paths, progress, options.signal);
  if (!desired.established) await writeFileAtomic(paths.state, `${JSON.stringify({ ...state, established: undefined }, null, 2)}\n`);
  await writeReadyStatus(paths, plan.replicas);
  return { ...outcome(desired, generation, stream, paths), ...(supervisor.daemon && { daemon: supervisor.daemon }) };
}

/** The first part of the apply point: the bus's secrets, each server's configs, the auth file. */
async function writeServerFiles(desired: DesiredBus, paths: BusPaths): Promise<void> {
  const { plan, secrets } = desired;
  await ensureSecretDir(paths.secrets);
  if (desired.newSecrets) await saveBusSecrets(paths.secrets, secrets);
  for (const server of plan.servers) {
    await mkdir(paths.serverDir(server.index), { recursive: true, mode: 0o700 });
    // A NATS Streaming bus without a token includes no secrets file: an empty one replaces any older.
    await writeSecretFile(paths.serverSecretsConfig(server.index), desired.rendered[server.index]!.secrets ?? "");
    await writeSecretFile(paths.serverConfig(server.index), desired.rendered[server.index]!.config);
  }
  if (plan.auth !== "none") await writeSecretFile(paths.authFile, argoAuthFile(secrets.credentials, plan.auth));
}

/**
 * Waits for the servers to be healthy. A bus that does not come up is not left half-running: what
 * this `up` started is stopped, its state kept. A brand-new cluster whose meta group formed without
 * a server is started again from scratch; a running one (an update) is left to its supervisor.
 */
async function waitUp(
  desired: DesiredBus,
  paths: BusPaths,
  supervisor: StartedSupervisor,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  progress: (line: string) => void,
): Promise<void> {
  const { bus, plan, action } = desired;
  for (let attempt = 1; ; attempt++) {
    try {
      // A brand-new cluster gets a short grace for its meta group to hold every server, since it can
      // be started again from scratch; an existing one is waited for as long as it takes.
      await waitHealthy(paths, plan, timeoutMs, progress, action === "created" ? META_JOIN_GRACE_MS : timeoutMs, signal);
      return;
    } catch (error) {
      if (action === "updated") throw error;
      await supervisor.stop();
      if (error instanceof LocalPlatformError && error.code === LocalErrorCode.interrupted) {
        throw interrupted(stoppedWhatItStarted(bus.name));
      }
      if (error instanceof IncompleteMetaGroupError && action === "created" && attempt < MAX_COLD_STARTS) {
        progress(
          `  the new cluster's JetStream meta group formed without ${error.missing.join(", ")}; starting it again from scratch (attempt ${attempt + 1} of ${MAX_COLD_STARTS})`,
        );
        for (const server of plan.servers) await rm(paths.serverData(server.index), { recursive: true, force: true });
        await supervisor.start();
        continue;
      }
      if (error instanceof IncompleteMetaGroupError) {
        throw new LocalPlatformError(
          LocalErrorCode.unhealthy,
          `bus ${bus.name} did not become healthy: ${error.message} after ${attempt} cold starts; the bus was stopped`,
        );
      }
      if (error instanceof LocalPlatformError) error.message += `; the bus was stopped (see \`eventbus logs ${bus.name}\`)`;
      throw error;
    }
  }
}

/**
 * Restarts stale adopted servers, then ensures the stream. From here the servers are healthy: a
 * failure or an interruption stops what this `up` started, but a running bus (an update, adopted
 * servers) is left running, and the next `up` finishes the stream.
 */
async function streamReady(
  desired: DesiredBus,
  plan: JetStreamPlan,
  paths: BusPaths,
  supervisor: StartedSupervisor,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  progress: (line: string) => void,
): Promise<StreamOutcome> {
  const { bus } = desired;
  try {
    if (desired.action !== "updated") await restartStale(paths, progress, signal);
    return await withConnection(desired.connection, "eventbus-up", (nc) => ensureStreamReady(nc, plan.stream, timeoutMs, signal, progress)).catch(
      async (error: unknown) => {
        if (error instanceof LocalPlatformError && error.detail === undefined && error.code !== LocalErrorCode.interrupted) {
          throw new LocalPlatformError(error.code, `stream ${plan.stream.name} of bus ${plan.busName}: ${error.message}`, {
            cause: error,
            detail: await clusterDiagnostics(paths, plan),
          });
        }
        throw error;
      },
    );
  } catch (error) {
    const failure =
      error instanceof LocalPlatformError
        ? error
        : new LocalPlatformError(LocalErrorCode.stream, `stream ${plan.stream.name} of bus ${plan.busName}: ${(error as Error).message}`, { cause: error });
    const what = failure.code === LocalErrorCode.interrupted ? "interrupted:" : `${failure.message};`;
    const keepRunning = desired.action === "updated" || desired.adopting > 0;
    const left = keepRunning ? `bus ${bus.name} keeps running, and the next \`eventbus up\` finishes its stream` : stoppedWhatItStarted(bus.name);
    if (!keepRunning) await supervisor.stop();
    throw new LocalPlatformError(failure.code, `${what} ${left}`, { cause: error, ...(failure.detail !== undefined && { detail: failure.detail }) });
  }
}

const interrupted = (what: string) => new LocalPlatformError(LocalErrorCode.interrupted, `interrupted: ${what}`);
const stoppedWhatItStarted = (name: string) => `the servers of bus ${name} that this up started were stopped (its state is kept: run \`eventbus up\` again)`;

/** The supervisor this `up` starts, in this process (`--foreground`) or detached, to stop it again when the bus does not come up. */
class StartedSupervisor {
  /** The supervisor running in this process, once started. */
  daemon: RunningDaemon | undefined;

  constructor(
    private readonly paths: BusPaths,
    private readonly options: UpOptions,
  ) {}

  async start(): Promise<void> {
    if (this.options.foreground) {
      this.daemon = await runSupervisorDaemon(this.paths, { exitOnStop: false, ...(this.options.onEvent && { onEvent: this.options.onEvent }) });
    } else await spawnSupervisor(this.paths);
  }

  async stop(): Promise<void> {
    if (this.daemon) await this.daemon.stop();
    else {
      const started = await liveControl(this.paths);
      if (started) await supervisorOperation(started, "stop", () => {}).catch(() => undefined);
    }
  }
}

/** Rejects with `interrupted()` as soon as `signal` aborts; `work` itself goes on. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, interrupted: () => Error): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(interrupted());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Adopted servers that run an older configuration (the manifest changed while no supervisor ran)
 * restart with the state file's, one at a time, each healthy before the next.
 */
async function restartStale(paths: BusPaths, progress: (line: string) => void, signal: AbortSignal | undefined): Promise<void> {
  const control = await liveControl(paths);
  if (!control) return;
  const stale = (await supervisorStatus(control)).servers.filter((s) => s.stale);
  if (stale.length === 0) return;
  progress(`  restarting ${stale.map((s) => s.name).join(", ")} (adopted with an older configuration), one at a time`);
  await abortable(
    supervisorOperation(control, "apply", (event) => progress(formatEvent(event))),
    signal,
    () => new LocalPlatformError(LocalErrorCode.interrupted, "interrupted"),
  );
}

function outcome(desired: DesiredBus, generation: number, stream: StreamOutcome | undefined, paths: BusPaths): UpResult {
  const { connection, plan } = desired;
  return {
    name: desired.bus.name,
    action: desired.action,
    generation,
    persistent: desired.persistent,
    connection: { urls: connection.urls, ...(connection.caFile !== undefined && { caFile: connection.caFile }), auth: connection.auth.mode },
    ...(stream !== undefined && { stream }),
    ...(plan.kind === "stan" && { clusterId: plan.clusterId }),
    paths,
  };
}

/** The CLI entry point beside this module: main.ts under tsx, main.js when built. */
function cliEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`../../cli/main${extname(here)}`, import.meta.url));
}

/** Starts the supervisor as a detached process and waits until it listens. */
async function spawnSupervisor(paths: BusPaths): Promise<void> {
  const log = await open(paths.supervisorLog, "a", 0o600);
  const child = spawn(process.execPath, [...process.execArgv, cliEntry(), "supervise", paths.name], {
    detached: true,
    stdio: ["ignore", log.fd, log.fd],
    env: { ...process.env, EVENTBUS_HOME: paths.home },
  });
  await log.close();
  let exited: Error | undefined;
  child.once("exit", (code, signal) => (exited = new LocalPlatformError(LocalErrorCode.serverFailed, `the supervisor exited (${signal ?? `code ${code}`})`)));
  child.unref();
  try {
    await poll(
      "the supervisor to listen",
      async () => {
        const control = await readControl(paths.control).catch(() => undefined);
        return control?.pid === child.pid ? control : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, failWhen: () => exited },
    );
  } catch (error) {
    throw new LocalPlatformError(LocalErrorCode.serverFailed, `could not start the supervisor of ${paths.name}: ${(error as Error).message}`, {
      cause: error,
      detail: await logTail(paths.supervisorLog),
    });
  }
}
