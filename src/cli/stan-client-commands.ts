/**
 * `eventbus publish` and `eventbus subscribe` on a NATS Streaming (STAN) bus, in Argo Events' STAN
 * wire format, so that a process or an operator can stand in for an Argo STAN event source or sensor
 * (read from argoproj/argo-events):
 *
 * - an event source publishes the CloudEvent JSON of each event as the message body to the one
 *   channel of its namespace, `EVENTBUS_SUBJECT` = `eventbus-<namespace>`, and counts it once the
 *   PubAck came (pkg/eventbus/stan/eventsource/source_conn.go `Publish`): the body is what
 *   {@link encodeEvent} writes for JetStream, byte for byte.
 * - a sensor's trigger subscribes to that channel with a durable queue group named after the
 *   sensor, trigger and dependency expression, manual acks, new messages only and a 1 s ack wait
 *   (pkg/eventbus/stan/sensor/trigger_conn.go `Subscribe`; see {@link argoSensorSubscribeOptions}).
 *   Each message is read as a CloudEvent; one that is not is acked and discarded, and so is one
 *   whose `source`/`subject` no dependency of the trigger names (`processEventSourceMsg`:
 *   `getDependencyName` returns "" and the message is acked). This command does the same with the
 *   one event source and event name it is given, and prints the events it keeps.
 */
import { randomBytes } from "node:crypto";

import type { Duration } from "../api/index.js";
import {
  ARGO_AUTH_FILE,
  BusKind,
  decodeEvent,
  encodeEvent,
  InvalidEventError,
  parseEventBusConfig,
  type ArgoEvent,
  type EventInput,
  type StartPosition,
} from "../client/index.js";
import {
  argoSensorSubscribeOptions,
  argoStanSensorGroup,
  connectStan,
  isStanError,
  isValidChannel,
  type StanConnection,
  type StanMessage,
  type StanStartAt,
  type StanSubscribeOptions,
} from "../client/stan/index.js";
import { ClientOutput } from "./client-flags.js";
import { DEFAULT_LOCAL_STAN_CHANNEL, natsUrlsFlag, openClient, type ConnectionChoice, type StanFlags } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { eventJson, eventLine, type PrintedEvent } from "./event-output.js";
import { ExitCode } from "./exit-codes.js";
import type { Io } from "./io.js";

/**
 * The channel of Argo's STAN event sources and sensors, set in their pods (`eventbus-<namespace>`;
 * argoproj/argo-events pkg/reconciler/eventsource/resource.go and pkg/reconciler/sensor/resource.go).
 */
export const EVENTBUS_SUBJECT_ENV = "EVENTBUS_SUBJECT";
/** Publishes in flight at most, unless `--window` says otherwise. */
const DEFAULT_STAN_PUBLISH_WINDOW = 256;
/** How many failed events `publish` names one by one on stderr before it only counts them. */
const MAX_FAILURE_LINES = 5;
/** The client ID of a `--durable` subscriber is this prefix and the durable name. */
const DURABLE_CLIENT_PREFIX = "eventbus-durable-";
/** What nats-streaming-server accepts in a client ID (server.go `clientIDRegEx`). */
const CLIENT_ID_PART = /^[a-zA-Z0-9_-]+$/;
/** What nats-streaming-server accepts as a cluster ID in a subject: one token without wildcards or whitespace. */
const CLUSTER_ID = /^[^\s*>.]+(\.[^\s*>.]+)*$/;

/** A NATS Streaming bus resolved from the connection flags. */
export interface StanTarget {
  /** The NATS connection under the STAN one: the bus's servers and credentials. */
  readonly connection: ConnectionChoice;
  readonly clusterId: string;
  readonly channel: string;
}

/**
 * Resolves the connection flags to a NATS Streaming bus: a local bus's `status.config.nats`, Argo's
 * `status.config.nats` given with `--config` (or `$EVENTBUS_CONFIG`), or `--server` with `--cluster-id`.
 * The channel is `--channel`, else `$EVENTBUS_SUBJECT` (as Argo sets it in its pods), else
 * `eventbus-default` for a local bus.
 * @throws {@link CliError} (exit 2) for flags that do not fit the bus
 */
