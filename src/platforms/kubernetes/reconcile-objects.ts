/**
 * What the parts of the reconcile share about objects on the cluster: the finalizer and annotation
 * names, the kinds a bus owns, and the pure functions that read a stored bus or compare an object
 * with its live copy. Kept apart from the reconcile's side effects so that the takeover and the
 * controller's watch handlers use the very same rules (what counts as changed, who owns what).
 */
import { createHash } from "node:crypto";

import { EVENTBUS_API_VERSION, EVENTBUS_KIND, Quantity, type BusStatus } from "../../api/index.js";
import type { KubeResource } from "./kube-client.js";
import type { KubeObject } from "./objects.js";
import { Resources } from "./resources.js";
import { stableJson } from "./status.js";
import { canonical } from "./yaml-output.js";

/** The finalizer on each EventBus (Argo Events' controller uses the same name). */
export const FINALIZER = "eventbus-controller";

/** Annotations the controller reads and writes. */
export const Annotation = {
  /** On the StatefulSet: the bus's spec last applied (JSON), for the immutability check of the next change. */
  appliedSpec: "eventbus.argoproj.io/applied-spec",
  /** On each object: a hash of what was applied, so an unchanged object is not applied again. */
  appliedHash: "eventbus.argoproj.io/applied-hash",
  /** On the EventBus: `"true"` deletes its volume claims (its messages) when the bus is deleted. */
  deleteVolumes: "eventbus.argoproj.io/delete-volumes",
} as const;

/** The kinds of objects a managed bus owns, in the controller's caches. */
export const OWNED_TYPES = [
  Resources.secret,
  Resources.configMap,
  Resources.service,
  Resources.statefulSet,
  Resources.podDisruptionBudget,
  Resources.cronJob,
  // Watched to apply only what changed; never deleted with the bus (no owner reference), as the data claims.
  Resources.persistentVolumeClaim,
] as const;

/** An EventBus as read from the API server. */
export interface EventBusObject extends KubeResource {
  readonly spec?: unknown;
  readonly status?: BusStatus;
}

/**
 * Whether a bus is a Kafka bus, read as Argo Events picks the installer: `spec.nats` first, then
 * `spec.jetstream`, then `spec.kafka` (before `spec.jetstreamExotic`).
 */
export function isKafkaBus(bus: EventBusObject): boolean {
  const spec = bus.spec;
  if (typeof spec !== "object" || spec === null) return false;
  const has = (field: string) => (spec as Record<string, unknown>)[field] != null;
  return has("kafka") && !has("nats") && !has("jetstream");
}

/** The part of a stored EventBus that validation reads: no status, no server-managed metadata. */
export function manifestOf(bus: EventBusObject): unknown {
  const m = bus.metadata;
  return {
    apiVersion: bus.apiVersion ?? EVENTBUS_API_VERSION,
    kind: bus.kind ?? EVENTBUS_KIND,
    metadata: {
      name: m.name,
      ...(m.namespace && { namespace: m.namespace }),
      ...(m.labels && { labels: m.labels }),
      ...(m.annotations && { annotations: m.annotations }),
    },
    spec: bus.spec,
  };
}

/** An object ready to apply: canonical (undefined dropped), with the extra annotations and the hash of it all. */
export function prepare(object: KubeObject, annotations: Record<string, string>): KubeObject {
  const metadata: Record<string, unknown> = { ...object.metadata };
  metadata["annotations"] = { ...(metadata["annotations"] as Record<string, string> | undefined), ...annotations };
  const base = canonical({ ...object, metadata }) as KubeObject;
  const hash = createHash("sha256").update(stableJson(base)).digest("hex").slice(0, 16);
  const meta = base.metadata as unknown as Record<string, unknown>;
  const withHash = { ...meta, annotations: { ...(meta["annotations"] as Record<string, string>), [Annotation.appliedHash]: hash } };
  return { ...base, metadata: withHash as unknown as KubeObject["metadata"] };
}

/**
 * Whether every field of `desired` is in `live` with the same value: live objects have more
 * (defaults, status, server metadata). Lists must have the same length. The hash annotation makes
 * a removed field count as a change. An empty string matches an absent field: the API server
 * drops empty `omitempty` fields (a toleration's `effect: ""`, passed through from the spec); and
 * a quantity matches the same quantity written otherwise (`cpu: 0.5` is stored as `500m`).
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (live === undefined) return desired === "";
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => isSubset(d, live[i]));
  }
  if (typeof desired === "object" && desired !== null) {
    if (typeof live !== "object" || live === null || Array.isArray(live)) return false;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, (live as Record<string, unknown>)[k]));
  }
  return desired === live || sameQuantity(desired, live);
}

/** Whether `live` is the quantity `desired`, as the API server writes it back in its canonical form. */
function sameQuantity(desired: unknown, live: unknown): boolean {
  if (typeof live !== "string" || (typeof desired !== "string" && typeof desired !== "number")) return false;
  try {
    return Quantity.parse(desired).value === Quantity.parse(live).value;
  } catch {
    return false;
  }
}

/** Whether `object` has a controller owner reference to the EventBus with this uid. */
export function controlledBy(object: KubeResource, uid: string): boolean {
  return (object.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.controller === true);
}

/** The key (`namespace/name`) of the EventBus that controls `object`, if one does. */
export function ownerKey(object: KubeResource): string | undefined {
  const ref = (object.metadata.ownerReferences ?? []).find((r) => r.controller === true && r.kind === EVENTBUS_KIND && r.apiVersion.startsWith("argoproj.io/"));
  return ref === undefined || object.metadata.namespace === undefined ? undefined : `${object.metadata.namespace}/${ref.name}`;
}

/** `namespace/name` of an object. */
export function keyOf(object: KubeResource): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}
