/**
 * Publishing events in Argo Events' wire format and waiting for the stream's acknowledgement.
 * Every event ends in exactly one fate: stored (a sequence), a duplicate of a stored event (the
 * stored copy's sequence), or a {@link PublishFailedError} with its reason. An attempt that times
 * out or finds no stream leader (a server restarting, a leader election) is sent again with the
 * same `Nats-Msg-Id` until the retry window ends, so the stream stores the event once; a limit of
 * the stream or of the store is not retried. The retry window must stay inside the stream's
 * duplicates window (the production lint checks it).
 */
import type { PubAck } from "@nats-io/jetstream";
import { errors as natsErrors } from "@nats-io/transport-node";

import type { AckAnswer } from "./ack-router.js";

import { defaults } from "../api/index.js";
import { backoffDelay, sleep, type BackoffPolicy } from "./backoff.js";
import type { EventBusClient } from "./connection.js";
import { BusError, ClientErrorCode, PayloadTooLargeError } from "./errors.js";
import { classifyPublishError, PublishFailedError, PublishFailureReason, type PublishVerdict } from "./publish-errors.js";
import { diagnoseNoResponders, findStoredEvent, rememberStoreExhausted } from "./stream-lookup.js";
import { encodeEvent, MSG_ID_HEADER, type EncodedEvent, type EncodeOptions, type EventInput } from "./wire.js";

/** The stream's acknowledgement of one event. */
export interface PublishAck {
  /** The event id (its `Nats-Msg-Id`). */
  readonly id: string;
  /** `default.<source>.<event>`. */
  readonly subject: string;
  readonly stream: string;
  /** The stream sequence of the stored event (of the first copy, for a duplicate). */
  readonly seq: number;
  /** The stream already held an event with this id inside its duplicates window; nothing was stored. */
  readonly duplicate: boolean;
  /** How many times the event was sent: more than 1 after a timeout or a leader change. */
  readonly attempts: number;
}

/** Options of a publish. */
export interface PublishOptions extends EncodeOptions {
  /** How long one attempt waits for the acknowledgement. @default 5000 (ms) */
  readonly ackTimeoutMillis?: number;
  /** How long an event is retried in all. @default 120000 (ms), inside Argo's 300 s duplicates window */
  readonly retryWindowMillis?: number;
  /**
   * How long the stream's leader may answer that the event's id is "in process" (staged, not
   * stored) before the stream is searched for the event. @default 5000 (ms)
   */
  readonly inProcessSettleMillis?: number;
  /** Called before each retry with what is waited for, so that a wait is never silent. */
  readonly onWait?: (wait: PublishWait) => void;
}

/** A publish that is waited for: why, and for how long it may still be retried. */
export interface PublishWait {
  readonly id: string;
  readonly subject: string;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** What is waited for, for a person: no stream leader, a timeout, the id in process, … */
  readonly reason: string;
  readonly retryInMillis: number;
  /** How long the event may still be retried. */
  readonly remainingMillis: number;
}

/** The fate of one event of {@link EventPublisher.publishSettled}. */
export type PublishResult =
  | { readonly ok: true; readonly ack: PublishAck }
  | { readonly ok: false; readonly id: string; readonly subject: string; readonly error: Error };

/** Options of {@link EventPublisher}. */
export interface PublisherOptions extends PublishOptions {
  /** Events sent and not yet acknowledged, at most. @default 256 */
  readonly window?: number;
}

/** The default of {@link PublisherOptions.window}. */
export const DEFAULT_PUBLISH_WINDOW = 256;
/** The default of {@link PublishOptions.ackTimeoutMillis}. */
export const DEFAULT_ACK_TIMEOUT_MILLIS = 5_000;
/** The default of {@link PublishOptions.inProcessSettleMillis}. */
export const DEFAULT_IN_PROCESS_SETTLE_MILLIS = 5_000;
/**
 * Retries of one event: 50 ms doubling to 500 ms. The wait that matters is a stream leader's
 * election after its server dies (nats-server's raft election timeout, 4–9 s): a retry at most
 * about half a second apart finds the new leader within that of its election (a 2 s cap cost up
 * to 2.5 s more in `bench:flow`). nats.go's `PublishAsync` retries "no responders" every 250 ms.
 */
const RETRY_BACKOFF: BackoffPolicy = { initialMillis: 50, maxMillis: 500, jitter: 0.25 };

