// `npm run bench`: every benchmark in turn, each in its own process (they start their own buses
// and API servers, one at a time), and one table of every figure next to its baseline measured in
// the same run and its goal. `-- --json` prints the table and each benchmark's own JSON instead.
// Needs a build (`make bench` builds first) and the tools (`make tools`).
import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";

import { GOALS, goalText, meets, type Goal } from "./goals.js";
import { formatRate } from "./stats.js";

const JSON_OUTPUT = process.argv.includes("--json") || process.env.BENCH_JSON === "1";
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** The benchmarks, in the order they run. */
const BENCHES = ["up", "publish", "flow", "memory", "reconcile", "console"] as const;
type BenchName = (typeof BENCHES)[number];

/** Runs one benchmark with `--json`: its progress goes to our stderr, its JSON is returned. */
function runBench(name: BenchName): Promise<{ json?: unknown; code: number | null; seconds: number }> {
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, "--json"], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      let json: unknown;
      try {
        json = stdout.trim() === "" ? undefined : JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ json, code, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** One line of the table: eventbus's figure, its baseline, their ratio, and the goal (on the figure or on the ratio). */
interface Row {
  readonly figure: string;
  readonly value: number | undefined;
  readonly baseline?: number | undefined;
  readonly baselineLabel?: string;
  readonly unit: string;
  /** The ratio to show: value / baseline unless given (a rate's ratio is taken per round by its benchmark). */
  readonly ratio?: number | undefined;
  readonly goal?: Goal;
  readonly goalOn?: "value" | "ratio";
}

// biome-ignore lint/suspicious/noExplicitAny: the benchmarks' JSON, read by path
type Json = any;

function rowsOf(results: Partial<Record<BenchName, Json>>): Row[] {
  const { up, publish: p, flow, memory: m, reconcile: r, console: c } = results;
  const rows: Row[] = [];
  const go = p?.publish?.go;
  rows.push(
    {
      figure: "async publish, window 256",
      value: p?.publish?.eventbusPublishAll?.eventsPerSec,
      baseline: p?.publish?.rawEventSource?.eventsPerSec,
      baselineLabel: "raw nats.js event source",
      unit: "ev/s",
      ratio: p?.publish?.eventbusPublishAll?.ratioToEventSource,
      goal: GOALS.publishVsEventSource,
      goalOn: "ratio",
    },
    {
      figure: "async publish against Go",
      value: p?.publish?.eventbusPublishAll?.eventsPerSec,
      baseline: go?.eventsPerSec,
      baselineLabel: "Go nats bench js pub async",
      unit: "ev/s",
      goal: GOALS.publishVsGo,
      goalOn: "ratio",
    },
    {
      figure: "publisher CPU per event",
      value: p?.publish?.eventbusPublishAll?.cpuMicrosPerEvent,
      baseline: p?.publish?.rawEventSource?.cpuMicrosPerEvent,
      baselineLabel: "raw nats.js event source",
      unit: "µs",
      goal: GOALS.publishCpuMicros,
      goalOn: "value",
    },
    {
      figure: "sync publish latency p99",
      value: p?.latencyMillis?.eventbus?.p99,
      baseline: p?.latencyMillis?.raw?.p99,
      baselineLabel: "raw nats.js await js.publish",
      unit: "ms",
    },
    {
      figure: "consume, unconfirmed acks",
      value: p?.consume?.ackNotAwaited?.eventbus?.eventsPerSec,
      baseline: p?.consume?.ackNotAwaited?.rawAck?.eventsPerSec,
      baselineLabel: "raw consume(), m.ack()",
      unit: "ev/s",
      goal: GOALS.consumeVsRaw,
      goalOn: "ratio",
    },
    {
      figure: "consume, each ack confirmed",
      value: p?.consume?.ackAwaited?.eventbus?.eventsPerSec,
      baseline: p?.consume?.ackAwaited?.rawAckAck?.eventsPerSec,
      baselineLabel: "raw consume(), await m.ackAck()",
      unit: "ev/s",
      goal: GOALS.consumeConfirmedVsRaw,
      goalOn: "ratio",
    },
    {
      figure: `end-to-end latency p50, ${flow?.latencyMillis?.rate ?? 1000} ev/s`,
      value: flow?.latencyMillis?.eventbus?.p50,
      baseline: flow?.latencyMillis?.raw?.p50,
      baselineLabel: "raw nats.js publish -> consume()",
      unit: "ms",
    },
    {
      figure: `end-to-end latency p99, ${flow?.latencyMillis?.rate ?? 1000} ev/s`,
      value: flow?.latencyMillis?.eventbus?.p99,
      baseline: flow?.latencyMillis?.raw?.p99,
      baselineLabel: "raw nats.js publish -> consume()",
      unit: "ms",
      goal: GOALS.latencyP99Millis,
      goalOn: "value",
    },
    {
      figure: "failover: leader SIGKILLed -> next ack",
      value: seconds(flow?.failover?.eventbus?.recoveryMillis),
      baseline: seconds(flow?.failover?.raw?.recoveryMillis),
      baselineLabel: "raw nats.js js.publish, same kill",
      unit: "s",
      goal: GOALS.failoverSeconds,
      goalOn: "value",
    },
    {
      figure: "failover: acked events lost",
      value: flow?.failover?.eventbus?.lost,
      baseline: flow?.failover?.raw?.lost,
      baselineLabel: "raw nats.js js.publish, same kill",
      unit: "",
      goal: GOALS.failoverLost,
      goalOn: "value",
    },
    {
      figure: "up, 3 servers, TLS, persistence",
      value: up?.up?.threeReplicasMs,
      baseline: up?.up?.bareServerMs,
      baselineLabel: "one bare nats-server -js",
      unit: "ms",
      goal: GOALS.upMillis,
      goalOn: "value",
    },
    {
      figure: "CLI start-up (eventbus --version)",
      value: up?.cliStart?.versionMs,
      baseline: up?.cliStart?.nodeMs,
      baselineLabel: "node -e 0",
      unit: "ms",
      goal: GOALS.cliStartRatio,
      goalOn: "ratio",
    },
    {
      figure: "supervisor of a 3-server bus, RSS",
      value: m?.supervisor?.idleMb,
      baseline: m?.supervisor?.bareNodeMb,
      baselineLabel: "bare node process",
      unit: "MB",
      goal: GOALS.supervisorRssMb,
      goalOn: "value",
    },
    {
      figure: `publish --count ${m?.publish?.count ?? 100000}, peak RSS`,
      value: m?.publish?.eventbusPeakMb,
      baseline: m?.publish?.rawPeakMb,
      baselineLabel: "raw nats.js event source",
      unit: "MB",
      goal: GOALS.publishRssMb,
      goalOn: "value",
    },
    {
      figure: `controller with ${r?.buses ?? 100} EventBuses, RSS`,
      value: r?.rssMb?.withBuses,
      baseline: r?.rssMb?.idle,
      baselineLabel: "the controller with none",
      unit: "MB",
      goal: GOALS.controllerRssMb,
      goalOn: "value",
    },
    {
      figure: `${r?.buses ?? 100} EventBuses created -> all Deployed`,
      value: r?.allDeployedMs,
      baseline: r?.baselineMs,
      baselineLabel: `plain client, the same ${r?.baselineObjects ?? "?"} objects`,
      unit: "ms",
      goal: GOALS.reconcileMillis,
      goalOn: "value",
    },
    {
      figure: `controller writes, quiet ${((r?.quietMs ?? 5000) / 1000).toFixed(0)} s after`,
      value: r?.quietWrites,
      unit: "",
      goal: GOALS.quietWrites,
      goalOn: "value",
    },
    {
      figure: `console CPU, ${c?.viewers ?? 50} viewers`,
      value: c?.many?.cpuMillisPerSec,
      baseline: c?.one?.cpuMillisPerSec,
      baselineLabel: "the console with 1 viewer",
      unit: "ms/s",
      goal: GOALS.consoleCpuRatio,
      goalOn: "ratio",
    },
    {
      figure: `bus readings, ${c?.viewers ?? 50} console viewers`,
      value: c?.many?.varzReads,
      baseline: c?.one?.varzReads,
      baselineLabel: "the console with 1 viewer",
      unit: "",
      goal: GOALS.consoleReadingsRatio,
      goalOn: "ratio",
    },
    {
      figure: `console with ${c?.viewers ?? 50} viewers, RSS`,
      value: c?.many?.rssMb,
      baseline: c?.one?.rssMb,
      baselineLabel: "the console with 1 viewer",
      unit: "MB",
    },
  );
  return rows;
}

function seconds(millis: number | undefined): number | undefined {
  return millis === undefined || millis === null ? undefined : millis / 1000;
}

function format(value: number | undefined, unit: string): string {
  if (value === undefined || value === null || Number.isNaN(value)) return "-";
  const number =
    unit === "ev/s" ? formatRate(value) : unit === "ms" && value >= 100 ? value.toFixed(0) : unit === "" ? String(value) : value.toFixed(value >= 10 ? 1 : 2);
  return unit === "" ? number : `${number} ${unit}`;
}

/** The row's ratio, and whether its goal is met (undefined without a goal or a figure). */
function judge(row: Row): { ratio: number | undefined; met: boolean | undefined } {
  const ratio = row.ratio ?? (row.value !== undefined && row.baseline !== undefined && row.baseline !== 0 ? row.value / row.baseline : undefined);
  if (row.goal === undefined) return { ratio, met: undefined };
  const figure = row.goalOn === "ratio" ? ratio : row.value;
  return { ratio, met: figure === undefined || Number.isNaN(figure) ? undefined : meets(figure, row.goal) };
}

const results: Partial<Record<BenchName, Json>> = {};
const failed: string[] = [];
const started = new Date();
for (const name of BENCHES) {
  progress(`== bench:${name}`);
  const run = await runBench(name);
  progress(`== bench:${name}: ${run.seconds.toFixed(0)} s${run.code === 0 ? "" : `, exit ${run.code}`}`);
  if (run.json !== undefined) results[name] = run.json;
  if (run.code !== 0 || run.json === undefined) failed.push(name);
}

const rows = rowsOf(results).map((row) => ({ ...row, ...judge(row) }));
const machine = {
  date: started.toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model.trim() ?? "unknown",
  natsServer: results.publish?.context?.natsServer ?? "unknown",
};
if (JSON_OUTPUT) {
  console.log(
    JSON.stringify(
      {
        machine,
        failed,
        table: rows.map((r) => ({
          figure: r.figure,
          value: r.value ?? null,
          unit: r.unit,
          baseline: r.baseline ?? null,
          baselineLabel: r.baselineLabel ?? null,
          ratio: r.ratio ?? null,
          goal: r.goal ? `${r.goalOn === "ratio" ? "ratio " : ""}${goalText(r.goal)}` : null,
          met: r.met ?? null,
        })),
        results,
      },
      null,
      2,
    ),
  );
} else {
  console.log(
    `eventbus benchmarks, ${machine.date.slice(0, 10)}: node ${machine.node}, nats-server ${machine.natsServer}, ${machine.cpus} CPUs (${machine.cpuModel}); every baseline measured in the same run`,
  );
  console.log();
  const header = ["figure", "eventbus", "baseline", "ratio", "goal", ""];
  const lines = rows.map((r) => [
    r.figure,
    format(r.value, r.unit),
    r.baseline === undefined ? "-" : `${format(r.baseline, r.unit)} (${r.baselineLabel})`,
    r.ratio === undefined ? "-" : `${r.ratio.toFixed(2)}x`,
    r.goal ? `${r.goalOn === "ratio" ? "ratio " : ""}${goalText(r.goal)}` : "-",
    r.met === undefined ? "" : r.met ? "met" : "NOT met",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const l of lines) console.log(line(l));
  if (failed.length > 0) console.log(`\nfailed: ${failed.map((f) => `bench:${f}`).join(", ")} (its figures are "-"; its own output above says why)`);
}
if (failed.length > 0) process.exitCode = 1;
