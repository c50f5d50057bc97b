/**
 * The client commands: `publish` and `subscribe` events in Argo Events' wire format, and read or
 * change the bus's stream (`stream info`, `stream apply`).
 */
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Command, Option } from "commander";
import { parse as parseYaml } from "yaml";
import { Duration, EventBusValidationError, Issues, parseStreamConfig } from "../api/index.js";
import {
  checkSubjectToken,
  ConnectionState,
  DEFAULT_DATA_CONTENT_TYPE,
  isJsonContentType,
  isPublishFailed,
  type EventInput,
  type PublishAck,
  type PublishResult,
  type PublishWait,
  type ReceivedEvent,
  type StartPosition,
  type StreamSummary,
} from "../client/index.js";
import { BackupErrorCode, isBackupError } from "../backup/index.js";
import { busCredentials, busPaths, eventbusHome } from "../platforms/local/index.js";
import { addConnectionFlags, connectionChoice, openClient, positiveDuration, type ConnectionFlags } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, processIo, readInput, table, type Io } from "./io.js";

/** The CloudEvents `type` (Argo's event source type) of published events, unless `--type` says otherwise. */
const DEFAULT_EVENT_TYPE = "eventbus";
/** Characters of an event's data a table line shows at most. */
const TABLE_DATA_CHARS = 200;
/** How often `publish --count` reports progress on a terminal. */
const PROGRESS_INTERVAL_MILLIS = 1_000;

/** Output formats of the client commands. */
const ClientOutput = { table: "table", json: "json", yaml: "yaml" } as const;
/** One of the {@link ClientOutput} values. */
type ClientOutput = (typeof ClientOutput)[keyof typeof ClientOutput];

const outputOption = (formats: readonly ClientOutput[]) => new Option("-o, --output <format>", "output format").choices(formats).default(ClientOutput.table);
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

interface PublishFlags extends ConnectionFlags {
  readonly source: string;
  readonly event: string;
  readonly type: string;
  readonly contentType: string;
  readonly data?: string;
  readonly id?: string;
  readonly count: string;
  readonly rate?: string;
  readonly window?: string;
  readonly output: ClientOutput;
}

interface SubscribeFlags extends ConnectionFlags {
  readonly source: string;
  readonly event: string;
  readonly durable?: string;
  readonly sensor?: string;
  readonly trigger?: string;
  readonly dependency?: string;
  readonly from: string;
  readonly count?: string;
  readonly ackWait?: string;
  readonly ack: boolean;
  readonly output: ClientOutput;
}

interface StreamApplyFlags extends ConnectionFlags {
  readonly filename: string;
  readonly dryRun: boolean;
  readonly recreate: boolean;
  readonly output: ClientOutput;
}

/** Adds `publish`, `subscribe` and `stream info|apply`. */
export function addClientCommands(program: Command, io: Io): void {
  addConnectionFlags(
    program
      .command("publish")
      .description("publish events in Argo Events' wire format (CloudEvents on default.<source>.<event>) and wait for the stream's acks")
      .requiredOption("--source <name>", "event source name (CloudEvents source)")
      .requiredOption("--event <name>", "event name (CloudEvents subject)")
      .option("--type <type>", "event source type (CloudEvents type)", DEFAULT_EVENT_TYPE)
      .option("--content-type <type>", "datacontenttype; JSON types require JSON data", DEFAULT_DATA_CONTENT_TYPE)
      .option("--data <json|@file|->", "the payload: the text itself, @FILE, or - for standard input")
      .option("--id <id>", "event id (Nats-Msg-Id) of every event; the stream stores one of them")
      .option("--count <n>", "events to publish", "1")
      .option("--rate <events-per-second>", "pace the events")
      .option("--window <n>", "events in flight at most")
      .addOption(outputOption([ClientOutput.table, ClientOutput.json])),
  ).action((bus: string | undefined, opts: PublishFlags) => publishCommand(bus, opts, io));

  addConnectionFlags(
    program
      .command("subscribe")
      .description("print events of one event source and event name, acking each after it is printed")
      .requiredOption("--source <name>", "event source name")
      .requiredOption("--event <name>", "event name")
      .option("--durable <name>", "a durable consumer's name (kept after exit)")
      .option("--sensor <name>", "with --trigger and --dependency: the durable consumer of that sensor dependency, as Argo Events names it")
      .option("--trigger <name>", "the trigger's template name (with --sensor)")
      .option("--dependency <name>", "the dependency's name (with --sensor)")
      .option("--from <position>", "where a new consumer starts: new, start, a stream sequence, an RFC 3339 time, or a duration ago such as 10m", "new")
      .option("--count <n>", "exit after this many events")
      .option("--ack-wait <duration>", "how long the server waits for an ack before delivering again (new consumers)")
      .option("--no-ack", "never ack: the events are delivered again after the ack wait")
      .addOption(outputOption([ClientOutput.table, ClientOutput.json])),
  ).action((bus: string | undefined, opts: SubscribeFlags) => subscribeCommand(bus, opts, io));

  const stream = program.command("stream").description("the bus's stream (default): its state, and its config");
  addConnectionFlags(stream.command("info").description("the stream's config, state, leader and replicas").addOption(outputOption([ClientOutput.table, ClientOutput.json, ClientOutput.yaml]))).action(
    async (bus: string | undefined, opts: ConnectionFlags & { output: ClientOutput }) => {
      await using client = await openClient(await connectionChoice(bus, opts, io), io);
      const summary = await client.streamInfo();
      io.stdout(opts.output === ClientOutput.table ? formatStreamSummary(summary) : formatData(summary, opts.output));
    },
  );
  addConnectionFlags(
    stream
      .command("apply")
      .description("apply a streamConfig (merged over Argo's defaults) to the live stream")
      .requiredOption("-f, --filename <file>", "a streamConfig YAML (maxMsgs, maxAge, …) or an EventBus manifest, or - for standard input")
      .option("--dry-run", "say what would change; change nothing", false)
      .option("--recreate", "for fields JetStream cannot change on a live stream (retention): back the stream up, recreate it with the new config and restore its events and consumers", false)
      .addOption(outputOption([ClientOutput.table, ClientOutput.json])),
  ).action((bus: string | undefined, opts: StreamApplyFlags) => streamApplyCommand(bus, opts, io));
}

