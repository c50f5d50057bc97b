/**
 * A NATS Streaming (STAN) connection over an existing nats.js connection, as nats-io/stan.go
 * stan.go (v0.10.4, the client Argo Events builds with) makes one:
 *
 * - `Connect`: subscribes a heartbeat inbox (the server's heartbeats are requests on it, answered
 *   with an empty message, `processHeartBeat`) and a PING reply inbox, then requests
 *   `<DiscoverPrefix>.<clusterID>` (`_STAN.discover.<clusterID>`) with a `ConnectRequest`
 *   (clientID, heartbeat inbox, protocol 1, a NUID as connID, ping interval and max out). A timeout
 *   or no responders is stan.go's `ErrConnectReqTimeout`, "possibly wrong cluster ID?". The
 *   `ConnectResponse` gives the subjects of publishes (`pubPrefix`), subscription, unsubscribe,
 *   subscription close, close and PING requests, or the server's refusal in `error`.
 * - acks of publishes: one subscription on `_STAN.acks.<nuid>` (`DefaultACKPrefix`); each
 *   `PubMsg{clientID, guid, subject, data, connID}` goes to `<pubPrefix>.<channel>` with that reply
 *   subject; the `PubAck` is matched by guid; a non-empty `error` fails the publish; no PubAck
 *   within `AckTimeout` (30 s) is `ErrTimeout` (`publishAsync`, `processAck`). At most
 *   `MaxPubAcksInflight` (16384) publishes wait for their acks; further ones wait for a place.
 * - PINGs (protocol >= 1, when the response's ping interval is not 0): every interval a `Ping{connID}`
 *   to `pingRequests` with the PING inbox as reply; each sent PING counts one out, any answer
 *   without error resets the count; past `PingMaxOut`, or on an answer with an error (the server
 *   replaced or forgot the client), the connection is lost (`pingServer`, `processPingResponse`,
 *   `closeDueToPing`). A 503 (no responders) answer counts as no answer.
 * - `Close`: ends the local state first (`cleanupOnClose`: pending publishes fail with
 *   `ErrConnectionClosed`), then requests `closeRequests` with `CloseRequest{clientID}`. The server
 *   closes the client's subscriptions; durables stay. The NATS connection is the caller's and stays
 *   open, as with stan.go's `NatsConn` option (Argo Events' base/stan.go passes its own).
 *
 * The server side was checked in nats-io/nats-streaming-server server/server.go (v0.25.6):
 * `connectCB` refuses a client ID held by a connection that still answers its heartbeats
 * (`isDuplicateConnect`: "stan: clientID already registered"); `checkClientHealth` drops a client
 * after `hb_fail_count` unanswered heartbeats; `processClientPings` answers an unknown connID
 * with "client has been replaced or is no longer registered"; `processClientPublish` refuses a
 * publish of an unknown client with "stan: invalid publish request".
 */
