/**
 * End to end on a real kubelet: the single-node Kubernetes of scripts/kube-node (`make e2e` starts
 * it), eventbus's controller on the host with the node's kubeconfig, and an Argo-shaped EventBus
 * (3 replicas, persistence, TLS, the default basic auth). What only a kubelet can show: the
 * StatefulSet's containers start from their images with the rendered command lines, mounts and
 * secrets; the readiness probes pass; the volume claims bind; the servers find each other by
 * their DNS names; and they form one JetStream cluster that stores R3 events. Then, on the same
 * bus: a pod deleted under load comes back on its own claim with no acked event lost;
 * a version change from 2.10 to 2.11 rolls the pods one by one under load, no acked event lost;
 * scaled 3 → 5 → 3 under load (on 2.11), every server joins the meta group and the two scaled away
 * leave it; the bus
 * deleted keeps its claims, applied again finds its events there, and deleted with the
 * `eventbus.argoproj.io/delete-volumes` annotation takes its claims along; and a NATS Streaming
 * bus forms one raft cluster of 3 Ready pods.
 *
 * The counterparts' rules, from their sources (and helpers.ts: when a Pod and an EventBus are ready):
 * - Argo's JetStream driver makes the stream `default` with subjects `default.*.*` and the
 *   settings of `status.config.jetstream.streamConfig` when it is missing (argoproj/argo-events
 *   pkg/eventbus/jetstream/base/jetstream.go `CreateStream`): the test does the same.
 *
 * The host does not resolve cluster DNS names, so the test's client connects to the pods'
 * addresses and cannot check the certificates' names (they name the Service's DNS names, as
 * Argo's do); in-cluster.test.ts runs clients in pods with `status.config`, names checked.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

import { connect, type EventBusClient } from "../src/client/index.js";
import { fromKubeconfig, KubeClient, Resources, type KubeResource } from "../src/platforms/kubernetes/index.js";
import { eventBusCrd } from "../src/api/index.js";
import { startSteadyLoad, storedEventIds } from "../bench/steady-load.js";
import { nodeUp } from "../scripts/kube-node/node.js";
import { spawnProcess, waitFor, type ManagedProcess } from "../test/helpers/process.js";
import { argoEventBus, isReady, leaderMetaView, metaViews, POD, type Pod, readyPods as readyPodsOf, runningBus as runningBusOf, sleep } from "./helpers.js";

const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const EVENTS = 10_000;

interface Claim extends KubeResource {
  status?: { phase?: string };
}

/**
 * The stream's default limits keep 50,000 events, fewer than the load tests publish together: no
 * count limit, and a size limit below the servers' store (max_file_store, from the 1Gi claims).
 */
async function unboundedStream(client: EventBusClient): Promise<void> {
  await client.applyStreamConfig("maxMsgs: -1\nmaxBytes: 300MB\n", { serverReplicas: 3 });
}

