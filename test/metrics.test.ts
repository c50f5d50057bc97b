/**
 * The bus's Prometheus metrics: the text format (a strict parser, the renderer's escaping), the
 * rendering of a snapshot with a server down, and the supervisor's `/metrics` of a real local
 * 3-server bus, whose numbers equal what JetStream and the supervisor report, also while a killed
 * server is restarted.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";

import { connect, durableName } from "../src/client/index.js";
import { BUS_METRICS, PROMETHEUS_CONTENT_TYPE, renderBusMetrics, renderFamily, retentionOutlook, type BusSnapshot } from "../src/observe/index.js";
import { busStatus, downBus } from "../src/platforms/local/index.js";
import { jetstreamManifest, startTestBus } from "./helpers/local-bus.js";
import { waitFor } from "./helpers/process.js";
import { ExpositionError, parsePrometheusText, sampleValue, type ParsedFamily } from "./helpers/prometheus-text.js";

test("prometheus text - the parser reads escaped label values, NaN and +Inf, and histograms by their family", () => {
  const text = [
    "# HELP a_total Things, with a \\\\ and a\\nnewline",
    "# TYPE a_total counter",
    'a_total{path="C:\\\\dir",quote="say \\"hi\\"",nl="x\\ny"} 3',
    "a_total 1e3",
    "# some comment",
    "# TYPE h histogram",
    'h_bucket{le="1"} 1',
    'h_bucket{le="+Inf"} 2',
    "h_sum NaN",
    "h_count 2",
    "# TYPE g gauge",
    "g +Inf 1700000000000",
    "",
  ].join("\n");
  const families = parsePrometheusText(text);
  assert.deepEqual([...families.keys()], ["a_total", "h", "g"]);
  assert.equal(families.get("a_total")!.help, "Things, with a \\ and a\nnewline");
  assert.deepEqual(families.get("a_total")!.samples[0], { name: "a_total", labels: { path: "C:\\dir", quote: 'say "hi"', nl: "x\ny" }, value: 3 });
  assert.equal(sampleValue(families, "a_total", { path: "C:\\dir" }), 3);
  assert.throws(() => sampleValue(families, "a_total"), /2 samples/);
  assert.equal(families.get("a_total")!.samples[1]!.value, 1000);
  assert.deepEqual(
    families.get("h")!.samples.map((s) => s.name),
    ["h_bucket", "h_bucket", "h_sum", "h_count"],
  );
  assert.ok(Number.isNaN(sampleValue(families, "h_sum")));
  assert.equal(sampleValue(families, "g"), Infinity);
});

test("prometheus text - the parser throws on malformed lines, samples without a TYPE, families declared twice or split, bad escapes", () => {
  const bad: [string, RegExp][] = [
    ["a 1\n", /a has no # TYPE/],
    ["# TYPE a gauge\n# TYPE a gauge\na 1\n", /declared twice/],
    ["# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n", /apart from the rest/],
    ["# TYPE a gauge\na 1\na 2\n", /given twice/],
    ['# TYPE a gauge\na{x="\\t"} 1\n', /bad escape/],
    ['# TYPE a gauge\na{x="open} 1\n', /unterminated/],
    ['# TYPE a gauge\na{x="1" y="2"} 1\n', /expected , or }/],
    ['# TYPE a gauge\na{x="1",x="2"} 1\n', /given twice/],
    ["# TYPE a gauge\na\n", /malformed value/],
    ["# TYPE a gauge\na one\n", /bad value/],
    ["# TYPE a gauge\na  1\n", /malformed value/],
    ["# TYPE a meter\na 1\n", /unknown type/],
    ['# TYPE a gauge\n{x="1"} 1\n', /malformed line/],
    ["# TYPE a gauge\na 1", /does not end with a newline/],
  ];
  for (const [text, message] of bad)
    assert.throws(
      () => parsePrometheusText(text),
      (e: unknown) => e instanceof ExpositionError && message.test(e.message),
      JSON.stringify(text),
    );
});

test('prometheus text - rendered label values with \\, " and newlines parse back to the same values', () => {
  const labels = { bus: 'a"b\\c\nd', server_name: "plain" };
  const text = `${renderFamily({ name: "x", type: "gauge", help: "help with \\ and\nnewline" }, [
    { labels, value: NaN },
    { labels: { bus: "b", server_name: "" }, value: -Infinity },
  ])}\n`;
  const family = parsePrometheusText(text).get("x")!;
  assert.equal(family.help, "help with \\ and\nnewline");
  assert.deepEqual(family.samples[0]!.labels, labels);
  assert.ok(Number.isNaN(family.samples[0]!.value));
  assert.equal(family.samples[1]!.value, -Infinity);
});

test("bus metrics - a server down has server_up 0, healthz 1 and no varz samples; without the stream the bus is not ready", () => {
  const snapshot: BusSnapshot = {
    takenAt: "2026-01-01T00:00:00Z",
    servers: [
      {
        name: "s-0",
        reachable: true,
        healthy: true,
        cpu: 1.5,
        memoryBytes: 100,
        connections: 2,
        routes: 2,
        slowConsumers: 0,
        inMsgs: 10,
        outMsgs: 20,
        inBytes: 30,
        outBytes: 40,
        jetstream: { memoryBytes: 1, maxMemoryBytes: 2, storeBytes: 3, maxStoreBytes: 4 },
      },
      { name: "s-1", reachable: false, healthy: false },
    ],
    jetstream: {
      metaLeader: "s-0",
      peers: [
        { name: "s-0", current: true, offline: false, lag: 0 },
        { name: "s-1", current: false, offline: true, lag: 0 },
      ],
    },
    stream: { error: "cannot connect to the bus" },
    consumers: [],
    problems: ["server s-1 is down (its monitoring endpoint does not answer)", "stream default: cannot connect to the bus"],
  };
  const families = parsePrometheusText(renderBusMetrics('bus"1', snapshot, { restarts: { "s-1": 2 }, durationSeconds: 0.25 }));
  assert.deepEqual(
    [...families.keys()],
    BUS_METRICS.map((m) => m.name),
  );
  const server = (name: string) => ({ bus: 'bus"1', server_name: name });
  assert.equal(sampleValue(families, "eventbus_server_up", server("s-0")), 1);
  assert.equal(sampleValue(families, "eventbus_server_up", server("s-1")), 0);
  assert.equal(sampleValue(families, "gnatsd_healthz_status", server("s-0")), 0);
  assert.equal(sampleValue(families, "gnatsd_healthz_status", server("s-1")), 1);
  assert.equal(sampleValue(families, "gnatsd_varz_out_bytes", server("s-0")), 40);
  assert.equal(sampleValue(families, "jetstream_server_max_storage", server("s-0")), 4);
  for (const name of ["gnatsd_varz_cpu", "gnatsd_varz_mem", "gnatsd_varz_in_msgs", "jetstream_server_max_memory", "eventbus_server_jetstream_storage_bytes"]) {
    assert.deepEqual(
      families.get(name)!.samples.map((s) => s.labels["server_name"]),
      ["s-0"],
      name,
    );
  }
  assert.deepEqual(sampleValue(families, "eventbus_server_restarts_total", server("s-1")), 2);
  assert.deepEqual(sampleValue(families, "eventbus_server_restarts_total", server("s-0")), 0);
  assert.equal(sampleValue(families, "eventbus_jetstream_meta_leader", server("s-0")), 1);
  assert.equal(sampleValue(families, "eventbus_jetstream_peer_current", server("s-1")), 0);
  for (const name of ["jetstream_stream_total_messages", "jetstream_consumer_num_pending", "eventbus_stream_replica_current"])
    assert.equal(families.get(name)!.samples.length, 0, name);
  assert.equal(sampleValue(families, "eventbus_bus_ready"), 0);
  assert.equal(sampleValue(families, "eventbus_bus_problems"), 2);
  assert.equal(sampleValue(families, "eventbus_snapshot_duration_seconds"), 0.25);
});

test("bus metrics - retention: the oldest event's age, each limit's seconds remaining (+Inf when not at this rate) and the binding one, consumers' discard time and risk", () => {
  const takenAt = "2026-01-01T00:00:10Z";
  const stream = {
    name: "default",
    subjects: ["default.*.*"],
    storage: "file",
    config: { maxMsgs: 100, maxAge: "1h", maxBytes: -1, replicas: 1, duplicates: "5m", retention: "limits", discard: "old" },
    state: { messages: 100, bytes: 10_000, firstSeq: 401, lastSeq: 500, firstTime: "2026-01-01T00:00:00Z", lastTime: takenAt, consumers: 2, subjects: 1 },
  };
  const consumer = (name: string, ackFloor: number, pending: number) => ({
    name,
    pending,
    ackPending: 0,
    redelivered: 0,
    deliveredStreamSeq: ackFloor,
    ackFloorStreamSeq: ackFloor,
    ackFloorConsumerSeq: ackFloor,
  });
  const consumers = [consumer("stuck", 420, 80), consumer("idle", 500, 0)];
  // 20 events in the 2 s before: 10/s; the stuck consumer acked nothing
  const base = { takenAt: "2026-01-01T00:00:08Z", stream: { ...stream, state: { ...stream.state, lastSeq: 480 } }, consumers };
  const retention = retentionOutlook({ takenAt, stream, consumers }, [], base)!;
  const snapshot: BusSnapshot = { takenAt, servers: [], jetstream: { peers: [] }, stream, consumers, retention, problems: [] };
  const families = parsePrometheusText(renderBusMetrics("b", snapshot, { restarts: {}, durationSeconds: 0.1 }));
  const streamLabels = { bus: "b", stream_name: "default" };
  assert.equal(sampleValue(families, "eventbus_stream_oldest_event_age_seconds", streamLabels), 10);
  assert.equal(sampleValue(families, "eventbus_stream_limit_seconds_remaining", { ...streamLabels, limit: "maxMsgs" }), 0);
  assert.equal(sampleValue(families, "eventbus_stream_limit_seconds_remaining", { ...streamLabels, limit: "maxAge" }), 3590);
  assert.equal(sampleValue(families, "eventbus_stream_limit_binding", { ...streamLabels, limit: "maxMsgs" }), 1);
  assert.equal(sampleValue(families, "eventbus_stream_limit_binding", { ...streamLabels, limit: "maxAge" }), 0);
  assert.deepEqual(
    families.get("eventbus_stream_limit_binding")!.samples.map((s) => s.labels["limit"]),
    ["maxAge", "maxMsgs"],
    "only the limits set",
  );
  const stuck = { ...streamLabels, consumer_name: "stuck" };
  const idle = { ...streamLabels, consumer_name: "idle" };
  // the head 401 + 10t passes its next unread event, 421, in 2 s
  assert.equal(sampleValue(families, "eventbus_consumer_discard_seconds_remaining", stuck), 2);
  assert.equal(sampleValue(families, "eventbus_consumer_at_risk", stuck), 1);
  assert.equal(sampleValue(families, "eventbus_consumer_discard_seconds_remaining", idle), Infinity);
  assert.equal(sampleValue(families, "eventbus_consumer_at_risk", idle), 0);

  // Without an earlier reading there are no rates: no consumer samples, and maxAge's time is still known
  const first = retentionOutlook({ takenAt, stream, consumers: [consumer("stuck", 420, 80)] }, [])!;
  const unmeasured = parsePrometheusText(renderBusMetrics("b", { ...snapshot, retention: first }, { restarts: {}, durationSeconds: 0.1 }));
  assert.equal(unmeasured.get("eventbus_consumer_at_risk")!.samples.length, 0);
  assert.equal(sampleValue(unmeasured, "eventbus_stream_limit_seconds_remaining", { ...streamLabels, limit: "maxAge" }), 3590);
});

/** Every family of the catalog, with its type, help and labels, and nothing else. */
function assertCatalog(families: Map<string, ParsedFamily>): void {
  assert.deepEqual(
    [...families.keys()],
    BUS_METRICS.map((m) => m.name),
    "the catalog's families in its order, no others",
  );
  for (const m of BUS_METRICS) {
    const family = families.get(m.name)!;
    assert.equal(family.type, m.type, m.name);
    assert.equal(family.help, m.help, m.name);
    for (const s of family.samples) assert.deepEqual(Object.keys(s.labels), [...m.labels], `labels of ${m.name}`);
  }
}

