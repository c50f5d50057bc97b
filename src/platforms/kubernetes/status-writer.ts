/**
 * The one writer of EventBus statuses. Every status write is a watch event on the bus, which would
 * reconcile it again: so the status is written only when it differs from the bus's (a quiet bus
 * causes no writes), and what was written is remembered, so that the controller can tell its own
 * writes from others' changes ({@link StatusWriter.isOwn}). Each part of the reconcile sets only
 * the conditions it knows about; they are merged over the bus's current ones.
 */
import {
  EVENTBUS_API_VERSION,
  EVENTBUS_KIND,
  formatIssue,
  type Issue,
  type ResolvedEventBus,
  ConditionReason,
  ConditionType,
  mergeConditions,
  phaseOf,
  type BusStatus,
  type Condition,
  type DesiredCondition,
  type StatusConfig,
} from "../../api/index.js";
import { EventType, type EventRecorder } from "./events.js";
import type { KubeClient } from "./kube-client.js";
import { isConflict, isNotFound } from "./kube-errors.js";
import type { ReconcileLog } from "./reconcile-context.js";
import { keyOf, type EventBusObject } from "./reconcile-objects.js";
import { sameStatus, stableJson, statusConfig } from "./status.js";
import type { Informer } from "./watch.js";

/** Options of {@link StatusWriter}. */
export interface StatusWriterOptions {
  readonly client: KubeClient;
  /** The buses' cache, told of each status written so that the next reconcile reads it. */
  readonly buses: Informer<EventBusObject>;
  readonly recorder: EventRecorder;
  readonly log: ReconcileLog;
  /** The clock of the conditions' `lastTransitionTime`. */
  readonly now: () => number;
  /** The cluster's DNS domain in `status.config` URLs. @default none: `<svc>.<ns>.svc`, as Argo Events */
  readonly clusterDomain?: string;
}

/** Writes the status of EventBuses and remembers what it wrote, per bus. */
export class StatusWriter {
  /** The status last written per bus, to tell our own status updates from others' changes. */
  private readonly written = new Map<string, string>();

  constructor(private readonly options: StatusWriterOptions) {}

  /** Whether a bus's status is the one last written here (its watch event needs no reconcile). */
  isOwn(key: string, status: BusStatus | undefined): boolean {
    return this.written.get(key) === stableJson(status ?? {});
  }

  /** Forgets what was written for a bus that is gone. */
  forget(key: string): void {
    this.written.delete(key);
  }

  /**
   * Writes the status when it differs from the bus's: the conditions set over the current ones, the
   * config, the generation, and `degraded` (why a working bus is not whole) as `message`.
   */
  async write(
    bus: EventBusObject,
    desired: readonly DesiredCondition[],
    config: BusStatus["config"],
    remove: readonly string[],
    degraded?: string,
  ): Promise<void> {
    const current = bus.status ?? {};
    const conditions: Condition[] = mergeConditions(current.conditions, desired, this.options.now(), remove);
    const status: BusStatus = {
      phase: phaseOf(conditions, degraded),
      ...(degraded !== undefined && { message: degraded }),
      conditions,
      ...(config !== undefined && { config }),
      ...(bus.metadata.generation !== undefined && { observedGeneration: bus.metadata.generation }),
    };
    const key = keyOf(bus);
    if (sameStatus(current, status)) {
      this.written.set(key, stableJson(status));
      return;
    }
    try {
      const updated = await this.options.client.apply<EventBusObject>(
        { apiVersion: EVENTBUS_API_VERSION, kind: EVENTBUS_KIND, metadata: { name: bus.metadata.name, namespace: bus.metadata.namespace as string }, status },
        { subresource: "status" },
      );
      this.written.set(key, stableJson(updated.status ?? {}));
      this.options.buses.remember(updated);
    } catch (err) {
      // Deleted meanwhile: nothing to report on.
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  /** `Configured=False` with the issues (one `path: message` line each), other conditions and the config kept. */
  async refuse(bus: EventBusObject, reason: string, eventReason: string, issues: readonly Issue[]): Promise<void> {
    const message = issues.map(formatIssue).join("\n");
    await this.write(bus, [{ type: ConditionType.configured, status: "False", reason, message }], bus.status?.config, []);
    this.options.log("warn", reason, { bus: keyOf(bus), issues: issues.map(formatIssue) });
    await this.options.recorder.record(bus, EventType.warning, eventReason, message);
  }

  /** `Deployed=False` with the failure. */
  async fail(bus: EventBusObject, reason: string, eventReason: string, message: string): Promise<void> {
    await this.write(bus, [configured(), { type: ConditionType.deployed, status: "False", reason, message }], bus.status?.config, []).catch(() => undefined);
    this.options.log("error", reason, { bus: keyOf(bus), message });
    await this.options.recorder.record(bus, EventType.warning, eventReason, message);
  }

  /** `status.config`, with the cluster domain of the options. */
  config(resolved: ResolvedEventBus, namespace: string): StatusConfig {
    return statusConfig(resolved, namespace, this.options.clusterDomain === undefined ? {} : { clusterDomain: this.options.clusterDomain });
  }
}

/** `Configured=True`: the spec is valid and the change accepted. */
export function configured(): DesiredCondition {
  return { type: ConditionType.configured, status: "True", reason: ConditionReason.succeeded };
}

/** `Deployed=True` with reason `Skipped`: eventbus runs no servers for an external bus. */
export function skipped(): DesiredCondition {
  // Argo Events' words.
  return { type: ConditionType.deployed, status: "True", reason: ConditionReason.skipped, message: "Skip deployment because of using exotic config." };
}