export function stanTarget(choice: ConnectionChoice, flags: StanFlags, env: NodeJS.ProcessEnv = process.env): StanTarget {
  const { target } = choice;
  let nats: { urls: readonly string[]; clusterId: string; authFile?: string } | undefined;
  if ("status" in target) {
    const config = target.status.config?.nats;
    if (config === undefined) throw notStan(choice);
    if (config.clusterID === undefined) throw new CliError(`${choice.label}: its status.config.nats has no clusterID yet (not configured)`);
    const needsAuth = config.auth !== undefined && config.auth !== "none";
    const authFile = needsAuth ? target.status.access?.authFile : undefined;
    nats = { urls: natsUrlsFlag("status.config.nats.url", config.url), clusterId: config.clusterID, ...(authFile !== undefined && { authFile }) };
  } else if ("config" in target) {
    const config = typeof target.config === "string" ? parseEventBusConfig(target.config) : target.config;
    if (config.kind !== BusKind.stan) throw notStan(choice);
    const authFile = target.authFile ?? (config.accessSecret !== undefined ? ARGO_AUTH_FILE : undefined);
    nats = { urls: config.urls, clusterId: config.clusterId, ...(authFile !== undefined && { authFile }) };
  } else {
    if (flags.clusterId === undefined) throw notStan(choice);
    const urls = typeof target.servers === "string" ? natsUrlsFlag("--server", target.servers) : target.servers;
    nats = { urls, clusterId: flags.clusterId, ...(target.authFile !== undefined && { authFile: target.authFile }) };
  }
  if (flags.clusterId !== undefined && flags.clusterId !== nats.clusterId) {
    throw new CliError(
      `--cluster-id: ${choice.label} is the NATS Streaming cluster ${JSON.stringify(nats.clusterId)}, not ${JSON.stringify(flags.clusterId)}; leave --cluster-id out (it is for --server)`,
    );
  }
  if (!CLUSTER_ID.test(nats.clusterId))
    throw new CliError(`--cluster-id: must be one subject token without whitespace, "*" or ">", got ${JSON.stringify(nats.clusterId)}`);
  let channel = flags.channel ?? (env[EVENTBUS_SUBJECT_ENV] || undefined);
  if (channel === undefined) {
    if (choice.localBus === undefined) {
      throw new CliError(
        `--channel: name the NATS Streaming channel of ${choice.label}: Argo Events' event sources and sensors use eventbus-<namespace>, e.g. eventbus-argo-events ($${EVENTBUS_SUBJECT_ENV} in their pods)`,
      );
    }
    channel = DEFAULT_LOCAL_STAN_CHANNEL;
  }
  if (!isValidChannel(channel)) throw new CliError(`--channel: ${JSON.stringify(channel)} is not a channel name (no empty token, "*", ">", "/" or whitespace)`);
  const servers = { servers: nats.urls, ...(nats.authFile !== undefined && { authFile: nats.authFile }) };
  return { connection: { ...choice, target: servers }, clusterId: nats.clusterId, channel };
}

/** What `publishStan` is asked to do, from the flags `publish` parsed. */
export interface StanPublishRequest {
  /** The events, paced as `--rate` asks. */
  readonly events: AsyncIterable<EventInput>;
  readonly count: number;
  readonly window?: number;
  readonly output: ClientOutput;
}

/** A published event's fate. */
type Outcome = { readonly ok: true; readonly id: string; readonly guid: string } | { readonly ok: false; readonly id: string; readonly error: Error };

/**
 * `eventbus publish` on a NATS Streaming bus: each event's CloudEvent JSON to the channel, as an
 * Argo event source publishes it, waiting for its PubAck.
 */
