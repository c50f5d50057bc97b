/**
 * A managed NATS Streaming (STAN) bus on the local platform: `eventbus up` runs it as supervised
 * nats-streaming-server processes in a raft cluster. What is checked is what the counterparts read:
 *
 * - nats-streaming-server's own view, from its monitoring endpoint (nats-io/nats-streaming-server
 *   0.25.6 `server/monitor.go` `Serverz`: `state` CLUSTERED or STANDALONE, `role` the hashicorp/raft
 *   state Leader or Follower, `node_id`);
 * - a STAN client's first request: a ConnectRequest to `_STAN.discover.<clusterID>` (nats-io/stan.go
 *   `stan.go` `Connect`, `DefaultDiscoverPrefix`); the server answers an empty one with the
 *   ConnectResponse error `stan: invalid connection request` (nats-streaming-server `server/server.go`
 *   `connectCB`, `ErrInvalidConnReq`), which shows a streaming server of that cluster ID listens;
 * - Argo's `status.config` of a STAN bus (argoproj/argo-events pkg/apis/eventbus/v1alpha1
 *   `NATSConfig`: url, clusterID, auth, accessSecret), which its STAN drivers connect from.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";

import { connectStan, type StanMessage } from "../src/client/stan/index.js";
import { getJson, httpGet } from "../src/observe/http.js";
import { busCredentials, busStatus } from "../src/platforms/local/index.js";
import { runCliProcess } from "./helpers/cli-process.js";
import { parsePrometheusText, sampleValue } from "./helpers/prometheus-text.js";
import { startTestBus, type TestBus } from "./helpers/local-bus.js";
import { waitFor } from "./helpers/process.js";

interface Serverz {
  readonly cluster_id: string;
  readonly state: string;
  readonly role?: string;
  readonly node_id?: string;
}

function stanManifest(name: string, nativeYaml: string): string {
  const body = nativeYaml
    .trim()
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n");
  return `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata:\n  name: ${name}\nspec:\n  nats:\n    native:\n${body}\n`;
}

/** Each server's /streaming/serverz, in server order (undefined where it does not answer). */
async function serverz(bus: TestBus): Promise<(Serverz | undefined)[]> {
  const creds = await busCredentials(bus.name, { home: bus.home });
  return Promise.all(creds.monitors.map((url) => getJson<Serverz>(`${url}/streaming/serverz`)));
}

/** Whether the cluster is whole: every server CLUSTERED, one Leader, the others Followers. */
function whole(views: (Serverz | undefined)[]): boolean {
  return (
    views.every((v) => v?.state === "CLUSTERED" && (v.role === "Leader" || v.role === "Follower")) && views.filter((v) => v?.role === "Leader").length === 1
  );
}

/** What the server answers an empty ConnectRequest on the discover subject of `clusterId`. */
async function discoverAnswer(nc: NatsConnection, clusterId: string): Promise<string> {
  const reply = await nc.request(`_STAN.discover.${clusterId}`, new Uint8Array(0), { timeout: 5000 });
  return new TextDecoder().decode(reply.data);
}

