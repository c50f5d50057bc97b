/**
 * A snapshot of a bus: each server's health and resources (from its monitoring endpoint), the
 * JetStream meta group, the stream `default` and its consumers (through the JetStream API), and the
 * problems an operator should see first. Every call has a deadline, so a server that is down is
 * reported as unreachable instead of hanging the snapshot.
 */
import type { ConsumerInfo } from "@nats-io/jetstream";

import { Duration } from "../api/index.js";
import { durableName, type DurableNameParts, type EventBusClient, type StreamSummary } from "../client/index.js";
import { getJson, readHealthz } from "./http.js";
import { readMetaGroup, type Jsz, type MetaGroup, type MonitorEndpoint } from "./jsz.js";

export type { MonitorEndpoint } from "./jsz.js";
import { retentionOutlook, type ConsumerRetention, type RetentionOutlook, type RetentionSample } from "./retention.js";

/** One server as its monitoring endpoint reports it. */
export interface ServerSnapshot {
  readonly name: string;
  readonly reachable: boolean;
  /** `/healthz` answered 200 (clients accepted, JetStream assets current). */
  readonly healthy: boolean;
  readonly version?: string;
  readonly uptime?: string;
  /** CPU use in percent of one core. */
  readonly cpu?: number;
  /** Resident memory in bytes. */
  readonly memoryBytes?: number;
  readonly connections?: number;
  readonly routes?: number;
  readonly slowConsumers?: number;
  /** Messages received since the server started. */
  readonly inMsgs?: number;
  /** Messages sent since the server started. */
  readonly outMsgs?: number;
  /** Bytes received since the server started. */
  readonly inBytes?: number;
  /** Bytes sent since the server started. */
  readonly outBytes?: number;
  readonly jetstream?: {
    readonly memoryBytes: number;
    readonly maxMemoryBytes: number;
    readonly storeBytes: number;
    readonly maxStoreBytes: number;
  };
}

/** A consumer of the stream, with its owner when it is an Argo sensor's and the caller named it. */
export interface ConsumerSnapshot {
  readonly name: string;
  readonly filterSubject?: string;
  /** Events not yet delivered. */
  readonly pending: number;
  /** Events delivered and not acknowledged. */
  readonly ackPending: number;
  readonly redelivered: number;
  /** Stream sequence of the last event delivered to the consumer (0: none yet). */
  readonly deliveredStreamSeq: number;
  /** Stream sequence below which every event was acknowledged. */
  readonly ackFloorStreamSeq: number;
  /** Deliveries below which every one was acknowledged: its count of acked events, for its read rate. */
  readonly ackFloorConsumerSeq: number;
  /** When the consumer last delivered an event, if it did. */
  readonly lastActive?: string;
  readonly dependency?: DurableNameParts;
}

/** The whole picture of a bus at one moment. */
export interface BusSnapshot {
  readonly takenAt: string;
  readonly servers: readonly ServerSnapshot[];
  readonly jetstream: {
    readonly metaLeader?: string;
    /** Each peer, with the meta log entries it is behind the leader by. */
    readonly peers: readonly { readonly name: string; readonly current: boolean; readonly offline: boolean; readonly lag: number }[];
  };
  /** The stream, or why it could not be read. */
  readonly stream: StreamSummary | { readonly error: string };
  readonly consumers: readonly ConsumerSnapshot[];
  /** The stream's retention: the binding limit, its oldest event, when events are discarded, consumers at risk (absent without the stream). */
  readonly retention?: RetentionOutlook;
  /** Why the servers and meta group could not be read (no system account access), when they could not. */
  readonly serversUnavailable?: string;
  /** What needs attention, most serious first; empty when all is well. */
  readonly problems: readonly string[];
}

