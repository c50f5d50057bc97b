/**
 * A snapshot of a NATS Streaming (STAN) bus from its servers' monitoring endpoints: each server's
 * state and raft role (`/streaming/serverz`), the store limits (`/streaming/storez`), the channels
 * with their subscriptions (`/streaming/channelsz?subs=1`, page by page), and the problems an
 * operator should see first. The STAN counterpart of {@link snapshotBus}; every request has a
 * deadline, so a server that is down is reported as down instead of hanging the snapshot.
 *
 * Field names are those nats-streaming-server 0.25 writes: nats-io/nats-streaming-server
 * `server/monitor.go` (`Serverz`, `Storez`, `Channelsz`, `Channelz`, `Subscriptionz`) and
 * `stores/store.go` (`StoreLimits`, `ChannelLimits`, `MsgStoreLimits`, `SubStoreLimits`).
 *
 * Channels are read from the raft leader. A follower answers `/streaming/channelsz` too, with its
 * replicated view, but that view lags: messages by the raft commit, and each subscription's sent
 * and acknowledged state (`last_sent`, `pending_count`, `is_stalled`) by up to a second, since the
 * leader replicates those lazily (`server/server.go` `collectSentOrAck`, `lazyReplicationInterval`
 * 1 s; seen on 0.25.6: a follower showed a stalled subscription as `pending_count` 0 and not stalled
 * 300 ms after the leader showed it stalled). A follower's view is used only when no leader answers,
 * and the snapshot says so ({@link StanBusSnapshot.channelsSource}).
 */
import { Duration } from "../api/index.js";
import { httpGet, PROBE_TIMEOUT_MS } from "./http.js";

/** A STAN server's monitoring endpoint, by its server name (its raft node ID in a cluster). */
export interface StanMonitor {
  readonly name: string;
  /** `http://host:port` of the monitoring listener. */
  readonly monitorUrl: string;
}

/** A server's state as `/streaming/serverz` writes it (`server/server.go` `State.String`). */
export const StanServerState = {
  Standalone: "STANDALONE",
  FtActive: "FT_ACTIVE",
  FtStandby: "FT_STANDBY",
  Failed: "FAILED",
  Shutdown: "SHUTDOWN",
  Clustered: "CLUSTERED",
} as const;

/** One of the {@link StanServerState} values. */
export type StanServerState = (typeof StanServerState)[keyof typeof StanServerState];

/** A clustered server's raft role as `/streaming/serverz` writes it (hashicorp/raft `RaftState.String`). */
export const StanRaftRole = {
  Leader: "Leader",
  Follower: "Follower",
  Candidate: "Candidate",
  Shutdown: "Shutdown",
} as const;

/** One of the {@link StanRaftRole} values. */
export type StanRaftRole = (typeof StanRaftRole)[keyof typeof StanRaftRole];

/** The page size of `/streaming/channelsz` the server uses when none is asked (`defaultMonitorListLimit`). */
export const STAN_CHANNELS_PAGE_SIZE = 1024;

/** A channel's bytes above this share of its `max_bytes` count as at the limit: the next message would not fit. */
export const STAN_AT_LIMIT_SHARE = 0.99;

/** One server as its monitoring endpoint reports it. */
export interface StanServerSnapshot {
  readonly name: string;
  /** Its monitoring endpoint answered. */
  readonly reachable: boolean;
  /** `/streaming/serverz` answered, and the server is neither FAILED nor SHUTDOWN. */
  readonly healthy: boolean;
  /** Why it is down or not healthy. */
  readonly error?: string;
  readonly clusterId?: string;
  readonly serverId?: string;
  /** The raft node ID (clustered). */
  readonly nodeId?: string;
  readonly version?: string;
  readonly goVersion?: string;
  readonly state?: string;
  /** The raft role (clustered only): `Leader`, `Follower`, `Candidate`. */
  readonly role?: string;
  readonly startTime?: string;
  readonly uptime?: string;
  readonly clients?: number;
  readonly subscriptions?: number;
  readonly channels?: number;
  /** Messages in all channels of its store. */
  readonly totalMsgs?: number;
  /** Bytes in all channels of its store. */
  readonly totalBytes?: number;
  /** Messages published to it since it started. */
  readonly inMsgs?: number;
  readonly inBytes?: number;
  /** Messages it sent to subscriptions since it started. */
  readonly outMsgs?: number;
  readonly outBytes?: number;
}

