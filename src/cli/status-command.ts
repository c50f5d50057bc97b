/**
 * `eventbus status`: one view of a bus — a local bus by name (its supervisor's state and a
 * snapshot), or any bus through the client's connection flags (a snapshot; its servers when their
 * monitoring endpoints are given). Problems come first; `--watch` redraws until interrupted.
 */
import type { Command } from "commander";

import type { BusStatus } from "../api/index.js";
import { connect, type DurableNameParts, type EventBusClient, sleep } from "../client/index.js";
import {
  formatSeconds,
  PENDING_GROWTH_SNAPSHOTS,
  retentionSample,
  snapshotBus,
  systemServers,
  type BusSnapshot,
  type LimitOutlook,
  type MonitorEndpoint,
  type RetentionOutlook,
  type RetentionSample,
} from "../observe/index.js";
import { KubeClient, loadKubeConnection, Resources, type KubeResource } from "../platforms/kubernetes/index.js";
import { busStatus, localBusStatus, type BusReport } from "../platforms/local/index.js";
import { addConnectionFlags, connectionChoice, openClient, positiveDuration, type ConnectionChoice, type ConnectionFlags } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, outputOption, table, type Io } from "./io.js";

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
      if (report.running) {
        try {
          const status = await localBusStatus(name);
          client ??= await connect({ status, timeoutMillis: 3000, name: "eventbus-status" });
          const rateBase = await firstRateBase(client, history);
          snapshot = remember(
            history,
            await snapshotBus(client, { monitors: status.access?.monitors ?? [], dependencies, previous: history, ...(rateBase && { rateBase }) }),
          );
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
        text: formatLocal(report, problems, snapshot),
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
        text: formatRemote(choice.label, snapshot, serversNote),
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
      const conditions = bus.status?.conditions ?? [];
      const problems = [
        ...(conditions.length === 0 ? ["no conditions yet: the controller has not reconciled the bus"] : []),
        ...conditions
          .filter((c) => c.status !== "True")
          .map((c) => `condition ${c.type} is ${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`),
        // A degraded bus keeps every condition True (Argo Events deploys on it); why is in status.message.
        ...(bus.status?.message ? [`degraded: ${bus.status.message}`] : []),
      ];
      const data = { namespace, name, phase: bus.status?.phase, problems, conditions, config: bus.status?.config };
      const lines = [
        `eventbus ${namespace}/${name}: ${problems.length === 0 ? "ready" : "not ready"}${bus.status?.phase ? `, phase ${bus.status.phase}` : ""}`,
        ...problems.map((p) => `PROBLEM: ${p}`),
      ];
      if (conditions.length > 0) {
        lines.push(
          "",
          table(
            ["CONDITION", "STATUS", "REASON", "MESSAGE", "SINCE"],
            conditions.map((c) => [c.type, c.status, c.reason ?? "", c.message ?? "", c.lastTransitionTime ?? ""]),
          ).trimEnd(),
        );
      }
      if (bus.status?.config !== undefined) lines.push("", `status.config: ${JSON.stringify(bus.status.config)}`);
      return { data, text: `${lines.join("\n")}\n`, healthy: problems.length === 0 };
    },
    async close() {
      client.close();
    },
  };
}