/** Options of {@link snapshotBus}. */
export interface SnapshotOptions {
  /** The servers' monitoring endpoints (a local bus knows them; an external one may not). */
  readonly monitors?: readonly MonitorEndpoint[];
  /** Sensor dependencies whose Argo durable consumers should be named in the snapshot. */
  readonly dependencies?: readonly DurableNameParts[];
  /** The deadline of each monitoring request. @default 1500 (ms) */
  readonly timeoutMillis?: number;
  /**
   * The deadline of the stream's and the consumers' readings through the JetStream API, which
   * does not answer while the bus elects a meta or stream leader (seconds after a leader is
   * killed): the servers are shown meanwhile, and the stream says why it is missing. @default 3000 (ms)
   */
  readonly jetstreamTimeoutMillis?: number;
  /**
   * Reads the servers and the meta group some other way than from `monitors` (the system account's
   * `$SYS` requests); when it throws, the snapshot has no servers and its message is a problem.
   */
  readonly servers?: (timeoutMillis: number) => Promise<Pick<BusSnapshot, "servers" | "jetstream">>;
  /** Earlier snapshots of the bus, oldest first (`status --watch` keeps them): a consumer whose pending grew through them is a problem. */
  readonly previous?: readonly BusSnapshot[];
  /** Why there is no client, for the stream's error when `snapshotBus` is called without one. */
  readonly noClientError?: string;
  /**
   * The earlier reading the publish and read rates are measured from. Default: the last of
   * `previous`, else the last snapshot taken through the same client at least
   * {@link RATE_MIN_WINDOW_MILLIS} before (a supervisor's scrapes measure the rates between them).
   */
  readonly rateBase?: RetentionSample;
}

/** How long a snapshot waits for the JetStream API by default. */
export const DEFAULT_JETSTREAM_TIMEOUT_MILLIS = 3000;

/** `promise`, or a rejection with `message` once `millis` have passed (the promise is left to settle on its own). */
function withDeadline<T>(promise: Promise<T>, millis: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), millis);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Rates are measured over at least this long when the base is the client's last snapshot. */
export const RATE_MIN_WINDOW_MILLIS = 1000;

/** The last reading taken through each client, for the rates of its next snapshot. */
const lastReading = new WeakMap<EventBusClient, RetentionSample>();

/** How many snapshots in a row a consumer's pending must rise through to be reported as growing. */
export const PENDING_GROWTH_SNAPSHOTS = 3;

/** Storage use above this share of its limit is a problem. */
export const STORAGE_WARNING_SHARE = 0.8;

/**
 * Takes a snapshot of the bus `client` is connected to.
 * @param client - the connection to the bus; without one (it could not connect), the stream is
 *   reported with `noClientError` and there are no consumers
 * @returns always a snapshot: parts that cannot be read are marked so, never thrown
 */
export async function snapshotBus(client: EventBusClient | undefined, options: SnapshotOptions = {}): Promise<BusSnapshot> {
  const timeout = options.timeoutMillis ?? 1500;
  const monitors = options.monitors ?? [];
  let serversError: string | undefined;
  const fromSystem = options.servers?.(timeout).catch((err: unknown) => {
    serversError = err instanceof Error ? err.message : String(err);
    return { servers: [], jetstream: { peers: [] } };
  });
  const jsTimeout = options.jetstreamTimeoutMillis ?? DEFAULT_JETSTREAM_TIMEOUT_MILLIS;
  const unanswered = `the JetStream API did not answer within ${jsTimeout / 1000} s (is a meta or stream leader being elected?)`;
  const [servers, stream, consumers] = await Promise.all([
    fromSystem ? fromSystem.then((r) => r.servers) : Promise.all(monitors.map((m) => serverSnapshot(m, timeout))),
    client
      ? withDeadline(client.streamInfo(), jsTimeout, unanswered).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }))
      : { error: options.noClientError ?? "not connected to the bus" },
    client ? withDeadline(consumerSnapshots(client, options.dependencies ?? []), jsTimeout, unanswered).catch(() => []) : [],
  ]);
  const jetstream = fromSystem ? (await fromSystem).jetstream : await metaGroup(monitors, servers, timeout);
  const reading: RetentionSample = { takenAt: new Date().toISOString(), stream, consumers };
  const retention = retentionOutlook(reading, servers, options.rateBase ?? options.previous?.at(-1) ?? (client && lastReading.get(client)));
  if (client && !("error" in stream)) {
    const kept = lastReading.get(client);
    if (!kept || Date.parse(reading.takenAt) - Date.parse(kept.takenAt) >= RATE_MIN_WINDOW_MILLIS) lastReading.set(client, reading);
  }
  return {
    takenAt: reading.takenAt,
    servers,
    jetstream,
    stream,
    consumers,
    ...(retention && { retention }),
    problems: [
      ...problemsOf(servers, jetstream, stream),
      ...growingPending(consumers, options.previous ?? []),
      ...(retention?.consumers ?? []).flatMap(discardProblem),
    ],
    ...(serversError !== undefined && { serversUnavailable: serversError }),
  };
}

