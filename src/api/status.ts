/**
 * The status of an EventBus: the one contract between the platforms and everything that reads a
 * bus (the client, `eventbus status`, Argo Events). The Kubernetes controller writes it into the
 * resource (as Argo Events does: conditions, `observedGeneration`, a `phase`, and `config`, Argo's
 * `status.config` that clients read as `EVENTBUS_CONFIG`); the local platform writes the same shape
 * into `status.json` next to the bus's auth file. Pure: platforms decide, these shape.
 *
 * Argo Events deploys an EventSource or a Sensor only when every condition of its bus is True
 * (`Status.IsReady()`).
 */

/** The condition types the controller writes. */
export const ConditionType = {
  /** The spec is valid and the change allowed. */
  configured: "Configured",
  /** The objects are applied (managed), or there are none to apply (external: reason `Skipped`). */
  deployed: "Deployed",
  /** Every server of a managed bus is ready (its StatefulSet's `readyReplicas`). */
  ready: "Ready",
  /** The controller reached an external JetStream bus and configured its stream. */
  connected: "Connected",
  /** Set while a deletion waits: why the bus is not deleted yet. */
  deleting: "Deleting",
} as const;
/** One of the {@link ConditionType} values. */
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** The reasons of the controller's conditions. */
export const ConditionReason = {
  succeeded: "Succeeded",
  skipped: "Skipped",
  invalidSpec: "InvalidSpec",
  immutableFieldChanged: "ImmutableFieldChanged",
  applyFailed: "ApplyFailed",
  renderFailed: "RenderFailed",
  serversNotReady: "ServersNotReady",
  allServersReady: "AllServersReady",
  /** A quorum of the servers is ready, not all: the bus works, degraded. */
  quorumReady: "QuorumReady",
  connectionFailed: "ConnectionFailed",
  streamFailed: "StreamFailed",
  connected: "Connected",
  inUse: "InUse",
  /** A local bus stopped by `eventbus down`. */
  stopped: "Stopped",
} as const;

/** A condition as Kubernetes writes them. */
export interface Condition {
  readonly type: string;
  readonly status: "True" | "False" | "Unknown";
  readonly reason?: string;
  readonly message?: string;
  /** RFC 3339, seconds precision; changes only when `status` changes. */
  readonly lastTransitionTime?: string;
}

/** A condition the controller wants, before its transition time is known. */
export type DesiredCondition = Omit<Condition, "lastTransitionTime">;

/** A Secret key reference as written in a spec (Argo's `SecretKeySelector`). */
export interface SecretKeyRef {
  readonly name?: string;
  readonly key: string;
  readonly optional?: boolean;
}

/** `status.config` of a JetStream bus (Argo's `JetStreamConfig`). */
export interface JetStreamStatusConfig {
  readonly url: string;
  readonly accessSecret?: SecretKeyRef;
  readonly streamConfig?: string;
  readonly [field: string]: unknown;
}

/** `status.config` of a NATS Streaming bus (Argo's `NATSConfig`). */
export interface NatsStatusConfig {
  readonly url: string;
  readonly clusterID?: string;
  readonly auth?: string;
  readonly accessSecret?: SecretKeyRef;
}

/** `status.config`. */
export interface StatusConfig {
  readonly jetstream?: JetStreamStatusConfig;
  readonly nats?: NatsStatusConfig;
}

/**
 * How a client on the platform's own machine reaches a bus, beyond `config`: files and monitoring
 * endpoints. Written by the local platform only (never into a Kubernetes resource, whose schema
 * has no such field).
 */
export interface BusAccess {
  /** What to call the bus in messages, e.g. `local bus default`. */
  readonly description: string;
  /** Argo Events' auth file of the bus (`username`/`password` or `token`), mode 0600. */
  readonly authFile?: string;
  /** The CA bundle (PEM) that signed the servers' certificates, when the bus serves TLS. */
  readonly caFile?: string;
  /** Each server's monitoring endpoint (`http://host:port`), in server order. */
  readonly monitors?: readonly { readonly name: string; readonly url: string }[];
}

/** An EventBus's status. */
export interface BusStatus {
  readonly phase?: string;
  /** Why the bus is degraded, while it is (`phase: Degraded`); absent otherwise. */
  readonly message?: string;
  readonly conditions?: readonly Condition[];
  readonly config?: StatusConfig;
  readonly observedGeneration?: number;
  /** The local platform's access to the bus from this machine. */
  readonly access?: BusAccess;
}

/** The phases of the printer column. */
export const Phase = {
  /** Applied and waiting for servers (or a first connection). */
  pending: "Pending",
  /** Every condition is True. */
  running: "Running",
  /** Every condition is True, but the bus is not whole: servers not ready, or the controller cannot reach it. */
  degraded: "Degraded",
  /** The spec is invalid or the change refused. */
  invalid: "Invalid",
  /** Applying, connecting or configuring the stream failed. */
  failed: "Failed",
  /** Deletion waits (the bus is in use). */
  terminating: "Terminating",
} as const;

/** Kubernetes time: RFC 3339 in UTC, whole seconds. */
export function kubeTime(millis: number): string {
  return new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The conditions after setting `desired` over `current`: a condition keeps its
 * `lastTransitionTime` unless its status changes; conditions not in `desired` are kept unless
 * listed in `remove`. Order: `desired`'s, then the kept ones.
 */
export function mergeConditions(
  current: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  now: number,
  remove: readonly string[] = [],
): Condition[] {
  const byType = new Map((current ?? []).map((c) => [c.type, c]));
  const out: Condition[] = desired.map((d) => {
    const before = byType.get(d.type);
    const lastTransitionTime =
      before !== undefined && before.status === d.status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : kubeTime(now);
    return compact({ type: d.type, status: d.status, reason: d.reason, message: d.message, lastTransitionTime });
  });
  const set = new Set(desired.map((d) => d.type));
  for (const c of current ?? []) if (!set.has(c.type) && !remove.includes(c.type)) out.push(c);
  return out;
}

/**
 * The phase the conditions add up to; `degraded` (why the bus is not whole) turns `Running` into
 * `Degraded`.
 */
export function phaseOf(conditions: readonly Condition[], degraded?: string): string {
  const status = (type: string) => conditions.find((c) => c.type === type)?.status;
  if (status(ConditionType.deleting) === "False") return Phase.terminating;
  if (status(ConditionType.configured) === "False") return Phase.invalid;
  if (status(ConditionType.deployed) === "False" || status(ConditionType.connected) === "False") return Phase.failed;
  if (conditions.length === 0 || !conditions.every((c) => c.status === "True")) return Phase.pending;
  return degraded === undefined ? Phase.running : Phase.degraded;
}

/**
 * Whether Argo Events deploys the EventSources and Sensors of a bus with these conditions: every
 * condition True, and at least one (Argo's `Status.IsReady()`).
 */
export function argoIsReady(conditions: readonly Pick<Condition, "status">[] | undefined): boolean {
  return conditions !== undefined && conditions.length > 0 && conditions.every((c) => c.status === "True");
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== "")) as T;
}
