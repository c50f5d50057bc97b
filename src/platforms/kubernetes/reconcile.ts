/**
 * The reconcile of one EventBus, level-triggered: from the bus and the cached objects, make the
 * cluster what the bus says and write what was found into its status.
 *
 * - invalid spec → `Configured=False` (`InvalidSpec`, one `path: message` line per issue), nothing else touched;
 * - a change {@link validateUpdate} refuses (against the spec last applied, kept in an annotation of
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
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  EVENTBUS_API_VERSION,
  EVENTBUS_KIND,
  formatIssue,
  formatStreamConfig,
  IssueCode,
  jetStreamObjectNames,
  stanObjectNames,
  validate,
  validateUpdate,
  type Issue,
  type ResolvedEventBus,
  type ResolvedJetStreamExotic,
} from "../../api/index.js";
import { applyStreamConfig, connect, parseAuthFile, type AuthCredentials, type ClientTlsOptions } from "../../client/index.js";
import { isNatsConfError } from "../../natsconf/index.js";
import { isSecretsError, type BusSecrets } from "../../secrets/index.js";
import { isKubeError, KubeErrorCode } from "./errors.js";
import { EventReason, EventType, type EventRecorder } from "./events.js";
import type { ImagesTable } from "./images.js";
import type { KubeClient, KubeResource } from "./kube-client.js";
import { isConflict, isNotFound } from "./kube-errors.js";
import { generateBusMaterial } from "./material.js";
import { LabelKey, type KubeObject } from "./objects.js";
import {
  Annotation,
  controlledBy,
  FINALIZER,
  isKafkaBus,
  isSubset,
  keyOf,
  manifestOf,
  OWNED_TYPES,
  prepare,
  type EventBusObject,
} from "./reconcile-objects.js";
import { renderBusObjects } from "./render.js";
import { resourcePath, Resources } from "./resources.js";
import {
  ConditionReason,
  ConditionType,
  mergeConditions,
  phaseOf,
  readiness,
  sameStatus,
  stableJson,
  statusConfig,
  type BusStatus,
  type Condition,
  type DesiredCondition,
  type StatusConfig,
} from "./status.js";
import { materialSecretName, readStoredMaterial, StoredMaterialError, withStoredMaterial } from "./stored-material.js";
import type { Informer } from "./watch.js";

// The names and pure helpers the controller and the package's entry read from here.
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

/** The caches the reconcile reads. */
export interface BusCaches {
  readonly buses: Informer<EventBusObject>;
  /** One informer per kind of {@link OWNED_TYPES}, by kind. */
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

/** Options of {@link BusReconciler}. */
export interface ReconcilerOptions {
  readonly client: KubeClient;
  readonly caches: BusCaches;
  readonly recorder: EventRecorder;
  /** @default defaultImages() */
  readonly images?: ImagesTable;
  /** The image of scheduled backups' CronJobs (the controller's). @default DEFAULT_CONTROLLER_IMAGE */
  readonly eventbusImage?: string;
  /** How long the first connection to an external bus may take. @default 10000 */
  readonly connectTimeoutMillis?: number;
  /** How often an external JetStream bus is checked again. @default 300000 */
  readonly exoticRecheckMillis?: number;
  /** How often a deletion blocked by EventSources or Sensors is checked again. @default 30000 */
  readonly deletionRecheckMillis?: number;
  /** The cluster's DNS domain in `status.config` URLs. @default none: `<svc>.<ns>.svc`, as Argo Events */
  readonly clusterDomain?: string;
  /** @default Date.now */
  readonly now?: () => number;
  readonly log?: ReconcileLog;
}

const OWNER_API_VERSION = EVENTBUS_API_VERSION;

/** Reconciles EventBuses, one key (`namespace/name`) at a time. */
export class BusReconciler {
  private readonly client: KubeClient;
  private readonly caches: BusCaches;
  private readonly now: () => number;
  /** The status last written per bus, to tell our own status updates from others' changes. */
  private readonly written = new Map<string, string>();
  /** Kafka buses already logged as skipped. */
  private readonly skipped = new Set<string>();

  constructor(private readonly options: ReconcilerOptions) {
    this.client = options.client;
    this.caches = options.caches;
    this.now = options.now ?? Date.now;
  }

