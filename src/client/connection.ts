/**
 * A connection to an EventBus. Unlike Argo Events' drivers, which exit on a disconnect, it reconnects
 * forever with capped backoff and jitter, and says what state it is in. The first connection is
 * retried (with progress) until a deadline; refused credentials and failed TLS end it at once.
 */
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect as natsConnect, credsAuthenticator, errors as natsErrors, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";

import { AckRouter } from "./ack-router.js";
import { backoffDelay, DEFAULT_BACKOFF, ReconnectDelay, sleep, type BackoffPolicy } from "./backoff.js";
import { resolveTarget, type BusTarget, type ClientTlsOptions, type ResolvedTarget } from "./connect-options.js";
import { BusError, ClientErrorCode } from "./errors.js";
import { EventPublisher, publishEvent, type PublishAck, type PublisherOptions, type PublishOptions } from "./publisher.js";
import { applyStreamConfig, createStreamIfMissing, streamInfo, type RecreateChoice, type StreamOutcome, type StreamSummary } from "./stream-admin.js";
import { subscribe, type EventSubscription, type SubscribeOptions } from "./subscription.js";
import type { EventInput } from "./wire.js";
import type { StreamConfig } from "../api/index.js";

/** The states of a connection. */
export const ConnectionState = {
  connected: "connected",
  /** Lost its server; dialling the bus's servers with backoff. */
  reconnecting: "reconnecting",
  /** Closed by {@link EventBusClient.close}, or given up (refused credentials). */
  closed: "closed",
} as const;
/** One of the {@link ConnectionState} values. */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** A connection attempt that failed and will be retried. */
export interface ConnectProgress {
  /** The bus being connected to: `local bus default`, or its URLs (never credentials). */
  readonly target: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Why it failed, without credentials. */
  readonly reason: string;
  /** How long until the next attempt. */
  readonly retryInMillis: number;
}

/** Options of {@link connect}. */
export type ConnectOptions = BusTarget & {
  readonly tls?: ClientTlsOptions;
  /** The client name the servers show in their monitoring. @default "eventbus" */
  readonly name?: string;
  /** How long to keep trying the first connection. @default 30000 (ms) */
  readonly timeoutMillis?: number;
  /** Called after each failed first-connection attempt that will be retried. */
  readonly onProgress?: (progress: ConnectProgress) => void;
  /** Backoff of connecting and reconnecting. @default {@link DEFAULT_BACKOFF} */
  readonly backoff?: BackoffPolicy;
};

/** The default of {@link ConnectOptions.timeoutMillis}. */
export const DEFAULT_CONNECT_TIMEOUT_MILLIS = 30_000;
/** How long one dial may take before it counts as failed. */
const DIAL_TIMEOUT_MILLIS = 5_000;

/**
 * Connects to an EventBus.
 * @throws {@link BusError} `CLIENT_UNREACHABLE` when no server answered before the deadline,
 *   `CLIENT_AUTH_REFUSED` when the bus refused the credentials, `CLIENT_TLS_FAILED` when TLS failed,
 *   `CLIENT_INVALID_OPTIONS` for options that cannot work
 */
export async function connect(options: ConnectOptions): Promise<EventBusClient> {
  const target = await resolveTarget(options, options.tls);
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const timeout = options.timeoutMillis ?? DEFAULT_CONNECT_TIMEOUT_MILLIS;
  const deadline = Date.now() + timeout;
  const reconnect = new ReconnectDelay(policy);
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    try {
      const nc = await natsConnect(natsOptions(target, options.name ?? "eventbus", Math.max(500, Math.min(DIAL_TIMEOUT_MILLIS, remaining)), reconnect));
      return new EventBusClient(nc, target, reconnect);
    } catch (err) {
      const failure = classifyConnectError(err, target);
      if (failure.code !== ClientErrorCode.unreachable) throw failure;
      // The last attempt is made at the deadline, not one backoff before it.
      const wait = Math.min(backoffDelay(policy, attempt - 1), deadline - Date.now());
      if (wait <= 0) {
        throw new BusError(
          ClientErrorCode.unreachable,
          `no server of ${target.description} answered within ${formatMillis(timeout)} (${attempt} attempts): ${failure.message}`,
          { cause: err },
        );
      }
      options.onProgress?.({ target: target.description, attempt, reason: failure.message, retryInMillis: wait });
      await sleep(wait);
    }
  }
}

/** A live connection to an EventBus: its state, and the nats.js connection and JetStream contexts. */
export class EventBusClient implements AsyncDisposable {
  /** The JetStream client of the connection. */
  readonly js: JetStreamClient;
  private currentState: ConnectionState = ConnectionState.connected;
  private readonly listeners = new Set<(state: ConnectionState) => void>();
  private jsm: Promise<JetStreamManager> | undefined;
  private closeError: Error | undefined;
  private readonly subscriptions = new Set<EventSubscription>();
  private argoStream: Promise<"created" | "exists"> | undefined;
  private streamStored = false;
  private ackRouter: AckRouter | undefined;

