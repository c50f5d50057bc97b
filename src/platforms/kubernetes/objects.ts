/**
 * The Kubernetes objects a bus is made of, as plain data, and the small builders both modes share:
 * labels, object metadata with an optional controller owner reference, Secrets (base64 `data`),
 * ConfigMaps, the headless Service, the StatefulSet shell, the metrics sidecar and the
 * PodDisruptionBudget.
 */
import type { PodTemplate } from "../../api/index.js";
import { DEFAULT_PORTS } from "../../plan/index.js";

/** The label keys and the controller value Argo Events puts on a bus's objects and pods. */
export const LabelKey = {
  controller: "controller",
  eventBusName: "eventbus-name",
  ownerName: "owner-name",
} as const;

/** The value of the `controller` label. */
export const CONTROLLER_LABEL_VALUE = "eventbus-controller";

/** Labels of a bus's objects, pods and selectors: `{controller, eventbus-name, owner-name}`. */
export function busLabels(busName: string): Readonly<Record<string, string>> {
  return { [LabelKey.controller]: CONTROLLER_LABEL_VALUE, [LabelKey.eventBusName]: busName, [LabelKey.ownerName]: busName };
}

/** The EventBus that owns the objects, for the controller's owner references. */
export interface OwnerRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** `metadata` of an object (the rendered objects always have labels; other objects may not). */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly {
    readonly apiVersion: string;
    readonly kind: string;
    readonly name: string;
    readonly uid: string;
    readonly controller: true;
    readonly blockOwnerDeletion: true;
  }[];
}

/** A Kubernetes object as plain data. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

/** What every object of one bus shares: its namespace, labels and owner. */
export interface ObjectContext {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly owner?: OwnerRef;
}

/** Object metadata: name, namespace, the bus labels and, with an owner, a controller owner reference. */
export function objectMeta(name: string, ctx: ObjectContext): ObjectMeta {
  return {
    name,
    namespace: ctx.namespace,
    labels: { ...ctx.labels },
    ...(ctx.owner && {
      ownerReferences: [
        { apiVersion: ctx.owner.apiVersion, kind: ctx.owner.kind, name: ctx.owner.name, uid: ctx.owner.uid, controller: true, blockOwnerDeletion: true },
      ],
    }),
  };
}

/**
 * An `Opaque` Secret. Values go to `data` in base64 (not `stringData`): the API server stores and
 * returns `data` as given, so what is applied is what a later read compares against.
 */
export function secret(name: string, ctx: ObjectContext, data: Readonly<Record<string, string>>): KubeObject {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]));
  return { apiVersion: "v1", kind: "Secret", metadata: objectMeta(name, ctx), type: "Opaque", data: encoded };
}

/** A ConfigMap with text values. */
export function configMap(name: string, ctx: ObjectContext, data: Readonly<Record<string, string>>): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: objectMeta(name, ctx), data: { ...data } };
}

/** A named port of a Service. */
export interface ServicePort {
  readonly name: string;
  readonly port: number;
}

/**
 * The headless Service of a StatefulSet: no cluster IP, so each pod gets its DNS name under it,
 * and not-ready pods are published too, so that servers find each other while they start.
 */
export function headlessService(name: string, ctx: ObjectContext, ports: readonly ServicePort[]): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(name, ctx),
    spec: {
      type: "ClusterIP",
      clusterIP: "None",
      publishNotReadyAddresses: true,
      ports: ports.map((p) => ({ name: p.name, port: p.port })),
      selector: { ...ctx.labels },
    },
  };
}

/** Buses of at least this many servers get a PodDisruptionBudget (with fewer, one is already a quorum loss). */
export const PDB_MIN_REPLICAS = 3;

/** A PodDisruptionBudget that lets voluntary disruptions (node drains) take one server at a time. */
export function podDisruptionBudget(name: string, ctx: ObjectContext): KubeObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: objectMeta(name, ctx),
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...ctx.labels } } },
  };
}