/** The limits of one channel (0: unlimited), the global ones or its own. */
export interface StanChannelLimits {
  readonly maxMsgs: number;
  readonly maxBytes: number;
  readonly maxAgeSeconds: number;
  readonly maxSubscriptions: number;
  /** How long a channel without subscription nor new message lives. */
  readonly maxInactivitySeconds: number;
}

/** The store of the server channels were read from, from `/streaming/storez`. */
export interface StanStoreSnapshot {
  /** `FILE`, `MEMORY` or `SQL`. */
  readonly type: string;
  /** How many channels the store accepts (0: unlimited). */
  readonly maxChannels: number;
  /** The limits of every channel without its own. */
  readonly limits: StanChannelLimits;
  /** Channels (or wildcard patterns) with their own limits, as the server resolved them. */
  readonly perChannel: Readonly<Record<string, StanChannelLimits>>;
  readonly totalMsgs: number;
  readonly totalBytes: number;
}

/** A subscription of a channel. */
export interface StanSubscriptionSnapshot {
  readonly clientId: string;
  readonly inbox: string;
  readonly ackInbox: string;
  /** The queue group, without the durable name the server prefixes a durable group with. */
  readonly queueGroup?: string;
  /** The durable name (of a durable queue group too). */
  readonly durableName?: string;
  readonly durable: boolean;
  /** A durable whose client is gone; the server keeps its position. */
  readonly offline: boolean;
  readonly maxInFlight: number;
  readonly ackWaitSeconds: number;
  /** Sequence of the last message sent to it. */
  readonly lastSent: number;
  /** Messages sent to it and not acknowledged. */
  readonly pending: number;
  /** Its pending reached its max in flight: the server sends it nothing until it acks. */
  readonly stalled: boolean;
  /**
   * Messages of the channel not yet sent to it: after its last sent, or, for a queue group member,
   * after the last sent to any member of its group.
   */
  readonly backlog: number;
}

/** A channel and its subscriptions. */
export interface StanChannelSnapshot {
  readonly name: string;
  readonly msgs: number;
  readonly bytes: number;
  /** 0 when it never had a message. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly subscriptions: readonly StanSubscriptionSnapshot[];
  /** Its limits, when the store's were readable. */
  readonly limits?: StanChannelLimits;
}

/** The whole picture of a STAN bus at one moment. */
export interface StanBusSnapshot {
  readonly takenAt: string;
  readonly clusterId?: string;
  readonly servers: readonly StanServerSnapshot[];
  /** Clustered: some server reports a raft role. */
  readonly clustered: boolean;
  /**
   * The server that serves the clients: the raft leader of a cluster, else the one server (or the
   * active server of a fault-tolerant group). Absent when there is none.
   */
  readonly leader?: string;
  /** The channels, by name. */
  readonly channels: readonly StanChannelSnapshot[];
  /** Which server the channels were read from; `leader: false` is a follower's lagging view. */
  readonly channelsSource?: { readonly server: string; readonly leader: boolean };
  /** Why the channels could not be read, when they could not. */
  readonly channelsError?: string;
  readonly store?: StanStoreSnapshot;
  /** What needs attention, most serious first; empty when all is well. */
  readonly problems: readonly string[];
}