/**
 * A reading of the stream and its consumers alone, for the rates of a snapshot taken a little later
 * (a single `eventbus status` has no earlier snapshot to measure them from).
 */
export async function retentionSample(client: EventBusClient): Promise<RetentionSample> {
  const unanswered = `the JetStream API did not answer within ${DEFAULT_JETSTREAM_TIMEOUT_MILLIS / 1000} s`;
  const [stream, consumers] = await Promise.all([
    withDeadline(client.streamInfo(), DEFAULT_JETSTREAM_TIMEOUT_MILLIS, unanswered).catch((err: unknown) => ({
      error: err instanceof Error ? err.message : String(err),
    })),
    withDeadline(consumerSnapshots(client, []), DEFAULT_JETSTREAM_TIMEOUT_MILLIS, unanswered).catch(() => []),
  ]);
  return { takenAt: new Date().toISOString(), stream, consumers };
}

/** A consumer that will have events discarded before it reads them, said as a problem. */
function discardProblem(c: ConsumerRetention): string[] {
  if (!c.atRisk || c.discardInSeconds == null || c.discardedBy === undefined) return [];
  const when = c.discardInSeconds < 1 ? "now" : `in ${formatSeconds(c.discardInSeconds)}`;
  const oldest =
    c.oldestUnreadSeq === undefined ? "" : `; its oldest unread event (seq ${c.oldestUnreadSeq}) is ${formatSeconds(c.oldestUnreadAgeSeconds ?? 0)} old`;
  return [
    `consumer ${c.name}: ${c.discardedBy} discards events it has not read ${when} (it acks ${c.readRate ?? 0} events/s, ${c.waiting} waiting${oldest}); speed up or scale its subscriber, or raise ${c.discardedBy}`,
  ];
}

/** Seconds as a short duration: `45s`, `12m5s`, `3h`. */
export function formatSeconds(seconds: number): string {
  return Duration.fromMillis(Math.round(seconds) * 1000).format();
}

async function serverSnapshot(monitor: MonitorEndpoint, timeout: number): Promise<ServerSnapshot> {
  const [healthz, varz, jsz] = await Promise.all([
    readHealthz(monitor.url, timeout).then((h) => h?.ok),
    getJson<Varz>(`${monitor.url}/varz`, timeout),
    getJson<Jsz>(`${monitor.url}/jsz`, timeout),
  ]);
  if (healthz === undefined && varz === undefined) return { name: monitor.name, reachable: false, healthy: false };
  return serverFromMonitoring(monitor.name, healthz === true, varz, jsz);
}

