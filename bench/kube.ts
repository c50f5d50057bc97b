// Benchmark: one bus on the two platforms, figures side by side. The same 3-server bus (TLS, basic
// auth, persistence, nats-server 2.11) is applied on the single-node Kubernetes (the controller
// from dist/ on the host, pods on the kubelet) and brought up on the local platform. Measured: the
// time from apply until the bus is ready (the EventBus Running with 3 Ready pods; `up` returning
// with a healthy bus and its stream), and the loss of the stream leader's server under a steady
// 1,000 events/s (its server's process SIGKILLed: in the pod through containerd, the kubelet
// restarting the container; locally, the supervisor restarting the process): the
// longest wait between two acks, the time until that server is ready again, and acked events lost.
// Figures, not assertions. Needs the node (`make kube-node`) and a build (`make build`); run with
// `npm run bench:kube`. BENCH_ROUNDS repeats each platform's measure (medians are printed).
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";

import { eventBusCrd } from "../src/api/index.js";
import { connect, type EventBusClient } from "../src/client/index.js";
import { fromKubeconfig, KubeClient, Resources, type KubeResource } from "../src/platforms/kubernetes/index.js";
import { busStatus, downBus, localBusStatus, upBus } from "../src/platforms/local/index.js";
import { killContainer, nodeUp } from "../scripts/kube-node/node.js";
import { argoEventBus, isReady, POD, type Pod, readyPods, runningBus, sleep } from "../e2e/helpers.js";
import { waitFor } from "../test/helpers/process.js";
import { startSteadyLoad, storedEventIds } from "./steady-load.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** What one round measured, in ms (lost: events). */
interface Figures {
  readyMillis: number;
  stallMillis: number;
  backMillis: number;
  acked: number;
  lost: number;
}

/** A probe's rejection counts as "not yet": the API server or a server may be restarting. */
const tolerant =
  <T>(probe: () => Promise<T | undefined>) =>
  () =>
    probe().catch(() => undefined);

/** Runs the load, takes a server away with `kill` (which returns when it is ready again), and counts. */
async function serverLost(client: EventBusClient, source: string, kill: () => Promise<void>): Promise<Omit<Figures, "readyMillis">> {
  await client.applyStreamConfig("maxMsgs: -1\nmaxBytes: 1GB\n", { serverReplicas: 3 });
  const load = startSteadyLoad(client, source, "lost");
  await sleep(3_000);
  const killedAt = Date.now();
  await kill();
  const backMillis = Date.now() - killedAt;
  await sleep(3_000);
  await load.stop();
  const stored = await storedEventIds(client, source, "lost");
  return {
    stallMillis: load.longestStallAfter(killedAt),
    backMillis,
    acked: load.acked.length,
    lost: load.acked.filter((id) => !stored.has(id)).length,
  };
}

async function kubeRound(kube: KubeClient, kubeconfig: string): Promise<Figures> {
  const namespace = `bench-${randomBytes(3).toString("hex")}`;
  await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  const controller = spawn(process.execPath, [CLI, "controller", "--all", "--namespace", namespace, "--kubeconfig", kubeconfig, "--no-leader-elect"], {
    stdio: "ignore",
  });
  let client: EventBusClient | undefined;
  try {
    const started = Date.now();
    await kube.apply(argoEventBus(namespace, "2.11"));
    await runningBus(kube, namespace);
    const pods = await readyPods(kube, namespace, 3, "eventbus-name=default");
    const readyMillis = Date.now() - started;
    const secret = (await kube.get(Resources.secret, namespace, "eventbus-default-js-client-auth")) as KubeResource & { data?: Record<string, string> };
    const auth = Buffer.from(secret.data?.["client-auth"] ?? "", "base64").toString("utf8");
    client = await connect({
      servers: pods.map((p) => `tls://${p.status?.podIP ?? ""}:4222`),
      auth: { kind: "basic", username: /username: (\S+)/.exec(auth)?.[1] ?? "", password: /password: (\S+)/.exec(auth)?.[1] ?? "" },
      tls: { insecure: true },
    });
    const connected = client;
    const lost = await serverLost(connected, "kube", async () => {
      const leader = (await connected.streamInfo()).cluster?.leader ?? "eventbus-default-js-0";
      const main = (pod: Pod) => pod.status?.containerStatuses?.find((c) => c.name === "main");
      const before = main((await kube.get(POD, namespace, leader)) as Pod);
      if (before?.containerID === undefined) throw new Error(`pod ${leader} has no main container`);
      await killContainer(before.containerID);
      await waitFor(
        `pod ${leader}'s server restarted and Ready`,
        tolerant(async () => {
          const pod = (await kube.get(POD, namespace, leader)) as Pod | undefined;
          return pod && (main(pod)?.restartCount ?? 0) > before.restartCount && isReady(pod) ? true : undefined;
        }),
        { timeoutMs: 240_000, intervalMs: 250 },
      );
    });
    return { readyMillis, ...lost };
  } finally {
    await client?.close();
    controller.kill("SIGTERM");
    await kube.delete(Resources.namespace, undefined, namespace).catch(() => undefined);
  }
}