function formatLocal(r: BusReport, problems: readonly string[], snapshot: BusSnapshot | undefined): string {
  const state = localState(r, problems);
  const lines = [
    `bus ${r.name}: ${state}, ${r.replicas} server(s), version ${r.version ?? "?"} (nats-server ${r.servers[0]?.version ?? "?"}), generation ${r.generation}`,
    ...problems.map((p) => `PROBLEM: ${p}`),
    `storage: ${r.storage}`,
    ...metricsLine(r),
    ...backupsLine(r),
    "",
    table(
      ["SERVER", "STATE", "PID", "VERSION", "CLIENT", "CLUSTER", "MONITOR", "RESTARTS", "CONNECTIONS"],
      r.servers.map((s) => [
        s.name,
        s.phase,
        s.pid === undefined ? "" : String(s.pid),
        s.version,
        String(s.ports.client),
        String(s.ports.cluster),
        String(s.ports.monitor),
        String(s.restarts),
        s.connections === undefined ? "" : String(s.connections),
      ]),
    ).trimEnd(),
  ];
  if (r.jetstream)
    lines.push(
      "",
      `jetstream: meta leader ${r.jetstream.leader ?? "(none)"}, ${r.jetstream.peersCurrent}/${r.jetstream.peers.length} peers current (${r.jetstream.peers.join(", ")})`,
    );
  if (r.streams.length > 0) {
    lines.push(
      "",
      table(
        ["STREAM", "MESSAGES", "BYTES", "FIRST", "LAST", "CONSUMERS", "REPLICAS", "LEADER", "CURRENT"],
        r.streams.map((s) => [
          s.name,
          String(s.messages),
          String(s.bytes),
          String(s.firstSeq),
          String(s.lastSeq),
          String(s.consumers),
          String(s.replicas),
          s.leader ?? "",
          s.current ? "yes" : "no",
        ]),
      ).trimEnd(),
    );
  }
  if (snapshot?.retention) lines.push(retentionLine(snapshot.retention));
  lines.push(...consumerLines(snapshot));
  return `${lines.join("\n")}\n`;
}

/** One word for a local bus: stopped, unsupervised (its servers outlived their supervisor), healthy or degraded. */
export function localState(r: BusReport, problems: readonly string[] = r.problems): string {
  if (!r.running) return "stopped";
  if (!r.supervised) return "unsupervised";
  return r.healthy && problems.length === 0 ? "healthy" : "degraded";
}

/** The scheduled backups, when the supervisor runs them. */
function backupsLine(r: BusReport): string[] {
  const b = r.backups;
  if (b === undefined) return [];
  const last = b.lastRun === undefined ? "" : `, last ${b.lastRun.at} ${b.lastRun.ok ? `ok (${b.lastRun.file ?? ""})` : "FAILED"}`;
  return [`backups: "${b.schedule}" (UTC), keep ${b.keep}, into ${b.dir}${b.running ? ", running now" : b.nextRunAt ? `, next ${b.nextRunAt}` : ""}${last}`];
}

/** Where Prometheus scrapes the bus, when the supervisor serves it. */
function metricsLine(r: BusReport): string[] {
  return r.running && r.metricsUrl !== undefined ? [`metrics: ${r.metricsUrl} (Prometheus text)`] : [];
}

function formatRemote(label: string, s: BusSnapshot, serversNote: string | undefined): string {
  const lines = [`bus ${label}: ${s.problems.length === 0 ? "healthy" : "degraded"}`, ...s.problems.map((p) => `PROBLEM: ${p}`), ""];
  if (serversNote !== undefined) lines.push(`servers: ${serversNote}`);
  else {
    lines.push(
      table(
        ["SERVER", "STATE", "VERSION", "UPTIME", "CPU", "MEMORY", "CONNECTIONS", "ROUTES", "JS STORAGE"],
        s.servers.map((v) => [
          v.name,
          v.reachable ? (v.healthy ? "healthy" : "unhealthy") : "down",
          v.version ?? "",
          v.uptime ?? "",
          v.cpu === undefined ? "" : `${v.cpu}%`,
          v.memoryBytes === undefined ? "" : String(v.memoryBytes),
          v.connections === undefined ? "" : String(v.connections),
          v.routes === undefined ? "" : String(v.routes),
          v.jetstream ? `${v.jetstream.storeBytes}/${v.jetstream.maxStoreBytes}` : "",
        ]),
      ).trimEnd(),
    );
    if (s.jetstream.peers.length > 0) {
      lines.push(
        "",
        `jetstream: meta leader ${s.jetstream.metaLeader ?? "(none)"}, ${s.jetstream.peers.filter((p) => p.current && !p.offline).length}/${s.jetstream.peers.length} peers current`,
      );
    }
  }
  if ("error" in s.stream) lines.push("", `stream default: ${s.stream.error}`);
  else {
    const st = s.stream;
    const replicas = st.cluster
      ? [
          `${st.cluster.leader ?? "(no leader)"} (leader)`,
          ...st.cluster.replicas.map((r) => `${r.name} (${r.offline ? "offline" : r.current ? "current" : `behind ${r.lagMessages}`})`),
        ].join(", ")
      : "";
    lines.push(
      "",
      table(
        ["STREAM", "MESSAGES", "BYTES", "FIRST", "LAST", "SUBJECTS", "CONSUMERS", "REPLICAS"],
        [
          [
            st.name,
            String(st.state.messages),
            String(st.state.bytes),
            String(st.state.firstSeq),
            String(st.state.lastSeq),
            String(st.state.subjects),
            String(st.state.consumers),
            replicas,
          ],
        ],
      ).trimEnd(),
    );
    if (s.retention) lines.push(retentionLine(s.retention));
  }
  lines.push(...consumerLines(s));
  return `${lines.join("\n")}\n`;
}

