/**
 * A NATS Streaming (STAN) bus's Prometheus metrics, rendered from a {@link StanBusSnapshot}: every
 * family of {@link STAN_METRICS}, in its order, each with its `# HELP` and `# TYPE` lines even
 * when it has no sample (a server that is down has no numbers; a bus whose channels could not be
 * read has no channel ones).
 *
 * As in {@link BUS_METRICS}, names follow prometheus-nats-exporter where it has an equivalent: its
 * streaming collectors (`collector/streaming.go`: `nss_server_*` from `/streaming/serverz`,
 * `nss_chan_*` from `/streaming/channelsz?subs=1`), with its label names (`channel`, `client_id`,
 * `inbox`, `queue_name`, `is_durable`, `is_offline`) so that its dashboards' queries keep working.
 * The exporter labels each series with the server it asked; channels here are the leader's, so
 * they carry `bus` instead. The exporter types the `nss_server_*` numbers as counters, but they
 * are the store's current contents and fall as limits discard messages: gauges here. The rest
 * carry the `eventbus_` prefix, and the families a JetStream bus has too (`eventbus_server_up`,
 * `eventbus_bus_ready`, ...) keep their names and labels.
 */
import { renderFamily, type Labels, type Sample } from "./exposition.js";
import type { MetricFamily } from "./metrics-catalog.js";
import { serverQueueName, stanChannelLimit, type StanBusSnapshot, type StanServerSnapshot, type StanSubscriptionSnapshot } from "./stan.js";

const SERVER = ["bus", "server_name"] as const;
const CHANNEL = ["bus", "channel"] as const;
const SUBSCRIPTION = ["bus", "channel", "client_id", "inbox", "queue_name", "durable_name", "is_durable", "is_offline"] as const;

/** What a STAN bus's `/metrics` serves, from a snapshot of the bus. */
export const STAN_METRICS = [
  // Per server, from /streaming/serverz (as prometheus-nats-exporter names them)
  {
    name: "nss_server_info",
    type: "gauge",
    help: "1, with the server's cluster ID, server ID, version, Go version, state, raft role and start time as labels",
    labels: [...SERVER, "cluster_id", "server_id", "version", "go_version", "state", "role", "start_time"],
  },
  { name: "nss_server_clients", type: "gauge", help: "STAN clients connected through the server", labels: SERVER },
  { name: "nss_server_subscriptions", type: "gauge", help: "Subscriptions the server knows", labels: SERVER },
  { name: "nss_server_channels", type: "gauge", help: "Channels in the server's store", labels: SERVER },
  { name: "nss_server_msgs_total", type: "gauge", help: "Messages in all channels of the server's store", labels: SERVER },
  { name: "nss_server_bytes_total", type: "gauge", help: "Bytes in all channels of the server's store", labels: SERVER },
  // Each channel, from the leader's /streaming/channelsz (as prometheus-nats-exporter names them)
  { name: "nss_chan_msgs_total", type: "gauge", help: "Messages in the channel", labels: CHANNEL },
  { name: "nss_chan_bytes_total", type: "gauge", help: "Bytes in the channel", labels: CHANNEL },
  { name: "nss_chan_last_seq", type: "gauge", help: "Last sequence in the channel", labels: CHANNEL },
  // Each subscription of a channel (as prometheus-nats-exporter names them)
  { name: "nss_chan_subs_last_sent", type: "gauge", help: "Sequence of the last message sent to the subscription", labels: SUBSCRIPTION },
  { name: "nss_chan_subs_pending_count", type: "gauge", help: "Messages sent to the subscription and not acknowledged", labels: SUBSCRIPTION },
  { name: "nss_chan_subs_max_inflight", type: "gauge", help: "Messages the subscription may have unacknowledged", labels: SUBSCRIPTION },
  // Our own
  {
    name: "eventbus_bus_ready",
    type: "gauge",
    help: "1 when every server is up and healthy, one leads, and no channel or subscription has a problem",
    labels: ["bus"],
  },
  { name: "eventbus_bus_problems", type: "gauge", help: "Problems `eventbus status` lists for the bus", labels: ["bus"] },
  { name: "eventbus_server_up", type: "gauge", help: "1 when the server's monitoring endpoint answers", labels: SERVER },
  { name: "eventbus_server_restarts_total", type: "counter", help: "Times the supervisor restarted the server after it exited", labels: SERVER },
  {
    name: "eventbus_stan_leader",
    type: "gauge",
    help: "1 for the server that serves the clients: the raft leader of a clustered bus, the server of a single one",
    labels: SERVER,
  },
  { name: "eventbus_stan_channel_first_seq", type: "gauge", help: "First sequence in the channel (0 before its first message)", labels: CHANNEL },
  { name: "eventbus_stan_channel_subscriptions", type: "gauge", help: "Subscriptions of the channel, offline durables included", labels: CHANNEL },
  {
    name: "eventbus_stan_channel_at_limit",
    type: "gauge",
    help: "1 when the channel is at its max_msgs or max_bytes: each new message discards its oldest",
    labels: CHANNEL,
  },
  {
    name: "eventbus_stan_subscription_stalled",
    type: "gauge",
    help: "1 when the subscription has its max in flight unacknowledged: the server sends it nothing until it acks",
    labels: SUBSCRIPTION,
  },
  {
    name: "eventbus_stan_subscription_ack_wait_seconds",
    type: "gauge",
    help: "How long the server waits for an ack before it redelivers",
    labels: SUBSCRIPTION,
  },
  { name: "eventbus_snapshot_duration_seconds", type: "gauge", help: "How long the snapshot behind this scrape took", labels: ["bus"] },
] as const satisfies readonly MetricFamily[];

