/**
 * A bus's Prometheus metrics, rendered from a {@link BusSnapshot}: every family of
 * {@link BUS_METRICS}, in its order, each with its `# HELP` and `# TYPE` lines even when it has no
 * sample (a server that is down has no `/varz` numbers; a bus without its stream no stream ones).
 */
import { ARGO_STREAM_NAME } from "../client/index.js";
import { renderFamily, type Labels, type Sample } from "./exposition.js";
import { BUS_METRICS } from "./metrics-catalog.js";
import type { ConsumerRetention, LimitOutlook } from "./retention.js";
import { storeFull, streamLimit, type BusSnapshot, type ServerSnapshot } from "./snapshot.js";

/** What the snapshot does not hold: the supervisor's restart counts and the snapshot's duration. */
export interface BusMetricsExtra {
  /** Restarts after an unexpected exit, by server name. */
  readonly restarts: Readonly<Record<string, number>>;
  /** How long the snapshot took. */
  readonly durationSeconds: number;
  /** The scheduled backups' last runs, when the supervisor has run one. */
  readonly backups?: { readonly lastSuccessSeconds?: number; readonly lastRunFailed?: boolean };
}

type BusMetricName = (typeof BUS_METRICS)[number]["name"];

/** The Prometheus text (exposition format 0.0.4) of one bus's snapshot. */
export function renderBusMetrics(bus: string, snapshot: BusSnapshot, extra: BusMetricsExtra): string {
  const samples = busSamples(bus, snapshot, extra);
  return `${BUS_METRICS.map((family) => renderFamily(family, samples[family.name])).join("\n")}\n`;
}

