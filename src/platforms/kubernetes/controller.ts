/**
 * The EventBus controller: informers on EventBuses (one namespace or all) and on the objects the
 * buses own, a work queue of bus keys, workers that reconcile them while this process leads (a
 * Lease), and metrics. Level-triggered: every change of a bus or of an object it owns queues the
 * bus, and a reconcile makes everything right from the caches, whatever the change was.
 */
import { ConditionReason } from "../../api/index.js";
import type { BackoffPolicy } from "../../client/index.js";
import { CONTROLLER_METRICS, type Sample } from "../../observe/index.js";
import { EventRecorder, EventType } from "./events.js";
import type { ImagesTable } from "./images.js";
import { KubeClient, type KubeResource, type RequestRecord } from "./kube-client.js";
import type { KubeConnection } from "./kube-config.js";
import { LeaderElector, type LeaderElectionOptions } from "./leader-election.js";
import { MetricsRegistry, type Counter, type Histogram } from "./metrics.js";
import { CONTROLLER_LABEL_VALUE, LabelKey } from "./objects.js";
import { BusReconciler, keyOf, OWNED_TYPES, ownerKey, type EventBusObject, type ReconcileResult } from "./reconcile.js";
import { Resources } from "./resources.js";
import { stableJson } from "./status.js";
import { ARGO_DEPLOYED_REASON, argoDeployedMessage, foreignStatefulSet, isOwnedBus, OWNERSHIP_ANNOTATION, OWNERSHIP_VALUE } from "./takeover.js";
import { Informer, type Delay, type InformerLogEntry } from "./watch.js";
import { WorkQueue, type Clock } from "./work-queue.js";

/** The verbs that change something on the API server. */
export const WRITE_VERBS = ["apply", "create", "update", "patch", "delete"] as const;

/** A log line of the controller. */
export interface ControllerLogEntry {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
  readonly [field: string]: unknown;
}

/** Options of {@link Controller}. */
export interface ControllerOptions {
  /** The API server and credentials. */
  readonly connection: KubeConnection;
  /** Watch EventBuses of this namespace only. @default all namespaces */
  readonly namespace?: string;
  /**
   * Reconcile every EventBus, not only those annotated {@link OWNERSHIP_ANNOTATION}: for clusters
   * without Argo Events' EventBus controller. A bus whose StatefulSet Argo's controller made is
   * still left alone (reported once), until `eventbus takeover`.
   * @default false
   */
  readonly all?: boolean;
  /** @default defaultImages() */
  readonly images?: ImagesTable;
  /** The image of scheduled backups' CronJobs: the controller's own (`--eventbus-image`). @default DEFAULT_CONTROLLER_IMAGE */
  readonly eventbusImage?: string;
  /** Buses reconciled at once. @default 4 */
  readonly workers?: number;
  /**
   * Leader election on a Lease; `false` reconciles at once, alone (tests, one replica).
   * @default false
   */
  readonly leaderElection?: false | Omit<LeaderElectionOptions, "onStartedLeading" | "onStoppedLeading" | "onNewLeader" | "log">;
  /** Backoff of failed lists and watches. @default 250 ms doubling to 30 s */
  readonly watchBackoff?: BackoffPolicy;
  /** Backoff of failed reconciles, per bus. @default 250 ms doubling to 60 s */
  readonly retry?: { readonly baseDelayMillis?: number; readonly maxDelayMillis?: number };
  /** Injectable waiting (watch backoff, leader election). */
  readonly delay?: Delay;
  /** Injectable clock of the work queue. */
  readonly clock?: Clock;
  /** @see ReconcilerOptions */
  readonly connectTimeoutMillis?: number;
  readonly exoticRecheckMillis?: number;
  /** The cluster's DNS domain in `status.config` URLs and new certificates. @default none: `<svc>.<ns>.svc`, as Argo Events */
  readonly clusterDomain?: string;
  readonly deletionRecheckMillis?: number;
  readonly log?: (entry: ControllerLogEntry) => void;
}

/** The controller's metrics. */
export interface ControllerMetrics {
  readonly registry: MetricsRegistry;
  /** Reconciles by `result`: `success`, `error`, `requeue`. */
  readonly reconciles: Counter;
  readonly reconcileErrors: Counter;
  readonly reconcileDuration: Histogram;
  /** API requests by `verb`, `resource` and `code`. */
  readonly requests: Counter;
}

type ControllerMetricName = (typeof CONTROLLER_METRICS)[number]["name"];

