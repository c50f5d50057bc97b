/**
 * What the parts of the reconcile (the managed bus, the external JetStream, the finalizer) are
 * handed by the dispatcher: the client, the caches, the event recorder, the log and the one status
 * writer. Passed in rather than read off one class, so that each part sees only these and none
 * reaches into another's state.
 */
import type { EventRecorder } from "./events.js";
import type { KubeClient } from "./kube-client.js";
import type { EventBusObject } from "./reconcile-objects.js";
import type { StatusWriter } from "./status-writer.js";
import type { Informer } from "./watch.js";

/** The caches the reconcile reads. */
export interface BusCaches {
  readonly buses: Informer<EventBusObject>;
  /** One informer per kind a bus owns (`OWNED_TYPES`), by kind. */
  readonly owned: ReadonlyMap<string, Informer>;
}

/** What to do with the key after a reconcile. */
export interface ReconcileResult {
  /** Reconcile again after this long (a periodic check). */
  readonly requeueAfterMillis?: number;
  /** Reconcile again after the key's backoff (a failure already reported in the status). */
  readonly retry?: boolean;
}

/** A log line of the reconciler. */
export type ReconcileLog = (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;

/** The shared context of one reconciler's parts. */
export interface ReconcileContext {
  readonly client: KubeClient;
  readonly caches: BusCaches;
  readonly recorder: EventRecorder;
  /** Always a function: one that drops the line when the reconciler was given no log. */
  readonly log: ReconcileLog;
  readonly status: StatusWriter;
}
