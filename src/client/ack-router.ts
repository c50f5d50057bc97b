/**
 * The stream's acknowledgements of published events, received as Go's `PublishAsync` receives them
 * (nats.go `js.go`: one reply subscription on `<inbox prefix>.<nuid>.*`, each publish's reply
 * subject the prefix and a token, the answers matched in a map): one subscription per connection
 * for every publish, one timer for every ack timeout, and no promise, timer or request object per
 * event. The headers of an event are one reused header object whose `Nats-Msg-Id` is set before
 * each publish (nats.js encodes them while `publish` runs).
 *
 * Publishes are handed to the connection together, once per turn of the event loop (as Go's
 * flusher writes what the publishes of a moment have buffered): a publisher sends the next events
 * from the callbacks of the acknowledgements, and each socket read calls them apart. nats.js
 * writes at the end of each of those callbacks: one small TLS write per read (about 4 kB, 0.16
 * writes per event when counted). Gathered, the events of a turn go out in one write, which costs
 * the client less CPU and lets the stream's leader take them as one batch.
 *
 * An answer is what nats.js's `js.publish` would have settled with, so that the publisher's retry
 * rules read it the same way: the `PubAck`, a `JetStreamApiError` for `{"error": …}`, a
 * `NoRespondersError` for the server's 503 status (no stream listens on the subject), a
 * `TimeoutError` when nothing came within the timeout, a `ClosedConnectionError` when the
 * connection closed first.
 */
import { JetStreamApiError, type PubAck } from "@nats-io/jetstream";
import {
  createInbox,
  errors as natsErrors,
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type PublishOptions,
  type Subscription,
} from "@nats-io/transport-node";

import { protocolWriter, writeFrames, type Frame, type ProtocolWriter } from "./publish-frames.js";
import { MSG_ID_HEADER } from "./wire.js";

/** What one publish was answered with. */
export type AckAnswer = { readonly ack: PubAck; readonly error?: undefined } | { readonly ack?: undefined; readonly error: unknown };

/** A request waiting for its reply: a publish waiting for the stream's acknowledgement, or an ack waiting for its confirmation. */
interface Waiting {
  readonly deadline: number;
  /** The reply came. */
  receive(msg: Msg): void;
  /** No reply: the timeout passed, the connection closed, or the request could not be sent. */
  fail(error: unknown): void;
}

/** A publish: its answer is the stream's acknowledgement (a class, so that a publish makes no closures). */
class PublishWaiting implements Waiting {
  constructor(
    private readonly subject: string,
    readonly deadline: number,
    private readonly done: (answer: AckAnswer) => void,
  ) {}

  receive(msg: Msg): void {
    this.done(parseAnswer(msg, this.subject));
  }

  fail(error: unknown): void {
    this.done({ error });
  }
}

/** An ack with a reply subject (`+ACK`, as nats.js's `ackAck` and nats.go's `AckSync`): any reply confirms it. */
class ConfirmWaiting implements Waiting {
  constructor(
    readonly deadline: number,
    private readonly done: (error?: unknown) => void,
  ) {}

  receive(): void {
    this.done();
  }

  fail(error: unknown): void {
    this.done(error);
  }
}

/** A request waiting for the turn's hand-over to the connection. */
interface Outgoing extends Frame {
  readonly token: string;
}

/** How often the timer looks for requests whose timeout has passed. */
const SWEEP_MILLIS = 100;

/** JetStream's positive acknowledgement of a consumed message (nats.js `jsmsg.ts` `ACK`). */
const ACK_PAYLOAD = Buffer.from("+ACK");

/** The replies to one connection's publishes and confirmed acks. */
export class AckRouter {
  private readonly prefix: string;
  private readonly waiting = new Map<string, Waiting>();
  private readonly subscription: Subscription;
  private readonly header: MsgHdrs = headers();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The requests of this turn of the event loop, handed to the connection by {@link handOver}. */
  private outgoing: Outgoing[] = [];
  /** nats.js's protocol handler, which takes the turn's frames as one command; `undefined`: through `nc.publish`. */
  private readonly writer: ProtocolWriter | undefined;

  constructor(private readonly nc: NatsConnection) {
    this.writer = protocolWriter(nc);
    // `_INBOX.<nuid>.`: the inbox prefix of nats.js's requests, which eventbus's connections keep.
    this.prefix = `${createInbox()}.`;
    this.subscription = nc.subscribe(`${this.prefix}*`, { callback: (_err, msg) => this.answer(msg) });
    void nc.closed().then(() => this.failAll());
  }

  /**
   * Publishes an event with its `Nats-Msg-Id` at the end of this turn of the event loop; `done` is
   * called once, with the answer (the timeout counts from now).
   */
  publish(subject: string, body: Uint8Array, msgId: string, timeoutMillis: number, done: (answer: AckAnswer) => void): void {
    if (this.nc.isClosed()) {
      done({ error: new natsErrors.ClosedConnectionError() });
      return;
    }
    this.send(subject, body, msgId, new PublishWaiting(subject, Date.now() + timeoutMillis, done));
  }

