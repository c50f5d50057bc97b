// Benchmark: wall time of `eventbus up -f bus.yaml` (the built CLI, as a user runs it) until it
// returns with a healthy bus and its stream, for 1 and 3 replicas with TLS, basic auth and
// persistence, against the baseline of one bare `nats-server -js` starting on this machine in the
// same run; and the CLI's start-up (`eventbus --version`) against `node -e 0`, the floor of any
// node program here (goal: at most 2x). Run with `make bench` (it builds dist/ first) or
// `npm run bench:up` after a build (`-- --json` or BENCH_JSON=1 for JSON).
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocatePorts } from "../src/platforms/local/index.js";
import { findNatsServer } from "../src/tools/index.js";
import { requireBuiltCli, runBuiltCli } from "./built-cli.js";
import { GOALS } from "./goals.js";
import { envInt, goal, median } from "./stats.js";

const RUNS = envInt("BENCH_RUNS", 5);
const JSON_OUTPUT = process.argv.includes("--json") || process.env.BENCH_JSON === "1";

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

requireBuiltCli();
const cli = runBuiltCli;

async function busStart(replicas: number): Promise<number> {
  const home = await mkdtemp(join(tmpdir(), "eventbus-bench-"));
  const name = `bench${replicas}`;
  const file = join(home, "bus.yaml");
  await writeFile(
    file,
    `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: ${name}}\nspec:\n  jetstream:\n    version: "2.10"\n    replicas: ${replicas}\n    auth: basic\n    tls: {enabled: true}\n    persistence: {volumeSize: 1Gi}\n`,
  );
  const started = performance.now();
  await cli(["up", "-f", file], home);
  const elapsed = performance.now() - started;
  await cli(["down", name, "--purge", "--yes"], home);
  await rm(home, { recursive: true, force: true });
  return elapsed;
}

async function cliStart(): Promise<number> {
  const started = performance.now();
  await cli(["--version"], tmpdir());
  return performance.now() - started;
}

/** `node -e 0`: a node process that loads nothing, started the same way as the CLI. */
async function nodeStart(): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => execFile(process.execPath, ["-e", "0"], (error) => (error ? reject(error) : resolve())));
  return performance.now() - started;
}

/** Start-up alone is quick: more runs, each pair in turn, so that both see the same machine. */
const STARTS = RUNS * 4;
const nodeRuns: number[] = [];
const versionRuns: number[] = [];
for (let i = 0; i < STARTS; i++) {
  nodeRuns.push(await nodeStart());
  versionRuns.push(await cliStart());
}
const startRatio = median(versionRuns) / median(nodeRuns);

const baseline: number[] = [];
const version: number[] = [];
const one: number[] = [];
const three: number[] = [];
for (let i = 0; i < RUNS; i++) {
  baseline.push(await bareServerStart());
  version.push(await cliStart());
  one.push(await busStart(1));
  three.push(await busStart(3));
}
const b = median(baseline);
if (JSON_OUTPUT) {
  console.log(
    JSON.stringify({
      node: process.version,
      runs: RUNS,
      cliStart: { nodeMs: median(nodeRuns), versionMs: median(versionRuns), ratio: startRatio, goal: GOALS.cliStartRatio.value },
      up: { bareServerMs: b, oneReplicaMs: median(one), threeReplicasMs: median(three), goalMs: GOALS.upMillis.value },
    }),
  );
} else {
  console.log(`CLI start-up: median of ${STARTS} runs each, in turn`);
  console.log(`${"baseline: node -e 0".padEnd(56)} ${median(nodeRuns).toFixed(0).padStart(6)} ms  1.0x`);
  console.log(
    `${"eventbus --version".padEnd(56)} ${median(versionRuns).toFixed(0).padStart(6)} ms  ${startRatio.toFixed(1)}x  (${goal(startRatio, GOALS.cliStartRatio)})`,
  );
  console.log();
  console.log(`eventbus up benchmark (built CLI, wall time): median of ${RUNS} runs (node ${process.version})`);
  console.log(`${"baseline: bare nats-server -js to /healthz".padEnd(56)} ${b.toFixed(0).padStart(6)} ms  1.0x`);
  for (const [label, values] of [
    ["eventbus --version (CLI start-up alone)", version],
    ["up, 1 replica, TLS + basic auth + persistence", one],
    ["up, 3 replicas, TLS + basic auth + persistence", three],
  ] as const) {
    const m = median(values);
    const tail = label.includes("3 replicas") ? `  (${goal(m, GOALS.upMillis)})` : "";
    console.log(`${label.padEnd(56)} ${m.toFixed(0).padStart(6)} ms  ${(m / b).toFixed(1)}x${tail}`);
  }
}