/**
 * Publishes one event and waits for the stream's acknowledgement.
 * @throws {@link InvalidSubjectTokenError} / {@link InvalidEventError} for an event that cannot be encoded
 * @throws {@link PayloadTooLargeError} for an event over the bus's `max_payload`
 * @throws {@link PublishFailedError} (a {@link BusError} `CLIENT_PUBLISH_FAILED`) when the event was not stored, with its reason
 */
export async function publishEvent(client: EventBusClient, event: EventInput, options: PublishOptions = {}): Promise<PublishAck> {
  return publishEncoded(client, encodeChecked(client, event, options), options);
}

/** Encodes an event and checks it fits the bus's `max_payload`. */
export function encodeChecked(client: EventBusClient, event: EventInput, options: EncodeOptions = {}): EncodedEvent {
  const encoded = encodeEvent(event, options);
  // nats.js counts the body and the header block: "NATS/1.0\r\n" + "Nats-Msg-Id: <id>\r\n" + "\r\n".
  const size = encoded.body.byteLength + 12 + MSG_ID_HEADER.length + 2 + Buffer.byteLength(encoded.id) + 2;
  if (size > client.maxPayload) throw new PayloadTooLargeError(size, client.maxPayload);
  return encoded;
}

/**
 * Sends an encoded event, retrying with the same id while the answer may change, until it is stored,
 * found to be a duplicate of a stored event, or refused.
 * @param floorSeq - a stream sequence stored before this event was first sent: a stored copy of it
 *   can only be above it (the search for an event whose id the leader holds "in process" starts there)
 */
export function publishEncoded(client: EventBusClient, encoded: EncodedEvent, options: PublishOptions = {}, floorSeq = 0): Promise<PublishAck> {
  return new Promise((resolve, reject) =>
    sendEncoded(client, encoded, options, floorSeq, (result) => (result.ok ? resolve(result.ack) : reject(result.error))),
  );
}

/**
 * {@link publishEncoded} with a callback: `done` is called once with the event's fate. The first
 * attempt makes no promise: most events are acknowledged at once, and only the others take the
 * slow path ({@link settle}).
 */