/** The help text of a controller metric, from the catalog. */
const help = (name: ControllerMetricName): string => CONTROLLER_METRICS.find((m) => m.name === name)!.help;

/** The statuses a condition can have; `eventbus_bus_condition` has a series for each. */
const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;

/** `eventbus_bus_ready` and `eventbus_bus_condition` of the buses in the cache, sorted by namespace and name. */
export function busConditionSamples(buses: readonly EventBusObject[]): { ready: Sample[]; conditions: Sample[] } {
  const ready: Sample[] = [];
  const conditions: Sample[] = [];
  const sorted = [...buses].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  for (const bus of sorted) {
    const labels = { namespace: bus.metadata.namespace ?? "", bus: bus.metadata.name ?? "" };
    const list = bus.status?.conditions ?? [];
    // Whole, not only working: a bus with a quorum of its servers is Ready=True (QuorumReady) but 0 here.
    ready.push({ labels, value: list.some((c) => c.type === "Ready" && c.status === "True" && c.reason !== ConditionReason.quorumReady) ? 1 : 0 });
    for (const c of list) {
      for (const status of CONDITION_STATUSES) conditions.push({ labels: { ...labels, type: c.type, status }, value: c.status === status ? 1 : 0 });
    }
  }
  return { ready, conditions };
}

/** Creates the metrics; the gauges read the controller when scraped. */
function createMetrics(read: { depth: () => number; leader: () => number; buses: () => readonly EventBusObject[] }): ControllerMetrics {
  const registry = new MetricsRegistry();
  const metrics = {
    registry,
    reconciles: registry.counter("eventbus_controller_reconcile_total", help("eventbus_controller_reconcile_total")),
    reconcileErrors: registry.counter("eventbus_controller_reconcile_errors_total", help("eventbus_controller_reconcile_errors_total")),
    reconcileDuration: registry.histogram("eventbus_controller_reconcile_duration_seconds", help("eventbus_controller_reconcile_duration_seconds")),
    requests: registry.counter("eventbus_controller_kube_requests_total", help("eventbus_controller_kube_requests_total")),
  };
  registry.gauge("eventbus_controller_workqueue_depth", help("eventbus_controller_workqueue_depth"), read.depth);
  registry.gauge("eventbus_controller_is_leader", help("eventbus_controller_is_leader"), read.leader);
  registry.gauge("eventbus_controller_eventbuses", help("eventbus_controller_eventbuses"), () => read.buses().length);
  registry.gaugeFamily("eventbus_bus_ready", help("eventbus_bus_ready"), () => busConditionSamples(read.buses()).ready);
  registry.gaugeFamily("eventbus_bus_condition", help("eventbus_bus_condition"), () => busConditionSamples(read.buses()).conditions);
  return metrics;
}

/** The EventBus controller. Start it, and stop (or dispose) it to end every loop and request. */
export class Controller implements AsyncDisposable {
  readonly metrics: ControllerMetrics;
  readonly client: KubeClient;
  private readonly queue: WorkQueue;
  private readonly buses: Informer<EventBusObject>;
  private readonly owned = new Map<string, Informer>();
  private readonly reconciler: BusReconciler;
  private readonly elector: LeaderElector | undefined;
  private leading = false;
  private leadershipWaiters: (() => void)[] = [];
  private stopped = false;
  private started = false;
  private workers: Promise<void>[] = [];
  private readonly recorder: EventRecorder;
  /** Buses already logged as not given to this controller, or as deployed by Argo's. */
  private readonly passedOver = new Map<string, "unselected" | "argo">();

