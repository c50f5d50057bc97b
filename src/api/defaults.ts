import { Duration } from "./duration.js";
import { Quantity } from "./quantity.js";
import { Size } from "./size.js";

// The defaults of Argo Events (controller config and API types), with their units in their names.

/** Servers of a managed bus. */
export const DEFAULT_REPLICAS = 3;
/** Client authentication of a managed JetStream bus (Argo Events: user and password). */
export const DEFAULT_JETSTREAM_AUTH = "basic" as const;
/** TLS on client and route listeners of a managed JetStream bus. */
export const DEFAULT_TLS_ENABLED = true;
/** Scheduled backups kept when `backup.keep` is not set. */
export const DEFAULT_BACKUP_KEEP = 7;
/** On Kubernetes, the backups' claim size without `backup.volumeSize` and without persistence. */
export const DEFAULT_BACKUP_VOLUME_SIZE = "1Gi";
/** Largest message payload. */
export const DEFAULT_MAX_PAYLOAD = "1MB";
/** Upper limit nats-server accepts for max_payload. */
export const MAX_PAYLOAD_LIMIT_BYTES = 64 * 1024 * 1024;
/** nats-server `max_memory_store`: -1 lets the server pick (75% of memory). */
export const DEFAULT_MAX_MEMORY_STORE = "-1";
/** nats-server `max_file_store`; with persistence it is capped at the volume size. */
export const DEFAULT_MAX_FILE_STORE = "1TB";
export const DEFAULT_ACCESS_MODE = "ReadWriteOnce" as const;
export const DEFAULT_JETSTREAM_VOLUME_SIZE = "20Gi";
export const DEFAULT_STAN_VOLUME_SIZE = "10Gi";

/** The stream every event source publishes into. */
export const DEFAULT_STREAM_NAME = "default";
export const DEFAULT_STREAM_SUBJECTS = ["default.*.*"] as const;

/** The stream config defaults, before a bus's `streamConfig` is merged over them. */
export const DEFAULT_STREAM_CONFIG = {
  maxMsgs: 50_000,
  maxAge: "168h",
  maxBytes: -1,
  replicas: 3,
  duplicates: "300s",
  retention: "limits",
  discard: "old",
} as const;

/** How long an event publisher retries one event; the dedup window must cover it. */
export const PUBLISHER_RETRY_WINDOW = Duration.parse("120s");

export const DEFAULT_STAN = {
  maxAge: "72h",
  maxMsgs: 1_000_000,
  maxBytes: "1GB",
  maxSubs: 1000,
  raftHeartbeatTimeout: "2s",
  raftElectionTimeout: "2s",
  raftLeaseTimeout: "1s",
  raftCommitTimeout: "100ms",
} as const;

export const defaultValues = {
  maxPayload: () => Size.parse(DEFAULT_MAX_PAYLOAD),
  jetStreamVolumeSize: () => Quantity.parse(DEFAULT_JETSTREAM_VOLUME_SIZE),
  stanVolumeSize: () => Quantity.parse(DEFAULT_STAN_VOLUME_SIZE),
};