async function publishCommand(bus: string | undefined, opts: PublishFlags, io: Io): Promise<void> {
  checkSubjectToken("--source", opts.source);
  checkSubjectToken("--event", opts.event);
  const count = wholeNumber("--count", opts.count);
  const rate = opts.rate === undefined ? undefined : positiveNumber("--rate", opts.rate);
  const window = opts.window === undefined ? undefined : wholeNumber("--window", opts.window);
  const data = opts.data === undefined ? undefined : await readData(opts.data, opts.contentType, io);
  const choice = await connectionChoice(bus, opts, io);
  await using client = await openClient(choice, io);
  const waits = new WaitReporter(io);
  const publisher = client.publisher({ ...(window !== undefined && { window }), onWait: (wait) => waits.report(wait) });
  const event: EventInput = {
    source: opts.source,
    subject: opts.event,
    type: opts.type,
    datacontenttype: opts.contentType,
    ...(opts.id !== undefined && { id: opts.id }),
    ...(data !== undefined && { data }),
  };
  const started = Date.now();
  const progress = process.stderr.isTTY && io === processIo && count > 1;
  let lastProgress = started;
  const tally = { stored: 0, duplicates: 0, failed: 0 };
  const failures = new Map<string, { count: number; example: string }>();
  let firstFailure: Error | undefined;
  for await (const result of publisher.publishSettled(paced(event, count, rate, started))) {
    if (result.ok) {
      if (result.ack.duplicate) tally.duplicates++;
      else tally.stored++;
    } else {
      tally.failed++;
      firstFailure ??= result.error;
      const reason = isPublishFailed(result.error) ? result.error.reason : "error";
      const seen = failures.get(reason);
      if (seen) seen.count++;
      else failures.set(reason, { count: 1, example: result.error.message });
      // Each failure on its own line for a few events; the rest are counted in the summary.
      if (opts.output !== ClientOutput.json && count > 1 && tally.failed <= MAX_FAILURE_LINES) io.stderr(`eventbus: ${result.error.message}\n`);
    }
    if (opts.output === ClientOutput.json) io.stdout(`${JSON.stringify(resultJson(result))}\n`);
    else if (count === 1 && result.ok) io.stdout(`${ackLine(result.ack)}\n`);
    if (progress && Date.now() - lastProgress >= PROGRESS_INTERVAL_MILLIS) {
      lastProgress = Date.now();
      io.stderr(`published ${tally.stored + tally.duplicates + tally.failed}/${count} events (${tally.failed} failed)\n`);
    }
  }
  const done = tally.stored + tally.duplicates + tally.failed;
  if (opts.output === ClientOutput.table && count > 1) {
    const seconds = (Date.now() - started) / 1000;
    io.stdout(
      `published ${done} events (${tally.stored} stored, ${tally.duplicates} duplicates of stored events, ${tally.failed} not stored) in ${seconds.toFixed(2)} s, ${Math.round(done / Math.max(seconds, 0.001))} events/s\n`,
    );
  }
  if (tally.failed > 0) {
    if (count === 1 && firstFailure) throw firstFailure;
    const reasons = [...failures].map(([reason, f]) => `${f.count} ${reason}${count > 1 ? ` (e.g. ${f.example})` : ""}`).join("; ");
    throw new CliError(`${tally.failed} of ${done} events were not stored: ${reasons}`, ExitCode.failed);
  }
}