function busSamples(bus: string, snapshot: BusSnapshot, extra: BusMetricsExtra): Record<BusMetricName, Sample[]> {
  const servers = snapshot.servers;
  const serverLabels = (name: string): Labels => ({ bus, server_name: name });
  /** One sample per server that has `value`. */
  const perServer = (value: (s: ServerSnapshot) => number | undefined): Sample[] =>
    servers.flatMap((s) => {
      const v = s.reachable ? value(s) : undefined;
      return v === undefined ? [] : [{ labels: serverLabels(s.name), value: v }];
    });
  const stream = "error" in snapshot.stream ? undefined : snapshot.stream;
  const streamName = stream?.name ?? ARGO_STREAM_NAME;
  const streamSample = (value: (s: NonNullable<typeof stream>) => number): Sample[] =>
    stream ? [{ labels: { bus, stream_name: streamName }, value: value(stream) }] : [];
  const consumerSamples = (value: (c: BusSnapshot["consumers"][number]) => number): Sample[] =>
    snapshot.consumers.map((c) => ({ labels: { bus, stream_name: ARGO_STREAM_NAME, consumer_name: c.name }, value: value(c) }));
  // The stream's leader is current with no lag; the replicas as the leader reports them.
  const replicas = stream?.cluster
    ? [
        ...(stream.cluster.leader !== undefined ? [{ name: stream.cluster.leader, current: true, lag: 0 }] : []),
        ...stream.cluster.replicas.map((r) => ({ name: r.name, current: r.current && !r.offline, lag: r.lagMessages })),
      ].sort((a, b) => a.name.localeCompare(b.name))
    : [];
  const replicaLabels = (name: string): Labels => ({ bus, stream_name: streamName, server_name: name });
  const retention = snapshot.retention;
  const limitSamples = (value: (l: LimitOutlook) => number | undefined): Sample[] =>
    (retention?.limits ?? []).flatMap((l) => {
      const v = value(l);
      return v === undefined ? [] : [{ labels: { bus, stream_name: streamName, limit: l.limit }, value: v }];
    });
  // Only consumers whose rates were measured: a consumer of unknown outlook is neither safe nor at risk.
  const measured = (retention?.consumers ?? []).filter((c) => c.waiting === 0 || c.discardInSeconds !== undefined);
  const consumerRetention = (value: (c: ConsumerRetention) => number): Sample[] =>
    measured.map((c) => ({ labels: { bus, stream_name: streamName, consumer_name: c.name }, value: value(c) }));
  return {
    gnatsd_healthz_status: servers.map((s) => ({ labels: serverLabels(s.name), value: s.reachable && s.healthy ? 0 : 1 })),
    gnatsd_varz_cpu: perServer((s) => s.cpu),
    gnatsd_varz_mem: perServer((s) => s.memoryBytes),
    gnatsd_varz_connections: perServer((s) => s.connections),
    gnatsd_varz_routes: perServer((s) => s.routes),
    gnatsd_varz_slow_consumers: perServer((s) => s.slowConsumers),
    gnatsd_varz_in_msgs: perServer((s) => s.inMsgs),
    gnatsd_varz_out_msgs: perServer((s) => s.outMsgs),
    gnatsd_varz_in_bytes: perServer((s) => s.inBytes),
    gnatsd_varz_out_bytes: perServer((s) => s.outBytes),
    jetstream_server_max_memory: perServer((s) => s.jetstream?.maxMemoryBytes),
    jetstream_server_max_storage: perServer((s) => s.jetstream?.maxStoreBytes),
    jetstream_stream_total_messages: streamSample((s) => s.state.messages),
    jetstream_stream_total_bytes: streamSample((s) => s.state.bytes),
    jetstream_stream_first_seq: streamSample((s) => s.state.firstSeq),
    jetstream_stream_last_seq: streamSample((s) => s.state.lastSeq),
    jetstream_stream_consumer_count: streamSample((s) => s.state.consumers),
    jetstream_consumer_num_pending: consumerSamples((c) => c.pending),
    jetstream_consumer_num_ack_pending: consumerSamples((c) => c.ackPending),
    jetstream_consumer_num_redelivered: consumerSamples((c) => c.redelivered),
    jetstream_consumer_delivered_stream_seq: consumerSamples((c) => c.deliveredStreamSeq),
    jetstream_consumer_ack_floor_stream_seq: consumerSamples((c) => c.ackFloorStreamSeq),
    eventbus_bus_ready: [{ labels: { bus }, value: snapshot.problems.length === 0 ? 1 : 0 }],
    eventbus_bus_problems: [{ labels: { bus }, value: snapshot.problems.length }],
    eventbus_server_up: servers.map((s) => ({ labels: serverLabels(s.name), value: s.reachable ? 1 : 0 })),
    eventbus_server_restarts_total: servers.map((s) => ({ labels: serverLabels(s.name), value: extra.restarts[s.name] ?? 0 })),
    eventbus_server_jetstream_memory_bytes: perServer((s) => s.jetstream?.memoryBytes),
    eventbus_server_jetstream_storage_bytes: perServer((s) => s.jetstream?.storeBytes),
    eventbus_jetstream_meta_leader: servers.map((s) => ({ labels: serverLabels(s.name), value: s.name === snapshot.jetstream.metaLeader ? 1 : 0 })),
    eventbus_jetstream_peer_current: snapshot.jetstream.peers.map((p) => ({ labels: serverLabels(p.name), value: p.current && !p.offline ? 1 : 0 })),
    eventbus_server_jetstream_store_full: perServer((s) => (s.jetstream ? (storeFull(s.jetstream) ? 1 : 0) : undefined)),
    eventbus_stream_at_limit: streamSample((s) => (streamLimit(s) ? 1 : 0)),
    eventbus_stream_oldest_event_age_seconds: retention?.oldestEventAgeSeconds === undefined ? [] : streamSample(() => retention.oldestEventAgeSeconds!),
    eventbus_stream_limit_seconds_remaining: limitSamples((l) => (l.reachedInSeconds === undefined ? undefined : (l.reachedInSeconds ?? Infinity))),
    eventbus_stream_limit_binding: limitSamples((l) => (l.limit === retention?.binding ? 1 : 0)),
    eventbus_consumer_discard_seconds_remaining: consumerRetention((c) => c.discardInSeconds ?? Infinity),
    eventbus_consumer_at_risk: consumerRetention((c) => (c.atRisk ? 1 : 0)),
    eventbus_stream_replica_current: replicas.map((r) => ({ labels: replicaLabels(r.name), value: r.current ? 1 : 0 })),
    eventbus_stream_replica_lag: replicas.map((r) => ({ labels: replicaLabels(r.name), value: r.lag })),
    eventbus_backup_last_success_timestamp_seconds:
      extra.backups?.lastSuccessSeconds === undefined ? [] : [{ labels: { bus }, value: extra.backups.lastSuccessSeconds }],
    eventbus_backup_last_run_failed: extra.backups?.lastRunFailed === undefined ? [] : [{ labels: { bus }, value: extra.backups.lastRunFailed ? 1 : 0 }],
    eventbus_snapshot_duration_seconds: [{ labels: { bus }, value: extra.durationSeconds }],
  };
}
