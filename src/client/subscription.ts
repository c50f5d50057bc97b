/**
 * Consuming events as Argo Events sensors do: a durable pull consumer on the stream `default`,
 * filtered to `default.<eventSourceName>.<eventName>`, explicit ack, delivering new events by
 * default. A sensor's consumer is found by its Argo name (see {@link durableName}), so an eventbus
 * subscriber can share it, or a new one can start where a sensor would.
 */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type Consumer,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type JsMsg,
} from "@nats-io/jetstream";

import type { AckRouter } from "./ack-router.js";
import type { EventBusClient } from "./connection.js";
import { durableName, isArgoDurableName, type DurableNameParts } from "./consumer-names.js";
import { BusError, ClientErrorCode, InvalidEventError } from "./errors.js";
import { ARGO_STREAM_NAME, decodeEvent, eventSubject, type ArgoEvent } from "./wire.js";

/** Where a new consumer starts. An existing durable consumer continues where it was. */
export type StartPosition = "new" | "start" | number | Date;

/** Options of {@link subscribe}. */
export interface SubscribeOptions {
  /** The event source name (the subject's second token). */
  readonly source: string;
  /** The event name (the subject's third token). */
  readonly event: string;
  /** A durable consumer's name. */
  readonly durable?: string;
  /** A sensor's dependency: the durable consumer Argo Events names `group-<fnv32a>`. */
  readonly dependency?: DurableNameParts;
  /**
   * Where a new consumer starts: `new` events only (Argo's choice), the `start` of the stream, a
   * stream sequence, or a time. @default "new"
   */
  readonly from?: StartPosition;
  /** How long the server waits for an ack before delivering again, for a new consumer. @default 30000 (ms), as Argo's */
  readonly ackWaitMillis?: number;
  /**
   * Events pulled per request. An event's ack wait runs from its delivery, so a subscriber that
   * takes long over each event should pull fewer than the ack wait lets it handle (with 500 and
   * 100 ms an event, the last of a pull would wait 50 s: past the default 30 s, it comes again).
   * @default 500, nats.go's `Consume` default (jetstream/pull.go `DefaultMaxMessages`); with
   * nats.js's 100 the client waited on its pulls (0.7x a raw `consume()`; with 500, 1.1x)
   */
  readonly batch?: number;
  /**
   * Receive at most this many events, then end the iteration. Only that many are pulled from the
   * server, so none is left delivered and unacknowledged (which would hold it until the ack wait).
   */
  readonly max?: number;
  /**
   * Called for a message that is not an Argo Events CloudEvent. Such a message is terminated (never
   * delivered again), as Argo's sensors discard it. @default ignored
   */
  readonly onInvalid?: (error: InvalidEventError, message: { readonly subject: string; readonly seq: number }) => void;
}

/** An event received from the bus, to be acknowledged. */
export interface ReceivedEvent {
  readonly event: ArgoEvent;
  /** The message subject, `default.<source>.<event>`. */
  readonly subject: string;
  /** The stream sequence. */
  readonly seq: number;
  /** How many times the event has been delivered (1 the first time). */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** When the stream stored the event. */
  readonly storedAt: Date;
  /** Events left for this consumer after this one. */
  readonly pending: number;
  /**
   * Acknowledges the event and, unless `confirm` is false, waits for the server to confirm it (as
   * Argo's sensors do with AckSync). Unconfirmed acks are about twice as fast; a lost one means the
   * event comes again after the ack wait.
   */
  ack(options?: { readonly confirm?: boolean }): Promise<void>;
  /** Asks for redelivery, after `delayMillis` when given. */
  nak(delayMillis?: number): void;
  /** Says the event is still being worked on: restarts its ack timer. */
  working(): void;
  /** Stops redelivery of the event without processing it. */
  term(reason?: string): void;
}

/** The default of {@link SubscribeOptions.batch}. */
export const DEFAULT_BATCH = 500;

/** The default of {@link SubscribeOptions.ackWaitMillis}, nats.go's default that Argo's sensors get. */
export const DEFAULT_ACK_WAIT_MILLIS = 30_000;
const NANOS_PER_MILLI = 1_000_000;
/** JetStream's "consumer already exists" (10148) and "consumer name already in use" (10013) errors. */
const CONSUMER_EXISTS_CODES = new Set([10148, 10013]);
/** An ephemeral consumer is removed by the server this long after its subscriber goes away. */
const EPHEMERAL_INACTIVE_MILLIS = 60_000;

/**
 * Subscribes to one event of one event source. Iterate the result to receive events.
 * @throws {@link InvalidSubjectTokenError} for a source or event name that is not one subject token
 * @throws {@link BusError} `CLIENT_CONSUMER_FAILED` when the consumer cannot be created or used
 */
