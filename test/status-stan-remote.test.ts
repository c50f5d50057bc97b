/**
 * `eventbus status` and `eventbus console` of a NATS Streaming bus given by URL (`--server
 * --cluster-id --monitor`), against a real nats-streaming-server: its servers, channels and
 * subscriptions from the monitoring endpoints (`/streaming/serverz`, `/channelsz`), as a local STAN
 * bus shows them; a cluster ID the servers do not have is a problem; without --monitor, exit 2.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import type { ConsoleState } from "../src/console/index.js";
import { runCliHere } from "./helpers/cli-process.js";
import { startTestConsole } from "./helpers/console.js";
import { startStreamingServer } from "./helpers/index.js";
import { connectRawStan, StartPosition } from "./helpers/stan-raw.js";

test("status and console of a STAN bus by URL: servers, channels and subscriptions from its monitoring endpoint; a wrong cluster ID is a problem; --monitor is required", async () => {
  // GIVEN a server with 3 messages on Argo's channel and a sensor-style durable queue subscription that acked none
  await using stan = await startStreamingServer({ clusterId: "eventbus-default" });
  await using publisher = await connectRawStan({ servers: stan.clientUrl, clusterId: stan.clusterId, clientId: "publisher" });
  await using sensor = await connectRawStan({ servers: stan.clientUrl, clusterId: stan.clusterId, clientId: "sensor" });
  for (let i = 1; i <= 3; i++) await publisher.publish("eventbus-argo-events", `event ${i}`);
  await sensor.subscribe("eventbus-argo-events", {
    queueGroup: "client-123",
    durableName: "client-123",
    ackMode: "manual",
    startPosition: StartPosition.First,
    maxInFlight: 10,
  });
  const flags = ["--server", stan.clientUrl, "--cluster-id", "eventbus-default", "--monitor", stan.monitorUrl];

  // WHEN its status is asked with its cluster ID and monitoring endpoint
  const ok = await runCliHere(["status", ...flags]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, new RegExp(`^bus ${stan.clientUrl.replace(/[.]/g, "\\.")}: healthy, NATS Streaming cluster eventbus-default\\n`));
  assert.match(ok.stdout, /\nnats streaming: serving 127\.0\.0\.1:\d+ \(127\.0\.0\.1:\d+ STANDALONE\); channels read from/);
  assert.match(ok.stdout, /\neventbus-argo-events\s+3\s+\d+\s+1\s+3\s+1\n/);
  assert.match(ok.stdout, /\neventbus-argo-events\s+sensor\s+client-123\s+client-123\s+active\s+3\s+3\/10\s+0\s+/);
  assert.doesNotMatch(ok.stdout, /JetStream|stream default/);
  const json = JSON.parse((await runCliHere(["status", ...flags, "-o", "json"])).stdout) as {
    clusterId: string;
    channels: { name: string; lastSeq: number }[];
  };
  assert.equal(json.clusterId, "eventbus-default");
  assert.deepEqual(
    json.channels.map((c) => [c.name, c.lastSeq]),
    [["eventbus-argo-events", 3]],
  );

  // A cluster ID the servers do not have: clients would be refused, so it is a problem (exit 1).
  const wrong = await runCliHere(["status", "--server", stan.clientUrl, "--cluster-id", "eventbus-other", "--monitor", stan.monitorUrl]);
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stdout,
    /\nPROBLEM: the servers are NATS Streaming cluster eventbus-default, not eventbus-other: clients connecting with eventbus-other are refused\n/,
  );

  // Without a monitoring endpoint there is nothing to read the channels from.
  const bare = await runCliHere(["status", "--server", stan.clientUrl, "--cluster-id", "eventbus-default"]);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /a NATS Streaming bus is read from its servers' monitoring endpoints .*: give --monitor/);

  // AND the console shows the same bus, with its channels and no event browser.
  const home = await mkdtemp(join(tmpdir(), "eventbus-console-stan-"));
  try {
    await using c = await startTestConsole(home, [...flags, "--interval", "1s"]);
    const state = (await (await c.fetch("/api/state")).json()) as ConsoleState;
    const bus = state.buses.find((b) => b.id === "remote.1")!;
    assert.equal(bus.healthy, true, JSON.stringify(bus.view.problems));
    assert.equal(bus.browsable, false);
    assert.deepEqual(
      bus.view.stanChannels?.map((ch) => [ch.name, ch.msgs, ch.subscriptions.map((s) => s.durableName)]),
      [["eventbus-argo-events", 3, ["client-123"]]],
    );
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
