/**
 * A real kube-apiserver for Argo Events conformance tests: eventbus's install bundle (the EventBus
 * CRD) applied, one namespace, and writes made as Argo's controller makes them (its field manager).
 *
 * ```ts
 * await using cluster = await startArgoCluster("legacy");
 * await cluster.createAsArgo(Resources.statefulSet, body);
 * ```
 */
import assert from "node:assert/strict";

import { applyObjects, fromKubeconfig, installBundle, KubeClient, Resources, type ResourceType } from "../../src/platforms/kubernetes/index.js";
import { startKubeApi, type KubeApi } from "./kube-api.js";
import { waitFor } from "./process.js";

/** The field manager of Argo Events' controller. */
export const ARGO_MANAGER = "argo-events";

/** The labels Argo's installer puts on a bus's objects, pods and selectors (`getLabels` in installer.go). */
export function argoBusLabels(busName: string): Record<string, string> {
  return { controller: "eventbus-controller", "eventbus-name": busName, "owner-name": busName };
}

/** A running API server with the EventBus CRD and {@link namespace}; disposing stops it. */
export interface ArgoCluster extends AsyncDisposable {
  readonly api: KubeApi;
  /** A client with the admin's credentials (eventbus's field manager on its applies). */
  readonly admin: KubeClient;
  readonly namespace: string;
  /** Creates an object in the namespace with Argo's field manager; asserts it was created. */
  createAsArgo(rt: ResourceType, body: unknown): Promise<void>;
  stop(): Promise<void>;
}

/** Starts kube-apiserver and etcd, applies the install bundle and the namespace, and waits for the CRD to serve. */
export async function startArgoCluster(namespace: string): Promise<ArgoCluster> {
  const api = await startKubeApi();
  const admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
  const stop = async () => {
    admin.close();
    await api.stop();
  };
  try {
    await applyObjects(admin, installBundle());
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    await waitFor("the EventBus CRD", async () => ((await admin.list(Resources.eventBus, { namespace }).catch(() => undefined)) ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    api,
    admin,
    namespace,
    async createAsArgo(rt, body) {
      const base = rt.group === "" ? "/api/v1" : `/apis/${rt.group}/${rt.version}`;
      const res = await api.request("POST", `${base}/namespaces/${namespace}/${rt.plural}?fieldManager=${ARGO_MANAGER}`, { body });
      assert.equal(res.status, 201, res.text);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