/** Options of {@link readStanBus}. */
export interface StanReadOptions {
  /** The deadline of each monitoring request. @default 1500 (ms) */
  readonly timeoutMillis?: number;
  /** Channels asked per `/streaming/channelsz` page. @default 1024 (the server's own page size) */
  readonly pageSize?: number;
}

/**
 * Takes a snapshot of a STAN bus from its servers' monitoring endpoints.
 * @returns always a snapshot: parts that cannot be read are marked so, never thrown
 */
export async function readStanBus(servers: readonly StanMonitor[], options: StanReadOptions = {}): Promise<StanBusSnapshot> {
  const timeout = options.timeoutMillis ?? PROBE_TIMEOUT_MS;
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? STAN_CHANNELS_PAGE_SIZE));
  const snapshots = await Promise.all(servers.map((s) => readServer(s, timeout)));
  const clustered = snapshots.some((s) => s.role !== undefined);
  const claimants = snapshots.filter((s) => s.healthy && s.role === StanRaftRole.Leader);
  const leader = leaderOf(snapshots, clustered, claimants);

  // The leader first, then any other server that answers: a follower's view beats none.
  const byName = new Map(servers.map((s) => [s.name, s]));
  const order = [...new Set([...(leader ? [leader.name] : []), ...claimants.map((c) => c.name), ...snapshots.filter((s) => s.healthy).map((s) => s.name)])];
  let channels: StanChannelSnapshot[] = [];
  let source: StanBusSnapshot["channelsSource"];
  let channelsError: string | undefined;
  let store: StanStoreSnapshot | undefined;
  for (const name of order) {
    const url = byName.get(name)!.monitorUrl;
    const [pages, storez] = await Promise.all([readChannelPages(url, pageSize, timeout), getStanJson<Storez>(url, "/streaming/storez", timeout)]);
    if ("error" in pages) {
      channelsError ??= `server ${name}: ${pages.error}`;
      continue;
    }
    store = "error" in storez ? undefined : storeOf(storez);
    channels = pages.channels.map((c) => channelOf(c, store));
    source = { server: name, leader: name === leader?.name };
    channelsError = undefined;
    break;
  }
  if (order.length === 0) channelsError = "no server answers";

  const clusterId = (leader ?? snapshots.find((s) => s.clusterId !== undefined))?.clusterId;
  return {
    takenAt: new Date().toISOString(),
    ...(clusterId !== undefined && { clusterId }),
    servers: snapshots,
    clustered,
    ...(leader && { leader: leader.name }),
    channels,
    ...(source && { channelsSource: source }),
    ...(channelsError !== undefined && { channelsError }),
    ...(store && { store }),
    problems: stanProblems(snapshots, clustered, leader?.name, claimants, channels, channelsError, store),
  };
}

/** The raft leader; without raft, the one server that serves (standalone, or FT active). */
function leaderOf(servers: readonly StanServerSnapshot[], clustered: boolean, claimants: readonly StanServerSnapshot[]): StanServerSnapshot | undefined {
  if (clustered) return claimants.length === 1 ? claimants[0] : undefined;
  const active = servers.filter((s) => s.healthy && s.state === StanServerState.FtActive);
  if (active.length === 1) return active[0];
  const standalone = servers.filter((s) => s.healthy && s.state === StanServerState.Standalone);
  return standalone.length === 1 ? standalone[0] : undefined;
}

