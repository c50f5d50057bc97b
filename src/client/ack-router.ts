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
import { createInbox, errors as natsErrors, headers, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";

import { protocolWriter, writeFrames, type Frame, type ProtocolWriter } from "./publish-frames.js";
import { MSG_ID_HEADER } from "./wire.js";

/** What one publish was answered with. */
export type AckAnswer = { readonly ack: PubAck; readonly error?: undefined } | { readonly ack?: undefined; readonly error: unknown };

interface Pending {
  readonly subject: string;
  readonly deadline: number;
  readonly done: (answer: AckAnswer) => void;
}

/** A publish waiting for the turn's hand-over to the connection. */
interface Outgoing extends Frame {
  readonly token: string;
}

/** How often the timer looks for publishes whose ack timeout has passed. */
const SWEEP_MILLIS = 100;

/** The acknowledgements of one connection's publishes. */
export class AckRouter {
  private readonly prefix: string;
  private readonly pending = new Map<string, Pending>();
  private readonly subscription: Subscription;
  private readonly header: MsgHdrs = headers();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The publishes of this turn of the event loop, handed to the connection by {@link handOver}. */
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
    const token = (this.next++).toString(36);
    this.pending.set(token, { subject, deadline: Date.now() + timeoutMillis, done });
    if (this.outgoing.push({ token, subject, reply: this.prefix + token, body, msgId }) === 1) setImmediate(this.handOver);
    this.timer ??= setInterval(() => this.sweep(), SWEEP_MILLIS).unref();
  }

  /** Gives the connection this turn's publishes in one go, so that nats.js writes them together. */
  private readonly handOver = (): void => {
    // Those ended meanwhile (the connection closed) are not sent.
    const outgoing = this.outgoing.filter((o) => this.pending.has(o.token));
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
      for (const { token } of outgoing) this.end(token, { error: refused });
      return;
    }
    const { bytes, payloadBytes } = writeFrames(outgoing);
    writer.sendCommand(bytes);
    writer.outMsgs += outgoing.length;
    writer.outBytes += payloadBytes;
  };

  /** Publishes one event through `nc.publish` (a nats.js without the protocol handler eventbus knows). */
  private publishOne({ token, subject, reply, body, msgId }: Outgoing): void {
    this.header.set(MSG_ID_HEADER, msgId);
    try {
      this.nc.publish(subject, body, { reply, headers: this.header });
    } catch (error) {
      this.end(token, { error });
    }
  }

  /** Ends a publish that is still waiting with `answer`. */
  private end(token: string, answer: AckAnswer): void {
    const pending = this.pending.get(token);
    if (pending === undefined) return;
    this.pending.delete(token);
    pending.done(answer);
  }

  private answer(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const pending = this.pending.get(token);
    if (pending === undefined) return; // timed out before it came
    this.pending.delete(token);
    pending.done(parseAnswer(msg, pending.subject));
  }

  /** Ends every publish whose timeout has passed; stops the timer when none waits. */
  private sweep(): void {
    const now = Date.now();
    for (const [token, pending] of this.pending) {
      if (pending.deadline > now) continue;
      this.pending.delete(token);
      pending.done({ error: new natsErrors.TimeoutError() });
    }
    if (this.pending.size === 0) this.stopTimer();
  }

  private failAll(): void {
    this.stopTimer();
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const pending of waiting) pending.done({ error: new natsErrors.ClosedConnectionError() });
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
