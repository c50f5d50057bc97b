/** The console's pure parts: which rows its problems flag, the subject filters it reads, and how a stored message is shown. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { browsed, checkSubjectFilter, flagged, MAX_SHOWN_DATA_BYTES } from "../src/console/index.js";
import type { StatusView } from "../src/view/index.js";

const view = (problems: string[]): StatusView => ({
  headline: "bus x: degraded",
  problems,
  notes: [],
  servers: [
    { name: "a-0", state: "healthy" },
    { name: "a-1", state: "backoff" },
    { name: "a-10", state: "healthy" },
    { name: "a-2", state: "healthy" },
  ],
  streams: [],
  consumers: ["group-1", "group-12", "group-2"].map((name) => ({
    name,
    pending: 0,
    ackPending: 0,
    redelivered: 0,
    deliveredStreamSeq: 0,
    ackFloorStreamSeq: 0,
    ackFloorConsumerSeq: 0,
  })),
});

test("console - a row is flagged when its server is not healthy or a problem names it exactly (a-1 is not a-10, group-1 not group-12)", () => {
  assert.deepEqual(
    flagged(
      view([
        "server a-1 is backoff",
        "stream default: replica a-2 is behind by 4 messages",
        "consumer group-12: pending grows (1 → 2 → 3); its subscriber is not keeping up",
      ]),
    ),
    { servers: ["a-1", "a-2"], consumers: ["group-12"] },
  );
  assert.deepEqual(flagged(view(["JetStream peer a-10 is offline"])), { servers: ["a-1", "a-10"], consumers: [] });
});

test("console - subject filters: dot-separated tokens, * for one token, > only last", () => {
  for (const ok of ["default.>", "default.webhook.*", "default.webhook.example", ">", "default.*.*"]) checkSubjectFilter(ok);
  for (const bad of ["", "default..x", "default.>.x", "default.we*b", "default. x", "default.x.", `${"a.".repeat(130)}a`]) {
    assert.throws(() => checkSubjectFilter(bad), /is not a subject filter/, JSON.stringify(bad));
  }
});

test("console - a stored message as the browser shows it: an Argo CloudEvent's data as JSON, text and bytes as they are, cut past 64 KiB", () => {
  const at = new Date("2026-12-01T10:00:00Z");
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  // As Argo's event sources write it (cloudevents/sdk-go with byte data: data_base64).
  const argo = {
    specversion: "1.0",
    id: "5f1c0cbbb8a84ca6b0c6f4ab8c36dce8",
    source: "webhook",
    type: "webhook",
    subject: "example",
    datacontenttype: "application/json",
    time: "2026-12-01T09:59:59.123456789Z",
    data_base64: Buffer.from('{"body":{"x":1}}').toString("base64"),
  };
  const e = browsed(7, "default.webhook.example", at, argo.id, enc(argo));
  assert.deepEqual(e.cloudEvent, {
    specversion: "1.0",
    id: argo.id,
    source: "webhook",
    type: "webhook",
    subject: "example",
    time: argo.time,
    datacontenttype: "application/json",
  });
  assert.deepEqual(e.data, { kind: "json", value: { body: { x: 1 } } });
  assert.deepEqual([e.seq, e.subject, e.stored, e.msgId], [7, "default.webhook.example", "2026-12-01T10:00:00.000Z", argo.id]);

  const text = browsed(
    8,
    "default.webhook.example",
    at,
    undefined,
    enc({ ...argo, datacontenttype: "text/plain", data_base64: Buffer.from("plain ✓").toString("base64") }),
  );
  assert.deepEqual(text.data, { kind: "text", value: "plain ✓" });
  const bytes = browsed(
    9,
    "default.webhook.example",
    at,
    undefined,
    enc({ ...argo, datacontenttype: "application/octet-stream", data_base64: Buffer.from([0xff, 0xfe, 0]).toString("base64") }),
  );
  assert.deepEqual(bytes.data, { kind: "base64", value: "//4A" });

  const raw = browsed(10, "default.other.thing", at, undefined, new TextEncoder().encode("x".repeat(MAX_SHOWN_DATA_BYTES + 10)));
  assert.equal(raw.cloudEvent, undefined);
  assert.match(raw.notCloudEvent ?? "", /not a JSON document/);
  assert.deepEqual(raw.data, { kind: "text", value: "x".repeat(MAX_SHOWN_DATA_BYTES), truncated: true });
  assert.equal(raw.size, MAX_SHOWN_DATA_BYTES + 10);
});
