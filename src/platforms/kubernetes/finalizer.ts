/**
 * The deletion of a bus, held by its finalizer (`eventbus-controller`, the name Argo Events'
 * controller uses) until nothing needs the bus any more: while EventSources or Sensors still use
 * it, deleting it would cut them off, so the deletion waits and says why. Then the objects the bus
 * owns are deleted; its volume claims hold its messages, so they are kept unless the bus is
 * annotated to delete them.
 */
import { ConditionReason, ConditionType, jetStreamObjectNames, stanObjectNames } from "../../api/index.js";
import { EventReason, EventType } from "./events.js";
import type { KubeResource } from "./kube-client.js";
import { isNotFound } from "./kube-errors.js";
import { LabelKey } from "./objects.js";
import type { ReconcileContext, ReconcileResult } from "./reconcile-context.js";
import { Annotation, controlledBy, FINALIZER, keyOf, OWNED_TYPES, type EventBusObject } from "./reconcile-objects.js";
import { resourcePath, Resources, type ResourceType } from "./resources.js";

/** What the finalizer takes from the reconciler's options. */
export interface FinalizerOptions {
  /** How often a deletion blocked by EventSources or Sensors is checked again. @default 30000 */
  readonly deletionRecheckMillis?: number;
}

/** The deletion of a bus marked for deletion: refused while it is used, else its objects deleted and the finalizer removed. */
export async function finalize(ctx: ReconcileContext, bus: EventBusObject, options: FinalizerOptions): Promise<ReconcileResult> {
  if (!(bus.metadata.finalizers ?? []).includes(FINALIZER)) return {};
  const namespace = bus.metadata.namespace as string;
  const name = bus.metadata.name;
  const users = await busUsers(ctx, namespace, name);
  if (users.length > 0) {
    const message = `the bus is used by ${users.join(", ")}; delete them or point them at another bus (spec.eventBusName)`;
    await ctx.status.write(bus, [{ type: ConditionType.deleting, status: "False", reason: ConditionReason.inUse, message }], bus.status?.config, []);
    await ctx.recorder.record(bus, EventType.warning, EventReason.deletionBlocked, message);
    return { requeueAfterMillis: options.deletionRecheckMillis ?? 30_000 };
  }

  const uid = bus.metadata.uid as string;
  const selector = `${LabelKey.eventBusName}=${name}`;
  const claims = await ctx.client.list(Resources.persistentVolumeClaim, { namespace, labelSelector: `${LabelKey.controller}=${FINALIZER},${selector}` });
  const claimNames = claims.items.map((c) => c.metadata.name);
  const deleteVolumes = bus.metadata.annotations?.[Annotation.deleteVolumes] === "true";
  // Kept claims are kept with the server Secret: it holds the key of the encrypted store, and the
  // credentials and certificates its clients have. Without it a bus applied again under the same
  // name made a new key, and its servers could not read their store (exit 1, CrashLoopBackOff).
  const keptSecrets = claimNames.length > 0 && !deleteVolumes ? new Set(materialSecretNames(name)) : new Set<string>();
  const deleted: string[] = [];
  const kept: string[] = [];
  for (const rt of [...OWNED_TYPES].reverse()) {
    const live = await ctx.client.list(rt, { namespace, labelSelector: selector });
    for (const o of live.items) {
      if (!controlledBy(o, uid)) continue;
      if (rt.kind === "Secret" && keptSecrets.has(o.metadata.name)) {
        await orphan(ctx, rt, o);
        kept.push(o.metadata.name);
      } else if (await ctx.client.delete(rt, namespace, o.metadata.name, { uid: o.metadata.uid as string })) deleted.push(`${rt.kind}/${o.metadata.name}`);
      ctx.caches.owned.get(rt.kind)?.forget(namespace, o.metadata.name);
    }
  }
  // The Secrets kept with the claims, also when an earlier run of this deletion orphaned them (the
  // finalizer's removal failed and it ran again): the Event's text stays the same.
  for (const secret of keptSecrets) {
    if (!kept.includes(secret) && (await ctx.client.get(Resources.secret, namespace, secret)) !== undefined) kept.push(secret);
  }
  if (claimNames.length > 0) {
    if (deleteVolumes) {
      for (const c of claims.items) await ctx.client.delete(Resources.persistentVolumeClaim, namespace, c.metadata.name, { uid: c.metadata.uid as string });
      await ctx.recorder.record(
        bus,
        EventType.normal,
        EventReason.volumesDeleted,
        `deleted volume claims ${claimNames.join(", ")} (${Annotation.deleteVolumes}: "true")`,
      );
    } else {
      await ctx.recorder.record(
        bus,
        EventType.normal,
        EventReason.volumesKept,
        `kept volume claims ${claimNames.join(", ")} with the bus's messages${kept.length > 0 ? `, and Secret ${kept.join(", ")} with the key of their encrypted store (a bus applied again under this name reads them)` : ""}; delete them by hand, or annotate the bus ${Annotation.deleteVolumes}: "true" before deleting it`,
      );
    }
  }
  await ctx.recorder.record(bus, EventType.normal, EventReason.deleted, deleted.length > 0 ? `deleted ${deleted.join(", ")}` : "nothing to delete");
  ctx.log("info", "deleted", {
    bus: `${namespace}/${name}`,
    objects: deleted,
    keptClaims: deleteVolumes ? [] : claimNames,
    keptSecrets: kept,
  });
  await removeFinalizer(ctx, bus);
  return {};
}