export async function publishStan(choice: ConnectionChoice, flags: StanFlags, request: StanPublishRequest, io: Io): Promise<void> {
  const target = stanTarget(choice, flags);
  await using client = await openClient(target.connection, io);
  await using stan = await connectStan(client.nc, { clusterId: target.clusterId, clientId: clientId("eventbus-publish") });
  const window = request.window ?? DEFAULT_STAN_PUBLISH_WINDOW;
  const json = request.output === ClientOutput.json;
  const started = Date.now();
  const tally = { stored: 0, failed: 0 };
  let firstFailure: Error | undefined;
  const report = (outcome: Outcome) => {
    if (outcome.ok) tally.stored++;
    else {
      tally.failed++;
      firstFailure ??= outcome.error;
      if (!json && request.count > 1 && tally.failed <= MAX_FAILURE_LINES) io.stderr(`eventbus: ${outcome.error.message}\n`);
    }
    if (json) io.stdout(`${JSON.stringify(outcomeJson(outcome, target))}\n`);
    else if (request.count === 1 && outcome.ok)
      io.stdout(`published ${outcome.id} to channel ${target.channel} (NATS Streaming cluster ${target.clusterId}, guid ${outcome.guid})\n`);
  };
  // Up to `window` publishes wait for their PubAcks at once; their fates are reported in order.
  const inFlight: Promise<Outcome>[] = [];
  for await (const input of request.events) {
    const event = encodeEvent(input);
    inFlight.push(publishOne(stan, target.channel, event.id, event.body));
    if (inFlight.length >= window) report(await inFlight.shift()!);
  }
  for (const pending of inFlight) report(await pending);
  const done = tally.stored + tally.failed;
  if (!json && request.count > 1) {
    const seconds = (Date.now() - started) / 1000;
    io.stdout(
      `published ${done} events to channel ${target.channel} (${tally.stored} stored, ${tally.failed} not stored) in ${seconds.toFixed(2)} s, ${Math.round(done / Math.max(seconds, 0.001))} events/s\n`,
    );
  }
  if (tally.failed > 0) {
    if (request.count === 1 && firstFailure) throw firstFailure;
    throw new CliError(`${tally.failed} of ${done} events were not stored (e.g. ${firstFailure?.message})`, ExitCode.failed);
  }
}

async function publishOne(stan: StanConnection, channel: string, id: string, body: Uint8Array): Promise<Outcome> {
  try {
    return { ok: true, id, guid: (await stan.publish(channel, body)).guid };
  } catch (error) {
    return { ok: false, id, error: error as Error };
  }
}

function outcomeJson(outcome: Outcome, target: StanTarget) {
  const where = { subject: target.channel, clusterId: target.clusterId };
  if (outcome.ok) return { id: outcome.id, ...where, fate: "stored", guid: outcome.guid };
  return { id: outcome.id, ...where, fate: "failed", reason: isStanError(outcome.error) ? outcome.error.reason : "error", error: outcome.error.message };
}

/** What `subscribeStan` is asked to do, from the flags `subscribe` parsed. */
export interface StanSubscribeRequest {
  readonly source: string;
  readonly event: string;
  readonly durable?: string;
  /** An Argo sensor's trigger dependency: subscribe with its durable queue group. */
  readonly dependency?: { readonly sensor: string; readonly trigger: string; readonly dependency: string };
  readonly from: StartPosition;
  readonly count?: number;
  readonly ackWait?: Duration;
  /** `--batch`, which only a JetStream consumer has: refused. */
  readonly batch?: number;
  readonly ack: boolean;
  readonly output: ClientOutput;
}

/**
 * `eventbus subscribe` on a NATS Streaming bus: the channel's messages of one event source and
 * event name, each printed and then acked; others are acked and skipped, as Argo's sensor does.
 */
export async function subscribeStan(choice: ConnectionChoice, flags: StanFlags, request: StanSubscribeRequest, io: Io): Promise<void> {
  const options = subscribeOptions(request);
  const target = stanTarget(choice, flags);
  await using client = await openClient(target.connection, io);
  const group = request.dependency && argoStanSensorGroup({ ...request.dependency, dependencyExpression: request.dependency.dependency });
  // Argo's sensor connects as `<group>-<random>`: the group is the client ID less its last part. A
  // durable that is not a queue group belongs to its client ID: each run must use the same one.
  const id = request.durable !== undefined ? durableClientId(request.durable) : clientId(group ?? "eventbus-subscribe");
  await using stan = await connectStan(client.nc, { clusterId: target.clusterId, clientId: id });
  const subscription = await stan.subscribe(target.channel, options);
  const as = request.dependency
    ? ` as Argo Events' sensor ${request.dependency.sensor} (trigger ${request.dependency.trigger}, dependency ${request.dependency.dependency}): durable queue group ${group}`
    : request.durable !== undefined
      ? ` as durable ${request.durable} (client ID ${id})`
      : "";
  io.stderr(`subscribed to channel ${target.channel} of NATS Streaming cluster ${target.clusterId}${as}\n`);
  const stop = () => void subscription.close().catch(() => undefined);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const unwatch = client.onStateChange((state) => state === "closed" && stop());
  try {
    let received = 0;
    for await (const message of subscription) {
      const event = readEvent(message, target.channel, io);
      if (event !== undefined && event.source === request.source && event.subject === request.event) {
        io.stdout(`${request.output === ClientOutput.json ? JSON.stringify(eventJson(printed(event, message))) : eventLine(printed(event, message))}\n`);
        if (request.ack) message.ack();
        if (request.count !== undefined && ++received >= request.count) break;
      } else if (request.ack) {
        // Not this event (or not an event at all): Argo's sensor acks and skips it.
        message.ack();
      }
    }
  } finally {
    unwatch();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    // The acks (sent without an answer) reach the server before the close: a durable keeps its place.
    await client.nc.flush().catch(() => undefined);
    await subscription.close();
  }
  if (client.error) throw client.error;
}