  /** @internal Use {@link connect}. */
  constructor(
    /** The nats.js connection, for anything this client does not wrap. */
    readonly nc: NatsConnection,
    /** The bus connected to. */
    readonly target: ResolvedTarget,
    private readonly reconnect: ReconnectDelay,
  ) {
    this.js = jetstream(nc);
    void this.watch();
  }

  /** The connection's state now. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** Why the connection closed by itself (refused credentials after a reconnect), if it did. */
  get error(): Error | undefined {
    return this.closeError;
  }

  /** The server connected to, as `host:port`. */
  get server(): string | undefined {
    return this.nc.getServer() || undefined;
  }

  /**
   * A second connection, with this one's credentials and TLS, to the server named `serverName`
   * (its `server_name`), found among the bus's URLs and the client URLs its cluster announces;
   * undefined when this connection is to that server already, or no URL leads there within
   * `timeoutMillis`. The caller closes it. Used to read a stream's snapshot from its leader rather
   * than through a route between servers.
   */
  async connectToServer(serverName: string, timeoutMillis = 2_000): Promise<NatsConnection | undefined> {
    if (this.nc.info?.server_name === serverName) return undefined;
    const scheme = this.target.servers[0]?.match(/^([a-z]+):\/\//)?.[1] ?? "nats";
    const current = this.nc.getServer();
    const urls = [...new Set([...this.target.servers, ...(this.nc.info?.connect_urls ?? []).map((u) => (u.includes("://") ? u : `${scheme}://${u}`))])].filter(
      (url) => !url.endsWith(`//${current}`),
    );
    const attempts = urls.map((url) =>
      natsConnect({
        ...natsOptions(this.target, "eventbus-direct", timeoutMillis, this.reconnect),
        servers: [url],
        maxReconnectAttempts: 0,
        ignoreClusterUpdates: true,
      }).catch(() => undefined),
    );
    const connections = await Promise.all(attempts);
    const match = connections.find((c) => c?.info?.server_name === serverName);
    await Promise.all(connections.filter((c) => c !== undefined && c !== match).map((c) => c!.close().catch(() => undefined)));
    return match;
  }

  /** The largest message the connected server accepts, in bytes (its `max_payload`). */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
  }

  /** Calls `listener` on each change of state; returns a function that stops it. */
  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The JetStream manager (streams and consumers), created once. */
  manager(): Promise<JetStreamManager> {
    this.jsm ??= jetstreamManager(this.nc).catch((err: unknown) => {
      this.jsm = undefined;
      throw err;
    });
    return this.jsm;
  }

  /** Fails with {@link BusError} `CLIENT_CLOSED` when the connection is closed. */
  assertOpen(): void {
    if (this.nc.isClosed())
      throw new BusError(
        ClientErrorCode.closed,
        `the connection to ${this.target.description} is closed${this.closeError ? `: ${this.closeError.message}` : ""}`,
      );
  }

  /** Publishes one event in Argo's wire format and waits for the stream's acknowledgement. */
  publish(event: EventInput, options?: PublishOptions): Promise<PublishAck> {
    return publishEvent(this, event, options);
  }

  /** A publisher that keeps up to `window` events in flight. */
  publisher(options?: PublisherOptions): EventPublisher {
    return new EventPublisher(this, options);
  }