test("local metrics - /metrics of a 3-server bus: the catalog's families with JetStream's and the supervisor's numbers; a killed server's restart is counted", async () => {
  await using bus = await startTestBus(jetstreamManifest("metrics", `version: "2.10"\nreplicas: 3\npersistence: {volumeSize: 1Gi}`));
  const client = await connect({ status: await bus.status() });
  try {
    // GIVEN 10 events and a durable consumer that took 2 of them and acked 1
    const dependency = { sensor: "s", trigger: "t", dependency: "d" };
    const subscription = await client.subscribe({ source: "met", event: "e", dependency, max: 2, batch: 2 });
    const publisher = client.publisher({ window: 16 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => publisher.publish({ source: "met", subject: "e", type: "t", data: { i } })));
    const received = [];
    for await (const r of subscription) received.push(r);
    await received[0]!.ack();
    const nc = await bus.connect();
    const jsm = await jetstreamManager(nc);
    const consumerName = durableName(dependency);
    await waitFor("the ack to be counted", async () => ((await jsm.consumers.info("default", consumerName)).num_ack_pending === 1 ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 20,
    });

    // WHEN /metrics is scraped
    const status = await busStatus(bus.name, { home: bus.home });
    assert.match(status.metricsUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const url = status.metricsUrl!;
    const scrape = async () => {
      const started = Date.now();
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      const millis = Date.now() - started;
      assert.equal(res.status, 200, text);
      assert.ok(millis < 3500, `a scrape took ${millis}ms`);
      return { res, text, families: parsePrometheusText(text) };
    };
    // (the supervisor connects to its bus at the first scrape, and the replicas catch up with the
    // events just written: until then the stream may be missing and the bus not ready)
    const first = await waitFor(
      "the stream on /metrics, and the bus ready",
      async () => {
        const scraped = await scrape();
        const f = scraped.families;
        return f.get("jetstream_stream_total_messages")!.samples.length > 0 && sampleValue(f, "eventbus_bus_ready", { bus: bus.name }) === 1
          ? scraped
          : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    // THEN it is the catalog, and its numbers are JetStream's and the supervisor's
    assert.equal(first.res.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
    const families = first.families;
    assertCatalog(families);
    const stream = await jsm.streams.info("default");
    const consumer = await jsm.consumers.info("default", consumerName);
    const streamLabels = { bus: bus.name, stream_name: "default" };
    const consumerLabels = { ...streamLabels, consumer_name: consumerName };
    assert.equal(sampleValue(families, "jetstream_stream_total_messages", streamLabels), stream.state.messages);
    assert.equal(sampleValue(families, "jetstream_stream_last_seq", streamLabels), stream.state.last_seq);
    assert.equal(sampleValue(families, "jetstream_stream_total_messages", streamLabels), 10);
    assert.equal(sampleValue(families, "jetstream_stream_consumer_count", streamLabels), 1);
    assert.equal(sampleValue(families, "jetstream_consumer_num_pending", consumerLabels), consumer.num_pending);
    assert.equal(sampleValue(families, "jetstream_consumer_num_ack_pending", consumerLabels), consumer.num_ack_pending);
    assert.deepEqual([consumer.num_pending, consumer.num_ack_pending], [8, 1]);
    assert.equal(sampleValue(families, "jetstream_consumer_delivered_stream_seq", consumerLabels), consumer.delivered.stream_seq);
    assert.equal(sampleValue(families, "jetstream_consumer_ack_floor_stream_seq", consumerLabels), consumer.ack_floor.stream_seq);
    assert.equal(consumer.delivered.stream_seq, 2);
    for (const server of status.servers) {
      const labels = { bus: bus.name, server_name: server.name };
      assert.equal(sampleValue(families, "eventbus_server_up", labels), 1, server.name);
      assert.equal(sampleValue(families, "gnatsd_healthz_status", labels), 0, server.name);
      assert.equal(sampleValue(families, "eventbus_server_restarts_total", labels), server.restarts, server.name);
      assert.ok(sampleValue(families, "gnatsd_varz_routes", labels) >= 2, server.name);
      assert.ok(sampleValue(families, "gnatsd_varz_in_msgs", labels) > 0, server.name);
      assert.equal(sampleValue(families, "eventbus_stream_replica_current", { ...streamLabels, server_name: server.name }), 1, server.name);
      assert.equal(sampleValue(families, "eventbus_stream_replica_lag", { ...streamLabels, server_name: server.name }), 0, server.name);
    }
    assert.equal(
      families.get("eventbus_jetstream_meta_leader")!.samples.reduce((n, s) => n + s.value, 0),
      1,
      "one meta leader",
    );
    assert.equal(sampleValue(families, "eventbus_bus_ready", { bus: bus.name }), 1);
    assert.equal(sampleValue(families, "eventbus_bus_problems", { bus: bus.name }), 0);
    // AND a scrape right after is served from the same snapshot; other paths are not found
    assert.equal((await scrape()).text, first.text);
    assert.equal((await fetch(url.replace(/\/metrics$/, "/status"))).status, 404);

    // WHEN a server is killed (the supervisor restarts it)
    const victim = status.servers[2]!;
    const victimLabels = { bus: bus.name, server_name: victim.name };
    process.kill(victim.pid!, "SIGKILL");
    // THEN the scrapes keep answering, show it down or restarted, and count its restart once
    const seen = await waitFor(
      "the metrics to show the server down or restarted",
      async () => {
        const { families: f } = await scrape();
        return sampleValue(f, "eventbus_server_up", victimLabels) === 0 || sampleValue(f, "eventbus_server_restarts_total", victimLabels) >= 1 ? f : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    assertCatalog(seen);
    if (sampleValue(seen, "eventbus_server_up", victimLabels) === 0) {
      assert.equal(sampleValue(seen, "gnatsd_healthz_status", victimLabels), 1);
      assert.equal(seen.get("gnatsd_varz_cpu")!.samples.filter((s) => s.labels["server_name"] === victim.name).length, 0, "no varz of a server down");
      assert.equal(sampleValue(seen, "eventbus_bus_ready", { bus: bus.name }), 0);
    }
    const restarted = await waitFor(
      "restarts_total of the killed server to be 1",
      async () => {
        const { families: f } = await scrape();
        return sampleValue(f, "eventbus_server_restarts_total", victimLabels) === 1 ? f : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal(sampleValue(restarted, "eventbus_server_restarts_total", victimLabels), (await busStatus(bus.name, { home: bus.home })).servers[2]!.restarts);
    // AND once it is back and current, the stream's numbers come back as before
    await waitFor(
      "the bus to be ready again",
      async () => {
        const { families: f } = await scrape();
        return sampleValue(f, "eventbus_bus_ready", { bus: bus.name }) === 1 && sampleValue(f, "eventbus_server_up", victimLabels) === 1 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const last = (await scrape()).families;
    assert.equal(sampleValue(last, "jetstream_stream_total_messages", streamLabels), 10);
    assert.equal(sampleValue(last, "eventbus_server_restarts_total", victimLabels), 1);
  } finally {
    await client.close();
  }

  // WHEN the bus is taken down and up again, its metrics port is kept while it is free
  const manifest = jetstreamManifest("metrics", `version: "2.10"\nreplicas: 3\npersistence: {volumeSize: 1Gi}`);
  const before = (await busStatus(bus.name, { home: bus.home })).metricsUrl!;
  await downBus(bus.name, { home: bus.home });
  assert.equal((await busStatus(bus.name, { home: bus.home })).metricsUrl, undefined, "no metrics URL while the bus is down");
  await bus.apply(manifest);
  assert.equal((await busStatus(bus.name, { home: bus.home })).metricsUrl, before);
  // (its first scrapes may come before its connection to the bus and the stream's leader are up)
  const again = await waitFor(
    "the restarted bus's stream on /metrics",
    async () => {
      const f = parsePrometheusText(await (await fetch(before)).text());
      return f.get("jetstream_stream_total_messages")!.samples.length > 0 ? f : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  assert.equal(sampleValue(again, "jetstream_stream_total_messages", { bus: bus.name, stream_name: "default" }), 10);
  assert.equal(
    sampleValue(again, "eventbus_server_restarts_total", { bus: bus.name, server_name: "eventbus-metrics-js-2" }),
    0,
    "a new supervisor counts anew",
  );
  // AND replaced when another process took it meanwhile
  await downBus(bus.name, { home: bus.home });
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(Number(new URL(before).port), "127.0.0.1", resolve));
  try {
    await bus.apply(manifest);
    const moved = (await busStatus(bus.name, { home: bus.home })).metricsUrl!;
    assert.notEqual(moved, before);
    assertCatalog(parsePrometheusText(await (await fetch(moved)).text()));
  } finally {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
});
