// Benchmark: the controller's reconcile rate. On a real kube-apiserver + etcd (the test harness),
// BENCH_BUSES (100) managed JetStream EventBuses are created at once; it reports the time until
// every one is Deployed=True (goal < 5 s), the API requests it took, and the controller's writes
// and the resourceVersion changes of the buses and their objects in the quiet period after
// (BENCH_QUIET_MS, 5 s; goal 0). Run with `npm run bench:reconcile` (needs `make tools`).
import { performance } from "node:perf_hooks";

import { Controller, fromKubeconfig, KubeClient, Resources, type KubeResource } from "../src/platforms/kubernetes/index.js";
import { eventBusCrd } from "../src/api/index.js";
import { startKubeApi } from "../test/helpers/kube-api.js";

const BUSES = Number(process.env.BENCH_BUSES ?? 100);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const QUIET_MS = Number(process.env.BENCH_QUIET_MS ?? 5_000);
const NS = "bench";
const json = process.argv.includes("--json") || process.env.BENCH_JSON === "1";

type Bus = KubeResource & { status?: { conditions?: { type: string; status: string }[] } };

const deployed = (bus: Bus) => bus.status?.conditions?.some((c) => c.type === "Deployed" && c.status === "True") === true;

async function main(): Promise<void> {
  await using api = await startKubeApi();
  const admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
  try {
    await admin.apply(eventBusCrd() as never);
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    for (;;) {
      const crd = await admin.get<KubeResource & { status?: { conditions?: { type: string; status: string }[] } }>(
        Resources.customResourceDefinition,
        undefined,
        "eventbus.argoproj.io",
      );
      if (crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    // `all`: the buses carry no `eventbus.argoproj.io/controller` annotation (no Argo Events controller here).
    await using controller = new Controller({ connection: fromKubeconfig(api.kubeconfigPath), workers: WORKERS, leaderElection: false, all: true });
    await controller.start();

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
      const list = await admin.list<Bus>(Resources.eventBus, { namespace: NS });
      done = list.items.filter(deployed).length;
      if (done < BUSES) await new Promise((r) => setTimeout(r, 50));
    }
    const allDeployed = performance.now() - started;
    const requests = controller.metrics.requests.get();
    const writesToDeploy = controller.writes;
    const reconciles = controller.metrics.reconciles.get();

    // Quiet period: let the last watch events arrive, then nothing may change.
    while (controller.pending > 0) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    const snapshot = async () => {
      const versions = new Map<string, string>();
      for (const rt of [Resources.eventBus, Resources.statefulSet, Resources.service, Resources.configMap, Resources.secret, Resources.podDisruptionBudget]) {
        for (const o of (await admin.list(rt, { namespace: NS })).items) versions.set(`${rt.kind}/${o.metadata.name}`, o.metadata.resourceVersion ?? "");
      }
      return versions;
    };
    const before = await snapshot();
    const writesBefore = controller.writes;
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const after = await snapshot();
    const changed = [...after].filter(([k, v]) => before.get(k) !== v).length + [...before.keys()].filter((k) => !after.has(k)).length;
    const quietWrites = controller.writes - writesBefore;

    const result = {
      buses: BUSES,
      workers: WORKERS,
      createMs: Math.round(created),
      allDeployedMs: Math.round(allDeployed),
      busesPerSecond: Number((BUSES / (allDeployed / 1000)).toFixed(1)),
      reconciles,
      apiRequests: requests,
      apiWritesUntilDeployed: writesToDeploy,
      writesPerBus: Number((writesToDeploy / BUSES).toFixed(1)),
      objects: after.size,
      quietMs: QUIET_MS,
      quietWrites,
      quietResourceVersionChanges: changed,
    };
    if (json) {
      console.log(JSON.stringify(result));
    } else {
      console.log(`reconcile: ${BUSES} JetStream EventBuses (3 replicas, TLS, basic auth, persistence) created at once, ${WORKERS} workers`);
      console.log(`  created in ${result.createMs} ms; all Deployed=True after ${result.allDeployedMs} ms (${result.busesPerSecond} buses/s; goal < 5000 ms)`);
      console.log(`  ${reconciles} reconciles, ${requests} API requests, ${writesToDeploy} writes (${result.writesPerBus} per bus; ${result.objects} objects)`);
      console.log(`  quiet period of ${QUIET_MS} ms: ${quietWrites} writes, ${changed} resourceVersion changes (goal 0 and 0)`);
    }
    if (quietWrites !== 0 || changed !== 0) process.exitCode = 1;
  } finally {
    admin.close();
  }
}

await main();