async function readServer(monitor: StanMonitor, timeout: number): Promise<StanServerSnapshot> {
  const serverz = await getStanJson<Serverz>(monitor.monitorUrl, "/streaming/serverz", timeout);
  if ("error" in serverz) return { name: monitor.name, reachable: serverz.reachable, healthy: false, error: serverz.error };
  const state = serverz.state;
  const failed = state === StanServerState.Failed || state === StanServerState.Shutdown;
  return {
    name: monitor.name,
    reachable: true,
    healthy: !failed,
    ...(failed && { error: `its state is ${state}` }),
    clusterId: serverz.cluster_id,
    serverId: serverz.server_id,
    ...(serverz.node_id && { nodeId: serverz.node_id }),
    version: serverz.version,
    goVersion: serverz.go,
    state,
    ...(serverz.role && { role: serverz.role }),
    startTime: serverz.start_time,
    uptime: serverz.uptime,
    clients: serverz.clients,
    subscriptions: serverz.subscriptions,
    channels: serverz.channels,
    totalMsgs: serverz.total_msgs,
    totalBytes: serverz.total_bytes,
    inMsgs: serverz.in_msgs,
    inBytes: serverz.in_bytes,
    outMsgs: serverz.out_msgs,
    outBytes: serverz.out_bytes,
  };
}

/** A monitoring endpoint's JSON, or why not: no answer (unreachable), another status, no JSON. */
async function getStanJson<T>(baseUrl: string, path: string, timeout: number): Promise<T | { error: string; reachable: boolean }> {
  const answer = await httpGet(`${baseUrl}${path}`, timeout);
  if (answer === undefined) return { error: "its monitoring endpoint does not answer", reachable: false };
  if (answer.status !== 200) {
    const said = answer.body.trim().split("\n")[0]?.slice(0, 200) ?? "";
    return { error: `${path} answered HTTP ${answer.status}${said ? `: ${said}` : ""}`, reachable: true };
  }
  try {
    const value: unknown = JSON.parse(answer.body);
    if (value !== null && typeof value === "object") return value as T;
  } catch {
    // below
  }
  // A plain nats-server answers every unknown path with its HTML home page.
  return { error: `${path} answered without JSON (not a NATS Streaming server?)`, reachable: true };
}

