/** `eventbus publish`: events in Argo Events' wire format, each waited for until the stream acks it. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { Duration } from "../api/index.js";
import {
  checkSubjectToken,
  DEFAULT_DATA_CONTENT_TYPE,
  isJsonContentType,
  isPublishFailed,
  type EventInput,
  type PublishAck,
  type PublishResult,
  type PublishWait,
  sleep,
} from "../client/index.js";
import { addConnectionFlags, addStanFlags, connectionChoice, openClient, stanSelected, type ConnectionFlags, type StanFlags } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { processIo, type Io } from "./io.js";
import { ClientOutput, outputOption, positiveNumber, strictUtf8, utf8, wholeNumber } from "./client-flags.js";

/** The CloudEvents `type` (Argo's event source type) of published events, unless `--type` says otherwise. */
const DEFAULT_EVENT_TYPE = "eventbus";
/** How often `publish --count` reports progress on a terminal. */
const PROGRESS_INTERVAL_MILLIS = 1_000;

interface PublishFlags extends ConnectionFlags, StanFlags {
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

/** Adds the command. */
export function addPublishCommand(program: Command, io: Io): void {
  addStanFlags(
    addConnectionFlags(
      program
        .command("publish")
        .description(
          "publish events in Argo Events' wire format (CloudEvents on default.<source>.<event>, or to a NATS Streaming bus's channel) and wait for the stream's acks",
        )
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
    ),
  ).action((bus: string | undefined, opts: PublishFlags) => publishCommand(bus, opts, io));
}

async function publishCommand(bus: string | undefined, opts: PublishFlags, io: Io): Promise<void> {
  checkSubjectToken("--source", opts.source);
  checkSubjectToken("--event", opts.event);
  const count = wholeNumber("--count", opts.count);
  const rate = opts.rate === undefined ? undefined : positiveNumber("--rate", opts.rate);
  const window = opts.window === undefined ? undefined : wholeNumber("--window", opts.window);
  const data = opts.data === undefined ? undefined : await readData(opts.data, opts.contentType, io);
  const choice = await connectionChoice(bus, opts, io);
  const event: EventInput = {
    source: opts.source,
    subject: opts.event,
    type: opts.type,
    datacontenttype: opts.contentType,
    ...(opts.id !== undefined && { id: opts.id }),
    ...(data !== undefined && { data }),
  };
  const started = Date.now();
  if (stanSelected(choice, opts)) {
    // Loaded only for a NATS Streaming bus.
    const { publishStan } = await import("./stan-client-commands.js");
    const events = paced(event, count, rate, started);
    return publishStan(choice, opts, { events, count, ...(window !== undefined && { window }), output: opts.output }, io);
  }
  await using client = await openClient(choice, io);
  const waits = new WaitReporter(io);
  const publisher = client.publisher({ ...(window !== undefined && { window }), onWait: (wait) => waits.report(wait) });
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
    this.io.stderr(
      `waiting to store events on ${wait.subject}: ${wait.reason} (retrying for up to ${Duration.fromMillis(Math.ceil(wait.remainingMillis / 1000) * 1000).format()})\n`,
    );
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
    return {
      id: ack.id,
      subject: ack.subject,
      fate: ack.duplicate ? "duplicate" : "stored",
      stream: ack.stream,
      seq: ack.seq,
      duplicate: ack.duplicate,
      attempts: ack.attempts,
    };
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
  return ack.duplicate
    ? `duplicate ${ack.id} (already stored at seq ${ack.seq})`
    : `published ${ack.id} to ${ack.subject} (stream ${ack.stream}, seq ${ack.seq})`;
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
    throw new CliError(`--data ${file}: ${error.code === "ENOENT" ? "no such file" : error.code === "EISDIR" ? "is a directory" : error.message}`, undefined, {
      cause: error,
    });
  });
}
