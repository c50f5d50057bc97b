/**
 * What `eventbus status` prints, whatever the bus: one model ({@link StatusView}) built from what
 * each kind of bus can tell — a local bus's report (its supervisor and state dir) with a snapshot
 * while it runs, any other bus's snapshot (its monitoring endpoints or system account, and the
 * JetStream API), an EventBus's status in Kubernetes — and one formatter. A column or section is
 * printed when some row or source has it, so each kind of bus shows all it knows and no empty
 * columns for what it cannot know.
 */
import type { Condition } from "../api/index.js";
import type { StreamSummary } from "../client/index.js";
import { formatSeconds, type BusSnapshot, type ServerSnapshot, type ConsumerSnapshot, type LimitOutlook, type RetentionOutlook } from "../observe/index.js";
import type { StanBusSnapshot, StanChannelSnapshot, StanSubscriptionSnapshot } from "../observe/stan.js";
import { table } from "./table.js";

/** One server as the view shows it; what the source does not know is absent. */
export interface ServerRow {
  readonly name: string;
  /** A supervisor's phase, or healthy / unhealthy / down from the monitoring endpoint. */
  readonly state: string;
  readonly pid?: number;
  readonly version?: string;
  readonly uptime?: string;
  /** Percent of one core. */
  readonly cpu?: number;
  readonly memoryBytes?: number;
  readonly ports?: { readonly client: number; readonly cluster: number; readonly monitor: number };
  readonly restarts?: number;
  readonly connections?: number;
  readonly routes?: number;
  readonly jetstreamStore?: { readonly used: number; readonly max: number };
}

/** One stream as the view shows it. */
export interface StreamRow {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly subjects?: number;
  readonly consumers: number;
  /** The replica count, or each replica with its state. */
  readonly replicas: string;
  readonly leader?: string;
  readonly current?: boolean;
}

/** The status of one bus, as printed. */
export interface StatusView {
  /** The first line: the bus and its state in a word, and what else identifies it. */
  readonly headline: string;
  /** What needs attention first, one line each. */
  readonly problems: readonly string[];
  /** `label: text` lines about the bus as a whole (storage, metrics, backups, why servers are not shown). */
  readonly notes: readonly { readonly label: string; readonly text: string }[];
  readonly servers: readonly ServerRow[];
  /** The JetStream meta group: its leader, its peers, and how many of them are current. */
  readonly jetstream?: { readonly metaLeader?: string; readonly peers: readonly string[]; readonly current: number };
  readonly streams: readonly StreamRow[];
  /** A NATS Streaming bus's channels, and their subscriptions with the channel's name. */
  readonly stanChannels?: readonly StanChannelSnapshot[];
  /** Why the stream could not be read, when it could not. */
  readonly streamError?: string;
  readonly retention?: RetentionOutlook;
  readonly consumers: readonly ConsumerSnapshot[];
  /** Kubernetes conditions, for an EventBus read from the API server. */
  readonly conditions?: readonly Condition[];
  /** Argo's `status.config`, for an EventBus read from the API server. */
  readonly config?: unknown;
}

/** A stream's leader and each replica with its state: `a (leader), b (current), c (behind 12)`. */
export function replicasText(cluster: NonNullable<StreamSummary["cluster"]>): string {
  return [
    `${cluster.leader ?? "(no leader)"} (leader)`,
    ...cluster.replicas.map((r) => `${r.name} (${r.offline ? "offline" : r.current ? "current" : `behind ${r.lagMessages}`})`),
  ].join(", ");
}

/** A server as its monitoring endpoint reported it: healthy, unhealthy or down, and its resources. */
export function serverRow(v: ServerSnapshot): ServerRow {
  return {
    name: v.name,
    state: v.reachable ? (v.healthy ? "healthy" : "unhealthy") : "down",
    ...(v.version !== undefined && { version: v.version }),
    ...(v.uptime !== undefined && { uptime: v.uptime }),
    ...(v.cpu !== undefined && { cpu: v.cpu }),
    ...(v.memoryBytes !== undefined && { memoryBytes: v.memoryBytes }),
    ...(v.connections !== undefined && { connections: v.connections }),
    ...(v.routes !== undefined && { routes: v.routes }),
    ...(v.jetstream && { jetstreamStore: { used: v.jetstream.storeBytes, max: v.jetstream.maxStoreBytes } }),
  };
}

