// Benchmark: what `eventbus console` costs as viewers are added, on one 3-replica TLS bus: the
// console (the built CLI, --interval 1s) is watched for a window with 1 viewer, then for the same
// window with 50 viewers (each an SSE connection reading every push), and for each window:
//   - the console process's CPU (user + system, from /proc/<pid>/stat) per second;
//   - its resident memory at the end (VmRSS);
//   - the servers' own count of /varz requests (nats-server's http_req_stats): the bus's readings.
// Goals: 50 viewers cost the console's CPU at most 2x one viewer, and the bus no more readings
// (one reading per interval is shared by every viewer). Run with `npm run bench:console` after a
// build (`-- --json` or BENCH_JSON=1 for JSON).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";

import { busStatus } from "../src/platforms/local/index.js";
import { jetstreamManifest } from "../test/helpers/local-bus.js";
import { BUILT_CLI, memoryOf, requireBuiltCli } from "./built-cli.js";
import { runWithBus } from "./bus-run.js";
import { GOALS } from "./goals.js";
import { envInt, formatRatio, goal } from "./stats.js";

const VIEWERS = envInt("BENCH_CONSOLE_VIEWERS", 50);
const WINDOW_MILLIS = envInt("BENCH_CONSOLE_WINDOW_MS", 10_000);
const JSON_OUTPUT = process.argv.includes("--json") || process.env.BENCH_JSON === "1";
requireBuiltCli();

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The servers' count of /varz requests answered, each server's own (one request of ours each is taken off). */
async function varzReads(monitors: readonly string[]): Promise<number> {
  let total = 0;
  for (const m of monitors) {
    const varz = (await (await fetch(`${m}/varz`)).json()) as { http_req_stats?: Record<string, number> };
    total += (varz.http_req_stats?.["/varz"] ?? 0) - 1;
  }
  return total;
}

/** `count` SSE viewers of `url` for `millis`: how many pushes they got in all. */
async function view(url: string, count: number, millis: number): Promise<number> {
  const pushes = await Promise.all(
    Array.from({ length: count }, async () => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), millis);
      let seen = 0;
      try {
        const res = await fetch(`${url}api/stream`, { signal: controller.signal });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        for (let r = await reader.read(); !r.done; r = await reader.read()) seen += decoder.decode(r.value).split("event: state\n").length - 1;
      } catch {
        // aborted at the end of the window
      } finally {
        clearTimeout(timer);
      }
      return seen;
    }),
  );
  return pushes.reduce((a, b) => a + b, 0);
}

interface Window {
  readonly viewers: number;
  readonly pushes: number;
  readonly cpuMillisPerSec: number;
  readonly rssMb: number;
  readonly varzReads: number;
}

await runWithBus("console", async (run) => {
  const { bus } = await run.startBus(jetstreamManifest("default", `version: "2.10"\nreplicas: 3\nauth: basic`));
  const monitors = (await busStatus("default", { home: run.home })).servers.map((s) => `http://127.0.0.1:${s.ports.monitor}`);
  const child = spawn(process.execPath, [BUILT_CLI, "console", "--port", "0", "--interval", "1s", "-o", "json"], {
    env: { ...process.env, EVENTBUS_HOME: run.home },
    stdio: ["ignore", "pipe", "inherit"],
  });
  run.onTeardown(async () => {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`eventbus console exited ${code}`)));
  });
  void bus;

  const measure = async (viewers: number): Promise<Window> => {
    progress(`${viewers} viewer(s) for ${WINDOW_MILLIS / 1000} s`);
    const [cpu0, reads0] = [await cpuSeconds(child.pid!), await varzReads(monitors)];
    const pushes = await view(url, viewers, WINDOW_MILLIS);
    const [cpu1, reads1] = [await cpuSeconds(child.pid!), await varzReads(monitors)];
    const rss = (await memoryOf(child.pid!))?.rss ?? Number.NaN;
    return { viewers, pushes, cpuMillisPerSec: ((cpu1 - cpu0) * 1000) / (WINDOW_MILLIS / 1000), rssMb: rss, varzReads: reads1 - reads0 };
  };
  // A first window warms the console up (its first readings, JIT): not counted.
  await view(url, 1, 3000);
  const one = await measure(1);
  const many = await measure(VIEWERS);
  const result = {
    viewers: VIEWERS,
    windowSeconds: WINDOW_MILLIS / 1000,
    one,
    many,
    cpuRatio: many.cpuMillisPerSec / one.cpuMillisPerSec,
    readingsRatio: many.varzReads / one.varzReads,
  };
  if (JSON_OUTPUT) console.log(JSON.stringify(result));
  else {
    for (const w of [one, many])
      console.log(
        `${String(w.viewers).padStart(3)} viewer(s): ${w.pushes} pushes, console CPU ${w.cpuMillisPerSec.toFixed(1)} ms/s, RSS ${w.rssMb.toFixed(1)} MB, ${w.varzReads} /varz readings`,
      );
    console.log(`console CPU, ${VIEWERS} viewers against 1: ${formatRatio(result.cpuRatio)} (${goal(result.cpuRatio, GOALS.consoleCpuRatio)})`);
    console.log(`bus readings, ${VIEWERS} viewers against 1: ${formatRatio(result.readingsRatio)} (${goal(result.readingsRatio, GOALS.consoleReadingsRatio)})`);
  }
});
