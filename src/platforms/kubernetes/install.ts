/**
 * The install bundle of the controller: the EventBus CRD, a Namespace, a ServiceAccount, RBAC with
 * least privilege, and the controller's Deployment. Pure and deterministic.
 */
import { eventBusCrd, EVENTBUS_GROUP, EVENTBUS_PLURAL } from "../../api/index.js";
import { FIELD_MANAGER, type KubeClient } from "./kube-client.js";
import { LEASE_NAME } from "./leader-election.js";
import type { KubeObject } from "./objects.js";
import { resourceOf } from "./resources.js";

/** The default namespace of the controller (Argo Events'). */
export const DEFAULT_INSTALL_NAMESPACE = "argo-events";
/** The default controller image. */
export const DEFAULT_CONTROLLER_IMAGE = "eventbus-controller:latest";
/** The port of `/healthz`, `/readyz` and `/metrics` in the controller's pod. */
export const CONTROLLER_HEALTH_PORT = 8081;
/** The name of the ServiceAccount, roles, bindings and Deployment. */
export const CONTROLLER_NAME = FIELD_MANAGER;

/** Options of {@link installBundle}. */
export interface InstallOptions {
  /** Where the controller runs (and its Lease lives). @default {@link DEFAULT_INSTALL_NAMESPACE} */
  readonly namespace?: string;
  /** @default {@link DEFAULT_CONTROLLER_IMAGE} */
  readonly image?: string;
  /**
   * Reconcile EventBuses of this namespace only: a Role and RoleBinding there instead of the
   * ClusterRole's cluster-wide rights. @default all namespaces
   */
  readonly watchNamespace?: string;
  /**
   * Run the controller with `--all`: it reconciles every EventBus, not only those annotated
   * `eventbus.argoproj.io/controller: eventbus`. Only for clusters without Argo Events' EventBus
   * controller. @default false
   */
  readonly all?: boolean;
  /** Controller replicas; with more than one, leader election picks the one that works. @default 1 */
  readonly replicas?: number;
}

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

/**
 * The rules the controller needs on EventBuses and their objects, and nothing more:
 * - EventBuses: read and watch, patch (finalizer), status (server-side apply);
 *   `eventbus/finalizers` update, which owner references with `blockOwnerDeletion` require;
 * - the objects of managed buses: read, watch, create and patch (server-side apply), delete;
 * - the backups' CronJobs: as the objects above;
 * - volume claims: the backups' claim is made and patched as the objects above; claims are deleted
 *   only when a bus asks, at deletion;
 * - EventSources and Sensors: list (a bus in use is not deleted);
 * - Events: create.
 */
export function controllerRules(): Rule[] {
  const owned = ["get", "list", "watch", "create", "patch", "delete"];
  return [
    { apiGroups: [EVENTBUS_GROUP], resources: [EVENTBUS_PLURAL], verbs: ["get", "list", "watch", "patch"] },
    { apiGroups: [EVENTBUS_GROUP], resources: [`${EVENTBUS_PLURAL}/status`], verbs: ["patch"] },
    { apiGroups: [EVENTBUS_GROUP], resources: [`${EVENTBUS_PLURAL}/finalizers`], verbs: ["update"] },
    { apiGroups: [EVENTBUS_GROUP], resources: ["eventsources", "sensors"], verbs: ["list"] },
    { apiGroups: ["apps"], resources: ["statefulsets"], verbs: owned },
    { apiGroups: [""], resources: ["services", "configmaps", "secrets"], verbs: owned },
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: owned },
    { apiGroups: ["batch"], resources: ["cronjobs"], verbs: owned },
    { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: owned },
    // The pods' addresses: the meta group read from their monitoring ports, the servers scaled away
    // removed from it, and the pod of a server left out of it deleted.
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "delete"] },
    { apiGroups: [""], resources: ["events"], verbs: ["create"] },
  ];
}

/** The rules on the controller's own Lease, in its namespace. */
export function leaseRules(): Rule[] {
  return [
    // `create` cannot be limited to a name (the object does not exist yet).
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "update"], resourceNames: [LEASE_NAME] },
  ];
}

