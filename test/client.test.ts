/**
 * The client library against real local buses: Argo Events interop in both directions, de-duplication,
 * redelivery, reconnection, and the faults a user meets (unreachable, refused, TLS, oversized events,
 * a server killed while publishing).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";

import { EventBusValidationError } from "../src/api/index.js";
import {
  BusError,
  ClientErrorCode,
  connect,
  ConnectionState,
  durableName,
  InvalidSubjectTokenError,
  PayloadTooLargeError,
  type ConnectProgress,
  type EventBusClient,
  type ReceivedEvent,
} from "../src/client/index.js";
import { busCredentials, busStatus, downBus } from "../src/platforms/local/index.js";
import { freePort } from "./helpers/ports.js";
import { waitFor } from "./helpers/process.js";
import { jetstreamManifest, startTestBus, storedIds, type TestBus } from "./helpers/local-bus.js";

const utf8 = new TextEncoder();

/** The next event of a subscription, or undefined when none comes within `millis`. */
async function nextWithin(iterator: AsyncIterator<ReceivedEvent>, millis: number): Promise<ReceivedEvent | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), millis)));
  try {
    const next = await Promise.race([iterator.next(), timeout]);
    return next === undefined || next.done ? undefined : next.value;
  } finally {
    clearTimeout(timer);
  }
}