/** The meta group in a line's facts: its leader, its peers, how many are current. */
export function metaSummary(jetstream: BusSnapshot["jetstream"]): NonNullable<StatusView["jetstream"]> {
  return {
    ...(jetstream.metaLeader !== undefined && { metaLeader: jetstream.metaLeader }),
    peers: jetstream.peers.map((p) => p.name),
    current: jetstream.peers.filter((p) => p.current && !p.offline).length,
  };
}

/** Any bus from its snapshot; `serversNote` says why its servers are not shown, when they are not. */
export function snapshotView(label: string, s: BusSnapshot, serversNote: string | undefined): StatusView {
  const stream = "error" in s.stream ? undefined : s.stream;
  return {
    headline: `bus ${label}: ${s.problems.length === 0 ? "healthy" : "degraded"}`,
    problems: s.problems,
    notes: serversNote === undefined ? [] : [{ label: "servers", text: serversNote }],
    servers: serversNote !== undefined ? [] : s.servers.map(serverRow),
    ...(serversNote === undefined && s.jetstream.peers.length > 0 && { jetstream: metaSummary(s.jetstream) }),
    streams: stream
      ? [
          {
            name: stream.name,
            messages: stream.state.messages,
            bytes: stream.state.bytes,
            firstSeq: stream.state.firstSeq,
            lastSeq: stream.state.lastSeq,
            subjects: stream.state.subjects,
            consumers: stream.state.consumers,
            replicas: stream.cluster ? replicasText(stream.cluster) : "",
          },
        ]
      : [],
    ...("error" in s.stream && { streamError: `stream default: ${s.stream.error}` }),
    ...(s.retention && { retention: s.retention }),
    consumers: s.consumers,
  };
}

/**
 * A NATS Streaming bus from its servers' monitoring endpoints: each server with its raft role, the
 * leader, and the channels with their subscriptions as the leader has them. `clusterId` is the ID
 * the caller connects with: servers of another cluster are a problem.
 */
export function stanView(label: string, s: StanBusSnapshot, clusterId: string | undefined): StatusView {
  const wrongCluster =
    clusterId !== undefined && s.clusterId !== undefined && s.clusterId !== clusterId
      ? [`the servers are NATS Streaming cluster ${s.clusterId}, not ${clusterId}: clients connecting with ${clusterId} are refused`]
      : [];
  const problems = [...wrongCluster, ...s.problems];
  return {
    headline: `bus ${label}: ${problems.length === 0 ? "healthy" : "degraded"}, NATS Streaming${s.clusterId !== undefined ? ` cluster ${s.clusterId}` : ""}`,
    problems,
    notes: [
      {
        label: "nats streaming",
        text: `${s.clustered ? `raft leader ${s.leader ?? "(none)"}` : `serving ${s.leader ?? "(none)"}`} (${s.servers
          .map((v) => `${v.name} ${v.role ?? v.state ?? "no answer"}`)
          .join(
            ", ",
          )})${s.channelsSource ? `; channels read from ${s.channelsSource.server}${s.channelsSource.leader ? "" : " (not the leader: up to a second behind)"}` : ""}`,
      },
    ],
    servers: s.servers.map((v) => ({
      name: v.name,
      state: !v.reachable ? "down" : v.healthy ? "healthy" : "unhealthy",
      ...(v.version !== undefined && { version: v.version }),
      ...(v.uptime !== undefined && { uptime: v.uptime }),
      ...(v.clients !== undefined && { connections: v.clients }),
    })),
    streams: [],
    ...(s.channelsError !== undefined && { streamError: `channels: ${s.channelsError}` }),
    stanChannels: s.channels,
    consumers: [],
  };
}

/** An EventBus read from the API server: its conditions, phase, degraded message and config, and what its pods' servers said when they were read. */
export function kubeView(
  namespace: string,
  name: string,
  status: { phase?: string; message?: string; conditions?: readonly Condition[]; config?: unknown } | undefined,
  pods: Pick<StatusView, "servers" | "jetstream" | "notes"> & { readonly problems: readonly string[] } = { servers: [], notes: [], problems: [] },
): StatusView {
  const conditions = status?.conditions ?? [];
  const problems = [
    ...(conditions.length === 0 ? ["no conditions yet: the controller has not reconciled the bus"] : []),
    ...conditions
      .filter((c) => c.status !== "True")
      .map((c) => `condition ${c.type} is ${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`),
    // A degraded bus keeps every condition True (Argo Events deploys on it); why is in status.message.
    ...(status?.message ? [`degraded: ${status.message}`] : []),
    ...pods.problems,
  ];
  return {
    headline: `eventbus ${namespace}/${name}: ${problems.length === 0 ? "ready" : "not ready"}${status?.phase ? `, phase ${status.phase}` : ""}`,
    problems,
    notes: pods.notes,
    servers: pods.servers,
    ...(pods.jetstream && { jetstream: pods.jetstream }),
    streams: [],
    consumers: [],
    conditions,
    ...(status?.config !== undefined && { config: status.config }),
  };
}