/** Every channel, page by page (the server sorts them by name), each once. */
async function readChannelPages(url: string, pageSize: number, timeout: number): Promise<{ channels: Channelz[] } | { error: string }> {
  const seen = new Map<string, Channelz>();
  let offset = 0;
  // Bounded: a bus whose channels keep coming ends after as many pages as it had channels at first, plus one.
  for (let pages = 0, maxPages = 1; pages < maxPages; pages++) {
    const page = await getStanJson<Channelsz>(url, `/streaming/channelsz?subs=1&offset=${offset}&limit=${pageSize}`, timeout);
    if ("error" in page) return { error: page.error };
    const list = page.channels ?? [];
    for (const c of list) if (!seen.has(c.name)) seen.set(c.name, c);
    if (pages === 0) maxPages = Math.ceil((page.total ?? 0) / pageSize) + 1;
    offset += list.length;
    if (list.length === 0 || offset >= (page.total ?? 0)) break;
  }
  return { channels: [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

function storeOf(storez: Storez): StanStoreSnapshot {
  const limits = storez.limits ?? {};
  return {
    type: storez.type ?? "",
    maxChannels: limits.max_channels ?? 0,
    limits: channelLimitsOf(limits),
    perChannel: Object.fromEntries(Object.entries(limits.channels ?? {}).map(([name, l]) => [name, channelLimitsOf(l)])),
    totalMsgs: storez.total_msgs ?? 0,
    totalBytes: storez.total_bytes ?? 0,
  };
}

function channelLimitsOf(l: ChannelLimitsJson): StanChannelLimits {
  // Durations are Go time.Duration: nanoseconds. After the server's inheritance, 0 means unlimited.
  return {
    maxMsgs: Math.max(0, l.max_msgs ?? 0),
    maxBytes: Math.max(0, l.max_bytes ?? 0),
    maxAgeSeconds: Math.max(0, (l.max_age ?? 0) / 1e9),
    maxSubscriptions: Math.max(0, l.max_subscriptions ?? 0),
    maxInactivitySeconds: Math.max(0, (l.max_inactivity ?? 0) / 1e9),
  };
}

/**
 * The limits of channel `name`: its own entry, else the narrowest wildcard entry that matches it
 * (`orders.*`, `orders.>`), else the global ones, as the store resolves them
 * (`stores/common.go` `getChannelLimits`).
 */
export function limitsOfChannel(store: StanStoreSnapshot, name: string): StanChannelLimits {
  const own = store.perChannel[name];
  if (own) return own;
  const matching = Object.keys(store.perChannel)
    .filter((pattern) => channelMatches(pattern, name))
    .sort((a, b) => specificity(b) - specificity(a) || b.length - a.length);
  return matching[0] === undefined ? store.limits : store.perChannel[matching[0]]!;
}

function channelMatches(pattern: string, name: string): boolean {
  const p = pattern.split(".");
  const n = name.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return n.length > i;
    if (i >= n.length || (p[i] !== "*" && p[i] !== n[i])) return false;
  }
  return p.length === n.length;
}

/** Literal tokens weigh most, then `*`; `>` least. */
function specificity(pattern: string): number {
  return pattern.split(".").reduce((sum, t) => sum + (t === ">" ? 0 : t === "*" ? 1 : 3), 0);
}

function channelOf(c: Channelz, store: StanStoreSnapshot | undefined): StanChannelSnapshot {
  const lastSeq = c.last_seq ?? 0;
  const raw = c.subscriptions ?? [];
  // A queue group's position is the last message sent to any of its members.
  const groupSent = new Map<string, number>();
  for (const s of raw) if (s.queue_name) groupSent.set(s.queue_name, Math.max(groupSent.get(s.queue_name) ?? 0, s.last_sent ?? 0));
  const subscriptions = raw
    .map((s) => subscriptionOf(s, lastSeq, s.queue_name ? groupSent.get(s.queue_name)! : (s.last_sent ?? 0)))
    .sort((a, b) => subscriptionKey(a).localeCompare(subscriptionKey(b)));
  return {
    name: c.name,
    msgs: c.msgs ?? 0,
    bytes: c.bytes ?? 0,
    firstSeq: c.first_seq ?? 0,
    lastSeq,
    subscriptions,
    ...(store && { limits: limitsOfChannel(store, c.name) }),
  };
}

function subscriptionKey(s: StanSubscriptionSnapshot): string {
  return `${s.queueGroup ?? ""}\u0000${s.durableName ?? ""}\u0000${s.clientId}\u0000${s.inbox}`;
}

function subscriptionOf(s: Subscriptionz, lastSeq: number, positionSent: number): StanSubscriptionSnapshot {
  // The server names a durable queue group `<durable>:<group>` and clears its durable name
  // (server/server.go `processSub`); a durable name cannot hold `:`, so the first one splits them.
  let queueGroup = s.queue_name || undefined;
  let durableName = s.durable_name || undefined;
  if (queueGroup !== undefined && s.is_durable && durableName === undefined) {
    const colon = queueGroup.indexOf(":");
    if (colon > 0) {
      durableName = queueGroup.slice(0, colon);
      queueGroup = queueGroup.slice(colon + 1);
    }
  }
  return {
    clientId: s.client_id,
    inbox: s.inbox,
    ackInbox: s.ack_inbox,
    ...(queueGroup !== undefined && { queueGroup }),
    ...(durableName !== undefined && { durableName }),
    durable: s.is_durable,
    offline: s.is_offline,
    maxInFlight: s.max_inflight,
    ackWaitSeconds: s.ack_wait,
    lastSent: s.last_sent ?? 0,
    pending: s.pending_count ?? 0,
    stalled: s.is_stalled === true,
    backlog: Math.max(0, lastSeq - positionSent),
  };
}

/**
 * The queue name as the server writes it (`<durable>:<group>` for a durable queue group), as
 * prometheus-nats-exporter labels it.
 */
export function serverQueueName(s: StanSubscriptionSnapshot): string {
  if (s.queueGroup === undefined) return "";
  return s.durable && s.durableName !== undefined ? `${s.durableName}:${s.queueGroup}` : s.queueGroup;
}

/** Who a subscription is, for a problem: `client sub (queue group workers, durable dur)`. */
export function describeSubscription(s: StanSubscriptionSnapshot): string {
  const traits = [
    ...(s.queueGroup !== undefined ? [`queue group ${s.queueGroup}`] : []),
    ...(s.durableName !== undefined ? [`durable ${s.durableName}`] : []),
    ...(s.offline ? ["offline"] : []),
  ];
  return `client ${s.clientId}${traits.length > 0 ? ` (${traits.join(", ")})` : ""}`;
}

/**
 * The limit a channel is at, said with its numbers (`max_msgs (5 of 5 messages)`), or undefined.
 * STAN then discards the channel's oldest message for each new one.
 */
export function stanChannelLimit(channel: StanChannelSnapshot): string | undefined {
  const l = channel.limits;
  if (!l) return undefined;
  if (l.maxMsgs > 0 && channel.msgs >= l.maxMsgs) return `max_msgs (${channel.msgs} of ${l.maxMsgs} messages)`;
  if (l.maxBytes > 0 && channel.bytes >= STAN_AT_LIMIT_SHARE * l.maxBytes) return `max_bytes (${channel.bytes} of ${l.maxBytes} bytes)`;
  return undefined;
}

function stanProblems(
  servers: readonly StanServerSnapshot[],
  clustered: boolean,
  leader: string | undefined,
  claimants: readonly StanServerSnapshot[],
  channels: readonly StanChannelSnapshot[],
  channelsError: string | undefined,
  store: StanStoreSnapshot | undefined,
): string[] {
  const problems: string[] = [];
  for (const s of servers) {
    if (!s.reachable) problems.push(`server ${s.name} is down (${s.error ?? "its monitoring endpoint does not answer"})`);
    else if (!s.healthy) problems.push(`server ${s.name} is not healthy (${s.error ?? "/streaming/serverz"})`);
  }
  if (claimants.length > 1) {
    problems.push(`NATS Streaming has ${claimants.length} raft leaders (${claimants.map((c) => c.name).join(", ")}): a leader is cut off from its peers`);
  } else if ((clustered || servers.length > 1) && leader === undefined) {
    const candidates = servers.filter((s) => s.role === StanRaftRole.Candidate).map((s) => s.name);
    problems.push(
      `NATS Streaming has no raft leader${candidates.length > 0 ? ` (${candidates.join(", ")} ${candidates.length === 1 ? "is a candidate" : "are candidates"}: an election is under way, or fewer than a quorum of servers reach each other)` : ""}: publishes and subscriptions wait until one is elected`,
    );
  }
  if (channelsError !== undefined) problems.push(`channels: ${channelsError}`);
  if (store && store.maxChannels > 0 && channels.length >= store.maxChannels) {
    problems.push(`the store is at its max_channels (${count(channels.length, "channel")}): a publish or subscription on a new channel is refused`);
  }
  for (const c of channels) {
    const limit = stanChannelLimit(c);
    if (limit) {
      // A queue group's members share its backlog: it is said once.
      const groups = new Set<string>();
      const behind = c.subscriptions.filter((s) => {
        if (s.backlog === 0) return false;
        const key = s.queueGroup === undefined ? undefined : serverQueueName(s);
        if (key === undefined) return true;
        if (groups.has(key)) return false;
        groups.add(key);
        return true;
      });
      problems.push(
        `channel ${c.name} is at its ${limit}: each new message discards the oldest${behind.length > 0 ? `; discarded before they are sent: ${behind.map((s, i) => `${i === 0 ? count(s.backlog, "message") : s.backlog} of ${describeSubscription(s)}`).join(", ")}` : ""}`,
      );
    }
    const maxSubs = c.limits?.maxSubscriptions ?? 0;
    if (maxSubs > 0 && c.subscriptions.length >= maxSubs) {
      problems.push(`channel ${c.name} is at its max_subscriptions (${c.subscriptions.length}): a new subscription is refused`);
    }
    for (const s of c.subscriptions) {
      // An offline durable keeps the stall of its last client, but nothing is sent to it anyway:
      // its unacknowledged messages go to whichever client resumes it.
      if (!s.stalled || s.offline) continue;
      const ackWait = Duration.fromMillis(s.ackWaitSeconds * 1000).format();
      problems.push(
        `channel ${c.name}: subscription of ${describeSubscription(s)} is stalled (${count(s.pending, "message")} sent and not acknowledged, its max in flight): nothing more is sent to it until it acks; the server redelivers them after its ack wait of ${ackWait}`,
      );
    }
  }
  return problems;
}

/** `1 message`, `3 messages`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

// ---------------------------------------------------------------------------------------------
// The monitoring endpoints' JSON, as nats-streaming-server 0.25 writes it (server/monitor.go).

/** `/streaming/serverz` (`Serverz`). `role` and `node_id` are there only when clustered. */
export interface Serverz {
  readonly cluster_id: string;
  readonly server_id: string;
  readonly version: string;
  readonly go: string;
  readonly state: string;
  readonly role?: string;
  readonly node_id?: string;
  readonly now: string;
  readonly start_time: string;
  readonly uptime: string;
  readonly clients: number;
  readonly subscriptions: number;
  readonly channels: number;
  readonly total_msgs: number;
  readonly total_bytes: number;
  readonly in_msgs: number;
  readonly in_bytes: number;
  readonly out_msgs: number;
  readonly out_bytes: number;
  readonly open_fds?: number;
  readonly max_fds?: number;
}

/**
 * `ChannelLimits` (stores/store.go), its embedded `MsgStoreLimits` and `SubStoreLimits` flattened
 * as Go's encoding/json writes them; durations in nanoseconds.
 */
export interface ChannelLimitsJson {
  readonly max_msgs?: number;
  readonly max_bytes?: number;
  readonly max_age?: number;
  readonly max_subscriptions?: number;
  readonly max_inactivity?: number;
}

/** `/streaming/storez` (`Storez`), its `limits` a `StoreLimits`. */
export interface Storez {
  readonly cluster_id: string;
  readonly server_id: string;
  readonly now: string;
  readonly type: string;
  readonly limits: ChannelLimitsJson & { readonly max_channels?: number; readonly channels?: Readonly<Record<string, ChannelLimitsJson>> };
  readonly total_msgs: number;
  readonly total_bytes: number;
}

/** `/streaming/channelsz` (`Channelsz`): `names` without `subs=1`, `channels` with it. */
export interface Channelsz {
  readonly cluster_id: string;
  readonly server_id: string;
  readonly now: string;
  readonly offset: number;
  readonly limit: number;
  readonly count: number;
  readonly total: number;
  readonly names?: readonly string[];
  readonly channels?: readonly Channelz[];
}

/** One channel of `/streaming/channelsz` (`Channelz`); also the answer of `?channel=<name>`. */
export interface Channelz {
  readonly name: string;
  readonly msgs: number;
  readonly bytes: number;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly subs_count?: number;
  readonly subscriptions?: readonly Subscriptionz[];
}

/** A subscription of `/streaming/channelsz?subs=1` or `/streaming/clientsz?subs=1` (`Subscriptionz`). */
export interface Subscriptionz {
  readonly client_id: string;
  readonly inbox: string;
  readonly ack_inbox: string;
  readonly durable_name?: string;
  readonly queue_name?: string;
  readonly is_durable: boolean;
  readonly is_offline: boolean;
  readonly max_inflight: number;
  /** Seconds. */
  readonly ack_wait: number;
  readonly last_sent: number;
  readonly pending_count: number;
  readonly is_stalled: boolean;
}
