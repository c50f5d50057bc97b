/**
 * The minimum of the NATS Streaming (STAN) client protocol, for tests that need channels and
 * subscriptions on a real nats-streaming-server: connect, publish (waiting for the PubAck),
 * subscribe (queue group, durable name, max in flight, ack wait, start position) with manual or
 * automatic acks, close a subscription, close the connection. No reconnection, no client pings:
 * a test's connection lives for seconds. The project's own STAN client is elsewhere; this is the
 * tests' independent counterpart.
 *
 * The messages are protobuf, encoded here by hand: field numbers and types from nats-io/stan.go
 * `pb/protocol.proto` (v0.10.4: `ConnectRequest`, `ConnectResponse`, `PubMsg`, `PubAck`,
 * `MsgProto`, `Ack`, `SubscriptionRequest`, `SubscriptionResponse`, `UnsubscribeRequest`,
 * `CloseRequest`, `CloseResponse`), the subjects as stan.go's `Connect` uses them
 * (`_STAN.discover.<clusterID>`, acks on `_STAN.acks.<nuid>`).
 *
 * ```ts
 * await using stan = await connectRawStan({ servers: server.clientUrl, clusterId: "test-cluster", clientId: "pub" });
 * await stan.publish("orders", "one");
 * const sub = await stan.subscribe("orders", { queueGroup: "workers", durableName: "d", ackMode: "manual" });
 * ```
 */
