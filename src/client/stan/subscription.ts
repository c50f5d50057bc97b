/**
 * A NATS Streaming subscription as an async iterable of messages, with stan.go's semantics
 * (nats-io/stan.go sub.go, v0.10.4):
 *
 * - the request (`subscribe`): a `SubscriptionRequest` to the connect response's `subRequests`
 *   with a new inbox; the `SubscriptionResponse` gives the ack inbox, or the server's refusal.
 *   After a timeout, stan.go sends an `UnsubscribeRequest` with the inbox to `subCloseRequests`,
 *   in case the server did register it; so does this client.
 * - acks (`Msg.Ack`, `processMsg`): an `Ack{subject, sequence}` published to the ack inbox. In
 *   stan.go's default (auto) mode the client acks each message once its callback returned; here,
 *   once the loop asks for the next message or leaves (see {@link StanSubscribeOptions.manualAcks}).
 * - `Unsubscribe` removes the durable from the server; `Close` (to `subCloseRequests`) keeps it
 *   (`closeOrUnsubscribe`). Both send `UnsubscribeRequest{clientID, subject, inbox: ackInbox}`.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";

import { ClientErrorCode } from "../errors.js";
import { isNoResponders } from "../publish-errors.js";
import { StanError, StanFailureReason } from "./errors.js";
import { decodeMsgProto, decodeSubscriptionResponse, encodeAck, encodeUnsubscribeRequest, StartPosition } from "./protocol.js";

/** stan.go's `DefaultMaxInflight`. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;
/** stan.go's `DefaultAckWait` (30 s), in seconds: the protocol carries whole seconds. */
export const DEFAULT_ACK_WAIT_SECONDS = 30;

/**
 * Where a new subscription starts. A durable subscription that exists resumes where it was.
 * - `new-only`: messages published after the subscription is registered (stan.go's default, Argo's sensors);
 * - `last-received`: the channel's last message, then the new ones;
 * - `first`: every message the channel still holds;
 * - `{ sequence }`: from that channel sequence (before the first: the first; past the last: new only);
 * - `{ time }`: messages the server received at or after that time.
 */
export type StanStartAt = "new-only" | "last-received" | "first" | { readonly sequence: number | bigint } | { readonly time: Date };

/** Options of {@link StanConnection.subscribe}. */
export interface StanSubscribeOptions {
  /** Members of one queue group share the channel's messages: each goes to one of them. */
  readonly queueGroup?: string;
  /**
   * A durable subscription survives this client: after `close()` (or the connection's close), the
   * next subscription with the same name, client ID (or queue group) and channel resumes after the
   * last acknowledged message. `unsubscribe()` removes it.
   */
  readonly durableName?: string;
  /** Unacknowledged messages the server sends before it waits for acks. @default 1024 */
  readonly maxInFlight?: number;
  /** Whole seconds the server waits for an ack before it delivers a message again; >= 1. @default 30 */
  readonly ackWaitSeconds?: number;
  /** @default "new-only" */
  readonly startAt?: StanStartAt;
  /**
   * With manual acks, a message is acknowledged only by its `ack()`; an unacknowledged one comes
   * again after the ack wait. Without, the subscription acks each message when the loop asks for
   * the next one or leaves (a `break` or an exception in the loop's body acks the message too, so
   * use manual acks to ack only what was handled). @default false
   */
  readonly manualAcks?: boolean;
}

/** A message of a channel, as the server delivered it. */
export interface StanMessage {
  /** The channel. */
  readonly subject: string;
  /** The message's sequence in its channel (a uint64 on the wire; exact below 2^53). */
  readonly sequence: number;
  /** When the server received it. */
  readonly timestamp: Date;
  /** When the server received it, in nanoseconds since 1970-01-01 UTC, as Argo's sensors compare it. */
  readonly timestampNanos: bigint;
  /** Whether this is a delivery again (after the ack wait, or to another member of the queue group). */
  readonly redelivered: boolean;
  /** How many times it was delivered again, as the server counts (not kept across server restarts). */
  readonly redeliveryCount: number;
  readonly data: Uint8Array;
  /**
   * Acknowledges the message: the server will not deliver it again. Sent without waiting for an
   * answer (the protocol has none); a second call does nothing.
   * @throws {@link StanError} `closed` when the subscription or the connection is closed
   */
  ack(): void;
}

