/**
 * What the end-to-end suites wait for on the node, read as Kubernetes and Argo Events read it:
 * - a Pod is Ready when its `Ready` condition is True (kubernetes/kubernetes
 *   pkg/api/v1/pod/util.go `IsPodReady`), which the kubelet sets only when every container's
 *   readiness probe passes (pkg/kubelet/status/generate.go `GenerateContainersReadyCondition`);
 * - an EventBus is ready when every condition of its status is True (argoproj/argo-events
 *   pkg/apis/common/status_types.go `Status.IsReady`).
 */
import type { KubeClient, KubeResource, ResourceType } from "../src/platforms/kubernetes/index.js";
import { Resources } from "../src/platforms/kubernetes/index.js";
import { waitFor } from "../test/helpers/process.js";

export const POD: ResourceType = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };

export interface Pod extends KubeResource {
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; containerID?: string; ready: boolean; restartCount: number; state?: { terminated?: { exitCode: number; reason?: string } } }[];
  };
}

/** The EventBus fields the suites read. */
export type Bus = KubeResource & {
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    config?: { jetstream?: { url?: string; streamConfig?: string; accessSecret?: { name: string; key: string } } };
  };
};

/**
 * The EventBus `default` as Argo Events users write it for production: 3 replicas, TLS, and volume
 * claims of the node's StorageClass `standard`.
 */
export function argoEventBus(namespace: string, version: string, annotations: Record<string, string> = {}) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name: "default", namespace, annotations },
    spec: { jetstream: { version, replicas: 3, tls: { enabled: true }, persistence: { storageClassName: "standard", volumeSize: "1Gi" } } },
  };
}

export const isReady = (pod: Pod): boolean => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

export const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis));

/** Pod lines for a timeout's message: each pod's conditions and container states. */
async function describePods(kube: KubeClient, namespace: string): Promise<string> {
  const pods = (await kube.list<Pod>(POD, { namespace }).catch(() => ({ items: [] as Pod[] }))).items;
  return pods.map((p) => `${p.metadata.name}: ${JSON.stringify(p.status?.conditions ?? [])} ${JSON.stringify(p.status?.containerStatuses ?? [])}`).join("\n");
}

/** The EventBus once it is Running with every condition True; a timeout names what it and the pods last showed. */
export async function runningBus(kube: KubeClient, namespace: string, name = "default"): Promise<Bus> {
  let last = "not found";
  return waitFor(
    `EventBus ${name} to be Running with every condition True`,
    async () => {
      const eb = (await kube.get(Resources.eventBus, namespace, name).catch(() => undefined)) as Bus | undefined;
      const conditions = eb?.status?.conditions ?? [];
      last = eb ? `phase ${eb.status?.phase ?? "(none)"}; ${conditions.map((c) => `${c.type}=${c.status} ${JSON.stringify(c)}`).join("; ")}` : "not found";
      return eb?.status?.phase === "Running" && conditions.length > 0 && conditions.every((c) => c.status === "True") ? eb : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 1_000 },
  ).catch(async (error: unknown) => {
    throw new Error(`${(error as Error).message}; it shows ${last}\npods:\n${await describePods(kube, namespace)}`);
  });
}

/** The pods matching `labelSelector` once exactly `n` of them exist and all are Ready. */
export async function readyPods(kube: KubeClient, namespace: string, n: number, labelSelector: string): Promise<Pod[]> {
  return waitFor(
    `${n} Ready pods (${labelSelector})`,
    async () => {
      const list = (await kube.list<Pod>(POD, { namespace, labelSelector })).items;
      const ready = list.filter(isReady);
      return ready.length === n && list.length === n ? ready : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 1_000 },
  ).catch(async (error: unknown) => {
    throw new Error(`${(error as Error).message}\npods:\n${await describePods(kube, namespace)}`);
  });
}

/** A server's view of the JetStream meta group: `meta_cluster` of its monitoring port's `/jsz`. */
export interface MetaView {
  leader?: string;
  cluster_size?: number;
  replicas?: { name: string; current: boolean; offline?: boolean }[];
}

/** Each pod's meta view, read from its monitoring port (8222) on the pod's address, or why it could not be read. */
export function metaViews(pods: readonly Pod[]): Promise<{ pod: string; meta_cluster?: MetaView; error?: string }[]> {
  return Promise.all(
    pods.map(async (p) => {
      const jsz = (await fetch(`http://${p.status?.podIP ?? ""}:8222/jsz`, { signal: AbortSignal.timeout(3_000) })
        .then((r) => r.json())
        .catch((e: unknown) => ({ error: String(e) }))) as { meta_cluster?: MetaView; error?: string };
      return { pod: p.metadata.name, ...jsz };
    }),
  );
}

/** The meta group as its leader sees it: only the leader's view lists the other peers. */
export function leaderMetaView(views: readonly { meta_cluster?: MetaView }[]): MetaView | undefined {
  return views.map((v) => v.meta_cluster).find((m) => (m?.replicas ?? []).length > 0);
}

/** A container's log, through the API server (`GET /api/v1/namespaces/<ns>/pods/<pod>/log`), as `kubectl logs` reads it. */
export function podLog(kube: KubeClient, namespace: string, pod: string, container?: string): Promise<string> {
  return kube.text("GET", `/api/v1/namespaces/${namespace}/pods/${pod}/log`, {
    verb: "get",
    resource: "pods/log",
    // As kubectl: the log is text, and the API server accepts no text/plain here (406).
    accept: "application/json, */*",
    ...(container !== undefined && { query: { container } }),
  });
}
