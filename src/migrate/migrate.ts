/**
 * Moving an Argo Events installation off NATS Streaming: the events of a STAN channel copied into
 * the JetStream stream `default`, as Argo's JetStream event sources would have published them.
 *
 * - What a STAN message is: Argo's STAN event sources publish the CloudEvent JSON of each event as
 *   the message body (argoproj/argo-events pkg/eventsources/eventing.go `run`:
 *   `json.Marshal(event)`), on the namespace's one channel `eventbus-<namespace>`.
 * - What it becomes: the same body bytes on `default.<source>.<subject>` with `Nats-Msg-Id` = the
 *   event id, which is what Argo's JetStream event sources publish (pkg/eventbus/jetstream/
 *   eventsource/source_conn.go `Publish`); the stream de-duplicates on the id, so a second run
 *   inside the stream's duplicates window stores nothing again.
 * - Where the channel ends: its last sequence when the run starts, read with a subscription that
 *   starts at the last received message (the server sends that one message at once). Messages
 *   published later are left for the event sources, which publish to JetStream after the switch.
 * - What stays on the STAN server: nothing. Both subscriptions are plain (no durable, no queue
 *   group) and are unsubscribed at the end; the connection closes.
 * - Order: one reader, and publishes sent in channel order on one connection, so the stream stores
 *   them in channel order. Only a retried publish (a timeout, a leader election) can land after its
 *   successors; the summary counts those (`outOfOrder`), and a window of 1 rules them out.
 */
import { randomBytes } from "node:crypto";

import {
  BusError,
  ClientErrorCode,
  decodeEvent,
  eventSubject,
  MSG_ID_HEADER,
  type EncodedEvent,
  type EventBusClient,
  type PublishAck,
  streamInfo,
} from "../client/index.js";
import { publishEncoded } from "../client/publisher.js";
import { connectStan, isValidChannel, type StanConnection, type StanMessage, type StanStartAt, type StanSubscription } from "../client/stan/index.js";
import type { NatsConnection } from "@nats-io/transport-node";

/** The stream the events are copied into: Argo's one JetStream stream. */
export const TARGET_STREAM = "default";
/** The default of {@link MigrateOptions.window}: publishes awaiting their acknowledgement. */
export const DEFAULT_MIGRATE_WINDOW = 256;
/** The default of {@link MigrateOptions.endProbeMillis}. */
export const DEFAULT_END_PROBE_MILLIS = 2_000;
/** The default of {@link MigrateOptions.idleMillis}. */
export const DEFAULT_IDLE_MILLIS = 15_000;
/** Progress is reported after this many messages, or {@link PROGRESS_INTERVAL_MILLIS}, whichever comes first. */
export const PROGRESS_EVERY_MESSAGES = 1_000;
/** Progress is reported at least this often (ms) while messages come. */
export const PROGRESS_INTERVAL_MILLIS = 1_000;
/** How many refused and failed messages the summary lists one by one (all are counted). */
export const MAX_LISTED = 10;
/**
 * Messages the STAN server sends ahead of their acks, per publish in the window: a message is acked
 * once its publish settled, so fewer would make the reader wait on the window's acks in lockstep.
 */
const STAN_IN_FLIGHT_PER_WINDOW_SLOT = 4;
/**
 * How far before `from.time` the subscription starts; messages received before `from.time` are then
 * skipped by their timestamp. The server takes a time start as a delta from its own clock when it
 * handles the subscription (stan.go `StartTimeDelta`), which a raft cluster does a moment later:
 * started exactly at the time, the first messages after it are missed.
 */
const TIME_START_MARGIN_MILLIS = 60_000;
/** Acks are sent once the message's publish settled, which may take the publisher's whole retry window. */
const STAN_ACK_WAIT_SECONDS = 300;

/** Where in the channel the copy starts. */
export type MigrateFrom = { readonly sequence: number } | { readonly time: Date };

