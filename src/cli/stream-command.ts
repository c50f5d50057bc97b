/** `eventbus stream info` and `stream apply`: the bus's stream, its state and its config. */
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { Duration, EventBusValidationError, Issues, parseStreamConfig } from "../api/index.js";
import type { StreamSummary } from "../client/index.js";
import { BackupErrorCode, isBackupError } from "../backup/index.js";
import { busCredentials, busPaths, eventbusHome } from "../platforms/local/index.js";
import { addConnectionFlags, connectionChoice, openClient, type ConnectionFlags } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, readInput, table, type Io } from "./io.js";
import { ClientOutput, outputOption } from "./client-flags.js";

interface StreamApplyFlags extends ConnectionFlags {
  readonly filename: string;
  readonly dryRun: boolean;
  readonly recreate: boolean;
  readonly output: ClientOutput;
}

/** Adds the command. */
export function addStreamCommand(program: Command, io: Io): void {
  const stream = program.command("stream").description("the bus's stream (default): its state, and its config");
  addConnectionFlags(
    stream
      .command("info")
      .description("the stream's config, state, leader and replicas")
      .addOption(outputOption([ClientOutput.table, ClientOutput.json, ClientOutput.yaml])),
  ).action(async (bus: string | undefined, opts: ConnectionFlags & { output: ClientOutput }) => {
    await using client = await openClient(await connectionChoice(bus, opts, io), io);
    const summary = await client.streamInfo();
    io.stdout(opts.output === ClientOutput.table ? formatStreamSummary(summary) : formatData(summary, opts.output));
  });
  addConnectionFlags(
    stream
      .command("apply")
      .description("apply a streamConfig (merged over Argo's defaults) to the live stream")
      .requiredOption("-f, --filename <file>", "a streamConfig YAML (maxMsgs, maxAge, …) or an EventBus manifest, or - for standard input")
      .option("--dry-run", "say what would change; change nothing", false)
      .option(
        "--recreate",
        "for fields JetStream cannot change on a live stream (retention): back the stream up, recreate it with the new config and restore its events and consumers",
        false,
      )
      .addOption(outputOption([ClientOutput.table, ClientOutput.json])),
  ).action((bus: string | undefined, opts: StreamApplyFlags) => streamApplyCommand(bus, opts, io));
}

async function streamApplyCommand(bus: string | undefined, opts: StreamApplyFlags, io: Io): Promise<void> {
  const text = streamConfigText(await readInput(opts.filename, io), opts.filename);
  const choice = await connectionChoice(bus, opts, io);
  // Stream replicas cannot exceed a local bus's servers; an external bus's servers are not known.
  const serverReplicas = choice.localBus === undefined ? undefined : (await busCredentials(choice.localBus)).urls.length;
  // Checked before connecting, so that a typo does not wait for the bus (the library checks it again).
  const issues = new Issues();
  if (parseStreamConfig(text, ["streamConfig"], issues, serverReplicas === undefined ? {} : { serverReplicas }) === undefined)
    throw new EventBusValidationError(issues.list);
  await using client = await openClient(choice, io);
  // A local bus keeps the archive of a recreated stream in its state dir; any other bus in a temp dir.
  const archiveDir = choice.localBus === undefined ? undefined : busPaths(eventbusHome(), choice.localBus).dir;
  const recreate = opts.recreate
    ? { ...(archiveDir !== undefined && { archiveDir }), onStep: (_step: string, line: string) => io.stderr(`${line}\n`) }
    : undefined;
  const outcome = await client
    .applyStreamConfig(text, { dryRun: opts.dryRun, ...(serverReplicas !== undefined && { serverReplicas }), ...(recreate !== undefined && { recreate }) })
    .catch((error: unknown) => {
      // A recreate's backup or restore failure: one line, exit 1 (2 when the stream is not there).
      if (isBackupError(error))
        throw new CliError(error.message, error.code === BackupErrorCode.noSuchStream ? ExitCode.invalid : ExitCode.failed, { cause: error });
      throw error;
    });
  const stream = "default";
  if (opts.output === ClientOutput.json) {
    io.stdout(
      formatData(
        {
          stream,
          action: outcome.action,
          dryRun: opts.dryRun,
          changes: outcome.changes,
          ...(outcome.recreated !== undefined && { recreated: outcome.recreated }),
          config: outcome.config,
        },
        "json",
      ),
    );
  } else if (outcome.recreated !== undefined) {
    const r = outcome.recreated;
    const counts = `${r.events} event${r.events === 1 ? "" : "s"} and ${r.consumers} consumer${r.consumers === 1 ? "" : "s"}`;
    const head = opts.dryRun
      ? `stream ${stream}: would be recreated (${r.fields.join(", ")}); ${counts} would be backed up and restored (dry run: nothing was changed)`
      : `stream ${stream}: recreated (${r.fields.join(", ")}); ${counts} restored (sequences ${r.firstSeq}..${r.lastSeq})`;
    const kept = r.archive === undefined ? "" : `  the stream as it was is kept in ${r.archive}\n`;
    const gone = r.removedByRetention;
    const removed =
      gone === undefined
        ? ""
        : `  the new retention removes the ${gone.events} events every consumer had acked (sequences ${r.firstSeq}..${gone.upTo}), as JetStream does\n`;
    io.stdout(`${head}\n${outcome.changes.map((c) => `  ${c}\n`).join("")}${removed}${kept}`);
  } else {
    const dry = opts.dryRun ? " (dry run: nothing was changed)" : "";
    io.stdout(`stream ${stream}: ${outcome.action}${dry}\n${outcome.changes.map((c) => `  ${c}\n`).join("")}`);
  }
  if (choice.localBus !== undefined && !opts.dryRun && outcome.action !== "unchanged") {
    io.stderr(
      `note: bus ${choice.localBus} runs from its manifest; eventbus up applies the manifest's streamConfig again, so put this change in the manifest to keep it\n`,
    );
  }
}

