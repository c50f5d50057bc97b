/**
 * Observing NATS Streaming (STAN) buses from nats-streaming-server's monitoring endpoints, against
 * real servers: one standalone server, and a 3-node clustered bus planned and rendered by the
 * project's own planner and renderer. Channels and subscriptions are made with the STAN protocol
 * itself (test/helpers/stan-raw.ts), so every number asserted is one the server computed.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { validate } from "../src/api/index.js";
import { renderStanConfig } from "../src/natsconf/index.js";
import { STAN_METRICS, renderStanMetrics } from "../src/observe/stan-metrics.js";
import { readStanBus, type StanBusSnapshot, type StanMonitor } from "../src/observe/stan.js";
import { planStan, type StanPlan } from "../src/plan/index.js";
import { findBinary, NATS_STREAMING_SERVER } from "../src/tools/index.js";
import { freePort, startServerProcess, startStreamingServer, waitFor, type ServerProcess } from "./helpers/index.js";
import { parsePrometheusText, sampleValue } from "./helpers/prometheus-text.js";
import { connectRawStan, StartPosition } from "./helpers/stan-raw.js";

const BUS = "observed";

function channel(snapshot: StanBusSnapshot, name: string) {
  const found = snapshot.channels.find((c) => c.name === name);
  assert.ok(found, `channel ${name} in ${JSON.stringify(snapshot.channels.map((c) => c.name))}`);
  return found;
}

test("observe STAN - one server: channels with their sequences, a durable queue group's pending, a stalled subscription, a channel at max_msgs, paged channelsz, metrics; a killed server is down", async () => {
  // GIVEN a standalone server whose channels keep at most 5 messages
  await using stan = await startStreamingServer({ args: ["--max_msgs", "5"] });
  const monitors: StanMonitor[] = [{ name: "stan-0", monitorUrl: stan.monitorUrl }];
  await using publisher = await connectRawStan({ servers: stan.clientUrl, clusterId: stan.clusterId, clientId: "publisher" });
  await using sensor = await connectRawStan({ servers: stan.clientUrl, clusterId: stan.clusterId, clientId: "sensor" });
  await using slow = await connectRawStan({ servers: stan.clientUrl, clusterId: stan.clusterId, clientId: "slow" });

  // WHEN 4 messages go on `orders`, read by a durable queue group that acks only the first
  for (let i = 1; i <= 4; i++) await publisher.publish("orders", `order ${i}`);
  const workers = await sensor.subscribe("orders", {
    queueGroup: "workers",
    durableName: "sensor-dep",
    ackMode: "manual",
    maxInFlight: 10,
    ackWaitSeconds: 60,
    startPosition: StartPosition.First,
  });
  await workers.waitForMessages(4);
  workers.ack(1);
  // AND a subscription with max in flight 1 that never acks gets 3 messages on `stalls`
  const stalled = await slow.subscribe("stalls", { ackMode: "manual", maxInFlight: 1 });
  for (let i = 1; i <= 3; i++) await publisher.publish("stalls", `event ${i}`);
  await stalled.waitForMessages(1);
  // AND a durable reads 2 messages of `full`, closes (offline), and 5 more arrive: 7 > max_msgs 5
  const archiver = await sensor.subscribe("full", { durableName: "archiver", startPosition: StartPosition.First });
  for (let i = 1; i <= 2; i++) await publisher.publish("full", `x${i}`);
  await archiver.waitForMessages(2);
  await archiver.close();
  for (let i = 3; i <= 7; i++) await publisher.publish("full", `x${i}`);

  // THEN the snapshot, once the server has acted on the acks and marked the stall
  const snapshot = await waitFor(
    "the queue group's ack and the stall in the snapshot",
    async () => {
      const s = await readStanBus(monitors);
      const orders = s.channels.find((c) => c.name === "orders")?.subscriptions[0];
      const stall = s.channels.find((c) => c.name === "stalls")?.subscriptions[0];
      return orders?.pending === 3 && stall?.stalled ? s : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  const [server] = snapshot.servers;
  assert.ok(server);
  assert.equal(server.reachable, true);
  assert.equal(server.healthy, true);
  assert.equal(server.version, stan.serverVersion);
  assert.equal(server.state, "STANDALONE");
  assert.equal(server.role, undefined);
  assert.equal(server.clusterId, stan.clusterId);
  assert.equal(server.clients, 3);
  assert.equal(server.channels, 3);
  assert.equal(server.subscriptions, 3, "the queue member, the stalled one and the offline durable");
  assert.equal(snapshot.clustered, false);
  assert.equal(snapshot.leader, "stan-0");
  assert.deepEqual(snapshot.channelsSource, { server: "stan-0", leader: true });
  assert.equal(snapshot.clusterId, stan.clusterId);
  assert.equal(snapshot.store?.type, "MEMORY");
  assert.equal(snapshot.store?.limits.maxMsgs, 5);
  assert.deepEqual(
    snapshot.channels.map((c) => c.name),
    ["full", "orders", "stalls"],
  );

  const orders = channel(snapshot, "orders");
  assert.deepEqual([orders.msgs, orders.firstSeq, orders.lastSeq], [4, 1, 4]);
  assert.ok(orders.bytes > 0);
  assert.deepEqual(orders.subscriptions, [
    {
      clientId: "sensor",
      inbox: workers.inbox,
      ackInbox: workers.ackInbox,
      queueGroup: "workers",
      durableName: "sensor-dep",
      durable: true,
      offline: false,
      maxInFlight: 10,
      ackWaitSeconds: 60,
      lastSent: 4,
      pending: 3,
      stalled: false,
      backlog: 0,
    },
  ]);

  const stalls = channel(snapshot, "stalls");
  assert.deepEqual([stalls.msgs, stalls.firstSeq, stalls.lastSeq], [3, 1, 3]);
  const [stall] = stalls.subscriptions;
  assert.deepEqual(
    { clientId: stall?.clientId, durable: stall?.durable, maxInFlight: stall?.maxInFlight, lastSent: stall?.lastSent, pending: stall?.pending },
    { clientId: "slow", durable: false, maxInFlight: 1, lastSent: 1, pending: 1 },
  );
  assert.equal(stall?.stalled, true);
  assert.equal(stall?.backlog, 2);

  const full = channel(snapshot, "full");
  assert.deepEqual([full.msgs, full.firstSeq, full.lastSeq], [5, 3, 7]);
  const [offline] = full.subscriptions;
  assert.deepEqual(
    { clientId: offline?.clientId, durableName: offline?.durableName, durable: offline?.durable, offline: offline?.offline, lastSent: offline?.lastSent },
    { clientId: "sensor", durableName: "archiver", durable: true, offline: true, lastSent: 2 },
  );
  assert.equal(offline?.backlog, 5);

  assert.deepEqual(snapshot.problems, [
    "channel full is at its max_msgs (5 of 5 messages): each new message discards the oldest; discarded before they are sent: 5 messages of client sensor (durable archiver, offline)",
    "channel stalls: subscription of client slow is stalled (1 message sent and not acknowledged, its max in flight): nothing more is sent to it until it acks; the server redelivers them after its ack wait of 30s",
  ]);

  // AND channelsz read a page of 1 at a time gives the same channels
  const paged = await readStanBus(monitors, { pageSize: 1 });
  assert.deepEqual(
    paged.channels.map((c) => [c.name, c.msgs, c.lastSeq, c.subscriptions.length]),
    snapshot.channels.map((c) => [c.name, c.msgs, c.lastSeq, c.subscriptions.length]),
  );

  // AND the metrics carry the channel and subscription series with these numbers
  const families = parsePrometheusText(renderStanMetrics(BUS, snapshot, { durationSeconds: 0.25 }));
  assert.deepEqual(
    [...families.keys()],
    STAN_METRICS.map((f) => f.name),
  );
  const ordersLabels = { bus: BUS, channel: "orders" };
  assert.equal(sampleValue(families, "nss_chan_msgs_total", ordersLabels), 4);
  assert.equal(sampleValue(families, "nss_chan_last_seq", ordersLabels), 4);
  assert.equal(sampleValue(families, "nss_chan_bytes_total", ordersLabels), orders.bytes);
  assert.equal(sampleValue(families, "eventbus_stan_channel_first_seq", { bus: BUS, channel: "full" }), 3);
  assert.equal(sampleValue(families, "eventbus_stan_channel_at_limit", { bus: BUS, channel: "full" }), 1);
  assert.equal(sampleValue(families, "eventbus_stan_channel_at_limit", ordersLabels), 0);
  const queueLabels = {
    ...ordersLabels,
    client_id: "sensor",
    inbox: workers.inbox,
    queue_name: "sensor-dep:workers",
    durable_name: "sensor-dep",
    is_durable: "true",
    is_offline: "false",
  };
  assert.equal(sampleValue(families, "nss_chan_subs_pending_count", queueLabels), 3);
  assert.equal(sampleValue(families, "nss_chan_subs_last_sent", queueLabels), 4);
  assert.equal(sampleValue(families, "nss_chan_subs_max_inflight", queueLabels), 10);
  assert.equal(sampleValue(families, "eventbus_stan_subscription_stalled", queueLabels), 0);
  assert.equal(sampleValue(families, "eventbus_stan_subscription_stalled", { bus: BUS, channel: "stalls", client_id: "slow" }), 1);
  assert.equal(sampleValue(families, "eventbus_stan_subscription_ack_wait_seconds", queueLabels), 60);
  assert.equal(sampleValue(families, "nss_chan_subs_last_sent", { bus: BUS, channel: "full", durable_name: "archiver", is_offline: "true" }), 2);
  assert.equal(sampleValue(families, "nss_server_channels", { bus: BUS, server_name: "stan-0" }), 3);
  assert.equal(sampleValue(families, "nss_server_info", { bus: BUS, server_name: "stan-0", state: "STANDALONE", version: stan.serverVersion }), 1);
  assert.equal(sampleValue(families, "eventbus_stan_leader", { bus: BUS, server_name: "stan-0" }), 1);
  assert.equal(sampleValue(families, "eventbus_server_up", { bus: BUS, server_name: "stan-0" }), 1);
  assert.equal(sampleValue(families, "eventbus_bus_problems", { bus: BUS }), 2);
  assert.equal(sampleValue(families, "eventbus_bus_ready", { bus: BUS }), 0);
  assert.equal(sampleValue(families, "eventbus_snapshot_duration_seconds", { bus: BUS }), 0.25);

  // WHEN the server is killed
  await publisher.close();
  await sensor.close();
  await slow.close();
  await stan.process.stop({ signal: "SIGKILL" });
  const down = await readStanBus(monitors, { timeoutMillis: 1000 });

  // THEN it is down, there are no channels, and both are problems
  assert.deepEqual(down.servers, [{ name: "stan-0", reachable: false, healthy: false, error: "its monitoring endpoint does not answer" }]);
  assert.equal(down.leader, undefined);
  assert.deepEqual(down.channels, []);
  assert.deepEqual(down.problems, ["server stan-0 is down (its monitoring endpoint does not answer)", "channels: no server answers"]);
  const downFamilies = parsePrometheusText(renderStanMetrics(BUS, down));
  assert.equal(sampleValue(downFamilies, "eventbus_server_up", { server_name: "stan-0" }), 0);
  assert.equal(downFamilies.get("nss_chan_msgs_total")!.samples.length, 0);
  assert.equal(downFamilies.get("nss_server_info")!.samples.length, 0);
});

test("observe STAN - a planned 3-node cluster: the raft leader is found and channels are read from it; a killed leader is down and another is elected; without a quorum there is no leader", async () => {
  // GIVEN a 3-replica STAN bus, planned on free local ports and rendered by the project
  await using cluster = await startStanCluster();
  const { plan, monitors } = cluster;

  // THEN one server leads raft and the others follow, each named by its raft node ID
  const formed = await waitFor(
    "a raft leader with every server healthy",
    async () => {
      const s = await readStanBus(monitors);
      return s.leader !== undefined && s.servers.every((x) => x.healthy) ? s : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  assert.equal(formed.clustered, true);
  assert.equal(formed.clusterId, plan.clusterId);
  assert.deepEqual(
    formed.servers.map((s) => [s.name, s.nodeId, s.state]),
    plan.servers.map((s) => [s.name, s.name, "CLUSTERED"]),
  );
  const roles = formed.servers.map((s) => s.role).sort();
  assert.deepEqual(roles, ["Follower", "Follower", "Leader"]);
  assert.equal(formed.servers.find((s) => s.role === "Leader")?.name, formed.leader);
  assert.deepEqual(formed.problems, []);
  const firstLeader = formed.leader!;
  const leaderIndex = plan.servers.findIndex((s) => s.name === firstLeader);
  const followers = cluster.servers.filter((_, i) => i !== leaderIndex);

  // WHEN 5 messages are published through a follower, and a durable queue group with max in
  // flight 2 that never acks subscribes through the other follower
  const publisher = await connectRawStan({ servers: followers[0]!.clientUrl, clusterId: plan.clusterId, clientId: "publisher" });
  const sensor = await connectRawStan({ servers: followers[1]!.clientUrl, clusterId: plan.clusterId, clientId: "sensor" });
  try {
    const group = await sensor.subscribe("eventbus-argo", {
      queueGroup: "trigger",
      durableName: "dep",
      ackMode: "manual",
      maxInFlight: 2,
      ackWaitSeconds: 1,
    });
    for (let i = 1; i <= 5; i++) await publisher.publish("eventbus-argo", `event ${i}`);
    await group.waitForMessages(2);

    // THEN the leader's view shows the channel and the group stalled with 2 pending
    const stalled = await waitFor(
      "the stalled queue group in the leader's view",
      async () => {
        const s = await readStanBus(monitors);
        return s.channels[0]?.subscriptions[0]?.stalled ? s : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.deepEqual(stalled.channelsSource, { server: firstLeader, leader: true });
    const events = channel(stalled, "eventbus-argo");
    assert.deepEqual([events.msgs, events.firstSeq, events.lastSeq], [5, 1, 5]);
    assert.equal(events.subscriptions.length, 1);
    const [member] = events.subscriptions;
    assert.deepEqual(
      [member?.clientId, member?.queueGroup, member?.durableName, member?.durable, member?.offline, member?.maxInFlight, member?.pending, member?.backlog],
      ["sensor", "trigger", "dep", true, false, 2, 2, 3],
    );
    assert.deepEqual(stalled.problems, [
      "channel eventbus-argo: subscription of client sensor (queue group trigger, durable dep) is stalled (2 messages sent and not acknowledged, its max in flight): nothing more is sent to it until it acks; the server redelivers them after its ack wait of 1s",
    ]);
    const families = parsePrometheusText(renderStanMetrics(BUS, stalled));
    const channelLabels = { bus: BUS, channel: "eventbus-argo" };
    assert.equal(sampleValue(families, "nss_chan_msgs_total", channelLabels), 5);
    assert.equal(sampleValue(families, "nss_chan_last_seq", channelLabels), 5);
    assert.equal(sampleValue(families, "eventbus_stan_channel_subscriptions", channelLabels), 1);
    const memberLabels = { ...channelLabels, client_id: "sensor", queue_name: "dep:trigger", durable_name: "dep", is_durable: "true", is_offline: "false" };
    assert.equal(sampleValue(families, "nss_chan_subs_pending_count", memberLabels), 2);
    assert.equal(sampleValue(families, "nss_chan_subs_max_inflight", memberLabels), 2);
    assert.equal(sampleValue(families, "eventbus_stan_subscription_stalled", memberLabels), 1);
    for (const s of plan.servers) {
      assert.equal(sampleValue(families, "eventbus_stan_leader", { server_name: s.name }), s.name === firstLeader ? 1 : 0);
      assert.equal(sampleValue(families, "nss_server_info", { server_name: s.name, role: s.name === firstLeader ? "Leader" : "Follower" }), 1);
    }
  } finally {
    // The durable queue group outlives its client, offline.
    await sensor.close();
    await publisher.close();
  }

  // WHEN the leader is killed
  await cluster.servers[leaderIndex]!.process.stop({ signal: "SIGKILL" });

  // THEN it is down and said so at once
  const killed = await readStanBus(monitors, { timeoutMillis: 1000 });
  assert.deepEqual(killed.servers[leaderIndex], { name: firstLeader, reachable: false, healthy: false, error: "its monitoring endpoint does not answer" });
  assert.ok(killed.problems.includes(`server ${firstLeader} is down (its monitoring endpoint does not answer)`), killed.problems.join("\n"));
  assert.equal(sampleValue(parsePrometheusText(renderStanMetrics(BUS, killed)), "eventbus_server_up", { server_name: firstLeader }), 0);

  // AND another server is elected, whose replicated channel has every message and the offline group
  const reelected = await waitFor(
    "a new raft leader",
    async () => {
      const s = await readStanBus(monitors, { timeoutMillis: 1000 });
      return s.leader !== undefined && s.leader !== firstLeader ? s : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  assert.deepEqual(reelected.channelsSource, { server: reelected.leader, leader: true });
  const replicated = channel(reelected, "eventbus-argo");
  assert.deepEqual([replicated.msgs, replicated.firstSeq, replicated.lastSeq], [5, 1, 5]);
  const [shadow] = replicated.subscriptions;
  assert.deepEqual(
    [shadow?.clientId, shadow?.queueGroup, shadow?.durableName, shadow?.offline, shadow?.pending, shadow?.stalled],
    ["sensor", "trigger", "dep", true, 2, true],
  );
  // An offline group keeps its last client's stall: not a problem, nothing is sent to it anyway.
  assert.deepEqual(reelected.problems, [`server ${firstLeader} is down (its monitoring endpoint does not answer)`]);

  // WHEN the new leader is killed too, leaving one server of three
  const secondIndex = plan.servers.findIndex((s) => s.name === reelected.leader);
  await cluster.servers[secondIndex]!.process.stop({ signal: "SIGKILL" });
  const survivor = plan.servers.find((_, i) => i !== leaderIndex && i !== secondIndex)!.name;

  // THEN there is no leader, and the channels are the survivor's own (follower's) view
  const lonely = await readStanBus(monitors, { timeoutMillis: 1000 });
  assert.equal(lonely.leader, undefined);
  assert.deepEqual(lonely.channelsSource, { server: survivor, leader: false });
  assert.equal(channel(lonely, "eventbus-argo").lastSeq, 5);
  assert.ok(
    lonely.problems.some((p) => p.startsWith("NATS Streaming has no raft leader")),
    lonely.problems.join("\n"),
  );
  assert.equal(lonely.problems.filter((p) => / is down /.test(p)).length, 2);
  const lonelyFamilies = parsePrometheusText(renderStanMetrics(BUS, lonely));
  for (const s of plan.servers) assert.equal(sampleValue(lonelyFamilies, "eventbus_stan_leader", { server_name: s.name }), 0);
});

// ---------------------------------------------------------------------------------------------
// A clustered STAN bus from the project's plan and rendered configs.

interface StanCluster extends AsyncDisposable {
  readonly plan: StanPlan;
  readonly servers: readonly ServerProcess[];
  readonly monitors: readonly StanMonitor[];
}

/**
 * Plans a 3-replica STAN bus on free local ports, renders each server's config with its own temp
 * store and raft log dirs, and starts the three together (a clustered server logs that it is
 * ready only once it leads, so none is awaited for that). Disposing stops them and removes the dirs.
 */