/** Options of {@link migrateStanToJetStream}. */
export interface MigrateOptions {
  /** The NATS Streaming side: a NATS connection (the caller's: it stays open), the cluster ID and the channel. */
  readonly stan: {
    readonly nc: NatsConnection;
    readonly clusterId: string;
    /** Argo's channel of a namespace is `eventbus-<namespace>` (`argoStanChannel`). */
    readonly channel: string;
    /** @default `eventbus-migrate-<random>` */
    readonly clientId?: string;
  };
  /** The JetStream bus, with its stream `default`. */
  readonly jetstream: EventBusClient;
  /** @default the channel's first message */
  readonly from?: MigrateFrom;
  /** Publishes awaiting their acknowledgement, at most. 1 keeps the stream's order even across retries. @default 256 */
  readonly window?: number;
  /** How long the end probe waits for the channel's last message before it takes the channel as empty. @default 2000 (ms) */
  readonly endProbeMillis?: number;
  /** A read that brings nothing for this long ends the run early (the channel lost messages to its limits meanwhile). @default 15000 (ms) */
  readonly idleMillis?: number;
  /** Called every {@link PROGRESS_EVERY_MESSAGES} messages or {@link PROGRESS_INTERVAL_MILLIS}, and once at the end. */
  readonly onProgress?: (progress: MigrateProgress) => void;
  /** Aborting stops reading; the publishes in flight settle and the summary says where it stopped. */
  readonly signal?: AbortSignal;
}

/** The counts so far. */
export interface MigrateCounts {
  /** Messages read from the channel (each once). */
  readonly read: number;
  /** Events the stream stored. */
  readonly copied: number;
  /** Events the stream already held (a duplicate of the same id inside its duplicates window). */
  readonly skipped: number;
  /** Messages that are not a CloudEvent JetStream can take: nothing was published. */
  readonly refused: number;
  /** Events published and not stored. */
  readonly failed: number;
}

/** A progress report. */
export interface MigrateProgress extends MigrateCounts {
  /** The last channel sequence whose fate is known. */
  readonly sequence: number;
  /** The channel's last sequence when the run started. */
  readonly lastSequence: number;
}

/** A message that was not published, or an event that was not stored, and why. */
export interface MigrateIssue {
  readonly sequence: number;
  /** The event id, when the message was a CloudEvent. */
  readonly id?: string;
  readonly reason: string;
}

/** The outcome of a run. */
export interface MigrateSummary extends MigrateCounts {
  readonly channel: string;
  readonly stream: typeof TARGET_STREAM;
  /** The first sequence read, when any was. */
  readonly firstSequence?: number;
  /** The last sequence read, when any was. */
  readonly lastRead?: number;
  /** The channel's last sequence when the run started (0: it was empty). */
  readonly lastSequence: number;
  /** Whether every message up to {@link lastSequence} was read. */
  readonly complete: boolean;
  /** Why the run stopped before {@link lastSequence}, when it did. */
  readonly stoppedEarly?: string;
  /** Stored events whose stream sequence is below an earlier event's (a retried publish). */
  readonly outOfOrder: number;
  /**
   * The stream's duplicates window (Go duration text): a run again within it stores nothing twice;
   * a later one would store copies, so start it after {@link lastRead}.
   */
  readonly duplicatesWindow: string;
  /** The first {@link MAX_LISTED} refused messages. */
  readonly refusals: readonly MigrateIssue[];
  /** The first {@link MAX_LISTED} failed events. */
  readonly failures: readonly MigrateIssue[];
  readonly elapsedMillis: number;
  /** Messages read per second. */
  readonly eventsPerSecond: number;
}

/** A message on its way: encoded, or refused with the reason. */
type Prepared = { readonly encoded: EncodedEvent } | { readonly refused: string };

/**
 * Copies the messages of a STAN channel into the stream `default`, from the channel's first message
 * (or `from`) up to its last one at the start of the run.
 * @throws {@link BusError} before anything is read: `CLIENT_INVALID_OPTIONS` for bad options,
 *   `CLIENT_STREAM_FAILED` when the JetStream bus has no stream `default`
 * @throws {@link StanError} when the STAN server cannot be reached or the connection is lost
 */