type StanMetricName = (typeof STAN_METRICS)[number]["name"];

/** What the snapshot does not hold; without it, those families have no sample. */
export interface StanMetricsExtra {
  /** Restarts after an unexpected exit, by server name. */
  readonly restarts?: Readonly<Record<string, number>>;
  /** How long the snapshot took. */
  readonly durationSeconds?: number;
}

/** The Prometheus text (exposition format 0.0.4) of one STAN bus's snapshot. */
export function renderStanMetrics(bus: string, snapshot: StanBusSnapshot, extra: StanMetricsExtra = {}): string {
  const samples = stanSamples(bus, snapshot, extra);
  return `${STAN_METRICS.map((family) => renderFamily(family, samples[family.name])).join("\n")}\n`;
}

function stanSamples(bus: string, snapshot: StanBusSnapshot, extra: StanMetricsExtra): Record<StanMetricName, Sample[]> {
  const servers = snapshot.servers;
  const serverLabels = (name: string): Labels => ({ bus, server_name: name });
  /** One sample per server that has `value`. */
  const perServer = (value: (s: StanServerSnapshot) => number | undefined): Sample[] =>
    servers.flatMap((s) => {
      const v = s.healthy ? value(s) : undefined;
      return v === undefined ? [] : [{ labels: serverLabels(s.name), value: v }];
    });
  const channels = snapshot.channels;
  const perChannel = (value: (c: (typeof channels)[number]) => number): Sample[] =>
    channels.map((c) => ({ labels: { bus, channel: c.name }, value: value(c) }));
  const perSubscription = (value: (s: StanSubscriptionSnapshot) => number): Sample[] =>
    channels.flatMap((c) => c.subscriptions.map((s) => ({ labels: subscriptionLabels(bus, c.name, s), value: value(s) })));
  const restarts = extra.restarts;
  return {
    nss_server_info: servers.flatMap((s) =>
      s.healthy
        ? [
            {
              labels: {
                ...serverLabels(s.name),
                cluster_id: s.clusterId ?? "",
                server_id: s.serverId ?? "",
                version: s.version ?? "",
                go_version: s.goVersion ?? "",
                state: s.state ?? "",
                role: s.role ?? "",
                start_time: s.startTime ?? "",
              },
              value: 1,
            },
          ]
        : [],
    ),
    nss_server_clients: perServer((s) => s.clients),
    nss_server_subscriptions: perServer((s) => s.subscriptions),
    nss_server_channels: perServer((s) => s.channels),
    nss_server_msgs_total: perServer((s) => s.totalMsgs),
    nss_server_bytes_total: perServer((s) => s.totalBytes),
    nss_chan_msgs_total: perChannel((c) => c.msgs),
    nss_chan_bytes_total: perChannel((c) => c.bytes),
    nss_chan_last_seq: perChannel((c) => c.lastSeq),
    nss_chan_subs_last_sent: perSubscription((s) => s.lastSent),
    nss_chan_subs_pending_count: perSubscription((s) => s.pending),
    nss_chan_subs_max_inflight: perSubscription((s) => s.maxInFlight),
    eventbus_bus_ready: [{ labels: { bus }, value: snapshot.problems.length === 0 ? 1 : 0 }],
    eventbus_bus_problems: [{ labels: { bus }, value: snapshot.problems.length }],
    eventbus_server_up: servers.map((s) => ({ labels: serverLabels(s.name), value: s.reachable ? 1 : 0 })),
    eventbus_server_restarts_total: restarts ? servers.map((s) => ({ labels: serverLabels(s.name), value: restarts[s.name] ?? 0 })) : [],
    eventbus_stan_leader: servers.map((s) => ({ labels: serverLabels(s.name), value: s.name === snapshot.leader ? 1 : 0 })),
    eventbus_stan_channel_first_seq: perChannel((c) => c.firstSeq),
    eventbus_stan_channel_subscriptions: perChannel((c) => c.subscriptions.length),
    eventbus_stan_channel_at_limit: perChannel((c) => (stanChannelLimit(c) ? 1 : 0)),
    eventbus_stan_subscription_stalled: perSubscription((s) => (s.stalled ? 1 : 0)),
    eventbus_stan_subscription_ack_wait_seconds: perSubscription((s) => s.ackWaitSeconds),
    eventbus_snapshot_duration_seconds: extra.durationSeconds === undefined ? [] : [{ labels: { bus }, value: extra.durationSeconds }],
  };
}

/** A subscription's labels: the exporter's, with `bus` for its `server` and the durable name added. */
function subscriptionLabels(bus: string, channel: string, s: StanSubscriptionSnapshot): Labels {
  return {
    bus,
    channel,
    client_id: s.clientId,
    inbox: s.inbox,
    queue_name: serverQueueName(s),
    durable_name: s.durableName ?? "",
    is_durable: String(s.durable),
    is_offline: String(s.offline),
  };
}