/** A column of a table: its header, and its cell of a row when the row has one. */
type Column<R> = readonly [header: string, cell: (row: R) => string | undefined];

/** A table of the columns some row has a cell for. */
function sparseTable<R>(rows: readonly R[], columns: readonly Column<R>[]): string {
  const shown = columns.filter(([, cell], i) => i === 0 || rows.some((r) => cell(r) !== undefined));
  return table(
    shown.map(([header]) => header),
    rows.map((r) => shown.map(([, cell]) => cell(r) ?? "")),
  ).trimEnd();
}

const text = (value: number | string | undefined) => (value === undefined ? undefined : String(value));

const SERVER_COLUMNS: readonly Column<ServerRow>[] = [
  ["SERVER", (s) => s.name],
  ["STATE", (s) => s.state],
  ["PID", (s) => text(s.pid)],
  ["VERSION", (s) => s.version],
  ["UPTIME", (s) => s.uptime],
  ["CPU", (s) => (s.cpu === undefined ? undefined : `${s.cpu}%`)],
  ["MEMORY", (s) => text(s.memoryBytes)],
  ["CLIENT", (s) => text(s.ports?.client)],
  ["CLUSTER", (s) => text(s.ports?.cluster)],
  ["MONITOR", (s) => text(s.ports?.monitor)],
  ["RESTARTS", (s) => text(s.restarts)],
  ["CONNECTIONS", (s) => text(s.connections)],
  ["ROUTES", (s) => text(s.routes)],
  ["JS STORAGE", (s) => (s.jetstreamStore ? `${s.jetstreamStore.used}/${s.jetstreamStore.max}` : undefined)],
];

const CHANNEL_COLUMNS: readonly Column<StanChannelSnapshot>[] = [
  ["CHANNEL", (c) => c.name],
  ["MESSAGES", (c) => String(c.msgs)],
  ["BYTES", (c) => String(c.bytes)],
  ["FIRST", (c) => String(c.firstSeq)],
  ["LAST", (c) => String(c.lastSeq)],
  ["SUBSCRIPTIONS", (c) => String(c.subscriptions.length)],
];

const SUBSCRIPTION_COLUMNS: readonly Column<StanSubscriptionSnapshot & { readonly channel: string }>[] = [
  ["CHANNEL", (s) => s.channel],
  ["CLIENT", (s) => s.clientId],
  ["QUEUE GROUP", (s) => s.queueGroup],
  ["DURABLE", (s) => s.durableName],
  ["STATE", (s) => (s.offline ? "offline" : s.stalled ? "stalled" : "active")],
  ["LAST SENT", (s) => String(s.lastSent)],
  ["PENDING", (s) => `${s.pending}/${s.maxInFlight}`],
  ["BACKLOG", (s) => String(s.backlog)],
  ["ACK WAIT", (s) => `${s.ackWaitSeconds}s`],
];

const STREAM_COLUMNS: readonly Column<StreamRow>[] = [
  ["STREAM", (s) => s.name],
  ["MESSAGES", (s) => String(s.messages)],
  ["BYTES", (s) => String(s.bytes)],
  ["FIRST", (s) => String(s.firstSeq)],
  ["LAST", (s) => String(s.lastSeq)],
  ["SUBJECTS", (s) => text(s.subjects)],
  ["CONSUMERS", (s) => String(s.consumers)],
  ["REPLICAS", (s) => s.replicas],
  ["LEADER", (s) => s.leader],
  ["CURRENT", (s) => (s.current === undefined ? undefined : s.current ? "yes" : "no")],
];

