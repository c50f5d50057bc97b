// Benchmark: the controller at scale. On a real kube-apiserver + etcd (the test harness), the
// built CLI's `eventbus controller` runs as its own process; BENCH_BUSES (100) managed JetStream
// EventBuses are created at once. It reports:
//   - the time until every one is Deployed=True (goal < 5 s), against the baseline of a plain
//     client creating the same objects the controller made (StatefulSets, Services, ConfigMaps,
//     Secrets, PodDisruptionBudgets), BENCH_WORKERS at once, in another namespace: the API's floor;
//   - the controller's writes and the objects' resourceVersion changes in a quiet period after
//     (BENCH_QUIET_MS, 5 s; goal 0 and 0), from its /metrics and the API;
//   - the controller's resident memory with the buses (goal < 150 MB), against itself with none.
// Run with `npm run bench:reconcile` after a build (needs `make tools`; `-- --json` for JSON).
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

import { eventBusCrd } from "../src/api/index.js";
import { fromKubeconfig, KubeClient, Resources, WRITE_VERBS, type KubeResource, type ResourceType } from "../src/platforms/kubernetes/index.js";
import { freePort } from "../test/helpers/ports.js";
import { startKubeApi } from "../test/helpers/kube-api.js";
import { parsePrometheusText } from "../test/helpers/prometheus-text.js";
import { BUILT_CLI, memoryOf, requireBuiltCli } from "./built-cli.js";
import { GOALS } from "./goals.js";
import { envInt, goal } from "./stats.js";

const BUSES = envInt("BENCH_BUSES", 100);
const WORKERS = envInt("BENCH_WORKERS", 8);
const QUIET_MS = envInt("BENCH_QUIET_MS", 5_000);
const NS = "bench";
const RAW_NS = "bench-raw";
const JSON_OUTPUT = process.argv.includes("--json") || process.env.BENCH_JSON === "1";
requireBuiltCli();
const OBJECT_TYPES: readonly ResourceType[] = [Resources.statefulSet, Resources.service, Resources.configMap, Resources.secret, Resources.podDisruptionBudget];

type Bus = KubeResource & { status?: { conditions?: { type: string; status: string }[] } };

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));
const progress = (line: string) => process.stderr.write(`${line}\n`);
const deployed = (bus: Bus) => bus.status?.conditions?.some((c) => c.type === "Deployed" && c.status === "True") === true;

/** Resident memory of a process, MB (VmRSS). */
const rssOf = async (pid: number): Promise<number> => (await memoryOf(pid))?.rss ?? Number.NaN;

