import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { busPaths, busStatus } from "../src/platforms/local/index.js";
import { jetstreamManifest, publishAcked, startPublisher, startTestBus, storedIds } from "./helpers/local-bus.js";

// No message limit: a fast publisher must not see its events age out of the default 50000.
const BASE = `replicas: 3\npersistence: {volumeSize: 1Gi}\nstreamConfig: "maxMsgs: -1"`;

async function varz(port: number): Promise<{ version: string; max_payload: number }> {
  return (await fetch(`http://127.0.0.1:${port}/varz`)).json() as Promise<{ version: string; max_payload: number }>;
}

describe("local platform - changes to a running bus", () => {
  test("a rolling max_payload change and a version upgrade while publishing lose no acked event", async () => {
    await using bus = await startTestBus(jetstreamManifest("rolling", `version: "2.10"\n${BASE}`));
    const pidsBefore = (await busStatus(bus.name, { home: bus.home })).servers.map((s) => s.pid);
    const nc = await bus.connect();
    const publisher = startPublisher(nc);
    await new Promise((r) => setTimeout(r, 300));

    // WHEN max_payload changes, THEN every server restarts, one at a time, with the new limit
    const payload = await bus.apply(jetstreamManifest("rolling", `version: "2.10"\nmaxPayload: 2MB\n${BASE}`));
    assert.equal(payload.action, "updated");
    assert.equal(payload.generation, 2);
    const afterPayload = await busStatus(bus.name, { home: bus.home });
    for (const [i, server] of afterPayload.servers.entries()) {
      assert.notEqual(server.pid, pidsBefore[i], `${server.name} restarted`);
      assert.equal((await varz(server.ports.monitor)).max_payload, 2 * 1024 * 1024);
    }

    // WHEN the version changes, THEN it is a rolling upgrade to the other installed nats-server
    const upgrade = await bus.apply(jetstreamManifest("rolling", `version: "2.11"\nmaxPayload: 2MB\n${BASE}`));
    assert.equal(upgrade.generation, 3);
    const afterUpgrade = await busStatus(bus.name, { home: bus.home });
    for (const server of afterUpgrade.servers) {
      assert.equal(server.version, "2.11.17");
      assert.equal((await varz(server.ports.monitor)).version, "2.11.17");
    }

    await new Promise((r) => setTimeout(r, 300));
    await publisher.stop();
    const stored = await storedIds(nc);
    const lost = [...publisher.acked].filter((id) => !stored.has(id));
    assert.ok(publisher.acked.size > 50, `only ${publisher.acked.size} events were acked`);
    assert.deepEqual(lost, [], `${lost.length} of ${publisher.acked.size} acked events lost`);
    // The supervisor's events tell the story of the roll
    const events = afterUpgrade.events.map((e) => `${e.server ?? ""} ${e.message}`);
    assert.ok(events.some((e) => /restarting with the new configuration/.test(e)));
    await nc.close();
  });

  test("scaling 3 → 5 → 3 keeps the stream and its events, and removes the peers", async () => {
    await using bus = await startTestBus(jetstreamManifest("scale", `version: "2.10"\n${BASE}`));
    let nc = await bus.connect();
    const ids = await publishAcked(nc, 100);
    await nc.close();

    const five = await bus.apply(jetstreamManifest("scale", `version: "2.10"\nreplicas: 5\npersistence: {volumeSize: 1Gi}\nstreamConfig: "maxMsgs: -1"`));
    assert.equal(five.connection.urls.length, 5);
    let status = await busStatus(bus.name, { home: bus.home });
    assert.equal(status.servers.length, 5);
    assert.ok(status.servers.every((s) => s.phase === "healthy"));
    assert.deepEqual(
      status.jetstream?.peers,
      status.servers.map((s) => s.name),
      "every server is a meta group peer",
    );

    const three = await bus.apply(jetstreamManifest("scale", `version: "2.10"\n${BASE}`));
    assert.equal(three.connection.urls.length, 3);
    status = await busStatus(bus.name, { home: bus.home });
    assert.deepEqual(
      status.servers.map((s) => s.name),
      ["eventbus-scale-js-0", "eventbus-scale-js-1", "eventbus-scale-js-2"],
    );
    const state = JSON.parse(await readFile(busPaths(bus.home, bus.name).state, "utf8")) as { servers: unknown[] };
    assert.equal(state.servers.length, 3);

    nc = await bus.connect();
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info("default");
    assert.equal(info.config.num_replicas, 3);
    const placed = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort();
    assert.deepEqual(placed, ["eventbus-scale-js-0", "eventbus-scale-js-1", "eventbus-scale-js-2"], "the stream lives on the remaining servers");
    assert.deepEqual([...(await storedIds(nc))].sort(), [...ids].sort());
    // The meta group lists only the remaining servers
    assert.deepEqual((await busStatus(bus.name, { home: bus.home })).jetstream?.peers, ["eventbus-scale-js-0", "eventbus-scale-js-1", "eventbus-scale-js-2"]);
    await nc.close();
  });

  test("a changed streamConfig updates the live stream", async () => {
    await using bus = await startTestBus(jetstreamManifest("streamcfg", `version: "2.10"\nreplicas: 1`));
    const updated = await bus.apply(jetstreamManifest("streamcfg", `version: "2.10"\nreplicas: 1\nstreamConfig: "maxMsgs: 10\\nmaxAge: 1h\\ndiscard: new"`));
    assert.equal(updated.stream?.action, "updated");
    assert.deepEqual([...(updated.stream?.changes ?? [])].sort(), [
      'discard: "old" → "new"',
      "max_age: 604800000000000 → 3600000000000",
      "max_msgs: 50000 → 10",
    ]);
    const nc = await bus.connect();
    const info = await (await jetstreamManager(nc)).streams.info("default");
    assert.equal(info.config.max_msgs, 10);
    await assert.rejects(publishAcked(nc, 11, "full"), /maximum messages exceeded/i, "discard new refuses the 11th event");
    await nc.close();
  });
});