/** An environment variable set from the pod's own metadata. */
export function fieldEnv(name: string, fieldPath: string): Record<string, unknown> {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** The fields of a container template (`containerTemplate`, …) a container takes unchanged. */
export function containerOverrides(
  template: { resources?: unknown; imagePullPolicy?: unknown; securityContext?: unknown } | undefined,
): Record<string, unknown> {
  if (template === undefined) return {};
  return { resources: template.resources, imagePullPolicy: template.imagePullPolicy, securityContext: template.securityContext };
}

/**
 * Persistent storage of each server: a volume claim template of `size` (`volumeMode: Filesystem`),
 * or, without persistence, an emptyDir of the same name, so the mount is the same either way.
 */
export function dataVolume(
  name: string,
  persistence: { readonly storageClassName?: string; readonly accessMode: string; readonly volumeSize: { readonly text: string } } | undefined,
): { volumeClaimTemplates?: Record<string, unknown>[]; volumes: Record<string, unknown>[] } {
  if (persistence === undefined) return { volumes: [{ name, emptyDir: {} }] };
  return {
    volumes: [],
    volumeClaimTemplates: [
      {
        metadata: { name },
        spec: {
          accessModes: [persistence.accessMode],
          storageClassName: persistence.storageClassName,
          volumeMode: "Filesystem",
          resources: { requests: { storage: persistence.volumeSize.text } },
        },
      },
    ],
  };
}

/** The Prometheus exporter's port. */
export const METRICS_PORT = DEFAULT_PORTS.metrics;
/** Seconds a stopping pod has: the lame-duck period (30s) and the server's exit, with room to spare. */
export const TERMINATION_GRACE_PERIOD_SECONDS = 60;

/** The container ports of a server: client, cluster (routes) and monitor. */
export function serverContainerPorts(): { name: ServerPortName; containerPort: number }[] {
  return (["client", "cluster", "monitor"] as const).map((name) => ({ name, containerPort: DEFAULT_PORTS[name] }));
}

/** The names of a server container's ports. */
export type ServerPortName = "client" | "cluster" | "monitor";

/** The liveness probe of a server container: its monitor port answers. */
export function monitorLivenessProbe(): Record<string, unknown> {
  return { httpGet: { path: "/", port: DEFAULT_PORTS.monitor }, initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 5 };
}

/**
 * The readiness probe of a JetStream server container, as Argo Events' (`/healthz` on the monitor
 * port, 10 s initial delay, every 5 s, 5 s timeout): nats-server answers 200 only once JetStream is
 * current, so pod readiness, the PodDisruptionBudget and the bus's `Ready` condition follow it.
 */
export function healthzReadinessProbe(): Record<string, unknown> {
  return { httpGet: { path: "/healthz", port: DEFAULT_PORTS.monitor }, initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 5 };
}

/** The Prometheus exporter sidecar: reads the server's monitor port, serves {@link METRICS_PORT}. */
export function metricsContainer(image: string, template: PodTemplate["metricsContainerTemplate"], exporterArgs: readonly string[]): Record<string, unknown> {
  return {
    name: "metrics",
    image,
    ...containerOverrides(template),
    ports: [{ name: "metrics", containerPort: METRICS_PORT }],
    args: [...exporterArgs, `http://localhost:${DEFAULT_PORTS.monitor}`],
  };
}

/** How a StatefulSet starts and stops its pods; Kubernetes defaults to `OrderedReady`. */
export const PodManagementPolicy = {
  /** All pods at once (a JetStream meta group needs a quorum of its peers to start). */
  parallel: "Parallel",
  /** One pod at a time, each once the one before is ready. */
  orderedReady: "OrderedReady",
} as const;

/** One of the {@link PodManagementPolicy} values. */
export type PodManagementPolicy = (typeof PodManagementPolicy)[keyof typeof PodManagementPolicy];

/** What differs between the StatefulSets of the two modes. */
export interface StatefulSetParts {
  readonly name: string;
  /** The headless Service the pods' DNS names live under. */
  readonly serviceName: string;
  readonly replicas: number;
  /**
   * Immutable on a live StatefulSet, so it is the one Argo Events' controller gives the mode.
   * @default PodManagementPolicy.parallel
   */
  readonly podManagementPolicy?: PodManagementPolicy;
  /** The spec's pod fields: labels and annotations of the pods, scheduling fields passed through. */
  readonly pod: PodTemplate;
  /** Pod spec fields of the mode (volumes, containers, …). */
  readonly podSpec: Readonly<Record<string, unknown>>;
  readonly volumeClaimTemplates?: readonly Record<string, unknown>[];
  /** The EventBus's own `metadata.labels`, which the StatefulSet carries under the bus labels. */
  readonly busLabels?: Readonly<Record<string, string>>;
}

/**
 * A StatefulSet selected by the bus labels, its pods started in parallel unless the parts say
 * otherwise. As Argo Events' controller makes it: the StatefulSet carries the EventBus's
 * `metadata.labels` under the bus labels (which win), and the pods the spec's `metadata.labels`
 * under the bus labels and its annotations (not the EventBus's labels); the selector is the bus
 * labels alone. Every scheduling field of the spec (nodeSelector, tolerations, affinity,
 * securityContext, …) passes through unchanged.
 */
export function statefulSet(ctx: ObjectContext, parts: StatefulSetParts): KubeObject {
  const { containerTemplate: _main, metricsContainerTemplate: _metrics, reloaderContainerTemplate: _reloader, metadata, ...scheduling } = parts.pod;
  const meta = objectMeta(parts.name, ctx);
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { ...meta, labels: { ...parts.busLabels, ...meta.labels } },
    spec: {
      podManagementPolicy: parts.podManagementPolicy ?? PodManagementPolicy.parallel,
      replicas: parts.replicas,
      serviceName: parts.serviceName,
      selector: { matchLabels: { ...ctx.labels } },
      template: {
        metadata: { labels: { ...metadata?.labels, ...ctx.labels }, annotations: metadata?.annotations },
        spec: { ...scheduling, terminationGracePeriodSeconds: TERMINATION_GRACE_PERIOD_SECONDS, ...parts.podSpec },
      },
      volumeClaimTemplates: parts.volumeClaimTemplates,
    },
  };
}