/** How many failed events `publish` names one by one on stderr before it only counts them. */
const MAX_FAILURE_LINES = 5;
/** How often the same kind of wait is reported again while it lasts. */
const WAIT_REPEAT_MILLIS = 5_000;

/**
 * Says on stderr what a publish waits for, at once: the first wait, each change of reason, and the
 * same reason again every few seconds while it lasts (a window of events waits for the same thing).
 */
class WaitReporter {
  private lastReason = "";
  private lastAt = 0;

  constructor(private readonly io: Io) {}

  report(wait: PublishWait): void {
    const now = Date.now();
    if (wait.reason === this.lastReason && now - this.lastAt < WAIT_REPEAT_MILLIS) return;
    this.lastReason = wait.reason;
    this.lastAt = now;
    this.io.stderr(`waiting to store events on ${wait.subject}: ${wait.reason} (retrying for up to ${Duration.fromMillis(Math.ceil(wait.remainingMillis / 1000) * 1000).format()})\n`);
  }
}

/** `count` copies of `event` (each gets its own id unless the event has one), at most `rate` a second. */
async function* paced(event: EventInput, count: number, rate: number | undefined, started: number): AsyncGenerator<EventInput> {
  for (let i = 0; i < count; i++) {
    if (rate !== undefined) {
      const wait = started + (i * 1000) / rate - Date.now();
      if (wait > 0) await sleep(wait);
    }
    yield event;
  }
}

/** One event's fate as a JSON line: `stored`, `duplicate` (of the stored copy at `seq`) or `failed` with its reason. */
function resultJson(result: PublishResult) {
  if (result.ok) {
    const ack = result.ack;
    return { id: ack.id, subject: ack.subject, fate: ack.duplicate ? "duplicate" : "stored", stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, attempts: ack.attempts };
  }
  const failed = isPublishFailed(result.error) ? result.error : undefined;
  return {
    id: result.id,
    subject: result.subject,
    fate: "failed",
    reason: failed?.reason ?? "error",
    error: failed?.detail ?? result.error.message,
    ...(failed && { attempts: failed.attempts }),
    ...(failed?.serverCode !== undefined && { serverCode: failed.serverCode }),
  };
}

function ackLine(ack: PublishAck): string {
  return ack.duplicate ? `duplicate ${ack.id} (already stored at seq ${ack.seq})` : `published ${ack.id} to ${ack.subject} (stream ${ack.stream}, seq ${ack.seq})`;
}

/** `--data`: the text itself, `@FILE` or `-`. JSON content types must hold JSON; others are sent as bytes. */
async function readData(value: string, contentType: string, io: Io): Promise<Uint8Array> {
  const bytes = value === "-" ? await stdinBytes(io) : value.startsWith("@") ? await fileBytes(value.slice(1)) : utf8.encode(value);
  if (isJsonContentType(contentType)) {
    let json = false;
    try {
      JSON.parse(strictUtf8.decode(bytes));
      json = true;
    } catch {
      // reported below, without the data: it may be secret
    }
    if (!json) throw new CliError(`--data: is not JSON (content type ${contentType}); use --content-type for other data`);
  }
  return bytes;
}

/** Standard input as bytes (binary data stays intact); a test's Io gives text. */
async function stdinBytes(io: Io): Promise<Uint8Array> {
  if (io !== processIo) return utf8.encode(await io.stdin());
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function fileBytes(file: string): Promise<Uint8Array> {
  if (file === "") throw new CliError("--data: name a file after @, or use - for standard input");
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`--data ${file}: ${error.code === "ENOENT" ? "no such file" : error.code === "EISDIR" ? "is a directory" : error.message}`, undefined, { cause: error });
  });
}