import { createInbox, errors as natsErrors, nuid, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";

import { ClientErrorCode } from "../errors.js";
import { isNoResponders } from "../publish-errors.js";
import { invalidStanOptions, StanError, StanFailureReason } from "./errors.js";
import {
  decodeConnectResponse,
  decodePingResponse,
  decodePubAck,
  decodeSubscriptionResponse,
  encodeCloseRequest,
  encodeConnectRequest,
  encodePing,
  encodePubMsg,
  encodeSubscriptionRequest,
  encodeUnsubscribeRequest,
  decodeCloseResponse,
  PROTOCOL_ONE,
  type ConnectResponse,
} from "./protocol.js";
import {
  DEFAULT_ACK_WAIT_SECONDS,
  DEFAULT_MAX_IN_FLIGHT,
  startPositionOf,
  StanSubscription,
  type StanSubscribeOptions,
  type SubscriptionHost,
} from "./subscription.js";

/** stan.go's `DefaultDiscoverPrefix`: connect requests go to `<prefix>.<clusterID>`. */
export const DEFAULT_DISCOVER_PREFIX = "_STAN.discover";
/** stan.go's `DefaultACKPrefix`: the connection's PubAck inbox is `<prefix>.<nuid>`. */
export const DEFAULT_ACK_PREFIX = "_STAN.acks";
/** stan.go's `DefaultConnectWait` (2 s): the connect, subscribe, unsubscribe and close requests. */
export const DEFAULT_STAN_CONNECT_TIMEOUT_MILLIS = 2_000;
/** stan.go's `DefaultAckWait` (30 s) as the wait for a publish's PubAck (`AckTimeout`). */
export const DEFAULT_PUB_ACK_TIMEOUT_MILLIS = 30_000;
/** stan.go's `DefaultMaxPubAcksInflight`. */
export const DEFAULT_MAX_PUB_ACKS_IN_FLIGHT = 16_384;
/** stan.go's `DefaultPingInterval`, in seconds (Argo Events' drivers: `stan.Pings(5, 60)`). */
export const DEFAULT_PING_INTERVAL_SECONDS = 5;
/** stan.go's `DefaultPingMaxOut` (Argo Events' drivers: 60). */
export const DEFAULT_PING_MAX_OUT = 88;

/** What nats-streaming-server accepts as a client ID (server.go `clientIDRegEx`). */
const CLIENT_ID = /^[a-zA-Z0-9_-]+$/;
/** The server's refusal of a client ID that a live connection holds (server.go `ErrInvalidClient`). */
const CLIENT_ID_TAKEN = "stan: clientID already registered";

/** Options of {@link connectStan}. */
export interface StanConnectOptions {
  /** The cluster ID of the streaming server (`-cid`; Argo Events: `status.config.nats.clusterID`, `eventbus-<bus name>` for a managed bus). */
  readonly clusterId: string;
  /** Letters, digits, `-` and `_` only. One live connection per client ID and cluster. */
  readonly clientId: string;
  /** @default "_STAN.discover" */
  readonly discoverPrefix?: string;
  /** The wait for the connect, subscribe, unsubscribe and close answers. @default 2000 (ms) */
  readonly connectTimeoutMillis?: number;
  /** The wait for a publish's acknowledgement. @default 30000 (ms) */
  readonly pubAckTimeoutMillis?: number;
  /** Publishes waiting for their acknowledgements; further ones wait for a place. @default 16384 */
  readonly maxPubAcksInFlight?: number;
  /** Whole seconds between the client's PINGs; >= 1. @default 5 */
  readonly pingIntervalSeconds?: number;
  /** Unanswered PINGs after which the connection is lost; >= 2. @default 88 */
  readonly pingMaxOut?: number;
  /**
   * Called once when the connection is lost (not on {@link StanConnection.close}): PINGs unanswered,
   * the server replaced the client, or the NATS connection closed. Pending publishes fail and
   * subscriptions throw the same error. @default none
   */
  readonly onConnectionLost?: (error: StanError) => void;
}

/** What the server answered a publish with. */
export interface StanPubAck {
  /** The publish's unique id, which the server's PubAck repeated. */
  readonly guid: string;
}

interface ResolvedOptions {
  readonly clusterId: string;
  readonly clientId: string;
  readonly discoverPrefix: string;
  readonly connectTimeoutMillis: number;
  readonly pubAckTimeoutMillis: number;
  readonly maxPubAcksInFlight: number;
  readonly pingIntervalSeconds: number;
  readonly pingMaxOut: number;
  readonly onConnectionLost: ((error: StanError) => void) | undefined;
}

/** A publish waiting for its PubAck. */
interface PendingPublish {
  readonly channel: string;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (ack: StanPubAck) => void;
  readonly reject: (err: StanError) => void;
}

/** The NATS subscriptions and subjects of a connection that the server accepted. */
interface Session {
  readonly connId: Uint8Array;
  readonly heartbeats: Subscription;
  readonly pings: Subscription;
  readonly pingInbox: string;
  readonly response: ConnectResponse;
}

const ConnectionState = {
  open: "open",
  closed: "closed",
  lost: "lost",
} as const;
type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/**
 * Connects to a NATS Streaming cluster over `nc` (which stays the caller's: closing the STAN
 * connection leaves it open).
 * @throws {@link StanError}: `no-server` when nothing answers `_STAN.discover.<clusterId>` (check the
 *   cluster ID), `client-id-taken` when a live connection holds the client ID, `refused` for another
 *   refusal, `invalid-options` before anything is sent, `closed` when `nc` is closed
 */
export async function connectStan(nc: NatsConnection, options: StanConnectOptions): Promise<StanConnection> {
  const opts = parseStanOptions(options);
  if (nc.isClosed())
    throw new StanError(
      ClientErrorCode.closed,
      StanFailureReason.closed,
      `connect to NATS Streaming cluster ${JSON.stringify(opts.clusterId)}: the NATS connection is closed`,
    );
  const connId = new TextEncoder().encode(nuid.next());
  const heartbeatInbox = createInbox();
  const pingInbox = createInbox();
  // Both inboxes listen before the request: the server may send a heartbeat right away; the PING
  // answers find the connection once it exists (set below).
  let connection: StanConnection | undefined;
  const heartbeats = nc.subscribe(heartbeatInbox, {
    callback: (err, msg) => {
      if (err !== null || msg.reply === undefined) return;
      try {
        nc.publish(msg.reply);
      } catch {
        // The NATS connection is closing.
      }
    },
  });
  const pings = nc.subscribe(pingInbox, { callback: (err, msg) => (err === null ? connection?.pingAnswered(msg) : undefined) });
  const cleanup = () => {
    for (const sub of [heartbeats, pings]) {
      try {
        sub.unsubscribe();
      } catch {
        // The NATS connection is closing.
      }
    }
  };
  const discover = `${opts.discoverPrefix}.${opts.clusterId}`;
  const cluster = JSON.stringify(opts.clusterId);
  const request = encodeConnectRequest({
    clientID: opts.clientId,
    heartbeatInbox,
    protocol: PROTOCOL_ONE,
    connID: connId,
    pingInterval: opts.pingIntervalSeconds,
    pingMaxOut: opts.pingMaxOut,
  });
  let reply: Msg;
  try {
    reply = await nc.request(discover, request, { timeout: opts.connectTimeoutMillis });
  } catch (cause) {
    cleanup();
    const why = isNoResponders(cause)
      ? "nothing listens on"
      : cause instanceof natsErrors.TimeoutError
        ? `no answer within ${opts.connectTimeoutMillis} ms on`
        : `the request failed (${(cause as Error).message}) on`;
    throw new StanError(
      ClientErrorCode.unreachable,
      StanFailureReason.noServer,
      `connect to NATS Streaming cluster ${cluster}: ${why} ${discover}; check the cluster ID (nats-streaming-server's -cid; Argo Events' status.config.nats.clusterID, eventbus-<bus name> for a managed bus) and that a streaming server runs behind this NATS server`,
      { cause },
    );
  }
  let response: ConnectResponse;
  try {
    response = decodeConnectResponse(reply.data);
  } catch (cause) {
    cleanup();
    throw new StanError(
      ClientErrorCode.unreachable,
      StanFailureReason.malformed,
      `connect to NATS Streaming cluster ${cluster}: the answer on ${discover} is not a ConnectResponse`,
      { cause },
    );
  }
  if (response.error !== "") {
    cleanup();
    if (response.error === CLIENT_ID_TAKEN) {
      throw new StanError(
        ClientErrorCode.invalidOptions,
        StanFailureReason.clientIdTaken,
        `connect to NATS Streaming cluster ${cluster}: client ID ${JSON.stringify(opts.clientId)} is held by another live connection (${response.error}); use a unique client ID, or close the other connection`,
      );
    }
    throw new StanError(
      ClientErrorCode.invalidOptions,
      StanFailureReason.refused,
      `connect to NATS Streaming cluster ${cluster} as ${JSON.stringify(opts.clientId)}: the server refused: ${response.error}`,
    );
  }
  connection = new StanConnection(nc, opts, { connId, heartbeats, pings, pingInbox, response });
  return connection;
}

/** Checks and completes the options; refuses what cannot work before anything is sent. */
export function parseStanOptions(options: StanConnectOptions): ResolvedOptions {
  const issues: string[] = [];
  const { clusterId, clientId } = options;
  if (typeof clusterId !== "string" || clusterId === "" || /[\s*>]/.test(clusterId) || clusterId.startsWith(".") || clusterId.endsWith(".")) {
    issues.push(`clusterId: must be a non-empty subject token without whitespace, "*" or ">", got ${JSON.stringify(clusterId)}`);
  }
  if (typeof clientId !== "string" || !CLIENT_ID.test(clientId)) {
    issues.push(`clientId: only letters, digits, "-" and "_" are allowed (nats-streaming-server refuses others), got ${JSON.stringify(clientId)}`);
  }
  const positive = (name: string, value: number | undefined, fallback: number, minimum: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < minimum) issues.push(`${name}: must be a whole number >= ${minimum}, got ${value}`);
    return value;
  };
  const resolved: ResolvedOptions = {
    clusterId,
    clientId,
    discoverPrefix: options.discoverPrefix ?? DEFAULT_DISCOVER_PREFIX,
    connectTimeoutMillis: positive("connectTimeoutMillis", options.connectTimeoutMillis, DEFAULT_STAN_CONNECT_TIMEOUT_MILLIS, 1),
    pubAckTimeoutMillis: positive("pubAckTimeoutMillis", options.pubAckTimeoutMillis, DEFAULT_PUB_ACK_TIMEOUT_MILLIS, 1),
    maxPubAcksInFlight: positive("maxPubAcksInFlight", options.maxPubAcksInFlight, DEFAULT_MAX_PUB_ACKS_IN_FLIGHT, 1),
    // stan.go `Pings`: interval >= 1, maxOut >= 2 (with 1 the first PING would close the connection).
    pingIntervalSeconds: positive("pingIntervalSeconds", options.pingIntervalSeconds, DEFAULT_PING_INTERVAL_SECONDS, 1),
    pingMaxOut: positive("pingMaxOut", options.pingMaxOut, DEFAULT_PING_MAX_OUT, 2),
    onConnectionLost: options.onConnectionLost,
  };
  if (resolved.discoverPrefix === "" || /[\s*>]/.test(resolved.discoverPrefix))
    issues.push(`discoverPrefix: must be a subject without whitespace or wildcards, got ${JSON.stringify(resolved.discoverPrefix)}`);
  if (issues.length > 0) throw invalidStanOptions(`connect to NATS Streaming: ${issues.join("; ")}`);
  return resolved;
}

