/**
 * `eventbus console`: a local web page over the same views as `eventbus status` — every local
 * bus, a bus given with the connection flags, and with `--kube` the EventBuses of a cluster — live,
 * with charts and an event browser. It serves on 127.0.0.1; `--listen` another address only with
 * an access token, generated and printed once.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Command } from "commander";

import type { DurableNameParts, EventBusClient } from "../client/index.js";
import { BusKind, ConsoleError, ConsoleHub, isLoopback, startConsoleServer, type BusEntry } from "../console/index.js";
import { KubeClient, loadKubeConnection, Resources, type KubeResource } from "../platforms/kubernetes/index.js";
import { eventbusHome, listBuses } from "../platforms/local/index.js";
import { kubeSource, localSource, remoteSource, stanRemoteSource } from "./status-sources.js";
import { addConnectionFlags, connectionChoice, openClient, positiveDuration, stanStatusTarget, type ConnectionFlags } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { outputOption, type Io } from "./io.js";
import { collectDependency, parseMonitors } from "./status-command.js";
import { packageVersion } from "./version.js";

/** The console's port when none is given. */
export const DEFAULT_CONSOLE_PORT = 8422;

interface ConsoleFlags extends ConnectionFlags {
  readonly port: string;
  readonly listen: string;
  readonly open: boolean;
  readonly interval: string;
  readonly history: string;
  readonly monitor?: string;
  readonly clusterId?: string;
  readonly systemCreds?: string;
  readonly dependency: readonly DurableNameParts[];
  readonly kube: boolean;
  readonly namespace?: string;
  readonly allNamespaces: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: "text" | "json";
}