/** Every acked id of `default.e2e.<event>` is stored. */
async function assertAllStored(client: EventBusClient, event: string, acked: readonly string[]): Promise<void> {
  const stored = await storedEventIds(client, "e2e", event);
  const lost = acked.filter((id) => !stored.has(id));
  assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acked events are not stored`);
}

/** Runs the built CLI to its end; its stdout when it exits 0 or 1 (`status`: the bus has a problem), else an error with its stderr. */
function cliOutput(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && error.code !== 1) reject(new Error(`eventbus ${args.join(" ")}: exit ${error.code}: ${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

describe("an Argo-shaped EventBus on a real kubelet", () => {
  const namespace = `e2e-${randomBytes(3).toString("hex")}`;
  let kube: KubeClient;
  let kubeconfig: string;
  let controller: ManagedProcess | undefined;
  let client: EventBusClient | undefined;

  before(async () => {
    const node = await nodeUp((line) => process.stderr.write(`${line}\n`));
    kubeconfig = node.kubeconfig;
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

  /** The EventBus as Argo Events users write it: nats-server 2.10 first, as most of them run, then 2.11 after the version change. */
  let version = "2.10";
  const argoBus = (annotations: Record<string, string> = {}) => argoEventBus(namespace, version, annotations);

  const runningBus = (name = "default") => runningBusOf(kube, namespace, name);
  const readyPods = (n: number, name = "default") => readyPodsOf(kube, namespace, n, `eventbus-name=${name}`);

  /** A client with the client-auth Secret's credentials, to the pods' addresses (the host does not resolve cluster names). */
  const connectTo = async (pods: readonly Pod[]) => {
    const secret = (await kube.get(Resources.secret, namespace, "eventbus-default-js-client-auth")) as KubeResource & { data?: Record<string, string> };
    const auth = Buffer.from(secret.data?.["client-auth"] ?? "", "base64").toString("utf8");
    const username = /username: (\S+)/.exec(auth)?.[1] ?? "";
    const password = /password: (\S+)/.exec(auth)?.[1] ?? "";
    return connect({
      servers: pods.map((p) => `tls://${p.status?.podIP ?? ""}:4222`),
      auth: { kind: "basic", username, password },
      tls: { insecure: true },
    });
  };

  test("3 replicas with persistence and TLS: pods Ready through their probes, claims bound, one JetStream cluster, 10,000 events stored R3 and read back", async () => {
    // GIVEN an EventBus as Argo Events users write it
    const appliedAt = Date.now();
    await kube.apply(argoBus());

    // WHEN the controller has reconciled it and the kubelet has run its pods
    const bus = await runningBus();
    const pods = await readyPods(3);
    console.log(`# a 3-server TLS bus with persistence Running ${((Date.now() - appliedAt) / 1000).toFixed(1)} s after it was applied`);

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
    // nats-server 2.10.29 left one server out of the group in some starts on this node although
    // every pod was Ready (cluster size 2, no R3 stream could be placed); the controller deletes
    // such a server's pod (Event MetaGroupRejoin), and it joins. Once (CI, fresh clone) a server
    // never passed its startup probe for the same reason; the controller deletes that pod too, after
    // 60 s of running without contact with the meta leader, so runningBus's 240 s cover it.
    let views: Awaited<ReturnType<typeof metaViews>> = [];
    const leaderView = await waitFor(
      "a meta group of 3 current peers",
      async () => {
        const current = (await kube.list<Pod>(POD, { namespace, labelSelector: "eventbus-name=default" })).items.filter(isReady);
        if (current.length === 3) pods.splice(0, pods.length, ...current);
        views = await metaViews(pods);
        const view = leaderMetaView(views);
        return view?.cluster_size === 3 && view.replicas?.length === 2 && view.replicas.every((r) => r.current) ? view : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    ).catch((error: unknown) => assert.fail(`${(error as Error).message}: ${JSON.stringify(views)}`));
    assert.equal(leaderView.cluster_size, 3);

    // AND `eventbus status --kube` (the console's source of a cluster's buses) shows the three servers
    // from their pods' monitoring endpoints, read through the API server's pod proxy.
    const status = JSON.parse(await cliOutput(["status", "default", "--kube", "-n", namespace, "--kubeconfig", kubeconfig, "-o", "json"])) as {
      servers?: { name: string; state: string; version?: string }[];
      jetstream?: { peers: string[]; current: number };
    };
    assert.deepEqual(
      status.servers?.map((s) => [s.name, s.state, s.version?.startsWith("2.10.")]),
      [0, 1, 2].map((i) => [`eventbus-default-js-${i}`, "healthy", true]),
      JSON.stringify(status),
    );
    assert.equal(status.jetstream?.peers.length, 3);

    // AND a client with the client-auth Secret's credentials stores 10,000 events in an R3 stream
    // made as Argo's driver makes it, and reads every one back.
    client = await connectTo(pods);
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
  test("a pod deleted under load comes back with its volume; no acked event is lost", async () => {
    assert.ok(client, "the first test connected a client");
    const victim = "eventbus-default-js-1";
    const before = (await kube.get(POD, namespace, victim)) as Pod & { spec?: { volumes?: { persistentVolumeClaim?: { claimName: string } }[] } };
    const claimName = before.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? "";
    const claimUid = (await kube.get(Resources.persistentVolumeClaim, namespace, claimName))?.metadata.uid;
    // GIVEN events published without pause
    const load = startSteadyLoad(client, "e2e", "deleted");
    await sleep(2_000);
    // WHEN one server's pod is deleted
    const deletedAt = Date.now();
    await kube.delete(POD, namespace, victim);
    const back = await waitFor(
      "the deleted pod back and Ready",
      async () => {
        const pod = (await kube.get(POD, namespace, victim).catch(() => undefined)) as (Pod & { spec?: typeof before.spec }) | undefined;
        return pod && pod.metadata.uid !== before.metadata.uid && isReady(pod) ? pod : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    const readyMillis = Date.now() - deletedAt;
    await sleep(3_000);
    await load.stop();
    const stall = load.longestStallAfter(deletedAt);
    console.log(
      `# pod deleted under load: Ready again after ${(readyMillis / 1000).toFixed(1)} s; longest wait between two acks ${(stall / 1000).toFixed(1)} s; ${load.acked.length} events acked, ${load.failed()} failed`,
    );
    // THEN it runs on the same claim (the same volume), and every acked event is stored
    const claimNow = back.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    assert.equal(claimNow, claimName);
    assert.equal((await kube.get(Resources.persistentVolumeClaim, namespace, claimName))?.metadata.uid, claimUid, "the same claim, not a new one");
    assert.ok(load.acked.length > 0);
    await assertAllStored(client, "deleted", load.acked);
  });

  test("a version change (2.10 → 2.11) rolls the pods one by one while events are published; no acked event is lost", async () => {
    assert.ok(client, "the first test connected a client");
    await unboundedStream(client);
    const load = startSteadyLoad(client, "e2e", "upgraded");
    const started = Date.now();
    let pods: Pod[];
    try {
      await sleep(2_000);
      version = "2.11";
      await kube.apply(argoBus());
      pods = await waitFor(
        "3 Ready pods running nats:2.11.17",
        async () => {
          const list = (await kube.list<Pod & { spec?: { containers?: { name: string; image: string }[] } }>(POD, { namespace, labelSelector: "eventbus-name=default" })).items;
          const upgraded = list.filter((p) => isReady(p) && p.spec?.containers?.find((c) => c.name === "main")?.image === "nats:2.11.17");
          return upgraded.length === 3 && list.length === 3 ? upgraded : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 1_000 },
      );
      await runningBus();
      await sleep(3_000);
    } finally {
      await load.stop();
    }
    console.log(
      `# rolled 2.10 → 2.11 under load: 3 pods on 2.11 in ${((Date.now() - started) / 1000).toFixed(1)} s; longest wait between two acks ${(load.longestStallAfter(started) / 1000).toFixed(1)} s; ${load.acked.length} events acked, ${load.failed()} failed`,
    );
    // THEN every server reports 2.11.17, and every acked event is stored
    const versions = await Promise.all(
      pods.map(async (p) => ((await (await fetch(`http://${p.status?.podIP ?? ""}:8222/varz`)).json()) as { version?: string }).version),
    );
    assert.deepEqual(versions, ["2.11.17", "2.11.17", "2.11.17"]);
    await assertAllStored(client, "upgraded", load.acked);
  });

  test("scaled 3 → 5 → 3 while events are published: every server joins the meta group, and no acked event is lost", async () => {
    assert.ok(client, "the first test connected a client");
    await unboundedStream(client);
    const load = startSteadyLoad(client, "e2e", "scaled");
    try {
      for (const replicas of [5, 3]) {
        const started = Date.now();
        await kube.apply({ ...argoBus(), spec: { jetstream: { ...argoBus().spec.jetstream, replicas } } });
        const pods = await readyPods(replicas);
        await runningBus();
        const meta = await waitFor(
          `a meta group of ${replicas} current peers`,
          async () => {
            const m = leaderMetaView(await metaViews(pods));
            return m && (m.replicas ?? []).length === replicas - 1 && (m.replicas ?? []).every((r) => r.current) ? m : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 1_000 },
        ).catch(async (error: unknown) => {
          const events = (await kube.list<KubeResource & { reason?: string; message?: string }>(Resources.event, { namespace })).items
            .filter((e) => e.reason !== undefined && /Peer/.test(e.reason))
            .map((e) => `${e.reason}: ${e.message}`);
          throw new Error(`${(error as Error).message}: ${JSON.stringify(await metaViews(pods))}; events: ${events.join(" | ") || "none"}`);
        });
        console.log(`# scaled to ${replicas} under load: ${replicas} pods Ready in ${((Date.now() - started) / 1000).toFixed(1)} s; meta group ${JSON.stringify(meta)}`);
      }
    } finally {
      await load.stop();
    }
    await assertAllStored(client, "scaled", load.acked);
  });

  test("the bus deleted: its pods go and its claims stay; applied again it finds its events; deleted with the annotation its claims go too", async () => {
    assert.ok(client, "the first test connected a client");
    const held = (await client.streamInfo()).state.messages;
    // Every claim the bus's StatefulSet made (those of servers scaled away too: a StatefulSet keeps them)
    const claimsBefore = (await kube.list<Claim>(Resources.persistentVolumeClaim, { namespace })).items.map((c) => c.metadata.name).sort();
    assert.ok(claimsBefore.length >= 3, claimsBefore.join(", "));
    await client.close();
    client = undefined;
    // WHEN the EventBus is deleted
    await kube.delete(Resources.eventBus, namespace, "default");
    await waitFor(
      "the EventBus and its pods to be gone",
      async () =>
        (await kube.get(Resources.eventBus, namespace, "default").catch(() => undefined)) === undefined &&
        (await kube.list<Pod>(POD, { namespace })).items.length === 0
          ? true
          : undefined,
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    // THEN the claims that hold its messages are kept
    const kept = (await kube.list<Claim>(Resources.persistentVolumeClaim, { namespace })).items;
    assert.deepEqual(kept.map((c) => c.metadata.name).sort(), claimsBefore);
    assert.equal((await kube.list(Resources.statefulSet, { namespace })).items.length, 0);

    // AND the same EventBus applied again runs on them, with every event
    await kube.apply(argoBus());
    const again = await runningBus();
    const pods = await readyPods(3);
    client = await connectTo(pods);
    const info = await waitFor("the stream back with its events", async () => {
      const s = await client!.streamInfo().catch(() => undefined);
      return s && s.state.messages === held ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(info.state.messages, held);
    assert.equal(again.metadata.name, "default");
    await client.close();
    client = undefined;

    // WHEN it is deleted with the annotation eventbus.argoproj.io/delete-volumes: "true"
    await kube.apply(argoBus({ "eventbus.argoproj.io/delete-volumes": "true" }));
    await kube.delete(Resources.eventBus, namespace, "default");
    // THEN its claims go with it
    await waitFor(
      "the claims to be deleted",
      async () => ((await kube.list<Claim>(Resources.persistentVolumeClaim, { namespace })).items.length === 0 ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
  });
  test("a NATS Streaming bus: 3 pods Ready, one raft leader among them, the EventBus Running", async () => {
    // GIVEN a STAN bus as older Argo Events installations have it (the default bus is gone)
    await kube.apply({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "stan", namespace },
      spec: { nats: { native: { replicas: 3, auth: "token", persistence: { storageClassName: "standard", volumeSize: "1Gi" } } } },
    });
    // WHEN it is reconciled
    await runningBus("stan");
    const pods = await readyPods(3, "stan");
    // THEN the three servers are one raft cluster: nats-streaming-server's /streaming/serverz shows
    // each one's role (nats-streaming-server server/monitor.go, Serverz.Role), one of them Leader.
    // (The pods are Ready before the raft election ends: they have no readiness probe, as Argo's.)
    const rolesNow = () =>
      Promise.all(
        pods.map(async (p) => ((await (await fetch(`http://${p.status?.podIP ?? ""}:8222/streaming/serverz`)).json()) as { role?: string }).role ?? ""),
      );
    let roles: string[] = [];
    await waitFor(
      "a raft leader among the STAN servers",
      async () => {
        roles = (await rolesNow()).sort();
        return roles.includes("Leader") ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(() => undefined);
    assert.deepEqual(roles, ["Follower", "Follower", "Leader"]);
    for (const pod of pods) {
      for (const c of pod.status?.containerStatuses ?? []) assert.equal(c.ready, true, `${pod.metadata.name}/${c.name} is ready`);
    }
  });
});
