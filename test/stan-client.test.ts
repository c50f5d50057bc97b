/**
 * The NATS Streaming (STAN) client (src/client/stan/) against a real nats-streaming-server 0.25.6,
 * and its wire format against the bytes the Go client writes.
 *
 * What it is held against:
 * - the protocol: nats-io/stan.go pb/protocol.proto and the gogo-generated pb/protocol.pb.go
 *   (v0.10.4). The golden bytes below are what `Marshal()` of stan.go's `pb` types returned for the
 *   same field values, printed as hex by a ten-line Go program against stan.go v0.10.4.
 * - the client's behaviour: nats-io/stan.go stan.go (`Connect`, `processHeartBeat`, `pingServer`,
 *   `processPingResponse`, `Publish`/`publishAsync`/`processAck`, `Close`) and sub.go
 *   (`subscribe`, `closeOrUnsubscribe`, `Msg.Ack`).
 * - the server's: nats-io/nats-streaming-server server/server.go (`connectCB` and
 *   `isDuplicateConnect` for a taken client ID, `checkClientHealth` for heartbeats and the
 *   `-hbi`/`-hbt`/`-hbf` flags of nats-streaming-server.go, `processClientPings`), and its
 *   monitoring endpoints (server/monitor.go: `/streaming/clientsz`, `/streaming/channelsz?subs=1`),
 *   which show what the server registered.
 * - Argo Events' use of STAN: argoproj/argo-events pkg/eventbus/stan/sensor/trigger_conn.go
 *   (`Subscribe`: `QueueSubscribe(subject, group, cb, DurableName(group), SetManualAckMode(),
 *   StartAt(NewOnly), AckWait(1s), MaxInflight(len(depNames)+2))`, `getGroupNameFromClientID`),
 *   sensor_stan.go (`Connect`: client ID `client-<Hasher(sensor-trigger-expression)>-<0..99>`),
 *   pkg/eventbus/stan/eventsource/source_conn.go (`Publish` of the CloudEvent JSON to the subject),
 *   pkg/eventsources/eventing.go (`run`: the CloudEvent body), and the `EVENTBUS_SUBJECT`
 *   `eventbus-<namespace>` of pkg/reconciler/{eventsource,sensor}/resource.go.
 * - the Go client itself, where Go can build it: stan.go's examples `stan-pub` and `stan-sub`
 *   publish to and read from the Node client (test/helpers/stan-go.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";

import { ClientErrorCode, isClientError } from "../src/client/index.js";
import {
  ARGO_STAN_PINGS,
  argoSensorSubscribeOptions,
  argoStanChannel,
  argoStanSensorGroup,
  connectStan,
  isStanError,
  isValidChannel,
  StanFailureReason,
  type StanMessage,
  type StanStartAt,
  type StanSubscription,
} from "../src/client/stan/index.js";
import { parseStanOptions } from "../src/client/stan/connection.js";
import { ProtobufDecodeError, ProtoReader, ProtoWriter } from "../src/client/stan/protobuf.js";
import * as proto from "../src/client/stan/protocol.js";
import { spawnProcess, waitFor } from "./helpers/process.js";
import { stanGoExamples } from "./helpers/stan-go.js";
import { startStreamingServer, type StreamingServer } from "./helpers/streaming-server.js";

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const unhex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A NATS connection closed by `await using`. */
async function natsConnect(server: StreamingServer): Promise<NatsConnection & AsyncDisposable> {
  const nc = await connect({ servers: server.clientUrl, reconnect: false });
  return Object.assign(nc, {
    [Symbol.asyncDispose]: async () => {
      if (!nc.isClosed()) await nc.close();
    },
  });
}

/** A subscription's messages as they come, gathered by one loop (which acks them in auto mode). */
function gather(sub: StanSubscription): { readonly messages: StanMessage[]; readonly ended: Promise<unknown> } {
  const messages: StanMessage[] = [];
  const ended = (async () => {
    try {
      for await (const m of sub) messages.push(m);
      return undefined;
    } catch (err) {
      return err;
    }
  })();
  return { messages, ended };
}

/** Waits until `messages` holds `count`, then that no more come within `quietMs`. */
async function exactly(messages: readonly StanMessage[], count: number, what: string, quietMs = 300): Promise<StanMessage[]> {
  await waitFor(`${count} messages (${what}), have ${messages.length}`, () => (messages.length >= count ? true : undefined), { timeoutMs: 10_000 });
  await sleep(quietMs);
  assert.equal(messages.length, count, `${what}: ${messages.map((m) => `${m.sequence}:${text(m.data)}`).join(", ")}`);
  return [...messages];
}

const seqs = (messages: readonly StanMessage[]) => messages.map((m) => m.sequence);

interface SubscriptionInfo {
  readonly client_id: string;
  readonly inbox: string;
  readonly ack_inbox: string;
  readonly queue_name?: string;
  readonly durable_name?: string;
  readonly is_durable: boolean;
  readonly is_offline: boolean;
  readonly max_inflight: number;
  readonly ack_wait: number;
  readonly pending_count: number;
}

/** What the server registered for a channel (server/monitor.go `Channelz` with `subs=1`). */
async function channelz(server: StreamingServer, channel: string): Promise<{ msgs: number; subscriptions: SubscriptionInfo[] }> {
  const res = await fetch(`${server.monitorUrl}/streaming/channelsz?channel=${encodeURIComponent(channel)}&subs=1`);
  assert.equal(res.status, 200, `channelsz for ${channel}: ${await res.clone().text()}`);
  const body = (await res.json()) as { msgs: number; subscriptions?: SubscriptionInfo[] };
  return { msgs: body.msgs, subscriptions: body.subscriptions ?? [] };
}

