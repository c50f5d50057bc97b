// Observability: a snapshot of a bus's servers, JetStream meta group, stream and consumers.
export {
  snapshotBus,
  STORAGE_WARNING_SHARE,
  type BusSnapshot,
  type ConsumerSnapshot,
  type MonitorEndpoint,
  type ServerSnapshot,
  type SnapshotOptions,
} from "./snapshot.js";
export { localMonitors } from "./local.js";