  /** Whether a bus's status is the one this controller last wrote (its watch event needs no reconcile). */
  isOwnStatus(key: string, status: BusStatus | undefined): boolean {
    return this.written.get(key) === stableJson(status ?? {});
  }

  /** Reconciles one bus. Throws on failures worth a retry with backoff. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = splitKey(key);
    const bus = this.caches.buses.get(namespace, name);
    if (bus === undefined) {
      this.written.delete(key);
      this.skipped.delete(key);
      return {};
    }
    if (isKafkaBus(bus)) {
      // Argo Events' own controller runs Kafka buses; a status, finalizer or "invalid" here would fight it.
      if (!this.skipped.has(key)) this.log("info", "skipping a Kafka bus (spec.kafka): eventbus runs NATS buses only", { bus: key });
      this.skipped.add(key);
      return {};
    }
    this.skipped.delete(key);
    if (bus.metadata.deletionTimestamp !== undefined) return this.finalize(bus);
    const current = (bus.metadata.finalizers ?? []).includes(FINALIZER) ? bus : await this.addFinalizer(bus);

    const result = validate(manifestOf(current));
    if (!result.ok) {
      await this.refuse(current, ConditionReason.invalidSpec, EventReason.invalidSpec, result.issues);
      return {};
    }
    const resolved = result.bus;
    switch (resolved.spec.mode) {
      case "jetstream":
      case "nats.native":
        return this.reconcileManaged(current, resolved);
      case "jetstreamExotic":
        return this.reconcileExoticJetStream(current, resolved, resolved.spec);
      case "nats.exotic":
        await this.writeStatus(current, [configured(), skipped()], this.statusConfig(resolved, namespace), [ConditionType.ready, ConditionType.connected]);
        return {};
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Managed buses

  private async reconcileManaged(bus: EventBusObject, resolved: ResolvedEventBus): Promise<ReconcileResult> {
    const namespace = bus.metadata.namespace as string;
    const uid = bus.metadata.uid as string;
    const stsName = (resolved.spec.mode === "jetstream" ? jetStreamObjectNames(resolved.name) : stanObjectNames(resolved.name)).statefulSet;

    // A change the running bus cannot take is refused before anything is touched.
    const refused = this.refusedChanges(namespace, resolved, uid);
    if (refused.length > 0) {
      await this.refuse(bus, ConditionReason.immutableFieldChanged, EventReason.immutableFieldChanged, refused);
      return {};
    }

    let objects: KubeObject[];
    try {
      const secretName = materialSecretName(resolved);
      const material = await this.material(bus, resolved, secretName);
      const owner = { apiVersion: OWNER_API_VERSION, kind: EVENTBUS_KIND, name: resolved.name, uid };
      objects = withStoredMaterial(
        renderBusObjects(resolved, {
          namespace,
          images: this.options.images,
          secrets: material,
          owner,
          ...(this.options.eventbusImage !== undefined && { eventbusImage: this.options.eventbusImage }),
        }),
        secretName,
        material,
      ).map((o) => prepare(o, o.kind === "StatefulSet" ? { [Annotation.appliedSpec]: JSON.stringify(resolved.manifest.spec) } : {}));
    } catch (err) {
      if (isKubeError(err, KubeErrorCode.unknownImageVersion)) {
        await this.refuse(bus, ConditionReason.invalidSpec, EventReason.invalidSpec, [
          { path: "", message: (err as Error).message, code: IssueCode.invalidValue },
        ]);
        return {};
      }
      if (isKubeError(err) || isNatsConfError(err) || isSecretsError(err) || err instanceof StoredMaterialError) {
        await this.fail(bus, ConditionReason.renderFailed, EventReason.renderFailed, (err as Error).message);
        return { retry: true };
      }
      throw err;
    }

    // Apply what differs from the cache: the server Secret and the rest first, the StatefulSet last,
    // so that its pods find their config.
    const changed: string[] = [];
    const apply = async (o: KubeObject) => {
      const informer = this.caches.owned.get(o.kind);
      if (informer !== undefined && isSubset(o, informer.get(namespace, o.metadata.name))) return;
      const applied = await this.client.apply(o);
      informer?.remember(applied);
      changed.push(`${o.kind}/${o.metadata.name}`);
    };
    try {
      await Promise.all(objects.filter((o) => o.kind !== "StatefulSet").map(apply));
      for (const o of objects.filter((o) => o.kind === "StatefulSet")) await apply(o);
      await this.prune(namespace, uid, objects);
    } catch (err) {
      await this.fail(bus, ConditionReason.applyFailed, EventReason.applyFailed, err instanceof Error ? err.message : String(err));
      throw err;
    }
    if (changed.length > 0) {
      this.log("info", "applied", { bus: `${namespace}/${resolved.name}`, objects: changed });
      await this.options.recorder.record(bus, EventType.normal, EventReason.applied, `applied ${changed.join(", ")}`);
    }

    const sts = this.caches.owned.get("StatefulSet")?.get(namespace, stsName);
    const replicas = resolved.spec.mode === "jetstream" || resolved.spec.mode === "nats.native" ? resolved.spec.replicas : 0;
    const ready = Number((sts?.["status"] as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0);
    const what = resolved.spec.mode === "jetstream" ? "JetStream" : "NATS Streaming";
    const { condition: readyCondition, degraded } = readiness(ready, replicas);
    const before = bus.status?.conditions?.find((c) => c.type === ConditionType.ready);
    await this.writeStatus(
      bus,
      [configured(), { type: ConditionType.deployed, status: "True", reason: ConditionReason.succeeded, message: `${what} is deployed` }, readyCondition],
      this.statusConfig(resolved, namespace),
      [ConditionType.connected],
      degraded,
    );
    if (before?.reason !== readyCondition.reason) {
      // A transition between all servers, a quorum and less: once each, the message says how many.
      if (readyCondition.reason === ConditionReason.allServersReady)
        await this.options.recorder.record(bus, EventType.normal, EventReason.ready, readyCondition.message as string);
      else if (before?.status === "True") {
        await this.options.recorder.record(
          bus,
          EventType.warning,
          EventReason.serversNotReady,
          `${readyCondition.message}: ${degraded ?? "below a quorum the bus cannot store events"}`,
        );
      }
    }
    return {};
  }

  /** The changes `validateUpdate` refuses between the spec last applied (the StatefulSet's annotation) and this one. */
  private refusedChanges(namespace: string, next: ResolvedEventBus, uid: string): Issue[] {
    for (const name of [jetStreamObjectNames(next.name).statefulSet, stanObjectNames(next.name).statefulSet]) {
      const sts = this.caches.owned.get("StatefulSet")?.get(namespace, name);
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
  private async material(bus: EventBusObject, resolved: ResolvedEventBus, secretName: string | undefined): Promise<BusSecrets> {
    const namespace = bus.metadata.namespace as string;
    if (secretName !== undefined) {
      // The cache may lag behind a Secret just applied: ask the API server before making new material.
      const secret = this.caches.owned.get("Secret")?.get(namespace, secretName) ?? (await this.client.get(Resources.secret, namespace, secretName));
      const stored = secret === undefined ? undefined : readStoredMaterial(secret, resolved.spec.mode === "jetstream" && resolved.spec.tls);
      if (stored !== undefined) return stored;
    }
    const made = await generateBusMaterial(resolved, namespace, this.options.clusterDomain === undefined ? {} : { clusterDomain: this.options.clusterDomain });
    if (secretName !== undefined) {
      const tls = made.tls !== undefined ? " and TLS certificates" : "";
      this.log("info", "generated secret material", { bus: `${namespace}/${resolved.name}`, secret: secretName });
      const names = resolved.spec.mode === "jetstream" ? jetStreamObjectNames(resolved.name) : stanObjectNames(resolved.name);
      const sts = this.caches.owned.get("StatefulSet")?.get(namespace, names.statefulSet);
      if (sts !== undefined && controlledBy(sts, bus.metadata.uid as string)) {
        // The bus ran with other material: its clients' credentials and its store's key change now.
        await this.options.recorder.record(
          bus,
          EventType.warning,
          EventReason.materialRegenerated,
          `Secret ${secretName} held no credentials: generated new credentials${tls} and a new encryption key; clients need the new ones, and a store encrypted with the old key cannot be read`,
        );
      } else {
        await this.options.recorder.record(bus, EventType.normal, EventReason.materialGenerated, `generated credentials${tls}, kept in Secret ${secretName}`);
      }
    }
    return made;
  }

  /** Deletes the objects this bus owns that are no longer rendered (a PDB after scaling to 1). */
  private async prune(namespace: string, uid: string, desired: readonly KubeObject[]): Promise<void> {
    const keep = new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const rt of OWNED_TYPES) {
      const informer = this.caches.owned.get(rt.kind);
      for (const o of informer?.list() ?? []) {
        if (o.metadata.namespace !== namespace || !controlledBy(o, uid) || keep.has(`${rt.kind}/${o.metadata.name}`)) continue;
        await this.client.delete(rt, namespace, o.metadata.name, { uid: o.metadata.uid as string });
        informer?.forget(namespace, o.metadata.name);
        this.log("info", "deleted an object no longer needed", { object: `${rt.kind}/${namespace}/${o.metadata.name}` });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // External JetStream

  private async reconcileExoticJetStream(bus: EventBusObject, resolved: ResolvedEventBus, spec: ResolvedJetStreamExotic): Promise<ReconcileResult> {
    const namespace = bus.metadata.namespace as string;
    const config = this.statusConfig(resolved, namespace);
    const base = [configured(), skipped()];
    let tempDir: string | undefined;
    // The condition reason of a failure: the stream's step, or else the connection's.
    let failedStep: string = ConditionReason.connectionFailed;
    try {
      const auth =
        spec.accessSecret === undefined ? undefined : parseAuthFile(await this.secretValue(namespace, spec.accessSecret, "spec.jetstreamExotic.accessSecret"));
      let tls: ClientTlsOptions | undefined;
      if (spec.tls !== undefined) {
        tempDir = await mkdtemp(join(tmpdir(), "eventbus-controller-tls-"));
        const file = async (ref: { name?: string; key: string } | undefined, field: string, fileName: string) => {
          if (ref === undefined) return undefined;
          const path = join(tempDir as string, fileName);
          await writeFile(path, await this.secretValue(namespace, ref, field), { mode: 0o600 });
          return path;
        };
        const caFile = await file(spec.tls.caCertSecret, "spec.jetstreamExotic.tls.caCertSecret", "ca.pem");
        const certFile = await file(spec.tls.clientCertSecret, "spec.jetstreamExotic.tls.clientCertSecret", "cert.pem");
        const keyFile = await file(spec.tls.clientKeySecret, "spec.jetstreamExotic.tls.clientKeySecret", "key.pem");
        tls = { ...(caFile && { caFile }), ...(certFile && { certFile }), ...(keyFile && { keyFile }), ...(spec.tls.insecureSkipVerify && { insecure: true }) };
      }
      const client = await connect({
        servers: spec.urls.map((u) => u.url),
        ...(auth && { auth: auth as AuthCredentials }),
        ...(tls && { tls }),
        name: "eventbus-controller",
        timeoutMillis: this.options.connectTimeoutMillis ?? 10_000,
      });
      let outcome: Awaited<ReturnType<typeof applyStreamConfig>>;
      try {
        failedStep = ConditionReason.streamFailed;
        outcome = await applyStreamConfig(client.nc, formatStreamConfig(spec.streamConfig));
        failedStep = ConditionReason.connectionFailed;
      } finally {
        await client.close().catch(() => undefined);
      }
      if (outcome.action !== "unchanged") {
        const what = outcome.action === "created" ? "created the stream default" : `updated the stream default: ${outcome.changes.join(", ")}`;
        await this.options.recorder.record(bus, EventType.normal, EventReason.streamUpdated, what);
      }
      const wasConnected = bus.status?.conditions?.find((c) => c.type === ConditionType.connected)?.status === "True";
      await this.writeStatus(
        bus,
        [
          ...base,
          { type: ConditionType.connected, status: "True", reason: ConditionReason.connected, message: "connected; the stream default has the spec's config" },
        ],
        config,
        [ConditionType.ready],
      );
      if (!wasConnected)
        await this.options.recorder.record(bus, EventType.normal, EventReason.connected, `connected to ${spec.urls.map((u) => u.url).join(",")}`);
      return { requeueAfterMillis: this.options.exoticRecheckMillis ?? 300_000 };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // The controller is not on the pods' path to an external bus: failing to reach it does not make
      // it unusable, so no condition turns False (Argo Events would stop deploying Sensors).
      await this.writeStatus(bus, base, config, [ConditionType.ready, ConditionType.connected], `${failedStep}: ${message}`);
      await this.options.recorder.record(bus, EventType.warning, EventReason.connectionFailed, message);
      return { retry: true };
    } finally {
      if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
    }
  }

  /** The text of a Secret's key. @throws an error naming the Secret and key (never the value) */
  private async secretValue(namespace: string, ref: { name?: string; key: string }, field: string): Promise<string> {
    if (ref.name === undefined || ref.name === "") throw new Error(`${field}.name: is required to read the Secret`);
    const secret = await this.client.get(Resources.secret, namespace, ref.name);
    if (secret === undefined) throw new Error(`${field}: Secret ${namespace}/${ref.name} does not exist`);
    const value = (secret["data"] as Record<string, string> | undefined)?.[ref.key];
    if (value === undefined) throw new Error(`${field}: Secret ${namespace}/${ref.name} has no key ${JSON.stringify(ref.key)}`);
    return Buffer.from(value, "base64").toString("utf8");
  }

  // ---------------------------------------------------------------------------------------------
  // Deletion

  private async finalize(bus: EventBusObject): Promise<ReconcileResult> {
    if (!(bus.metadata.finalizers ?? []).includes(FINALIZER)) return {};
    const namespace = bus.metadata.namespace as string;
    const name = bus.metadata.name;
    const users = await this.busUsers(namespace, name);
    if (users.length > 0) {
      const message = `the bus is used by ${users.join(", ")}; delete them or point them at another bus (spec.eventBusName)`;
      await this.writeStatus(bus, [{ type: ConditionType.deleting, status: "False", reason: ConditionReason.inUse, message }], bus.status?.config, []);
      await this.options.recorder.record(bus, EventType.warning, EventReason.deletionBlocked, message);
      return { requeueAfterMillis: this.options.deletionRecheckMillis ?? 30_000 };
    }

    const uid = bus.metadata.uid as string;
    const selector = `${LabelKey.eventBusName}=${name}`;
    const deleted: string[] = [];
    for (const rt of [...OWNED_TYPES].reverse()) {
      const live = await this.client.list(rt, { namespace, labelSelector: selector });
      for (const o of live.items) {
        if (!controlledBy(o, uid)) continue;
        if (await this.client.delete(rt, namespace, o.metadata.name, { uid: o.metadata.uid as string })) deleted.push(`${rt.kind}/${o.metadata.name}`);
        this.caches.owned.get(rt.kind)?.forget(namespace, o.metadata.name);
      }
    }
    const claims = await this.client.list(Resources.persistentVolumeClaim, { namespace, labelSelector: `${LabelKey.controller}=${FINALIZER},${selector}` });
    const claimNames = claims.items.map((c) => c.metadata.name);
    if (claimNames.length > 0) {
      if (bus.metadata.annotations?.[Annotation.deleteVolumes] === "true") {
        for (const c of claims.items) await this.client.delete(Resources.persistentVolumeClaim, namespace, c.metadata.name, { uid: c.metadata.uid as string });
        await this.options.recorder.record(
          bus,
          EventType.normal,
          EventReason.volumesDeleted,
          `deleted volume claims ${claimNames.join(", ")} (${Annotation.deleteVolumes}: "true")`,
        );
      } else {
        await this.options.recorder.record(
          bus,
          EventType.normal,
          EventReason.volumesKept,
          `kept volume claims ${claimNames.join(", ")} with the bus's messages; delete them by hand, or annotate the bus ${Annotation.deleteVolumes}: "true" before deleting it`,
        );
      }
    }
    await this.options.recorder.record(bus, EventType.normal, EventReason.deleted, deleted.length > 0 ? `deleted ${deleted.join(", ")}` : "nothing to delete");
    this.log("info", "deleted", {
      bus: `${namespace}/${name}`,
      objects: deleted,
      keptClaims: bus.metadata.annotations?.[Annotation.deleteVolumes] === "true" ? [] : claimNames,
    });
    await this.removeFinalizer(bus);
    return {};
  }

  /** The EventSources and Sensors of the namespace that use the bus; none when Argo Events' CRDs are not installed. */
  private async busUsers(namespace: string, busName: string): Promise<string[]> {
    const users: string[] = [];
    for (const rt of [Resources.eventSource, Resources.sensor]) {
      let items: KubeResource[];
      try {
        items = (await this.client.list(rt, { namespace })).items;
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

  // ---------------------------------------------------------------------------------------------
  // Finalizer and status

  private async addFinalizer(bus: EventBusObject): Promise<EventBusObject> {
    const updated = await this.client.json<EventBusObject>("PATCH", busPath(bus), {
      verb: "patch",
      resource: Resources.eventBus.plural,
      // The resourceVersion makes the patch fail (409) when another writer changed the list meanwhile.
      body: { metadata: { finalizers: [...(bus.metadata.finalizers ?? []), FINALIZER], resourceVersion: bus.metadata.resourceVersion } },
      contentType: "application/merge-patch+json",
    });
    this.caches.buses.remember(updated);
    return updated;
  }

  private async removeFinalizer(bus: EventBusObject): Promise<void> {
    try {
      await this.client.json("PATCH", busPath(bus), {
        verb: "patch",
        resource: Resources.eventBus.plural,
        body: { metadata: { finalizers: (bus.metadata.finalizers ?? []).filter((f) => f !== FINALIZER), resourceVersion: bus.metadata.resourceVersion } },
        contentType: "application/merge-patch+json",
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.written.delete(keyOf(bus));
  }

  /** `Configured=False` with the issues (one `path: message` line each), other conditions and the config kept. */
  private async refuse(bus: EventBusObject, reason: string, eventReason: string, issues: readonly Issue[]): Promise<void> {
    const message = issues.map(formatIssue).join("\n");
    await this.writeStatus(bus, [{ type: ConditionType.configured, status: "False", reason, message }], bus.status?.config, []);
    this.log("warn", reason, { bus: keyOf(bus), issues: issues.map(formatIssue) });
    await this.options.recorder.record(bus, EventType.warning, eventReason, message);
  }

  /** `Deployed=False` with the failure. */
  private async fail(bus: EventBusObject, reason: string, eventReason: string, message: string): Promise<void> {
    await this.writeStatus(bus, [configured(), { type: ConditionType.deployed, status: "False", reason, message }], bus.status?.config, []).catch(
      () => undefined,
    );
    this.log("error", reason, { bus: keyOf(bus), message });
    await this.options.recorder.record(bus, EventType.warning, eventReason, message);
  }

  /**
   * Writes the status when it differs from the bus's: the conditions set over the current ones, the
   * config, the generation, and `degraded` (why a working bus is not whole) as `message`.
   */
  private async writeStatus(
    bus: EventBusObject,
    desired: readonly DesiredCondition[],
    config: BusStatus["config"],
    remove: readonly string[],
    degraded?: string,
  ): Promise<void> {
    const current = bus.status ?? {};
    const conditions: Condition[] = mergeConditions(current.conditions, desired, this.now(), remove);
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
      const updated = await this.client.apply<EventBusObject>(
        { apiVersion: EVENTBUS_API_VERSION, kind: EVENTBUS_KIND, metadata: { name: bus.metadata.name, namespace: bus.metadata.namespace as string }, status },
        { subresource: "status" },
      );
      this.written.set(key, stableJson(updated.status ?? {}));
      this.caches.buses.remember(updated);
    } catch (err) {
      // Deleted meanwhile: nothing to report on.
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  /** `status.config`, with the cluster domain of the options. */
  private statusConfig(resolved: ResolvedEventBus, namespace: string): StatusConfig {
    return statusConfig(resolved, namespace, this.options.clusterDomain === undefined ? {} : { clusterDomain: this.options.clusterDomain });
  }

  private log(level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, message, fields);
  }
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function busPath(bus: EventBusObject): string {
  return resourcePath(Resources.eventBus, bus.metadata.namespace, bus.metadata.name);
}

function configured(): DesiredCondition {
  return { type: ConditionType.configured, status: "True", reason: ConditionReason.succeeded };
}

function skipped(): DesiredCondition {
  // Argo Events' words.
  return { type: ConditionType.deployed, status: "True", reason: ConditionReason.skipped, message: "Skip deployment because of using exotic config." };
}
