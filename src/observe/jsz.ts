/**
 * The one reader of a bus's JetStream cluster state from its servers' `/jsz`: the meta group (its
 * leader and peers, as the leader sees them) and the streams each server holds a replica of (with
 * their leader and replicas). Field names as nats-server writes them (server/monitor.go `JSInfo`,
 * `MetaClusterInfo`, `StreamDetail`; nats-server 2.10).
 */
import { getJson, PROBE_TIMEOUT_MS } from "./http.js";

/** A server's monitoring endpoint, by its server name. */
export interface MonitorEndpoint {
  readonly name: string;
  /** `http://host:port` of the monitoring listener. */
  readonly url: string;
}

/** A peer of a Raft group as `/jsz` reports it. */
export interface JszPeer {
  readonly name: string;
  readonly current: boolean;
  readonly offline?: boolean;
  /** Log entries behind the leader. */
  readonly lag?: number;
  /** Nanoseconds since the leader last heard from it. */
  readonly active?: number;
}

/** The parts of `/jsz` that eventbus reads. */
export interface Jsz {
  readonly server_id?: string;
  readonly memory?: number;
  readonly storage?: number;
  readonly config?: { readonly max_memory?: number; readonly max_storage?: number };
  readonly meta_cluster?: {
    readonly name?: string;
    readonly leader?: string;
    readonly cluster_size?: number;
    /** The other peers; only the leader knows whether they are current. */
    readonly replicas?: readonly JszPeer[];
  };
  readonly streams?: number;
  readonly messages?: number;
  readonly bytes?: number;
}

/** One stream replica a server holds, from `/jsz?accounts=true&streams=true&config=true`. */
export interface JszStream {
  readonly name: string;
  readonly cluster?: { readonly leader?: string; readonly replicas?: readonly JszPeer[] };
  readonly config?: { readonly num_replicas?: number };
  readonly state: { readonly messages: number; readonly bytes: number; readonly first_seq: number; readonly last_seq: number; readonly consumer_count: number };
}

/** A stream replica, with the account it belongs to. */
export interface AccountStream extends JszStream {
  readonly account: string;
}

/** The meta group: its leader and every peer (the leader included, sorted by name). */
export interface MetaGroup {
  readonly leader?: string;
  /** The group's size as the server reports it (it may lag behind the peers that joined). */
  readonly clusterSize?: number;
  readonly peers: readonly { readonly name: string; readonly current: boolean; readonly offline: boolean; readonly lag: number }[];
}

/** One server's `/jsz`; undefined when it does not answer in time. */
export function readJsz(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Jsz | undefined> {
  return getJson<Jsz>(`${url}/jsz`, timeoutMs);
}

/**
 * The meta group as its leader sees it: the leader is found through the servers in turn (any of
 * them names it), then asked, since only the leader knows which peers are current. Without a
 * leader (or one not among `monitors`), the first view that answered.
 */
export async function readMetaGroup(monitors: readonly MonitorEndpoint[], timeoutMs = PROBE_TIMEOUT_MS): Promise<MetaGroup> {
  let view: Jsz["meta_cluster"];
  for (const monitor of monitors) {
    const seen = (await readJsz(monitor.url, timeoutMs))?.meta_cluster;
    view ??= seen;
    if (seen?.leader) {
      view = seen;
      break;
    }
  }
  const leader = monitors.find((m) => m.name === view?.leader);
  const leaderView = leader ? (await readJsz(leader.url, timeoutMs))?.meta_cluster : undefined;
  return metaGroupOf(leaderView ?? view);
}

/** A server's view of the meta group as a {@link MetaGroup}. */
export function metaGroupOf(meta: Jsz["meta_cluster"]): MetaGroup {
  if (!meta) return { peers: [] };
  const peers = [
    ...(meta.leader ? [{ name: meta.leader, current: true, offline: false, lag: 0 }] : []),
    ...(meta.replicas ?? []).map((r) => ({ name: r.name, current: r.current, offline: r.offline ?? false, lag: r.lag ?? 0 })),
  ].sort((a, b) => a.name.localeCompare(b.name));
  return { ...(meta.leader && { leader: meta.leader }), ...(meta.cluster_size !== undefined && { clusterSize: meta.cluster_size }), peers };
}

/** The stream replicas one server holds, in every account; undefined when it does not answer in time. */
export async function readServerStreams(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<AccountStream[] | undefined> {
  const info = await getJson<{ account_details?: readonly { name: string; stream_detail?: readonly JszStream[] }[] }>(
    `${url}/jsz?accounts=true&streams=true&config=true`,
    timeoutMs,
  );
  if (info === undefined) return undefined;
  return (info.account_details ?? []).flatMap((a) => (a.stream_detail ?? []).map((s) => ({ ...s, account: a.name })));
}

/**
 * Every stream of the bus, wherever it lives: a stream is held only by its replicas' servers (a
 * one-copy `KV_<sensor>` bucket of an Argo sensor by one server of three), so every server is
 * asked, and each stream is taken as its leader sees it, since only the leader knows whether the
 * other replicas are current. Undefined when no server answered.
 */
export async function readBusStreams(monitors: readonly MonitorEndpoint[], timeoutMs = PROBE_TIMEOUT_MS): Promise<AccountStream[] | undefined> {
  const views = await Promise.all(monitors.map(async (m) => ({ server: m.name, streams: await readServerStreams(m.url, timeoutMs) })));
  if (views.every((v) => v.streams === undefined)) return undefined;
  const chosen = new Map<string, { readonly stream: AccountStream; readonly fromLeader: boolean }>();
  for (const { server, streams } of views) {
    for (const stream of streams ?? []) {
      const key = `${stream.account}\u0000${stream.name}`;
      const fromLeader = stream.cluster?.leader === server;
      const known = chosen.get(key);
      if (!known || (fromLeader && !known.fromLeader)) chosen.set(key, { stream, fromLeader });
    }
  }
  return [...chosen.values()].map((c) => c.stream);
}
