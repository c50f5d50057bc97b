/**
 * Every metric a bus's `/metrics` endpoint and the controller serve: name, type, help and labels.
 * Names follow prometheus-nats-exporter where a metric has an equivalent there (`gnatsd_varz_*`,
 * `gnatsd_healthz_status`, `jetstream_*`), so existing dashboards and alerts keep working; the rest
 * carry the `eventbus_` prefix. The Grafana dashboard and the alert rules may only use these names.
 */

/** The type of a metric family, as written on its `# TYPE` line. */
export type MetricType = "gauge" | "counter" | "histogram";

/** One metric family. */
export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
}

const SERVER = ["bus", "server_name"] as const;
const STREAM = ["bus", "stream_name"] as const;
const CONSUMER = ["bus", "stream_name", "consumer_name"] as const;

/** What the local supervisor serves for its bus, from a snapshot of the bus. */
export const BUS_METRICS = [
  // Per server, from its monitoring endpoint (as prometheus-nats-exporter names them)
  { name: "gnatsd_healthz_status", type: "gauge", help: "0 when the server's /healthz is ok, 1 otherwise", labels: SERVER },
  { name: "gnatsd_varz_cpu", type: "gauge", help: "CPU use of the server in percent of one core", labels: SERVER },
  { name: "gnatsd_varz_mem", type: "gauge", help: "Resident memory of the server in bytes", labels: SERVER },
  { name: "gnatsd_varz_connections", type: "gauge", help: "Client connections of the server", labels: SERVER },
  { name: "gnatsd_varz_routes", type: "gauge", help: "Routes of the server to its cluster peers", labels: SERVER },
  { name: "gnatsd_varz_slow_consumers", type: "counter", help: "Slow consumers the server has seen", labels: SERVER },
  { name: "gnatsd_varz_in_msgs", type: "counter", help: "Messages the server received", labels: SERVER },
  { name: "gnatsd_varz_out_msgs", type: "counter", help: "Messages the server sent", labels: SERVER },
  { name: "gnatsd_varz_in_bytes", type: "counter", help: "Bytes the server received", labels: SERVER },
  { name: "gnatsd_varz_out_bytes", type: "counter", help: "Bytes the server sent", labels: SERVER },
  { name: "jetstream_server_max_memory", type: "gauge", help: "JetStream memory storage limit of the server in bytes", labels: SERVER },
  { name: "jetstream_server_max_storage", type: "gauge", help: "JetStream file storage limit of the server in bytes", labels: SERVER },
  // The stream, from the JetStream API (as prometheus-nats-exporter names them)
  { name: "jetstream_stream_total_messages", type: "gauge", help: "Messages in the stream", labels: STREAM },
  { name: "jetstream_stream_total_bytes", type: "gauge", help: "Bytes in the stream", labels: STREAM },
  { name: "jetstream_stream_first_seq", type: "gauge", help: "First sequence in the stream", labels: STREAM },
  { name: "jetstream_stream_last_seq", type: "gauge", help: "Last sequence in the stream", labels: STREAM },
  { name: "jetstream_stream_consumer_count", type: "gauge", help: "Consumers of the stream", labels: STREAM },
  // Each consumer of the stream (as prometheus-nats-exporter names them)
  { name: "jetstream_consumer_num_pending", type: "gauge", help: "Events of the stream the consumer has not been delivered yet", labels: CONSUMER },
  { name: "jetstream_consumer_num_ack_pending", type: "gauge", help: "Events delivered to the consumer and not acknowledged", labels: CONSUMER },
  { name: "jetstream_consumer_num_redelivered", type: "gauge", help: "Events delivered to the consumer more than once", labels: CONSUMER },
  { name: "jetstream_consumer_delivered_stream_seq", type: "gauge", help: "Stream sequence of the consumer's last delivered event", labels: CONSUMER },
  {
    name: "jetstream_consumer_ack_floor_stream_seq",
    type: "gauge",
    help: "Stream sequence below which the consumer acknowledged every event",
    labels: CONSUMER,
  },
  // Our own
  {
    name: "eventbus_bus_ready",
    type: "gauge",
    help: "1 when every server is up and healthy and the stream has a leader with current replicas",
    labels: ["bus"],
  },
  { name: "eventbus_bus_problems", type: "gauge", help: "Problems `eventbus status` lists for the bus", labels: ["bus"] },
  { name: "eventbus_server_up", type: "gauge", help: "1 when the server's monitoring endpoint answers", labels: SERVER },
  { name: "eventbus_server_restarts_total", type: "counter", help: "Times the supervisor restarted the server after it exited", labels: SERVER },
  { name: "eventbus_server_jetstream_memory_bytes", type: "gauge", help: "JetStream memory storage in use on the server", labels: SERVER },
  { name: "eventbus_server_jetstream_storage_bytes", type: "gauge", help: "JetStream file storage in use on the server", labels: SERVER },
  { name: "eventbus_jetstream_meta_leader", type: "gauge", help: "1 for the server that leads the JetStream meta group", labels: SERVER },
  { name: "eventbus_jetstream_peer_current", type: "gauge", help: "1 when the meta group peer is current with its leader", labels: SERVER },
  {
    name: "eventbus_server_jetstream_store_full",
    type: "gauge",
    help: "1 when the server's JetStream file store is over max_file_store: it refuses writes and its streams cannot elect a leader",
    labels: SERVER,
  },
  {
    name: "eventbus_stream_at_limit",
    type: "gauge",
    help: "1 when the stream is at its maxBytes or maxMsgs with discard new: every publish is refused",
    labels: STREAM,
  },
  { name: "eventbus_stream_oldest_event_age_seconds", type: "gauge", help: "Age of the stream's oldest event", labels: STREAM },
  {
    name: "eventbus_stream_limit_seconds_remaining",
    type: "gauge",
    help: "Seconds until the stream reaches the limit (maxAge, maxMsgs, maxBytes, store) at the publish rate between the last two snapshots: 0 when it has, +Inf when it does not at this rate",
    labels: [...STREAM, "limit"],
  },
  {
    name: "eventbus_stream_limit_binding",
    type: "gauge",
    help: "1 for the limit the stream reaches first at the current publish rate, 0 for its other limits",
    labels: [...STREAM, "limit"],
  },
  {
    name: "eventbus_consumer_discard_seconds_remaining",
    type: "gauge",
    help: "Seconds until a limit discards an event the consumer has not read, at the current publish and read rates: +Inf when it does not at these rates",
    labels: CONSUMER,
  },
  {
    name: "eventbus_consumer_at_risk",
    type: "gauge",
    help: "1 when events the consumer has not read will be discarded within an hour at the current rates",
    labels: CONSUMER,
  },
  {
    name: "eventbus_stream_replica_current",
    type: "gauge",
    help: "1 when the stream's replica on the server is current (the leader counts as current)",
    labels: [...STREAM, "server_name"],
  },
  {
    name: "eventbus_stream_replica_lag",
    type: "gauge",
    help: "Events the stream's replica on the server is behind its leader",
    labels: [...STREAM, "server_name"],
  },
  // The local supervisor's scheduled backups (none before the first run, nor without spec.jetstream.backup)
  {
    name: "eventbus_backup_last_success_timestamp_seconds",
    type: "gauge",
    help: "Unix time at which the last scheduled backup that was written and verified began",
    labels: ["bus"],
  },
  {
    name: "eventbus_backup_last_run_failed",
    type: "gauge",
    help: "1 when the last scheduled backup failed, 0 when it was written and verified",
    labels: ["bus"],
  },
  { name: "eventbus_snapshot_duration_seconds", type: "gauge", help: "How long the snapshot behind this scrape took", labels: ["bus"] },
] as const satisfies readonly MetricFamily[];