  /**
   * Acknowledges a consumed message and waits for the server to confirm it, as nats.js's `ackAck`
   * does but through this router: no request object, error and timer of its own per ack. `done`
   * is called once: without an error when confirmed, with a `TimeoutError` or `ClosedConnectionError` if not.
   * @param ackSubject - the message's reply subject (`$JS.ACK.…`)
   */
  confirmAck(ackSubject: string, timeoutMillis: number, done: (error?: unknown) => void): void {
    if (this.nc.isClosed()) {
      done(new natsErrors.ClosedConnectionError());
      return;
    }
    this.send(ackSubject, ACK_PAYLOAD, undefined, new ConfirmWaiting(Date.now() + timeoutMillis, done));
  }

  private send(subject: string, body: Uint8Array, msgId: string | undefined, waiting: Waiting): void {
    const token = (this.next++).toString(36);
    this.waiting.set(token, waiting);
    if (this.outgoing.push({ token, subject, reply: this.prefix + token, body, msgId }) === 1) setImmediate(this.handOver);
    this.timer ??= setInterval(() => this.sweep(), SWEEP_MILLIS).unref();
  }

  /** Gives the connection this turn's requests in one go, so that nats.js writes them together. */
  private readonly handOver = (): void => {
    // Those ended meanwhile (the connection closed) are not sent.
    const outgoing = this.outgoing.filter((o) => this.waiting.has(o.token));
    this.outgoing = [];
    if (outgoing.length === 0) return;
    const writer = this.writer;
    if (writer === undefined) {
      for (const o of outgoing) this.publishOne(o);
      return;
    }
    // As nats.js's `publish` refuses (`nats.ts` `_check`).
    const refused = this.nc.isClosed()
      ? new natsErrors.ClosedConnectionError()
      : writer.noMorePublishing
        ? new natsErrors.DrainingConnectionError()
        : undefined;
    if (refused !== undefined) {
      for (const { token } of outgoing) this.end(token)?.fail(refused);
      return;
    }
    const { bytes, payloadBytes } = writeFrames(outgoing);
    writer.sendCommand(bytes);
    writer.outMsgs += outgoing.length;
    writer.outBytes += payloadBytes;
  };

  /** Sends one request through `nc.publish` (a nats.js without the protocol handler eventbus knows). */
  private publishOne({ token, subject, reply, body, msgId }: Outgoing): void {
    let options: PublishOptions = { reply };
    if (msgId !== undefined) {
      this.header.set(MSG_ID_HEADER, msgId);
      options = { reply, headers: this.header };
    }
    try {
      this.nc.publish(subject, body, options);
    } catch (error) {
      this.end(token)?.fail(error);
    }
  }

  /** Takes a request that is still waiting off the map. */
  private end(token: string): Waiting | undefined {
    const waiting = this.waiting.get(token);
    if (waiting !== undefined) this.waiting.delete(token);
    return waiting;
  }

  private answer(msg: Msg): void {
    // Nothing waits for a reply that came after its timeout.
    this.end(msg.subject.slice(this.prefix.length))?.receive(msg);
  }

  /** Ends every request whose timeout has passed; stops the timer when none waits. */
  private sweep(): void {
    const now = Date.now();
    for (const [token, waiting] of this.waiting) {
      if (waiting.deadline > now) continue;
      this.waiting.delete(token);
      waiting.fail(new natsErrors.TimeoutError());
    }
    if (this.waiting.size === 0) this.stopTimer();
  }

  private failAll(): void {
    this.stopTimer();
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.fail(new natsErrors.ClosedConnectionError());
    this.subscription.unsubscribe();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A reply read as nats.js's `js.publish` reads it (@nats-io/jetstream `jsclient.ts`, `publish`). */
function parseAnswer(msg: Msg, subject: string): AckAnswer {
  // The server answers a publish that no subscription takes with a 503 status and no body.
  if (msg.headers?.code === 503 && msg.data.length === 0) return { error: new natsErrors.NoRespondersError(subject) };
  let parsed: PubAck & { error?: { code: number; err_code: number; description: string } };
  try {
    parsed = msg.json();
  } catch (error) {
    return { error: new Error(`the stream's acknowledgement is not JSON: ${error instanceof Error ? error.message : String(error)}`) };
  }
  if (parsed.error !== undefined) return { error: new JetStreamApiError(parsed.error) };
  if (typeof parsed.stream !== "string" || typeof parsed.seq !== "number")
    return { error: new Error(`the stream's acknowledgement has no stream and sequence: ${JSON.stringify(parsed).slice(0, 200)}`) };
  // As nats.js: an ack without `duplicate` is not one.
  parsed.duplicate = parsed.duplicate === true;
  return { ack: parsed };
}