/** A reachable server from its monitoring answers (over HTTP or through the system account). */
export function serverFromMonitoring(name: string, healthy: boolean, varz: Varz | undefined, jsz: Jsz | undefined): ServerSnapshot {
  return {
    name,
    reachable: true,
    healthy,
    ...(varz && {
      version: varz.version,
      uptime: varz.uptime,
      cpu: varz.cpu,
      memoryBytes: varz.mem,
      connections: varz.connections,
      routes: varz.routes,
      slowConsumers: varz.slow_consumers,
      inMsgs: varz.in_msgs,
      outMsgs: varz.out_msgs,
      inBytes: varz.in_bytes,
      outBytes: varz.out_bytes,
    }),
    ...(jsz?.config && {
      jetstream: {
        memoryBytes: jsz.memory ?? 0,
        maxMemoryBytes: jsz.config.max_memory ?? 0,
        storeBytes: jsz.storage ?? 0,
        maxStoreBytes: jsz.config.max_storage ?? 0,
      },
    }),
  };
}

async function metaGroup(monitors: readonly MonitorEndpoint[], servers: readonly ServerSnapshot[], timeout: number): Promise<BusSnapshot["jetstream"]> {
  return snapshotMeta(
    await readMetaGroup(
      monitors.filter((_, i) => servers[i]?.reachable),
      timeout,
    ),
  );
}

/** The meta group in a snapshot's words. */
export function snapshotMeta(group: MetaGroup): BusSnapshot["jetstream"] {
  return { ...(group.leader !== undefined && { metaLeader: group.leader }), peers: group.peers };
}