async function subscribeCommand(bus: string | undefined, opts: SubscribeFlags, io: Io): Promise<void> {
  checkSubjectToken("--source", opts.source);
  checkSubjectToken("--event", opts.event);
  const dependency = dependencyFlags(opts);
  if (dependency !== undefined && opts.durable !== undefined) throw new CliError("--durable: give a durable name or --sensor/--trigger/--dependency, not both");
  const from = startPosition(opts.from);
  const count = opts.count === undefined ? undefined : wholeNumber("--count", opts.count);
  const ackWait = opts.ackWait === undefined ? undefined : positiveDuration("--ack-wait", opts.ackWait);
  const choice = await connectionChoice(bus, opts, io);
  await using client = await openClient(choice, io);
  const subscription = await client.subscribe({
    source: opts.source,
    event: opts.event,
    ...(opts.durable !== undefined && { durable: opts.durable }),
    ...(dependency !== undefined && { dependency }),
    from,
    ...(ackWait !== undefined && { ackWaitMillis: ackWait.millis }),
    // Pull no more than will be printed, so that a durable consumer does not hold back events for the ack wait.
    ...(count !== undefined && { max: count }),
    onInvalid: (error, message) => io.stderr(`skipped message ${message.seq} on ${message.subject}: not an Argo Events CloudEvent (${error.message})\n`),
  });
  for (const warning of subscription.warnings) io.stderr(`warning: ${warning}\n`);
  if (!subscription.created && (opts.from !== undefined || ackWait !== undefined)) {
    io.stderr(`note: consumer ${subscription.consumer} already exists; it continues where it was, so --from and --ack-wait do not apply\n`);
  }
  const stop = () => void subscription.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // A connection that gives up (credentials refused after a reconnect) ends the subscription with its error.
  const unwatch = client.onStateChange((state) => state === ConnectionState.closed && stop());
  try {
    let received = 0;
    for await (const event of subscription) {
      io.stdout(`${opts.output === ClientOutput.json ? JSON.stringify(eventJson(event)) : eventLine(event)}\n`);
      if (opts.ack) await event.ack();
      if (count !== undefined && ++received >= count) break;
    }
  } finally {
    unwatch();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await subscription.close();
  }
  if (client.error) throw client.error;
}

/** `--sensor`, `--trigger` and `--dependency`: all three, or none. */
function dependencyFlags(opts: SubscribeFlags): { sensor: string; trigger: string; dependency: string } | undefined {
  const { sensor, trigger, dependency } = opts;
  if (sensor === undefined && trigger === undefined && dependency === undefined) return undefined;
  if (sensor === undefined || trigger === undefined || dependency === undefined) {
    const missing = [sensor === undefined && "--sensor", trigger === undefined && "--trigger", dependency === undefined && "--dependency"].filter(Boolean);
    throw new CliError(`${missing.join(", ")}: --sensor, --trigger and --dependency go together (they name a sensor's durable consumer)`);
  }
  return { sensor, trigger, dependency };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** `--from`: `new`, `start`, a stream sequence, an RFC 3339 time, or a duration ago (`10m`). */
function startPosition(text: string, now: number = Date.now()): StartPosition {
  if (text === "new" || text === "start") return text;
  if (/^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text))) return Number(text);
  if (RFC3339.test(text) && Number.isFinite(Date.parse(text))) return new Date(text);
  try {
    return new Date(now - Duration.parse(text).millis);
  } catch {
    throw new CliError(`--from: must be new, start, a stream sequence (>= 1), an RFC 3339 time or a duration ago such as 10m, got ${JSON.stringify(text)}`);
  }
}

/** A subscribed event as one line: `<stored at> <source>/<event> <id> <data>`. */
function eventLine(received: ReceivedEvent): string {
  const { event } = received;
  const text = dataText(event.data);
  const shown = text === undefined ? `(${event.data.byteLength} bytes, not UTF-8)` : escapeControls(text.length > TABLE_DATA_CHARS ? `${text.slice(0, TABLE_DATA_CHARS)}…` : text);
  return `${received.storedAt.toISOString()} ${event.source}/${event.subject} ${event.id} ${shown}`;
}

/** A subscribed event as a JSON object: the data parsed when it is JSON, else text, else base64. */
function eventJson(received: ReceivedEvent) {
  const { event } = received;
  const text = dataText(event.data);
  let data: { data: unknown; dataEncoding?: "base64" };
  if (text === undefined) data = { data: Buffer.from(event.data).toString("base64"), dataEncoding: "base64" };
  else if (isJsonContentType(event.datacontenttype) && text === "") data = { data: null };
  else data = { data: isJsonContentType(event.datacontenttype) ? parseOr(text) : text };
  return {
    id: event.id,
    source: event.source,
    subject: event.subject,
    type: event.type,
    time: event.time,
    datacontenttype: event.datacontenttype,
    ...data,
    seq: received.seq,
    deliveryCount: received.deliveryCount,
    redelivered: received.redelivered,
  };
}