function sendEncoded(client: EventBusClient, encoded: EncodedEvent, options: PublishOptions, floorSeq: number, done: (result: PublishResult) => void): void {
  const started = Date.now();
  const slow = (answer: AckAnswer) =>
    settle(client, encoded, options, started, floorSeq, answer).then(
      (ack) => done({ ok: true, ack }),
      (error: unknown) => done({ ok: false, id: encoded.id, subject: encoded.subject, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  // The router subscribes at the first publish, which a closed connection refuses.
  if (client.nc.isClosed()) {
    void slow({ error: new natsErrors.ClosedConnectionError() });
    return;
  }
  sendAttempt(client, encoded, options, (answer) => {
    if (answer.ack !== undefined && provesStorage(answer.ack)) done({ ok: true, ack: toAck(client, encoded, answer.ack, 1) });
    else void slow(answer);
  });
}

/** Sends one attempt through the connection's acknowledgement router; `answered` gets its answer, once. */
function sendAttempt(client: EventBusClient, encoded: EncodedEvent, options: PublishOptions, answered: (answer: AckAnswer) => void): void {
  client.acks.publish(encoded.subject, encoded.body, encoded.id, options.ackTimeoutMillis ?? DEFAULT_ACK_TIMEOUT_MILLIS, answered);
}

/** A duplicate is proof of storage only with the stored copy's sequence. */
function provesStorage(ack: PubAck): boolean {
  return !(ack.duplicate && ack.seq === 0);
}

/**
 * The slow path after an attempt that did not store the event: classifies each answer, retries
 * with backoff while it may change, says on `onWait` what it waits for, and ends in exactly one fate.
 */
async function settle(
  client: EventBusClient,
  encoded: EncodedEvent,
  options: PublishOptions,
  started: number,
  floorSeq: number,
  first: AckAnswer,
): Promise<PublishAck> {
  const windowMillis = options.retryWindowMillis ?? defaults.PUBLISHER_RETRY_WINDOW.millis;
  const deadline = started + windowMillis;
  const settleMillis = Math.min(options.inProcessSettleMillis ?? DEFAULT_IN_PROCESS_SETTLE_MILLIS, windowMillis);
  const fail = (reason: PublishFailureReason, detail: string, attempts: number, cause?: unknown, serverCode?: number) =>
    new PublishFailedError(encoded.id, encoded.subject, reason, detail, attempts, { cause, ...(serverCode !== undefined && { serverCode }) });
  let answer = first;
  let inProcessSince: number | undefined;
  for (let attempt = 1; ; attempt++) {
    let verdict: PublishVerdict;
    if (answer.ack !== undefined) {
      if (provesStorage(answer.ack)) return toAck(client, encoded, answer.ack, attempt);
      verdict = { kind: "in-process" };
    } else {
      if (client.nc.isClosed())
        throw fail(
          PublishFailureReason.closed,
          `the connection to ${client.target.description} is closed${client.error ? `: ${client.error.message}` : ""}`,
          attempt,
          answer.error,
        );
      verdict = classifyPublishError(answer.error);
    }
    if (verdict.kind === "refused") {
      if (verdict.reason === PublishFailureReason.storeExhausted) rememberStoreExhausted(client, verdict.why, verdict.serverCode);
      throw fail(verdict.reason, verdict.why, attempt, answer.error, verdict.serverCode);
    }
    const wait = backoffDelay(RETRY_BACKOFF, attempt - 1);
    let why: string;
    if (verdict.kind === "in-process") {
      inProcessSince ??= Date.now();
      if (Date.now() - inProcessSince >= settleMillis || Date.now() + wait > deadline) {
        // The leader staged the id and never stored it, or stored it and lost the answer: the
        // stream itself says which.
        const found = await findStoredEvent(client, encoded, floorSeq).catch((error: unknown) => {
          throw fail(
            PublishFailureReason.unacknowledged,
            `the stream's leader holds its id as in process, and the stream could not be searched for it: ${error instanceof Error ? error.message : String(error)}`,
            attempt,
            error,
          );
        });
        if (found) return { id: encoded.id, subject: encoded.subject, stream: found.stream, seq: found.seq, duplicate: true, attempts: attempt };
        throw fail(
          PublishFailureReason.notStored,
          `the stream's leader holds its id as in process but the event is not in the stream (an earlier attempt was refused or lost on the server); the stream refuses this id until its duplicates window ends, so publish it again later or under a new id`,
          attempt,
        );
      }
      why = "the stream's leader holds its id as in process (staged, not stored yet)";
    } else {
      inProcessSince = undefined;
      why = verdict.why;
      if (verdict.noResponders) {
        const diagnosis = await diagnoseNoResponders(client, encoded.subject);
        if (diagnosis.refused) throw fail(diagnosis.refused.reason, diagnosis.refused.why, attempt, answer.error, diagnosis.refused.serverCode);
        why = diagnosis.why;
      }
      if (Date.now() + wait > deadline) {
        const reason = verdict.noResponders ? PublishFailureReason.noStream : PublishFailureReason.unacknowledged;
        throw fail(reason, `${why}; not acknowledged within ${Math.round(windowMillis / 1000)}s (${attempt} attempts)`, attempt, answer.error);
      }
    }
    options.onWait?.({
      id: encoded.id,
      subject: encoded.subject,
      attempt,
      reason: why,
      retryInMillis: wait,
      remainingMillis: Math.max(0, deadline - Date.now()),
    });
    await sleep(wait);
    answer = await new Promise<AckAnswer>((resolve) => sendAttempt(client, encoded, options, resolve));
  }
}

function toAck(client: EventBusClient, encoded: EncodedEvent, ack: PubAck, attempts: number): PublishAck {
  client.noteStreamStored();
  return { id: encoded.id, subject: encoded.subject, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, attempts };
}

/**
 * Publishes many events with at most `window` of them waiting for their acknowledgement, each with
 * its own acknowledgement. Use {@link publish} and keep the promises, or {@link publishAll} to get the
 * acknowledgements in order with back-pressure.
 */
export class EventPublisher {
  /** Events at most in flight. */
  readonly window: number;
  private inFlight = 0;
  /** Events waiting for a slot, in order. */
  private readonly waiting: { readonly encoded: EncodedEvent; readonly done: (result: PublishResult) => void }[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly readyWaiters: (() => void)[] = [];

  constructor(
    private readonly client: EventBusClient,
    private readonly options: PublisherOptions = {},
  ) {
    const window = options.window ?? DEFAULT_PUBLISH_WINDOW;
    if (!Number.isInteger(window) || window < 1) throw new BusError(ClientErrorCode.invalidOptions, `window: must be a whole number >= 1, got ${window}`);
    this.window = window;
  }

  /** Events sent and not yet acknowledged. */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * Publishes an event once a slot of the window is free. The event is encoded and checked at once
   * (bad input rejects before anything is sent); the promise settles with its acknowledgement.
   */
  publish(event: EventInput): Promise<PublishAck> {
    let encoded: EncodedEvent;
    try {
      encoded = encodeChecked(this.client, event, this.options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.publishEncodedEvent(encoded);
  }

  private publishEncodedEvent(encoded: EncodedEvent): Promise<PublishAck> {
    return new Promise((resolve, reject) => this.dispatch(encoded, (result) => (result.ok ? resolve(result.ack) : reject(result.error))));
  }

  /**
   * Sends an event now when a slot of the window is free, else queues it for the next free slot;
   * `done` gets its fate. The slot is taken synchronously, so many calls in one tick cannot overrun
   * the window.
   */
  private dispatch(encoded: EncodedEvent, done: (result: PublishResult) => void): void {
    if (this.roomy()) {
      this.inFlight++;
      this.send(encoded, done);
    } else this.waiting.push({ encoded, done });
  }

  /** Sends an event that holds a slot; the slot is released (or handed on) when it settles. */
  private send(encoded: EncodedEvent, done: (result: PublishResult) => void): void {
    sendEncoded(this.client, encoded, this.options, this.highestSeq, (result) => {
      if (result.ok && result.ack.seq > this.highestSeq) this.highestSeq = result.ack.seq;
      this.release();
      done(result);
    });
  }

  /** The highest stream sequence acknowledged so far: a later event can only be stored above it. */
  private highestSeq = 0;

  /**
   * Publishes every event, yielding the acknowledgements in order; reading slowly slows publishing.
   * Throws the first event's failure (see {@link publishSettled} to go on past failures).
   */
  publishAll(events: Iterable<EventInput> | AsyncIterable<EventInput>): AsyncGenerator<PublishAck> {
    return this.inOrder(events, (result) => {
      if (!result.ok) throw result.error;
      return result.ack;
    });
  }

  /**
   * Publishes every event, yielding each one's fate in order: its acknowledgement, or the error
   * that says why it was not stored. An event that cannot be encoded throws (bad input).
   */
  publishSettled(events: Iterable<EventInput> | AsyncIterable<EventInput>): AsyncGenerator<PublishResult> {
    return this.inOrder(events, (result) => result);
  }

  /**
   * Publishes every event and yields `take` of each one's fate, in order (one generator for both
   * {@link publishAll} and {@link publishSettled}: a generator wrapping another cost a promise and
   * microtasks per event). A throw from `take` ends it after the events sent have settled.
   */
  private async *inOrder<T>(events: Iterable<EventInput> | AsyncIterable<EventInput>, take: (result: PublishResult) => T): AsyncGenerator<T> {
    // The fates by the event's place in the sequence; the generator yields them in order and makes
    // a promise only when the next one has not come yet.
    const results = new Map<number, PublishResult>();
    let sent = 0;
    let head = 0;
    let wake: (() => void) | undefined;
    // Up to a second window of events waits for slots: a slot is handed over in the acknowledgement's
    // callback, so acknowledgements read together send their successors together (one socket write).
    const depth = 2 * this.window;
    const push = (event: EventInput) => {
      const encoded = encodeChecked(this.client, event, this.options);
      const place = sent++;
      this.dispatch(encoded, (result) => {
        results.set(place, result);
        if (place === head && wake !== undefined) {
          const resume = wake;
          wake = undefined;
          resume();
        }
      });
    };
    /** The next fate in order if it has come, without a promise. */
    const ready = (): PublishResult | undefined => {
      const result = results.get(head);
      if (result !== undefined) results.delete(head++);
      return result;
    };
    const next = async (): Promise<PublishResult> => {
      let result = ready();
      while (result === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        result = ready();
      }
      return result;
    };
    try {
      if (Symbol.iterator in events) {
        // A plain iterable is read without an await per event.
        for (const event of events) {
          push(event);
          if (sent - head >= depth) yield take(ready() ?? (await next()));
        }
      } else {
        for await (const event of events) {
          push(event);
          if (sent - head >= depth) yield take(ready() ?? (await next()));
        }
      }
      while (head < sent) yield take(ready() ?? (await next()));
    } finally {
      // An early return (the reader stopped): the events sent still settle before it returns.
      while (head < sent) await next();
    }
  }

  /** Resolves when a slot of the window is free: await it before each {@link publish} to publish without queueing. */
  ready(): Promise<void> {
    if (this.roomy()) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Resolves when every event sent so far is acknowledged (or failed). */
  flush(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiting event.
    if (next) return this.send(next.encoded, next.done);
    this.inFlight--;
    if (this.roomy()) for (const resolve of this.readyWaiters.splice(0)) resolve();
    if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Whether a publish now is sent at once (a slot is free): check it before awaiting {@link ready}. */
  get hasRoom(): boolean {
    return this.roomy();
  }

  private roomy(): boolean {
    return this.inFlight < this.window && this.waiting.length === 0;
  }
}