/** The client IDs the server holds (server/monitor.go `Clientsz`). */
async function clientIds(server: StreamingServer): Promise<string[]> {
  const res = await fetch(`${server.monitorUrl}/streaming/clientsz`);
  const body = (await res.json()) as { clients?: { id: string }[] };
  return (body.clients ?? []).map((c) => c.id).sort();
}

/** A CloudEvent as Argo Events' event sources publish it on STAN (eventing.go `run`: `json.Marshal(event)`). */
function cloudEvent(id: string, source = "webhook", subject = "example"): Uint8Array {
  return utf8.encode(
    JSON.stringify({
      specversion: "1.0",
      id,
      source,
      type: "webhook",
      subject,
      datacontenttype: "application/json",
      time: new Date().toISOString(),
      data_base64: Buffer.from(JSON.stringify({ n: id })).toString("base64"),
    }),
  );
}

describe("stan protocol - the bytes of stan.go's pb", () => {
  // Each case: the message, the encoder and decoder, and the hex of stan.go pb's Marshal() of the
  // same values.
  const cases: { name: string; encoded: Uint8Array; golden: string; decoded: unknown; expected: unknown }[] = [
    (() => {
      const m = { clientID: "node-1", heartbeatInbox: "_INBOX.hb", protocol: 1, connID: utf8.encode("cid"), pingInterval: 5, pingMaxOut: 60 };
      const golden = "0a066e6f64652d3112095f494e424f582e6862180122036369642805303c";
      return { name: "ConnectRequest", encoded: proto.encodeConnectRequest(m), golden, decoded: proto.decodeConnectRequest(unhex(golden)), expected: m };
    })(),
    (() => {
      // A negative int32 is sign-extended to ten bytes (stan.go's tests send milliseconds this way).
      const m = { clientID: "c", heartbeatInbox: "", protocol: 0, connID: new Uint8Array(), pingInterval: -50, pingMaxOut: 3 };
      const golden = "0a016328ceffffffffffffffff013003";
      return {
        name: "ConnectRequest (negative int32)",
        encoded: proto.encodeConnectRequest(m),
        golden,
        decoded: proto.decodeConnectRequest(unhex(golden)),
        expected: m,
      };
    })(),
    (() => {
      const m = {
        pubPrefix: "_STAN.pub.X",
        subRequests: "_STAN.sub.X",
        unsubRequests: "_STAN.unsub.X",
        closeRequests: "_STAN.close.X",
        error: "",
        subCloseRequests: "_STAN.subclose.X",
        pingRequests: "_STAN.discover.c.pings",
        pingInterval: 5,
        pingMaxOut: 88,
        protocol: 1,
        publicKey: "pk",
      };
      const golden =
        "0a0b5f5354414e2e7075622e58120b5f5354414e2e7375622e581a0d5f5354414e2e756e7375622e58220d5f5354414e2e636c6f73652e5832105f5354414e2e737562636c6f73652e583a165f5354414e2e646973636f7665722e632e70696e6773400548585001a20602706b";
      return { name: "ConnectResponse", encoded: proto.encodeConnectResponse(m), golden, decoded: proto.decodeConnectResponse(unhex(golden)), expected: m };
    })(),
    (() => {
      const m = {
        clientID: "node-1",
        guid: "g1",
        subject: "eventbus-argo-events",
        reply: "",
        data: utf8.encode("{}"),
        connID: utf8.encode("cid"),
        sha256: new Uint8Array(),
      };
      const golden = "0a066e6f64652d31120267311a146576656e746275732d6172676f2d6576656e74732a027b7d3203636964";
      return { name: "PubMsg", encoded: proto.encodePubMsg(m), golden, decoded: proto.decodePubMsg(unhex(golden)), expected: m };
    })(),
    (() => {
      const m = { guid: "g1", error: "stan: invalid publish request" };
      const golden = "0a026731121d7374616e3a20696e76616c6964207075626c6973682072657175657374";
      return { name: "PubAck", encoded: proto.encodePubAck(m), golden, decoded: proto.decodePubAck(unhex(golden)), expected: m };
    })(),
    (() => {
      const m = {
        sequence: 300n,
        subject: "ch",
        reply: "",
        data: utf8.encode("hi"),
        timestamp: 1733030400123456789n,
        redelivered: true,
        redeliveryCount: 2,
        crc32: 0xffff_ffff,
      };
      const golden = "08ac02120263682202686928959abfc2f8bebd86183001380250ffffffff0f";
      return { name: "MsgProto", encoded: proto.encodeMsgProto(m), golden, decoded: proto.decodeMsgProto(unhex(golden)), expected: m };
    })(),
    (() => {
      const m = { subject: "ch", sequence: 1n << 40n };
      const golden = "0a02636810808080808020";
      return { name: "Ack", encoded: proto.encodeAck(m), golden, decoded: proto.decodeAck(unhex(golden)), expected: m };
    })(),
    (() => {
      const m = { connID: utf8.encode("cid") };
      const golden = "0a03636964";
      return { name: "Ping", encoded: proto.encodePing(m), golden, decoded: proto.decodePing(unhex(golden)), expected: m };
    })(),
    (() => {
      const m = { error: "client has been replaced or is no longer registered" };
      const golden = "0a33636c69656e7420686173206265656e207265706c61636564206f72206973206e6f206c6f6e6765722072656769737465726564";
      return { name: "PingResponse", encoded: proto.encodePingResponse(m), golden, decoded: proto.decodePingResponse(unhex(golden)), expected: m };
    })(),
    (() => {
      const m = {
        clientID: "node-1",
        subject: "eventbus-ns",
        qGroup: "client-1",
        inbox: "_INBOX.s",
        maxInFlight: 3,
        ackWaitInSecs: 1,
        durableName: "client-1",
        startPosition: proto.StartPosition.timeDeltaStart,
        startSequence: 7n,
        startTimeDelta: 3_600_000_000_000n,
      };
      const golden = "0a066e6f64652d31120b6576656e746275732d6e731a08636c69656e742d3122085f494e424f582e73280330013a08636c69656e742d31500258076080c0e285e368";
      return {
        name: "SubscriptionRequest",
        encoded: proto.encodeSubscriptionRequest(m),
        golden,
        decoded: proto.decodeSubscriptionRequest(unhex(golden)),
        expected: m,
      };
    })(),
    (() => {
      const m = { ackInbox: "_STAN.ack.1", error: "" };
      const golden = "120b5f5354414e2e61636b2e31";
      return {
        name: "SubscriptionResponse",
        encoded: proto.encodeSubscriptionResponse(m),
        golden,
        decoded: proto.decodeSubscriptionResponse(unhex(golden)),
        expected: m,
      };
    })(),
    (() => {
      const m = { clientID: "node-1", subject: "ch", inbox: "_STAN.ack.1", durableName: "d" };
      const golden = "0a066e6f64652d31120263681a0b5f5354414e2e61636b2e31220164";
      return {
        name: "UnsubscribeRequest",
        encoded: proto.encodeUnsubscribeRequest(m),
        golden,
        decoded: proto.decodeUnsubscribeRequest(unhex(golden)),
        expected: m,
      };
    })(),
    (() => {
      const m = { clientID: "node-1" };
      const golden = "0a066e6f64652d31";
      return { name: "CloseRequest", encoded: proto.encodeCloseRequest(m), golden, decoded: proto.decodeCloseRequest(unhex(golden)), expected: m };
    })(),
    (() => {
      const m = { error: "stan: unknown clientID" };
      const golden = "0a167374616e3a20756e6b6e6f776e20636c69656e744944";
      return { name: "CloseResponse", encoded: proto.encodeCloseResponse(m), golden, decoded: proto.decodeCloseResponse(unhex(golden)), expected: m };
    })(),
  ];

  for (const c of cases) {
    test(`stan protocol - ${c.name} encodes to stan.go's bytes and decodes back`, () => {
      assert.equal(hex(c.encoded), c.golden);
      assert.deepEqual(c.decoded, c.expected);
    });
  }

  test("stan protocol - zero values are left out: an OK PingResponse and an empty CloseResponse are no bytes", () => {
    // The server answers a known connection's PING with the empty bytes of PingResponse{} (server.go processClientPings).
    assert.equal(proto.encodePingResponse({ error: "" }).length, 0);
    assert.deepEqual(proto.decodePingResponse(new Uint8Array()), { error: "" });
    assert.equal(hex(proto.encodeSubscriptionRequest({ clientID: "", subject: "", inbox: "", maxInFlight: 0, ackWaitInSecs: 0, startPosition: 0 })), "");
  });

  test("stan protocol - unknown fields of every wire type are skipped, and a message that ends early is refused", () => {
    // PubAck with: field 9 varint, field 10 fixed64, field 11 length-delimited, field 12 fixed32, around the known ones.
    const w = new ProtoWriter().uint64(9, 2n ** 63n).string(1, "g1");
    const known = w.finish();
    const extra = new Uint8Array([...known, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5a, 2, 0xaa, 0xbb, 0x65, 9, 9, 9, 9, 0x12, 1, 0x78]);
    assert.deepEqual(proto.decodePubAck(extra), { guid: "g1", error: "x" });
    for (const cut of [1, 3, extra.length - 1]) {
      assert.throws(() => proto.decodePubAck(extra.subarray(0, cut)), ProtobufDecodeError, `cut at ${cut}`);
    }
    // A group (wire type 3) is not protobuf 3; a string field that is not UTF-8 is malformed.
    assert.throws(() => proto.decodePubAck(new Uint8Array([0x1b])), ProtobufDecodeError);
    assert.throws(() => proto.decodePubAck(new Uint8Array([0x0a, 1, 0xff])), ProtobufDecodeError);
    // A known field with the wrong wire type.
    assert.throws(() => proto.decodeMsgProto(new Uint8Array([0x0a, 0])), ProtobufDecodeError);
  });

  test("stan protocol - 64-bit integers keep every bit: uint64 max, int64 min, a timestamp past 2^53", () => {
    const bytes = new ProtoWriter()
      .uint64(1, 2n ** 64n - 1n)
      .int64(2, -(2n ** 63n))
      .int64(3, 1_733_030_400_123_456_789n)
      .int32(4, -1)
      .uint32(5, 2 ** 32 - 1)
      .bool(6, true)
      .finish();
    const r = new ProtoReader(bytes);
    const read: unknown[] = [];
    for (let key = r.next(); key !== undefined; key = r.next()) {
      if (key.field === 1) read.push(r.uint64(key));
      else if (key.field === 2 || key.field === 3) read.push(r.int64(key));
      else if (key.field === 4) read.push(r.int32(key));
      else if (key.field === 5) read.push(r.uint32(key));
      else read.push(r.bool(key));
    }
    assert.deepEqual(read, [2n ** 64n - 1n, -(2n ** 63n), 1_733_030_400_123_456_789n, -1, 2 ** 32 - 1, true]);
    assert.throws(() => new ProtoWriter().uint64(1, 2n ** 64n), RangeError);
    assert.throws(() => new ProtoWriter().int32(1, 2 ** 31), RangeError);
    assert.throws(() => new ProtoWriter().uint32(1, -1), RangeError);
  });
});