describe("client - a bus with basic auth and TLS", () => {
  let bus: TestBus;
  let client: EventBusClient;

  before(async () => {
    bus = await startTestBus(jetstreamManifest("client", `version: "2.10"\nreplicas: 1\nauth: basic\ntls: {enabled: true}\nmaxPayload: 64KB`));
    client = await connect({ status: await bus.status() });
  });
  after(async () => {
    await client?.close();
    await bus?.[Symbol.asyncDispose]();
  });

  test("interop - an event a raw nats.js program publishes in Argo's format is received by subscribe, through the sensor's durable consumer", async () => {
    // GIVEN a subscriber for sensor s1, trigger t1, dependency d1 (deliver new, as Argo's sensors)
    await using subscription = await client.subscribe({
      source: "webhook-es",
      event: "example",
      dependency: { sensor: "s1", trigger: "t1", dependency: "d1" },
    });
    assert.equal(subscription.consumer, `group-${fnv1a32("s1-t1-d1")}`);
    // WHEN a raw nats.js program publishes what Argo's event source writes (sdk-go, []byte data)
    const nc = await bus.connect();
    const body =
      '{"specversion":"1.0","id":"0f9d7d2b3c7e4a51a1c38d2d0c6c11aa","source":"webhook-es","type":"webhook","subject":"example",' +
      `"datacontenttype":"application/json","time":"2024-05-01T12:00:00.123456789Z","data_base64":"${Buffer.from('{"header":{},"body":{"n":1}}').toString("base64")}"}`;
    const h = natsHeaders();
    h.set("Nats-Msg-Id", "0f9d7d2b3c7e4a51a1c38d2d0c6c11aa");
    const ack = await jetstream(nc).publish("default.webhook-es.example", utf8.encode(body), { headers: h });
    // THEN subscribe yields it with every attribute and the data bytes
    const iterator = subscription[Symbol.asyncIterator]();
    const got = await nextWithin(iterator, 10_000);
    assert.ok(got, "the event arrived");
    assert.equal(got.seq, ack.seq);
    assert.equal(got.deliveryCount, 1);
    assert.equal(got.event.id, "0f9d7d2b3c7e4a51a1c38d2d0c6c11aa");
    assert.equal(got.event.source, "webhook-es");
    assert.equal(got.event.subject, "example");
    assert.equal(got.event.type, "webhook");
    assert.equal(got.event.time, "2024-05-01T12:00:00.123456789Z");
    assert.equal(Buffer.from(got.event.data).toString(), '{"header":{},"body":{"n":1}}');
    await got.ack();
    const jsm = await jetstreamManager(nc);
    const info = await jsm.consumers.info("default", subscription.consumer);
    assert.equal(info.config.ack_policy, AckPolicy.Explicit);
    assert.equal(info.config.deliver_policy, DeliverPolicy.New);
    assert.equal(info.config.filter_subject, "default.webhook-es.example");
    assert.equal(info.num_ack_pending, 0);
  });

  test("interop - an event from publish is received by a raw nats.js pull consumer named by Argo's formula, with Argo's body and header", async () => {
    const nc = await bus.connect();
    const jsm = await jetstreamManager(nc);
    const name = `group-${fnv1a32("sensor-a-trigger-b-dep-c")}`;
    assert.equal(name, durableName({ sensor: "sensor-a", trigger: "trigger-b", dependency: "dep-c" }));
    // GIVEN the consumer an Argo sensor creates: PullSubscribe(subject, durable, AckExplicit, DeliverNew)
    await jsm.consumers.add("default", {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: "default.calendar.tick",
    });
    // WHEN eventbus publishes
    const time = new Date("2024-06-01T08:30:00.250Z");
    const ack = await client.publish({
      id: "5b2d0f2a9c8e4e6fb1d2c3a4b5c6d7e8",
      source: "calendar",
      subject: "tick",
      type: "calendar",
      time,
      data: { eventTime: "now" },
    });
    assert.deepEqual({ duplicate: ack.duplicate, attempts: ack.attempts, stream: ack.stream }, { duplicate: false, attempts: 1, stream: "default" });
    // THEN the raw consumer reads exactly what Argo's event source would have written
    const consumer = await jetstream(nc).consumers.get("default", name);
    const msg = await consumer.next({ expires: 5000 });
    assert.ok(msg, "the raw consumer got the event");
    assert.equal(msg.subject, "default.calendar.tick");
    assert.equal(msg.headers?.get("Nats-Msg-Id"), "5b2d0f2a9c8e4e6fb1d2c3a4b5c6d7e8");
    assert.equal(
      new TextDecoder().decode(msg.data),
      '{"specversion":"1.0","id":"5b2d0f2a9c8e4e6fb1d2c3a4b5c6d7e8","source":"calendar","type":"calendar","subject":"tick",' +
        `"datacontenttype":"application/json","time":"2024-06-01T08:30:00.25Z","data_base64":"${Buffer.from('{"eventTime":"now"}').toString("base64")}"}`,
    );
    msg.ack();
  });

  test("the same id published twice inside the duplicates window is stored once, and the second ack says duplicate", async () => {
    const nc = await bus.connect();
    const jsm = await jetstreamManager(nc);
    const first = await client.publish({ id: "dedup-1", source: "dedup", subject: "e", type: "t", data: { n: 1 } });
    const second = await client.publish({ id: "dedup-1", source: "dedup", subject: "e", type: "t", data: { n: 2 } });
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    assert.equal(second.seq, first.seq);
    const info = await jsm.streams.info("default", { subjects_filter: "default.dedup.e" });
    assert.equal(info.state.subjects?.["default.dedup.e"], 1);
    // A publisher with a window reports duplicates per event too.
    const publisher = client.publisher({ window: 4 });
    const acks = await Promise.all(
      ["dedup-1", "dedup-2", "dedup-2", "dedup-3"].map((id) => publisher.publish({ id, source: "dedup", subject: "e", type: "t" })),
    );
    assert.deepEqual(
      acks.map((a) => a.duplicate),
      [true, false, true, false],
    );
    assert.equal((await jsm.streams.info("default", { subjects_filter: "default.dedup.e" })).state.subjects?.["default.dedup.e"], 3);
  });

  test("a subscriber gone before acking gets the event again; after an ack it does not", async () => {
    const options = { source: "redeliver", event: "e", durable: "redeliver-test", ackWaitMillis: 1000 } as const;
    // GIVEN a durable subscriber that receives an event and goes away without acking
    const first = await connect({ status: await bus.status() });
    const sub1 = await first.subscribe(options);
    const published = await client.publish({ source: "redeliver", subject: "e", type: "t", data: { n: 1 } });
    const got1 = await nextWithin(sub1[Symbol.asyncIterator](), 10_000);
    assert.equal(got1?.event.id, published.id);
    await first.close();
    // WHEN a new subscriber takes the same durable consumer
    const second = await connect({ status: await bus.status() });
    try {
      const sub2 = await second.subscribe(options);
      const iterator = sub2[Symbol.asyncIterator]();
      const got2 = await nextWithin(iterator, 10_000);
      // THEN the event comes again, marked as redelivered
      assert.equal(got2?.event.id, published.id);
      assert.equal(got2?.redelivered, true);
      assert.equal(got2?.deliveryCount, 2);
      await got2!.ack();
      // AND once acked it is not delivered again, even after the ack wait
      assert.equal(await nextWithin(iterator, 2500), undefined);
      const info = await (await second.manager()).consumers.info("default", "redeliver-test");
      assert.equal(info.num_ack_pending, 0);
      assert.equal(info.num_pending, 0);
      await sub2.close();
    } finally {
      await second.close();
    }
  });

  test("a confirmed ack is answered by the server; an event answered once takes no second answer, and an ack on a closed connection fails", async () => {
    // nats.js's `ackAck` (@nats-io/jetstream jsmsg.ts) sends +ACK with a reply subject and resolves on
    // any reply; a message answered before (`didAck`) is not confirmed and nothing more is sent.
    const options = { source: "confirm", event: "e", durable: "confirm-test", ackWaitMillis: 1000 } as const;
    const subscriber = await connect({ status: await bus.status() });
    let closed = false;
    try {
      const iterator = (await subscriber.subscribe(options))[Symbol.asyncIterator]();
      const ids = [];
      for (let n = 1; n <= 3; n++) ids.push((await client.publish({ source: "confirm", subject: "e", type: "t", data: { n } })).id);
      const manager = await subscriber.manager();

      // GIVEN the first event, acked and confirmed
      const first = await nextWithin(iterator, 10_000);
      assert.equal(first?.event.id, ids[0]);
      await first!.ack();
      // THEN the server holds it as acked, a second ack is refused, and a nak sends nothing (no redelivery)
      assert.equal((await manager.consumers.info("default", "confirm-test")).ack_floor.stream_seq, first!.seq);
      await assert.rejects(first!.ack(), /event .*: the server did not confirm the ack \(it was answered before/);
      first!.nak();

      // GIVEN the second event, nak'd: a confirmed ack after it is refused, and the nak stands (it comes again)
      const second = await nextWithin(iterator, 10_000);
      assert.equal(second?.event.id, ids[1]);
      second!.nak();
      await assert.rejects(second!.ack(), /it was answered before/);
      const third = await nextWithin(iterator, 10_000);
      const again = await nextWithin(iterator, 10_000);
      assert.deepEqual([third?.event.id, again?.event.id].sort(), [ids[1], ids[2]].sort(), "the nak'd event came again, the acked one did not");
      const redelivered = third?.event.id === ids[1] ? third : again;
      assert.equal(redelivered?.redelivered, true);

      // GIVEN an event not yet acked on a connection that closes: the confirmed ack fails
      const pendingOne = redelivered === third ? again : third;
      await redelivered!.ack();
      await subscriber.close();
      closed = true;
      await assert.rejects(pendingOne!.ack(), /the server did not confirm the ack/);
    } finally {
      if (!closed) await subscriber.close();
    }
  });

  test("subscribe from the start, from a sequence, and from a time", async () => {
    const acks = [];
    for (let i = 0; i < 3; i++) acks.push(await client.publish({ source: "replay", subject: "e", type: "t", data: { i } }));
    const ids = async (from: "start" | number | Date) => {
      await using sub = await client.subscribe({ source: "replay", event: "e", from });
      const it = sub[Symbol.asyncIterator]();
      const seen: string[] = [];
      for (let got = await nextWithin(it, 2000); got; got = await nextWithin(it, 500)) {
        seen.push(got.event.id);
        await got.ack();
      }
      return seen;
    };
    assert.deepEqual(
      await ids("start"),
      acks.map((a) => a.id),
    );
    assert.deepEqual(
      await ids(acks[1]!.seq),
      acks.slice(1).map((a) => a.id),
    );
    assert.deepEqual(await ids(new Date(Date.now() + 60_000)), []);
  });

  test("a subscription with max pulls no more than that: the rest stay undelivered for the next subscriber", async () => {
    for (let i = 0; i < 5; i++) await client.publish({ source: "bounded", subject: "e", type: "t", data: { i } });
    const options = { source: "bounded", event: "e", durable: "bounded", from: "start", max: 2, batch: 1 } as const;
    const sub = await client.subscribe(options);
    assert.equal(sub.created, true);
    const seen: number[] = [];
    for await (const got of sub) {
      seen.push(got.seq);
      await got.ack();
    }
    assert.equal(seen.length, 2, "the iteration ends after max events");
    const info = await (await client.manager()).consumers.info("default", "bounded");
    assert.deepEqual(
      { ackPending: info.num_ack_pending, pending: info.num_pending, delivered: info.delivered.consumer_seq },
      { ackPending: 0, pending: 3, delivered: 2 },
    );
    const again = await client.subscribe({ ...options, max: 3 });
    assert.equal(again.created, false, "the durable consumer is reused");
    const rest: number[] = [];
    for await (const got of again) {
      rest.push(got.seq);
      await got.ack();
    }
    assert.deepEqual(rest, [seen[1]! + 1, seen[1]! + 2, seen[1]! + 3]);
  });

  test("a message that is not an Argo CloudEvent is reported and not delivered again", async () => {
    const nc = await bus.connect();
    const invalid: string[] = [];
    await using sub = await client.subscribe({
      source: "junk",
      event: "e",
      ackWaitMillis: 1000,
      onInvalid: (err, m) => invalid.push(`${m.subject}: ${err.message}`),
    });
    await jetstream(nc).publish("default.junk.e", utf8.encode("not json"));
    const good = await client.publish({ source: "junk", subject: "e", type: "t" });
    const it = sub[Symbol.asyncIterator]();
    const got = await nextWithin(it, 10_000);
    assert.equal(got?.event.id, good.id);
    await got!.ack();
    assert.deepEqual(invalid, ["default.junk.e: body: is not a JSON document (UTF-8)"]);
    assert.equal(await nextWithin(it, 1500), undefined, "the invalid message is not redelivered");
  });

  test("names that would break the subject and events over max_payload are refused before anything is sent", async () => {
    for (const [source, subject] of [
      ["a.b", "e"],
      ["s", "*"],
      ["s", ">"],
      ["s p", "e"],
    ] as const) {
      await assert.rejects(client.publish({ source, subject, type: "t" }), InvalidSubjectTokenError);
      await assert.rejects(client.subscribe({ source, event: subject }), InvalidSubjectTokenError);
    }
    const big = "x".repeat(70_000);
    await assert.rejects(client.publish({ source: "big", subject: "e", type: "t", data: big }), (err: unknown) => {
      assert.ok(err instanceof PayloadTooLargeError);
      assert.equal(err.limit, 65536);
      assert.match(err.message, /over the bus's max_payload of 65536 bytes/);
      return true;
    });
    await assert.rejects(client.publisher().publish({ source: "big", subject: "e", type: "t", data: big }), PayloadTooLargeError);
  });

  test("wrong credentials are refused with one clear error and no retries; a missing CA fails TLS", async () => {
    const creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
    const progress: ConnectProgress[] = [];
    const started = Date.now();
    await assert.rejects(
      connect({
        servers: creds.urls,
        auth: { kind: "basic", username: creds.user!, password: "wrong-password" },
        tls: { caFile: creds.caFile! },
        timeoutMillis: 20_000,
        onProgress: (p) => progress.push(p),
      }),
      (err: unknown) => {
        assert.ok(err instanceof BusError);
        assert.equal(err.code, ClientErrorCode.authRefused);
        assert.match(err.message, /refused the credentials \(user "eventbus"\)/);
        assert.doesNotMatch(err.message, /wrong-password/);
        return true;
      },
    );
    assert.deepEqual(progress, [], "no retry after a refusal");
    assert.ok(Date.now() - started < 10_000);
    await assert.rejects(
      connect({ servers: creds.urls, auth: { kind: "basic", username: creds.user!, password: creds.password! }, timeoutMillis: 5000 }),
      (err: unknown) => {
        assert.ok(err instanceof BusError);
        assert.equal(err.code, ClientErrorCode.tls);
        assert.match(err.message, /--ca/);
        return true;
      },
    );
    // Only an explicit opt-out skips the verification.
    const insecure = await connect({ servers: creds.urls, auth: { kind: "basic", username: creds.user!, password: creds.password! }, tls: { insecure: true } });
    assert.equal(insecure.state, ConnectionState.connected);
    await insecure.close();
  });

  test("Argo's status.config with Argo's auth file connects, and so do explicit URLs with an auth file", async () => {
    const creds = await busCredentials(bus.name, { home: bus.home });
    const viaConfig = await connect({ config: JSON.stringify(creds.statusConfig), authFile: creds.authFile!, tls: { caFile: creds.caFile! } });
    const base64 = await connect({
      config: Buffer.from(JSON.stringify(creds.statusConfig)).toString("base64"),
      authFile: creds.authFile!,
      tls: { caFile: creds.caFile! },
    });
    const viaUrls = await connect({ servers: creds.urls.join(","), authFile: creds.authFile!, tls: { caFile: creds.caFile! } });
    try {
      for (const c of [viaConfig, base64, viaUrls]) {
        assert.equal(c.state, ConnectionState.connected);
        assert.equal((await c.publish({ source: "config", subject: "e", type: "t" })).duplicate, false);
      }
    } finally {
      await Promise.all([viaConfig.close(), base64.close(), viaUrls.close()]);
    }
    // A config that names an access secret but no readable auth file says how to fix it.
    await assert.rejects(
      connect({ config: JSON.stringify(creds.statusConfig), authFile: join(bus.home, "missing.yaml") }),
      /auth file .*missing\.yaml does not exist/,
    );
  });

  test("stream admin - info reports the stream, apply merges over Argo's defaults, validates, and refuses what JetStream cannot change", async () => {
    const info = await client.streamInfo();
    assert.equal(info.name, "default");
    assert.deepEqual(info.subjects, ["default.*.*"]);
    assert.deepEqual(info.config, { maxMsgs: 50000, maxAge: "168h", maxBytes: -1, replicas: 1, duplicates: "5m", retention: "limits", discard: "old" });
    const nc = await bus.connect();
    const raw = await (await jetstreamManager(nc)).streams.info("default");
    assert.equal(info.state.messages, raw.state.messages);
    assert.equal(info.state.lastSeq, raw.state.last_seq);
    assert.equal(info.state.consumers, raw.state.consumer_count);

    const dry = await client.applyStreamConfig("maxMsgs: 1000\nmaxAge: 24h", { serverReplicas: 1, dryRun: true });
    assert.equal(dry.action, "updated");
    assert.deepEqual(dry.changes, ["max_msgs: 50000 → 1000", "max_age: 604800000000000 → 86400000000000"]);
    assert.equal((await client.streamInfo()).config.maxMsgs, 50000, "a dry run changes nothing");
    const applied = await client.applyStreamConfig("maxMsgs: 1000\nmaxAge: 24h", { serverReplicas: 1 });
    assert.equal(applied.action, "updated");
    assert.deepEqual(
      { ...(await client.streamInfo()).config },
      { maxMsgs: 1000, maxAge: "24h", maxBytes: -1, replicas: 1, duplicates: "5m", retention: "limits", discard: "old" },
    );
    assert.equal((await client.applyStreamConfig("maxMsgs: 1000\nmaxAge: 24h", { serverReplicas: 1 })).action, "unchanged");

    await assert.rejects(client.applyStreamConfig("maxAge: forever\nreplicas: 3", { serverReplicas: 1 }), (err: unknown) => {
      assert.ok(err instanceof EventBusValidationError);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ["streamConfig.maxAge", "streamConfig.replicas"],
      );
      return true;
    });
    await assert.rejects(client.applyStreamConfig("retention: workqueue", { serverReplicas: 1 }), (err: unknown) => {
      assert.ok(err instanceof BusError);
      assert.equal(err.code, ClientErrorCode.stream);
      assert.match(err.message, /cannot change retention: "limits" → "workqueue"/);
      return true;
    });
    assert.equal((await client.streamInfo()).config.retention, "limits");
  });
});

describe("client - connecting and reconnecting", () => {
  test("an unreachable bus: progress while retrying, then a clear error after the timeout", async () => {
    const port = await freePort();
    const progress: ConnectProgress[] = [];
    const started = Date.now();
    await assert.rejects(connect({ servers: `nats://127.0.0.1:${port}`, timeoutMillis: 1500, onProgress: (p) => progress.push(p) }), (err: unknown) => {
      assert.ok(err instanceof BusError);
      assert.equal(err.code, ClientErrorCode.unreachable);
      assert.match(err.message, new RegExp(`no server of nats://127.0.0.1:${port} answered within 1.5s \\(\\d+ attempts\\)`));
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1000 && elapsed < 5000, `gave up after ${elapsed} ms`);
    assert.ok(progress.length >= 2, `${progress.length} progress reports`);
    assert.deepEqual(
      progress.map((p) => p.attempt),
      progress.map((_, i) => i + 1),
    );
    // The delays grow, except the last, which is cut short to try once more at the deadline.
    assert.ok(
      progress.slice(0, -1).every((p, i) => i === 0 || p.retryInMillis >= progress[i - 1]!.retryInMillis),
      "the backoff does not shrink",
    );
  });

  test("options that cannot work are refused: no target, two targets, an auth file that does not exist", async () => {
    await assert.rejects(connect({} as never), (err: unknown) => err instanceof BusError && err.code === ClientErrorCode.invalidOptions);
    await assert.rejects(connect({ status: {}, servers: "nats://127.0.0.1:1" } as never), /give only one of status, servers/);
    await assert.rejects(connect({ servers: "nats://127.0.0.1:1", authFile: "/nonexistent/auth.yaml" }), /auth file \/nonexistent\/auth\.yaml does not exist/);
    await assert.rejects(connect({ config: '{"nats":{"url":"nats://a:4222","clusterID":"c"}}' }), /NATS Streaming \(STAN\) buses are not supported/);
  });

  test("a whole bus down for a while: the client keeps reconnecting and carries on when the bus is back", async () => {
    const manifest = jetstreamManifest("outage", `version: "2.10"\nreplicas: 1\nauth: token\npersistence: {volumeSize: 1Gi}`);
    await using bus = await startTestBus(manifest);
    const client = await connect({ status: await bus.status(), backoff: { initialMillis: 100, maxMillis: 500, jitter: 0.25 } });
    try {
      const states: string[] = [];
      client.onStateChange((s) => states.push(s));
      await downBus(bus.name, { home: bus.home });
      await waitFor("the client to notice", () => (client.state === ConnectionState.reconnecting ? true : undefined), { timeoutMs: 10_000 });
      // Longer than nats.js's default of 10 attempts per server at this backoff.
      await new Promise((r) => setTimeout(r, 6000));
      assert.equal(client.state, ConnectionState.reconnecting);
      await bus.apply(manifest);
      await waitFor("the client to reconnect", () => (client.state === ConnectionState.connected ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
      assert.equal((await client.publish({ source: "outage", subject: "e", type: "t" })).duplicate, false);
      assert.deepEqual(states, [ConnectionState.reconnecting, ConnectionState.connected]);
    } finally {
      await client.close();
    }
  });

  test("a 3-server bus: a server killed while publishing is survived; every event is acked once and stored once; the connection says it reconnected", async () => {
    await using bus = await startTestBus(
      jetstreamManifest("failover", `version: "2.10"\nreplicas: 3\nauth: token\npersistence: {volumeSize: 1Gi}\nstreamConfig: "maxMsgs: -1"`),
    );
    const client = await connect({ status: await bus.status() });
    try {
      const states: string[] = [];
      client.onStateChange((s) => states.push(s));
      const publisher = client.publisher({ window: 32, ackTimeoutMillis: 1000 });
      const acked: string[] = [];
      let failed = 0;
      let stop = false;
      const loop = (async () => {
        for (let i = 0; !stop; i++) {
          await publisher.ready();
          publisher.publish({ id: `failover-${i}`, source: "failover", subject: "e", type: "t", data: { i } }).then(
            (ack) => acked.push(ack.id),
            () => failed++,
          );
        }
        await publisher.flush();
      })();
      await new Promise((r) => setTimeout(r, 500));
      // Kill the server this client is connected to, so the client must reconnect as well.
      const port = Number(client.server!.split(":").at(-1));
      const status = await busStatus(bus.name, { home: bus.home });
      const victim = status.servers.find((s) => s.ports.client === port)!;
      process.kill(victim.pid!, "SIGKILL");
      await new Promise((r) => setTimeout(r, 3000));
      stop = true;
      await loop;
      assert.equal(failed, 0, "no publish failed");
      assert.ok(acked.length > 100, `${acked.length} events acked`);
      assert.ok(states.includes(ConnectionState.reconnecting) && states.at(-1) === ConnectionState.connected, `states: ${states.join(" → ")}`);
      // Read the stream once the killed server is back and its replica is current.
      let last: unknown;
      await waitFor(
        "the killed server back and the stream current",
        async () => {
          const s = await busStatus(bus.name, { home: bus.home });
          last = { servers: s.servers.map((x) => `${x.name} ${x.phase} ${x.restarts}`), streams: s.streams };
          return s.servers.every((x) => x.phase === "healthy") && s.streams[0]?.current ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}: ${JSON.stringify(last)}`);
      });
      const nc = await bus.connect();
      const stored = await storedIds(nc);
      const info = await (await jetstreamManager(nc)).streams.info("default");
      assert.deepEqual(
        acked.filter((id) => !stored.has(id)),
        [],
        "no acked event lost",
      );
      assert.equal(new Set(acked).size, acked.length, "each event acked once");
      assert.equal(info.state.messages, stored.size, "no event stored twice");
    } finally {
      await client.close();
    }
    assert.equal(client.state, ConnectionState.closed);
  });
});

describe("client - auth files", () => {
  test("a token bus reached by URLs with Argo's token auth file and with a plain token file", async () => {
    await using bus = await startTestBus(jetstreamManifest("tokens", `version: "2.10"\nreplicas: 1\nauth: token`));
    const creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
    const dir = await mkdtemp(join(tmpdir(), "eventbus-auth-"));
    try {
      await writeFile(join(dir, "argo.yaml"), `token: "${creds.token}"\n`, { mode: 0o600 });
      await writeFile(join(dir, "plain"), `${creds.token}\n`, { mode: 0o600 });
      for (const file of ["argo.yaml", "plain"]) {
        const client = await connect({ servers: creds.urls, authFile: join(dir, file), tls: { caFile: creds.caFile! } });
        assert.equal((await client.publish({ source: "tokens", subject: file.replace(".", "-"), type: "t" })).stream, "default");
        await client.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** FNV-1a 32, written here independently of the library (BigInt arithmetic on the UTF-8 bytes). */
function fnv1a32(text: string): number {
  let hash = 2166136261n;
  for (const byte of Buffer.from(text, "utf8")) hash = ((hash ^ BigInt(byte)) * 16777619n) % 4294967296n;
  return Number(hash);
}
