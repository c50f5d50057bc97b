/**
 * `eventbus status`: one view of a bus — a local bus by name (its supervisor's state and a
 * snapshot), or any bus through the client's connection flags (a snapshot; its servers when their
 * monitoring endpoints are given). Problems come first; `--watch` redraws until interrupted.
 */
import type { Command } from "commander";

import type { DurableNameParts, EventBusClient } from "../client/index.js";
import type { MonitorEndpoint } from "../observe/index.js";
import { KubeClient, loadKubeConnection } from "../platforms/kubernetes/index.js";
import { formatStatus, type FrameSource } from "../view/index.js";
import { kubeSource, localSource, remoteSource, stanRemoteSource } from "./status-sources.js";
import {
  addConnectionFlags,
  connectionChoice,
  openClient,
  positiveDuration,
  stanStatusTarget,
  type ConnectionChoice,
  type ConnectionFlags,
} from "./connection-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, outputOption, type Io } from "./io.js";

type Output = "text" | "json" | "yaml";

interface StatusFlags extends ConnectionFlags {
  readonly output: Output;
  readonly watch: boolean;
  readonly interval: string;
  readonly monitor?: string;
  readonly clusterId?: string;
  readonly dependency: readonly DurableNameParts[];
  readonly systemCreds?: string;
  readonly kube: boolean;
  readonly namespace?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
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
    .option("--cluster-id <id>", "with --server: the bus is NATS Streaming with this cluster ID, read from its servers' --monitor endpoints")
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
  return kubeSourceFor(bus, flags);
}

/** A local bus, or any bus through the connection flags. */
async function busSourceOf(bus: string | undefined, flags: StatusFlags, io: Io): Promise<FrameSource> {
  const choice = await connectionChoice(bus, flags, io);
  const monitors = parseMonitors(flags.monitor);
  if (choice.localBus !== undefined && (monitors.length > 0 || flags.systemCreds !== undefined)) {
    throw new CliError(`${monitors.length > 0 ? "--monitor" : "--system-creds"}: a local bus's servers are known; use it with --server or --config`);
  }
  if (monitors.length > 0 && flags.systemCreds !== undefined) throw new CliError("give only one of --monitor and --system-creds");
  if (choice.localBus !== undefined) return localSource(choice.localBus, { dependencies: flags.dependency });
  const stan = stanStatusTarget(
    choice,
    flags.clusterId,
    monitors.map((m) => m.url),
  );
  if (stan)
    return stanRemoteSource(
      choice.label,
      monitors.map((m) => ({ name: m.name, monitorUrl: m.url })),
      stan.clusterId,
    );
  return remoteSourceOf(choice, monitors, flags, io);
}

/** Draws once; the exit code says whether the bus is healthy. */
async function printOnce(source: FrameSource, output: Output, io: Io): Promise<ExitCode> {
  const frame = await source.frame();
  io.stdout(output === "text" ? formatStatus(frame.view) : formatData(frame.data, output));
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
      else io.stdout(`${process.stdout.isTTY ? CLEAR_SCREEN : `--- ${new Date().toISOString()}\n`}${formatStatus(frame.view)}`);
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

/** Collects the repeatable `--dependency sensor/trigger/dependency`. */
export function collectDependency(value: string, previous: readonly DurableNameParts[]): DurableNameParts[] {
  const parts = value.split("/");
  if (parts.length !== 3 || parts.some((p) => p.trim() === ""))
    throw new CliError(`--dependency: give sensor/trigger/dependency, got ${JSON.stringify(value)}`);
  const [sensor, trigger, dependency] = parts as [string, string, string];
  return [...previous, { sensor, trigger, dependency }];
}

/** `--monitor`: the servers' monitoring endpoints, comma-separated. */
export function parseMonitors(text: string | undefined): MonitorEndpoint[] {
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

/** Any bus through the connection flags: a snapshot; its servers through `--monitor` or the system account. */
async function remoteSourceOf(choice: ConnectionChoice, monitors: readonly MonitorEndpoint[], flags: StatusFlags, io: Io): Promise<FrameSource> {
  const client = await openClient(choice, io);
  let system: EventBusClient | undefined;
  try {
    if (flags.systemCreds !== undefined)
      system = await openClient({ ...choice, target: { ...choice.target, authFile: flags.systemCreds }, credsFile: flags.systemCreds }, io);
  } catch (error) {
    await client.close();
    throw error;
  }
  return remoteSource(choice.label, client, { monitors, dependencies: flags.dependency, ...(system && { system }) });
}

/** An EventBus in Kubernetes: its status as the controller wrote it (the servers run in pods, out of reach). */
function kubeSourceFor(name: string, flags: StatusFlags): FrameSource {
  const connection = loadKubeConnection({
    ...(flags.kubeconfig !== undefined && { kubeconfig: flags.kubeconfig }),
    ...(flags.context !== undefined && { context: flags.context }),
  });
  const client = new KubeClient(connection, { timeoutMs: 10_000 });
  const source = kubeSource(client, flags.namespace ?? client.namespace ?? "default", name, connection.source);
  return {
    frame: () => source.frame(),
    client: () => undefined,
    async close() {
      client.close();
    },
  };
}
