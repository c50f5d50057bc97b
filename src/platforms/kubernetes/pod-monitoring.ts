/**
 * The monitoring endpoints of an EventBus's pods, read through the API server's pod proxy
 * (`/api/v1/namespaces/<ns>/pods/<pod>:8222/proxy/varz`), so that a bus running in a cluster shows
 * its servers from outside it, with the caller's Kubernetes credentials (it needs `get` on
 * `pods/proxy`), as a local bus shows them.
 */
import { serversFromAnswers, type BusSnapshot, type Jsz, type Varz } from "../../observe/index.js";
import type { KubeClient } from "./kube-client.js";
import { KubeApiError } from "./kube-errors.js";

/** The monitoring port of an EventBus's JetStream pods (Argo Events' and eventbus's). */
export const POD_MONITOR_PORT = 8222;

/**
 * The servers and meta group of the pods named `pods`, each asked for `/varz`, `/jsz` and
 * `/healthz` through the API server. A pod that does not answer is listed as unreachable;
 * `missingPods` names those the API server does not know.
 * @throws the API server's refusal when the caller may not use the pod proxy (403), so that the
 *   caller can say why the servers are not shown
 */
export async function podServers(
  kube: KubeClient,
  namespace: string,
  pods: readonly string[],
  timeoutMs = 3000,
): Promise<Pick<BusSnapshot, "servers" | "jetstream"> & { readonly missingPods: readonly string[] }> {
  const missing = new Set<string>();
  const ask = async <T>(pod: string, path: string): Promise<T | undefined> => {
    try {
      return await kube.json<T>("GET", `/api/v1/namespaces/${namespace}/pods/${pod}:${POD_MONITOR_PORT}/proxy${path}`, {
        verb: "get",
        resource: "pods/proxy",
        timeoutMs,
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 403) throw error;
      // The API server's own 404 (a Status with reason NotFound): there is no such pod.
      if (error instanceof KubeApiError && error.status === 404 && error.reason === "NotFound") missing.add(pod);
      return undefined;
    }
  };
  const answers = await Promise.all(
    pods.map(async (pod) => {
      const [varz, jsz, healthz] = await Promise.all([
        ask<Varz & { server_name?: string }>(pod, "/varz"),
        ask<Jsz>(pod, "/jsz"),
        ask<{ status?: string }>(pod, "/healthz"),
      ]);
      // Peers are named by their server names; Argo's and eventbus's pods take their pod's name.
      return { name: varz?.server_name ?? pod, varz, jsz, healthy: healthz?.status === "ok" };
    }),
  );
  const result = serversFromAnswers(
    new Map(answers.flatMap((a) => (a.varz ? [[a.name, a.varz] as const] : []))),
    new Map(answers.flatMap((a) => (a.jsz ? [[a.name, a.jsz] as const] : []))),
    new Set(answers.filter((a) => a.healthy).map((a) => a.name)),
  );
  // A pod that answered nothing and that no peer names is still one of the bus's servers.
  const named = new Set(result.servers.map((s) => s.name));
  const silent = answers.filter((a) => !named.has(a.name)).map((a) => ({ name: a.name, reachable: false, healthy: false }));
  return { ...result, servers: [...result.servers, ...silent].sort((a, b) => a.name.localeCompare(b.name)), missingPods: [...missing].sort() };
}