/**
 * Whether `channel` is a channel name nats-streaming-server accepts (util.go `IsChannelNameValid`
 * without wildcards): not empty, no empty token, no `*`, `>` or `/`. Whitespace is refused too,
 * as no NATS subject holds it.
 */
export function isValidChannel(channel: string): boolean {
  if (typeof channel !== "string" || channel === "") return false;
  if (/[\s*>/]/.test(channel)) return false;
  return !channel.split(".").some((token) => token === "");
}

/**
 * A connection to a NATS Streaming cluster: publish to channels, subscribe to them. Made by
 * {@link connectStan}; `await using` closes it.
 */
export class StanConnection implements AsyncDisposable, SubscriptionHost {
  readonly clusterId: string;
  readonly clientId: string;
  readonly requestTimeoutMillis: number;
  /** The server's protocol version (1 for servers that take client PINGs). */
  readonly serverProtocol: number;
  readonly unsubRequests: string;
  readonly subCloseRequests: string;

  private state: ConnectionState = ConnectionState.open;
  private error: StanError | undefined;
  private readonly ackSubject: string;
  private readonly acks: Subscription;
  private readonly pending = new Map<string, PendingPublish>();
  private readonly slotWaiters: { resolve: () => void; reject: (err: StanError) => void }[] = [];
  private readonly subscriptions = new Map<string, StanSubscription>();
  private readonly pingBytes: Uint8Array;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingsOut = 0;
  /** Publishes that hold a place: sent or about to be, their PubAck not yet in. */
  private inFlight = 0;
  private closing: Promise<void> | undefined;
  private readonly ended: Promise<StanError | undefined>;
  private resolveEnded!: (error: StanError | undefined) => void;

