/**
 * The retention outlook from hand-made readings: which limit binds first, when events are
 * discarded or publishes refused at the current rate, and which consumers lose events they have
 * not read. Every number below is worked out by hand in the comments.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import type { StreamSummary } from "../src/client/index.js";
import { retentionOutlook, type ConsumerSnapshot, type RetentionSample, type ServerSnapshot } from "../src/observe/index.js";

const NOW = Date.parse("2026-03-01T12:00:00.000Z");
const at = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();

interface StreamShape {
  readonly maxMsgs?: number;
  readonly maxAge?: string;
  readonly maxBytes?: number;
  readonly discard?: string;
  readonly retention?: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly bytes?: number;
  /** Age of the first and last event, in seconds. */
  readonly firstAge: number;
  readonly lastAge?: number;
}

function stream(s: StreamShape): StreamSummary {
  const messages = s.lastSeq - s.firstSeq + 1;
  return {
    name: "default",
    subjects: ["default.*.*"],
    storage: "file",
    config: {
      maxMsgs: s.maxMsgs ?? -1,
      maxAge: s.maxAge ?? "0s",
      maxBytes: s.maxBytes ?? -1,
      replicas: 1,
      duplicates: "5m",
      retention: s.retention ?? "limits",
      discard: s.discard ?? "old",
    },
    state: {
      messages,
      bytes: s.bytes ?? messages * 100,
      firstSeq: s.firstSeq,
      lastSeq: s.lastSeq,
      firstTime: at(-s.firstAge),
      lastTime: at(-(s.lastAge ?? 0)),
      consumers: 1,
      subjects: 1,
    },
  };
}

function consumer(name: string, c: { ackFloor: number; acked: number; pending: number; ackPending?: number }): ConsumerSnapshot {
  return {
    name,
    pending: c.pending,
    ackPending: c.ackPending ?? 0,
    redelivered: 0,
    deliveredStreamSeq: c.ackFloor + (c.ackPending ?? 0),
    ackFloorStreamSeq: c.ackFloor,
    ackFloorConsumerSeq: c.acked,
  };
}

/** A reading now, and one `window` seconds before with the stream `published` events shorter and each consumer `acked` fewer acks. */
function readings(
  now: StreamSummary,
  consumers: ConsumerSnapshot[],
  before: { window: number; published: number; acked?: Record<string, number> },
): [RetentionSample, RetentionSample] {
  const earlier: StreamSummary = { ...now, state: { ...now.state, lastSeq: now.state.lastSeq - before.published } };
  return [
    { takenAt: at(0), stream: now, consumers },
    {
      takenAt: at(-before.window),
      stream: earlier,
      consumers: consumers.map((c) => ({ ...c, ackFloorConsumerSeq: c.ackFloorConsumerSeq - (before.acked?.[c.name] ?? 0) })),
    },
  ];
}

const server = (name: string, storeBytes: number, maxStoreBytes: number): ServerSnapshot => ({
  name,
  reachable: true,
  healthy: true,
  jetstream: { memoryBytes: 0, maxMemoryBytes: 0, storeBytes, maxStoreBytes },
});

test("retention - maxMsgs binds first: 500 of 1000 events at 10/s fill it in 50s, long before maxAge 1h takes the oldest (50s old)", () => {
  const [now, base] = readings(stream({ maxMsgs: 1000, maxAge: "1h", firstSeq: 1, lastSeq: 500, firstAge: 50 }), [], { window: 2, published: 20 });
  const r = retentionOutlook(now, [], base)!;
  assert.equal(r.binding, "maxMsgs");
  assert.equal(r.publishRate, 10);
  assert.equal(r.rateWindowSeconds, 2);
  assert.equal(r.oldestEventAgeSeconds, 50);
  assert.deepEqual(r.limits, [
    { limit: "maxAge", max: 3600, used: 50, effect: "discards-oldest", keepsSeconds: 3600, reachedInSeconds: 3550 },
    { limit: "maxMsgs", max: 1000, used: 500, effect: "discards-oldest", keepsSeconds: 100, reachedInSeconds: 50 },
  ]);
  assert.equal(r.discardsInSeconds, 50);
  assert.equal(r.refusesInSeconds, null);
  assert.equal(r.removedBy, "the limits alone remove events");
});