const CONSUMER_COLUMNS: readonly Column<ConsumerSnapshot>[] = [
  ["CONSUMER", (c) => c.name],
  ["SUBJECT", (c) => c.filterSubject ?? ""],
  ["PENDING", (c) => String(c.pending)],
  ["ACK PENDING", (c) => String(c.ackPending)],
  ["REDELIVERED", (c) => String(c.redelivered)],
  ["LAST ACTIVE", (c) => c.lastActive ?? ""],
  ["DEPENDENCY", (c) => (c.dependency ? `${c.dependency.sensor}/${c.dependency.trigger}/${c.dependency.dependency}` : "")],
];

const CONDITION_COLUMNS: readonly Column<Condition>[] = [
  ["CONDITION", (c) => c.type],
  ["STATUS", (c) => c.status],
  ["REASON", (c) => c.reason ?? ""],
  ["MESSAGE", (c) => c.message ?? ""],
  ["SINCE", (c) => c.lastTransitionTime ?? ""],
];

/** The view as text: the headline, problems, notes, then each section the view has. */
export function formatStatus(v: StatusView): string {
  const lines = [v.headline, ...v.problems.map((p) => `PROBLEM: ${p}`), ...v.notes.map((n) => `${n.label}: ${n.text}`)];
  const section = (text: string) => lines.push("", text);
  if (v.servers.length > 0) section(sparseTable(v.servers, SERVER_COLUMNS));
  if (v.jetstream) {
    section(
      `jetstream: meta leader ${v.jetstream.metaLeader ?? "(none)"}, ${v.jetstream.current}/${v.jetstream.peers.length} peers current (${v.jetstream.peers.join(", ")})`,
    );
  }
  if (v.streamError !== undefined) section(v.streamError);
  if (v.streams.length > 0) section(sparseTable(v.streams, STREAM_COLUMNS));
  if (v.stanChannels && v.stanChannels.length > 0) {
    section(sparseTable(v.stanChannels, CHANNEL_COLUMNS));
    const subscriptions = v.stanChannels.flatMap((c) => c.subscriptions.map((s) => ({ ...s, channel: c.name })));
    if (subscriptions.length > 0) section(sparseTable(subscriptions, SUBSCRIPTION_COLUMNS));
  }
  if (v.retention) lines.push(retentionLine(v.retention));
  if (v.consumers.length > 0) section(sparseTable(v.consumers, CONSUMER_COLUMNS));
  if (v.conditions && v.conditions.length > 0) section(sparseTable(v.conditions, CONDITION_COLUMNS));
  if (v.config !== undefined) section(`status.config: ${JSON.stringify(v.config)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * The stream's retention in one line: the limit reached first and what it does then, the other
 * limits, the oldest event's age and the publish rate they were projected at.
 */
export function retentionLine(r: RetentionOutlook): string {
  const parts = [`${r.policy}, discard ${r.discard}${r.policy === "limits" ? "" : ` (${r.removedBy})`}`];
  const binding = r.limits.find((l) => l.limit === r.binding);
  if (binding) parts.push(`${limitText(binding)} binds: ${limitWhen(binding)}`);
  else parts.push(r.limits.length === 0 ? "no limit (unlimited)" : r.publishRate === undefined ? "no limit reached yet" : "no limit is reached at this rate");
  const others = r.limits.filter((l) => l !== binding && l.reachedInSeconds !== undefined && l.reachedInSeconds !== null);
  if (others.length > 0) parts.push(`then ${others.map((l) => `${l.limit} in ${formatSeconds(l.reachedInSeconds!)}`).join(", ")}`);
  parts.push(r.oldestEventAgeSeconds === undefined ? "no events" : `oldest event ${formatSeconds(r.oldestEventAgeSeconds)} old`);
  parts.push(r.publishRate === undefined ? "publish rate not measured yet" : `${r.publishRate} events/s published`);
  return `retention: ${parts.join("; ")}`;
}

function limitText(l: LimitOutlook): string {
  if (l.limit === "maxAge") return `maxAge ${formatSeconds(l.max)}`;
  if (l.limit === "maxMsgs") return `maxMsgs ${l.max}`;
  if (l.limit === "maxBytes") return `maxBytes ${l.max}`;
  return `the store of ${l.server ?? "a server"} (${l.used} of ${l.max} bytes)`;
}

function limitWhen(l: LimitOutlook): string {
  const effect = l.effect === "discards-oldest" ? "discards the oldest events" : "refuses publishes";
  const now = l.effect === "discards-oldest" ? "discarding the oldest events now" : "refusing publishes now";
  return (l.reachedInSeconds ?? 0) < 1 ? now : `${effect} in ${formatSeconds(l.reachedInSeconds!)}`;
}
