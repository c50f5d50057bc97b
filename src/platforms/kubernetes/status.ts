/**
 * An EventBus's `status`, as Argo Events writes it and more: conditions (`Configured`, `Deployed`,
 * and `Ready` for managed buses or `Connected` for external JetStream), `observedGeneration`,
 * a `phase` for the printer column, and `config`, the connection clients use (Argo's
 * `EVENTBUS_CONFIG`). Pure: the controller decides, these functions shape.
 *
 * Argo Events deploys an EventSource or a Sensor only when every condition of its bus is True
 * (`Status.IsReady()`). So no condition is False while the bus is usable: a managed bus with a
 * quorum of its servers ready is `Ready=True` (the missing ones in the message, `phase: Degraded`
 * and `message`), and an external bus the controller cannot reach has no `Connected` condition
 * (the controller is not on the pods' path to it), only `phase: Degraded`, `message` and an Event.
 */
import { formatStreamConfig, jetStreamObjectNames, stanObjectNames, type ResolvedEventBus } from "../../api/index.js";
import { DEFAULT_PORTS } from "../../plan/index.js";
import { CLIENT_AUTH_SECRET_KEY } from "../../secrets/index.js";

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

/** An EventBus's status. */
export interface BusStatus {
  readonly phase?: string;
  /** Why the bus is degraded, while it is (`phase: Degraded`); absent otherwise. */
  readonly message?: string;
  readonly conditions?: readonly Condition[];
  readonly config?: StatusConfig;
  readonly observedGeneration?: number;
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

/** Options of {@link statusConfig}. */
export interface StatusConfigOptions {
  /**
   * The cluster's DNS domain: URLs name `<svc>.<ns>.svc.<domain>`. Without it they name
   * `<svc>.<ns>.svc`, as Argo Events writes them, which every cluster's DNS search path resolves.
   */
  readonly clusterDomain?: string;
}

/** The in-cluster DNS name and client port of a bus's Service: `nats://<svc>.<ns>.svc[.<domain>]:4222`. */
export function serviceUrl(service: string, namespace: string, options: StatusConfigOptions = {}): string {
  const domain = options.clusterDomain === undefined ? "" : `.${options.clusterDomain}`;
  return `nats://${service}.${namespace}.svc${domain}:${DEFAULT_PORTS.client}`;
}

/**
 * `status.config` of a valid bus in `namespace`, as Argo Events writes it:
 * - managed JetStream: `jetstream: {url, accessSecret: {name: eventbus-<n>-js-client-auth, key: client-auth}, streamConfig}`
 *   (no accessSecret with `auth: none`), `streamConfig` the merged YAML text;
 * - managed STAN: `nats: {url, clusterID: eventbus-<n>, auth, accessSecret: {name: eventbus-<n>-client, key: client-auth}}`
 *   (Argo's STAN URL is `nats://<svc>:4222`, relative to the namespace; the namespaced form names
 *   the same Service for the pods of the bus's namespace, and works from others too);
 * - external buses: their spec as written (Argo copies it), external JetStream with the merged `streamConfig`.
 */
export function statusConfig(bus: ResolvedEventBus, namespace: string, options: StatusConfigOptions = {}): StatusConfig {
  const spec = bus.spec;
  switch (spec.mode) {
    case "jetstream": {
      const names = jetStreamObjectNames(bus.name);
      return {
        jetstream: {
          url: serviceUrl(names.service, namespace, options),
          ...(spec.auth !== "none" && { accessSecret: { name: names.clientAuthSecret, key: CLIENT_AUTH_SECRET_KEY } }),
          streamConfig: formatStreamConfig(spec.streamConfig),
        },
      };
    }
    case "nats.native": {
      const names = stanObjectNames(bus.name);
      return {
        nats: {
          url: serviceUrl(names.service, namespace, options),
          clusterID: names.clusterID,
          auth: spec.auth,
          ...(spec.auth === "token" && { accessSecret: { name: names.clientSecret, key: CLIENT_AUTH_SECRET_KEY } }),
        },
      };
    }
    case "jetstreamExotic": {
      const written = bus.manifest.spec.jetstreamExotic ?? {};
      return { jetstream: { ...written, url: written.url ?? "", streamConfig: formatStreamConfig(spec.streamConfig) } };
    }
    case "nats.exotic": {
      const written = bus.manifest.spec.nats?.exotic ?? {};
      return { nats: { ...written, url: written.url ?? "", auth: spec.auth } };
    }
  }
}

/** Kubernetes time: RFC 3339 in UTC, whole seconds. */
export function kubeTime(millis: number): string {
  return new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The conditions after setting `desired` over `current`: a condition keeps its
 * `lastTransitionTime` unless its status changes; conditions not in `desired` are kept unless
 * listed in `remove`. Order: `desired`'s, then the kept ones.
 */
export function mergeConditions(current: readonly Condition[] | undefined, desired: readonly DesiredCondition[], now: number, remove: readonly string[] = []): Condition[] {
  const byType = new Map((current ?? []).map((c) => [c.type, c]));
  const out: Condition[] = desired.map((d) => {
    const before = byType.get(d.type);
    const lastTransitionTime = before !== undefined && before.status === d.status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : kubeTime(now);
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

/** How many servers of a bus of `replicas` must be ready for it to work: a majority (the Raft quorum of JetStream and NATS Streaming). */
export function quorumOf(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}

/** The `Ready` condition of a managed bus, and why it is degraded when it works without every server. */
export interface Readiness {
  readonly condition: DesiredCondition;
  /** Set when a quorum is ready, not all. */
  readonly degraded?: string;
}

/**
 * `Ready` from the ready servers (the StatefulSet's `readyReplicas`): True from a quorum on, since
 * the bus then stores and delivers events (reason `AllServersReady`, or `QuorumReady` with the
 * missing servers in `degraded`); False (`ServersNotReady`) below a quorum, when it cannot.
 */
export function readiness(ready: number, replicas: number): Readiness {
  const counted = `${ready}/${replicas} servers ready`;
  if (ready >= replicas) return { condition: { type: ConditionType.ready, status: "True", reason: ConditionReason.allServersReady, message: counted } };
  const quorum = quorumOf(replicas);
  if (ready >= quorum) {
    const missing = replicas - ready;
    return {
      condition: { type: ConditionType.ready, status: "True", reason: ConditionReason.quorumReady, message: `${counted} (a quorum is ${quorum})` },
      degraded: `${missing} of ${replicas} servers not ready; the bus works while ${quorum} are`,
    };
  }
  return { condition: { type: ConditionType.ready, status: "False", reason: ConditionReason.serversNotReady, message: `${counted} (a quorum is ${quorum})` } };
}

/** Whether two statuses are the same (the order of keys does not matter; of conditions it does). */
export function sameStatus(a: BusStatus | undefined, b: BusStatus | undefined): boolean {
  return stableJson(a ?? {}) === stableJson(b ?? {});
}

/** JSON with object keys sorted, undefined dropped: equal values give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== "")) as T;
}
