/**
 * A local bus as `eventbus status` and `eventbus console` show it: its supervisor's report (phases,
 * pids, ports, restarts) with what its servers' monitoring endpoints answered to the snapshot.
 */
import type { BusSnapshot } from "../observe/index.js";
import type { BusReport } from "../platforms/local/index.js";
import { replicasText, type StatusView } from "../view/index.js";

/** One word for a local bus: stopped, unsupervised (its servers outlived their supervisor), healthy or degraded. */
export function localState(r: BusReport, problems: readonly string[] = r.problems): string {
  if (!r.running) return "stopped";
  if (!r.supervised) return "unsupervised";
  return r.healthy && problems.length === 0 ? "healthy" : "degraded";
}

/** A local bus: its report, the problems found with the snapshot, and the snapshot while it runs. */
export function localView(r: BusReport, problems: readonly string[], snapshot: BusSnapshot | undefined): StatusView {
  const b = r.backups;
  const lastBackup = b?.lastRun === undefined ? "" : `, last ${b.lastRun.at} ${b.lastRun.ok ? `ok (${b.lastRun.file ?? ""})` : "FAILED"}`;
  return {
    headline:
      r.stan !== undefined
        ? `bus ${r.name}: ${localState(r, problems)}, ${r.replicas} server(s), NATS Streaming (nats-streaming-server ${r.servers[0]?.version ?? "?"}), generation ${r.generation}`
        : `bus ${r.name}: ${localState(r, problems)}, ${r.replicas} server(s), version ${r.version ?? "?"} (nats-server ${r.servers[0]?.version ?? "?"}), generation ${r.generation}`,
    problems,
    notes: [
      { label: "storage", text: r.storage },
      ...(r.stan === undefined
        ? []
        : [
            {
              label: "nats streaming",
              text: `cluster ID ${r.stan.clusterId}, raft leader ${r.stan.leader ?? "(none)"} (${r.stan.servers.map((s) => `${s.name} ${s.role ?? s.state ?? "no answer"}`).join(", ")})`,
            },
          ]),
      ...(r.running && r.metricsUrl !== undefined ? [{ label: "metrics", text: `${r.metricsUrl} (Prometheus text)` }] : []),
      ...(b === undefined
        ? []
        : [
            {
              label: "backups",
              text: `"${b.schedule}" (UTC), keep ${b.keep}, into ${b.dir}${b.running ? ", running now" : b.nextRunAt ? `, next ${b.nextRunAt}` : ""}${lastBackup}`,
            },
          ]),
    ],
    servers: r.servers.map((s) => {
      // What the server's monitoring endpoint answered to the snapshot: its resources.
      const seen = snapshot?.servers.find((v) => v.name === s.name && v.reachable);
      return {
        name: s.name,
        state: s.phase,
        ...(s.pid !== undefined && { pid: s.pid }),
        version: s.version,
        ...(seen?.uptime !== undefined && { uptime: seen.uptime }),
        ...(seen?.cpu !== undefined && { cpu: seen.cpu }),
        ...(seen?.memoryBytes !== undefined && { memoryBytes: seen.memoryBytes }),
        ports: s.ports,
        restarts: s.restarts,
        ...(s.connections !== undefined && { connections: s.connections }),
        ...(seen?.jetstream && { jetstreamStore: { used: seen.jetstream.storeBytes, max: seen.jetstream.maxStoreBytes } }),
      };
    }),
    ...(r.jetstream && {
      jetstream: {
        ...(r.jetstream.leader !== undefined && { metaLeader: r.jetstream.leader }),
        peers: r.jetstream.peers,
        current: r.jetstream.peersCurrent,
      },
    }),
    streams: r.streams.map((s) => ({
      name: s.name,
      messages: s.messages,
      bytes: s.bytes,
      firstSeq: s.firstSeq,
      lastSeq: s.lastSeq,
      consumers: s.consumers,
      // The snapshot's stream (the JetStream API's answer) has each replica's lag.
      replicas: snapshotCluster(snapshot, s.name) ?? String(s.replicas),
      ...(s.leader !== undefined && { leader: s.leader }),
      current: s.current,
    })),
    ...(snapshot?.retention && { retention: snapshot.retention }),
    consumers: snapshot?.consumers ?? [],
    ...(r.stan && { stanChannels: r.stan.channels }),
  };
}

/** The snapshot's replicas of stream `name`, with their state, when it read that stream. */
function snapshotCluster(snapshot: BusSnapshot | undefined, name: string): string | undefined {
  const stream = snapshot && !("error" in snapshot.stream) ? snapshot.stream : undefined;
  return stream?.name === name && stream.cluster ? replicasText(stream.cluster) : undefined;
}