describe("stan client - options, channel names and Argo's names, without a server", () => {
  test("stan client - options that cannot work are refused before anything is sent, all at once", () => {
    let error: unknown;
    try {
      parseStanOptions({ clusterId: "", clientId: "has space", pingIntervalSeconds: 0, pingMaxOut: 1, connectTimeoutMillis: -5 });
    } catch (err) {
      error = err;
    }
    assert.ok(isStanError(error, StanFailureReason.invalidOptions), String(error));
    assert.ok(isClientError(error, ClientErrorCode.invalidOptions));
    const message = (error as Error).message;
    for (const part of ["clusterId:", "clientId:", "pingIntervalSeconds:", "pingMaxOut:", "connectTimeoutMillis:"])
      assert.ok(message.includes(part), `${part} in ${message}`);
    // stan.go's defaults otherwise.
    assert.deepEqual((({ onConnectionLost, ...rest }) => rest)(parseStanOptions({ clusterId: "c", clientId: "client-1_a" })), {
      clusterId: "c",
      clientId: "client-1_a",
      discoverPrefix: "_STAN.discover",
      connectTimeoutMillis: 2000,
      pubAckTimeoutMillis: 30000,
      maxPubAcksInFlight: 16384,
      pingIntervalSeconds: 5,
      pingMaxOut: 88,
    });
  });

  test("stan client - channel names: what nats-streaming-server's IsChannelNameValid refuses is refused", () => {
    for (const ok of ["eventbus-argo-events", "a.b.c", "x_y"]) assert.ok(isValidChannel(ok), ok);
    for (const bad of ["", ".a", "a.", "a..b", "a.*", "a.>", "a/b", "a b"]) assert.ok(!isValidChannel(bad), bad);
  });

  test("stan client - Argo's names: the namespace channel, and a sensor trigger's group as common.Hasher makes it", () => {
    assert.equal(argoStanChannel("argo-events"), "eventbus-argo-events");
    // Go: fmt.Sprintf("%v", fnv.New32a() of the text) = 3503886744 and 244648729.
    assert.equal(argoStanSensorGroup({ sensor: "webhook-sensor", trigger: "log-trigger", dependencyExpression: "test-dep" }), "client-3503886744");
    const two = { sensor: "s", trigger: "t", dependencyExpression: "dep-a && dep-b" };
    assert.deepEqual(argoSensorSubscribeOptions(two, 2), {
      queueGroup: "client-244648729",
      durableName: "client-244648729",
      manualAcks: true,
      startAt: "new-only",
      ackWaitSeconds: 1,
      maxInFlight: 4,
    });
    assert.deepEqual(ARGO_STAN_PINGS, { pingIntervalSeconds: 5, pingMaxOut: 60 });
  });
});