/** The Secrets that may keep a bus's material (its JetStream or its STAN server Secret). */
function materialSecretNames(busName: string): string[] {
  return [jetStreamObjectNames(busName).serverSecret, stanObjectNames(busName).serverSecret];
}

/**
 * Lets an object outlive its bus: its owner references removed (a JSON merge patch, checked
 * against its resourceVersion), so that Kubernetes' garbage collector leaves it when the bus goes.
 */
async function orphan(ctx: ReconcileContext, rt: ResourceType, o: KubeResource): Promise<void> {
  await ctx.client.json("PATCH", resourcePath(rt, o.metadata.namespace, o.metadata.name), {
    verb: "patch",
    resource: rt.plural,
    body: { metadata: { ownerReferences: null, resourceVersion: o.metadata.resourceVersion } },
    contentType: "application/merge-patch+json",
  });
}

/** The EventSources and Sensors of the namespace that use the bus; none when Argo Events' CRDs are not installed. */
async function busUsers(ctx: ReconcileContext, namespace: string, busName: string): Promise<string[]> {
  const users: string[] = [];
  for (const rt of [Resources.eventSource, Resources.sensor]) {
    let items: KubeResource[];
    try {
      items = (await ctx.client.list(rt, { namespace })).items;
    } catch (err) {
      if (isNotFound(err)) continue; // the CRD is not installed
      throw err;
    }
    for (const item of items) {
      const used = (item["spec"] as { eventBusName?: string } | undefined)?.eventBusName || "default";
      if (used === busName) users.push(`${rt.kind}/${item.metadata.name}`);
    }
  }
  return users;
}

/** Adds the finalizer, so that a deletion waits for {@link finalize}; returns the bus as updated. */
export async function addFinalizer(ctx: ReconcileContext, bus: EventBusObject): Promise<EventBusObject> {
  const updated = await ctx.client.json<EventBusObject>("PATCH", busPath(bus), {
    verb: "patch",
    resource: Resources.eventBus.plural,
    // The resourceVersion makes the patch fail (409) when another writer changed the list meanwhile.
    body: { metadata: { finalizers: [...(bus.metadata.finalizers ?? []), FINALIZER], resourceVersion: bus.metadata.resourceVersion } },
    contentType: "application/merge-patch+json",
  });
  ctx.caches.buses.remember(updated);
  return updated;
}

async function removeFinalizer(ctx: ReconcileContext, bus: EventBusObject): Promise<void> {
  try {
    await ctx.client.json("PATCH", busPath(bus), {
      verb: "patch",
      resource: Resources.eventBus.plural,
      body: { metadata: { finalizers: (bus.metadata.finalizers ?? []).filter((f) => f !== FINALIZER), resourceVersion: bus.metadata.resourceVersion } },
      contentType: "application/merge-patch+json",
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  ctx.status.forget(keyOf(bus));
}

function busPath(bus: EventBusObject): string {
  return resourcePath(Resources.eventBus, bus.metadata.namespace, bus.metadata.name);
}