  constructor(private readonly options: ControllerOptions) {
    this.metrics = createMetrics({
      depth: () => this.queue.length,
      leader: () => (this.leading ? 1 : 0),
      buses: () => this.buses.list(),
    });
    this.client = new KubeClient(options.connection, {
      onRequest: (r: RequestRecord) => this.metrics.requests.inc({ verb: r.verb, resource: r.resource, code: String(r.status) }),
    });
    this.queue = new WorkQueue({ ...options.retry, ...(options.clock && { clock: options.clock }) });
    const informerOptions = {
      ...(options.watchBackoff && { backoff: options.watchBackoff }),
      ...(options.delay && { delay: options.delay }),
      log: (e: InformerLogEntry) =>
        this.log(
          e.event === "error" ? "warn" : "debug",
          `watch ${e.resource}: ${e.message}`,
          e.retryInMillis !== undefined ? { retryInMillis: e.retryInMillis } : {},
        ),
    };
    const namespace = options.namespace !== undefined ? { namespace: options.namespace } : {};
    this.buses = new Informer<EventBusObject>(this.client, Resources.eventBus, {
      ...informerOptions,
      ...namespace,
      onAdd: (bus) => this.queue.add(keyOf(bus)),
      onUpdate: (bus, old) => {
        if (!this.isOwnStatusUpdate(bus, old)) this.queue.add(keyOf(bus));
      },
      onDelete: (bus) => this.queue.add(keyOf(bus)),
    });
    for (const rt of OWNED_TYPES) {
      const enqueueOwner = (o: KubeResource) => {
        const key = ownerKey(o);
        if (key !== undefined) this.queue.add(key);
      };
      this.owned.set(
        rt.kind,
        new Informer(this.client, rt, {
          ...informerOptions,
          ...namespace,
          labelSelector: `${LabelKey.controller}=${CONTROLLER_LABEL_VALUE}`,
          onAdd: enqueueOwner,
          onUpdate: enqueueOwner,
          onDelete: enqueueOwner,
        }),
      );
    }
    const recorder = new EventRecorder(this.client, { log: (message) => this.log("warn", message) });
    this.recorder = recorder;
    this.reconciler = new BusReconciler({
      client: this.client,
      caches: { buses: this.buses, owned: this.owned },
      recorder,
      ...(options.images && { images: options.images }),
      ...(options.eventbusImage !== undefined && { eventbusImage: options.eventbusImage }),
      ...(options.connectTimeoutMillis !== undefined && { connectTimeoutMillis: options.connectTimeoutMillis }),
      ...(options.exoticRecheckMillis !== undefined && { exoticRecheckMillis: options.exoticRecheckMillis }),
      ...(options.clusterDomain !== undefined && { clusterDomain: options.clusterDomain }),
      ...(options.deletionRecheckMillis !== undefined && { deletionRecheckMillis: options.deletionRecheckMillis }),
      log: (level, message, fields) => this.log(level, message, fields),
    });
    if (options.leaderElection) {
      this.elector = new LeaderElector(this.client, {
        ...options.leaderElection,
        ...(options.delay && options.leaderElection.delay === undefined && { delay: options.delay }),
        onStartedLeading: () => this.setLeading(true),
        onStoppedLeading: () => this.setLeading(false),
        onNewLeader: (identity) => this.log("info", "leader", { identity }),
        log: (message) => this.log("warn", message),
      });
    }
  }

  /** Whether this process reconciles now (it holds the Lease, or runs without leader election). */
  get isLeader(): boolean {
    return this.leading;
  }

  /** This process's leader election identity, when it competes. */
  get identity(): string | undefined {
    return this.elector?.identity;
  }

  /** Whether every informer has listed once. */
  get hasSynced(): boolean {
    return this.buses.hasSynced && [...this.owned.values()].every((i) => i.hasSynced);
  }

  /** Keys waiting, in flight and delayed: 0 when the controller has nothing to do. */
  get pending(): number {
    return this.queue.length + this.queue.inFlight;
  }

  /**
   * API writes so far (applies, creates, updates, patches, deletes), whatever their answer, except
   * the leader election's Lease renewals.
   */
  get writes(): number {
    return this.metrics.requests.sum((l) => (WRITE_VERBS as readonly string[]).includes(l["verb"] ?? "") && l["resource"] !== Resources.lease.plural);
  }