describe("local NATS Streaming - a 3-server bus with token auth and persistence", () => {
  let bus: TestBus;
  before(async () => {
    bus = await startTestBus(stanManifest("legacy", "replicas: 3\nauth: token\npersistence: {volumeSize: 1Gi}\nmaxMsgs: 5000"));
  });
  after(async () => {
    await bus?.[Symbol.asyncDispose]();
  });

  test("up runs a raft cluster of nats-streaming-server with one leader, under cluster ID eventbus-<name>", async () => {
    assert.equal(bus.up.clusterId, "eventbus-legacy");
    assert.equal(bus.up.stream, undefined, "a STAN bus has no JetStream stream");
    assert.equal(bus.up.persistent, true);
    const views = await serverz(bus);
    assert.ok(whole(views), `one leader and two followers: ${JSON.stringify(views)}`);
    assert.deepEqual(
      views.map((v) => v?.cluster_id),
      ["eventbus-legacy", "eventbus-legacy", "eventbus-legacy"],
    );
    assert.deepEqual(views.map((v) => v?.node_id).sort(), ["eventbus-legacy-stan-0", "eventbus-legacy-stan-1", "eventbus-legacy-stan-2"]);
    // eventbus status reports the same leader, and no problem (no JetStream stream is asked of it).
    const report = await busStatus(bus.name, { home: bus.home });
    assert.deepEqual(report.problems, []);
    assert.equal(report.healthy, true);
    assert.equal(report.stan?.clusterId, "eventbus-legacy");
    assert.equal(report.stan?.leader, views.find((v) => v?.role === "Leader")?.node_id);
  });

  test("the token is required, and with it a STAN client reaches the streaming server of the cluster ID", async () => {
    const creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
    assert.equal(creds.auth, "token");
    assert.ok(creds.token && creds.token.length >= 32, "a generated token");
    await assert.rejects(connect({ servers: [...creds.urls], timeout: 3000, reconnect: false }), /Authorization Violation|AUTHORIZATION/i);
    const nc = await connect({ servers: [...creds.urls], token: creds.token, timeout: 5000 });
    try {
      assert.match(await discoverAnswer(nc, "eventbus-legacy"), /invalid connection request/);
    } finally {
      await nc.close();
    }
  });

  test("eventbus status and up as a user types them: the raft cluster shown, the bus healthy, up again unchanged", async () => {
    const env = { EVENTBUS_HOME: bus.home };
    const status = await runCliProcess(["status", "legacy"], undefined, { env, timeoutMillis: 60_000 });
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /^bus legacy: healthy, 3 server\(s\), NATS Streaming \(nats-streaming-server 0\.25\.6\), generation 1\n/);
    assert.match(status.stdout, /nats streaming: cluster ID eventbus-legacy, raft leader eventbus-legacy-stan-\d \(eventbus-legacy-stan-0 (Leader|Follower), /);
    assert.doesNotMatch(status.stdout, /PROBLEM/);
    const manifest = stanManifest("legacy", "replicas: 3\nauth: token\npersistence: {volumeSize: 1Gi}\nmaxMsgs: 5000");
    const again = await runCliProcess(["up", "-f", "-", "-o", "json"], manifest, { env, timeoutMillis: 120_000 });
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout) as { action: string; clusterId: string; auth: string; stream?: unknown };
    assert.deepEqual([summary.action, summary.clusterId, summary.auth, summary.stream], ["unchanged", "eventbus-legacy", "token", undefined]);
  });

  test("status.config is Argo's NATSConfig: url, clusterID, auth and the client secret", async () => {
    const status = await bus.status();
    const creds = await busCredentials(bus.name, { home: bus.home });
    assert.deepEqual(status.config, {
      nats: { url: creds.urls.join(","), clusterID: "eventbus-legacy", auth: "token", accessSecret: { name: "eventbus-legacy-client", key: "client-auth" } },
    });
    assert.equal(status.phase, "Running");
  });

  test("a server killed with SIGKILL is restarted by the supervisor and the cluster is whole again", async () => {
    const report = await busStatus(bus.name, { home: bus.home });
    const victim = report.servers.find((s) => s.pid !== undefined)!;
    process.kill(victim.pid!, "SIGKILL");
    await waitFor(
      `${victim.name} restarted`,
      async () => {
        const now = await busStatus(bus.name, { home: bus.home });
        const server = now.servers.find((s) => s.name === victim.name);
        return server?.pid !== undefined && server.pid !== victim.pid && server.restarts >= 1 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await waitFor("the cluster whole again", async () => (whole(await serverz(bus)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
  });

  test("the raft leader SIGKILLed while a STAN client publishes: every acked message is in the channel, in order", async () => {
    // As Argo's STAN event source (argoproj/argo-events pkg/eventbus/stan/eventsource/source_conn.go
    // `Publish`): one channel, eventbus-<namespace>, and a message counts once its PubAck came.
    const creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
    const nc = await connect({ servers: [...creds.urls], token: creds.token, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const channel = "eventbus-argo-events";
    const acked: string[] = [];
    try {
      const stan = await connectStan(nc, { clusterId: "eventbus-legacy", clientId: "failover-publisher", pubAckTimeoutMillis: 3000 });
      const publish = async (n: number) => {
        const body = `event-${n}`;
        // A publish whose ack did not come (the leader died) is sent again; STAN may then hold it twice.
        for (let attempt = 1; ; attempt++) {
          try {
            await stan.publish(channel, new TextEncoder().encode(body));
            acked.push(body);
            return;
          } catch (error) {
            if (attempt >= 20) throw error;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      };
      for (let n = 0; n < 200; n++) await publish(n);
      const views = await serverz(bus);
      const leader = views.find((v) => v?.role === "Leader")!.node_id!;
      const report = await busStatus(bus.name, { home: bus.home });
      process.kill(report.servers.find((s) => s.name === leader)!.pid!, "SIGKILL");
      for (let n = 200; n < 300; n++) await publish(n);
      await waitFor("the cluster whole again", async () => (whole(await serverz(bus)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
      const reader = await stan.subscribe(channel, { startAt: "first" });
      const received: StanMessage[] = [];
      // A lost message would leave the loop waiting: the subscription is closed after 30 s, and the assertion says what is missing.
      const giveUp = setTimeout(() => void reader.close(), 30_000);
      for await (const m of reader) {
        received.push(m);
        if (received.length >= acked.length && new Set(received.map((r) => new TextDecoder().decode(r.data))).size >= acked.length) break;
      }
      clearTimeout(giveUp);
      await reader.close();
      const bodies = received.map((m) => new TextDecoder().decode(m.data));
      assert.deepEqual([...new Set(bodies)], acked, "every acked message, in the order it was acked");
      // eventbus status shows the channel from the new leader, and the publisher's messages in it.
      const after = await busStatus(bus.name, { home: bus.home });
      const shown = after.stan?.channels.find((c) => c.name === channel);
      assert.equal(shown?.msgs, received.length);
      assert.notEqual(after.stan?.leader, undefined);
      // The supervisor's /metrics of a STAN bus: the channel's messages and every server up.
      assert.ok(after.metricsUrl, "the supervisor serves /metrics");
      const metrics = parsePrometheusText((await httpGet(after.metricsUrl!, 5000))!.body);
      assert.equal(sampleValue(metrics, "nss_chan_msgs_total", { bus: "legacy", channel }), received.length);
      for (const server of after.servers) assert.equal(sampleValue(metrics, "eventbus_server_up", { bus: "legacy", server_name: server.name }), 1);
      await stan.close();
    } finally {
      await nc.close();
    }
  });

  test("a changed limit rolls through the servers one at a time while a STAN client publishes: every acked message stays", async () => {
    const creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
    const nc = await connect({ servers: [...creds.urls], token: creds.token, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const channel = "eventbus-rolling";
    const acked: string[] = [];
    try {
      const stan = await connectStan(nc, { clusterId: "eventbus-legacy", clientId: "rolling-publisher", pubAckTimeoutMillis: 3000 });
      let stop = false;
      const publishing = (async () => {
        for (let n = 0; !stop; n++) {
          const body = `rolling-${n}`;
          // A publish whose ack did not come (a server restarting) is sent again.
          for (;;) {
            try {
              await stan.publish(channel, new TextEncoder().encode(body));
              acked.push(body);
              break;
            } catch {
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        }
      })();
      const updated = await bus.apply(stanManifest("legacy", "replicas: 3\nauth: token\npersistence: {volumeSize: 1Gi}\nmaxMsgs: 6000"));
      stop = true;
      await publishing;
      assert.equal(updated.action, "updated");
      // Every server runs the new limit (`/streaming/storez`: the store limits it was started with).
      const limits = await Promise.all(creds.monitors.map((url) => getJson<{ limits?: { max_msgs?: number } }>(`${url}/streaming/storez`)));
      assert.deepEqual(
        limits.map((l) => l?.limits?.max_msgs),
        [6000, 6000, 6000],
      );
      assert.ok(whole(await serverz(bus)), "the cluster is whole after the change");
      const reader = await stan.subscribe(channel, { startAt: "first" });
      const bodies = new Set<string>();
      const giveUp = setTimeout(() => void reader.close(), 30_000);
      for await (const m of reader) {
        bodies.add(new TextDecoder().decode(m.data));
        if (acked.every((b) => bodies.has(b))) break;
      }
      clearTimeout(giveUp);
      await reader.close();
      assert.deepEqual(
        acked.filter((b) => !bodies.has(b)),
        [],
        `every one of the ${acked.length} acked messages is in the channel`,
      );
      assert.ok(acked.length > 0, "messages were published during the change");
      await stan.close();
    } finally {
      await nc.close();
    }
  });

  test("a change of replicas is refused before anything changes: raft peers are fixed", async () => {
    await assert.rejects(
      bus.apply(stanManifest("legacy", "replicas: 5\nauth: token\npersistence: {volumeSize: 1Gi}\nmaxMsgs: 6000")),
      /spec\.nats\.native\.replicas: NATS Streaming fixes its raft peers when the cluster is made, so bus legacy cannot go from 3 to 5 servers/,
    );
    assert.ok(whole(await serverz(bus)), "the three servers run on");
    assert.equal((await serverz(bus)).length, 3);
  });
});

describe("local NATS Streaming - without auth and without persistence", () => {
  test("a client needs no credentials; the store is ephemeral; one replica is raised to three, as Argo does", async () => {
    // Argo Events raises a STAN bus's replicas to 3 (argoproj/argo-events
    // pkg/reconciler/eventbus/installer/nats.go: `if replicas < 3 { replicas = 3 }`), and so does validate.
    const progress: string[] = [];
    await using bus = await startTestBus(stanManifest("open", "replicas: 1\nauth: none"), { onProgress: (line) => progress.push(line) });
    assert.ok(
      progress.some((l) => /spec\.nats\.native\.replicas: 1 is raised to 3/.test(l)),
      progress.join("\n"),
    );
    const views = await serverz(bus);
    assert.equal(views.length, 3);
    assert.ok(whole(views), JSON.stringify(views));
    assert.equal(bus.up.persistent, false);
    const report = await busStatus(bus.name, { home: bus.home });
    assert.match(report.storage, /^ephemeral/);
    const creds = await busCredentials(bus.name, { home: bus.home });
    assert.equal(creds.authFile, undefined);
    assert.deepEqual((await bus.status()).config, { nats: { url: creds.urls.join(","), clusterID: "eventbus-open", auth: "none" } });
    const nc = await connect({ servers: [...creds.urls], timeout: 5000 });
    try {
      assert.match(await discoverAnswer(nc, "eventbus-open"), /invalid connection request/);
    } finally {
      await nc.close();
    }
  });
});