function dataText(data: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(data);
  } catch {
    return undefined;
  }
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Keeps one event on one line: newlines and other control characters are written as escapes. */
function escapeControls(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : c === "\r" ? "\\r" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

async function streamApplyCommand(bus: string | undefined, opts: StreamApplyFlags, io: Io): Promise<void> {
  const text = streamConfigText(await readInput(opts.filename, io), opts.filename);
  const choice = await connectionChoice(bus, opts, io);
  // Stream replicas cannot exceed a local bus's servers; an external bus's servers are not known.
  const serverReplicas = choice.localBus === undefined ? undefined : (await busCredentials(choice.localBus)).urls.length;
  // Checked before connecting, so that a typo does not wait for the bus (the library checks it again).
  const issues = new Issues();
  if (parseStreamConfig(text, ["streamConfig"], issues, serverReplicas === undefined ? {} : { serverReplicas }) === undefined) throw new EventBusValidationError(issues.list);
  await using client = await openClient(choice, io);
  // A local bus keeps the archive of a recreated stream in its state dir; any other bus in a temp dir.
  const archiveDir = choice.localBus === undefined ? undefined : busPaths(eventbusHome(), choice.localBus).dir;
  const recreate = opts.recreate ? { ...(archiveDir !== undefined && { archiveDir }), onStep: (_step: string, line: string) => io.stderr(`${line}\n`) } : undefined;
  const outcome = await client.applyStreamConfig(text, { dryRun: opts.dryRun, ...(serverReplicas !== undefined && { serverReplicas }), ...(recreate !== undefined && { recreate }) }).catch((error: unknown) => {
    // A recreate's backup or restore failure: one line, exit 1 (2 when the stream is not there).
    if (isBackupError(error)) throw new CliError(error.message, error.code === BackupErrorCode.noSuchStream ? ExitCode.invalid : ExitCode.failed, { cause: error });
    throw error;
  });
  const stream = "default";
  if (opts.output === ClientOutput.json) {
    io.stdout(formatData({ stream, action: outcome.action, dryRun: opts.dryRun, changes: outcome.changes, ...(outcome.recreated !== undefined && { recreated: outcome.recreated }), config: outcome.config }, "json"));
  } else if (outcome.recreated !== undefined) {
    const r = outcome.recreated;
    const counts = `${r.events} event${r.events === 1 ? "" : "s"} and ${r.consumers} consumer${r.consumers === 1 ? "" : "s"}`;
    const head = opts.dryRun
      ? `stream ${stream}: would be recreated (${r.fields.join(", ")}); ${counts} would be backed up and restored (dry run: nothing was changed)`
      : `stream ${stream}: recreated (${r.fields.join(", ")}); ${counts} restored (sequences ${r.firstSeq}..${r.lastSeq})`;
    const kept = r.archive === undefined ? "" : `  the stream as it was is kept in ${r.archive}\n`;
    const gone = r.removedByRetention;
    const removed = gone === undefined ? "" : `  the new retention removes the ${gone.events} events every consumer had acked (sequences ${r.firstSeq}..${gone.upTo}), as JetStream does\n`;
    io.stdout(`${head}\n${outcome.changes.map((c) => `  ${c}\n`).join("")}${removed}${kept}`);
  } else {
    const dry = opts.dryRun ? " (dry run: nothing was changed)" : "";
    io.stdout(`stream ${stream}: ${outcome.action}${dry}\n${outcome.changes.map((c) => `  ${c}\n`).join("")}`);
  }
  if (choice.localBus !== undefined && !opts.dryRun && outcome.action !== "unchanged") {
    io.stderr(`note: bus ${choice.localBus} runs from its manifest; eventbus up applies the manifest's streamConfig again, so put this change in the manifest to keep it\n`);
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
  if (typeof streamConfig !== "string") throw new CliError(`${source}: spec.${mode}.streamConfig: must be a string (YAML text in a block scalar, streamConfig: |)`);
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
    lines.push("", table(["REPLICA", "CURRENT", "LAG", "ACTIVE", "OFFLINE"], replicas.map((r) => [r.name, r.current ? "yes" : "no", String(r.lagMessages), Duration.fromMillis(r.activeMillis).format(), r.offline ? "yes" : "no"])).trimEnd());
  }
  return `${lines.join("\n")}\n`;
}

function wholeNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new CliError(`${flag}: must be a whole number >= 1, got ${JSON.stringify(text)}`);
  return n;
}

function positiveNumber(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) throw new CliError(`${flag}: must be a number > 0, got ${JSON.stringify(text)}`);
  return n;
}
