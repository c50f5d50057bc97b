/**
 * End to end on a real kubelet: the single-node Kubernetes of scripts/kube-node (`make e2e` starts
 * it), eventbus's controller on the host with the node's kubeconfig, and an Argo-shaped EventBus
 * (3 replicas, persistence, TLS, the default basic auth). What only a kubelet can show: the
 * StatefulSet's containers start from their images with the rendered command lines, mounts and
 * secrets; the readiness probes pass; the volume claims bind; the servers find each other by
 * their DNS names; and they form one JetStream cluster that stores R3 events.
 *
 * The counterparts' rules, from their sources:
 * - a Pod is Ready when its `Ready` condition is True (kubernetes/kubernetes
 *   pkg/api/v1/pod/util.go `IsPodReady`), which the kubelet sets only when every container's
 *   readiness probe passes (pkg/kubelet/status/generate.go `GenerateContainersReadyCondition`);
 * - an EventBus is ready when every condition of its status is True (argoproj/argo-events
 *   pkg/apis/common/status_types.go `Status.IsReady`);
 * - Argo's JetStream driver makes the stream `default` with subjects `default.*.*` and the
 *   settings of `status.config.jetstream.streamConfig` when it is missing (argoproj/argo-events
 *   pkg/eventbus/jetstream/base/jetstream.go `CreateStream`): the test does the same.
 *
 * The host does not resolve cluster DNS names, so the test's client connects to the pods'
 * addresses and cannot check the certificates' names (they name the Service's DNS names, as
 * Argo's do); an in-cluster client with `status.config` is the next step.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

import { connect, type EventBusClient } from "../src/client/index.js";
import { fromKubeconfig, KubeClient, Resources, type KubeResource, type ResourceType } from "../src/platforms/kubernetes/index.js";
import { eventBusCrd } from "../src/api/index.js";
import { nodeUp } from "../scripts/kube-node/node.js";
import { spawnProcess, waitFor, type ManagedProcess } from "../test/helpers/process.js";

const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const POD: ResourceType = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
const EVENTS = 10_000;

interface Pod extends KubeResource {
  status?: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number }[];
  };
}

describe("an Argo-shaped EventBus on a real kubelet", () => {
  const namespace = `e2e-${randomBytes(3).toString("hex")}`;
  let kube: KubeClient;
  let controller: ManagedProcess | undefined;
  let client: EventBusClient | undefined;

  before(async () => {
    const node = await nodeUp((line) => process.stderr.write(`${line}\n`));
    kube = new KubeClient(fromKubeconfig(node.kubeconfig));
    await kube.apply(eventBusCrd() as unknown as Parameters<KubeClient["apply"]>[0]);
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    await waitFor("the EventBus CRD to be served", async () => ((await kube.list(Resources.eventBus, { namespace }).catch(() => undefined)) ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    controller = await spawnProcess(process.execPath, [CLI, "controller", "--all", "--namespace", namespace, "--kubeconfig", node.kubeconfig, "--no-leader-elect"]);
  });

  after(async () => {
    await client?.close();
    await controller?.stop({ signal: "SIGTERM", timeoutMs: 15_000 });
    // The namespace goes with its pods and claims; the node stays up for the next run (`make kube-node ARGS=down`).
    await kube?.delete(Resources.namespace, undefined, namespace).catch(() => undefined);
    kube?.close();
  });

  test("3 replicas with persistence and TLS: pods Ready through their probes, claims bound, one JetStream cluster, 10,000 events stored R3 and read back", async () => {
    // GIVEN an EventBus as Argo Events users write it (nats-server 2.11: see the note below).
    await kube.apply({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "default", namespace },
      spec: { jetstream: { version: "2.11", replicas: 3, tls: { enabled: true }, persistence: { storageClassName: "standard", volumeSize: "1Gi" } } },
    });

    // WHEN the controller has reconciled it and the kubelet has run its pods
    const bus = await waitFor(
      "the EventBus to be Running with every condition True",
      async () => {
        const eb = (await kube.get(Resources.eventBus, namespace, "default")) as
          | (KubeResource & { status?: { phase?: string; conditions?: { type: string; status: string }[]; config?: { jetstream?: { streamConfig?: string } } } })
          | undefined;
        const conditions = eb?.status?.conditions ?? [];
        return eb?.status?.phase === "Running" && conditions.length > 0 && conditions.every((c) => c.status === "True") ? eb : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 1_000 },
    );
    const pods = await waitFor(
      "three Ready pods",
      async () => {
        const list = (await kube.list<Pod>(POD, { namespace })).items;
        const ready = list.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        return ready.length === 3 ? ready : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );

    // THEN every container of every pod is ready, none restarted
    for (const pod of pods) {
      const containers = pod.status?.containerStatuses ?? [];
      assert.deepEqual(containers.map((c) => c.name).sort(), ["main", "metrics", "reloader"], `${pod.metadata.name}'s containers`);
      for (const c of containers) {
        assert.equal(c.ready, true, `${pod.metadata.name}/${c.name} is ready`);
        assert.equal(c.restartCount, 0, `${pod.metadata.name}/${c.name} never restarted`);
      }
    }
    // AND each pod's claim is bound to a volume
    const claims = (await kube.list<KubeResource & { status?: { phase?: string } }>(Resources.persistentVolumeClaim, { namespace })).items;
    assert.equal(claims.length, 3);
    for (const claim of claims) assert.equal(claim.status?.phase, "Bound", `${claim.metadata.name} is Bound`);

    // AND the three servers are one JetStream meta group: its leader lists the other two as current.
    // (nats-server 2.10.29 left one server out of the group in 4 of 9 starts on this node, although
    // every pod was Ready: cluster size 2, and no R3 stream could be placed. 2.11.17 formed the
    // whole group every time; the test runs it until the controller handles 2.10's case.)
    const ips = pods.map((p) => p.status?.podIP ?? "");
    const metas = await Promise.all(
      ips.map(async (ip) => {
        const jsz = (await (await fetch(`http://${ip}:8222/jsz`)).json()) as {
          meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { name: string; current: boolean }[] };
        };
        return jsz.meta_cluster;
      }),
    );
    const leaderView = metas.find((m) => (m?.replicas ?? []).length > 0);
    assert.equal(leaderView?.cluster_size, 3, `the meta group has 3 peers: ${JSON.stringify(metas)}`);
    assert.deepEqual(
      leaderView?.replicas?.map((r) => r.current),
      [true, true],
    );

    // AND a client with the client-auth Secret's credentials stores 10,000 events in an R3 stream
    // made as Argo's driver makes it, and reads every one back.
    const secret = (await kube.get(Resources.secret, namespace, "eventbus-default-js-client-auth")) as KubeResource & { data?: Record<string, string> };
    const auth = Buffer.from(secret.data?.["client-auth"] ?? "", "base64").toString("utf8");
    const username = /username: (\S+)/.exec(auth)?.[1] ?? "";
    const password = /password: (\S+)/.exec(auth)?.[1] ?? "";
    client = await connect({
      servers: ips.map((ip) => `tls://${ip}:4222`),
      auth: { kind: "basic", username, password },
      tls: { insecure: true },
    });
    const applied = await client.applyStreamConfig(bus.status?.config?.jetstream?.streamConfig ?? "", { serverReplicas: 3 });
    assert.equal(applied.action, "created");
    const publisher = client.publisher({ window: 256 });
    const ids = Array.from({ length: EVENTS }, (_, i) => `e2e-${i}`);
    const acks = await Promise.all(ids.map((id) => publisher.publish({ id, source: "e2e", subject: "load", type: "e2e", data: { id } })));
    assert.equal(acks.filter((a) => a.duplicate).length, 0);
    const info = await client.streamInfo();
    assert.equal(info.state.messages, EVENTS);
    assert.equal(info.config.replicas, 3);
    await using subscription = await client.subscribe({ source: "e2e", event: "load", from: "start", max: EVENTS, batch: 500 });
    const seen = new Set<string>();
    for await (const got of subscription) {
      seen.add(got.event.id);
      await got.ack();
    }
    assert.equal(seen.size, EVENTS);
  });
});