export async function migrateStanToJetStream(options: MigrateOptions): Promise<MigrateSummary> {
  const { channel, nc, clusterId } = options.stan;
  const client = options.jetstream;
  const window = options.window ?? DEFAULT_MIGRATE_WINDOW;
  checkOptions(options, window);
  const stream = await streamInfo(client.nc, TARGET_STREAM).catch((cause: unknown) => {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BusError(ClientErrorCode.stream, `the JetStream bus ${client.target.description} has no stream ${TARGET_STREAM} to copy into: ${why}`, {
      cause,
    });
  });

  const started = Date.now();
  const clientId = options.stan.clientId ?? `eventbus-migrate-${randomBytes(6).toString("hex")}`;
  await using stan = await connectStan(nc, { clusterId, clientId });
  const last = await lastMessage(stan, channel, options.endProbeMillis ?? DEFAULT_END_PROBE_MILLIS);
  const lastSequence = last?.sequence ?? 0;

  const counts = { read: 0, copied: 0, skipped: 0, refused: 0, failed: 0 };
  const refusals: MigrateIssue[] = [];
  const failures: MigrateIssue[] = [];
  let firstSequence: number | undefined;
  let lastRead: number | undefined;
  let settledSequence = 0;
  let highestStored = 0;
  let outOfOrder = 0;
  let stoppedEarly: string | undefined;
  let lastReport = Date.now();
  let reportedAt = 0;
  const report = (force: boolean) => {
    if (options.onProgress === undefined) return;
    const done = counts.read;
    if (!force && done - reportedAt < PROGRESS_EVERY_MESSAGES && Date.now() - lastReport < PROGRESS_INTERVAL_MILLIS) return;
    reportedAt = done;
    lastReport = Date.now();
    options.onProgress({ ...counts, sequence: settledSequence, lastSequence });
  };

  const nothingToRead =
    last === undefined ||
    (options.from !== undefined && "sequence" in options.from && options.from.sequence > lastSequence) ||
    (options.from !== undefined && "time" in options.from && BigInt(options.from.time.getTime()) * 1_000_000n > last.timestampNanos);
  if (!nothingToRead && options.signal?.aborted) stoppedEarly = "interrupted before reading";
  else if (!nothingToRead) {
    const from = options.from;
    const since = from !== undefined && "time" in from ? BigInt(from.time.getTime()) * 1_000_000n : undefined;
    const startAt: StanStartAt =
      from === undefined ? "first" : "time" in from ? { time: new Date(from.time.getTime() - TIME_START_MARGIN_MILLIS) } : { sequence: from.sequence };
    const sub = await stan.subscribe(channel, {
      startAt,
      manualAcks: true,
      maxInFlight: STAN_IN_FLIGHT_PER_WINDOW_SLOT * window,
      ackWaitSeconds: STAN_ACK_WAIT_SECONDS,
    });
    // In channel order: the head settles first, so the counts and the order check follow the channel.
    const inFlight: { readonly message: StanMessage; readonly fate: Promise<PublishAck | Error> | undefined; readonly refused?: string }[] = [];
    const settleHead = async () => {
      const head = inFlight.shift()!;
      const { message } = head;
      if (head.fate === undefined) {
        counts.refused++;
        if (refusals.length < MAX_LISTED) refusals.push({ sequence: message.sequence, reason: head.refused! });
      } else {
        const fate = await head.fate;
        if (fate instanceof Error) {
          counts.failed++;
          if (failures.length < MAX_LISTED) failures.push({ sequence: message.sequence, reason: fate.message });
        } else if (fate.duplicate) {
          counts.skipped++;
        } else {
          counts.copied++;
          if (fate.seq < highestStored) outOfOrder++;
          else highestStored = fate.seq;
        }
      }
      settledSequence = message.sequence;
      ackQuietly(message);
      report(false);
    };
    const onAbort = () => void sub.unsubscribe().catch(() => undefined);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        const next = await nextWithin(sub, options.idleMillis ?? DEFAULT_IDLE_MILLIS);
        if (next === "idle") {
          stoppedEarly = `nothing came for ${Math.round((options.idleMillis ?? DEFAULT_IDLE_MILLIS) / 1000)} s after sequence ${lastRead ?? "(none)"}, before the last sequence ${lastSequence}: the channel lost messages to its limits meanwhile?`;
          break;
        }
        if (next.done) {
          if (options.signal?.aborted) stoppedEarly = `interrupted after sequence ${lastRead ?? "(none)"}`;
          else stoppedEarly = `the subscription ended after sequence ${lastRead ?? "(none)"}`;
          break;
        }
        const message = next.value;
        // A delivery again (after the ack wait) of a message already handled.
        if (lastRead !== undefined && message.sequence <= lastRead) continue;
        if (since !== undefined && message.timestampNanos < since) {
          ackQuietly(message);
          continue;
        }
        if (message.sequence > lastSequence) {
          stoppedEarly = `the channel's last sequence ${lastSequence} went (to the channel's limits) before it was read`;
          break;
        }
        firstSequence ??= message.sequence;
        lastRead = message.sequence;
        counts.read++;
        const prepared = prepare(client, channel, message.data);
        inFlight.push(
          "encoded" in prepared
            ? { message, fate: publishEncoded(client, prepared.encoded, {}, highestStored).catch((error: unknown) => asError(error)) }
            : { message, fate: undefined, refused: prepared.refused },
        );
        while (inFlight.length >= window || (inFlight.length > 0 && inFlight[0]!.fate === undefined)) await settleHead();
        if (message.sequence >= lastSequence) break;
      }
      while (inFlight.length > 0) await settleHead();
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      // Drain whatever is left even when the loop threw, so no publish outlives the run.
      await Promise.allSettled(inFlight.map((f) => f.fate));
      if (sub.isOpen) await sub.unsubscribe().catch(() => undefined);
    }
  }
  report(true);
  const elapsedMillis = Date.now() - started;
  const complete = stoppedEarly === undefined && (nothingToRead || lastRead === lastSequence);
  return {
    channel,
    stream: TARGET_STREAM,
    ...counts,
    ...(firstSequence !== undefined && { firstSequence }),
    ...(lastRead !== undefined && { lastRead }),
    lastSequence,
    complete,
    ...(stoppedEarly !== undefined && { stoppedEarly }),
    outOfOrder,
    duplicatesWindow: stream.config.duplicates,
    refusals,
    failures,
    elapsedMillis,
    eventsPerSecond: Math.round(counts.read / Math.max(elapsedMillis / 1000, 0.001)),
  };
}