test("retention - maxAge binds first: the oldest event is 50s old of 1m, while 49500 more events at 10/s take 4950s", () => {
  const [now, base] = readings(stream({ maxMsgs: 50_000, maxAge: "1m", firstSeq: 1, lastSeq: 500, firstAge: 50 }), [], { window: 2, published: 20 });
  const r = retentionOutlook(now, [], base)!;
  assert.equal(r.binding, "maxAge");
  assert.equal(r.discardsInSeconds, 10);
  assert.deepEqual(
    r.limits.map((l) => [l.limit, l.reachedInSeconds, l.keepsSeconds]),
    [
      ["maxAge", 10, 60],
      ["maxMsgs", 4950, 5000],
    ],
  );
});

test("retention - maxBytes binds first: 5000 of 10000 bytes, 100 bytes an event at 10/s fill it in 5s", () => {
  const [now, base] = readings(stream({ maxMsgs: 1000, maxBytes: 10_000, firstSeq: 1, lastSeq: 50, bytes: 5000, firstAge: 5 }), [], {
    window: 1,
    published: 10,
  });
  const r = retentionOutlook(now, [], base)!;
  assert.equal(r.binding, "maxBytes");
  assert.deepEqual(
    r.limits.find((l) => l.limit === "maxBytes"),
    { limit: "maxBytes", max: 10_000, used: 5000, effect: "discards-oldest", keepsSeconds: 10, reachedInSeconds: 5 },
  );
  // maxMsgs: 950 more events at 10/s
  assert.equal(r.limits.find((l) => l.limit === "maxMsgs")?.reachedInSeconds, 95);
  assert.equal(r.discardsInSeconds, 5);
});

test("retention - an unlimited stream is bound by the fullest store of the servers holding it, which refuses publishes instead of discarding", () => {
  const [now, base] = readings(stream({ firstSeq: 1, lastSeq: 100, bytes: 10_000, firstAge: 10 }), [], { window: 2, published: 20 });
  // 100 bytes an event at 10/s: 1000 bytes/s; s-1 has 100000 bytes free, s-0 500000
  const r = retentionOutlook(now, [server("s-0", 500_000, 1_000_000), server("s-1", 900_000, 1_000_000)], base)!;
  assert.equal(r.binding, "store");
  assert.deepEqual(r.limits, [
    { limit: "store", max: 1_000_000, used: 900_000, effect: "refuses-publishes", keepsSeconds: 110, reachedInSeconds: 100, server: "s-1" },
  ]);
  assert.equal(r.refusesInSeconds, 100);
  assert.equal(r.discardsInSeconds, null);

  // Without the servers' stores known, nothing bounds it
  const unlimited = retentionOutlook(now, [], base)!;
  assert.equal(unlimited.binding, "none");
  assert.deepEqual(unlimited.limits, []);
  assert.equal(unlimited.discardsInSeconds, null);
  assert.equal(unlimited.refusesInSeconds, null);
});

test("retention - discard new: maxMsgs refuses publishes in 10s (900 of 1000 at 10/s) while maxAge still discards the oldest", () => {
  const [now, base] = readings(stream({ maxMsgs: 1000, maxAge: "10m", discard: "new", firstSeq: 1, lastSeq: 900, firstAge: 90 }), [], {
    window: 2,
    published: 20,
  });
  const r = retentionOutlook(now, [], base)!;
  assert.equal(r.binding, "maxMsgs");
  assert.equal(r.limits.find((l) => l.limit === "maxMsgs")?.effect, "refuses-publishes");
  assert.equal(r.refusesInSeconds, 10);
  assert.equal(r.discardsInSeconds, 510);
});

test("retention - without an earlier reading: no rate, only what needs none (maxAge, a limit already reached)", () => {
  const now: RetentionSample = { takenAt: at(0), stream: stream({ maxMsgs: 100, maxAge: "1m", firstSeq: 401, lastSeq: 500, firstAge: 30 }), consumers: [] };
  const r = retentionOutlook(now, [])!;
  assert.equal(r.publishRate, undefined);
  assert.deepEqual(
    r.limits.map((l) => [l.limit, l.reachedInSeconds]),
    [
      ["maxAge", 30],
      ["maxMsgs", 0],
    ],
  );
  assert.equal(r.binding, "maxMsgs");
  assert.equal(r.discardsInSeconds, 0);
  // A stream that is not readable has no outlook
  assert.equal(retentionOutlook({ takenAt: at(0), stream: { error: "no stream" }, consumers: [] }, []), undefined);
});