function consumerLines(snapshot: BusSnapshot | undefined): string[] {
  if (!snapshot || snapshot.consumers.length === 0) return [];
  return [
    "",
    table(
      ["CONSUMER", "SUBJECT", "PENDING", "ACK PENDING", "REDELIVERED", "LAST ACTIVE", "DEPENDENCY"],
      snapshot.consumers.map((c) => [
        c.name,
        c.filterSubject ?? "",
        String(c.pending),
        String(c.ackPending),
        String(c.redelivered),
        c.lastActive ?? "",
        c.dependency ? `${c.dependency.sensor}/${c.dependency.trigger}/${c.dependency.dependency}` : "",
      ]),
    ).trimEnd(),
  ];
}

/**
 * The stream's retention in one line: the limit reached first and what it does then, the other
 * limits, the oldest event's age and the publish rate they were projected at.
 */
export function retentionLine(r: RetentionOutlook): string {
  const parts = [`${r.policy}, discard ${r.discard}${r.policy === "limits" ? "" : ` (${r.removedBy})`}`];
  const binding = r.limits.find((l) => l.limit === r.binding);
  if (binding) parts.push(`${limitText(binding)} binds: ${limitWhen(binding)}`);
  else parts.push(r.limits.length === 0 ? "no limit (unlimited)" : r.publishRate === undefined ? "no limit reached yet" : "no limit is reached at this rate");
  const others = r.limits.filter((l) => l !== binding && l.reachedInSeconds !== undefined && l.reachedInSeconds !== null);
  if (others.length > 0) parts.push(`then ${others.map((l) => `${l.limit} in ${formatSeconds(l.reachedInSeconds!)}`).join(", ")}`);
  parts.push(r.oldestEventAgeSeconds === undefined ? "no events" : `oldest event ${formatSeconds(r.oldestEventAgeSeconds)} old`);
  parts.push(r.publishRate === undefined ? "publish rate not measured yet" : `${r.publishRate} events/s published`);
  return `retention: ${parts.join("; ")}`;
}

function limitText(l: LimitOutlook): string {
  if (l.limit === "maxAge") return `maxAge ${formatSeconds(l.max)}`;
  if (l.limit === "maxMsgs") return `maxMsgs ${l.max}`;
  if (l.limit === "maxBytes") return `maxBytes ${l.max}`;
  return `the store of ${l.server ?? "a server"} (${l.used} of ${l.max} bytes)`;
}

function limitWhen(l: LimitOutlook): string {
  const effect = l.effect === "discards-oldest" ? "discards the oldest events" : "refuses publishes";
  const now = l.effect === "discards-oldest" ? "discarding the oldest events now" : "refusing publishes now";
  return (l.reachedInSeconds ?? 0) < 1 ? now : `${effect} in ${formatSeconds(l.reachedInSeconds!)}`;
}
