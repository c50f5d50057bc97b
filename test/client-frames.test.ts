/**
 * The publisher writes its HPUB frames itself (src/client/publish-frames.ts) instead of through
 * nats.js's `publish`. What reads them is the server (nats-server `client.go` `processHeaderPub`:
 * the byte counts of the control line must match the header block and the body exactly, or the
 * connection is closed with a parser error) and, behind it, every consumer: nats.js parses the
 * header block of a delivered message (`@nats-io/nats-core` `headers.ts` `MsgHdrsImpl.decode`)
 * and JetStream de-duplicates on the `Nats-Msg-Id` value the server reads from it. So the test
 * publishes through a real nats-server with JetStream and reads every message back with raw nats.js.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";

import { connect, type EventInput } from "../src/client/index.js";
import { protocolWriter, writeFrames } from "../src/client/publish-frames.js";
import { startNatsServer } from "./helpers/nats-server.js";

test("frames - events written as one command per turn reach JetStream and raw nats.js with their subject, header, body and byte counts", async () => {
  await using server = await startNatsServer({ args: ["-js"] });
  const nc = await natsConnect({ servers: server.clientUrl });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "default", subjects: ["default.>"], duplicate_window: 60_000_000_000 });
    const client = await connect({ servers: server.clientUrl });
    try {
      // The fast path is in use with the pinned nats.js: this fails if its protocol handler changes shape.
      assert.ok(protocolWriter(client.nc), "the connection's protocol handler takes frames");
      const before = client.nc.stats().outMsgs;
      const events: EventInput[] = [
        { id: "plain-1", source: "src", subject: "evt", type: "webhook", data: { n: 1 } },
        // Multi-byte UTF-8 in the id and the names: the counts are bytes, not characters.
        { id: "ünïcødé-2", source: "quelle", subject: "ereignis-ß", type: "webhook", data: { n: 2 } },
        // Spaces around an id: the header value is read trimmed (nats.js `MsgHdrsImpl.decode`), the document keeps them.
        { id: "  padded-3 ", source: "src", subject: "evt", type: "webhook", data: "text", datacontenttype: "text/plain" },
        { id: "plain-1", source: "src", subject: "evt", type: "webhook", data: { n: 4 } },
      ];
      const publisher = client.publisher({ window: 8 });
      // All four are sent in one turn: one buffer of four frames.
      const acks = await Promise.all(events.map((e) => publisher.publish(e)));
      assert.deepEqual(
        acks.map((a) => [a.seq, a.duplicate]),
        [
          [1, false],
          [2, false],
          [3, false],
          [1, true],
        ],
        "the server read each Nats-Msg-Id: the repeated id is a duplicate of the first",
      );
      assert.equal(client.nc.stats().outMsgs - before, 4, "nc.stats() counts the framed publishes");

      await jsm.consumers.add("default", { durable_name: "reader", ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
      const consumer = await jetstream(nc).consumers.get("default", "reader");
      const read = [];
      for (let i = 0; i < 3; i++) {
        const msg = await consumer.next({ expires: 5000 });
        assert.ok(msg, `message ${i + 1} is in the stream`);
        read.push({ subject: msg.subject, id: msg.headers?.get("Nats-Msg-Id"), doc: msg.json<{ id: string; subject: string }>() });
      }
      assert.deepEqual(
        read.map((r) => [r.subject, r.id, r.doc.id, r.doc.subject]),
        [
          ["default.src.evt", "plain-1", "plain-1", "evt"],
          ["default.quelle.ereignis-ß", "ünïcødé-2", "ünïcødé-2", "ereignis-ß"],
          ["default.src.evt", "padded-3", "  padded-3 ", "evt"],
        ],
      );
      // The connection is still open: a wrong byte count would have closed it with a parser error.
      assert.equal(client.nc.isClosed(), false);
    } finally {
      await client.close();
    }
  } finally {
    await nc.close();
  }
});

test("frames - the bytes of a frame are those of the protocol: control line, header block, body, CRLF; PUB without an id", () => {
  const body = Buffer.from('{"a":"é"}');
  const { bytes, payloadBytes } = writeFrames([{ subject: "default.s.e", reply: "_INBOX.x.1", msgId: "ïd", body }]);
  const header = "NATS/1.0\r\nNats-Msg-Id: ïd\r\n\r\n";
  const headerBytes = Buffer.byteLength(header);
  assert.equal(bytes.toString(), `HPUB default.s.e _INBOX.x.1 ${headerBytes} ${headerBytes + body.byteLength}\r\n${header}${body.toString()}\r\n`);
  assert.equal(payloadBytes, headerBytes + body.byteLength);
  // Without an id: a PUB (a confirmed ack's +ACK to the message's reply subject).
  const ack = writeFrames([{ subject: "$JS.ACK.default.c.1.2.3.4.5", reply: "_INBOX.x.2", msgId: undefined, body: Buffer.from("+ACK") }]);
  assert.equal(ack.bytes.toString(), "PUB $JS.ACK.default.c.1.2.3.4.5 _INBOX.x.2 4\r\n+ACK\r\n");
  assert.equal(ack.payloadBytes, 4);
});