export async function subscribe(client: EventBusClient, options: SubscribeOptions): Promise<EventSubscription> {
  const subject = eventSubject(options.source, options.event);
  if (options.durable !== undefined && options.dependency !== undefined) {
    throw new BusError(ClientErrorCode.invalidOptions, "subscribe: give a durable name or a sensor dependency, not both");
  }
  const durable = options.durable ?? (options.dependency ? durableName(options.dependency) : undefined);
  if (durable !== undefined && !/^[^.*>\s\p{Cc}]+$/u.test(durable)) {
    throw new BusError(ClientErrorCode.invalidOptions, `durable: must not be empty or contain ".", "*", ">" or whitespace, got ${JSON.stringify(durable)}`);
  }
  const batch = options.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw new BusError(ClientErrorCode.invalidOptions, `batch: must be a whole number >= 1, got ${batch}`);
  if (options.max !== undefined && (!Number.isInteger(options.max) || options.max < 1)) {
    throw new BusError(ClientErrorCode.invalidOptions, `max: must be a whole number >= 1, got ${options.max}`);
  }
  const { info, created } = await ensureConsumer(client, subject, durable, options);
  const warnings = durable !== undefined && isArgoDurableName(durable) ? argoBindProblems(info, subject) : [];
  const consumer = await client.js.consumers.get(ARGO_STREAM_NAME, info.name).catch((err: unknown) => {
    throw consumerError(info.name, err);
  });
  const source: MessageSource = options.max === undefined ? await consumer.consume({ max_messages: batch }) : new BoundedFetch(consumer, options.max, batch);
  return new EventSubscription(info.name, durable !== undefined, created, subject, source, options.onInvalid, warnings, () => client.acks);
}

/** What a subscription reads messages from: nats.js's `consume()`, or a {@link BoundedFetch}. */
interface MessageSource extends AsyncIterable<JsMsg> {
  stop(): void;
}

/** How long one pull of a bounded subscription waits for events before pulling again. */
const FETCH_EXPIRES_MILLIS = 5_000;

/**
 * Pulls exactly up to `max` events in all, `batch` at a time, as Argo's sensors pull (`Fetch` in a
 * loop): a request never asks for more than are still wanted.
 */
class BoundedFetch implements MessageSource {
  private current: ConsumerMessages | undefined;
  private stopped = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly max: number,
    private readonly batch: number,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    let remaining = this.max;
    while (remaining > 0 && !this.stopped) {
      this.current = await this.consumer.fetch({ max_messages: Math.min(this.batch, remaining), expires: FETCH_EXPIRES_MILLIS });
      if (this.stopped) this.current.stop();
      for await (const msg of this.current) {
        remaining--;
        yield msg;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
  }
}

/** The events of a subscription, as an async iterator. Closing it stops pulling; a durable consumer stays. */
export class EventSubscription implements AsyncIterable<ReceivedEvent>, AsyncDisposable {
  constructor(
    /** The consumer's name (the durable name, or the server's name for an ephemeral consumer). */
    readonly consumer: string,
    /** Whether the consumer outlives the subscription. */
    readonly durable: boolean,
    /** Whether this subscription created the consumer; `false` when a durable consumer existed, so `from` and `ackWaitMillis` did not apply. */
    readonly created: boolean,
    /** The subject it filters on. */
    readonly subject: string,
    private readonly messages: MessageSource,
    private readonly onInvalid: SubscribeOptions["onInvalid"],
    /**
     * Why an Argo Events sensor could not bind this consumer, for an existing consumer with an Argo
     * name whose config differs from the one Argo's sensor asks for; empty otherwise.
     */
    readonly warnings: readonly string[] = [],
    /** The connection's reply router, which confirms acks (made at the first confirmed ack). */
    private readonly acks?: () => AckRouter,
  ) {}