/**
 * The `streamConfig` text of a file: the file itself, or, for an EventBus manifest, its
 * `spec.jetstream.streamConfig` or `spec.jetstreamExotic.streamConfig` (empty: Argo's defaults).
 */
function streamConfigText(text: string, file: string): string {
  let doc: unknown;
  try {
    doc = parseYaml(text, { logLevel: "silent" });
  } catch {
    // Not YAML at all: the stream config parser reports it at streamConfig.
    return text;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return text;
  const fields = doc as { kind?: unknown; apiVersion?: unknown; spec?: unknown };
  if (fields.kind === undefined && fields.apiVersion === undefined && fields.spec === undefined) return text;
  const source = file === "-" ? "<stdin>" : file;
  if (fields.kind !== "EventBus") throw new CliError(`${source}: kind: must be EventBus (or the file a streamConfig), got ${JSON.stringify(fields.kind)}`);
  const spec = (fields.spec ?? {}) as Record<string, unknown>;
  const mode = (["jetstream", "jetstreamExotic"] as const).find((m) => spec[m] !== undefined && spec[m] !== null);
  if (mode === undefined) throw new CliError(`${source}: spec: only a JetStream bus (spec.jetstream or spec.jetstreamExotic) has a stream config`);
  const streamConfig = (spec[mode] as Record<string, unknown>).streamConfig ?? "";
  if (typeof streamConfig !== "string")
    throw new CliError(`${source}: spec.${mode}.streamConfig: must be a string (YAML text in a block scalar, streamConfig: |)`);
  return streamConfig;
}

/** The stream summary as `stream info` prints it. */
function formatStreamSummary(s: StreamSummary): string {
  const c = s.config;
  const st = s.state;
  const at = (seq: number, time: string | undefined) => `${seq}${time === undefined ? "" : ` at ${time}`}`;
  const lines = [
    `stream ${s.name}: subjects ${s.subjects.join(", ")}, ${s.storage} storage`,
    "",
    "config:",
    `  maxMsgs:     ${c.maxMsgs}`,
    `  maxAge:      ${c.maxAge}`,
    `  maxBytes:    ${c.maxBytes}`,
    `  replicas:    ${c.replicas}`,
    `  duplicates:  ${c.duplicates}`,
    `  retention:   ${c.retention}`,
    `  discard:     ${c.discard}`,
    "",
    "state:",
    `  messages:    ${st.messages}`,
    `  bytes:       ${st.bytes}`,
    `  first seq:   ${at(st.firstSeq, st.firstTime)}`,
    `  last seq:    ${at(st.lastSeq, st.lastTime)}`,
    `  subjects:    ${st.subjects}`,
    `  consumers:   ${st.consumers}`,
    "",
    `leader: ${s.cluster?.leader ?? (s.cluster ? "(none)" : "(single server, not clustered)")}`,
  ];
  const replicas = s.cluster?.replicas ?? [];
  if (replicas.length > 0) {
    lines.push(
      "",
      table(
        ["REPLICA", "CURRENT", "LAG", "ACTIVE", "OFFLINE"],
        replicas.map((r) => [r.name, r.current ? "yes" : "no", String(r.lagMessages), Duration.fromMillis(r.activeMillis).format(), r.offline ? "yes" : "no"]),
      ).trimEnd(),
    );
  }
  return `${lines.join("\n")}\n`;
}
