/**
 * The reconcile of one EventBus, level-triggered: from the bus and the cached objects, make the
 * cluster what the bus says and write what was found into its status.
 *
 * - invalid spec → `Configured=False` (`InvalidSpec`, one `path: message` line per issue), nothing else touched;
 * - a change `validateUpdate` refuses (against the spec last applied, kept in an annotation of
 *   the StatefulSet) → `Configured=False` (`ImmutableFieldChanged`), objects left as they are;
 * - managed buses: secret material made once and kept in the server Secret, the rendered objects
 *   server-side applied (only those that differ from the cache), objects no longer rendered deleted,
 *   `Deployed`, `Ready` from the StatefulSet's `readyReplicas` (True from a quorum on: Argo Events
 *   deploys nothing while any condition is not True, and the bus works with a quorum);
 * - external JetStream: connect, apply the stream config, `Connected=True`; when that fails, no
 *   `Connected` condition but `phase: Degraded` and the error (Argo's pods may still reach the bus);
 *   external STAN: `Deployed=Skipped`;
 * - Kafka buses (`spec.kafka`, which Argo Events runs and eventbus does not): left alone, no
 *   finalizer, no status, no objects;
 * - deletion (finalizer `eventbus-controller`, Argo's): refused while EventSources or Sensors use the
 *   bus; else the owned objects are deleted, volume claims kept unless annotated, the finalizer removed.
 *
 * The status is written only when it differs from the bus's, so a quiet bus causes no writes.
 *
 * This file is the dispatcher: it picks the part that owns a bus's case and hands it a
 * {@link ReconcileContext}. The parts: `reconcile-managed.ts`, `reconcile-external.ts`,
 * `finalizer.ts`, and `status-writer.ts` for every status they write.
 */
import { validate, ConditionReason, ConditionType, type BusStatus } from "../../api/index.js";
import { EventReason, type EventRecorder } from "./events.js";
import { addFinalizer, finalize, type FinalizerOptions } from "./finalizer.js";
import type { KubeClient } from "./kube-client.js";
import type { BusCaches, ReconcileContext, ReconcileLog, ReconcileResult } from "./reconcile-context.js";
import { reconcileExternalJetStream, type ExternalOptions } from "./reconcile-external.js";
import { reconcileManaged, type ManagedOptions } from "./reconcile-managed.js";
import { FINALIZER, isKafkaBus, manifestOf } from "./reconcile-objects.js";
import { configured, skipped, StatusWriter } from "./status-writer.js";

// The names, types and pure helpers the controller and the package's entry read from here.
export type { BusCaches, ReconcileLog, ReconcileResult } from "./reconcile-context.js";
export {
  Annotation,
  controlledBy,
  FINALIZER,
  isKafkaBus,
  isSubset,
  keyOf,
  manifestOf,
  OWNED_TYPES,
  ownerKey,
  prepare,
  type EventBusObject,
} from "./reconcile-objects.js";

/** Options of {@link BusReconciler}; the options of each part are documented with it. */
export interface ReconcilerOptions extends ManagedOptions, ExternalOptions, FinalizerOptions {
  readonly client: KubeClient;
  readonly caches: BusCaches;
  readonly recorder: EventRecorder;
  /** @default Date.now */
  readonly now?: () => number;
  readonly log?: ReconcileLog;
}

/** Reconciles EventBuses, one key (`namespace/name`) at a time. */
export class BusReconciler {
  private readonly ctx: ReconcileContext;
  /** Kafka buses already logged as skipped. */
  private readonly skipped = new Set<string>();

  constructor(private readonly options: ReconcilerOptions) {
    const log: ReconcileLog = (level, message, fields) => options.log?.(level, message, fields);
    const status = new StatusWriter({
      client: options.client,
      buses: options.caches.buses,
      recorder: options.recorder,
      log,
      now: options.now ?? Date.now,
      ...(options.clusterDomain !== undefined && { clusterDomain: options.clusterDomain }),
    });
    this.ctx = { client: options.client, caches: options.caches, recorder: options.recorder, log, status };
  }

  /** Whether a bus's status is the one this controller last wrote (its watch event needs no reconcile). */
  isOwnStatus(key: string, status: BusStatus | undefined): boolean {
    return this.ctx.status.isOwn(key, status);
  }

  /** Reconciles one bus. Throws on failures worth a retry with backoff. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const ctx = this.ctx;
    const [namespace, name] = splitKey(key);
    const bus = ctx.caches.buses.get(namespace, name);
    if (bus === undefined) {
      ctx.status.forget(key);
      this.skipped.delete(key);
      return {};
    }
    if (isKafkaBus(bus)) {
      // Argo Events' own controller runs Kafka buses; a status, finalizer or "invalid" here would fight it.
      if (!this.skipped.has(key)) ctx.log("info", "skipping a Kafka bus (spec.kafka): eventbus runs NATS buses only", { bus: key });
      this.skipped.add(key);
      return {};
    }
    this.skipped.delete(key);
    if (bus.metadata.deletionTimestamp !== undefined) return finalize(ctx, bus, this.options);
    const current = (bus.metadata.finalizers ?? []).includes(FINALIZER) ? bus : await addFinalizer(ctx, bus);

    const result = validate(manifestOf(current));
    if (!result.ok) {
      await ctx.status.refuse(current, ConditionReason.invalidSpec, EventReason.invalidSpec, result.issues);
      return {};
    }
    const resolved = result.bus;
    switch (resolved.spec.mode) {
      case "jetstream":
      case "nats.native":
        return reconcileManaged(ctx, current, resolved, this.options);
      case "jetstreamExotic":
        return reconcileExternalJetStream(ctx, current, resolved, resolved.spec, this.options);
      case "nats.exotic":
        await ctx.status.write(current, [configured(), skipped()], ctx.status.config(resolved, namespace), [ConditionType.ready, ConditionType.connected]);
        return {};
    }
  }
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}