  /** @internal Made by {@link connectStan}. */
  constructor(
    readonly nc: NatsConnection,
    private readonly opts: ResolvedOptions,
    private readonly session: Session,
  ) {
    this.clusterId = opts.clusterId;
    this.clientId = opts.clientId;
    this.requestTimeoutMillis = opts.connectTimeoutMillis;
    const response = session.response;
    this.serverProtocol = response.protocol;
    this.unsubRequests = response.unsubRequests;
    this.subCloseRequests = response.subCloseRequests;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.ackSubject = `${DEFAULT_ACK_PREFIX}.${nuid.next()}`;
    this.acks = nc.subscribe(this.ackSubject, { callback: (err, msg) => (err === null ? this.pubAckReceived(msg) : undefined) });
    this.pingBytes = encodePing({ connID: session.connId });
    // stan.go: PINGs only with a server at protocol >= 1 that returned a ping interval.
    if (response.protocol >= PROTOCOL_ONE && response.pingInterval > 0) {
      const intervalMillis = response.pingInterval * 1000;
      const maxOut = response.pingMaxOut;
      this.pingTimer = setInterval(() => this.ping(maxOut), intervalMillis);
      this.pingTimer.unref();
    } else {
      this.unsubscribeQuietly(session.pings);
    }
    void nc.closed().then(() => this.lose(new StanError(ClientErrorCode.closed, StanFailureReason.connectionLost, "the NATS connection closed")));
  }

