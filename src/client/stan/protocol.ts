/**
 * The NATS Streaming (STAN) client protocol messages, field for field as nats-io/stan.go
 * pb/protocol.proto (v0.10.4, the client Argo Events builds with) declares them, with the same
 * field numbers and types. Encoding leaves out zero values and writes fields in ascending
 * number order, as the gogo-generated pb/protocol.pb.go does, so the bytes equal stan.go's.
 *
 * 64-bit integers are `bigint` here (a MsgProto timestamp is nanoseconds since 1970, past 2^53);
 * the connection turns the ones that fit into numbers.
 */
import { ProtoReader, ProtoWriter } from "./protobuf.js";

/**
 * Where a new subscription starts (protocol.proto `enum StartPosition`). A durable subscription
 * that already exists resumes where it was, whatever its request says.
 */
export const StartPosition = {
  /** Only messages published after the subscription is registered (stan.go's default). */
  newOnly: 0,
  /** The last message stored in the channel, then the new ones. */
  lastReceived: 1,
  /** Messages stored since `now - startTimeDelta` (nanoseconds). */
  timeDeltaStart: 2,
  /** Messages from `startSequence` on. */
  sequenceStart: 3,
  /** Every message the channel still holds. */
  first: 4,
} as const;
/** One of the {@link StartPosition} values. */
export type StartPosition = (typeof StartPosition)[keyof typeof StartPosition];

/** The protocol version this client speaks: 1 adds `connID` and client PINGs (stan.go `protocolOne`). */
export const PROTOCOL_ONE = 1;

/** A publish to the cluster (`PubMsg`), sent on `<pubPrefix>.<channel>` with the connection's ack inbox as reply. */
export interface PubMsg {
  /** 1 */
  readonly clientID: string;
  /** 2: a unique id the PubAck repeats. */
  readonly guid: string;
  /** 3: the channel. */
  readonly subject: string;
  /** 4 (optional) */
  readonly reply?: string;
  /** 5 */
  readonly data: Uint8Array;
  /** 6: the connection's id (protocol >= 1); a server that knows it may ignore `clientID`. */
  readonly connID?: Uint8Array;
  /** 10 (optional) */
  readonly sha256?: Uint8Array;
}

/** The cluster's acknowledgement of a publish (`PubAck`). */
export interface PubAck {
  /** 1 */
  readonly guid: string;
  /** 2: empty when the message was stored. */
  readonly error: string;
}

/** A message delivered to a subscription's inbox (`MsgProto`). */
export interface MsgProto {
  /** 1: the message's sequence in its channel. */
  readonly sequence: bigint;
  /** 2: the channel. */
  readonly subject: string;
  /** 3 */
  readonly reply: string;
  /** 4 */
  readonly data: Uint8Array;
  /** 5: when the server received it, nanoseconds since 1970-01-01 UTC. */
  readonly timestamp: bigint;
  /** 6 */
  readonly redelivered: boolean;
  /** 7: how many times it was delivered again (not persisted by the server). */
  readonly redeliveryCount: number;
  /** 10 (optional IEEE CRC32) */
  readonly crc32: number;
}

/** An acknowledgement of a delivered message (`Ack`), sent to the subscription's ack inbox. */
export interface Ack {
  /** 1: the channel. */
  readonly subject: string;
  /** 2 */
  readonly sequence: bigint;
}

/** The connect request (`ConnectRequest`), sent to `<discoverPrefix>.<clusterID>`. */
export interface ConnectRequest {
  /** 1 */
  readonly clientID: string;
  /** 2: the inbox the server sends heartbeats to; the client answers each. */
  readonly heartbeatInbox: string;
  /** 3 */
  readonly protocol: number;
  /** 4: unique per connection (stan.go: a NUID). */
  readonly connID: Uint8Array;
  /** 5: seconds between the client's PINGs. */
  readonly pingInterval: number;
  /** 6: unanswered PINGs after which the client considers the connection lost. */
  readonly pingMaxOut: number;
}

/** The server's answer to a connect request (`ConnectResponse`). */
export interface ConnectResponse {
  /** 1: publishes go to `<pubPrefix>.<channel>`. */
  readonly pubPrefix: string;
  /** 2 */
  readonly subRequests: string;
  /** 3 */
  readonly unsubRequests: string;
  /** 4 */
  readonly closeRequests: string;
  /** 5: empty when the connection was accepted. */
  readonly error: string;
  /** 6: empty on servers older than subscription close. */
  readonly subCloseRequests: string;
  /** 7 */
  readonly pingRequests: string;
  /** 8: seconds; 0 means "do not ping". */
  readonly pingInterval: number;
  /** 9 */
  readonly pingMaxOut: number;
  /** 10 */
  readonly protocol: number;
  /** 100 */
  readonly publicKey: string;
}

