import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, open, rm } from "node:fs/promises";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import {
  argoCompatibility,
  EventBusError,
  EventBusValidationError,
  formatIssue,
  ManifestReadError,
  readManifests,
  validate,
  validateUpdate,
  type ResolvedEventBus,
  type ResolvedJetStream,
} from "../../api/index.js";
import { renderJetStreamConfig } from "../../natsconf/index.js";
import { credentialMaterial, planJetStream, type JetStreamPlan, type ServerMaterial } from "../../plan/index.js";
import {
  argoAuthFile,
  busTlsFiles,
  ensureSecretDir,
  generateBusSecrets,
  loadBusSecrets,
  saveBusSecrets,
  writeSecretFile,
  type BusSecrets,
} from "../../secrets/index.js";
import { findNatsServer } from "../../tools/index.js";
import { acceptedJetStreamVersions, resolveJetStreamVersion } from "../../versions/index.js";
import { connectLocal, localConnection, type LocalConnection } from "./connect.js";
import { appliedBus } from "./applied.js";
import { liveControl, supervisorOperation, supervisorStatus } from "./control-client.js";
import { runSupervisorDaemon, type RunningDaemon } from "./daemon.js";
import { DEFAULT_BUS_MANIFEST, DEFAULT_BUS_NAME } from "./default-bus.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import { writeReadyStatus } from "./bus-status.js";
import { busPaths, eventbusHome, prepareBusDir, type BusPaths } from "./home.js";
import { withLock } from "./lock.js";
import { readMetaGroup } from "../../observe/jsz.js";
import { jsz, metaLeader, poll } from "./monitor.js";
import { allocateMetricsPort, allocatePorts } from "./ports.js";
import { orphanPid } from "./orphans.js";
import { readControl, readState, writeFileAtomic, type LocalState, type ServerState } from "./state-file.js";
import { ensureStreamReady, waitStreamPlaced, type StreamOutcome } from "./stream.js";
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
  readonly action: "created" | "started" | "updated" | "unchanged";
  readonly generation: number;
  readonly persistent: boolean;
  readonly connection: Omit<LocalConnection, "auth"> & { readonly auth: LocalConnection["auth"]["mode"] };
  readonly stream: StreamOutcome;
  readonly paths: BusPaths;
  /** The supervisor, when it runs in this process. */
  readonly daemon?: RunningDaemon;
}

/**
 * Runs a managed JetStream bus on this machine, or applies a changed manifest to a running one.
 * Everything is checked before anything is written: an invalid manifest, a refused change, a
 * missing binary or an unusable state dir leave the bus as it was.
 */
export async function upBus(options: UpOptions = {}): Promise<UpResult> {
  const progress = options.onProgress ?? (() => {});
  const home = options.home ?? eventbusHome();
  const { text, source } = options.manifest ?? { text: DEFAULT_BUS_MANIFEST, source: "<default bus>" };
  const documents = readManifests(text, source);
  if (documents.length !== 1) {
    throw new ManifestReadError(`${source}: holds ${documents.length} documents; eventbus up takes one EventBus`, source);
  }
  const result = validate(documents[0]!.value, { jetstreamVersions: acceptedJetStreamVersions() });
  if (!result.ok) throw new EventBusValidationError(result.issues);
  const bus = result.bus;
  for (const warning of [...result.warnings.map(formatIssue), ...argoCompatibility(bus).map((f) => `${f.path}: ${f.message}`)]) progress(`warning: ${warning}`);
  if (bus.spec.mode === "jetstream") {
    const version = resolveJetStreamVersion(bus.spec.version);
    if (version.substitute) {
      progress(
        `warning: spec.jetstream.version: ${version.name} (an Argo Events version) is not installed here; nats-server ${version.serverVersion}, the nearest installed, runs in its place (on Kubernetes the nats:${version.name} image runs, as in Argo Events)`,
      );
    }
  }
  const spec = bus.spec;
  if (spec.mode !== "jetstream") {
    throw new LocalPlatformError(LocalErrorCode.notJetStream, `eventbus up runs managed JetStream buses (spec.jetstream); ${spec.mode} is not run locally`);
  }
  const paths = busPaths(home, bus.name);
  await prepareBusDir(paths);
  return withLock(paths.lock, `bus ${bus.name}`, () => apply(bus, spec, paths, options, progress));
}