  /** Whether the connection can publish and subscribe. */
  get isOpen(): boolean {
    return this.state === ConnectionState.open;
  }

  /** Resolves when the connection ends: undefined after {@link close}, the error when it was lost. */
  closed(): Promise<StanError | undefined> {
    return this.ended;
  }

  /** @internal The error of a closed or lost connection, else undefined. */
  connectionError(): StanError | undefined {
    return this.error;
  }

  /** @internal */
  removeSubscription(inbox: string): void {
    this.subscriptions.delete(inbox);
  }

  /**
   * Publishes `data` to `channel` and resolves when the cluster has stored it (its PubAck).
   * @throws {@link StanError}: `refused` with the server's reason, `timeout` when no PubAck came
   *   within `pubAckTimeoutMillis` (the message may still be stored), `closed` or
   *   `connection-lost`, `invalid-options` for a channel name the server refuses
   */
  async publish(channel: string, data: Uint8Array): Promise<StanPubAck> {
    this.throwIfEnded(`publish to ${JSON.stringify(channel)}`);
    if (!isValidChannel(channel))
      throw invalidStanOptions(`publish: channel ${JSON.stringify(channel)} is not a valid channel name (no empty token, "*", ">", "/" or whitespace)`);
    const guid = nuid.next();
    const bytes = encodePubMsg({ clientID: this.clientId, guid, subject: channel, data, connID: this.session.connId });
    const maxPayload = this.nc.info?.max_payload;
    if (maxPayload !== undefined && bytes.length > maxPayload) {
      throw new StanError(
        ClientErrorCode.publishFailed,
        StanFailureReason.refused,
        `publish to ${JSON.stringify(channel)}: the message is ${bytes.length} bytes with its STAN envelope, over the server's max_payload of ${maxPayload} bytes`,
      );
    }
    await this.takeSlot(channel);
    if (this.error !== undefined) {
      this.releaseSlot();
      this.throwIfEnded(`publish to ${JSON.stringify(channel)}`);
    }
    return new Promise<StanPubAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(guid)) return;
        this.releaseSlot();
        reject(
          new StanError(
            ClientErrorCode.publishFailed,
            StanFailureReason.timeout,
            `publish to ${JSON.stringify(channel)}: no acknowledgement within ${this.opts.pubAckTimeoutMillis} ms (guid ${guid}); the message may or may not be stored`,
          ),
        );
      }, this.opts.pubAckTimeoutMillis);
      this.pending.set(guid, { channel, timer, resolve, reject });
      try {
        this.nc.publish(`${this.session.response.pubPrefix}.${channel}`, bytes, { reply: this.ackSubject });
      } catch (cause) {
        clearTimeout(timer);
        this.pending.delete(guid);
        this.releaseSlot();
        reject(
          new StanError(ClientErrorCode.publishFailed, StanFailureReason.closed, `publish to ${JSON.stringify(channel)}: the NATS connection refused it`, {
            cause,
          }),
        );
      }
    });
  }

  /**
   * Subscribes to `channel`. Argo Events' sensors subscribe with {@link argoSensorSubscribeOptions}.
   * @throws {@link StanError}: `refused` with the server's reason (e.g. "stan: duplicate durable
   *   registration"), `timeout`, `closed`, `invalid-options`
   */
  async subscribe(channel: string, options: StanSubscribeOptions = {}): Promise<StanSubscription> {
    this.throwIfEnded(`subscribe to ${JSON.stringify(channel)}`);
    const issues: string[] = [];
    if (!isValidChannel(channel)) issues.push(`channel ${JSON.stringify(channel)} is not a valid channel name (no empty token, "*", ">", "/" or whitespace)`);
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 0x7fff_ffff)
      issues.push(`maxInFlight: must be a whole number >= 1, got ${maxInFlight}`);
    const ackWaitSeconds = options.ackWaitSeconds ?? DEFAULT_ACK_WAIT_SECONDS;
    // The server refuses an ack wait below 1 s (server.go ErrInvalidAckWait).
    if (!Number.isInteger(ackWaitSeconds) || ackWaitSeconds < 1 || ackWaitSeconds > 0x7fff_ffff)
      issues.push(`ackWaitSeconds: must be a whole number >= 1, got ${ackWaitSeconds}`);
    for (const [name, value] of [
      ["queueGroup", options.queueGroup],
      ["durableName", options.durableName],
    ] as const) {
      if (value !== undefined && (value === "" || /\s/.test(value))) issues.push(`${name}: must be non-empty without whitespace, got ${JSON.stringify(value)}`);
    }
    const start = startPositionOf(options.startAt, nowNanos);
    if (typeof start === "string") issues.push(start);
    if (issues.length > 0 || typeof start === "string") throw invalidStanOptions(`subscribe to ${JSON.stringify(channel)}: ${issues.join("; ")}`);

    const subscription = new StanSubscription(this, {
      channel,
      inbox: createInbox(),
      queueGroup: options.queueGroup,
      durableName: options.durableName,
      manualAcks: options.manualAcks ?? false,
    });
    subscription.listen();
    const request = encodeSubscriptionRequest({
      clientID: this.clientId,
      subject: channel,
      qGroup: options.queueGroup,
      inbox: subscription.inbox,
      maxInFlight,
      ackWaitInSecs: ackWaitSeconds,
      durableName: options.durableName,
      ...start,
    });
    const what = `subscribe to ${JSON.stringify(channel)}`;
    let reply: Msg;
    try {
      reply = await this.nc.request(this.session.response.subRequests, request, { timeout: this.requestTimeoutMillis });
    } catch (cause) {
      subscription.abandon();
      const noServer = isNoResponders(cause);
      if (!noServer && this.subCloseRequests !== "" && !this.nc.isClosed()) {
        // stan.go subscribe: the server may have registered it; close it by its inbox.
        this.publishQuietly(this.subCloseRequests, encodeUnsubscribeRequest({ clientID: this.clientId, subject: channel, inbox: subscription.inbox }));
      }
      throw new StanError(
        ClientErrorCode.consumer,
        noServer ? StanFailureReason.noServer : StanFailureReason.timeout,
        `${what}: ${noServer ? "no NATS Streaming server answered" : `no answer within ${this.requestTimeoutMillis} ms`}`,
        { cause },
      );
    }
    let response: ReturnType<typeof decodeSubscriptionResponse>;
    try {
      response = decodeSubscriptionResponse(reply.data);
    } catch (cause) {
      subscription.abandon();
      throw new StanError(ClientErrorCode.consumer, StanFailureReason.malformed, `${what}: the answer is not a SubscriptionResponse`, { cause });
    }
    if (response.error !== "") {
      subscription.abandon();
      throw new StanError(ClientErrorCode.consumer, StanFailureReason.refused, `${what}: the server refused: ${response.error}`);
    }
    subscription.accepted(response.ackInbox);
    if (!this.isOpen) {
      // Closed while the request was on its way: the server closes the subscription with the connection.
      subscription.connectionEnded(this.error!, this.state === ConnectionState.lost);
    } else {
      this.subscriptions.set(subscription.inbox, subscription);
    }
    return subscription;
  }

  /**
   * Closes the connection: pending publishes fail with `closed`, subscriptions end (durables stay
   * on the server), then the server is told with a CloseRequest. The NATS connection stays open.
   * Idempotent; after a lost connection it only ends the local state.
   * @throws {@link StanError} `timeout` when the server does not answer (it drops the client once
   *   its heartbeats fail), `refused` with the server's reason
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async closeOnce(): Promise<void> {
    if (this.state !== ConnectionState.open) return;
    const closedError = new StanError(
      ClientErrorCode.closed,
      StanFailureReason.closed,
      `the NATS Streaming connection ${JSON.stringify(this.clientId)} is closed`,
    );
    this.end(ConnectionState.closed, closedError);
    const what = `close the NATS Streaming connection ${JSON.stringify(this.clientId)}`;
    if (this.nc.isClosed()) return;
    let reply: Msg;
    try {
      reply = await this.nc.request(this.session.response.closeRequests, encodeCloseRequest({ clientID: this.clientId }), {
        timeout: this.requestTimeoutMillis,
      });
    } catch (cause) {
      throw new StanError(
        ClientErrorCode.closed,
        isNoResponders(cause) ? StanFailureReason.noServer : StanFailureReason.timeout,
        `${what}: the server did not answer within ${this.requestTimeoutMillis} ms; it drops the client once its heartbeats go unanswered`,
        { cause },
      );
    }
    let error: string;
    try {
      error = decodeCloseResponse(reply.data).error;
    } catch (cause) {
      throw new StanError(ClientErrorCode.closed, StanFailureReason.malformed, `${what}: the answer is not a CloseResponse`, { cause });
    }
    if (error !== "") throw new StanError(ClientErrorCode.closed, StanFailureReason.refused, `${what}: the server refused: ${error}`);
  }

  /** The connection is lost: end everything with `error` and tell the user once. */
  private lose(error: StanError): void {
    if (this.state !== ConnectionState.open) return;
    this.end(ConnectionState.lost, error);
    try {
      this.opts.onConnectionLost?.(error);
    } catch {
      // A handler's failure must not break the client's state.
    }
  }

  private end(state: ConnectionState, error: StanError): void {
    this.state = state;
    this.error = error;
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    for (const sub of [this.session.heartbeats, this.session.pings, this.acks]) this.unsubscribeQuietly(sub);
    for (const [guid, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      this.pending.delete(guid);
      waiting.reject(
        new StanError(
          ClientErrorCode.publishFailed,
          error.reason,
          `publish to ${JSON.stringify(waiting.channel)} (guid ${guid}): ${error.message}; the message may or may not be stored`,
          { cause: error },
        ),
      );
    }
    for (const waiter of this.slotWaiters.splice(0)) waiter.reject(error);
    this.inFlight = 0;
    const lost = state === ConnectionState.lost;
    for (const sub of this.subscriptions.values()) sub.connectionEnded(error, lost);
    this.subscriptions.clear();
    this.resolveEnded(lost ? error : undefined);
  }

  private throwIfEnded(what: string): void {
    if (this.error !== undefined) throw new StanError(ClientErrorCode.closed, this.error.reason, `${what}: ${this.error.message}`, { cause: this.error });
  }

  private pubAckReceived(msg: Msg): void {
    let guid: string;
    let error: string;
    try {
      ({ guid, error } = decodePubAck(msg.data));
    } catch {
      // stan.go processAck: an ack that does not decode is dropped; its publish times out.
      return;
    }
    const waiting = this.pending.get(guid);
    if (waiting === undefined) return;
    this.pending.delete(guid);
    clearTimeout(waiting.timer);
    this.releaseSlot();
    if (error === "") waiting.resolve({ guid });
    else
      waiting.reject(
        new StanError(
          ClientErrorCode.publishFailed,
          StanFailureReason.refused,
          `publish to ${JSON.stringify(waiting.channel)}: the server refused it: ${error}`,
        ),
      );
  }

  private takeSlot(channel: string): Promise<void> {
    if (this.inFlight < this.opts.maxPubAcksInFlight) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.slotWaiters.push({
        resolve,
        reject: (err) =>
          reject(new StanError(ClientErrorCode.publishFailed, err.reason, `publish to ${JSON.stringify(channel)}: ${err.message}`, { cause: err })),
      });
    });
  }

  /** Gives a publish's place to the next waiting publish, or frees it. */
  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next !== undefined) next.resolve();
    else if (this.inFlight > 0) this.inFlight--;
  }

  private ping(maxOut: number): void {
    this.pingsOut++;
    if (this.pingsOut > maxOut) {
      this.lose(
        new StanError(
          ClientErrorCode.closed,
          StanFailureReason.connectionLost,
          `the NATS Streaming server did not answer ${maxOut} PINGs in a row (every ${this.session.response.pingInterval} s); the connection is lost`,
        ),
      );
      return;
    }
    if (!this.publishQuietly(this.session.response.pingRequests, this.pingBytes, this.session.pingInbox) && this.nc.isClosed()) {
      this.lose(new StanError(ClientErrorCode.closed, StanFailureReason.connectionLost, "the NATS connection closed"));
    }
  }

  /** @internal An answer on the PING inbox. */
  pingAnswered(msg: Msg): void {
    if (this.state !== ConnectionState.open) return;
    if (msg.data.length > 0) {
      let error: string;
      try {
        error = decodePingResponse(msg.data).error;
      } catch {
        return;
      }
      if (error !== "") {
        this.lose(new StanError(ClientErrorCode.closed, StanFailureReason.connectionLost, `the NATS Streaming server ended the connection: ${error}`));
        return;
      }
    } else if (msg.headers?.code === 503) {
      // No responders: as a missing answer; the count goes on.
      return;
    }
    this.pingsOut = 0;
  }

  private publishQuietly(subject: string, data: Uint8Array, reply?: string): boolean {
    try {
      this.nc.publish(subject, data, reply === undefined ? undefined : { reply });
      return true;
    } catch {
      return false;
    }
  }

  private unsubscribeQuietly(sub: Subscription): void {
    if (this.nc.isClosed()) return;
    try {
      sub.unsubscribe();
    } catch {
      // The NATS connection is closing: the subscription goes with it.
    }
  }
}

function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