/** Runs `work` over `items`, `workers` at a time. */
async function pool<T>(items: readonly T[], workers: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** An object as a plain client would create it: without what the API server and the owner set. */
function copyOf(o: KubeResource): KubeResource {
  const { metadata, status: _status, ...rest } = o as KubeResource & { status?: unknown };
  return { ...rest, metadata: { name: metadata.name, namespace: RAW_NS, labels: metadata.labels, annotations: metadata.annotations } } as KubeResource;
}

async function main(): Promise<void> {
  await using api = await startKubeApi();
  const admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
  try {
    await admin.apply(eventBusCrd() as never);
    for (const ns of [NS, RAW_NS]) await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    for (;;) {
      const crd = await admin.get<Bus>(Resources.customResourceDefinition, undefined, "eventbus.argoproj.io");
      if (crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      await sleep(50);
    }

    // The controller as it is run: the built CLI, its own process. `--all`: the buses carry no
    // `eventbus.argoproj.io/controller` annotation (no Argo Events controller here).
    const healthPort = await freePort();
    const controller = spawn(
      process.execPath,
      [
        BUILT_CLI,
        "controller",
        "--kubeconfig",
        api.kubeconfigPath,
        "--all",
        "--no-leader-elect",
        "--workers",
        String(WORKERS),
        "--health-port",
        String(healthPort),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    controller.stderr.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    try {
      const metrics = async () => parsePrometheusText(await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text());
      const sum = async (family: string, keep: (labels: Record<string, string>) => boolean = () => true) =>
        ((await metrics()).get(family)?.samples ?? []).filter((s) => keep(s.labels)).reduce((total, s) => total + s.value, 0);
      const writes = () => sum("eventbus_controller_kube_requests_total", (l) => (WRITE_VERBS as readonly string[]).includes(l["verb"] ?? ""));
      for (let ready = false; !ready; await sleep(50)) {
        if (controller.exitCode !== null) throw new Error(`the controller exited ${controller.exitCode}: ${log}`);
        ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      }
      await sleep(1_000);
      const idleRss = await rssOf(controller.pid!);

      progress(`reconcile: ${BUSES} EventBuses created at once`);
      const started = performance.now();
      await Promise.all(
        Array.from({ length: BUSES }, (_, i) =>
          admin.create(Resources.eventBus, NS, {
            apiVersion: "argoproj.io/v1alpha1",
            kind: "EventBus",
            metadata: { name: `bus-${i}` },
            spec: { jetstream: { version: "2.10", replicas: 3, persistence: { volumeSize: "1Gi" } } },
          }),
        ),
      );
      const created = performance.now() - started;
      let done = 0;
      while (done < BUSES) {
        if (controller.exitCode !== null) throw new Error(`the controller exited ${controller.exitCode}: ${log}`);
        done = (await admin.list<Bus>(Resources.eventBus, { namespace: NS })).items.filter(deployed).length;
        if (done < BUSES) await sleep(50);
      }
      const allDeployed = performance.now() - started;
      const writesToDeploy = await writes();
      const reconciles = await sum("eventbus_controller_reconcile_total");
      const requests = await sum("eventbus_controller_kube_requests_total");

      // Quiet period: let the last watch events arrive, then nothing may change.
      while ((await sum("eventbus_controller_workqueue_depth")) > 0) await sleep(50);
      await sleep(500);
      const snapshot = async (namespace: string) => {
        const versions = new Map<string, string>();
        for (const rt of [Resources.eventBus, ...OBJECT_TYPES]) {
          for (const o of (await admin.list(rt, { namespace })).items) versions.set(`${rt.kind}/${o.metadata.name}`, o.metadata.resourceVersion ?? "");
        }
        return versions;
      };
      const before = await snapshot(NS);
      const writesBefore = await writes();
      await sleep(QUIET_MS);
      const after = await snapshot(NS);
      const changed = [...after].filter(([k, v]) => before.get(k) !== v).length + [...before.keys()].filter((k) => !after.has(k)).length;
      const quietWrites = (await writes()) - writesBefore;
      const busyRss = await rssOf(controller.pid!);

      // The baseline: the same objects created by a plain client, WORKERS at once.
      const objects: KubeResource[] = [];
      for (const rt of OBJECT_TYPES) objects.push(...(await admin.list(rt, { namespace: NS })).items.map(copyOf));
      progress(`baseline: ${objects.length} of the controller's objects created by a plain client, ${WORKERS} at once`);
      const rawStarted = performance.now();
      await pool(objects, WORKERS, (o) => admin.create(OBJECT_TYPES.find((rt) => rt.kind === o.kind)!, RAW_NS, o));
      const rawMs = performance.now() - rawStarted;

      const result = {
        buses: BUSES,
        workers: WORKERS,
        createMs: Math.round(created),
        allDeployedMs: Math.round(allDeployed),
        baselineObjects: objects.length,
        baselineMs: Math.round(rawMs),
        ratio: allDeployed / rawMs,
        busesPerSecond: Number((BUSES / (allDeployed / 1000)).toFixed(1)),
        reconciles,
        apiRequests: requests,
        apiWritesUntilDeployed: writesToDeploy,
        writesPerBus: Number((writesToDeploy / BUSES).toFixed(1)),
        objects: after.size,
        quietMs: QUIET_MS,
        quietWrites,
        quietResourceVersionChanges: changed,
        rssMb: { idle: Number(idleRss.toFixed(1)), withBuses: Number(busyRss.toFixed(1)), goal: GOALS.controllerRssMb.value },
        goalMs: GOALS.reconcileMillis.value,
      };
      if (JSON_OUTPUT) {
        console.log(JSON.stringify(result));
      } else {
        console.log(
          `reconcile: ${BUSES} JetStream EventBuses (3 replicas, TLS, basic auth, persistence) created at once; the built CLI's controller, ${WORKERS} workers`,
        );
        console.log(`  baseline: the same ${objects.length} objects created by a plain client, ${WORKERS} at once: ${result.baselineMs} ms`);
        console.log(
          `  buses created in ${result.createMs} ms; all Deployed=True after ${result.allDeployedMs} ms (${result.ratio.toFixed(1)}x the baseline, ${result.busesPerSecond} buses/s; ${goal(allDeployed, GOALS.reconcileMillis)})`,
        );
        console.log(
          `  ${reconciles} reconciles, ${requests} API requests, ${writesToDeploy} writes (${result.writesPerBus} per bus; ${result.objects} objects)`,
        );
        console.log(`  quiet period of ${QUIET_MS} ms: ${quietWrites} writes, ${changed} resourceVersion changes (goal 0 and 0)`);
        console.log(
          `  controller resident memory: ${result.rssMb.idle} MB with no bus, ${result.rssMb.withBuses} MB with ${BUSES} (${goal(busyRss, GOALS.controllerRssMb)})`,
        );
      }
      if (quietWrites !== 0 || changed !== 0) process.exitCode = 1;
    } finally {
      controller.kill("SIGTERM");
      await new Promise((resolve) => (controller.exitCode !== null ? resolve(undefined) : controller.once("exit", resolve)));
    }
  } finally {
    admin.close();
  }
}

await main();