test("retention - a stuck consumer in a stream at maxMsgs loses its unread events in 2s; one that reads faster than events arrive does not", () => {
  // 100 of 100 events (401..500) at 10/s: the head moves 10 sequences a second from 401.
  const s = stream({ maxMsgs: 100, maxAge: "1h", firstSeq: 401, lastSeq: 500, firstAge: 10 });
  const stuck = consumer("stuck", { ackFloor: 420, acked: 420, pending: 80 });
  const quick = consumer("quick", { ackFloor: 420, acked: 440, pending: 80 });
  const near = consumer("near", { ackFloor: 490, acked: 500, pending: 10 });
  const idle = consumer("idle", { ackFloor: 500, acked: 500, pending: 0 });
  const [now, base] = readings(s, [stuck, quick, near, idle], { window: 2, published: 20, acked: { quick: 24, near: 18 } });
  const r = retentionOutlook(now, [], base)!;
  const [c1, c2, c3, c4] = r.consumers;
  // stuck: its next unread event is 421; the head 401 + 10t passes it at t = 2
  assert.deepEqual(c1, {
    name: "stuck",
    waiting: 80,
    oldestUnreadSeq: 421,
    oldestUnreadAgeSeconds: 8,
    readRate: 0,
    discardInSeconds: 2,
    discardedBy: "maxMsgs",
    atRisk: true,
  });
  // quick: 12 events/s against 10/s published, it gains on the head
  assert.deepEqual(c2, { name: "quick", waiting: 80, oldestUnreadSeq: 421, oldestUnreadAgeSeconds: 8, readRate: 12, discardInSeconds: null, atRisk: false });
  // near: 9/s from 491; the head 401 + 10t meets 491 + 9t at t = 90, on an event published after now (seq 1301): not one it has
  // (ages: 100 events spread over the 10 s since the first, 10 a second: 491 is 1 s old)
  assert.deepEqual(c3, {
    name: "near",
    waiting: 10,
    oldestUnreadSeq: 491,
    oldestUnreadAgeSeconds: 1,
    readRate: 9,
    discardInSeconds: 90,
    discardedBy: "maxMsgs",
    atRisk: false,
  });
  assert.deepEqual(c4, { name: "idle", waiting: 0, atRisk: false });
});

test("retention - a stuck consumer's oldest unread event expires by maxAge: 50s old of 1m, discarded in 10s; a consumer keeping up with a quiet stream is not at risk", () => {
  // 500 events over the last 50 s (10/s), nothing published in the window
  const s = stream({ maxAge: "1m", firstSeq: 1, lastSeq: 500, firstAge: 50 });
  const stuck = consumer("stuck", { ackFloor: 0, acked: 0, pending: 500 });
  const reader = consumer("reader", { ackFloor: 0, acked: 0, pending: 500 });
  const [now, base] = readings(s, [stuck, reader], { window: 1, published: 0, acked: { reader: 0 } });
  const r = retentionOutlook(now, [], base)!;
  assert.equal(r.publishRate, 0);
  assert.deepEqual(r.consumers[0], {
    name: "stuck",
    waiting: 500,
    oldestUnreadSeq: 1,
    oldestUnreadAgeSeconds: 50,
    readRate: 0,
    discardInSeconds: 10,
    discardedBy: "maxAge",
    atRisk: true,
  });

  // A reader at 20/s of a backlog published at 10/s gains 0.5 s of age a second: its oldest event
  // (50 s old) never reaches 60 s
  const [now2, base2] = readings(s, [reader], { window: 1, published: 0, acked: { reader: 20 } });
  assert.deepEqual(retentionOutlook(now2, [], base2)!.consumers[0], {
    name: "reader",
    waiting: 500,
    oldestUnreadSeq: 1,
    oldestUnreadAgeSeconds: 50,
    readRate: 20,
    discardInSeconds: null,
    atRisk: false,
  });
});

test("retention - a loss further away than DISCARD_WARNING_SECONDS is reported but not a risk; interest and workqueue say what removes events", () => {
  // maxAge 72h, the oldest event 1 minute old, a stuck consumer: loss in 72h - 60s
  const s = stream({ maxAge: "72h", firstSeq: 1, lastSeq: 60, firstAge: 60, retention: "interest" });
  const [now, base] = readings(s, [consumer("slow", { ackFloor: 0, acked: 0, pending: 60 })], { window: 1, published: 1 });
  const r = retentionOutlook(now, [], base)!;
  assert.deepEqual([r.consumers[0]?.discardInSeconds, r.consumers[0]?.atRisk], [72 * 3600 - 60, false]);
  assert.equal(r.removedBy, "an event is removed once every consumer acknowledged it, and by the limits; an event no consumer matches is not kept");
  assert.equal(r.policy, "interest");
  const work = retentionOutlook({ ...now, stream: stream({ firstSeq: 1, lastSeq: 1, firstAge: 1, retention: "workqueue" }) }, [])!;
  assert.equal(work.removedBy, "an event is removed once a consumer acknowledged it, and by the limits");
});