/** The bundle, in apply order: CRD, Namespace, ServiceAccount, roles and bindings, Deployment. */
export function installBundle(options: InstallOptions = {}): KubeObject[] {
  const namespace = options.namespace ?? DEFAULT_INSTALL_NAMESPACE;
  const image = options.image ?? DEFAULT_CONTROLLER_IMAGE;
  const labels = { "app.kubernetes.io/name": CONTROLLER_NAME, "app.kubernetes.io/part-of": "eventbus" };
  const meta = (name: string, ns?: string) =>
    ({ name, ...(ns !== undefined && { namespace: ns }), labels: { ...labels } }) as unknown as KubeObject["metadata"];
  const subject = { kind: "ServiceAccount", name: CONTROLLER_NAME, namespace };
  const watch = options.watchNamespace;

  const RBAC = "rbac.authorization.k8s.io";
  /** A Role (in `ns`) or ClusterRole with its binding to the controller's ServiceAccount. */
  const roleWithBinding = (name: string, rules: Rule[], ns?: string): KubeObject[] => {
    const kind = ns === undefined ? "ClusterRole" : "Role";
    return [
      { apiVersion: `${RBAC}/v1`, kind, metadata: meta(name, ns), rules },
      { apiVersion: `${RBAC}/v1`, kind: `${kind}Binding`, metadata: meta(name, ns), roleRef: { apiGroup: RBAC, kind, name }, subjects: [subject] },
    ];
  };
  const leaseRole = `${CONTROLLER_NAME}-leader-election`;
  // The controller's own image runs the backup CronJobs of buses with spec.jetstream.backup.
  const args = [
    "controller",
    `--health-port=${CONTROLLER_HEALTH_PORT}`,
    `--lease-namespace=${namespace}`,
    `--eventbus-image=${image}`,
    ...(watch !== undefined ? [`--namespace=${watch}`] : []),
    ...(options.all ? ["--all"] : []),
  ];
  return [
    eventBusCrd() as unknown as KubeObject,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { ...labels } } as unknown as KubeObject["metadata"] },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(CONTROLLER_NAME, namespace) },
    ...roleWithBinding(CONTROLLER_NAME, controllerRules(), watch),
    ...roleWithBinding(leaseRole, leaseRules(), namespace),
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(CONTROLLER_NAME, namespace),
      spec: {
        replicas: options.replicas ?? 1,
        selector: { matchLabels: { "app.kubernetes.io/name": CONTROLLER_NAME } },
        template: {
          metadata: { labels: { ...labels } },
          spec: {
            serviceAccountName: CONTROLLER_NAME,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "controller",
                image,
                args,
                env: [
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                ],
                ports: [{ name: "metrics", containerPort: CONTROLLER_HEALTH_PORT }],
                livenessProbe: { httpGet: { path: "/healthz", port: CONTROLLER_HEALTH_PORT }, initialDelaySeconds: 5, periodSeconds: 10 },
                readinessProbe: { httpGet: { path: "/readyz", port: CONTROLLER_HEALTH_PORT }, initialDelaySeconds: 2, periodSeconds: 5 },
                resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "256Mi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                // The controller writes TLS files of external buses to a temp dir while it checks them.
                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
              },
            ],
            volumes: [{ name: "tmp", emptyDir: {} }],
          },
        },
      },
    },
  ];
}

/**
 * Server-side applies `objects` in order (field manager `eventbus-controller`, forcing conflicts)
 * and reports one line per object: `<resource>.<group>/<name> serverside-applied`, as kubectl does.
 */
export async function applyObjects(client: KubeClient, objects: readonly KubeObject[], report: (line: string) => void = () => {}): Promise<void> {
  for (const o of objects) {
    const rt = resourceOf(o.apiVersion, o.kind);
    await client.apply(o);
    report(`${rt.kind.toLowerCase()}${rt.group === "" ? "" : `.${rt.group}`}/${o.metadata.name} serverside-applied`);
  }
}
