/**
 * The bus snapshot against a real local 3-server bus with a publisher and a slow consumer: its
 * numbers equal what JetStream's API reports, and a killed server is shown down without a hang.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";

import { connect, durableName } from "../src/client/index.js";
import { snapshotBus, type BusSnapshot } from "../src/observe/index.js";
import { busStatus } from "../src/platforms/local/index.js";
import { jetstreamManifest, startTestBus } from "./helpers/local-bus.js";
import { waitFor } from "./helpers/process.js";

test("observe - a snapshot of a 3-server bus: stream and consumer numbers as JetStream reports them; a killed server is down, then back", async () => {
  await using bus = await startTestBus(jetstreamManifest("observe", `version: "2.10"\nreplicas: 3\npersistence: {volumeSize: 1Gi}`));
  const client = await connect({ status: await bus.status() });
  try {
    const monitors = (await bus.status()).access?.monitors ?? [];
    assert.equal(monitors.length, 3);
    // GIVEN events published and a slow consumer that took 2 of them and acked 1
    const dependency = { sensor: "s", trigger: "t", dependency: "d" };
    const subscription = await client.subscribe({ source: "obs", event: "e", dependency, max: 2, batch: 2 });
    const publisher = client.publisher({ window: 16 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => publisher.publish({ source: "obs", subject: "e", type: "t", data: { i } })));
    const received = [];
    for await (const r of subscription) received.push(r);
    await received[0]!.ack();

    // WHEN a snapshot is taken
    const snapshot = await snapshotBus(client, { monitors, dependencies: [dependency] });

    // THEN servers, meta group, stream and consumer match the servers' own reports
    assert.deepEqual(
      snapshot.servers.map((s) => [s.name, s.reachable, s.healthy, s.version]),
      monitors.map((m) => [m.name, true, true, "2.10.29"]),
    );
    assert.ok(
      snapshot.servers.every((s) => (s.routes ?? 0) >= 2 && (s.jetstream?.maxStoreBytes ?? 0) > 0),
      JSON.stringify(snapshot.servers),
    );
    assert.equal(snapshot.jetstream.peers.length, 3);
    assert.ok(snapshot.jetstream.metaLeader);
    const nc = await bus.connect();
    const jsm = await jetstreamManager(nc);
    const stream = await jsm.streams.info("default");
    assert.ok(!("error" in snapshot.stream));
    assert.equal(snapshot.stream.state.messages, stream.state.messages);
    assert.equal(snapshot.stream.state.lastSeq, stream.state.last_seq);
    assert.equal(snapshot.stream.state.consumers, 1);
    const consumer = await jsm.consumers.info("default", durableName(dependency));
    assert.deepEqual(snapshot.consumers, [
      {
        name: durableName(dependency),
        filterSubject: "default.obs.e",
        pending: consumer.num_pending,
        ackPending: consumer.num_ack_pending,
        redelivered: consumer.num_redelivered,
        deliveredStreamSeq: consumer.delivered.stream_seq,
        ackFloorStreamSeq: consumer.ack_floor.stream_seq,
        ackFloorConsumerSeq: consumer.ack_floor.consumer_seq,
        lastActive: snapshot.consumers[0]!.lastActive,
        dependency,
      },
    ]);
    assert.deepEqual([consumer.num_pending, consumer.num_ack_pending], [8, 1]);
    assert.deepEqual(snapshot.problems, []);

    // A consumer whose pending rose through the last snapshots (as `status --watch` keeps them) is a problem
    const earlier = (pending: number): BusSnapshot => ({ ...snapshot, consumers: snapshot.consumers.map((c) => ({ ...c, pending })) });
    const growing = await snapshotBus(client, { monitors, previous: [earlier(2), earlier(5)] });
    assert.deepEqual(growing.problems, [`consumer ${durableName(dependency)}: pending grows (2 → 5 → 8); its subscriber is not keeping up`]);
    assert.deepEqual((await snapshotBus(client, { monitors, previous: [earlier(8), earlier(8)] })).problems, [], "steady pending is no problem");
    assert.deepEqual((await snapshotBus(client, { monitors, previous: [earlier(5)] })).problems, [], "two snapshots are not yet a trend");

    // WHEN a server is killed (the supervisor restarts it), the snapshot still comes back quickly
    const status = await busStatus(bus.name, { home: bus.home });
    const victim = status.servers[2]!;
    process.kill(victim.pid!, "SIGKILL");
    const started = Date.now();
    const down = await waitFor(
      "the snapshot to show the server down",
      async () => {
        const s = await snapshotBus(client, { monitors, timeoutMillis: 500 });
        return s.servers.find((x) => x.name === victim.name)?.reachable === false ? s : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    assert.ok(Date.now() - started < 10_000);
    assert.ok(
      down.problems.some((p) => p === `server ${victim.name} is down (its monitoring endpoint does not answer)`),
      down.problems.join("\n"),
    );
    // AND once it is back and caught up, the problems are gone
    // (the problems still shown are kept for the timeout's message)
    let remaining: readonly string[] = [];
    const recovered = await waitFor(
      "no problems after the restart",
      async () => {
        const s = await snapshotBus(client, { monitors });
        remaining = s.problems;
        return s.problems.length === 0 ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch((error: unknown) => assert.fail(`${(error as Error).message}; problems still shown: ${remaining.join("; ")}`));

    // WHEN a follower of the stream hangs (SIGSTOP: it neither answers nor replicates) while events go on
    assert.ok(!("error" in recovered.stream));
    // (not the server this client is connected to, whose publishes would hang with it)
    const servers = (await busStatus(bus.name, { home: bus.home })).servers;
    const followers = recovered.stream.cluster!.replicas.map((r) => r.name);
    const hung = servers.find((s) => followers.includes(s.name) && !client.server?.endsWith(`:${s.ports.client}`))!;
    const follower = hung.name;
    process.kill(hung.pid!, "SIGSTOP");
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => publisher.publish({ source: "obs", subject: "e", type: "t", data: { after: i } })));
      // THEN it is shown down and its replica of the stream behind, with the problems naming both
      const lagging = await waitFor(
        "the hung follower's replica to be shown behind",
        async () => {
          const s = await snapshotBus(client, { monitors, timeoutMillis: 500 });
          if ("error" in s.stream) return undefined;
          const replica = s.stream.cluster?.replicas.find((r) => r.name === follower);
          return replica && !replica.current ? { s, replica } : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      assert.equal(lagging.s.servers.find((x) => x.name === follower)?.reachable, false);
      assert.ok(
        lagging.s.problems.some((p) => p.startsWith(`stream default: replica ${follower} is `)),
        lagging.s.problems.join("\n"),
      );
    } finally {
      process.kill(hung.pid!, "SIGCONT");
    }
    // AND current again once it runs
    await waitFor("the replica to be current again", async () => ((await snapshotBus(client, { monitors })).problems.length === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  } finally {
    await client.close();
  }
});