async function consumerSnapshots(client: EventBusClient, dependencies: readonly DurableNameParts[]): Promise<ConsumerSnapshot[]> {
  const owners = new Map(dependencies.map((d) => [durableName(d), d]));
  const infos: ConsumerInfo[] = [];
  try {
    const jsm = await client.manager();
    for await (const info of jsm.consumers.list("default")) infos.push(info);
  } catch {
    // No JetStream answer (no stream, no leader): the stream's own entry says why.
    return [];
  }
  return infos
    .map((info): ConsumerSnapshot => {
      const owner = owners.get(info.name);
      // The server sends an RFC 3339 time (nats.js types it as a number).
      const raw: unknown = info.delivered.last_active;
      const lastActive = typeof raw === "string" ? raw : undefined;
      return {
        name: info.name,
        ...(info.config.filter_subject && { filterSubject: info.config.filter_subject }),
        pending: info.num_pending,
        ackPending: info.num_ack_pending,
        redelivered: info.num_redelivered,
        deliveredStreamSeq: info.delivered.stream_seq,
        ackFloorStreamSeq: info.ack_floor.stream_seq,
        ackFloorConsumerSeq: info.ack_floor.consumer_seq,
        ...(lastActive && !lastActive.startsWith("0001-") && { lastActive }),
        ...(owner && { dependency: owner }),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Consumers whose pending rose in each of the last {@link PENDING_GROWTH_SNAPSHOTS} snapshots: their sensors fall behind. */
function growingPending(consumers: readonly ConsumerSnapshot[], previous: readonly BusSnapshot[]): string[] {
  const recent = previous.slice(-(PENDING_GROWTH_SNAPSHOTS - 1));
  if (recent.length < PENDING_GROWTH_SNAPSHOTS - 1) return [];
  return consumers.flatMap((c) => {
    const series = [...recent.map((s) => s.consumers.find((x) => x.name === c.name)?.pending), c.pending];
    const rising = series.every((v, i) => v !== undefined && (i === 0 || v > series[i - 1]!));
    return rising ? [`consumer ${c.name}: pending grows (${series.join(" → ")}); its subscriber is not keeping up`] : [];
  });
}

function problemsOf(servers: readonly ServerSnapshot[], jetstream: BusSnapshot["jetstream"], stream: BusSnapshot["stream"]): string[] {
  const problems: string[] = [];
  for (const s of servers) {
    if (!s.reachable) problems.push(`server ${s.name} is down (its monitoring endpoint does not answer)`);
    else if (!s.healthy) problems.push(`server ${s.name} is not healthy (/healthz)`);
  }
  if (servers.length > 1 && jetstream.metaLeader === undefined) problems.push("JetStream has no meta leader");
  for (const p of jetstream.peers)
    if (!p.current || p.offline) problems.push(`JetStream peer ${p.name} is ${p.offline ? "offline" : `not current (behind by ${p.lag})`}`);
  if ("error" in stream) problems.push(`stream default: ${stream.error}`);
  else {
    const full = servers.filter((s) => s.jetstream && storeFull(s.jetstream)).map((s) => s.name);
    if (stream.cluster && stream.config.replicas > 1 && stream.cluster.leader === undefined) {
      problems.push(
        `stream default has no leader${full.length > 0 ? ` (the JetStream store of ${full.join(", ")} is full: a server over its limit does not stand for election)` : ""}`,
      );
    }
    const limit = streamLimit(stream);
    if (limit)
      problems.push(
        `stream default is at its ${limit} and discards new events (discard: new): every publish is refused until events age out or are consumed; raise the limit, or use discard: old`,
      );
    for (const r of stream.cluster?.replicas ?? []) {
      if (r.offline) problems.push(`stream default: replica ${r.name} is offline`);
      else if (!r.current) problems.push(`stream default: replica ${r.name} is behind by ${r.lagMessages} messages`);
    }
  }
  for (const s of servers) {
    const js = s.jetstream;
    if (js && storeFull(js)) {
      problems.push(
        `server ${s.name}: its JetStream file store is full (${js.storeBytes} of ${js.maxStoreBytes} bytes): it refuses every write and its streams cannot elect a leader; raise max_file_store (spec.jetstream.settings) with eventbus up, and give the stream a maxBytes below it`,
      );
    } else if (js && js.maxStoreBytes > 0 && js.storeBytes > STORAGE_WARNING_SHARE * js.maxStoreBytes) {
      problems.push(`server ${s.name}: file storage at ${Math.round((100 * js.storeBytes) / js.maxStoreBytes)}% of its limit`);
    }
    if (js && js.maxMemoryBytes > 0 && js.memoryBytes > STORAGE_WARNING_SHARE * js.maxMemoryBytes) {
      problems.push(`server ${s.name}: memory storage at ${Math.round((100 * js.memoryBytes) / js.maxMemoryBytes)}% of its limit`);
    }
  }
  return problems;
}

/**
 * Whether a server's JetStream file store is over its limit (`max_file_store`). nats-server then
 * refuses writes with "insufficient resources" (err_code 10023) and its Raft nodes do not stand
 * for election (server/jetstream.go `limitsExceeded`, server/raft.go `outOfResources`, 2.10).
 */
export function storeFull(js: NonNullable<ServerSnapshot["jetstream"]>): boolean {
  return js.maxStoreBytes > 0 && js.storeBytes >= js.maxStoreBytes;
}

/** A stream keeps this share of a limit free at most and still counts as at the limit: the next event would not fit. */
const AT_LIMIT_SHARE = 0.99;

/**
 * The limit a `discard: new` stream is at (`maxBytes 1048576`, `maxMsgs 1000`), where JetStream
 * refuses every new event; undefined when it accepts them (a `discard: old` stream drops its oldest).
 */
export function streamLimit(stream: StreamSummary): string | undefined {
  if (stream.config.discard !== "new") return undefined;
  const { maxBytes, maxMsgs } = stream.config;
  if (maxBytes > 0 && stream.state.bytes >= AT_LIMIT_SHARE * maxBytes) return `maxBytes (${stream.state.bytes} of ${maxBytes} bytes)`;
  if (maxMsgs > 0 && stream.state.messages >= maxMsgs) return `maxMsgs (${stream.state.messages} events)`;
  return undefined;
}

/** The fields of a server's `/varz` a snapshot reads. */
export interface Varz {
  readonly version: string;
  readonly uptime: string;
  readonly cpu: number;
  readonly mem: number;
  readonly connections: number;
  readonly routes: number;
  readonly slow_consumers: number;
  readonly in_msgs: number;
  readonly out_msgs: number;
  readonly in_bytes: number;
  readonly out_bytes: number;
}