/** The subscription options the request asks for; refuses what NATS Streaming or Argo's sensor cannot do. */
function subscribeOptions(request: StanSubscribeRequest): StanSubscribeOptions {
  if (request.batch !== undefined) {
    throw new CliError("--batch: pulls from a JetStream consumer; a NATS Streaming subscription has no batches (the server pushes messages)");
  }
  let ackWaitSeconds: number | undefined;
  if (request.ackWait !== undefined) {
    if (request.ackWait.millis % 1000 !== 0) throw new CliError(`--ack-wait: NATS Streaming takes whole seconds, got ${request.ackWait.format()}`);
    ackWaitSeconds = request.ackWait.millis / 1000;
  }
  if (request.dependency !== undefined) {
    if (request.durable !== undefined) throw new CliError("--durable: give a durable name or --sensor/--trigger/--dependency, not both");
    if (request.from !== "new") {
      throw new CliError(
        "--from: an Argo Events sensor subscribes with new messages only (stan.StartAt(pb.StartPosition_NewOnly), pkg/eventbus/stan/sensor/trigger_conn.go); leave --from out with --sensor",
      );
    }
    const { sensor, trigger, dependency } = request.dependency;
    // One dependency: the trigger's dependency expression is its name.
    const argo = argoSensorSubscribeOptions({ sensor, trigger, dependencyExpression: dependency }, 1);
    return { ...argo, ...(ackWaitSeconds !== undefined && { ackWaitSeconds }) };
  }
  if (request.durable !== undefined && !CLIENT_ID_PART.test(request.durable)) {
    throw new CliError(
      `--durable: on NATS Streaming the durable belongs to the client ID ${DURABLE_CLIENT_PREFIX}<durable>, so only letters, digits, "-" and "_" are allowed, got ${JSON.stringify(request.durable)}`,
    );
  }
  return {
    manualAcks: true,
    startAt: stanStartAt(request.from),
    ...(request.durable !== undefined && { durableName: request.durable }),
    ...(ackWaitSeconds !== undefined && { ackWaitSeconds }),
  };
}

/** `--from` as a STAN start position: new → new only, start → the first message, a sequence, or a time. */
function stanStartAt(from: StartPosition): StanStartAt {
  if (from === "new") return "new-only";
  if (from === "start") return "first";
  if (typeof from === "number") return { sequence: from };
  return { time: from };
}

/** The message's CloudEvent, or undefined (said on stderr) when it is not one. */
function readEvent(message: StanMessage, channel: string, io: Io): ArgoEvent | undefined {
  try {
    return decodeEvent(channel, undefined, message.data);
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    io.stderr(`skipped message ${message.sequence} on ${channel}: not an Argo Events CloudEvent (${error.message})\n`);
    return undefined;
  }
}

function printed(event: ArgoEvent, message: StanMessage): PrintedEvent {
  return {
    event,
    seq: message.sequence,
    deliveryCount: Math.max(message.redeliveryCount + 1, message.redelivered ? 2 : 1),
    redelivered: message.redelivered,
    storedAt: message.timestamp,
  };
}

/**
 * The client ID of `--durable NAME`: nats-streaming-server keys a durable subscription that is not
 * a queue group by client ID, channel and durable name, so every run connects as the same client.
 */
function durableClientId(durable: string): string {
  return `${DURABLE_CLIENT_PREFIX}${durable}`;
}

/** A client ID of its own (one live connection per client ID): `<prefix>-<8 hex digits>`. */
function clientId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

function notStan(choice: ConnectionChoice): CliError {
  return new CliError(`${choice.label} is not a NATS Streaming bus (its config has no nats section); --cluster-id selects NATS Streaming with --server`);
}