/** Reads a message as Argo's CloudEvent and encodes it for JetStream with its body unchanged, or says why it cannot be. */
export function prepare(client: Pick<EventBusClient, "maxPayload">, channel: string, body: Uint8Array): Prepared {
  let subject: string;
  let id: string;
  try {
    // The channel is no `default.<source>.<event>` subject, so no subject is checked against the event.
    const event = decodeEvent(channel, undefined, body);
    subject = eventSubject(event.source, event.subject);
    id = event.id;
  } catch (error) {
    return { refused: asError(error).message };
  }
  // As nats.js counts it: the body and the header block "NATS/1.0\r\nNats-Msg-Id: <id>\r\n\r\n".
  const size = body.byteLength + 12 + MSG_ID_HEADER.length + 2 + Buffer.byteLength(id) + 2;
  if (size > client.maxPayload) return { refused: `${size} bytes with its header, over the JetStream bus's max_payload of ${client.maxPayload}` };
  return { encoded: { id, subject, headers: { [MSG_ID_HEADER]: id }, body } };
}

/**
 * The channel's last message, or undefined when it has none: a subscription that starts at the last
 * received message gets it at once. It is unsubscribed straight away.
 */
async function lastMessage(stan: StanConnection, channel: string, waitMillis: number): Promise<StanMessage | undefined> {
  const probe: StanSubscription = await stan.subscribe(channel, { startAt: "last-received", manualAcks: true, maxInFlight: 1 });
  try {
    const next = await nextWithin(probe, waitMillis);
    return next === "idle" || next.done ? undefined : next.value;
  } finally {
    await probe.unsubscribe().catch(() => undefined);
  }
}

/** The subscription's next message, or "idle" when none came within `millis`. */
async function nextWithin(sub: StanSubscription, millis: number): Promise<IteratorResult<StanMessage> | "idle"> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<"idle">((resolve) => {
    timer = setTimeout(() => resolve("idle"), millis);
  });
  try {
    return await Promise.race([sub.next(), idle]);
  } finally {
    clearTimeout(timer);
  }
}

function checkOptions(options: MigrateOptions, window: number): void {
  const issues: string[] = [];
  if (!isValidChannel(options.stan.channel)) issues.push(`stan.channel: not a valid NATS Streaming channel name, got ${JSON.stringify(options.stan.channel)}`);
  if (!Number.isInteger(window) || window < 1) issues.push(`window: must be a whole number >= 1, got ${window}`);
  const from = options.from;
  if (from !== undefined && "sequence" in from && (!Number.isSafeInteger(from.sequence) || from.sequence < 1))
    issues.push(`from.sequence: must be a whole number >= 1, got ${from.sequence}`);
  if (from !== undefined && "time" in from && !(from.time instanceof Date && Number.isFinite(from.time.getTime())))
    issues.push(`from.time: must be a valid Date, got ${String(from.time)}`);
  for (const [name, value] of [
    ["endProbeMillis", options.endProbeMillis],
    ["idleMillis", options.idleMillis],
  ] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) issues.push(`${name}: must be a number of milliseconds > 0, got ${value}`);
  }
  if (issues.length > 0) throw new BusError(ClientErrorCode.invalidOptions, `migrate: ${issues.join("; ")}`);
}

function ackQuietly(message: StanMessage): void {
  try {
    message.ack();
  } catch {
    // The subscription ended: nothing is kept on the server for it, so the ack no longer matters.
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
