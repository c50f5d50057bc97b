/**
 * Conformance with what Argo Events' pods read from a bus (the data path), held against the
 * counterparts' code as written down in test/helpers/argo-driver.ts:
 *
 * - argoproj/argo-events pkg/eventbus/jetstream/base/jetstream.go (`CreateStream`): the drivers decode
 *   `status.config.jetstream.streamConfig` with viper (`GetInt("retention")`, `GetInt("discard")`,
 *   `GetInt64("maxMsgs")`, `GetInt64("maxBytes")`, `GetDuration("maxAge")`, `GetInt("replicas")`,
 *   `GetDuration("duplicates")`) and `UpdateStream` the live stream with the result on every start.
 * - argoproj/argo-events pkg/reconciler/eventbus/installer/jetstream.go (`Install`): the controller
 *   writes that text with `yaml.Marshal(v.AllSettings())` (lowercase keys, sorted).
 * - argoproj/argo-events pkg/eventbus/jetstream/sensor/trigger_conn.go: sensors bind
 *   `PullSubscribe(subject, group-<fnv>, nats.AckExplicit(), nats.DeliverNew())`.
 * - nats-io/nats.go js.go (`processConsInfo`, `checkConfig`): what that call refuses in an existing
 *   consumer.
 * - argoproj/argo-events pkg/eventbus/jetstream/sensor/sensor_jetstream.go and nats-io/nats.go kv.go
 *   (`CreateKeyValue`): a sensor keeps its trigger state in a one-copy KV bucket, stream `KV_<sensor>`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

import { validate, type ResolvedEventBus } from "../src/api/index.js";
import { connect, durableName, type EventBusClient } from "../src/client/index.js";
import { statusConfig } from "../src/platforms/kubernetes/index.js";
import { busCredentials, busStatus } from "../src/platforms/local/index.js";
import { acceptedJetStreamVersions } from "../src/versions/index.js";
import { argoStreamConfig, goParseDuration, natsGoPullBindError, natsGoStreamJson, type ArgoStreamConfig } from "./helpers/argo-driver.js";
import { jetstreamManifest, startTestBus, type TestBus } from "./helpers/local-bus.js";

const NANOS_PER_SECOND = 1_000_000_000n;

function resolved(streamConfig: string, replicas = 3): ResolvedEventBus {
  const result = validate(
    { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: "default" }, spec: { jetstream: { version: "2.10", replicas, streamConfig } } },
    { jetstreamVersions: acceptedJetStreamVersions() },
  );
  assert.ok(result.ok, JSON.stringify(result.issues));
  return result.bus;
}

/** What eventbus means by the stream config, in the decoded form, to compare with Argo's reading. */
function meant(bus: ResolvedEventBus): ArgoStreamConfig {
  assert.equal(bus.spec.mode, "jetstream");
  const c = bus.spec.mode === "jetstream" ? bus.spec.streamConfig : undefined!;
  return {
    retention: ["limits", "interest", "workqueue"].indexOf(c.retention),
    discard: ["old", "new"].indexOf(c.discard),
    maxMsgs: c.maxMsgs,
    maxBytes: c.maxBytes,
    maxAgeNanos: goParseDuration(c.maxAge.format())!,
    replicas: c.replicas,
    duplicatesNanos: goParseDuration(c.duplicates.format())!,
  };
}

