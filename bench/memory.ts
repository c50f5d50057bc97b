// Benchmark: resident memory of eventbus's own processes, each against a baseline measured in the
// same run, on one 3-replica TLS bus with persistence started by the built CLI (`eventbus up`) in
// a temp EVENTBUS_HOME and always taken down:
//   1. the bus's supervisor, idle and after its first /metrics scrape (goal < 50 MB), against a
//      bare `node` process of the same binary that loads nothing;
//   2. `eventbus publish --count 100000` at its peak (goal < 150 MB), against a raw nats.js event
//      source publishing the same events (bench/raw-publish.ts, plain node).
// Figures are kernel counts from /proc/<pid>/status: VmRSS (resident now) and VmHWM (its peak).
// Run with `npm run bench:memory` after a build (`-- --json` or BENCH_JSON=1 for JSON).
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { busCredentials, busPaths } from "../src/platforms/local/index.js";
import { BUILT_CLI, memoryOf, requireBuiltCli, runBuiltCli } from "./built-cli.js";
import { GOALS } from "./goals.js";
import { envInt, goal } from "./stats.js";

const COUNT = envInt("BENCH_PUBLISH_COUNT", 100_000);
const JSON_OUTPUT = process.argv.includes("--json") || process.env.BENCH_JSON === "1";
const RAW_PUBLISH = fileURLToPath(new URL("./raw-publish.ts", import.meta.url));
requireBuiltCli();
const cli = runBuiltCli;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

/**
 * Runs a command to its end and returns its peak resident memory, read from /proc every 20 ms
 * while it runs (VmHWM only grows, so the last read before it exits is its peak).
 */
async function peakOf(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(file, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let peak = 0;
  let running = true;
  void exited.then(() => (running = false));
  while (running) {
    const m = await memoryOf(child.pid!);
    if (m !== undefined) peak = Math.max(peak, m.peak);
    await sleep(20);
  }
  const code = await exited;
  if (code !== 0) throw new Error(`${[file, ...args].join(" ")} exited ${code}: ${stderr.slice(-2000)}`);
  return peak;
}

/** A bare node process of the same binary, resident after a second of doing nothing. */
async function bareNode(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
  try {
    await sleep(1_000);
    return (await memoryOf(child.pid!))?.rss ?? Number.NaN;
  } finally {
    child.kill("SIGKILL");
  }
}

const home = await mkdtemp(join(tmpdir(), "eventbus-bench-memory-"));
const name = "memory";
let started = false;
try {
  const file = join(home, "bus.yaml");
  await writeFile(
    file,
    `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: ${name}}\nspec:\n  jetstream:\n    version: "2.10"\n    replicas: 3\n    auth: basic\n    tls: {enabled: true}\n    persistence: {volumeSize: 1Gi}\n`,
  );
  progress(`starting a 3-replica bus (TLS, basic auth, file storage) with the built CLI in ${home}`);
  started = true;
  await cli(["up", "-f", file], home);
  const paths = busPaths(home, name);
  const control = JSON.parse(await readFile(paths.control, "utf8")) as { pid: number; metricsPort?: number };

  // -- 1. the supervisor ----------------------------------------------------------------------
  await sleep(3_000);
  const bare = await bareNode();
  const idle = (await memoryOf(control.pid))?.rss ?? Number.NaN;
  if (control.metricsPort !== undefined) await (await fetch(`http://127.0.0.1:${control.metricsPort}/metrics`)).text();
  await sleep(1_000);
  const scraped = (await memoryOf(control.pid))?.rss ?? Number.NaN;

  // -- 2. publish --count ---------------------------------------------------------------------
  const creds = await busCredentials(name, { home, showSecrets: true });
  progress(`publish: ${COUNT} events, raw nats.js first, then eventbus publish --count`);
  const rawPeak = await peakOf(process.execPath, [RAW_PUBLISH], {
    ...process.env,
    BENCH_COUNT: String(COUNT),
    BENCH_SERVER: creds.urls[0],
    BENCH_USER: creds.user,
    BENCH_PASSWORD: creds.password,
    BENCH_CA: creds.caFile,
  });
  const data = `{"payload":"${"x".repeat(242)}"}`;
  const publishPeak = await peakOf(
    process.execPath,
    [BUILT_CLI, "publish", name, "--source", "memory", "--event", "eventbus", "--type", "webhook", "--data", data, "--count", String(COUNT), "-o", "json"],
    { ...process.env, EVENTBUS_HOME: home },
  );

  const result = {
    context: { node: process.version, bus: "3 replicas, file storage, TLS, basic auth", unit: "MB (MiB), from /proc/<pid>/status" },
    supervisor: { idleMb: idle, scrapedMb: scraped, bareNodeMb: bare, goalMb: GOALS.supervisorRssMb.value },
    publish: { count: COUNT, eventbusPeakMb: publishPeak, rawPeakMb: rawPeak, goalMb: GOALS.publishRssMb.value },
  };
  if (JSON_OUTPUT) console.log(JSON.stringify(result, null, 2));
  else {
    const row = (label: string, mb: number, tail = "") => console.log(`  ${label.padEnd(58)} ${mb.toFixed(1).padStart(7)} MB  ${tail}`.trimEnd());
    console.log(`eventbus memory benchmark (node ${process.version}; ${result.context.bus}; resident memory from /proc)`);
    console.log("1. the supervisor of the bus");
    row("baseline: bare node process (same binary, loads nothing)", bare, "1.00x");
    row("supervisor, idle", idle, `${(idle / bare).toFixed(2)}x  (${goal(idle, GOALS.supervisorRssMb)})`);
    row("supervisor, after its first /metrics scrape", scraped, `${(scraped / bare).toFixed(2)}x`);
    console.log(`2. publishing ${COUNT} events, peak`);
    row("baseline: raw nats.js event source (plain node)", rawPeak, "1.00x");
    row(`eventbus publish --count ${COUNT}`, publishPeak, `${(publishPeak / rawPeak).toFixed(2)}x  (${goal(publishPeak, GOALS.publishRssMb)})`);
  }
} catch (error) {
  process.exitCode = 1;
  progress(`bench:memory failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  if (started) await cli(["down", name, "--purge", "--yes"], home).catch(() => undefined);
  await rm(home, { recursive: true, force: true });
}