async function apply(bus: ResolvedEventBus, spec: ResolvedJetStream, paths: BusPaths, options: UpOptions, progress: (line: string) => void): Promise<UpResult> {
  // 1. Everything that can refuse the change, before anything is written.
  const applied = await appliedBus(paths);
  const previousText = applied?.text;
  const previousBus = applied?.bus;
  if (previousBus) {
    const issues = validateUpdate(previousBus, bus);
    if (issues.length > 0) throw new EventBusValidationError(issues);
  }
  const previousState = await readState(paths.state);
  const control = await liveControl(paths);
  // Servers a supervisor that exited left running keep serving on their ports; the new supervisor adopts them.
  const orphans = control === undefined ? await Promise.all((previousState?.servers ?? []).map((s) => orphanPid(s))) : [];
  const adopting = orphans.filter((pid) => pid !== undefined).length;
  const serverVersion = resolveJetStreamVersion(spec.version).serverVersion;
  const binary = findNatsServer(spec.version);
  const ports = await allocatePorts(spec.replicas, {
    previous: previousState?.servers.map((s) => s.ports),
    preferDefaultClientPort: bus.name === DEFAULT_BUS_NAME && previousState === undefined,
    stillOurs: (index) => control !== undefined || orphans[index] !== undefined,
  });
  const metricsPort = await allocateMetricsPort({
    previous: previousState?.metricsPort,
    stillOurs: control !== undefined,
    avoid: new Set(ports.flatMap((p) => [p.client, p.cluster, p.monitor])),
  });
  const plan = planJetStream(bus, { platform: "local", ports });
  const secrets: BusSecrets = previousBus
    ? await loadBusSecrets(paths.secrets)
    : await generateBusSecrets({ tls: plan.tls, dnsNames: plan.tlsNames.dnsNames, ipAddresses: plan.tlsNames.ipAddresses, commonName: plan.clusterName });
  const material = (index: number): ServerMaterial => serverMaterial(plan, paths, secrets, index);
  const rendered = plan.servers.map((server) => renderJetStreamConfig(plan, server.index, material(server.index)));
  const servers: ServerState[] = plan.servers.map((server) => ({
    index: server.index,
    name: server.name,
    serverVersion,
    binary,
    args: [...plan.startArgs],
    config: paths.serverConfig(server.index),
    data: paths.serverData(server.index),
    log: paths.serverLog(server.index),
    pidFile: paths.serverPid(server.index),
    ports: server.ports,
    digest: digest(rendered[server.index]!.config, rendered[server.index]!.secrets, binary, serverVersion, ...plan.startArgs),
  }));
  // Scaling down removes the peers from the JetStream cluster, which takes the system account.
  const removing = control !== undefined ? (previousState?.servers ?? []).filter((s) => s.index >= servers.length) : [];
  if (removing.length > 0 && plan.auth !== "basic") {
    throw new LocalPlatformError(
      LocalErrorCode.immutableChange,
      `scaling bus ${bus.name} down from ${previousState!.servers.length} to ${servers.length} servers needs auth basic (the system account removes the peers from the JetStream cluster); with auth ${plan.auth}, back up, \`eventbus down --purge\` and up again`,
    );
  }
  const persistent = spec.persistence !== undefined;
  const manifestText = stringify(bus.manifest, { lineWidth: 0 });
  const sameServers =
    previousState !== undefined &&
    previousState.persistent === persistent &&
    JSON.stringify(previousState.servers) === JSON.stringify(servers) &&
    previousText === manifestText;
  const connection = localConnection(plan, secrets.credentials, secrets.tls ? busTlsFiles(paths.secrets).client.caFile : undefined);

  if (sameServers && control !== undefined) {
    const status = await supervisorStatus(control);
    if (status.generation === previousState.generation && status.servers.every((s) => s.phase === "healthy")) {
      progress(`bus ${bus.name} is up to date (generation ${previousState.generation}); nothing to do`);
      const stream = await withConnection(connection, (nc) => ensureStreamReady(nc, plan.stream, options.timeoutMillis ?? 120_000, options.signal, progress));
      await writeReadyStatus(paths, plan.replicas);
      return outcome(bus, "unchanged", previousState.generation, persistent, connection, stream, paths);
    }
  }

  if (options.signal?.aborted) throw new LocalPlatformError(LocalErrorCode.interrupted, `interrupted: nothing was changed on bus ${bus.name}`);
  // 2. The apply point: the new desired state is written, then the supervisor acts on it.
  let generation = (previousState?.generation ?? 0) + (sameServers ? 0 : 1);
  await ensureSecretDir(paths.secrets);
  if (!previousBus) await saveBusSecrets(paths.secrets, secrets);
  for (const server of plan.servers) {
    await mkdir(paths.serverDir(server.index), { recursive: true, mode: 0o700 });
    await writeSecretFile(paths.serverSecretsConfig(server.index), rendered[server.index]!.secrets);
    await writeSecretFile(paths.serverConfig(server.index), rendered[server.index]!.config);
  }
  if (plan.auth !== "none") await writeSecretFile(paths.authFile, argoAuthFile(secrets.credentials, plan.auth));
  let daemon: RunningDaemon | undefined;
  let action: UpResult["action"];
  if (control !== undefined && removing.length > 0) {
    // First stop the servers that go, with the others untouched, and remove them as peers, so
    // that the remaining servers keep their quorum while they restart with the new routes. One
    // server at a time, highest first, and the stream placed and current on the servers that stay
    // before the next goes: two stopped at once could hold two of a stream's three replicas, and
    // with them its quorum (a CI run's 5 → 3 left the stream without a current group).
    let staying = previousState!.servers;
    const gone: string[] = [];
    for (const server of [...removing].sort((a, b) => b.index - a.index)) {
      staying = staying.filter((s) => s.index !== server.index);
      const interim: LocalState = { ...previousState!, generation, servers: staying };
      await writeFileAtomic(paths.state, `${JSON.stringify(interim, null, 2)}\n`);
      progress(`scaling down: stopping ${server.name}`);
      await supervisorOperation(control, "apply", (event) => progress(formatEvent(event)));
      await removePeers(connection, secrets, [server.name], progress);
      gone.push(server.name);
      await withConnection(connection, (nc) => waitStreamPlaced(nc, plan.stream.name, gone, staying.length, 60_000, progress));
    }
    generation++;
  }
  // A bus whose first `up` did not complete (interrupted, failed) is still new: it may be cold-started again.
  const established = previousState !== undefined && previousState.established !== false;
  const state: LocalState = {
    version: 1,
    name: bus.name,
    generation,
    persistent,
    lameDuckMillis: plan.lameDuckDuration.millis,
    metricsPort,
    servers,
    ...(!established && { established: false }),
  };
  await writeFileAtomic(paths.plan, `${JSON.stringify(plan, null, 2)}\n`);
  await writeFileAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`);
  await writeFileAtomic(paths.manifest, manifestText);

  const interruptedNow = (what: string) => new LocalPlatformError(LocalErrorCode.interrupted, `interrupted: ${what}`);
  const stoppedWhatItStarted = `the servers of bus ${bus.name} that this up started were stopped (its state is kept: run \`eventbus up\` again)`;
  if (control !== undefined) {
    progress(`applying generation ${generation} to the running bus ${bus.name}`);
    // The supervisor goes on applying if this process is interrupted: it owns the rolling restart.
    await abortable(
      supervisorOperation(control, "apply", (event) => progress(formatEvent(event))),
      options.signal,
      () =>
        interruptedNow(
          `the supervisor goes on applying generation ${generation} to bus ${bus.name} on its own; \`eventbus status ${bus.name}\` shows when it is done`,
        ),
    );
    action = "updated";
  } else {
    if (options.signal?.aborted) throw interruptedNow(`bus ${bus.name} was not started; its new state is written, and the next \`eventbus up\` starts it`);
    progress(
      `starting bus ${bus.name}: ${plan.replicas} server(s), nats-server ${serverVersion}, auth ${plan.auth}, TLS ${plan.tls ? "on" : "off"}, ${persistent ? "persistent" : "ephemeral"} store`,
    );
    if (adopting > 0) progress(`  adopting ${adopting} server(s) left running by a supervisor that exited (they keep their ports and clients)`);
    action = established ? "started" : "created";
  }
  const startSupervisor = async () => {
    if (options.foreground) daemon = await runSupervisorDaemon(paths, { exitOnStop: false, ...(options.onEvent && { onEvent: options.onEvent }) });
    else await spawnSupervisor(paths);
  };
  const stopSupervisor = async () => {
    if (daemon) await daemon.stop();
    else {
      const started = await liveControl(paths);
      if (started) await supervisorOperation(started, "stop", () => {}).catch(() => undefined);
    }
  };
  const timeoutMs = options.timeoutMillis ?? 120_000;
  for (let attempt = 1; ; attempt++) {
    if (action !== "updated") await startSupervisor();
    try {
      // A brand-new cluster gets a short grace for its meta group to hold every server, since it can
      // be started again from scratch; an existing one is waited for as long as it takes.
      await waitHealthy(paths, plan, timeoutMs, progress, action === "created" ? META_JOIN_GRACE_MS : timeoutMs, options.signal);
      break;
    } catch (error) {
      if (action === "updated") throw error;
      // A bus that did not come up is not left half-running: its servers are stopped, its state kept.
      await stopSupervisor();
      if (error instanceof LocalPlatformError && error.code === LocalErrorCode.interrupted) {
        throw interruptedNow(stoppedWhatItStarted);
      }
      if (error instanceof IncompleteMetaGroupError && action === "created" && attempt < MAX_COLD_STARTS) {
        progress(
          `  the new cluster's JetStream meta group formed without ${error.missing.join(", ")}; starting it again from scratch (attempt ${attempt + 1} of ${MAX_COLD_STARTS})`,
        );
        for (const server of plan.servers) await rm(paths.serverData(server.index), { recursive: true, force: true });
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
  // From here the servers are healthy. A failure or an interruption before the stream is ready
  // stops what this up started; a running bus (an update, adopted servers) is left running, and
  // the next `up` finishes the stream.
  let stream: StreamOutcome;
  try {
    if (action !== "updated") await restartStale(paths, progress, options.signal);
    stream = await withConnection(connection, (nc) => ensureStreamReady(nc, plan.stream, timeoutMs, options.signal, progress)).catch(async (error: unknown) => {
      if (error instanceof LocalPlatformError && error.detail === undefined && error.code !== LocalErrorCode.interrupted) {
        throw new LocalPlatformError(error.code, `stream ${plan.stream.name} of bus ${plan.busName}: ${error.message}`, {
          cause: error,
          detail: await clusterDiagnostics(paths, plan),
        });
      }
      throw error;
    });
  } catch (error) {
    const failure =
      error instanceof LocalPlatformError
        ? error
        : new LocalPlatformError(LocalErrorCode.stream, `stream ${plan.stream.name} of bus ${plan.busName}: ${(error as Error).message}`, { cause: error });
    const what = failure.code === LocalErrorCode.interrupted ? "interrupted:" : `${failure.message};`;
    const keepRunning = action === "updated" || adopting > 0;
    const left = keepRunning ? `bus ${bus.name} keeps running, and the next \`eventbus up\` finishes its stream` : stoppedWhatItStarted;
    if (!keepRunning) await stopSupervisor();
    throw new LocalPlatformError(failure.code, `${what} ${left}`, { cause: error, ...(failure.detail !== undefined && { detail: failure.detail }) });
  }
  progress(`stream ${plan.stream.name}: ${stream.action}${stream.changes.length > 0 ? ` (${stream.changes.join("; ")})` : ""}`);
  if (!established) await writeFileAtomic(paths.state, `${JSON.stringify({ ...state, established: undefined }, null, 2)}\n`);
  await writeReadyStatus(paths, plan.replicas);
  return { ...outcome(bus, action, generation, persistent, connection, stream, paths), ...(daemon && { daemon }) };
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

function outcome(
  bus: ResolvedEventBus,
  action: UpResult["action"],
  generation: number,
  persistent: boolean,
  connection: LocalConnection,
  stream: StreamOutcome,
  paths: BusPaths,
): UpResult {
  return {
    name: bus.name,
    action,
    generation,
    persistent,
    connection: { urls: connection.urls, ...(connection.caFile !== undefined && { caFile: connection.caFile }), auth: connection.auth.mode },
    stream,
    paths,
  };
}

function serverMaterial(plan: JetStreamPlan, paths: BusPaths, secrets: BusSecrets, index: number): ServerMaterial {
  return {
    storeDir: paths.serverData(index),
    ...(plan.tls && { tls: busTlsFiles(paths.secrets) }),
    ...credentialMaterial(plan, secrets.credentials),
    pidFile: paths.serverPid(index),
  };
}

function digest(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex").slice(0, 16);
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

/** How many times a starting server may exit before `up` gives up on it. */
const CRASHES_BEFORE_GIVING_UP = 3;

/** Waits for every server to answer `/healthz` and, with several servers, for a JetStream meta leader. */
async function waitHealthy(
  paths: BusPaths,
  plan: JetStreamPlan,
  timeoutMs: number,
  progress: (line: string) => void,
  metaJoinMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const reported = new Set<string>();
  const failWhen = () => (signal?.aborted ? new LocalPlatformError(LocalErrorCode.interrupted, "interrupted") : undefined);
  try {
    await poll(
      "every server to be healthy",
      async () => {
        const control = await liveControl(paths);
        if (!control) throw new LocalPlatformError(LocalErrorCode.notRunning, "the supervisor is not running");
        const status = await supervisorStatus(control);
        for (const server of status.servers) {
          // A server that keeps exiting will not come up by waiting longer.
          if (server.phase !== "healthy" && server.restarts >= CRASHES_BEFORE_GIVING_UP) {
            throw new LocalPlatformError(LocalErrorCode.serverFailed, `${server.name} exited ${server.restarts + 1} times while starting`);
          }
          if (server.phase === "healthy" && !reported.has(server.name)) {
            reported.add(server.name);
            progress(`  ${server.name} healthy (${reported.size}/${plan.replicas}, client port ${server.ports.client})`);
          }
        }
        return status.servers.length === plan.replicas && status.servers.every((s) => s.phase === "healthy") ? true : undefined;
      },
      { timeoutMs, intervalMs: 25, failWhen },
    );
    const leader = await poll(
      "a JetStream meta leader",
      // Every server must see the same leader: then the whole cluster is in one meta group.
      async () => {
        const seen = await Promise.all(plan.servers.map((s) => metaLeader(s.ports.monitor, plan.replicas)));
        return seen[0] !== undefined && seen.every((l) => l === seen[0]) ? seen[0] : undefined;
      },
      { timeoutMs, intervalMs: 25, failWhen },
    );
    if (plan.replicas > 1) {
      progress(`  JetStream meta leader: ${leader}`);
      await ensureMetaMembership(plan, metaJoinMs);
    }
  } catch (error) {
    if (error instanceof IncompleteMetaGroupError) throw error;
    if (signal?.aborted) throw new LocalPlatformError(LocalErrorCode.interrupted, "interrupted", { cause: error });
    throw new LocalPlatformError(LocalErrorCode.unhealthy, `bus ${plan.busName} did not become healthy: ${(error as Error).message}`, {
      cause: error,
      detail: await clusterDiagnostics(paths, plan),
    });
  }
}

/** How long the servers of a new cluster may take to all become peers of its JetStream meta group. */
const META_JOIN_GRACE_MS = 10_000;
/** How many times a new cluster is started from scratch when its meta group forms without a server. */
const MAX_COLD_STARTS = 3;

/** The JetStream meta group formed without some of the bus's servers. */
class IncompleteMetaGroupError extends EventBusError {
  override readonly name = "IncompleteMetaGroupError";
  readonly code = LocalErrorCode.unhealthy;
  constructor(readonly missing: readonly string[]) {
    super(`the JetStream meta group formed without ${missing.join(", ")}`);
  }
}

/**
 * Waits until every server is a peer of the JetStream meta group, as its leader reports it. When
 * servers start at the same moment, a slow one can miss the group's bootstrap: the leader then
 * shrinks the group to the servers it has heard from, and the late one never joins (nats-server
 * 2.10 sizes a cold-started group from the JetStream servers it has seen). That group cannot
 * place a stream on every server, so it is reported, for a new cluster to be started again.
 */
async function ensureMetaMembership(plan: JetStreamPlan, timeoutMs: number): Promise<void> {
  let missing: string[] = [];
  try {
    await poll(
      "every server to be a JetStream meta group peer",
      async () => {
        const meta = await readMetaGroup(plan.servers.map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.ports.monitor}` })));
        if (meta.leader === undefined) return undefined;
        const peers = new Set(meta.peers.map((p) => p.name));
        missing = plan.servers.filter((s) => !peers.has(s.name)).map((s) => s.name);
        return missing.length === 0 ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (error) {
    if (missing.length > 0) throw new IncompleteMetaGroupError(missing);
    throw error;
  }
}

/** Each server's view of the JetStream meta group and the end of its log, for an error's detail. */
async function clusterDiagnostics(paths: BusPaths, plan: JetStreamPlan): Promise<string> {
  const views = await Promise.all(
    plan.servers.map(async (s) => {
      const meta = (await jsz(s.ports.monitor))?.meta_cluster;
      const peers = (meta?.replicas ?? []).map((r) => `${r.name}${r.current ? "" : " (behind)"}${r.offline ? " (offline)" : ""}`).join(", ");
      const seen = meta
        ? `meta leader ${meta.leader || "(none)"}, cluster size ${meta.cluster_size ?? "?"}${peers ? `, peers ${peers}` : ""}`
        : "no /jsz answer";
      return `${s.name} (${seen}):\n${await logTail(paths.serverLog(s.index), 8)}`;
    }),
  );
  return views.join("\n");
}

async function withConnection<T>(connection: LocalConnection, work: (nc: Awaited<ReturnType<typeof connectLocal>>) => Promise<T>): Promise<T> {
  let nc: Awaited<ReturnType<typeof connectLocal>> | undefined;
  try {
    nc = await connectLocal(connection, "eventbus-up");
    return await work(nc);
  } catch (error) {
    if (error instanceof LocalPlatformError) throw error;
    const what = nc === undefined ? `cannot connect to ${connection.urls.join(",")}: ` : "";
    throw new LocalPlatformError(LocalErrorCode.stream, `${what}${(error as Error).message}`, { cause: error });
  } finally {
    await nc?.close();
  }
}

/** Removes stopped servers from the JetStream cluster (`$JS.API.SERVER.REMOVE`, as the system user). */
async function removePeers(connection: LocalConnection, secrets: BusSecrets, names: readonly string[], progress: (line: string) => void): Promise<void> {
  const c = secrets.credentials;
  const nc = await connectLocal({ ...connection, auth: { mode: "basic", user: c.systemUser, password: c.systemPassword } }, "eventbus-scale");
  try {
    for (const name of names) {
      const reply = await poll(
        `JetStream to remove peer ${name}`,
        async () => {
          const msg = await nc.request("$JS.API.SERVER.REMOVE", JSON.stringify({ peer: name }), { timeout: 5000 }).catch(() => undefined);
          const body = msg?.json<{ success?: boolean; error?: { description?: string } }>();
          return body?.success ? body : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      if (reply.success) progress(`  removed peer ${name} from the JetStream cluster`);
    }
  } finally {
    await nc.close();
  }
}

/** One line for a supervisor event. */
export function formatEvent(event: SupervisorEvent): string {
  return `  ${event.server ? `${event.server}: ` : ""}${event.message}`;
}