import { connect, createInbox, nuid, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";

import { waitFor } from "./process.js";

/** Where a new subscription starts (stan.go `pb.StartPosition`). */
export const StartPosition = {
  NewOnly: 0,
  LastReceived: 1,
  TimeDeltaStart: 2,
  SequenceStart: 3,
  First: 4,
} as const;

/** One of the {@link StartPosition} values. */
export type StartPosition = (typeof StartPosition)[keyof typeof StartPosition];

/** The prefix of the subject a STAN cluster is discovered on (stan.go `DefaultDiscoverPrefix`). */
export const DISCOVER_PREFIX = "_STAN.discover";
/** The prefix of the subject publish acks come back on (stan.go `DefaultACKPrefix`). */
export const ACK_PREFIX = "_STAN.acks";
/** The protocol version stan.go 0.10 announces (`protocolOne`). */
const PROTOCOL_ONE = 1;
/** How long a request to the server waits. @default 5000 (ms) */
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
/** stan.go's defaults of a subscription (`DefaultMaxInflight`, `DefaultAckWait`). */
const DEFAULT_MAX_IN_FLIGHT = 1024;
const DEFAULT_ACK_WAIT_SECONDS = 30;

/** A message delivered to a subscription. */
export interface StanMessage {
  readonly sequence: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly redelivered: boolean;
}

/** Options of {@link RawStanConnection.subscribe}. */
export interface RawSubscribeOptions {
  readonly queueGroup?: string;
  readonly durableName?: string;
  /** @default 1024 */
  readonly maxInFlight?: number;
  /** @default 30 */
  readonly ackWaitSeconds?: number;
  /** @default StartPosition.NewOnly */
  readonly startPosition?: StartPosition;
  readonly startSequence?: number;
  /** `auto` acks each message on receipt; `manual` acks only what {@link RawStanSubscription.ack} is given. @default "auto" */
  readonly ackMode?: "auto" | "manual";
}

/** A subscription of a {@link RawStanConnection}. */
export interface RawStanSubscription {
  readonly channel: string;
  readonly inbox: string;
  /** Where acks are sent (the server's `SubscriptionResponse.ackInbox`). */
  readonly ackInbox: string;
  /** Every message received so far, in order of arrival. */
  readonly received: readonly StanMessage[];
  /** Acks a message by its sequence. */
  ack(sequence: number): void;
  /** Waits until `count` messages have been received. */
  waitForMessages(count: number, timeoutMs?: number): Promise<void>;
  /** Closes it; a durable one stays on the server, offline (the protocol's subscription close). */
  close(): Promise<void>;
  /** Removes it from the server, a durable one included. */
  unsubscribe(): Promise<void>;
}

/** A connection to a STAN cluster. Disposing closes it. */
export interface RawStanConnection extends AsyncDisposable {
  readonly clientId: string;
  readonly nats: NatsConnection;
  /** Publishes and waits for the server's PubAck. @throws with the server's error, or on timeout */
  publish(channel: string, data: string | Uint8Array): Promise<void>;
  subscribe(channel: string, options?: RawSubscribeOptions): Promise<RawStanSubscription>;
  /** Sends the protocol's close request and closes the NATS connection. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link connectRawStan}. */
export interface RawStanOptions {
  /** NATS URLs of the servers (any server of a cluster reaches the STAN leader). */
  readonly servers: string | readonly string[];
  readonly clusterId: string;
  readonly clientId: string;
  /** The deadline of each request. @default 5000 (ms) */
  readonly timeoutMs?: number;
}

/** Connects to a STAN cluster: the NATS connection, then the STAN connect request. */
export async function connectRawStan(options: RawStanOptions): Promise<RawStanConnection> {
  const timeout = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const servers = typeof options.servers === "string" ? [options.servers] : [...options.servers];
  const nc = await connect({ servers, name: options.clientId, timeout, maxReconnectAttempts: -1 });
  try {
    return await stanSession(nc, options.clusterId, options.clientId, timeout);
  } catch (err) {
    await nc.close();
    throw err;
  }
}

async function stanSession(nc: NatsConnection, clusterId: string, clientId: string, timeout: number): Promise<RawStanConnection> {
  const encoder = new TextEncoder();
  // The server checks a client is alive with requests on its heartbeat inbox.
  const hbInbox = createInbox();
  nc.subscribe(hbInbox, {
    callback: (_err, msg) => {
      msg.respond();
    },
  });
  const connId = encoder.encode(nuid.next());
  const connectReply = await nc.request(
    `${DISCOVER_PREFIX}.${clusterId}`,
    new ProtoWriter().string(1, clientId).string(2, hbInbox).varint(3, PROTOCOL_ONE).bytes(4, connId).varint(5, 5).varint(6, 88).finish(),
    { timeout },
  );
  // ConnectResponse: pubPrefix 1, subRequests 2, unsubRequests 3, closeRequests 4, error 5, subCloseRequests 6.
  const response = decodeProto(connectReply.data);
  const error = stringField(response, 5);
  if (error) throw new Error(`STAN connect of ${clientId} refused: ${error}`);
  const pubPrefix = stringField(response, 1);
  const subRequests = stringField(response, 2);
  const unsubRequests = stringField(response, 3);
  const closeRequests = stringField(response, 4);
  const subCloseRequests = stringField(response, 6);

  // PubAck (guid 1, error 2) of every publish arrives on one subject.
  const ackSubject = `${ACK_PREFIX}.${nuid.next()}`;
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  const ackSub = nc.subscribe(ackSubject, {
    callback: (_err, msg) => {
      const ack = decodeProto(msg.data);
      const entry = waiting.get(stringField(ack, 1));
      if (!entry) return;
      waiting.delete(stringField(ack, 1));
      clearTimeout(entry.timer);
      const failure = stringField(ack, 2);
      if (failure) entry.reject(new Error(`STAN publish refused: ${failure}`));
      else entry.resolve();
    },
  });
  const subscriptions: Subscription[] = [ackSub];

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      try {
        // CloseRequest: clientID 1; CloseResponse: error 1.
        if (!nc.isClosed()) await nc.request(closeRequests, new ProtoWriter().string(1, clientId).finish(), { timeout });
      } catch {
        // The server may be gone: closing the NATS connection is what matters.
      } finally {
        for (const entry of waiting.values()) {
          clearTimeout(entry.timer);
          entry.reject(new Error("connection closed"));
        }
        waiting.clear();
        if (!nc.isClosed()) await nc.close();
      }
    })();
    return closing;
  };

  const publish = (channel: string, data: string | Uint8Array) => {
    const guid = nuid.next();
    const payload = typeof data === "string" ? encoder.encode(data) : data;
    // PubMsg: clientID 1, guid 2, subject 3, data 5, connID 6.
    const message = new ProtoWriter().string(1, clientId).string(2, guid).string(3, channel).bytes(5, payload).bytes(6, connId).finish();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(guid);
        reject(new Error(`no PubAck for ${channel} within ${timeout}ms`));
      }, timeout);
      waiting.set(guid, { resolve, reject, timer });
      nc.publish(`${pubPrefix}.${channel}`, message, { reply: ackSubject });
    });
  };

  const subscribe = async (channel: string, options: RawSubscribeOptions = {}): Promise<RawStanSubscription> => {
    const inbox = createInbox();
    const received: StanMessage[] = [];
    const autoAck = (options.ackMode ?? "auto") === "auto";
    let ackInbox: string | undefined;
    // Messages may arrive before the subscription's answer names the ack inbox: their acks wait for it.
    const unsentAcks: number[] = [];
    const ack = (sequence: number) => {
      if (ackInbox === undefined) unsentAcks.push(sequence);
      // Ack: subject 1, sequence 2.
      else nc.publish(ackInbox, new ProtoWriter().string(1, channel).varint(2, sequence).finish());
    };
    const delivery = nc.subscribe(inbox, {
      callback: (_err, msg: Msg) => {
        // MsgProto: sequence 1, subject 2, reply 3, data 4, timestamp 5, redelivered 6.
        const m = decodeProto(msg.data);
        const sequence = Number(varintField(m, 1));
        received.push({ sequence, subject: stringField(m, 2), data: bytesField(m, 4), redelivered: varintField(m, 6) === 1n });
        if (autoAck) ack(sequence);
      },
    });
    subscriptions.push(delivery);
    // SubscriptionRequest: clientID 1, subject 2, qGroup 3, inbox 4, maxInFlight 5, ackWaitInSecs 6,
    // durableName 7, startPosition 10, startSequence 11.
    const request = new ProtoWriter()
      .string(1, clientId)
      .string(2, channel)
      .string(3, options.queueGroup ?? "")
      .string(4, inbox)
      .varint(5, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)
      .varint(6, options.ackWaitSeconds ?? DEFAULT_ACK_WAIT_SECONDS)
      .string(7, options.durableName ?? "")
      .varint(10, options.startPosition ?? StartPosition.NewOnly)
      .varint(11, options.startSequence ?? 0)
      .finish();
    let reply: Msg;
    try {
      reply = await nc.request(subRequests, request, { timeout });
    } catch (err) {
      delivery.unsubscribe();
      throw err;
    }
    // SubscriptionResponse: ackInbox 2, error 3.
    const answer = decodeProto(reply.data);
    const refused = stringField(answer, 3);
    if (refused) {
      delivery.unsubscribe();
      throw new Error(`STAN subscription to ${channel} refused: ${refused}`);
    }
    ackInbox = stringField(answer, 2);
    for (const sequence of unsentAcks.splice(0)) ack(sequence);
    const acked = ackInbox;

    const end = async (subject: string, what: string) => {
      // UnsubscribeRequest: clientID 1, subject 2, inbox 3, durableName 4.
      const message = new ProtoWriter()
        .string(1, clientId)
        .string(2, channel)
        .string(3, acked)
        .string(4, options.durableName ?? "")
        .finish();
      const r = decodeProto((await nc.request(subject, message, { timeout })).data);
      delivery.unsubscribe();
      const failure = stringField(r, 3);
      if (failure) throw new Error(`STAN ${what} of ${channel} refused: ${failure}`);
    };
    return {
      channel,
      inbox,
      ackInbox: acked,
      received,
      ack,
      waitForMessages: async (count, timeoutMs = 10_000) => {
        await waitFor(`${count} messages on ${channel}`, () => (received.length >= count ? true : undefined), { timeoutMs });
      },
      close: () => end(subCloseRequests, "subscription close"),
      unsubscribe: () => end(unsubRequests, "unsubscribe"),
    };
  };

  return {
    clientId,
    nats: nc,
    publish,
    subscribe,
    close,
    [Symbol.asyncDispose]: close,
  };
}