/** What the Kubernetes controller serves: its work and each EventBus's conditions. */
export const CONTROLLER_METRICS = [
  { name: "eventbus_controller_reconcile_total", type: "counter", help: "Reconciles of EventBuses by result (success, error, requeue)", labels: ["result"] },
  { name: "eventbus_controller_reconcile_errors_total", type: "counter", help: "Reconciles that failed and will be retried with backoff", labels: [] },
  { name: "eventbus_controller_reconcile_duration_seconds", type: "histogram", help: "Time to reconcile one EventBus", labels: [] },
  {
    name: "eventbus_controller_kube_requests_total",
    type: "counter",
    help: "Kubernetes API requests by verb, resource and HTTP code",
    labels: ["verb", "resource", "code"],
  },
  { name: "eventbus_controller_workqueue_depth", type: "gauge", help: "EventBuses waiting to be reconciled", labels: [] },
  { name: "eventbus_controller_is_leader", type: "gauge", help: "1 when this process holds the leader Lease", labels: [] },
  { name: "eventbus_controller_eventbuses", type: "gauge", help: "EventBuses in the controller's cache", labels: [] },
  {
    name: "eventbus_bus_ready",
    type: "gauge",
    help: "1 when every server of the EventBus is ready (Ready is True with all servers, not only a quorum)",
    labels: ["namespace", "bus"],
  },
  {
    name: "eventbus_bus_condition",
    type: "gauge",
    help: "1 for the status (True, False, Unknown) each condition of the EventBus has, 0 for the others",
    labels: ["namespace", "bus", "type", "status"],
  },
] as const satisfies readonly MetricFamily[];

/** Every metric name either endpoint may serve. */
export const METRIC_NAMES: ReadonlySet<string> = new Set([...BUS_METRICS, ...CONTROLLER_METRICS].map((m) => m.name));
