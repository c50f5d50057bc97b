/**
 * Retention on a real local bus: a stream kept to 40 events (maxMsgs) and 1 minute (maxAge), a
 * publisher at a steady 20 events/s, a durable consumer that acks 2 events/s and one that keeps up.
 * `eventbus status` (local and through the connection flags, text and JSON) and the supervisor's
 * `/metrics` name maxMsgs as the binding limit and the slow consumer, not the quick one, as losing
 * events it has not read.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from "@nats-io/jetstream";

import type { RetentionOutlook } from "../src/observe/index.js";
import { busCredentials, busStatus } from "../src/platforms/local/index.js";
import { runCliHere } from "./helpers/cli-process.js";
import { jetstreamManifest, startTestBus } from "./helpers/local-bus.js";
import { waitFor } from "./helpers/process.js";
import { parsePrometheusText, sampleValue } from "./helpers/prometheus-text.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("retention on a real bus - status and /metrics name maxMsgs as binding and the slow consumer as losing unread events; the quick one is not", async () => {
  await using bus = await startTestBus(
    jetstreamManifest("retain", 'version: "2.10"\nreplicas: 1\nstreamConfig: |\n  maxMsgs: 40\n  maxAge: 1m\n  duplicates: 10s\n  replicas: 1'),
  );
  const nc = await bus.connect();
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  for (const name of ["slow", "quick"]) {
    await jsm.consumers.add("default", {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: "default.ret.e",
    });
  }

  // GIVEN a publisher at 20 events/s, a consumer acking 2/s and one acking all it gets
  let stopped = false;
  const publishing = (async () => {
    for (let i = 0; !stopped; i++) {
      await js.publish("default.ret.e", new TextEncoder().encode(`{"i":${i}}`)).catch(() => undefined);
      await sleep(50);
    }
  })();
  const slow = (async () => {
    const consumer = await js.consumers.get("default", "slow");
    while (!stopped) {
      const m = await consumer.next({ expires: 1000 }).catch(() => null);
      if (m) await m.ackAck().catch(() => undefined);
      await sleep(500);
    }
  })();
  let quickMessages: ConsumerMessages | undefined;
  const quick = (async () => {
    quickMessages = await (await js.consumers.get("default", "quick")).consume({ max_messages: 100 });
    for await (const m of quickMessages) m.ack();
  })();

  try {
    // (the stream fills to its 40 events in 2 s; then every publish discards the oldest)
    await waitFor("the stream to reach maxMsgs", async () => ((await jsm.streams.info("default")).state.messages >= 40 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    await sleep(2000);

    // WHEN status is asked (JSON): THEN maxMsgs binds, and only the slow consumer is at risk
    const json = await runCliHere(["status", bus.name, "-o", "json"], { home: bus.home });
    assert.equal(json.code, 1, "a consumer at risk is a problem");
    const report = JSON.parse(json.stdout) as { problems: string[]; retention: RetentionOutlook };
    const r = report.retention;
    assert.equal(r.binding, "maxMsgs");
    assert.deepEqual(
      r.limits.map((l) => [l.limit, l.max, l.effect]),
      [
        ["maxAge", 60, "discards-oldest"],
        ["maxMsgs", 40, "discards-oldest"],
        ["store", 1024 ** 4, "refuses-publishes"],
      ],
    );
    assert.equal(r.limits.find((l) => l.limit === "maxMsgs")?.reachedInSeconds, 0);
    assert.equal(r.discardsInSeconds, 0);
    assert.ok(r.publishRate! > 5 && r.publishRate! < 40, `publish rate ${r.publishRate}`);
    assert.ok(r.oldestEventAgeSeconds! > 0 && r.oldestEventAgeSeconds! < 30, `oldest ${r.oldestEventAgeSeconds}`);
    const byName = new Map(r.consumers.map((c) => [c.name, c]));
    assert.equal(byName.get("slow")?.atRisk, true, JSON.stringify(byName.get("slow")));
    assert.equal(byName.get("slow")?.discardedBy, "maxMsgs");
    assert.equal(byName.get("quick")?.atRisk, false, JSON.stringify(byName.get("quick")));
    assert.ok(
      report.problems.some((p) => p.startsWith("consumer slow: maxMsgs discards events it has not read")),
      report.problems.join("\n"),
    );
    assert.ok(!report.problems.some((p) => p.startsWith("consumer quick")), report.problems.join("\n"));

    // AND the text has the retention line under the stream and the slow consumer's problem
    const text = await runCliHere(["status", bus.name], { home: bus.home });
    assert.match(
      text.stdout,
      /^retention: limits, discard old; maxMsgs 40 binds: discarding the oldest events now; then maxAge in \d+s, store in [\dhms]+; oldest event \d+s old; [\d.]+ events\/s published$/m,
    );
    assert.match(text.stdout, /^PROBLEM: consumer slow: maxMsgs discards events it has not read/m);

    // AND a bus given by its connection flags says the same
    const creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
    const remote = await runCliHere(["status", "--server", creds.urls.join(","), "--ca", creds.caFile!, "--creds", creds.authFile!, "-o", "json"], {
      home: bus.home,
    });
    const remoteRetention = (JSON.parse(remote.stdout) as { retention: RetentionOutlook }).retention;
    assert.equal(remoteRetention.binding, "maxMsgs");
    assert.deepEqual(
      remoteRetention.consumers.filter((c) => c.atRisk).map((c) => c.name),
      ["slow"],
    );

    // AND /metrics (its rates between two scrapes) names the binding limit and the consumer at risk
    const url = (await busStatus(bus.name, { home: bus.home })).metricsUrl!;
    const labels = { bus: bus.name, stream_name: "default" };
    const families = await waitFor(
      "the consumer at risk on /metrics",
      async () => {
        const f = parsePrometheusText(await (await fetch(url)).text());
        const atRisk = f.get("eventbus_consumer_at_risk")!.samples;
        return atRisk.length === 2 && sampleValue(f, "eventbus_consumer_at_risk", { ...labels, consumer_name: "slow" }) === 1 ? f : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 600 },
    );
    assert.equal(sampleValue(families, "eventbus_stream_limit_binding", { ...labels, limit: "maxMsgs" }), 1);
    assert.equal(sampleValue(families, "eventbus_stream_limit_binding", { ...labels, limit: "maxAge" }), 0);
    assert.equal(sampleValue(families, "eventbus_stream_limit_seconds_remaining", { ...labels, limit: "maxMsgs" }), 0);
    assert.equal(sampleValue(families, "eventbus_consumer_at_risk", { ...labels, consumer_name: "quick" }), 0);
    const age = sampleValue(families, "eventbus_stream_oldest_event_age_seconds", labels);
    assert.ok(age > 0 && age < 30, `oldest event age ${age}`);
  } finally {
    stopped = true;
    await quickMessages?.close();
    await Promise.all([publishing, slow, quick]);
  }
});
