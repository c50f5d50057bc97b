/**
 * The reconcile of a bus whose servers eventbus runs. Level-triggered and cheap when nothing
 * changed: the objects are rendered every time (the same bus renders the same objects), but only
 * those that differ from the cache are applied, so a quiet bus costs no writes. The secret material
 * is made once and read back from the server Secret after that, since new material would lock out
 * the bus's clients and make its encrypted store unreadable. A change the running bus cannot take
 * is refused before anything is touched. `Ready` follows the StatefulSet and is True from a quorum
 * on: Argo Events deploys nothing while a condition is not True, and the bus works with a quorum.
 */
import {
  EVENTBUS_API_VERSION,
  EVENTBUS_KIND,
  IssueCode,
  jetStreamObjectNames,
  stanObjectNames,
  validate,
  validateUpdate,
  type Issue,
  type ResolvedEventBus,
  ConditionReason,
  ConditionType,
} from "../../api/index.js";
import { isNatsConfError } from "../../natsconf/index.js";
import { isSecretsError, type BusSecrets } from "../../secrets/index.js";
import { isKubeError, KubeErrorCode } from "./errors.js";
import { EventReason, EventType } from "./events.js";
import type { ImagesTable } from "./images.js";
import { generateBusMaterial } from "./material.js";
import type { KubeObject } from "./objects.js";
import type { ReconcileContext, ReconcileResult } from "./reconcile-context.js";
import { Annotation, controlledBy, isSubset, OWNED_TYPES, prepare, type EventBusObject } from "./reconcile-objects.js";
import { renderBusObjects } from "./render.js";
import { Resources } from "./resources.js";
import { readiness } from "./status.js";
import { configured } from "./status-writer.js";
import { checkMetaGroup } from "./meta-group.js";
import { materialSecretName, readStoredMaterial, StoredMaterialError, withStoredMaterial } from "./stored-material.js";

/** What the managed reconcile takes from the reconciler's options. */
export interface ManagedOptions {
  /** @default defaultImages() */
  readonly images?: ImagesTable;
  /** The image of scheduled backups' CronJobs (the controller's). @default DEFAULT_CONTROLLER_IMAGE */
  readonly eventbusImage?: string;
  /** The cluster's DNS domain in the servers' certificates and in `status.config` URLs. @default none: `<svc>.<ns>.svc`, as Argo Events */
  readonly clusterDomain?: string;
}

