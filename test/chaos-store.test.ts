/**
 * Chaos suite - a full store: a bus whose stream has no maxBytes grows until the servers' JetStream
 * file store (max_file_store) is full. Publishers are told so at once, status and /metrics show it,
 * and raising the limit with `eventbus up` brings the stream back with every acked event.
 *
 * What nats-server does, read in its source (v2.10.29): the stream leader refuses a publish when
 * its server's store is over its limit with 503 err_code 10023 "insufficient resources" and steps
 * down (server/jetstream_cluster.go, processClusteredInboundMsg, `js.limitsExceeded`); a Raft node
 * whose server is over its limit does not stand for election (server/raft.go, runAsFollower,
 * "Not switching to candidate, no resources"). Every replica holds the whole stream, so all of them
 * are full at once and the stream stays without a leader.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { connect, isPublishFailed, PublishFailureReason, type EventBusClient, type PublishResult } from "../src/client/index.js";
import { busStatus, upBus } from "../src/platforms/local/index.js";
import { runCliHere } from "./helpers/cli-process.js";
import { healthyStatus, jetstreamManifest, startTestBus, storedIds, type TestBus } from "./helpers/local-bus.js";
import { parsePrometheusText } from "./helpers/prometheus-text.js";

const manifest = (maxFileStore: string, streamConfig = "maxMsgs: -1") =>
  jetstreamManifest(
    "store",
    `version: "2.10"\nreplicas: 3\nauth: basic\npersistence: {volumeSize: 1Gi}\nsettings: "max_file_store: ${maxFileStore}"\nstreamConfig: |\n  ${streamConfig}`,
  );

describe("chaos - the servers' JetStream store fills up (max_file_store 2MB, a stream without maxBytes)", { timeout: 600_000 }, () => {
  let bus: TestBus;
  let client: EventBusClient;
  const acked: string[] = [];

  before(async () => {
    bus = await startTestBus(manifest("2MB"));
    client = await connect({ status: await bus.status() });
  });
  after(async () => {
    await client?.close();
    await bus?.[Symbol.asyncDispose]();
  });

  test("the publisher is told the store is full, at once, for every event it could not store", async () => {
    const data = new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(1000) }));
    const events = Array.from({ length: 4000 }, (_, i) => ({ source: "store", subject: "fill", type: "test", id: `fill-${i}`, data }));
    const started = Date.now();
    const results: PublishResult[] = [];
    for await (const result of client.publisher({ window: 32 }).publishSettled(events)) results.push(result);
    const seconds = (Date.now() - started) / 1000;
    const failed = results.filter((r): r is Extract<PublishResult, { ok: false }> => !r.ok);
    for (const r of results) if (r.ok) acked.push(r.ack.id);
    console.log(`# full store: ${acked.length} events stored, ${failed.length} refused, in ${seconds.toFixed(1)} s`);
    assert.ok(acked.length > 100, `only ${acked.length} events stored`);
    assert.ok(failed.length > 0, "the store never filled");
    // Every refusal names the store, none waited out the retry window (no-stream, unacknowledged)
    for (const f of failed) {
      assert.ok(isPublishFailed(f.error, PublishFailureReason.storeExhausted), `${f.id}: ${f.error.message}`);
      assert.match(f.error.message, /JetStream store is full/);
    }
  });

  test("a new publisher (eventbus publish) is told at once why the stream has no leader", async () => {
    const out = await runCliHere(["publish", bus.name, "--source", "store", "--event", "late", "-o", "json"], { home: bus.home });
    assert.equal(out.code, 1, out.stderr);
    const line = JSON.parse(out.stdout.trim()) as { fate: string; reason: string; error: string };
    assert.equal(line.fate, "failed");
    assert.equal(line.reason, "store-exhausted");
    assert.match(
      line.error,
      /^stream default has no leader because the bus's JetStream store is full: the file store of 3 servers at http:\/\/127\.0\.0\.1:\d+, .* is over max_file_store/,
    );
  });

  test("status and /metrics show the full store as a problem", async () => {
    const out = await runCliHere(["status", bus.name], { home: bus.home });
    assert.equal(out.code, 1, out.stdout);
    assert.match(
      out.stdout,
      /PROBLEM: server eventbus-store-js-\d: its JetStream file store is full \(\d+ of 2097152 bytes\): it refuses every write and its streams cannot elect a leader; raise max_file_store/,
    );
    assert.match(out.stdout, /PROBLEM: stream default has no leader \(the JetStream store of eventbus-store-js-\d.* is full/);
    const metricsUrl = (await busStatus(bus.name, { home: bus.home })).metricsUrl!;
    // The supervisor caches a snapshot for a second: ask until the full store shows.
    let full = 0;
    for (let i = 0; i < 20 && full === 0; i++) {
      const families = parsePrometheusText(await (await fetch(metricsUrl)).text());
      full = families.get("eventbus_server_jetstream_store_full")!.samples.filter((s) => s.value === 1).length;
      if (full === 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(full, 3, "every server's store is full");
  });

  test("the way back: raising max_file_store with eventbus up brings the stream back with every acked event", async () => {
    const progress: string[] = [];
    // Every step says what it saw when it fails: this case has failed once in CI only, without a trace.
    const up = await upBus({
      home: bus.home,
      manifest: { text: manifest("64MB", "maxMsgs: -1\n  maxBytes: 32MB"), source: "raised.yaml" },
      timeoutMillis: 120_000,
      onProgress: (l) => progress.push(l),
    }).catch((error: Error & { detail?: string }) => {
      throw new Error(`up failed: ${error.message}\n${error.detail ?? ""}\n${progress.join("\n")}`, { cause: error });
    });
    assert.equal(up.action, "updated", progress.join("\n"));
    // up returns once the stream has a leader and a quorum of current replicas; a replica still
    // behind is caught up (or its server restarted) by the supervisor in the background.
    const status = await healthyStatus(bus, 90_000);
    assert.equal(status.healthy, true, `${status.problems.join("\n")}\nup said:\n${progress.join("\n")}`);
    // Events are stored again
    const ack = await client.publish({ source: "store", subject: "after", type: "test" }).catch((error: Error) => {
      throw new Error(`the publish after up failed: ${error.message}`, { cause: error });
    });
    assert.ok(ack.seq > 0);
    const stored = await storedIds(await bus.connect(), "default", ack.seq);
    const missing = acked.filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acked events are not stored (${stored.size} stored)`);
    assert.ok(stored.has(ack.id), `the event acked after up (sequence ${ack.seq}) is stored`);
  });
});
