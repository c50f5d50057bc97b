/**
 * `eventbus status`: one view of a bus — a local bus by name (its supervisor's state and a
 * snapshot), or any bus through the client's connection flags (a snapshot; its servers when their
 * monitoring endpoints are given). Problems come first; `--watch` redraws until interrupted.
 */
import type { Command } from "commander";

import type { BusStatus } from "../api/index.js";
import { connect, type DurableNameParts, type EventBusClient, sleep } from "../client/index.js";
import {
  PENDING_GROWTH_SNAPSHOTS,
  retentionSample,
  snapshotBus,
  systemServers,
  type BusSnapshot,
  type MonitorEndpoint,
  type RetentionSample,
} from "../observe/index.js";
import { KubeClient, loadKubeConnection, Resources, type KubeResource } from "../platforms/kubernetes/index.js";
import { busStatus, localBusStatus } from "../platforms/local/index.js";
import { addConnectionFlags, connectionChoice, openClient, positiveDuration, type ConnectionChoice, type ConnectionFlags } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, outputOption, type Io } from "./io.js";
import { formatStatus, kubeView, localView, snapshotView } from "./status-view.js";

type Output = "text" | "json" | "yaml";

interface StatusFlags extends ConnectionFlags {
  readonly output: Output;
  readonly watch: boolean;
  readonly interval: string;
  readonly monitor?: string;
  readonly dependency: readonly DurableNameParts[];
  readonly systemCreds?: string;
  readonly kube: boolean;
  readonly namespace?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** One drawing of the status: what to print and whether the bus is healthy. */
interface Frame {
  readonly data: unknown;
  readonly text: string;
  readonly healthy: boolean;
}

/** How long a first drawing waits between its two readings of the stream, to measure the publish and read rates. */
export const RATE_SAMPLE_MILLIS = 1000;

/** The reading a first drawing measures its rates from: taken, then {@link RATE_SAMPLE_MILLIS} waited. Later drawings measure from the one before. */
async function firstRateBase(client: EventBusClient, history: readonly BusSnapshot[]): Promise<RetentionSample | undefined> {
  if (history.length > 0) return undefined;
  const sample = await retentionSample(client);
  if ("error" in sample.stream) return undefined;
  await sleep(RATE_SAMPLE_MILLIS);
  return sample;
}

/** Clears a terminal and puts the cursor home, before each redraw of `--watch`. */
const CLEAR_SCREEN = "\x1b[H\x1b[2J";

/** Adds `eventbus status`. */
export function addStatusCommand(program: Command, io: Io, result: { code: ExitCode }): void {
  addConnectionFlags(
    program
      .command("status")
      .description(
        "health of a bus: its servers, JetStream meta group, stream and consumers, problems first (a local bus by name, or any bus with --server/--config)",
      ),
  )
    .option("--monitor <urls>", "monitoring endpoints (http://host:8222) of the servers of a bus given by --server or --config, comma-separated")
    .option("--system-creds <file>", "auth file of a user of the bus's system account: its servers are then read with $SYS requests, no --monitor needed")
    .option("--dependency <sensor/trigger/dependency>", "name the Argo sensor dependency a durable consumer belongs to (repeatable)", collectDependency, [])
    .option("--kube", "read the EventBus BUS from Kubernetes: its phase, conditions and status.config, as the controller wrote them", false)
    .option("-n, --namespace <namespace>", "with --kube: the EventBus's namespace (default: the context's, else default)")
    .option("--kubeconfig <file>", "with --kube: kubeconfig file (default: $KUBECONFIG, else in-cluster, else ~/.kube/config)")
    .option("--context <name>", "with --kube: kubeconfig context")
    .option("-w, --watch", "redraw every --interval until interrupted", false)
    .option("--interval <duration>", "time between redraws with --watch", "2s")
    .addOption(outputOption(["text", "json", "yaml"], "text", "output format (with --watch, json prints one line per redraw)"))
    .action(async (bus: string | undefined, flags: StatusFlags) => {
      const intervalMillis = positiveDuration("--interval", flags.interval).millis;
      const source = flags.kube ? kubeSourceOf(bus, flags) : await busSourceOf(bus, flags, io);
      try {
        if (flags.watch) await watch(source, flags.output, intervalMillis, io);
        else result.code = await printOnce(source, flags.output, io);
      } finally {
        await source.close();
      }
    });
}

/** `--kube`: the EventBus named by BUS, read from Kubernetes. */
function kubeSourceOf(bus: string | undefined, flags: StatusFlags): FrameSource {
  if (bus === undefined) throw new CliError("--kube: name the EventBus (eventbus status NAME --kube)");
  if (flags.server !== undefined || flags.config !== undefined)
    throw new CliError("--kube: reads the EventBus from Kubernetes; give it without --server or --config");
  return kubeSource(bus, flags);
}

/** A local bus, or any bus through the connection flags. */
async function busSourceOf(bus: string | undefined, flags: StatusFlags, io: Io): Promise<FrameSource> {
  const choice = await connectionChoice(bus, flags, io);
  const monitors = parseMonitors(flags.monitor);
  if (choice.localBus !== undefined && (monitors.length > 0 || flags.systemCreds !== undefined)) {
    throw new CliError(`${monitors.length > 0 ? "--monitor" : "--system-creds"}: a local bus's servers are known; use it with --server or --config`);
  }
  if (monitors.length > 0 && flags.systemCreds !== undefined) throw new CliError("give only one of --monitor and --system-creds");
  return choice.localBus !== undefined ? localSource(choice.localBus, flags.dependency) : remoteSource(choice, monitors, flags, io);
}

/** Where frames come from. */
interface FrameSource {
  frame(): Promise<Frame>;
  close(): Promise<void>;
}

/** Keeps the snapshots `--watch` compares consumers' pending across. */
function remember(history: BusSnapshot[], snapshot: BusSnapshot): BusSnapshot {
  history.push(snapshot);
  if (history.length >= PENDING_GROWTH_SNAPSHOTS) history.shift();
  return snapshot;
}

/** Draws once; the exit code says whether the bus is healthy. */
async function printOnce(source: FrameSource, output: Output, io: Io): Promise<ExitCode> {
  const frame = await source.frame();
  io.stdout(output === "text" ? frame.text : formatData(frame.data, output));
  return frame.healthy ? ExitCode.ok : ExitCode.failed;
}

/** Redraws until SIGINT or SIGTERM: a cleared screen on a terminal, a separator line otherwise. */
async function watch(source: FrameSource, output: Output, intervalMillis: number, io: Io): Promise<void> {
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    while (!stopped.signal.aborted) {
      const frame = await source.frame();
      if (output === "json") io.stdout(`${JSON.stringify(frame.data)}\n`);
      else if (output === "yaml") io.stdout(`---\n${formatData(frame.data, "yaml")}`);
      else io.stdout(`${process.stdout.isTTY ? CLEAR_SCREEN : `--- ${new Date().toISOString()}\n`}${frame.text}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMillis);
        stopped.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

function collectDependency(value: string, previous: readonly DurableNameParts[]): DurableNameParts[] {
  const parts = value.split("/");
  if (parts.length !== 3 || parts.some((p) => p.trim() === ""))
    throw new CliError(`--dependency: give sensor/trigger/dependency, got ${JSON.stringify(value)}`);
  const [sensor, trigger, dependency] = parts as [string, string, string];
  return [...previous, { sensor, trigger, dependency }];
}

function parseMonitors(text: string | undefined): MonitorEndpoint[] {
  if (text === undefined) return [];
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((raw) => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new CliError(`--monitor: ${JSON.stringify(raw)} is not a URL; give http://host:port of a server's monitoring endpoint`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliError(`--monitor: ${raw} must be http:// or https://, got ${url.protocol}`);
      return { name: url.host, url: url.origin };
    });
}

/** A local bus: the supervisor's report, and a snapshot while it runs. */
function localSource(name: string, dependencies: readonly DurableNameParts[]): FrameSource {
  let client: EventBusClient | undefined;
  const history: BusSnapshot[] = [];
  return {
    async frame() {
      const report = await busStatus(name);
      let snapshot: BusSnapshot | undefined;
      let problems: string[] = [...report.problems];
      // A NATS Streaming bus has no JetStream to take a snapshot of: its report has the raft cluster.
      if (report.running && report.stan === undefined) {
        try {
          // The bus's status (its credentials and CA) only to connect; each drawing's monitors come
          // from the report it has just read.
          client ??= await connect({ status: await localBusStatus(name), timeoutMillis: 3000, name: "eventbus-status" });
          const rateBase = await firstRateBase(client, history);
          const monitors = report.servers.map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.ports.monitor}` }));
          snapshot = remember(history, await snapshotBus(client, { monitors, dependencies, previous: history, ...(rateBase && { rateBase }) }));
          // The snapshot says more of the same problem (why a stream has no leader): its line wins.
          const seen = snapshot.problems;
          problems = [...problems.filter((q) => !seen.some((p) => p.startsWith(q))), ...seen];
        } catch (error) {
          problems.push(`cannot connect to the bus: ${(error as Error).message}`);
        }
      }
      const healthy = !report.running || (report.healthy && problems.length === 0);
      return {
        data: {
          ...report,
          problems,
          consumers: snapshot?.consumers ?? [],
          ...(snapshot?.retention && { retention: snapshot.retention }),
          ...(snapshot && { snapshot }),
        },
        text: formatStatus(localView(report, problems, snapshot)),
        healthy,
      };
    },
    async close() {
      await client?.close();
    },
  };
}

/** Any bus through the connection flags: a snapshot; its servers through `--monitor` or the system account. */
async function remoteSource(choice: ConnectionChoice, monitors: readonly MonitorEndpoint[], flags: StatusFlags, io: Io): Promise<FrameSource> {
  const client = await openClient(choice, io);
  let system: EventBusClient | undefined;
  try {
    if (flags.systemCreds !== undefined)
      system = await openClient({ ...choice, target: { ...choice.target, authFile: flags.systemCreds }, credsFile: flags.systemCreds }, io);
  } catch (error) {
    await client.close();
    throw error;
  }
  const servers = system && ((timeout: number) => systemServers(system.nc, timeout));
  const history: BusSnapshot[] = [];
  return {
    async frame() {
      const rateBase = await firstRateBase(client, history);
      const snapshot = remember(
        history,
        await snapshotBus(client, { monitors, dependencies: flags.dependency, previous: history, ...(servers && { servers }), ...(rateBase && { rateBase }) }),
      );
      const serversNote =
        snapshot.serversUnavailable ??
        (monitors.length === 0 && !servers
          ? "not shown: give the servers' monitoring endpoints with --monitor, or a system account user with --system-creds"
          : undefined);
      return {
        data: { bus: choice.label, ...snapshot, ...(serversNote && { serversNote }) },
        text: formatStatus(snapshotView(choice.label, snapshot, serversNote)),
        healthy: snapshot.problems.length === 0,
      };
    },
    async close() {
      await system?.close();
      await client.close();
    },
  };
}

/** An EventBus in Kubernetes: its status as the controller wrote it (the servers run in pods, out of reach). */
function kubeSource(name: string, flags: StatusFlags): FrameSource {
  const connection = loadKubeConnection({
    ...(flags.kubeconfig !== undefined && { kubeconfig: flags.kubeconfig }),
    ...(flags.context !== undefined && { context: flags.context }),
  });
  const client = new KubeClient(connection, { timeoutMs: 10_000 });
  const namespace = flags.namespace ?? client.namespace ?? "default";
  return {
    async frame() {
      const bus = await client.get<KubeResource & { status?: BusStatus }>(Resources.eventBus, namespace, name);
      if (bus === undefined) throw new CliError(`no EventBus ${name} in namespace ${namespace} (${connection.source})`, ExitCode.failed);
      const view = kubeView(namespace, name, bus.status);
      const data = { namespace, name, phase: bus.status?.phase, problems: view.problems, conditions: view.conditions ?? [], config: bus.status?.config };
      return { data, text: formatStatus(view), healthy: view.problems.length === 0 };
    },
    async close() {
      client.close();
    },
  };
}