describe("argo data path - status.config streamConfig as Argo's drivers decode it", () => {
  const cases = {
    defaults: "",
    "interest retention and discard new, written as words": "retention: interest\ndiscard: new",
    "interest and new as Argo's numbers": "retention: 1\ndiscard: 1",
    "a size for maxBytes and Go-style durations": "maxBytes: 1GB\nmaxAge: 4h35m\nduplicates: 90s\nmaxMsgs: 1e+06",
    "workqueue, one replica, no age limit": "retention: workqueue\nreplicas: 1\nmaxAge: 0",
  };
  for (const [name, text] of Object.entries(cases)) {
    test(`${name}: the Kubernetes status.config decodes to the stream eventbus keeps`, () => {
      const bus = resolved(text);
      const status = statusConfig(bus, "argo-events").jetstream!;
      assert.deepEqual(argoStreamConfig(status.streamConfig!), meant(bus));
    });
  }

  test("the text has the shape Argo's controller writes: lowercase keys, sorted, integer policies", () => {
    const text = statusConfig(resolved("retention: interest\ndiscard: new\nmaxBytes: 1GB"), "argo-events").jetstream!.streamConfig!;
    assert.equal(text, "discard: 1\nduplicates: 5m\nmaxage: 168h\nmaxbytes: 1073741824\nmaxmsgs: 50000\nreplicas: 3\nretention: 1\n");
  });

  test("the decoder is Argo's: a policy word or a size reads as 0 (why eventbus writes numbers)", () => {
    const words = argoStreamConfig("retention: interest\ndiscard: new\nmaxBytes: 1GB\nmaxAge: 72h");
    assert.equal(words.retention, 0);
    assert.equal(words.discard, 0);
    assert.equal(words.maxBytes, 0);
    assert.equal(words.maxAgeNanos, 72n * 3600n * NANOS_PER_SECOND);
    assert.throws(() => argoStreamConfig("retention: 3"), /invalid int for RetentionPolicy: 3/);
  });
});