/** A client PING (`Ping`), sent to the connect response's `pingRequests`. */
export interface Ping {
  /** 1 */
  readonly connID: Uint8Array;
}

/** The answer to a PING (`PingResponse`); the server sends no bytes at all when the connection is known. */
export interface PingResponse {
  /** 1: e.g. "client has been replaced or is no longer registered". */
  readonly error: string;
}

/** A subscription request (`SubscriptionRequest`), sent to the connect response's `subRequests`. */
export interface SubscriptionRequest {
  /** 1 */
  readonly clientID: string;
  /** 2: the channel. */
  readonly subject: string;
  /** 3 (optional) */
  readonly qGroup?: string;
  /** 4: where the server delivers the messages. */
  readonly inbox: string;
  /** 5: unacknowledged messages the server sends before it waits; >= 1. */
  readonly maxInFlight: number;
  /** 6: seconds the server waits for an ack before it delivers again; >= 1. */
  readonly ackWaitInSecs: number;
  /** 7 (optional) */
  readonly durableName?: string;
  /** 10 */
  readonly startPosition: StartPosition;
  /** 11 (with {@link StartPosition.sequenceStart}) */
  readonly startSequence?: bigint;
  /** 12 (with {@link StartPosition.timeDeltaStart}): nanoseconds before now. */
  readonly startTimeDelta?: bigint;
}

/** The answer to a subscription, unsubscribe or subscription close request (`SubscriptionResponse`). */
export interface SubscriptionResponse {
  /** 2: where the subscriber sends its acks. */
  readonly ackInbox: string;
  /** 3: empty when the request was accepted. */
  readonly error: string;
}

/** An unsubscribe or subscription close request (`UnsubscribeRequest`). */
export interface UnsubscribeRequest {
  /** 1 */
  readonly clientID: string;
  /** 2: the channel. */
  readonly subject: string;
  /** 3: identifies the subscription; stan.go sends the ack inbox of the SubscriptionResponse here. */
  readonly inbox: string;
  /** 4 (optional) */
  readonly durableName?: string;
}

/** A request to close the connection (`CloseRequest`). */
export interface CloseRequest {
  /** 1 */
  readonly clientID: string;
}

/** The answer to a close request (`CloseResponse`). */
export interface CloseResponse {
  /** 1 */
  readonly error: string;
}

const EMPTY: Uint8Array = new Uint8Array(0);

export function encodePubMsg(m: PubMsg): Uint8Array {
  return new ProtoWriter(64 + m.data.length)
    .string(1, m.clientID)
    .string(2, m.guid)
    .string(3, m.subject)
    .string(4, m.reply ?? "")
    .bytes(5, m.data)
    .bytes(6, m.connID ?? EMPTY)
    .bytes(10, m.sha256 ?? EMPTY)
    .finish();
}

export function decodePubMsg(bytes: Uint8Array): Required<PubMsg> {
  let clientID = "";
  let guid = "";
  let subject = "";
  let reply = "";
  let data = EMPTY;
  let connID = EMPTY;
  let sha256 = EMPTY;
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    switch (key.field) {
      case 1:
        clientID = r.string(key);
        break;
      case 2:
        guid = r.string(key);
        break;
      case 3:
        subject = r.string(key);
        break;
      case 4:
        reply = r.string(key);
        break;
      case 5:
        data = r.bytes(key);
        break;
      case 6:
        connID = r.bytes(key);
        break;
      case 10:
        sha256 = r.bytes(key);
        break;
      default:
        r.skip(key);
    }
  }
  return { clientID, guid, subject, reply, data, connID, sha256 };
}

export function encodePubAck(m: PubAck): Uint8Array {
  return new ProtoWriter().string(1, m.guid).string(2, m.error).finish();
}

export function decodePubAck(bytes: Uint8Array): PubAck {
  let guid = "";
  let error = "";
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    if (key.field === 1) guid = r.string(key);
    else if (key.field === 2) error = r.string(key);
    else r.skip(key);
  }
  return { guid, error };
}

export function encodeMsgProto(m: MsgProto): Uint8Array {
  return new ProtoWriter(64 + m.data.length)
    .uint64(1, m.sequence)
    .string(2, m.subject)
    .string(3, m.reply)
    .bytes(4, m.data)
    .int64(5, m.timestamp)
    .bool(6, m.redelivered)
    .uint32(7, m.redeliveryCount)
    .uint32(10, m.crc32)
    .finish();
}

