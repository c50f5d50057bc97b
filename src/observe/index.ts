// Observability: a snapshot of a bus's servers, JetStream meta group, stream and consumers.
export {
  formatSeconds,
  PENDING_GROWTH_SNAPSHOTS,
  RATE_MIN_WINDOW_MILLIS,
  retentionSample,
  snapshotBus,
  STORAGE_WARNING_SHARE,
  type BusSnapshot,
  type ConsumerSnapshot,
  type MonitorEndpoint,
  type ServerSnapshot,
  type SnapshotOptions,
  type Varz,
} from "./snapshot.js";
export {
  DISCARD_WARNING_SECONDS,
  LimitEffect,
  RetentionLimit,
  retentionOutlook,
  type ConsumerRetention,
  type LimitOutlook,
  type RetentionOutlook,
  type RetentionSample,
} from "./retention.js";
export { getJson, PROBE_TIMEOUT_MS, readHealthz, type Healthz } from "./http.js";
export { readMetaGroup, type Jsz, type MetaGroup } from "./jsz.js";
export { ObserveErrorCode, SystemAccountError } from "./errors.js";
export { serversFromAnswers, systemServers } from "./system.js";
export { renderBusMetrics, type BusMetricsExtra } from "./metrics.js";
export { escapeHelp, escapeLabelValue, formatValue, labelText, PROMETHEUS_CONTENT_TYPE, renderFamily, type Labels, type Sample } from "./exposition.js";
export { BUS_METRICS, CONTROLLER_METRICS, METRIC_NAMES, type MetricFamily, type MetricType } from "./metrics-catalog.js";