/** What a subscription needs of its connection. */
export interface SubscriptionHost {
  readonly nc: NatsConnection;
  readonly clientId: string;
  readonly requestTimeoutMillis: number;
  /** The connect response's `unsubRequests`. */
  readonly unsubRequests: string;
  /** The connect response's `subCloseRequests` (empty on servers without subscription close). */
  readonly subCloseRequests: string;
  /** The connection's error when it is closed or lost, else undefined. */
  connectionError(): StanError | undefined;
  /** Forgets the subscription. */
  removeSubscription(inbox: string): void;
}

/** The parts of a subscription request that {@link StanSubscription} keeps. */
export interface SubscriptionParams {
  readonly channel: string;
  readonly inbox: string;
  readonly queueGroup: string | undefined;
  readonly durableName: string | undefined;
  readonly manualAcks: boolean;
}

const State = {
  open: "open",
  /** Closed or unsubscribed by this client. */
  ended: "ended",
  /** The connection was closed or lost. */
  failed: "failed",
} as const;
type State = (typeof State)[keyof typeof State];

/**
 * A subscription to a channel. Iterate it with `for await`; `close()` it (the durable stays) or
 * `unsubscribe()` it (the durable goes). `await using` closes it.
 *
 * Breaking out of the loop does not close the subscription: a later loop continues with the next
 * message. The loop finishes when the subscription is closed or unsubscribed, or the connection is
 * closed; it throws the connection's {@link StanError} when the connection is lost. Messages
 * received but not yet taken by the loop are then dropped unacknowledged: the server delivers
 * them again.
 */
export class StanSubscription implements AsyncIterableIterator<StanMessage>, AsyncDisposable {
  readonly channel: string;
  readonly queueGroup: string | undefined;
  readonly durableName: string | undefined;
  /** The inbox the server delivers to. */
  readonly inbox: string;
  private malformedCount = 0;

  private ackInboxValue = "";
  private natsSub: Subscription | undefined;
  private readonly queue: StanMessage[] = [];
  /** `next()` calls waiting for a message, oldest first. */
  private readonly waiters: { resolve: (result: IteratorResult<StanMessage>) => void; reject: (err: unknown) => void }[] = [];
  private state: State = State.open;
  private failure: StanError | undefined;
  private lastHanded: StanMessage | undefined;
  /** The close or unsubscribe request, once one was made. */
  private ending: { readonly keepDurable: boolean; readonly done: Promise<void> } | undefined;
  private readonly manualAcks: boolean;

  /** @internal Made by {@link StanConnection.subscribe}. */
  constructor(
    private readonly host: SubscriptionHost,
    params: SubscriptionParams,
  ) {
    this.channel = params.channel;
    this.inbox = params.inbox;
    this.queueGroup = params.queueGroup;
    this.durableName = params.durableName;
    this.manualAcks = params.manualAcks;
  }

  /** The inbox acks go to, from the server's SubscriptionResponse. */
  get ackInbox(): string {
    return this.ackInboxValue;
  }

  /** Messages that could not be decoded and were dropped (stan.go's `processMsg` drops them too). */
  get malformed(): number {
    return this.malformedCount;
  }

  /** Whether the subscription still receives messages. */
  get isOpen(): boolean {
    return this.state === State.open;
  }

  /** @internal Starts receiving on the inbox, before the request, so that no early message is missed. */
  listen(): void {
    this.natsSub = this.host.nc.subscribe(this.inbox, { callback: (err, msg) => (err ? undefined : this.deliver(msg)) });
  }

  /** @internal The request was accepted. */
  accepted(ackInbox: string): void {
    this.ackInboxValue = ackInbox;
  }

  /** @internal The request failed: stop listening, without a request to the server. */
  abandon(): void {
    this.stopListening();
    this.state = State.ended;
  }