describe("argo data path - a local bus as Argo's pods use it", () => {
  let bus: TestBus;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let client: EventBusClient;

  before(async () => {
    bus = await startTestBus(
      jetstreamManifest(
        "argo",
        'version: "2.10"\nreplicas: 3\nstreamConfig: |\n  retention: interest\n  discard: new\n  maxBytes: 64MB\n  maxAge: 4h35m\n  duplicates: 2m\n  maxMsgs: 100000',
      ),
    );
    nc = await bus.connect();
    jsm = await jetstreamManager(nc);
    client = await connect({ status: await bus.status() });
  });
  after(async () => {
    await client?.close();
    await bus?.[Symbol.asyncDispose]();
  });

  test("eventbus credentials' streamConfig, decoded and sent as Argo's driver sends it on start, leaves the live stream as it is", async () => {
    const credentials = await busCredentials(bus.name, { home: bus.home });
    const decoded = argoStreamConfig(credentials.statusConfig.jetstream?.streamConfig ?? "");
    const before = (await jsm.streams.info("default")).config;
    assert.deepEqual(
      {
        retention: before.retention,
        discard: before.discard,
        maxMsgs: before.max_msgs,
        maxBytes: before.max_bytes,
        maxAge: BigInt(before.max_age),
        replicas: before.num_replicas,
        duplicates: BigInt(before.duplicate_window ?? 0),
      },
      {
        retention: RetentionPolicy.Interest,
        discard: DiscardPolicy.New,
        maxMsgs: decoded.maxMsgs,
        maxBytes: decoded.maxBytes,
        maxAge: decoded.maxAgeNanos,
        replicas: decoded.replicas,
        duplicates: decoded.duplicatesNanos,
      },
    );
    assert.equal(decoded.retention, 1);
    assert.equal(decoded.discard, 1);
    // The stream exists, so Argo's driver calls UpdateStream with the decoded config.
    const update = natsGoStreamJson(decoded);
    const after = (await jsm.streams.update("default", update as never)).config;
    for (const key of ["retention", "discard", "max_msgs", "max_bytes", "max_age", "num_replicas", "duplicate_window", "storage", "subjects"] as const) {
      assert.deepEqual(after[key], before[key], key);
    }
  });

  test("a sensor's durable made by eventbus is one Argo's sensor binds; a start other than new is refused, creating nothing", async () => {
    const dependency = { sensor: "webhook-sensor", trigger: "log", dependency: "payload" };
    const durable = durableName(dependency);
    const subject = "default.webhook.example";
    await assert.rejects(
      client.subscribe({ source: "webhook", event: "example", dependency, from: "start" }),
      (err: Error) => err.message.includes(`consumer ${durable} has an Argo Events sensor's durable name`) && err.message.includes("use another durable name"),
    );
    await assert.rejects(jsm.consumers.info("default", durable), /consumer not found/);

    const subscription = await client.subscribe({ source: "webhook", event: "example", dependency });
    await subscription.close();
    const info = await jsm.consumers.info("default", durable);
    assert.equal(natsGoPullBindError(info, subject, durable), undefined);
    assert.deepEqual(subscription.warnings, []);
  });

  test("a durable Argo's sensor made is shared unchanged; one it could not bind is named in a warning", async () => {
    // As nats.go creates it for Argo's PullSubscribe: filter, deliver new, ack explicit, its channel length as max ack pending.
    const argoMade = durableName({ sensor: "s", trigger: "t", dependency: "made-by-argo" });
    await jsm.consumers.add("default", {
      durable_name: argoMade,
      filter_subject: "default.calendar.tick",
      deliver_policy: DeliverPolicy.New,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 65536,
    });
    const before = (await jsm.consumers.info("default", argoMade)).config;
    const shared = await client.subscribe({ source: "calendar", event: "tick", durable: argoMade });
    await shared.close();
    assert.deepEqual(shared.warnings, []);
    assert.equal(shared.created, false);
    assert.deepEqual((await jsm.consumers.info("default", argoMade)).config, before);

    // A consumer with an Argo name but deliver-all, as eventbus's `--from start` used to make it.
    const wrong = durableName({ sensor: "s", trigger: "t", dependency: "deliver-all" });
    await jsm.consumers.add("default", {
      durable_name: wrong,
      filter_subject: "default.calendar.tock",
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.Explicit,
    });
    const info = await jsm.consumers.info("default", wrong);
    assert.match(natsGoPullBindError(info, "default.calendar.tock", wrong)!, /deliver policy to be new, but consumer's value is all/);
    const subscription = await client.subscribe({ source: "calendar", event: "tock", durable: wrong });
    await subscription.close();
    assert.equal(subscription.warnings.length, 1);
    assert.match(
      subscription.warnings[0]!,
      new RegExp(`consumer ${wrong} has deliver policy all; Argo's sensor asks for new, so an Argo Events sensor cannot bind it`),
    );
  });

  test("status lists every stream of the account, also one-copy KV buckets on other servers", async () => {
    const buckets = ["sensor-a", "sensor-b", "sensor-c", "sensor-d", "sensor-e", "sensor-f"];
    for (const bucket of buckets) {
      // nats.go CreateKeyValue's stream for KeyValueConfig{Bucket} (history 1, one replica).
      await jsm.streams.add({
        name: `KV_${bucket}`,
        subjects: [`$KV.${bucket}.>`],
        max_msgs_per_subject: 1,
        discard: DiscardPolicy.New,
        storage: StorageType.File,
        num_replicas: 1,
        allow_rollup_hdrs: true,
        deny_delete: true,
        allow_direct: true,
        duplicate_window: 120 * 1_000_000_000,
      });
    }
    const placed = new Set<string>();
    for (const bucket of buckets) placed.add((await jsm.streams.info(`KV_${bucket}`)).cluster?.leader ?? "");
    const expected = ["default", ...buckets.map((b) => `KV_${b}`)].sort((a, b) => a.localeCompare(b));
    // A status is a moment's view: a server that does not answer in time is left out of that one
    // (its streams with it), so the listing is asked for again until the servers answer.
    let report = await busStatus(bus.name, { home: bus.home });
    for (let i = 0; i < 20 && report.streams.length < expected.length; i++) {
      await new Promise((r) => setTimeout(r, 250));
      report = await busStatus(bus.name, { home: bus.home });
    }
    assert.deepEqual(
      report.streams.map((s) => s.name),
      expected,
      `buckets placed on ${[...placed].join(", ")}; problems: ${report.problems.join("; ")}`,
    );
    for (const s of report.streams.filter((x) => x.name.startsWith("KV_"))) {
      assert.equal(s.replicas, 1);
      assert.ok(s.leader, `${s.name} has its server as leader`);
    }
  });
});