async function startStanCluster(): Promise<StanCluster> {
  const result = validate({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: BUS }, spec: { nats: { native: { replicas: 3 } } } });
  if (!result.ok) throw new Error(`invalid test manifest: ${JSON.stringify(result.issues)}`);
  const ports = [];
  for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  const plan = planStan(result.bus, { platform: "local", ports });
  const binary = findBinary(NATS_STREAMING_SERVER);
  const dataDirs: string[] = [];
  const servers: ServerProcess[] = [];
  const dispose = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    for (const _ of plan.servers) dataDirs.push(await mkdtemp(join(tmpdir(), "eventbus-observe-stan-data-")));
    const started = await Promise.allSettled(
      plan.servers.map((server, i) => {
        const { config } = renderStanConfig(plan, i, { storeDir: join(dataDirs[i]!, "store"), logDir: join(dataDirs[i]!, "raft") });
        // The harness's `-p -1 -m -1` put the client and monitoring listeners on free ports (the
        // flags override the file); the cluster listener, routes and raft peers are the plan's.
        return startServerProcess({
          binary,
          dirPrefix: `eventbus-observe-${server.name}-`,
          files: { "stan.conf": config },
          args: (dir) => ["-sc", join(dir, "stan.conf")],
        });
      }),
    );
    for (const s of started) if (s.status === "fulfilled") servers.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    return {
      plan,
      servers,
      monitors: plan.servers.map((s, i) => ({ name: s.name, monitorUrl: servers[i]!.monitorUrl })),
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}