describe("stan client - against a real nats-streaming-server", () => {
  test("stan client - connect, publish, subscribe: messages come in order with their sequence, time and data", async () => {
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    await using stan = await connectStan(nc, { clusterId: server.clusterId, clientId: "node-round-trip" });
    assert.equal(stan.serverProtocol, 1);
    assert.deepEqual(await clientIds(server), ["node-round-trip"]);

    const before = Date.now();
    const acks = [];
    for (const body of ["one", "two", "three"]) acks.push(await stan.publish("orders", utf8.encode(body)));
    assert.equal(new Set(acks.map((a) => a.guid)).size, 3, "each publish has its own guid");
    assert.equal((await channelz(server, "orders")).msgs, 3, "the server stored the three");

    await using sub = await stan.subscribe("orders", { startAt: "first" });
    const got = gather(sub);
    const messages = await exactly(got.messages, 3, "all three");
    assert.deepEqual(
      messages.map((m) => [m.sequence, m.subject, text(m.data), m.redelivered]),
      [
        [1, "orders", "one", false],
        [2, "orders", "two", false],
        [3, "orders", "three", false],
      ],
    );
    for (const m of messages) {
      assert.ok(m.timestamp.getTime() >= before - 1000 && m.timestamp.getTime() <= Date.now() + 1000, `timestamp ${m.timestamp.toISOString()}`);
      assert.equal(m.timestampNanos / 1_000_000n, BigInt(m.timestamp.getTime()));
    }
    // Auto acks: nothing pending on the server once the loop has moved on.
    await waitFor("the server to see the acks", async () => ((await channelz(server, "orders")).subscriptions[0]?.pending_count === 0 ? true : undefined), {
      timeoutMs: 5000,
    });

    await sub.close();
    assert.equal(await got.ended, undefined, "the loop ends when the subscription is closed");
    await stan.close();
    assert.equal(await stan.closed(), undefined);
    assert.deepEqual(await clientIds(server), [], "the CloseRequest released the client ID");
  });

  test("stan client - an Argo sensor's durable queue subscription: new only, max in flight, an unacked event comes again after 1 s, an acked one does not", async () => {
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    const channel = argoStanChannel("argo-events");
    const trigger = { sensor: "webhook-sensor", trigger: "log-trigger", dependencyExpression: "test-dep" };
    const group = argoStanSensorGroup(trigger);
    // GIVEN an event source connection (eventing.go generateClientID) and an event published before the sensor subscribes
    await using source = await connectStan(nc, { clusterId: server.clusterId, clientId: "client-webhook-eventsource-7d9f_abc-123", ...ARGO_STAN_PINGS });
    await source.publish(channel, cloudEvent("old"));
    // AND a sensor connected as Argo's sensor_stan.go Connect names it, subscribed as trigger_conn.go Subscribe does
    await using sensor = await connectStan(nc, { clusterId: server.clusterId, clientId: `${group}-42`, ...ARGO_STAN_PINGS });
    const sub = await sensor.subscribe(channel, argoSensorSubscribeOptions(trigger, 1));
    const registered = (await channelz(server, channel)).subscriptions;
    assert.equal(registered.length, 1);
    assert.equal(registered[0]!.queue_name, `${group}:${group}`, "a durable queue group: <durable>:<group> on the server");
    assert.equal(registered[0]!.is_durable, true);
    assert.equal(registered[0]!.max_inflight, 3, "dependencies + 2");
    assert.equal(registered[0]!.ack_wait, 1);
    const got = gather(sub);

    // WHEN five events are published and none is acked
    for (const id of ["e1", "e2", "e3", "e4", "e5"]) await source.publish(channel, cloudEvent(id));
    // THEN only max in flight (3) come, and not the event from before the subscription (new only)
    const firstThree = await exactly(got.messages, 3, "max in flight");
    assert.deepEqual(seqs(firstThree), [2, 3, 4]);
    assert.deepEqual(
      firstThree.map((m) => JSON.parse(text(m.data)).id),
      ["e1", "e2", "e3"],
    );
    // WHEN e2 and e3 are acked, e4 and e5 come; they are acked too
    got.messages[1]!.ack();
    got.messages[2]!.ack();
    await exactly(got.messages, 5, "e4 and e5 after two acks", 100);
    got.messages[3]!.ack();
    got.messages[4]!.ack();
    assert.deepEqual(seqs(got.messages), [2, 3, 4, 5, 6]);
    // THEN after the 1 s ack wait only e1, never acked, comes again, marked redelivered
    const again = (await exactly(got.messages, 6, "e1 redelivered", 0))[5]!;
    again.ack();
    again.ack(); // a second ack is a no-op
    assert.equal(again.sequence, 2);
    assert.equal(again.redelivered, true);
    assert.equal(JSON.parse(text(again.data)).id, "e1");
    // AND once it is acked, nothing comes after two more ack waits
    await sleep(2200);
    assert.equal(got.messages.length, 6, `after all acks: ${seqs(got.messages).join(",")}`);
    assert.equal((await channelz(server, channel)).subscriptions[0]!.pending_count, 0);

    // WHEN the sensor closes its subscription (trigger_conn.go: sub.Close()) and an event is published meanwhile
    await sub.close();
    assert.equal(await got.ended, undefined);
    assert.equal((await channelz(server, channel)).subscriptions[0]?.is_offline, true, "close keeps the durable queue group");
    await assert.rejects(sub.unsubscribe(), (err: unknown) => isStanError(err, StanFailureReason.closed), "a closed subscription cannot unsubscribe");
    await source.publish(channel, cloudEvent("while-away"));
    // THEN a new sensor pod (another random suffix) resumes the durable group and gets it, new-only notwithstanding
    await using pod2 = await connectStan(nc, { clusterId: server.clusterId, clientId: `${group}-7` });
    const resumed = await pod2.subscribe(channel, argoSensorSubscribeOptions(trigger, 1));
    const got2 = gather(resumed);
    const [away] = await exactly(got2.messages, 1, "the event published while away");
    assert.equal(JSON.parse(text(away!.data)).id, "while-away");
    away!.ack();

    // WHEN the subscription is unsubscribed instead, the durable group is removed
    await resumed.unsubscribe();
    assert.deepEqual((await channelz(server, channel)).subscriptions, [], "unsubscribe removes the durable");
    await source.publish(channel, cloudEvent("lost-to-new-only"));
    // THEN a new subscription starts new-only again: it does not get the event published in between
    const fresh = await pod2.subscribe(channel, argoSensorSubscribeOptions(trigger, 1));
    const got3 = gather(fresh);
    await source.publish(channel, cloudEvent("after"));
    const [after] = await exactly(got3.messages, 1, "only the event after the new subscription");
    assert.equal(JSON.parse(text(after!.data)).id, "after");
    after!.ack();
    await fresh.close();
  });

  test("stan client - a second member of the queue group shares the channel: each event goes to one member", async () => {
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    const channel = argoStanChannel("team-a");
    const trigger = { sensor: "s", trigger: "t", dependencyExpression: "dep-a && dep-b" };
    const options = argoSensorSubscribeOptions(trigger, 2); // 4 in flight per member
    await using source = await connectStan(nc, { clusterId: server.clusterId, clientId: "source" });
    await using a = await connectStan(nc, { clusterId: server.clusterId, clientId: `${argoStanSensorGroup(trigger)}-1` });
    await using b = await connectStan(nc, { clusterId: server.clusterId, clientId: `${argoStanSensorGroup(trigger)}-2` });
    const gotA = gather(await a.subscribe(channel, options));
    const gotB = gather(await b.subscribe(channel, options));

    // WHEN eight events come and no member acks: each member can hold four
    await Promise.all(Array.from({ length: 8 }, (_, i) => source.publish(channel, cloudEvent(`q${i}`))));
    await waitFor("eight deliveries", () => (gotA.messages.length + gotB.messages.length >= 8 ? true : undefined));
    await sleep(300);
    // THEN each member has four, none twice
    assert.equal(gotA.messages.length, 4, `a: ${seqs(gotA.messages)}`);
    assert.equal(gotB.messages.length, 4, `b: ${seqs(gotB.messages)}`);
    assert.deepEqual(
      [...seqs(gotA.messages), ...seqs(gotB.messages)].sort((x, y) => x - y),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    // AND once all are acked, none comes again after the ack wait
    for (const m of [...gotA.messages, ...gotB.messages]) m.ack();
    await sleep(1500);
    assert.equal(gotA.messages.length + gotB.messages.length, 8);
  });

  test("stan client - startAt: first, a sequence, a time, last received and new only", async () => {
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    await using stan = await connectStan(nc, { clusterId: server.clusterId, clientId: "node-start" });
    for (const body of ["m1", "m2", "m3"]) await stan.publish("history", utf8.encode(body));
    await sleep(150);
    const middle = new Date();
    await sleep(150);
    for (const body of ["m4", "m5"]) await stan.publish("history", utf8.encode(body));

    const bodies = async (startAt: StanStartAt, count: number) => {
      await using sub = await stan.subscribe("history", { startAt });
      const got = gather(sub);
      return (await exactly(got.messages, count, JSON.stringify(startAt))).map((m) => text(m.data));
    };
    assert.deepEqual(await bodies("first", 5), ["m1", "m2", "m3", "m4", "m5"]);
    assert.deepEqual(await bodies({ sequence: 3 }, 3), ["m3", "m4", "m5"]);
    assert.deepEqual(await bodies({ sequence: 99 }, 0), [], "past the last sequence: new only");
    assert.deepEqual(await bodies({ time: middle }, 2), ["m4", "m5"]);
    assert.deepEqual(await bodies("last-received", 1), ["m5"]);

    await using sub = await stan.subscribe("history", { startAt: "new-only" });
    const got = gather(sub);
    await sleep(200);
    assert.equal(got.messages.length, 0, "new only: nothing stored before");
    await stan.publish("history", utf8.encode("m6"));
    assert.deepEqual(
      (await exactly(got.messages, 1, "new only")).map((m) => [m.sequence, text(m.data)]),
      [[6, "m6"]],
    );
  });

  test("stan client - a wrong cluster ID fails at once with an error that names it and says to check it", async () => {
    await using server = await startStreamingServer({ clusterId: "eventbus-default" });
    await using nc = await natsConnect(server);
    const started = Date.now();
    await assert.rejects(connectStan(nc, { clusterId: "eventbus-wrong", clientId: "node-1" }), (err: unknown) => {
      assert.ok(isStanError(err, StanFailureReason.noServer), String(err));
      assert.equal((err as { code: string }).code, ClientErrorCode.unreachable);
      assert.match((err as Error).message, /"eventbus-wrong"/);
      assert.match((err as Error).message, /_STAN\.discover\.eventbus-wrong/);
      assert.match((err as Error).message, /check the cluster ID/);
      return true;
    });
    // No responders answers at once: no wait for the 2 s timeout.
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
    // The right cluster ID on the same NATS connection works, and nothing was left subscribed by the failure.
    await using ok = await connectStan(nc, { clusterId: "eventbus-default", clientId: "node-1" });
    await ok.publish("c", utf8.encode("x"));
  });

  test("stan client - a client ID held by a live connection is refused; once it is closed, it can be taken", async () => {
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    await using nc2 = await natsConnect(server);
    await using first = await connectStan(nc, { clusterId: server.clusterId, clientId: "sensor-pod" });
    // The server asks the first connection's heartbeat inbox; it answers, so the second is a duplicate.
    await assert.rejects(connectStan(nc2, { clusterId: server.clusterId, clientId: "sensor-pod" }), (err: unknown) => {
      assert.ok(isStanError(err, StanFailureReason.clientIdTaken), String(err));
      assert.match((err as Error).message, /client ID "sensor-pod" is held by another live connection/);
      return true;
    });
    assert.ok(first.isOpen);
    await first.publish("c", utf8.encode("still usable"));
    await first.close();
    await using second = await connectStan(nc2, { clusterId: server.clusterId, clientId: "sensor-pod" });
    await second.publish("c", utf8.encode("x"));
  });

  test("stan client - a closed connection refuses publishes and subscriptions with a closed error, and ends its subscriptions", async () => {
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    const stan = await connectStan(nc, { clusterId: server.clusterId, clientId: "node-closing" });
    const sub = await stan.subscribe("c", { durableName: "keep", manualAcks: true });
    const got = gather(sub);
    await stan.publish("c", utf8.encode("before"));
    await exactly(got.messages, 1, "before the close", 50);
    await stan.close();
    await stan.close(); // idempotent
    assert.equal(await got.ended, undefined, "the loop ends");
    assert.ok(!stan.isOpen);
    for (const attempt of [() => stan.publish("c", utf8.encode("after")), () => stan.subscribe("c")]) {
      await assert.rejects(attempt(), (err: unknown) => {
        assert.ok(isStanError(err, StanFailureReason.closed), String(err));
        assert.equal((err as { code: string }).code, ClientErrorCode.closed);
        assert.match((err as Error).message, /"node-closing" is closed/);
        return true;
      });
    }
    assert.throws(
      () => got.messages[0]!.ack(),
      (err: unknown) => isStanError(err, StanFailureReason.closed),
    );
    await assert.rejects(sub.unsubscribe(), (err: unknown) => isStanError(err, StanFailureReason.closed));
    await sub.close(); // after the connection's close: nothing to do
    // The connection's close keeps the durable (stan.go Close: "implicitly closed (not unsubscribed)").
    const [registered] = (await channelz(server, "c")).subscriptions;
    assert.equal(registered?.durable_name, "keep");
    assert.equal(registered?.is_offline, true);
    assert.ok(!nc.isClosed(), "the NATS connection is the caller's");
  });

  test("stan client - a refusal in the PubAck fails the publish with the server's reason", async () => {
    // -mc 1: one channel at most; a publish to a second is refused by the store ("too many channels").
    await using server = await startStreamingServer({ args: ["-mc", "1"] });
    await using nc = await natsConnect(server);
    await using stan = await connectStan(nc, { clusterId: server.clusterId, clientId: "node-limits" });
    await stan.publish("first", utf8.encode("ok"));
    await assert.rejects(stan.publish("second", utf8.encode("refused")), (err: unknown) => {
      assert.ok(isStanError(err, StanFailureReason.refused), String(err));
      assert.equal((err as { code: string }).code, ClientErrorCode.publishFailed);
      assert.match((err as Error).message, /publish to "second": the server refused it: .*too many channels/);
      return true;
    });
    // The refusal is the server's answer, not a broken connection.
    await stan.publish("first", utf8.encode("still ok"));
    await assert.rejects(stan.publish("bad.*", utf8.encode("x")), (err: unknown) => isStanError(err, StanFailureReason.invalidOptions));

    // Publishes beyond maxPubAcksInFlight wait for a place: all complete, stored in the order they were made.
    await using narrow = await connectStan(nc, { clusterId: server.clusterId, clientId: "node-narrow", maxPubAcksInFlight: 2 });
    const bodies = Array.from({ length: 30 }, (_, i) => `p${i}`);
    const acks = await Promise.all(bodies.map((b) => narrow.publish("first", utf8.encode(b))));
    assert.equal(new Set(acks.map((a) => a.guid)).size, 30);
    await using sub = await stan.subscribe("first", { startAt: { sequence: 3 } });
    const got = gather(sub);
    assert.deepEqual(
      (await exactly(got.messages, 30, "the 30 publishes")).map((m) => text(m.data)),
      bodies,
    );
  });

  test("stan client - heartbeats are answered: idle longer than the server's heartbeat limit, the connection stays registered and usable", async () => {
    // The server asks each client's heartbeat inbox every 200 ms, waits 200 ms for the answer and drops
    // a client after more than one failure in a row (nats-streaming-server -hbi, -hbt, -hbf).
    await using server = await startStreamingServer({ args: ["-hbi", "200ms", "-hbt", "200ms", "-hbf", "1"] });
    await using nc = await natsConnect(server);
    // Client PINGs an hour apart, so that only the heartbeats keep the connection alive.
    await using stan = await connectStan(nc, { clusterId: server.clusterId, clientId: "node-idle", pingIntervalSeconds: 3600 });
    // A control that registers as a client (the same ConnectRequest) but never answers its heartbeats.
    const connectResponse = proto.decodeConnectResponse(
      (
        await nc.request(
          `_STAN.discover.${server.clusterId}`,
          proto.encodeConnectRequest({
            clientID: "silent",
            heartbeatInbox: createInbox(),
            protocol: 1,
            connID: utf8.encode("silent-conn"),
            pingInterval: 3600,
            pingMaxOut: 2,
          }),
          { timeout: 2000 },
        )
      ).data,
    );
    assert.equal(connectResponse.error, "");
    assert.deepEqual(await clientIds(server), ["node-idle", "silent"]);

    // WHEN both stay idle for 2 s, ten heartbeat intervals
    await sleep(2000);

    // THEN the server dropped the silent control and kept the Node client, which still publishes
    assert.deepEqual(await clientIds(server), ["node-idle"]);
    assert.match(server.logs(), /\[Client:silent\] Timed out on heartbeats/);
    assert.doesNotMatch(server.logs(), /\[Client:node-idle\] Timed out on heartbeats/);
    assert.ok(stan.isOpen);
    await stan.publish("after-idle", utf8.encode("x"));
  });

  test("stan client - PINGs: a server that forgot the client ends the connection; the subscription and publishes fail and the loss is reported once", async () => {
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    const lost: unknown[] = [];
    await using stan = await connectStan(nc, {
      clusterId: server.clusterId,
      clientId: "node-victim",
      pingIntervalSeconds: 1,
      pingMaxOut: 3,
      onConnectionLost: (e) => lost.push(e),
    });
    const got = gather(await stan.subscribe("c"));
    // WHEN another NATS client closes the victim's STAN connection behind its back (a CloseRequest with its client ID)
    const closeRequests = proto.decodeConnectResponse(
      (
        await nc.request(
          `_STAN.discover.${server.clusterId}`,
          proto.encodeConnectRequest({
            clientID: "spy",
            heartbeatInbox: createInbox(),
            protocol: 1,
            connID: utf8.encode("spy-conn"),
            pingInterval: 3600,
            pingMaxOut: 2,
          }),
          { timeout: 2000 },
        )
      ).data,
    ).closeRequests;
    const answer = proto.decodeCloseResponse((await nc.request(closeRequests, proto.encodeCloseRequest({ clientID: "node-victim" }), { timeout: 2000 })).data);
    assert.equal(answer.error, "");
    // THEN the next PING's answer ("client has been replaced or is no longer registered") ends the connection
    const error = await Promise.race([stan.closed(), sleep(5000).then(() => undefined)]);
    assert.ok(isStanError(error, StanFailureReason.connectionLost), String(error));
    assert.match(error!.message, /client has been replaced or is no longer registered/);
    assert.deepEqual(lost, [error], "onConnectionLost once, with the same error");
    assert.equal(await got.ended, error, "the subscription's loop throws it");
    await assert.rejects(stan.publish("c", utf8.encode("x")), (err: unknown) => isStanError(err, StanFailureReason.connectionLost));
  });

  test("stan client - a server that stops answering (SIGSTOP): a publish times out, and the PINGs detect the loss after ping max out intervals", async () => {
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    await using stan = await connectStan(nc, {
      clusterId: server.clusterId,
      clientId: "node-pings",
      pingIntervalSeconds: 1,
      pingMaxOut: 2,
      pubAckTimeoutMillis: 400,
    });
    await stan.publish("c", utf8.encode("before"));
    const stopped = Date.now();
    process.kill(server.pid, "SIGSTOP");
    try {
      // A publish that gets no PubAck fails after pubAckTimeoutMillis, long before the PINGs give up.
      await assert.rejects(stan.publish("c", utf8.encode("unanswered")), (err: unknown) => {
        assert.ok(isStanError(err, StanFailureReason.timeout), String(err));
        assert.match((err as Error).message, /no acknowledgement within 400 ms .*may or may not be stored/);
        return true;
      });
      assert.ok(Date.now() - stopped < 1500, `the publish timed out after ${Date.now() - stopped} ms`);
      assert.ok(stan.isOpen, "a PubAck timeout does not end the connection");
      const error = await Promise.race([stan.closed(), sleep(8000).then(() => "still open" as const)]);
      assert.ok(isStanError(error, StanFailureReason.connectionLost), String(error));
      assert.match((error as Error).message, /did not answer 2 PINGs in a row/);
      const took = Date.now() - stopped;
      // The third tick after the stop finds 3 > 2 PINGs out.
      assert.ok(took >= 1900 && took < 4500, `detected after ${took} ms`);
    } finally {
      process.kill(server.pid, "SIGCONT");
    }
    assert.ok(!stan.isOpen);
  });
});

describe("stan client - interop with the Go client (stan.go's stan-pub and stan-sub)", async () => {
  // The Go client is built from the module cache or proxy, as the tools are: when it cannot be, the tests fail with why.
  const examples = await stanGoExamples();

  test("stan client - Go publishes, Node receives, as an Argo sensor would", async () => {
    if (typeof examples === "string") assert.fail(examples);
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    const channel = argoStanChannel("interop");
    const trigger = { sensor: "go-sensor", trigger: "t", dependencyExpression: "d" };
    await using sensor = await connectStan(nc, { clusterId: server.clusterId, clientId: `${argoStanSensorGroup(trigger)}-3` });
    const got = gather(await sensor.subscribe(channel, argoSensorSubscribeOptions(trigger, 1)));
    const event = text(cloudEvent("from-go"));
    await using pub = await spawnProcess(examples.pub, ["-s", server.clientUrl, "-c", server.clusterId, "-id", "go-pub", channel, event]);
    const exit = await pub.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, pub.output());
    assert.match(pub.output(), new RegExp(`Published \\[${channel}\\]`));
    const [m] = await exactly(got.messages, 1, "the Go publish");
    assert.equal(text(m!.data), event);
    assert.equal(JSON.parse(text(m!.data)).id, "from-go");
    assert.equal(m!.sequence, 1);
    m!.ack();
  });

  test("stan client - Node publishes, Go receives every message with its sequence and data", async () => {
    if (typeof examples === "string") assert.fail(examples);
    await using server = await startStreamingServer();
    await using nc = await natsConnect(server);
    await using stan = await connectStan(nc, { clusterId: server.clusterId, clientId: "node-pub" });
    await stan.publish("interop", utf8.encode("hello from node"));
    await stan.publish("interop", utf8.encode("second message"));
    await using sub = await spawnProcess(examples.sub, ["-s", server.clientUrl, "-c", server.clusterId, "-id", "go-sub", "--all", "interop"]);
    await waitFor("stan-sub to print two messages", () => (/\[#2\] Received/.test(sub.output()) ? true : undefined), {
      timeoutMs: 10_000,
      failWhen: sub.exited.then((e) => Promise.reject(new Error(`stan-sub exited ${JSON.stringify(e)}: ${sub.output()}`))),
    });
    const received = [...sub.output().matchAll(/Received: sequence:(\d+) subject:"interop" data:"([^"]*)"/g)].map((m) => [Number(m[1]), m[2]]);
    assert.deepEqual(received, [
      [1, "hello from node"],
      [2, "second message"],
    ]);
    // A third, published while Go listens, comes too.
    await stan.publish("interop", utf8.encode("live"));
    await waitFor("stan-sub to print the live message", () =>
      /\[#3\] Received: sequence:3 subject:"interop" data:"live"/.test(sub.output()) ? true : undefined,
    );
    const exit = await sub.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, sub.output());
  });
});