export function decodeMsgProto(bytes: Uint8Array): MsgProto {
  let sequence = 0n;
  let subject = "";
  let reply = "";
  let data = EMPTY;
  let timestamp = 0n;
  let redelivered = false;
  let redeliveryCount = 0;
  let crc32 = 0;
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    switch (key.field) {
      case 1:
        sequence = r.uint64(key);
        break;
      case 2:
        subject = r.string(key);
        break;
      case 3:
        reply = r.string(key);
        break;
      case 4:
        data = r.bytes(key);
        break;
      case 5:
        timestamp = r.int64(key);
        break;
      case 6:
        redelivered = r.bool(key);
        break;
      case 7:
        redeliveryCount = r.uint32(key);
        break;
      case 10:
        crc32 = r.uint32(key);
        break;
      default:
        r.skip(key);
    }
  }
  return { sequence, subject, reply, data, timestamp, redelivered, redeliveryCount, crc32 };
}

export function encodeAck(m: Ack): Uint8Array {
  return new ProtoWriter().string(1, m.subject).uint64(2, m.sequence).finish();
}

export function decodeAck(bytes: Uint8Array): Ack {
  let subject = "";
  let sequence = 0n;
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    if (key.field === 1) subject = r.string(key);
    else if (key.field === 2) sequence = r.uint64(key);
    else r.skip(key);
  }
  return { subject, sequence };
}

export function encodeConnectRequest(m: ConnectRequest): Uint8Array {
  return new ProtoWriter()
    .string(1, m.clientID)
    .string(2, m.heartbeatInbox)
    .int32(3, m.protocol)
    .bytes(4, m.connID)
    .int32(5, m.pingInterval)
    .int32(6, m.pingMaxOut)
    .finish();
}

export function decodeConnectRequest(bytes: Uint8Array): ConnectRequest {
  let clientID = "";
  let heartbeatInbox = "";
  let protocol = 0;
  let connID = EMPTY;
  let pingInterval = 0;
  let pingMaxOut = 0;
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    switch (key.field) {
      case 1:
        clientID = r.string(key);
        break;
      case 2:
        heartbeatInbox = r.string(key);
        break;
      case 3:
        protocol = r.int32(key);
        break;
      case 4:
        connID = r.bytes(key);
        break;
      case 5:
        pingInterval = r.int32(key);
        break;
      case 6:
        pingMaxOut = r.int32(key);
        break;
      default:
        r.skip(key);
    }
  }
  return { clientID, heartbeatInbox, protocol, connID, pingInterval, pingMaxOut };
}

export function encodeConnectResponse(m: Partial<ConnectResponse>): Uint8Array {
  return new ProtoWriter()
    .string(1, m.pubPrefix ?? "")
    .string(2, m.subRequests ?? "")
    .string(3, m.unsubRequests ?? "")
    .string(4, m.closeRequests ?? "")
    .string(5, m.error ?? "")
    .string(6, m.subCloseRequests ?? "")
    .string(7, m.pingRequests ?? "")
    .int32(8, m.pingInterval ?? 0)
    .int32(9, m.pingMaxOut ?? 0)
    .int32(10, m.protocol ?? 0)
    .string(100, m.publicKey ?? "")
    .finish();
}

export function decodeConnectResponse(bytes: Uint8Array): ConnectResponse {
  const m = {
    pubPrefix: "",
    subRequests: "",
    unsubRequests: "",
    closeRequests: "",
    error: "",
    subCloseRequests: "",
    pingRequests: "",
    pingInterval: 0,
    pingMaxOut: 0,
    protocol: 0,
    publicKey: "",
  };
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    switch (key.field) {
      case 1:
        m.pubPrefix = r.string(key);
        break;
      case 2:
        m.subRequests = r.string(key);
        break;
      case 3:
        m.unsubRequests = r.string(key);
        break;
      case 4:
        m.closeRequests = r.string(key);
        break;
      case 5:
        m.error = r.string(key);
        break;
      case 6:
        m.subCloseRequests = r.string(key);
        break;
      case 7:
        m.pingRequests = r.string(key);
        break;
      case 8:
        m.pingInterval = r.int32(key);
        break;
      case 9:
        m.pingMaxOut = r.int32(key);
        break;
      case 10:
        m.protocol = r.int32(key);
        break;
      case 100:
        m.publicKey = r.string(key);
        break;
      default:
        r.skip(key);
    }
  }
  return m;
}

export function encodePing(m: Ping): Uint8Array {
  return new ProtoWriter().bytes(1, m.connID).finish();
}