  /**
   * Starts the informers and waits until they have listed once, then competes for the lease (or
   * leads at once) and starts the workers.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.buses.start();
    for (const informer of this.owned.values()) informer.start();
    await Promise.all([this.buses.synced(), ...[...this.owned.values()].map((i) => i.synced())]);
    if (this.stopped) return;
    const workers = Math.max(1, this.options.workers ?? 4);
    for (let i = 0; i < workers; i++) this.workers.push(this.work());
    if (this.elector !== undefined) this.elector.start();
    else this.setLeading(true);
    this.log("info", "started", {
      namespace: this.options.namespace ?? "(all)",
      workers,
      leaderElection: this.elector !== undefined,
      buses: this.options.all ? "all" : `annotated ${OWNERSHIP_ANNOTATION}: ${OWNERSHIP_VALUE}`,
    });
  }

  /** Stops leading (giving the Lease up), the workers (after their current reconcile) and the informers. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.shutDown();
    for (const resolve of this.leadershipWaiters.splice(0)) resolve();
    // The reconciles in flight end before the Lease is given up, so two leaders never overlap.
    await Promise.all(this.workers);
    await this.elector?.stop();
    this.leading = false;
    await Promise.all([this.buses.stop(), ...[...this.owned.values()].map((i) => i.stop())]);
    this.client.close();
    this.log("info", "stopped");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Prometheus text of the metrics. */
  renderMetrics(): string {
    return this.metrics.registry.render();
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      if (!this.leading) {
        await new Promise<void>((resolve) => this.leadershipWaiters.push(resolve));
        continue;
      }
      const key = await this.queue.get();
      if (key === undefined) return;
      if (!this.leading) {
        // Lost the lease while waiting: leave the key for whoever leads next here.
        this.queue.done(key);
        this.queue.add(key);
        continue;
      }
      await this.process(key);
    }
  }

  /**
   * Whether the bus is this controller's to reconcile: annotated {@link OWNERSHIP_ANNOTATION} (or
   * any bus with `all`), and not deployed by another controller. A bus passed over gets nothing
   * written (no status, finalizer, objects) but one log line; one deployed by Argo's controller
   * also one Event, since someone gave it to eventbus (or runs it with `all`) and should know why
   * nothing happens. A bus gone from the cache goes to the reconcile, which forgets it.
   */
  private async isSelected(key: string): Promise<boolean> {
    const slash = key.indexOf("/");
    const bus = this.buses.get(key.slice(0, slash), key.slice(slash + 1));
    if (bus === undefined) {
      this.passedOver.delete(key);
      return true;
    }
    if (!this.options.all && !isOwnedBus(bus)) {
      if (this.passedOver.get(key) !== "unselected") {
        this.log("info", `not reconciled: not annotated ${OWNERSHIP_ANNOTATION}: ${OWNERSHIP_VALUE} (and the controller runs without --all)`, { bus: key });
      }
      this.passedOver.set(key, "unselected");
      return false;
    }
    const sts = foreignStatefulSet(bus, (name) => this.owned.get("StatefulSet")?.get(bus.metadata.namespace as string, name));
    if (sts !== undefined) {
      if (this.passedOver.get(key) !== "argo") {
        const message = argoDeployedMessage(bus, sts);
        this.log("warn", "not reconciled: deployed by Argo Events' controller", { bus: key, statefulSet: sts.metadata.name });
        await this.recorder.record(bus, EventType.warning, ARGO_DEPLOYED_REASON, message);
      }
      this.passedOver.set(key, "argo");
      return false;
    }
    this.passedOver.delete(key);
    return true;
  }

  private async process(key: string): Promise<void> {
    if (!(await this.isSelected(key))) {
      this.queue.done(key);
      this.queue.forget(key);
      return;
    }
    const started = performance.now();
    let result: ReconcileResult;
    try {
      result = await this.reconciler.reconcile(key);
    } catch (err) {
      const delay = this.queue.addRateLimited(key);
      this.metrics.reconciles.inc({ result: "error" });
      this.metrics.reconcileErrors.inc();
      this.log("error", "reconcile failed", { bus: key, error: err instanceof Error ? err.message : String(err), retryInMillis: delay });
      return;
    } finally {
      this.metrics.reconcileDuration.observe((performance.now() - started) / 1000);
      this.queue.done(key);
    }
    if (result.retry) {
      this.queue.addRateLimited(key);
      this.metrics.reconciles.inc({ result: "requeue" });
      return;
    }
    this.queue.forget(key);
    if (result.requeueAfterMillis !== undefined) this.queue.addAfter(key, result.requeueAfterMillis);
    this.metrics.reconciles.inc({ result: "success" });
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.log("info", leading ? "leading: reconciling EventBuses" : "not leading: reconciling stopped", this.elector ? { identity: this.elector.identity } : {});
    if (leading) {
      // A new leader checks every bus once: the last one may have left work undone.
      for (const bus of this.buses.list()) this.queue.add(keyOf(bus));
      for (const resolve of this.leadershipWaiters.splice(0)) resolve();
    }
  }

  /** A bus update that only carries the status this controller wrote needs no reconcile. */
  private isOwnStatusUpdate(bus: EventBusObject, old: EventBusObject): boolean {
    const meta = (o: EventBusObject) => {
      const { resourceVersion: _rv, managedFields: _mf, ...rest } = o.metadata;
      return stableJson(rest);
    };
    return stableJson(bus.spec) === stableJson(old.spec) && meta(bus) === meta(old) && this.reconciler.isOwnStatus(keyOf(bus), bus.status);
  }

  private log(level: ControllerLogEntry["level"], message: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.({ level, message, ...fields });
  }
}