  /** @internal The connection was closed (`error` is its closed error) or lost: end the iteration. */
  connectionEnded(error: StanError, lost: boolean): void {
    if (this.state !== State.open) return;
    this.stopListening();
    this.queue.length = 0;
    if (lost) {
      this.state = State.failed;
      this.failure = error;
      this.settleWaiters(error);
    } else {
      this.state = State.ended;
      this.settleWaiters();
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next message; waits for one. */
  next(): Promise<IteratorResult<StanMessage>> {
    this.autoAck();
    const message = this.queue.shift();
    if (message !== undefined) {
      this.lastHanded = message;
      return Promise.resolve({ done: false, value: message });
    }
    if (this.state === State.failed && this.failure !== undefined) {
      const failure = this.failure;
      // Thrown once; the iteration is over after it.
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.state !== State.open) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Leaving a `for await` loop: acks the last message in auto mode; the subscription stays open. */
  return(): Promise<IteratorResult<StanMessage>> {
    this.autoAck();
    return Promise.resolve({ done: true, value: undefined });
  }

  /**
   * Closes the subscription and keeps a durable one on the server (stan.go `Subscription.Close`).
   * For a queue group, the durable group stays while other members remain or, as the last member
   * leaves, for a later member. After the connection's close this does nothing: the server closed
   * the subscription with the connection; after `unsubscribe()`, it waits for that.
   * @throws {@link StanError} `refused` or `timeout`
   */
  close(): Promise<void> {
    if (this.ending !== undefined) return this.ending.done;
    const connectionError = this.host.connectionError();
    if (connectionError !== undefined) {
      this.connectionEnded(connectionError, false);
      return Promise.resolve();
    }
    this.ending = { keepDurable: true, done: this.end(true) };
    return this.ending.done;
  }

  /**
   * Unsubscribes: the server forgets the subscription, and a durable's position with it (stan.go
   * `Subscription.Unsubscribe`); for a durable queue group, when this is its last member.
   * @throws {@link StanError} `closed` after the connection's or the subscription's close (the
   *   durable stays: subscribe again with its name to unsubscribe it), `refused` or `timeout`
   */
  unsubscribe(): Promise<void> {
    if (this.ending?.keepDurable === false) return this.ending.done;
    if (this.ending !== undefined) {
      return Promise.reject(
        new StanError(
          ClientErrorCode.closed,
          StanFailureReason.closed,
          `unsubscribe from ${this.channel}: the subscription is closed and its durable kept; subscribe again with the same durable name to unsubscribe it`,
        ),
      );
    }
    const connectionError = this.host.connectionError();
    if (connectionError !== undefined) {
      return Promise.reject(
        new StanError(ClientErrorCode.closed, connectionError.reason, `unsubscribe from ${this.channel}: ${connectionError.message}`, {
          cause: connectionError,
        }),
      );
    }
    this.ending = { keepDurable: false, done: this.end(false) };
    return this.ending.done;
  }

  /** Closes the subscription (a durable stays); ignores a connection that is already closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async end(keepDurable: boolean): Promise<void> {
    const what = keepDurable ? "close the subscription to" : "unsubscribe from";
    this.stopListening();
    this.queue.length = 0;
    this.state = State.ended;
    this.settleWaiters();
    this.host.removeSubscription(this.inbox);
    const subject = keepDurable ? this.host.subCloseRequests : this.host.unsubRequests;
    if (subject === "") {
      throw new StanError(
        ClientErrorCode.consumer,
        StanFailureReason.refused,
        `${what} ${this.channel}: the server does not support closing a subscription (it is older than NATS Streaming 0.10)`,
      );
    }
    const request = encodeUnsubscribeRequest({ clientID: this.host.clientId, subject: this.channel, inbox: this.ackInboxValue });
    let reply: Msg;
    try {
      reply = await this.host.nc.request(subject, request, { timeout: this.host.requestTimeoutMillis });
    } catch (cause) {
      const noServer = isNoResponders(cause);
      throw new StanError(
        ClientErrorCode.consumer,
        noServer ? StanFailureReason.noServer : StanFailureReason.timeout,
        `${what} ${this.channel}: ${noServer ? "no NATS Streaming server answered" : `no answer within ${this.host.requestTimeoutMillis} ms`}`,
        { cause },
      );
    }
    let error: string;
    try {
      error = decodeSubscriptionResponse(reply.data).error;
    } catch (cause) {
      throw new StanError(ClientErrorCode.consumer, StanFailureReason.malformed, `${what} ${this.channel}: the answer is not a SubscriptionResponse`, {
        cause,
      });
    }
    if (error !== "") throw new StanError(ClientErrorCode.consumer, StanFailureReason.refused, `${what} ${this.channel}: the server refused: ${error}`);
  }

  private deliver(msg: Msg): void {
    if (this.state !== State.open) return;
    let proto: ReturnType<typeof decodeMsgProto>;
    try {
      proto = decodeMsgProto(msg.data);
    } catch {
      this.malformedCount++;
      return;
    }
    const message = this.message(proto);
    const waiter = this.waiters.shift();
    if (waiter === undefined) {
      this.queue.push(message);
      return;
    }
    this.lastHanded = message;
    waiter.resolve({ done: false, value: message });
  }

  private message(proto: ReturnType<typeof decodeMsgProto>): StanMessage {
    let acked = false;
    const sequence = proto.sequence;
    const subject = proto.subject;
    return {
      subject,
      sequence: Number(sequence),
      timestamp: new Date(Number(proto.timestamp / 1_000_000n)),
      timestampNanos: proto.timestamp,
      redelivered: proto.redelivered,
      redeliveryCount: proto.redeliveryCount,
      data: proto.data,
      ack: () => {
        if (acked) return;
        const connectionError = this.host.connectionError();
        if (connectionError !== undefined || this.state !== State.open) {
          const why = connectionError?.message ?? "the subscription is closed";
          throw new StanError(
            ClientErrorCode.closed,
            StanFailureReason.closed,
            `ack of message ${sequence} on ${subject}: ${why}; it will be delivered again`,
            {
              cause: connectionError,
            },
          );
        }
        try {
          this.host.nc.publish(this.ackInboxValue, encodeAck({ subject, sequence }));
        } catch (cause) {
          throw new StanError(ClientErrorCode.closed, StanFailureReason.closed, `ack of message ${sequence} on ${subject}: the NATS connection refused it`, {
            cause,
          });
        }
        acked = true;
      },
    };
  }

  private autoAck(): void {
    const last = this.lastHanded;
    this.lastHanded = undefined;
    if (this.manualAcks || last === undefined || this.state !== State.open) return;
    try {
      last.ack();
    } catch {
      // The subscription or connection just ended: the message comes again, as after a crash.
    }
  }

  /** Ends the waiting `next()` calls: the first throws `error` if there is one, the others are done. */
  private settleWaiters(error?: StanError): void {
    const waiters = this.waiters.splice(0);
    for (const [i, waiter] of waiters.entries()) {
      if (i === 0 && error !== undefined) {
        // Thrown once; the iteration is over after it.
        this.failure = undefined;
        waiter.reject(error);
      } else {
        waiter.resolve({ done: true, value: undefined });
      }
    }
  }

  private stopListening(): void {
    const sub = this.natsSub;
    this.natsSub = undefined;
    if (sub === undefined || this.host.nc.isClosed()) return;
    try {
      sub.unsubscribe();
    } catch {
      // The NATS connection is closing: the subscription goes with it.
    }
  }
}

/** The protocol's start position and its parameters for a {@link StanStartAt}. */
export function startPositionOf(
  startAt: StanStartAt | undefined,
  now: () => bigint,
): { startPosition: StartPosition; startSequence?: bigint; startTimeDelta?: bigint } | string {
  if (startAt === undefined || startAt === "new-only") return { startPosition: StartPosition.newOnly };
  if (startAt === "last-received") return { startPosition: StartPosition.lastReceived };
  if (startAt === "first") return { startPosition: StartPosition.first };
  if (typeof startAt === "object" && startAt !== null && "sequence" in startAt) {
    const seq = startAt.sequence;
    if (typeof seq === "bigint" ? seq < 0n : !Number.isSafeInteger(seq) || seq < 0) return `startAt.sequence: must be a whole number >= 0, got ${String(seq)}`;
    return { startPosition: StartPosition.sequenceStart, startSequence: BigInt(seq) };
  }
  if (typeof startAt === "object" && startAt !== null && "time" in startAt) {
    const time = startAt.time;
    if (!(time instanceof Date) || Number.isNaN(time.getTime())) return `startAt.time: must be a valid Date, got ${String(time)}`;
    // stan.go subscribe: StartTimeDelta = time.Now().UnixNano() - StartTime.UnixNano(); the server
    // takes it from its own clock.
    return { startPosition: StartPosition.timeDeltaStart, startTimeDelta: now() - BigInt(time.getTime()) * 1_000_000n };
  }
  return `startAt: must be "new-only", "last-received", "first", { sequence } or { time }, got ${JSON.stringify(startAt)}`;
}