  /** Subscribes to one event of one event source through a (durable) pull consumer. */
  async subscribe(options: SubscribeOptions): Promise<EventSubscription> {
    const subscription = await subscribe(this, options);
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** @internal The acknowledgements of this connection's publishes: one reply subscription, made at the first publish. */
  get acks(): AckRouter {
    this.ackRouter ??= new AckRouter(this.nc);
    return this.ackRouter;
  }

  /**
   * @internal The publisher's note that the stream took an event. A stream that then vanishes is
   * being replaced (`restore --replace`, `stream apply --recreate` delete it and restore it under
   * its name): this client waits for it, and does not make an empty one in its place.
   */
  noteStreamStored(): void {
    this.streamStored = true;
  }

  /** Whether a publish by this client has been stored (see {@link noteStreamStored}). */
  get hasStored(): boolean {
    return this.streamStored;
  }

  /**
   * Creates the stream `default` from the bus's `streamConfig` when it does not exist, as Argo's
   * event sources and sensors do before they publish or subscribe (see `createStreamIfMissing`);
   * `none` for a bus reached by URLs alone, which names no streamConfig. Asked once per client
   * until it succeeds.
   */
  ensureArgoStream(): Promise<"created" | "exists" | "none"> {
    const text = this.target.streamConfig;
    if (text === undefined) return Promise.resolve("none");
    this.argoStream ??= createStreamIfMissing(this.nc, text).catch((error: unknown) => {
      this.argoStream = undefined;
      throw error;
    });
    return this.argoStream;
  }

  /** The stream's config, state and replicas. */
  streamInfo(name?: string): Promise<StreamSummary> {
    return streamInfo(this.nc, name);
  }

  /** Applies a `streamConfig` text, merged over Argo's defaults and validated as a manifest's. */
  applyStreamConfig(
    text: string,
    options?: { readonly serverReplicas?: number; readonly dryRun?: boolean; readonly recreate?: RecreateChoice },
  ): Promise<StreamOutcome & { readonly config: StreamConfig }> {
    return applyStreamConfig(this.nc, text, options);
  }

  /** Closes the connection after sending what is buffered. */
  async close(): Promise<void> {
    // A pull consumer left running keeps nats.js's timers alive after the connection closes.
    for (const subscription of this.subscriptions) await subscription.close();
    this.subscriptions.clear();
    if (!this.nc.isClosed()) await this.nc.close();
    this.setState(ConnectionState.closed);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async watch(): Promise<void> {
    void this.nc.closed().then((err) => {
      if (err) this.closeError = classifyConnectError(err, this.target);
      this.setState(ConnectionState.closed);
    });
    for await (const status of this.nc.status()) {
      if (status.type === "disconnect") {
        this.reconnect.disconnected();
        this.setState(ConnectionState.reconnecting);
      } else if (status.type === "reconnect") {
        this.setState(ConnectionState.connected);
      }
    }
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state || this.currentState === ConnectionState.closed) return;
    this.currentState = state;
    for (const listener of this.listeners) listener(state);
  }
}

function natsOptions(target: ResolvedTarget, name: string, dialTimeout: number, reconnect: ReconnectDelay): ConnectionOptions {
  const auth = target.auth;
  const tls = target.tls;
  return {
    servers: [...target.servers],
    name,
    // nats.js otherwise builds two Errors with stack traces for every request (a publish, an ackAck),
    // about a third of the client's CPU per event; this client's errors carry their own message.
    noAsyncTraces: true,
    timeout: dialTimeout,
    maxReconnectAttempts: -1,
    reconnectDelayHandler: () => reconnect.delay(),
    ...(auth?.kind === "basic" && { user: auth.username, pass: auth.password }),
    ...(auth?.kind === "token" && { token: auth.token }),
    ...(auth?.kind === "creds" && { authenticator: credsAuthenticator(new TextEncoder().encode(auth.creds)) }),
    ...((tls !== undefined || target.tlsRequired) && {
      tls: {
        ...(tls?.caFile !== undefined && { caFile: tls.caFile }),
        ...(tls?.certFile !== undefined && { certFile: tls.certFile }),
        ...(tls?.keyFile !== undefined && { keyFile: tls.keyFile }),
        // Passed through to node's tls.connect by the node transport.
        ...(tls?.insecure === true && { rejectUnauthorized: false }),
      },
    }),
  };
}

const TLS_FAILURE = /certificate|self[- ]signed|unable to verify|ssl|tls|handshake|ERR_TLS|CERT_|wrong version number/i;

/** Turns a nats.js connect error into a {@link BusError} with a message a person can act on. */
export function classifyConnectError(err: unknown, target: ResolvedTarget): BusError {
  if (err instanceof BusError) return err;
  const chain = errorChain(err);
  if (chain.some((e) => e instanceof natsErrors.AuthorizationError || e instanceof natsErrors.UserAuthenticationExpiredError)) {
    const who =
      target.auth === undefined
        ? "no credentials were given"
        : target.auth.kind === "basic"
          ? `user ${JSON.stringify(target.auth.username)}`
          : target.auth.kind === "token"
            ? "the token"
            : "the credentials file";
    return new BusError(ClientErrorCode.authRefused, `${target.description} refused the credentials (${who}): authorization violation`, { cause: err });
  }
  const text = chain.map((e) => `${(e as NodeJS.ErrnoException).code ?? ""} ${e.message}`).join(" | ");
  if (TLS_FAILURE.test(text)) {
    const detail = chain.map((e) => e.message).find((m) => TLS_FAILURE.test(m)) ?? chain[0]?.message ?? String(err);
    const hint = target.tls?.caFile === undefined ? "; pass the CA that signed the servers' certificates (--ca)" : "";
    return new BusError(ClientErrorCode.tls, `TLS with ${target.description} failed: ${detail}${hint}`, { cause: err });
  }
  const message = chain[0]?.message ?? String(err);
  return new BusError(ClientErrorCode.unreachable, message === "" ? "connection failed" : message, { cause: err });
}

function errorChain(err: unknown): Error[] {
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 8; e = e.cause) chain.push(e);
  return chain;
}

/** `1500` → `1.5s`. */
export function formatMillis(millis: number): string {
  return millis % 1000 === 0 ? `${millis / 1000}s` : `${(millis / 1000).toFixed(1)}s`;
}
