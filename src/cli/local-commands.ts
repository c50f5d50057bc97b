import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import {
  busCredentials,
  busPaths,
  busStatus,
  DEFAULT_BUS_NAME,
  downBus,
  eventbusHome,
  followLogs,
  listBuses,
  runSupervisorDaemon,
  upBus,
  type BusPaths,
  type BusReport,
  type LogSource,
} from "../platforms/local/index.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, readInput, table, type Io } from "./io.js";
import { localState } from "./status-command.js";

type Output = "text" | "json" | "yaml";
const outputOption = () => new Option("-o, --output <format>", "output format").choices(["text", "json", "yaml"]).default("text");

/** Adds the local platform's commands: up, down, list, logs, credentials (`status` is its own, for any bus). */
export function addLocalCommands(program: Command, io: Io, result: { code: ExitCode }): void {
  program
    .command("up")
    .description("run an EventBus on this machine as supervised nats-server processes, or apply a changed manifest to a running one")
    .option("-f, --filename <file>", "manifest file (one JetStream EventBus), or - for standard input; the default bus when omitted")
    .option("--foreground", "keep the supervisor attached and print its events; Ctrl-C stops the bus", false)
    .option("--timeout <seconds>", "how long the bus may take to become healthy", "120")
    .addOption(outputOption())
    .action(async (opts: { filename?: string; foreground: boolean; timeout: string; output: Output }) => {
      const timeoutSeconds = Number(opts.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CliError(`--timeout: must be a number of seconds > 0, got ${JSON.stringify(opts.timeout)}`);
      const started = new Date();
      const manifest = opts.filename === undefined ? undefined : { text: await readInput(opts.filename, io), source: opts.filename === "-" ? "<stdin>" : opts.filename };
      // Ctrl-C during `up` leaves nothing half-done: a start stops what it started, an update goes on
      // in the supervisor. A second Ctrl-C exits at once.
      const interrupt = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (interrupt.signal.aborted) process.exit(ExitCode.interrupted);
        io.stderr(`${signal}: interrupting eventbus up (again to exit at once)\n`);
        interrupt.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      let up: Awaited<ReturnType<typeof upBus>>;
      try {
        up = await upBus({
          ...(manifest && { manifest }),
          foreground: opts.foreground,
          timeoutMillis: timeoutSeconds * 1000,
          signal: interrupt.signal,
          onProgress: (line) => io.stderr(`${line}\n`),
          onEvent: (event) => io.stderr(`${event.time} ${event.server ?? "supervisor"}: ${event.message}\n`),
        });
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      const summary = {
        name: up.name,
        action: up.action,
        generation: up.generation,
        urls: up.connection.urls,
        auth: up.connection.auth,
        ...(up.connection.caFile !== undefined && { caFile: up.connection.caFile }),
        persistent: up.persistent,
        stream: up.stream,
        stateDir: up.paths.dir,
      };
      if (opts.output !== "text") io.stdout(formatData(summary, opts.output));
      else {
        const verb = { created: "is up", started: "is up again", updated: "is updated", unchanged: "is up to date" }[up.action];
        io.stdout(
          [
            `bus ${up.name} ${verb} (generation ${up.generation})`,
            `  urls:        ${up.connection.urls.join(",")}`,
            `  auth:        ${up.connection.auth}${up.connection.auth === "none" ? "" : ` (eventbus credentials ${up.name} --show-secrets)`}`,
            `  tls:         ${up.connection.caFile ? `on, CA ${up.connection.caFile}` : "off"}`,
            `  storage:     ${up.persistent ? "persistent" : "ephemeral (lost when a server restarts)"}`,
            `  stream:      default (${up.stream.action})`,
            "",
          ].join("\n"),
        );
      }
      if (up.daemon) {
        io.stderr("supervisor running in the foreground; press Ctrl-C to stop the bus\n");
        const stop = new AbortController();
        const following = followLogs(
          await serverLogs(up.paths),
          (label, line) => io.stderr(`${label} | ${line}\n`),
          stop.signal,
          { since: started },
        );
        await up.daemon.done;
        stop.abort();
        await following;
      }
    });

  program
    .command("down")
    .description("stop a local bus (servers leave in lame-duck mode); data is kept unless --purge")
    .argument("[name]", "the bus", DEFAULT_BUS_NAME)
    .option("--purge", "also delete the bus's data, credentials and certificates", false)
    .option("--yes", "confirm --purge", false)
    .action(async (name: string, opts: { purge: boolean; yes: boolean }) => {
      if (opts.purge && !opts.yes) throw new CliError(`--purge deletes every message, credential and certificate of bus ${name}; add --yes to confirm`);
      const down = await downBus(name, { purge: opts.purge, onProgress: (line) => io.stderr(`${line}\n`) });
      io.stdout(`bus ${name} ${down.stopped ? "stopped" : "was not running"}${down.purged ? "; its data was deleted" : "; its data is kept"}\n`);
    });

  program
    .command("list")
    .description("the local buses and whether they run")
    .addOption(outputOption())
    .action(async (opts: { output: Output }) => {
      const reports = await Promise.all((await listBuses()).map((name) => busStatus(name).catch(() => undefined)));
      const rows = reports.filter((r): r is BusReport => r !== undefined);
      if (opts.output !== "text") {
        io.stdout(formatData(rows.map((r) => ({ name: r.name, status: localState(r), running: r.running, supervised: r.supervised, healthy: r.healthy, problems: r.problems, replicas: r.replicas, version: r.version, persistent: r.persistent })), opts.output));
        return;
      }
      if (rows.length === 0) {
        io.stdout(`no local buses in ${eventbusHome()}\n`);
        return;
      }
      io.stdout(table(["NAME", "STATUS", "REPLICAS", "VERSION", "STORAGE", "PROBLEMS"], rows.map((r) => [r.name, localState(r), String(r.replicas), r.version ?? "", r.persistent ? "persistent" : "ephemeral", String(r.problems.length)])));
    });

  program
    .command("logs")
    .description("the supervisor's and servers' logs of a local bus")
    .argument("[name]", "the bus", DEFAULT_BUS_NAME)
    .option("--server <index>", "only this server's log")
    .option("--tail <lines>", "lines per log", "50")
    .option("-f, --follow", "keep printing new lines until Ctrl-C", false)
    .action(async (name: string, opts: { server?: string; tail: string; follow: boolean }) => {
      const tail = Number(opts.tail);
      if (!Number.isInteger(tail) || tail < 0) throw new CliError(`--tail: must be a whole number of lines >= 0, got ${JSON.stringify(opts.tail)}`);
      const paths = busPaths(eventbusHome(), name);
      const logs = [
        ...(opts.server === undefined ? [{ label: "supervisor", file: paths.supervisorLog }] : []),
        ...(await serverLogs(paths)).filter((s) => opts.server === undefined || String(s.index) === opts.server),
      ];
      for (const { label, file } of logs) {
        const text = await readFile(file, "utf8").catch(() => "");
        const lines = tail === 0 ? [] : text.trimEnd().split("\n").filter((l) => l !== "").slice(-tail);
        io.stdout(`==> ${label} (${file}) <==\n${lines.join("\n")}${lines.length ? "\n" : ""}`);
      }
      if (opts.follow) {
        const stop = new AbortController();
        process.once("SIGINT", () => stop.abort());
        await followLogs(logs, (label, line) => io.stdout(`${label} | ${line}\n`), stop.signal, { fromEnd: true });
      }
    });

  program
    .command("credentials")
    .description("how clients connect to a local bus: URLs, CA, user; secrets only with --show-secrets")
    .argument("[name]", "the bus", DEFAULT_BUS_NAME)
    .option("--show-secrets", "include the password or token", false)
    .addOption(outputOption())
    .action(async (name: string, opts: { showSecrets: boolean; output: Output }) => {
      const creds = await busCredentials(name, { showSecrets: opts.showSecrets });
      if (opts.output !== "text") {
        io.stdout(formatData(creds, opts.output));
        return;
      }
      const hidden = "(hidden; add --show-secrets)";
      io.stdout(
        [
          `urls:       ${creds.urls.join(",")}`,
          `auth:       ${creds.auth}`,
          ...(creds.user !== undefined ? [`user:       ${creds.user}`, `password:   ${creds.password ?? hidden}`] : []),
          ...(creds.auth === "token" ? [`token:      ${creds.token ?? hidden}`] : []),
          ...(creds.caFile !== undefined ? [`ca file:    ${creds.caFile}`] : []),
          ...(creds.authFile !== undefined ? [`auth file:  ${creds.authFile} (Argo Events format)`] : []),
          `EVENTBUS_CONFIG=${JSON.stringify(creds.statusConfig)}`,
          "",
        ].join("\n"),
      );
    });

  program
    .command("supervise", { hidden: true })
    .description("run the supervisor of a local bus (started by eventbus up)")
    .argument("<name>", "the bus")
    .action(async (name: string) => {
      const paths = busPaths(eventbusHome(), name);
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      const daemon = await runSupervisorDaemon(paths, { onEvent: (e) => log(`${e.level} ${e.server ?? "supervisor"}: ${e.message}`) });
      await daemon.done;
    });
}

/** The server logs of a bus, labelled with the servers' names. */
async function serverLogs(paths: BusPaths): Promise<(LogSource & { index: number })[]> {
  const text = await readFile(paths.state, "utf8").catch(() => {
    throw new CliError(`no local bus named ${paths.name} (looked in ${paths.dir})`, ExitCode.failed);
  });
  const state = JSON.parse(text) as { servers: { index: number; name: string }[] };
  return state.servers.map((s) => ({ index: s.index, label: s.name, file: paths.serverLog(s.index) }));
}

