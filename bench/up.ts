// Benchmark: time from `eventbus up` (the library call the CLI makes) to a healthy bus with its
// stream, for 1 and 3 replicas with TLS, basic auth and persistence, against the baseline of one
// bare `nats-server -js` starting on this machine in the same run. Run with `npm run bench:up`.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocatePorts, downBus, upBus } from "../src/platforms/local/index.js";
import { findNatsServer } from "../src/tools/index.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function healthy(port: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** One bare nats-server with JetStream, from spawn to a 200 on /healthz. */
async function bareServerStart(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "eventbus-bench-"));
  const { client, monitor } = (await allocatePorts(1))[0]!;
  const started = performance.now();
  const child = spawn(findNatsServer("2.10"), ["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(client), "-m", String(monitor)], { stdio: "ignore" });
  await healthy(monitor);
  const elapsed = performance.now() - started;
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  await rm(dir, { recursive: true, force: true });
  return elapsed;
}

async function busStart(replicas: number): Promise<number> {
  const home = await mkdtemp(join(tmpdir(), "eventbus-bench-"));
  const name = `bench${replicas}`;
  const text = `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: ${name}}\nspec:\n  jetstream:\n    version: "2.10"\n    replicas: ${replicas}\n    auth: basic\n    tls: {enabled: true}\n    persistence: {volumeSize: 1Gi}\n`;
  const started = performance.now();
  await upBus({ home, manifest: { text, source: "bench" } });
  const elapsed = performance.now() - started;
  await downBus(name, { home, purge: true });
  await rm(home, { recursive: true, force: true });
  return elapsed;
}

const baseline: number[] = [];
const one: number[] = [];
const three: number[] = [];
for (let i = 0; i < RUNS; i++) {
  baseline.push(await bareServerStart());
  one.push(await busStart(1));
  three.push(await busStart(3));
}
const b = median(baseline);
console.log(`eventbus up benchmark: median of ${RUNS} runs (node ${process.version})`);
console.log(`${"baseline: bare nats-server -js to /healthz".padEnd(56)} ${b.toFixed(0).padStart(6)} ms  1.0x`);
for (const [label, values] of [
  ["up, 1 replica, TLS + basic auth + persistence", one],
  ["up, 3 replicas, TLS + basic auth + persistence", three],
] as const) {
  const m = median(values);
  const goal = label.includes("3 replicas") ? `  (goal < 1500 ms: ${m < 1500 ? "met" : "not met"})` : "";
  console.log(`${label.padEnd(56)} ${m.toFixed(0).padStart(6)} ms  ${(m / b).toFixed(1)}x${goal}`);
}