async function localRound(): Promise<Figures> {
  const home = await mkdtemp(join(tmpdir(), "eventbus-bench-kube-"));
  const name = "benchlocal";
  const manifest = `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata:\n  name: ${name}\nspec:\n  jetstream:\n    version: "2.11"\n    replicas: 3\n    persistence: {volumeSize: 1Gi}\n`;
  let client: EventBusClient | undefined;
  try {
    const started = Date.now();
    await upBus({ home, manifest: { text: manifest, source: "bench.yaml" }, timeoutMillis: 120_000 });
    const readyMillis = Date.now() - started;
    client = await connect({ status: await localBusStatus(name, { home }) });
    const connected = client;
    const lost = await serverLost(connected, "local", async () => {
      const leader = (await connected.streamInfo()).cluster?.leader;
      const victim = (await busStatus(name, { home })).servers.find((s) => s.name === leader);
      if (victim?.pid === undefined) throw new Error(`no pid for the stream leader ${leader ?? "(none)"}`);
      process.kill(victim.pid, "SIGKILL");
      await waitFor(
        `${victim.name} back and healthy`,
        tolerant(async () => {
          const s = (await busStatus(name, { home })).servers.find((x) => x.name === victim.name);
          return s?.pid !== undefined && s.pid !== victim.pid && s.phase === "healthy" ? true : undefined;
        }),
        { timeoutMs: 120_000, intervalMs: 50 },
      );
    });
    return { readyMillis, ...lost };
  } finally {
    await client?.close();
    await downBus(name, { home }).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

const node = await nodeUp((line) => process.stderr.write(`${line}\n`));
const kube = new KubeClient(fromKubeconfig(node.kubeconfig));
await kube.apply(eventBusCrd() as unknown as Parameters<KubeClient["apply"]>[0]);
const kubeRounds: Figures[] = [];
const localRounds: Figures[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  process.stderr.write(`round ${round} of ${ROUNDS}: kubernetes\n`);
  kubeRounds.push(await kubeRound(kube, node.kubeconfig));
  process.stderr.write(`round ${round} of ${ROUNDS}: local\n`);
  localRounds.push(await localRound());
}
kube.close();

const rows: [string, (f: Figures) => number, (v: number) => string][] = [
  ["bus ready after apply", (f) => f.readyMillis, (v) => `${(v / 1000).toFixed(1)} s`],
  ["longest wait between acks, leader's server lost", (f) => f.stallMillis, (v) => `${(v / 1000).toFixed(2)} s`],
  ["that server ready again", (f) => f.backMillis, (v) => `${(v / 1000).toFixed(1)} s`],
  ["events acked during the measure", (f) => f.acked, (v) => String(v)],
  ["acked events lost", (f) => f.lost, (v) => String(v)],
];
console.log(`\n3-server bus, TLS, basic auth, persistence, nats-server 2.11; ${ROUNDS} round(s), medians`);
console.log(`${"figure".padEnd(50)}${"kubernetes".padStart(12)}${"local".padStart(12)}${"kube/local".padStart(12)}`);
for (const [label, pick, format] of rows) {
  const k = median(kubeRounds.map(pick));
  const l = median(localRounds.map(pick));
  const ratio = l > 0 ? `${(k / l).toFixed(2)}x` : "-";
  console.log(`${label.padEnd(50)}${format(k).padStart(12)}${format(l).padStart(12)}${ratio.padStart(12)}`);
}