  /**
   * The events, each decoded and checked as it comes; a message that is not an Argo Events
   * CloudEvent is terminated and skipped. An iterator object rather than an async generator: a
   * generator's yield costs a promise and microtasks of its own for every event.
   */
  [Symbol.asyncIterator](): AsyncIterator<ReceivedEvent> {
    const messages = this.messages[Symbol.asyncIterator]();
    return {
      next: async (): Promise<IteratorResult<ReceivedEvent>> => {
        for (;;) {
          const next = await messages.next();
          if (next.done) return { done: true, value: undefined };
          const msg = next.value;
          let event: ArgoEvent;
          try {
            event = decodeEvent(msg.subject, msg.headers, msg.data);
          } catch (err) {
            if (!(err instanceof InvalidEventError)) throw err;
            this.onInvalid?.(err, { subject: msg.subject, seq: msg.seq });
            msg.term("not an Argo Events CloudEvent");
            continue;
          }
          return { done: false, value: new Received(event, msg, this.acks) };
        }
      },
      return: async (): Promise<IteratorResult<ReceivedEvent>> => {
        await messages.return?.();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Stops pulling events and ends the iteration. Unacknowledged events are delivered again after the
   * ack wait. Does not wait for the iteration to notice (nats.js settles that only when the iterator
   * is read again, which would hang a `close()` called from inside the loop).
   */
  async close(): Promise<void> {
    this.messages.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * How long a confirmed ack waits for the server's reply: nats.js's default JetStream request
 * timeout, which its `ackAck` uses (`@nats-io/jetstream` `jsmsg.ts`, the message's `timeout`).
 */
const CONFIRM_TIMEOUT_MILLIS = 5_000;

/** A received event: what the message says, read from it when asked. */
class Received implements ReceivedEvent {
  /** Acked, nak'd or terminated: the message takes no other answer (as nats.js's `didAck`). */
  private settled = false;

  constructor(
    readonly event: ArgoEvent,
    private readonly msg: JsMsg,
    private readonly acks: (() => AckRouter) | undefined,
  ) {}

  get subject(): string {
    return this.msg.subject;
  }

  get seq(): number {
    return this.msg.seq;
  }

  get deliveryCount(): number {
    return this.msg.info.deliveryCount;
  }

  get redelivered(): boolean {
    return this.msg.redelivered;
  }

  get storedAt(): Date {
    return new Date(Number(this.msg.timestampNanos / 1_000_000n));
  }

  get pending(): number {
    return this.msg.info.pending;
  }

  async ack(options?: { readonly confirm?: boolean }): Promise<void> {
    if (options?.confirm === false) {
      if (this.settle()) this.msg.ack();
      return;
    }
    const unconfirmed = (detail: string, cause?: unknown) =>
      new BusError(ClientErrorCode.consumer, `event ${this.event.id}: the server did not confirm the ack (${detail}; the event will be delivered again)`, {
        cause,
      });
    // As nats.js's `ackAck`: a message answered before is not confirmed.
    if (!this.settle()) throw unconfirmed("it was answered before");
    // The reply subject of nats.js's message (its `JsMsgImpl` has one; the `JsMsg` type does not say so).
    const reply = (this.msg as { readonly reply?: unknown }).reply;
    const acks = this.acks;
    if (acks === undefined || typeof reply !== "string" || reply === "") {
      if (!(await this.msg.ackAck())) throw unconfirmed("the ack wait may have passed");
      return;
    }
    await new Promise<void>((resolve, reject) =>
      acks().confirmAck(reply, CONFIRM_TIMEOUT_MILLIS, (error) =>
        error === undefined ? resolve() : reject(unconfirmed(error instanceof Error ? error.message : String(error), error)),
      ),
    );
  }

  nak(delayMillis?: number): void {
    if (this.settle()) this.msg.nak(delayMillis);
  }

  working(): void {
    if (!this.settled) this.msg.working();
  }

  term(reason?: string): void {
    if (this.settle()) this.msg.term(reason);
  }

  /** Marks the message answered; `false` when it was answered before (the new answer is not sent, as nats.js's `doAck`). */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return true;
  }
}

async function ensureConsumer(
  client: EventBusClient,
  subject: string,
  durable: string | undefined,
  options: SubscribeOptions,
): Promise<{ info: ConsumerInfo; created: boolean }> {
  const name = durable ?? "(ephemeral)";
  const jsm = await client.manager().catch((err: unknown) => {
    throw consumerError(name, err);
  });
  const from = options.from ?? "new";
  const argo = durable !== undefined && isArgoDurableName(durable);
  if (argo && from !== "new") {
    throw new BusError(
      ClientErrorCode.invalidOptions,
      `from: consumer ${durable} has an Argo Events sensor's durable name, and Argo's sensor binds it with DeliverNew (nats.go refuses a durable with another deliver policy), so it can only start at new events; to read from ${describeStart(from)}, use another durable name (a separate consumer)`,
    );
  }
  // As Argo's sensor does before it subscribes: the stream is created from the bus's streamConfig when missing.
  await client.ensureArgoStream();
  if (durable !== undefined) {
    const existing = await consumerInfo(client, durable);
    if (existing) return { info: checkFilter(existing, subject), created: false };
  }
  const config: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.Explicit,
    filter_subject: subject,
    ack_wait: Math.round((options.ackWaitMillis ?? DEFAULT_ACK_WAIT_MILLIS) * NANOS_PER_MILLI),
    ...startPosition(from),
    // nats.go gives a consumer it creates for a channel subscription (as Argo's sensor's PullSubscribe) the channel's length as its max ack pending.
    ...(argo && { max_ack_pending: NATS_GO_SUB_CHAN_LEN }),
    ...(durable !== undefined ? { durable_name: durable } : { inactive_threshold: EPHEMERAL_INACTIVE_MILLIS * NANOS_PER_MILLI }),
  };
  try {
    return { info: await jsm.consumers.add(ARGO_STREAM_NAME, config), created: true };
  } catch (err) {
    // Another subscriber (or a sensor) created it meanwhile.
    if (durable !== undefined && err instanceof JetStreamApiError && CONSUMER_EXISTS_CODES.has(err.code)) {
      const existing = await consumerInfo(client, durable);
      if (existing) return { info: checkFilter(existing, subject), created: false };
    }
    throw consumerError(name, err);
  }
}

async function consumerInfo(client: EventBusClient, name: string): Promise<ConsumerInfo | undefined> {
  const jsm = await client.manager();
  try {
    return await jsm.consumers.info(ARGO_STREAM_NAME, name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
    throw consumerError(name, err);
  }
}

function checkFilter(info: ConsumerInfo, subject: string): ConsumerInfo {
  const filters = info.config.filter_subjects ?? (info.config.filter_subject ? [info.config.filter_subject] : []);
  if (filters.length > 0 && !filters.includes(subject)) {
    throw new BusError(ClientErrorCode.consumer, `consumer ${info.name} already exists for ${filters.join(", ")}, not ${subject}; use another durable name`);
  }
  if (info.config.ack_policy !== AckPolicy.Explicit) {
    throw new BusError(
      ClientErrorCode.consumer,
      `consumer ${info.name} exists with ack policy ${info.config.ack_policy}, not explicit; use another durable name`,
    );
  }
  return info;
}

/**
 * nats.go's `DefaultMaxChanLen`, the channel length of a subscription, which its `subscribe` sets as
 * the max ack pending of a consumer it creates (nats-io/nats.go js.go and nats.go).
 */
const NATS_GO_SUB_CHAN_LEN = 64 * 1024;

/**
 * What nats.go's `PullSubscribe(subject, durable, AckExplicit(), DeliverNew())`, Argo Events'
 * sensor call (argoproj/argo-events pkg/eventbus/jetstream/sensor/trigger_conn.go), refuses in an
 * existing consumer: a filter on another subject, a push consumer, or a deliver or ack policy other
 * than the ones it asks for (nats-io/nats.go js.go, processConsInfo and checkConfig).
 */
export function argoBindProblems(info: ConsumerInfo, subject: string): string[] {
  const problems: string[] = [];
  const config = info.config;
  const consumer = `consumer ${info.name}`;
  if (config.filter_subject && config.filter_subject !== subject) problems.push(`${consumer} filters ${config.filter_subject}, not ${subject}`);
  if (config.deliver_subject) problems.push(`${consumer} is a push consumer (deliver subject ${config.deliver_subject}); Argo's sensor pulls`);
  if (config.deliver_policy !== DeliverPolicy.New) problems.push(`${consumer} has deliver policy ${config.deliver_policy}; Argo's sensor asks for new`);
  if (config.ack_policy !== AckPolicy.Explicit) problems.push(`${consumer} has ack policy ${config.ack_policy}; Argo's sensor asks for explicit`);
  return problems.map((p) => `${p}, so an Argo Events sensor cannot bind it (delete the consumer to let the sensor recreate it)`);
}

function describeStart(from: StartPosition): string {
  if (from === "start") return "the start of the stream";
  if (typeof from === "number") return `stream sequence ${from}`;
  if (from instanceof Date) return from.toISOString();
  return String(from);
}

function startPosition(from: StartPosition): Partial<ConsumerConfig> {
  if (from === "new") return { deliver_policy: DeliverPolicy.New };
  if (from === "start") return { deliver_policy: DeliverPolicy.All };
  if (typeof from === "number") {
    if (!Number.isInteger(from) || from < 1)
      throw new BusError(ClientErrorCode.invalidOptions, `from: a stream sequence must be a whole number >= 1, got ${from}`);
    return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from };
  }
  if (from instanceof Date && Number.isFinite(from.getTime())) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.toISOString() };
  throw new BusError(ClientErrorCode.invalidOptions, `from: must be "new", "start", a stream sequence or a time, got ${String(from)}`);
}

function consumerError(name: string, err: unknown): BusError {
  if (err instanceof BusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BusError(ClientErrorCode.consumer, `consumer ${name} on stream ${ARGO_STREAM_NAME}: ${message}`, { cause: err });
}
