/** `eventbus up`: run a bus on this machine, or apply a changed manifest to a running one. */
import type { Command } from "commander";
import { followLogs, upBus } from "../platforms/local/index.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { serverLogs } from "./logs-command.js";
import { formatData, outputOption, readInput, type Io } from "./io.js";

type Output = "text" | "json" | "yaml";

/** Adds `up`. */
export function addUpCommand(program: Command, io: Io): void {
  program
    .command("up")
    .description("run an EventBus on this machine as supervised nats-server processes, or apply a changed manifest to a running one")
    .option("-f, --filename <file>", "manifest file (one JetStream EventBus), or - for standard input; the default bus when omitted")
    .option("--foreground", "keep the supervisor attached and print its events; Ctrl-C stops the bus", false)
    .option("--timeout <seconds>", "how long the bus may take to become healthy", "120")
    .addOption(outputOption())
    .action(async (opts: { filename?: string; foreground: boolean; timeout: string; output: Output }) => {
      const timeoutSeconds = Number(opts.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
        throw new CliError(`--timeout: must be a number of seconds > 0, got ${JSON.stringify(opts.timeout)}`);
      const started = new Date();
      const manifest =
        opts.filename === undefined ? undefined : { text: await readInput(opts.filename, io), source: opts.filename === "-" ? "<stdin>" : opts.filename };
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
        ...(up.stream !== undefined && { stream: up.stream }),
        ...(up.clusterId !== undefined && { clusterId: up.clusterId }),
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
            up.stream !== undefined ? `  stream:      default (${up.stream.action})` : `  cluster id:  ${up.clusterId} (NATS Streaming)`,
            "",
          ].join("\n"),
        );
      }
      if (up.daemon) {
        io.stderr("supervisor running in the foreground; press Ctrl-C to stop the bus\n");
        const stop = new AbortController();
        const following = followLogs(await serverLogs(up.paths), (label, line) => io.stderr(`${label} | ${line}\n`), stop.signal, { since: started });
        await up.daemon.done;
        stop.abort();
        await following;
      }
    });
}