/** Adds `eventbus console`. */
export function addConsoleCommand(program: Command, io: Io, _result: { code: ExitCode }): void {
  addConnectionFlags(
    program
      .command("console")
      .description(
        "a web page of the buses, live: servers, JetStream, the stream and its consumers, charts and an event browser (read-only; every local bus, a bus given with --server/--config, EventBuses with --kube)",
      ),
    "show only this local bus (default: every local bus)",
  )
    .option("--port <port>", "port to serve on (0: a free one)", String(DEFAULT_CONSOLE_PORT))
    .option("--listen <address>", "address to serve on; any but a loopback one needs the access token, printed once", "127.0.0.1")
    .option("--open", "open the page in the desktop's browser", false)
    .option("--interval <duration>", "time between two readings of each bus (one reading is shared by every viewer)", "2s")
    .option("--history <duration>", "how far back the charts go", "5m")
    .option("--monitor <urls>", "monitoring endpoints (http://host:8222) of the servers of the bus given by --server or --config, comma-separated")
    .option("--cluster-id <id>", "with --server: the bus is NATS Streaming with this cluster ID, read from its servers' --monitor endpoints")
    .option(
      "--system-creds <file>",
      "auth file of a user of the system account of the bus given by --server or --config: its servers are read with $SYS requests",
    )
    .option("--dependency <sensor/trigger/dependency>", "name the Argo sensor dependency a durable consumer belongs to (repeatable)", collectDependency, [])
    .option("--kube", "also show the EventBuses of a Kubernetes cluster (their status as the controller wrote it)", false)
    .option("-n, --namespace <namespace>", "with --kube: the namespace (default: the context's, else default)")
    .option("-A, --all-namespaces", "with --kube: EventBuses of every namespace", false)
    .option("--kubeconfig <file>", "with --kube: kubeconfig file (default: $KUBECONFIG, else in-cluster, else ~/.kube/config)")
    .option("--context <name>", "with --kube: kubeconfig context")
    .addOption(outputOption(["text", "json"], "text", "how the address is printed (json: one line with url, and token with --listen)"))
    .action(async (bus: string | undefined, flags: ConsoleFlags) => {
      const port = portFlag(flags.port);
      const intervalMillis = positiveDuration("--interval", flags.interval).millis;
      const historyMillis = positiveDuration("--history", flags.history).millis;
      // A bus whose JetStream API does not answer (a leader being elected) still has its servers shown each interval or so.
      const jetstreamTimeoutMillis = Math.min(3000, Math.max(1000, intervalMillis));
      if (!flags.kube && (flags.namespace !== undefined || flags.allNamespaces || flags.kubeconfig !== undefined || flags.context !== undefined))
        throw new CliError("--namespace, --all-namespaces, --kubeconfig and --context go with --kube");
      if (flags.namespace !== undefined && flags.allNamespaces) throw new CliError("give only one of --namespace and --all-namespaces");
      const monitors = parseMonitors(flags.monitor);
      const remoteGiven = flags.server !== undefined || flags.config !== undefined;
      if (!remoteGiven && (monitors.length > 0 || flags.systemCreds !== undefined))
        throw new CliError(`${monitors.length > 0 ? "--monitor" : "--system-creds"}: goes with the bus given by --server or --config`);
      if (bus !== undefined && remoteGiven) throw new CliError("give only one of BUS (a local bus name) and --server/--config");
      const token = isLoopback(flags.listen) ? undefined : randomBytes(32).toString("base64url");

      const entries: BusEntry[] = [];
      const discoverers: (() => Promise<readonly BusEntry[]>)[] = [];
      const owned: EventBusClient[] = [];
      const home = eventbusHome();
      if (bus !== undefined && !(await listBuses({ home })).includes(bus))
        throw new CliError(`no local bus named ${bus} (looked in ${home}/buses)`, ExitCode.failed);
      discoverers.push(async () => {
        const names = bus !== undefined ? [bus] : await listBuses({ home });
        return names.map((name) => ({
          id: `local.${name}`,
          label: name,
          kind: BusKind.local,
          open: () => localSource(name, { dependencies: flags.dependency, home, jetstreamTimeoutMillis }),
        }));
      });
      let kube: KubeClient | undefined;
      try {
        const choice = remoteGiven ? await connectionChoice(undefined, flags, io) : undefined;
        const stan =
          choice &&
          stanStatusTarget(
            choice,
            flags.clusterId,
            monitors.map((m) => m.url),
          );
        if (choice && stan) {
          const source = stanRemoteSource(
            choice.label,
            monitors.map((m) => ({ name: m.name, monitorUrl: m.url })),
            stan.clusterId,
          );
          entries.push({ id: "remote.1", label: choice.label, kind: BusKind.remote, open: () => source });
        } else if (choice) {
          const client = await openClient(choice, io);
          owned.push(client);
          const system =
            flags.systemCreds === undefined
              ? undefined
              : await openClient({ ...choice, target: { ...choice.target, authFile: flags.systemCreds }, credsFile: flags.systemCreds }, io);
          if (system) owned.push(system);
          const source = remoteSource(choice.label, client, { monitors, dependencies: flags.dependency, jetstreamTimeoutMillis, ...(system && { system }) });
          entries.push({ id: "remote.1", label: choice.label, kind: BusKind.remote, open: () => source });
        }
        if (flags.kube) {
          const connection = loadKubeConnection({
            ...(flags.kubeconfig !== undefined && { kubeconfig: flags.kubeconfig }),
            ...(flags.context !== undefined && { context: flags.context }),
          });
          const client = new KubeClient(connection, { timeoutMs: 10_000 });
          kube = client;
          const namespace = flags.allNamespaces ? undefined : (flags.namespace ?? client.namespace ?? "default");
          discoverers.push(async () => {
            const list = await client.list<KubeResource>(Resources.eventBus, namespace === undefined ? {} : { namespace });
            return list.items.map((item) => {
              const ns = item.metadata.namespace ?? namespace ?? "default";
              const name = item.metadata.name;
              return { id: `kube.${ns}.${name}`, label: `${ns}/${name}`, kind: BusKind.kube, open: () => kubeSource(client, ns, name, connection.source) };
            });
          });
        }
      } catch (error) {
        await Promise.all(owned.map((c) => c.close().catch(() => undefined)));
        kube?.close();
        throw error;
      }

      const hub = new ConsoleHub(async () => [...entries, ...(await Promise.all(discoverers.map((d) => d()))).flat()], {
        intervalMillis,
        historyMillis,
        version: packageVersion(),
      });
      // Listening first: a port in use fails before any bus is read.
      let server: Awaited<ReturnType<typeof startConsoleServer>>;
      try {
        server = await startConsoleServer(hub, { host: flags.listen, port, ...(token !== undefined && { token }) });
      } catch (error) {
        await hub.close();
        await Promise.all(owned.map((c) => c.close().catch(() => undefined)));
        kube?.close();
        if (error instanceof ConsoleError) throw new CliError(`console: ${error.message}`, ExitCode.failed);
        throw error;
      }
      await hub.start();
      const address = token === undefined ? server.url : `${server.url}?token=${token}`;
      const buses = hub.current().buses.map((b) => b.id);
      if (flags.output === "json") io.stdout(`${JSON.stringify({ url: server.url, ...(token !== undefined && { token }), buses })}\n`);
      else {
        io.stdout(`eventbus console: ${address}\n`);
        io.stdout(
          `  ${buses.length === 0 ? "no bus yet (local buses appear as they are made)" : `${buses.length} bus(es): ${buses.join(", ")}`}; Ctrl-C to stop\n`,
        );
        if (token !== undefined) io.stdout("  the address holds the access token, shown only now: keep it to yourself\n");
      }
      if (flags.open) openBrowser(address, io);
      await untilSignal();
      await server.close();
      await hub.close();
      kube?.close();
    });
}

function portFlag(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new CliError(`--port: must be a port number from 0 to 65535, got ${JSON.stringify(text)}`);
  return port;
}

/** Opens the page with the desktop's opener; says so when there is none. */
function openBrowser(url: string, io: Io): void {
  const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const child = spawn(opener, [url], { stdio: "ignore", detached: true });
  child.on("error", () => io.stderr(`--open: no ${opener} here; open the address in a browser\n`));
  child.unref();
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}