export function decodePing(bytes: Uint8Array): Ping {
  let connID = EMPTY;
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    if (key.field === 1) connID = r.bytes(key);
    else r.skip(key);
  }
  return { connID };
}

export function encodePingResponse(m: PingResponse): Uint8Array {
  return new ProtoWriter().string(1, m.error).finish();
}

export function decodePingResponse(bytes: Uint8Array): PingResponse {
  return { error: decodeErrorField(bytes, 1) };
}

export function encodeSubscriptionRequest(m: SubscriptionRequest): Uint8Array {
  return new ProtoWriter()
    .string(1, m.clientID)
    .string(2, m.subject)
    .string(3, m.qGroup ?? "")
    .string(4, m.inbox)
    .int32(5, m.maxInFlight)
    .int32(6, m.ackWaitInSecs)
    .string(7, m.durableName ?? "")
    .int32(10, m.startPosition)
    .uint64(11, m.startSequence ?? 0n)
    .int64(12, m.startTimeDelta ?? 0n)
    .finish();
}

export function decodeSubscriptionRequest(bytes: Uint8Array): Required<SubscriptionRequest> {
  let clientID = "";
  let subject = "";
  let qGroup = "";
  let inbox = "";
  let maxInFlight = 0;
  let ackWaitInSecs = 0;
  let durableName = "";
  let startPosition = 0;
  let startSequence = 0n;
  let startTimeDelta = 0n;
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    switch (key.field) {
      case 1:
        clientID = r.string(key);
        break;
      case 2:
        subject = r.string(key);
        break;
      case 3:
        qGroup = r.string(key);
        break;
      case 4:
        inbox = r.string(key);
        break;
      case 5:
        maxInFlight = r.int32(key);
        break;
      case 6:
        ackWaitInSecs = r.int32(key);
        break;
      case 7:
        durableName = r.string(key);
        break;
      case 10:
        startPosition = r.int32(key);
        break;
      case 11:
        startSequence = r.uint64(key);
        break;
      case 12:
        startTimeDelta = r.int64(key);
        break;
      default:
        r.skip(key);
    }
  }
  // An enum value this client does not know is kept as sent: a decoder must not guess.
  return {
    clientID,
    subject,
    qGroup,
    inbox,
    maxInFlight,
    ackWaitInSecs,
    durableName,
    startPosition: startPosition as StartPosition,
    startSequence,
    startTimeDelta,
  };
}

export function encodeSubscriptionResponse(m: SubscriptionResponse): Uint8Array {
  return new ProtoWriter().string(2, m.ackInbox).string(3, m.error).finish();
}

export function decodeSubscriptionResponse(bytes: Uint8Array): SubscriptionResponse {
  let ackInbox = "";
  let error = "";
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    if (key.field === 2) ackInbox = r.string(key);
    else if (key.field === 3) error = r.string(key);
    else r.skip(key);
  }
  return { ackInbox, error };
}

export function encodeUnsubscribeRequest(m: UnsubscribeRequest): Uint8Array {
  return new ProtoWriter()
    .string(1, m.clientID)
    .string(2, m.subject)
    .string(3, m.inbox)
    .string(4, m.durableName ?? "")
    .finish();
}

export function decodeUnsubscribeRequest(bytes: Uint8Array): Required<UnsubscribeRequest> {
  let clientID = "";
  let subject = "";
  let inbox = "";
  let durableName = "";
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    switch (key.field) {
      case 1:
        clientID = r.string(key);
        break;
      case 2:
        subject = r.string(key);
        break;
      case 3:
        inbox = r.string(key);
        break;
      case 4:
        durableName = r.string(key);
        break;
      default:
        r.skip(key);
    }
  }
  return { clientID, subject, inbox, durableName };
}

export function encodeCloseRequest(m: CloseRequest): Uint8Array {
  return new ProtoWriter().string(1, m.clientID).finish();
}

export function decodeCloseRequest(bytes: Uint8Array): CloseRequest {
  let clientID = "";
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    if (key.field === 1) clientID = r.string(key);
    else r.skip(key);
  }
  return { clientID };
}

export function encodeCloseResponse(m: CloseResponse): Uint8Array {
  return new ProtoWriter().string(1, m.error).finish();
}

export function decodeCloseResponse(bytes: Uint8Array): CloseResponse {
  return { error: decodeErrorField(bytes, 1) };
}

/** The one string field of a message that holds only an error text. */
function decodeErrorField(bytes: Uint8Array, field: number): string {
  let error = "";
  const r = new ProtoReader(bytes);
  for (let key = r.next(); key !== undefined; key = r.next()) {
    if (key.field === field) error = r.string(key);
    else r.skip(key);
  }
  return error;
}
