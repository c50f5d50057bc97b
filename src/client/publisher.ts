/**
 * Publishing events in Argo Events' wire format and waiting for the stream's acknowledgement.
 * A publish that times out or finds no stream leader (a server restarting, a leader election) is
 * sent again with the same `Nats-Msg-Id` until the retry window ends, so the stream stores the
 * event once. The retry window must stay inside the stream's duplicates window (the production lint
 * checks it).
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { errors as natsErrors, RequestError } from "@nats-io/transport-node";

import { defaults } from "../api/index.js";
import { backoffDelay, sleep, type BackoffPolicy } from "./backoff.js";
import type { EventBusClient } from "./connection.js";
import { BusError, ClientErrorCode, PayloadTooLargeError } from "./errors.js";
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
}

/** Options of {@link EventPublisher}. */
export interface PublisherOptions extends PublishOptions {
  /** Events sent and not yet acknowledged, at most. @default 256 */
  readonly window?: number;
}

/** The default of {@link PublisherOptions.window}. */
export const DEFAULT_PUBLISH_WINDOW = 256;
/** The default of {@link PublishOptions.ackTimeoutMillis}. */
export const DEFAULT_ACK_TIMEOUT_MILLIS = 5_000;
const RETRY_BACKOFF: BackoffPolicy = { initialMillis: 50, maxMillis: 2_000, jitter: 0.25 };

/**
 * Publishes one event and waits for the stream's acknowledgement.
 * @throws {@link InvalidSubjectTokenError} / {@link InvalidEventError} for an event that cannot be encoded
 * @throws {@link PayloadTooLargeError} for an event over the bus's `max_payload`
 * @throws {@link BusError} `CLIENT_PUBLISH_FAILED` when no acknowledgement came within the retry window
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

/** Sends an encoded event, retrying with the same id until acknowledged or the retry window ends. */
export function publishEncoded(client: EventBusClient, encoded: EncodedEvent, options: PublishOptions = {}): Promise<PublishAck> {
  // The first attempt without an async frame: most events are acknowledged at once.
  if (client.nc.isClosed()) return retryPublish(client, encoded, options, 1, Date.now());
  const started = Date.now();
  const timeout = options.ackTimeoutMillis ?? DEFAULT_ACK_TIMEOUT_MILLIS;
  return client.js.publish(encoded.subject, encoded.body, { msgID: encoded.id, timeout }).then(
    (ack) => ({ id: encoded.id, subject: encoded.subject, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, attempts: 1 }),
    (err: unknown) => retryPublish(client, encoded, options, 1, started, err),
  );
}

async function retryPublish(client: EventBusClient, encoded: EncodedEvent, options: PublishOptions, firstAttempt: number, started: number, firstError?: unknown): Promise<PublishAck> {
  const timeout = options.ackTimeoutMillis ?? DEFAULT_ACK_TIMEOUT_MILLIS;
  const windowMillis = options.retryWindowMillis ?? defaults.PUBLISHER_RETRY_WINDOW.millis;
  const deadline = started + windowMillis;
  let pending = firstError;
  for (let attempt = firstAttempt; ; attempt++) {
    try {
      if (pending === undefined) {
        client.assertOpen();
        const ack = await client.js.publish(encoded.subject, encoded.body, { msgID: encoded.id, timeout });
        return { id: encoded.id, subject: encoded.subject, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, attempts: attempt };
      }
      throw pending;
    } catch (err) {
      pending = undefined;
      if (client.nc.isClosed()) client.assertOpen();
      const retriable = isRetriable(err);
      const wait = backoffDelay(RETRY_BACKOFF, attempt - 1);
      if (!retriable || Date.now() + wait > deadline) {
        const why = describePublishError(err);
        const when = retriable ? ` within ${Math.round(windowMillis / 1000)}s (${attempt} attempts)` : "";
        throw new BusError(ClientErrorCode.publishFailed, `event ${encoded.id} on ${encoded.subject}: not acknowledged by the stream${when}: ${why}`, { cause: err });
      }
      await sleep(wait);
    }
  }
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
  private readonly slotWaiters: (() => void)[] = [];
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
    // The slot is taken synchronously, so many calls in one tick cannot overrun the window.
    if (this.roomy()) {
      this.inFlight++;
      return this.send(encoded);
    }
    return new Promise<void>((resolve) => this.slotWaiters.push(resolve)).then(() => this.send(encoded));
  }

  /** Sends an event that holds a slot; the slot is released (or handed on) when it settles. */
  private send(encoded: EncodedEvent): Promise<PublishAck> {
    const ack = publishEncoded(this.client, encoded, this.options);
    ack.then(this.releaser, this.releaser);
    return ack;
  }

  private readonly releaser = () => this.release();

  /** Publishes every event, yielding the acknowledgements in order; reading slowly slows publishing. */
  async *publishAll(events: Iterable<EventInput> | AsyncIterable<EventInput>): AsyncGenerator<PublishAck> {
    const queue: Promise<PublishAck>[] = [];
    // Up to a second window of events waits for slots: a slot is handed over in the acknowledgement's
    // callback, so acknowledgements read together send their successors together (one socket write).
    const depth = 2 * this.window;
    const push = (event: EventInput) => {
      const ack = this.publish(event);
      // Rejections are read in order below; this only stops an unhandled rejection meanwhile.
      ack.catch(() => undefined);
      queue.push(ack);
    };
    try {
      if (Symbol.iterator in events) {
        // A plain iterable is read without an await per event.
        for (const event of events) {
          push(event);
          if (queue.length >= depth) yield await queue.shift()!;
        }
      } else {
        for await (const event of events) {
          push(event);
          if (queue.length >= depth) yield await queue.shift()!;
        }
      }
      while (queue.length > 0) yield await queue.shift()!;
    } finally {
      await Promise.allSettled(queue);
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
    const next = this.slotWaiters.shift();
    // The slot passes straight to the next waiting event.
    if (next) return next();
    this.inFlight--;
    if (this.roomy()) for (const resolve of this.readyWaiters.splice(0)) resolve();
    if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Whether a publish now is sent at once (a slot is free): check it before awaiting {@link ready}. */
  get hasRoom(): boolean {
    return this.roomy();
  }

  private roomy(): boolean {
    return this.inFlight < this.window && this.slotWaiters.length === 0;
  }
}

/** Whether a failed publish may be sent again: no acknowledgement (timeout), or no stream leader yet. */
function isRetriable(err: unknown): boolean {
  if (err instanceof natsErrors.TimeoutError || err instanceof natsErrors.NoRespondersError) return true;
  if (isNoResponders(err)) return true;
  if (err instanceof natsErrors.ConnectionError || err instanceof natsErrors.DrainingConnectionError) return false;
  if (err instanceof JetStreamApiError) return err.status === 503 || /leader|unavailable|not ready/i.test(err.message);
  return false;
}

function describePublishError(err: unknown): string {
  if (isNoResponders(err)) {
    return "no stream takes this subject, or the stream has no leader (is the stream default created, and JetStream running?)";
  }
  if (err instanceof natsErrors.TimeoutError) return "timed out waiting for the acknowledgement";
  return err instanceof Error ? err.message : String(err);
}

/** No server answered the publish: nats.js reports it as a RequestError, or wraps that as "jetstream is not enabled". */
function isNoResponders(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof RequestError && e.isNoResponders()) return true;
    if (e instanceof natsErrors.NoRespondersError) return true;
  }
  return false;
}
