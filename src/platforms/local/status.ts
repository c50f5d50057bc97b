import { readdir } from "node:fs/promises";
import { appliedBus } from "./applied.js";
import { liveControl, supervisorStatus } from "./control-client.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import { busPaths, eventbusHome } from "./home.js";
import { readBusStreams, readMetaGroup, type MonitorEndpoint } from "../../observe/jsz.js";
import { readStanBus, type StanChannelSnapshot } from "../../observe/stan.js";
import { varz } from "./monitor.js";
import { orphanPid } from "./orphans.js";
import { readState } from "./state-file.js";
import type { SupervisorEvent, SupervisorStatus, ServerPhase } from "./supervisor.js";

/** One server in `eventbus status`. */
export interface ServerReport {
  readonly name: string;
  /** `unsupervised`: running, but its supervisor exited, so nothing restarts it if it exits. */
  readonly phase: ServerPhase | "down" | "unsupervised";
  readonly pid?: number;
  readonly version: string;
  readonly ports: { readonly client: number; readonly cluster: number; readonly monitor: number };
  readonly restarts: number;
  readonly connections?: number;
}

/** The stream as the servers report it. */
export interface StreamReport {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly consumers: number;
  readonly replicas: number;
  readonly leader?: string;
  readonly current: boolean;
}

/** `eventbus status`: the bus as its state dir, supervisor and servers report it. */
export interface BusReport {
  readonly name: string;
  /** Whether any server of the bus runs (supervised or not). */
  readonly running: boolean;
  /** Whether the bus's supervisor runs. */
  readonly supervised: boolean;
  /** Every server healthy, supervised, and the stream in place. */
  readonly healthy: boolean;
  /** What an operator must see first, from the state dir, the supervisor and the servers. */
  readonly problems: readonly string[];
  readonly generation: number;
  readonly persistent: boolean;
  /** Says what happens to the data on restart. */
  readonly storage: string;
  readonly version?: string;
  readonly replicas: number;
  readonly servers: readonly ServerReport[];
  readonly jetstream?: {
    readonly leader?: string;
    /** The group's size as nats-server reports it (it may lag behind the peers that joined). */
    readonly clusterSize?: number;
    /** The meta group's peers: the leader and its followers, sorted. */
    readonly peers: readonly string[];
    readonly peersCurrent: number;
  };
  readonly streams: readonly StreamReport[];
  /** A NATS Streaming bus: its cluster ID, each serving server's place in the raft cluster, and its channels. */
  readonly stan?: {
    readonly clusterId: string;
    readonly leader?: string;
    /** Each serving server's state and raft role (`/streaming/serverz`), in server order. */
    readonly servers: readonly { readonly name: string; readonly state?: string; readonly role?: string }[];
    /** The channels with their subscriptions, as the raft leader reports them. */
    readonly channels: readonly StanChannelSnapshot[];
  };
  readonly events: readonly SupervisorEvent[];
  readonly stateDir: string;
  /** Where the supervisor serves the bus's Prometheus metrics, while it runs. */
  readonly metricsUrl?: string;
  /** The scheduled backups, as the supervisor runs them. */
  readonly backups?: NonNullable<SupervisorStatus["backups"]>;
}

/** How long each server has to list its streams. */
const STREAMS_TIMEOUT_MILLIS = 2000;

