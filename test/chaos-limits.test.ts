/**
 * Chaos suite - limits: what a publisher is told when the stream is full. Every event's fate is
 * exactly one of stored / duplicate-of-stored / failed-with-reason, and what is reported stored is
 * what the stream holds.
 *
 * What the server does, read in nats-server's source (v2.10.29 server/jetstream_cluster.go,
 * processClusteredInboundMsg; server/stream.go, processJetStreamMsg): a clustered stream's leader
 * stages every new Nats-Msg-Id in its duplicates map with sequence 0 before proposing the message,
 * and puts the real sequence there only when the message is stored. When the store refuses the
 * message (maximum bytes exceeded: 503, err_code 10077), the staged entry stays at 0, so the same
 * id sent again is answered `{"seq":0,"duplicate":true}` (2.10) or 409 err_code 10158 "duplicate
 * message id is in process" (2.11, jetstream_cluster.go) for the whole duplicates window, although
 * nothing was stored.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";

import { connect, isPublishFailed, PublishFailureReason, type EventBusClient, type PublishResult } from "../src/client/index.js";
import { busCredentials, busStatus, type BusCredentials } from "../src/platforms/local/index.js";
import { runCliHere } from "./helpers/cli-process.js";
import { jetstreamManifest, startTestBus, storedIds, type TestBus } from "./helpers/local-bus.js";
import { parsePrometheusText } from "./helpers/prometheus-text.js";

const KB = "x".repeat(1000);

for (const version of ["2.10", "2.11"] as const) {
  describe(`chaos - a full stream with discard new (nats-server ${version}, 3 servers)`, () => {
    let bus: TestBus;
    let creds: BusCredentials;
    /** The CLI's flags for reaching the bus as any remote bus: its URLs, auth file and CA. */
    const connection = () => ["--server", creds.urls.join(","), "--creds", creds.authFile!, "--ca", creds.caFile!];
    let client: EventBusClient;

    before(async () => {
      bus = await startTestBus(
        jetstreamManifest(
          `full-${version.replace(".", "-")}`,
          `version: "${version}"\nreplicas: 3\nauth: basic\ntls: {enabled: true}\nstreamConfig: |\n  maxBytes: 256KB\n  maxMsgs: -1\n  discard: new`,
        ),
      );
      creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
      client = await connect({ status: await bus.status() });
    });
    after(async () => {
      await client?.close();
      await bus?.[Symbol.asyncDispose]();
    });

    test("each event is stored or failed with the stream's reason; the stored ones are exactly what the stream holds", async () => {
      // GIVEN 1,000 events of ~1.3 KB against a 256 KB stream that discards new events
      const results: PublishResult[] = [];
      const events = Array.from({ length: 1000 }, () => ({
        source: "limits",
        subject: "full",
        type: "test",
        data: new TextEncoder().encode(JSON.stringify({ pad: KB })),
      }));
      // WHEN they are published with a window of 64
      for await (const result of client.publisher({ window: 64 }).publishSettled(events)) results.push(result);

      // THEN every event has one fate: stored with a real sequence, or failed as "stream full"
      assert.equal(results.length, 1000);
      const stored = results.filter((r): r is Extract<PublishResult, { ok: true }> => r.ok);
      const failed = results.filter((r): r is Extract<PublishResult, { ok: false }> => !r.ok);
      assert.ok(stored.length > 50 && stored.length < 400, `stored ${stored.length}`);
      for (const r of stored) {
        assert.equal(r.ack.duplicate, false, `event ${r.ack.id} reported a duplicate`);
        assert.ok(r.ack.seq > 0, `event ${r.ack.id} reported stored at seq ${r.ack.seq}`);
      }
      for (const r of failed) {
        assert.ok(isPublishFailed(r.error, PublishFailureReason.streamFull), `${r.id}: ${r.error.message}`);
        assert.match(r.error.message, /maximum bytes exceeded/);
      }
      // AND what the publisher called stored is what the stream holds, and nothing else
      const nc = await bus.connect();
      assert.deepEqual([...(await storedIds(nc))].sort(), stored.map((r) => r.ack.id).sort());
    });

    test("status and /metrics show the stream at its limit as a problem", async () => {
      const out = await runCliHere(["status", bus.name], { home: bus.home });
      assert.equal(out.code, 1, out.stdout);
      assert.match(
        out.stdout,
        /PROBLEM: stream default is at its maxBytes \(\d+ of 262144 bytes\) and discards new events \(discard: new\): every publish is refused/,
      );
      const metricsUrl = (await busStatus(bus.name, { home: bus.home })).metricsUrl!;
      const families = parsePrometheusText(await (await fetch(metricsUrl)).text());
      assert.equal(families.get("eventbus_stream_at_limit")!.samples[0]!.value, 1);
    });

    test("an id the leader holds as in process but never stored is reported not stored, not as a duplicate at seq 0", async () => {
      // GIVEN an event the full stream refused, whose id the leader keeps staged with sequence 0
      const nc = await bus.connect();
      const js = jetstream(nc);
      const id = `refused-${version}`;
      const h = natsHeaders();
      await assert.rejects(js.publish("default.limits.full", new TextEncoder().encode(KB), { msgID: id, headers: h }), /maximum bytes exceeded/);
      // (the raw answer to the same id now, as nats-server gives it)
      const raw = await js.publish("default.limits.full", new TextEncoder().encode(KB), { msgID: id }).then(
        (ack) => `seq ${ack.seq}, duplicate ${ack.duplicate}`,
        (err: Error) => err.message,
      );
      assert.match(raw, version === "2.10" ? /^seq 0, duplicate true$/ : /duplicate message id is in process/);

      // WHEN the eventbus publisher sends an event with that id
      const error = await client
        .publish({ source: "limits", subject: "full", type: "test", id, data: new TextEncoder().encode("{}") }, { inProcessSettleMillis: 300 })
        .then(
          (ack) => assert.fail(`reported ${JSON.stringify(ack)}`),
          (err: unknown) => err,
        );
      // THEN it is reported not stored, with why
      assert.ok(isPublishFailed(error, PublishFailureReason.notStored), String(error));
      assert.match((error as Error).message, /in process but the event is not in the stream/);
      assert.equal((await storedIds(nc)).has(id), false);
    });

    test("eventbus publish --count exits 1 and counts what was not stored, by reason", async () => {
      const out = await runCliHere(["publish", ...connection(), "--source", "cli", "--event", "full", "--data", JSON.stringify({ pad: KB }), "--count", "200"]);
      assert.equal(out.code, 1, out.stderr);
      assert.match(out.stdout, /^published 200 events \(0 stored, 0 duplicates of stored events, 200 not stored\) in /);
      assert.match(
        out.stderr,
        /200 of 200 events were not stored: 200 stream-full \(e\.g\. event \S+ on default\.cli\.full: not stored: the stream is full: maximum bytes exceeded/,
      );
      // Each failure is named for the first few events, the rest only counted.
      assert.equal(out.stderr.split("\n").filter((l) => / not stored: the stream is full/.test(l) && l.startsWith("eventbus: event ")).length, 5);
    });

    test("eventbus publish of one event to the full stream exits 1 with the reason", async () => {
      const out = await runCliHere(["publish", ...connection(), "--source", "cli", "--event", "one", "-o", "json"]);
      assert.equal(out.code, 1, out.stderr);
      const line = JSON.parse(out.stdout.trim()) as { fate: string; reason: string; serverCode: number };
      assert.equal(line.fate, "failed");
      assert.equal(line.reason, "stream-full");
      assert.equal(line.serverCode, 10077);
      assert.match(out.stderr, /not stored: the stream is full: maximum bytes exceeded/);
      const jsm = await jetstreamManager(await bus.connect());
      assert.ok((await jsm.streams.info("default")).state.bytes <= 256 * 1024);
    });
  });
}
