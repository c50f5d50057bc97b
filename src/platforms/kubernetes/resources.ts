/**
 * The Kubernetes resource types the controller reads and writes, and their REST paths.
 */
import { EVENTBUS_GROUP, EVENTBUS_PLURAL, EVENTBUS_VERSION } from "../../api/index.js";

/** A resource type: where its objects live in the REST API. */
export interface ResourceType {
  /** `""` for the core group. */
  readonly group: string;
  readonly version: string;
  /** The REST name, e.g. `statefulsets`. */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const type = (group: string, version: string, plural: string, kind: string, namespaced = true): ResourceType => ({ group, version, plural, kind, namespaced });

/** The resource types of the controller and the install bundle. */
export const Resources = {
  eventBus: type(EVENTBUS_GROUP, EVENTBUS_VERSION, EVENTBUS_PLURAL, "EventBus"),
  eventSource: type("argoproj.io", "v1alpha1", "eventsources", "EventSource"),
  sensor: type("argoproj.io", "v1alpha1", "sensors", "Sensor"),
  statefulSet: type("apps", "v1", "statefulsets", "StatefulSet"),
  deployment: type("apps", "v1", "deployments", "Deployment"),
  service: type("", "v1", "services", "Service"),
  configMap: type("", "v1", "configmaps", "ConfigMap"),
  secret: type("", "v1", "secrets", "Secret"),
  persistentVolumeClaim: type("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
  pod: type("", "v1", "pods", "Pod"),
  serviceAccount: type("", "v1", "serviceaccounts", "ServiceAccount"),
  namespace: type("", "v1", "namespaces", "Namespace", false),
  event: type("", "v1", "events", "Event"),
  podDisruptionBudget: type("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
  cronJob: type("batch", "v1", "cronjobs", "CronJob"),
  lease: type("coordination.k8s.io", "v1", "leases", "Lease"),
  customResourceDefinition: type("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false),
  clusterRole: type("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
  clusterRoleBinding: type("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
  role: type("rbac.authorization.k8s.io", "v1", "roles", "Role"),
  roleBinding: type("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
} as const satisfies Record<string, ResourceType>;

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(rt: ResourceType): string {
  return rt.group === "" ? rt.version : `${rt.group}/${rt.version}`;
}

/**
 * The REST path of a collection or an object: `/api/v1/namespaces/ns/services/name`,
 * `/apis/apps/v1/statefulsets` (all namespaces), `…/eventbus/name/status`.
 */
export function resourcePath(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const root = rt.group === "" ? `/api/${rt.version}` : `/apis/${rt.group}/${rt.version}`;
  const ns = rt.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const obj = name !== undefined ? `/${encodeURIComponent(name)}` : "";
  const sub = name !== undefined && subresource !== undefined ? `/${subresource}` : "";
  return `${root}${ns}/${rt.plural}${obj}${sub}`;
}

/** The resource type of an object by its `apiVersion` and `kind`, among {@link Resources}. */
export function resourceOf(apiVersion: string, kind: string): ResourceType {
  const found = Object.values(Resources).find((rt) => apiVersionOf(rt) === apiVersion && rt.kind === kind);
  if (found === undefined) throw new TypeError(`no resource type known for ${apiVersion} ${kind}`);
  return found;
}