/** Reports one local bus; a stopped bus is reported from its state dir. */
export async function busStatus(name: string, options: { home?: string } = {}): Promise<BusReport> {
  const paths = busPaths(options.home ?? eventbusHome(), name);
  const state = await readState(paths.state);
  if (!state) throw new LocalPlatformError(LocalErrorCode.notFound, `no local bus named ${name} (looked in ${paths.dir})`);
  const applied = await appliedBus(paths).catch(() => undefined);
  const version = applied?.bus.spec.mode === "jetstream" ? applied.bus.spec.version : undefined;
  const control = await liveControl(paths);
  const supervisor = control ? await supervisorStatus(control).catch(() => undefined) : undefined;
  const servers: ServerReport[] = await Promise.all(
    state.servers.map(async (s) => {
      const live = supervisor?.servers.find((x) => x.index === s.index);
      // Without a supervisor, a server it left running still serves: report it as it is.
      const orphan = supervisor ? undefined : await orphanPid(s);
      const pid = live?.pid ?? orphan;
      const info = live || orphan !== undefined ? await varz(s.ports.monitor) : undefined;
      const phase: ServerReport["phase"] = live?.phase ?? (orphan !== undefined ? "unsupervised" : "down");
      return {
        name: s.name,
        phase,
        ...(pid !== undefined && { pid }),
        version: s.serverVersion,
        ports: s.ports,
        restarts: live?.restarts ?? 0,
        ...(info && { connections: info.connections }),
      };
    }),
  );
  const serving = (phase: ServerReport["phase"] | undefined) => phase === "healthy" || phase === "unsupervised";
  const healthyServer = state.servers.find((s) => serving(servers.find((r) => r.name === s.name)?.phase));
  let jetstream: BusReport["jetstream"];
  const streams: StreamReport[] = [];
  let streamsKnown = false;
  let stan: BusReport["stan"];
  let stanProblems: readonly string[] = [];
  if (state.kind === "stan") {
    const monitors = state.servers
      .filter((s) => serving(servers.find((r) => r.name === s.name)?.phase))
      .map((s) => ({ name: s.name, monitorUrl: `http://127.0.0.1:${s.ports.monitor}` }));
    const snapshot = await readStanBus(monitors);
    stan = {
      clusterId: `eventbus-${name}`,
      ...(snapshot.leader !== undefined && { leader: snapshot.leader }),
      servers: snapshot.servers.map((s) => ({ name: s.name, ...(s.state !== undefined && { state: s.state }), ...(s.role !== undefined && { role: s.role }) })),
      channels: snapshot.channels,
    };
    // The servers that are not serving are said above; the snapshot adds the cluster's own problems.
    if (monitors.length > 0) stanProblems = snapshot.problems;
  } else if (healthyServer) {
    const servingMonitors = state.servers
      .filter((s) => serving(servers.find((r) => r.name === s.name)?.phase))
      .map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.ports.monitor}` }));
    const meta = await readMetaGroup(servingMonitors);
    jetstream = {
      ...(meta.leader !== undefined && { leader: meta.leader }),
      ...(meta.clusterSize !== undefined && { clusterSize: meta.clusterSize }),
      peers: meta.peers.map((p) => p.name),
      peersCurrent: meta.peers.filter((p) => p.current).length,
    };
    const found = await accountStreams(servingMonitors);
    streamsKnown = found !== undefined;
    streams.push(...(found ?? []));
  }
  const supervised = supervisor !== undefined;
  const running = supervised || servers.some((s) => s.phase === "unsupervised");
  const problems: string[] = [];
  if (running && !supervised) {
    const unsupervised = servers.filter((s) => s.phase === "unsupervised").map((s) => s.name);
    problems.push(
      `the supervisor is not running: ${unsupervised.join(", ")} serve${unsupervised.length === 1 ? "s" : ""} unsupervised (a server that exits is not restarted)${unsupervised.length < servers.length ? `, and ${servers.length - unsupervised.length} server(s) are down` : ""}; \`eventbus up ${name}\` adopts them on their ports`,
    );
  }
  if (supervised) {
    for (const s of servers) if (s.phase !== "healthy") problems.push(`server ${s.name} is ${s.phase}`);
  }
  problems.push(...stanProblems);
  if (healthyServer && state.kind !== "stan" && !streamsKnown)
    problems.push("no server answered for its streams in time (their /jsz): the streams are not shown");
  if (state.kind !== "stan" && streamsKnown && !streams.some((s) => s.name === "default")) {
    problems.push(`the bus has no stream default: events cannot be stored; \`eventbus up ${name}\` creates it`);
  }
  for (const s of streams) if (s.replicas > 1 && s.leader === undefined) problems.push(`stream ${s.name} has no leader`);
  const lastBackup = supervisor?.backups?.lastRun;
  if (lastBackup?.ok === false)
    problems.push(`the last scheduled backup (${lastBackup.at}) failed: ${lastBackup.error ?? "unknown"}; \`eventbus backups ${name}\` lists the backups kept`);
  return {
    name,
    running,
    supervised,
    healthy: running && problems.length === 0,
    problems,
    generation: state.generation,
    persistent: state.persistent,
    storage: state.persistent
      ? `persistent: the store is kept in ${paths.serversDir}/<n>/data across restarts`
      : "ephemeral: no persistence is set, so the store is wiped whenever a server restarts",
    ...(version !== undefined && { version }),
    replicas: state.servers.length,
    servers,
    ...(jetstream && { jetstream }),
    streams,
    ...(stan && { stan }),
    events: supervisor?.events.slice(-20) ?? [],
    stateDir: paths.dir,
    ...(supervised && control?.metricsPort !== undefined && { metricsUrl: `http://127.0.0.1:${control.metricsPort}/metrics` }),
    ...(supervisor?.backups && { backups: supervisor.backups }),
  };
}

/** Every stream of the bus's accounts as its leader reports it (observe's reader), sorted by name; undefined when no server answered. */
async function accountStreams(monitors: readonly MonitorEndpoint[]): Promise<StreamReport[] | undefined> {
  const streams = await readBusStreams(monitors, STREAMS_TIMEOUT_MILLIS);
  return streams
    ?.map((stream) => ({
      name: stream.name,
      messages: stream.state.messages,
      bytes: stream.state.bytes,
      firstSeq: stream.state.first_seq,
      lastSeq: stream.state.last_seq,
      consumers: stream.state.consumer_count,
      replicas: stream.config?.num_replicas ?? 1,
      ...(stream.cluster?.leader !== undefined && { leader: stream.cluster.leader }),
      current: (stream.cluster?.replicas ?? []).every((r) => r.current),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The names of every local bus under the home dir, sorted. */
export async function listBuses(options: { home?: string } = {}): Promise<string[]> {
  const dir = `${options.home ?? eventbusHome()}/buses`;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}