/** Reconciles a bus whose servers eventbus runs (`jetstream`, `nats.native`). */
export async function reconcileManaged(
  ctx: ReconcileContext,
  bus: EventBusObject,
  resolved: ResolvedEventBus,
  options: ManagedOptions,
): Promise<ReconcileResult> {
  const namespace = bus.metadata.namespace as string;
  const uid = bus.metadata.uid as string;
  const stsName = (resolved.spec.mode === "jetstream" ? jetStreamObjectNames(resolved.name) : stanObjectNames(resolved.name)).statefulSet;

  // A change the running bus cannot take is refused before anything is touched.
  const refused = refusedChanges(ctx, namespace, resolved, uid);
  if (refused.length > 0) {
    await ctx.status.refuse(bus, ConditionReason.immutableFieldChanged, EventReason.immutableFieldChanged, refused);
    return {};
  }

  let objects: KubeObject[];
  let material: BusSecrets;
  try {
    const secretName = materialSecretName(resolved);
    material = await busMaterial(ctx, bus, resolved, secretName, options.clusterDomain);
    const owner = { apiVersion: EVENTBUS_API_VERSION, kind: EVENTBUS_KIND, name: resolved.name, uid };
    objects = withStoredMaterial(
      renderBusObjects(resolved, {
        namespace,
        images: options.images,
        secrets: material,
        owner,
        ...(options.eventbusImage !== undefined && { eventbusImage: options.eventbusImage }),
      }),
      secretName,
      material,
    ).map((o) => prepare(o, o.kind === "StatefulSet" ? { [Annotation.appliedSpec]: JSON.stringify(resolved.manifest.spec) } : {}));
  } catch (err) {
    if (isKubeError(err, KubeErrorCode.unknownImageVersion)) {
      await ctx.status.refuse(bus, ConditionReason.invalidSpec, EventReason.invalidSpec, [
        { path: "", message: (err as Error).message, code: IssueCode.invalidValue },
      ]);
      return {};
    }
    if (isKubeError(err) || isNatsConfError(err) || isSecretsError(err) || err instanceof StoredMaterialError) {
      await ctx.status.fail(bus, ConditionReason.renderFailed, EventReason.renderFailed, (err as Error).message);
      return { retry: true };
    }
    throw err;
  }

  // Apply what differs from the cache: the server Secret and the rest first, the StatefulSet last,
  // so that its pods find their config.
  const changed: string[] = [];
  const apply = async (o: KubeObject) => {
    const informer = ctx.caches.owned.get(o.kind);
    if (informer !== undefined && isSubset(o, informer.get(namespace, o.metadata.name))) return;
    const applied = await ctx.client.apply(o);
    informer?.remember(applied);
    changed.push(`${o.kind}/${o.metadata.name}`);
  };
  try {
    await Promise.all(objects.filter((o) => o.kind !== "StatefulSet").map(apply));
    for (const o of objects.filter((o) => o.kind === "StatefulSet")) await apply(o);
    await prune(ctx, namespace, uid, objects);
  } catch (err) {
    await ctx.status.fail(bus, ConditionReason.applyFailed, EventReason.applyFailed, err instanceof Error ? err.message : String(err));
    throw err;
  }
  if (changed.length > 0) {
    ctx.log("info", "applied", { bus: `${namespace}/${resolved.name}`, objects: changed });
    await ctx.recorder.record(bus, EventType.normal, EventReason.applied, `applied ${changed.join(", ")}`);
  }

  const sts = ctx.caches.owned.get("StatefulSet")?.get(namespace, stsName);
  const replicas = resolved.spec.mode === "jetstream" || resolved.spec.mode === "nats.native" ? resolved.spec.replicas : 0;
  const ready = Number((sts?.["status"] as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0);
  const what = resolved.spec.mode === "jetstream" ? "JetStream" : "NATS Streaming";
  const { condition: readyCondition, degraded } = readiness(ready, replicas);
  const before = bus.status?.conditions?.find((c) => c.type === ConditionType.ready);
  await ctx.status.write(
    bus,
    [configured(), { type: ConditionType.deployed, status: "True", reason: ConditionReason.succeeded, message: `${what} is deployed` }, readyCondition],
    ctx.status.config(resolved, namespace),
    [ConditionType.connected],
    degraded,
  );
  const removal =
    resolved.spec.mode === "jetstream" && replicas > 0 && ready >= Math.floor(replicas / 2) + 1
      ? await tendMetaGroup(ctx, bus, resolved, stsName, replicas, material)
      : {};
  if (before?.reason !== readyCondition.reason) {
    // A transition between all servers, a quorum and less: once each, the message says how many.
    if (readyCondition.reason === ConditionReason.allServersReady)
      await ctx.recorder.record(bus, EventType.normal, EventReason.ready, readyCondition.message as string);
    else if (before?.status === "True") {
      await ctx.recorder.record(
        bus,
        EventType.warning,
        EventReason.serversNotReady,
        `${readyCondition.message}: ${degraded ?? "below a quorum the bus cannot store events"}`,
      );
    }
  }
  return removal;
}

/** How soon a bus whose meta group could not be read or set right, or with a pod not Ready, is looked at again. */
const META_RETRY_MILLIS = 30_000;
/** How long a Ready server may stay out of the meta group (it may be joining) before its pod is deleted. */
const META_JOIN_GRACE_MILLIS = 20_000;
/** How long a server never Ready may go without contact with the meta leader (it may be starting) before its pod is deleted. */
const META_CONTACT_GRACE_MILLIS = 60_000;
/** How soon the same pod may be deleted again for staying out of the meta group. */
const META_REJOIN_PAUSE_MILLIS = 5 * 60_000;
/** Pods deleted to rejoin the meta group, by namespace/name, with when: one deletion per pause. */
const rejoined = new Map<string, number>();

/**
 * The meta group of a JetStream bus with a quorum of Ready pods, set right (see meta-group.ts):
 * servers scaled away removed from it, and the pod of a server left out of it deleted, so that its
 * server starts again and joins. A failure is a Warning Event and another try later.
 */
async function tendMetaGroup(
  ctx: ReconcileContext,
  bus: EventBusObject,
  resolved: ResolvedEventBus,
  statefulSet: string,
  replicas: number,
  secrets: BusSecrets,
): Promise<ReconcileResult> {
  const namespace = bus.metadata.namespace as string;
  const url = ctx.status.config(resolved, namespace).jetstream?.url;
  const tlsName = url === undefined ? undefined : /^[a-z]+:\/\/([^:/,]+)/.exec(url)?.[1];
  const where = `${namespace}/${resolved.name}`;
  try {
    const { removed, outside, unready } = await checkMetaGroup(ctx.client, {
      namespace,
      busName: resolved.name,
      statefulSet,
      replicas,
      secrets,
      ...(tlsName && { tlsName }),
    });
    if (removed.length > 0) {
      const message = `removed ${removed.join(", ")} from the JetStream meta group: scaled away, they would have counted toward its quorum for good`;
      ctx.log("info", "removed scaled-away peers", { bus: where, peers: removed });
      await ctx.recorder.record(bus, EventType.normal, EventReason.peersRemoved, message);
    }
    let waiting = false;
    for (const [key, at] of rejoined) if (Date.now() - at > META_REJOIN_PAUSE_MILLIS) rejoined.delete(key);
    for (const o of outside) {
      const key = `${namespace}/${o.pod}`;
      if (o.forMillis < (o.ready ? META_JOIN_GRACE_MILLIS : META_CONTACT_GRACE_MILLIS) || rejoined.has(key)) {
        waiting = true;
        continue;
      }
      rejoined.set(key, Date.now());
      await ctx.client.delete(Resources.pod, namespace, o.pod, { uid: o.uid });
      const state = o.ready ? "was Ready" : "has run without becoming Ready";
      const message = `pod ${o.pod} ${state} for ${Math.round(o.forMillis / 1000)} s but its server is not in the JetStream meta group (${o.evidence}; nats-server 2.10 can leave a server out of a cold start); deleted it so that its server starts again and joins`;
      ctx.log("warn", "server outside the meta group", { bus: where, pod: o.pod });
      await ctx.recorder.record(bus, EventType.warning, EventReason.metaGroupRejoin, message);
      waiting = true;
    }
    if (waiting) return { requeueAfterMillis: META_JOIN_GRACE_MILLIS / 2 };
    return unready > 0 ? { requeueAfterMillis: META_RETRY_MILLIS } : {};
  } catch (err) {
    const message = `could not read or set right the JetStream meta group: ${err instanceof Error ? err.message : String(err)}`;
    ctx.log("warn", "meta group check failed", { bus: where, error: message });
    await ctx.recorder.record(bus, EventType.warning, EventReason.peerRemovalFailed, message);
    return { requeueAfterMillis: META_RETRY_MILLIS };
  }
}

/** The changes `validateUpdate` refuses between the spec last applied (the StatefulSet's annotation) and this one. */
function refusedChanges(ctx: ReconcileContext, namespace: string, next: ResolvedEventBus, uid: string): Issue[] {
  for (const name of [jetStreamObjectNames(next.name).statefulSet, stanObjectNames(next.name).statefulSet]) {
    const sts = ctx.caches.owned.get("StatefulSet")?.get(namespace, name);
    // Only this bus's own StatefulSet counts: one left by an earlier bus of the same name does not.
    if (sts === undefined || !controlledBy(sts, uid)) continue;
    const text = sts.metadata.annotations?.[Annotation.appliedSpec];
    if (text === undefined) continue;
    let spec: unknown;
    try {
      spec = JSON.parse(text);
    } catch {
      continue;
    }
    const previous = validate({
      apiVersion: EVENTBUS_API_VERSION,
      kind: EVENTBUS_KIND,
      metadata: { name: next.name, ...(next.namespace && { namespace: next.namespace }) },
      spec,
    });
    if (previous.ok) return validateUpdate(previous.bus, next);
  }
  return [];
}

/** The bus's material: read back from its server Secret, or made now (once). */
async function busMaterial(
  ctx: ReconcileContext,
  bus: EventBusObject,
  resolved: ResolvedEventBus,
  secretName: string | undefined,
  clusterDomain: string | undefined,
): Promise<BusSecrets> {
  const namespace = bus.metadata.namespace as string;
  if (secretName !== undefined) {
    // The cache may lag behind a Secret just applied: ask the API server before making new material.
    const secret = ctx.caches.owned.get("Secret")?.get(namespace, secretName) ?? (await ctx.client.get(Resources.secret, namespace, secretName));
    const stored = secret === undefined ? undefined : readStoredMaterial(secret, resolved.spec.mode === "jetstream" && resolved.spec.tls);
    if (stored !== undefined) return stored;
  }
  const made = await generateBusMaterial(resolved, namespace, clusterDomain === undefined ? {} : { clusterDomain });
  if (secretName !== undefined) {
    const tls = made.tls !== undefined ? " and TLS certificates" : "";
    ctx.log("info", "generated secret material", { bus: `${namespace}/${resolved.name}`, secret: secretName });
    const names = resolved.spec.mode === "jetstream" ? jetStreamObjectNames(resolved.name) : stanObjectNames(resolved.name);
    const sts = ctx.caches.owned.get("StatefulSet")?.get(namespace, names.statefulSet);
    if (sts !== undefined && controlledBy(sts, bus.metadata.uid as string)) {
      // The bus ran with other material: its clients' credentials and its store's key change now.
      await ctx.recorder.record(
        bus,
        EventType.warning,
        EventReason.materialRegenerated,
        `Secret ${secretName} held no credentials: generated new credentials${tls} and a new encryption key; clients need the new ones, and a store encrypted with the old key cannot be read`,
      );
    } else {
      await ctx.recorder.record(bus, EventType.normal, EventReason.materialGenerated, `generated credentials${tls}, kept in Secret ${secretName}`);
    }
  }
  return made;
}

/** Deletes the objects this bus owns that are no longer rendered (a PDB after scaling to 1). */
async function prune(ctx: ReconcileContext, namespace: string, uid: string, desired: readonly KubeObject[]): Promise<void> {
  const keep = new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const rt of OWNED_TYPES) {
    const informer = ctx.caches.owned.get(rt.kind);
    for (const o of informer?.list() ?? []) {
      if (o.metadata.namespace !== namespace || !controlledBy(o, uid) || keep.has(`${rt.kind}/${o.metadata.name}`)) continue;
      await ctx.client.delete(rt, namespace, o.metadata.name, { uid: o.metadata.uid as string });
      informer?.forget(namespace, o.metadata.name);
      ctx.log("info", "deleted an object no longer needed", { object: `${rt.kind}/${namespace}/${o.metadata.name}` });
    }
  }
}