// ---------------------------------------------------------------------------------------------
// Protobuf, the few wire types these messages use: varint (0) and length-delimited (2).

/** Writes the fields of one message; proto3 leaves fields at their default (0, "", empty) out. */
class ProtoWriter {
  private readonly out: number[] = [];

  varint(field: number, value: number | bigint): this {
    const v = BigInt.asUintN(64, BigInt(value));
    if (v === 0n) return this;
    this.tag(field, 0);
    this.raw(v);
    return this;
  }

  string(field: number, value: string): this {
    return value === "" ? this : this.bytes(field, new TextEncoder().encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    if (value.length === 0) return this;
    this.tag(field, 2);
    this.raw(BigInt(value.length));
    for (const b of value) this.out.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }

  private tag(field: number, wireType: number): void {
    this.raw(BigInt((field << 3) | wireType));
  }

  private raw(value: bigint): void {
    let v = value;
    while (v >= 0x80n) {
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
  }
}

/** A decoded message: each field's values, varints as bigint, length-delimited as bytes. */
type ProtoFields = Map<number, (bigint | Uint8Array)[]>;

function decodeProto(data: Uint8Array): ProtoFields {
  const fields: ProtoFields = new Map();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = data[pos++];
      if (b === undefined) throw new Error("truncated protobuf varint");
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < data.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wireType = key & 7;
    let value: bigint | Uint8Array;
    if (wireType === 0) value = varint();
    else if (wireType === 2) {
      const length = Number(varint());
      value = data.subarray(pos, pos + length);
      pos += length;
    } else if (wireType === 5) {
      value = BigInt(new DataView(data.buffer, data.byteOffset + pos, 4).getUint32(0, true));
      pos += 4;
    } else if (wireType === 1) {
      value = new DataView(data.buffer, data.byteOffset + pos, 8).getBigUint64(0, true);
      pos += 8;
    } else throw new Error(`unexpected protobuf wire type ${wireType}`);
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

function bytesField(fields: ProtoFields, field: number): Uint8Array {
  const v = fields.get(field)?.at(-1);
  return v instanceof Uint8Array ? v : new Uint8Array();
}

function stringField(fields: ProtoFields, field: number): string {
  return new TextDecoder().decode(bytesField(fields, field));
}

function varintField(fields: ProtoFields, field: number): bigint {
  const v = fields.get(field)?.at(-1);
  return typeof v === "bigint" ? v : 0n;
}
