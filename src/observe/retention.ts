/**
 * Retention of the stream: which limit binds first, how old its oldest event is, when events start
 * to be discarded (or publishes refused) at the current publish rate, and which consumers will have
 * events discarded before they read them. Pure: computed from a snapshot and an earlier sample of
 * the same stream, the rates being what changed between the two.
 *
 * How JetStream removes events (nats-server 2.10, server/filestore.go and server/stream.go):
 * - `maxMsgs` and `maxBytes`: after each stored event, `enforceMsgLimit` / `enforceBytesLimit` delete
 *   the first (oldest) event while the stream is over the limit (`deleteFirstMsg`), so with
 *   `discard: old` every publish at the limit pushes the oldest event out.
 * - `discard: new`: `storeRawMsg` refuses the event instead (`ErrMaxMsgs` when `Msgs >= MaxMsgs`,
 *   `ErrMaxBytes` when `Bytes + size >= MaxBytes`); nothing is discarded.
 * - `maxAge`: a timer (`startAgeChk`, `expireMsgs`) removes every event whose timestamp is older than
 *   now - maxAge, whatever the discard policy, and re-arms itself for the next oldest event.
 * - the server's store (`max_file_store`): over it, `processJetStreamMsg` refuses the event
 *   (`ErrJetStreamResourcesExceeded`, "insufficient resources"); it never discards.
 * - `retention: interest`: `ackMsg` removes an event once no consumer still needs its ack
 *   (`checkInterest`), and an event no consumer's filter matches is not stored at all (`SkipMsg`);
 *   `retention: workqueue`: `ackMsg` removes an event once it is acked. The limits above still apply
 *   to both, and remove unacked events too.
 */
import { Duration } from "../api/index.js";
import type { StreamSummary } from "../client/index.js";
import type { ConsumerSnapshot, ServerSnapshot } from "./snapshot.js";

/** The limits that bound how long the stream keeps an event. */
export const RetentionLimit = { maxAge: "maxAge", maxMsgs: "maxMsgs", maxBytes: "maxBytes", store: "store" } as const;
export type RetentionLimit = (typeof RetentionLimit)[keyof typeof RetentionLimit];

/** What reaching a limit does. */
export const LimitEffect = { discardsOldest: "discards-oldest", refusesPublishes: "refuses-publishes" } as const;
export type LimitEffect = (typeof LimitEffect)[keyof typeof LimitEffect];

/**
 * A consumer whose first unread event would be discarded within this time, at the current rates,
 * is a problem. Further out, a rate measured over seconds says little, and there is time to act.
 */
export const DISCARD_WARNING_SECONDS = 3600;

/** What a retention outlook is computed from: one reading of the stream and its consumers. */
export interface RetentionSample {
  readonly takenAt: string;
  readonly stream: StreamSummary | { readonly error: string };
  readonly consumers: readonly ConsumerSnapshot[];
}

/** One limit of the stream, as the current rate meets it. */
export interface LimitOutlook {
  readonly limit: RetentionLimit;
  /** The limit: seconds (maxAge), events (maxMsgs) or bytes (maxBytes, store). */
  readonly max: number;
  /** In use now, in the same unit: the oldest event's age, the events, the bytes. */
  readonly used: number;
  readonly effect: LimitEffect;
  /** How long this limit alone lets an event stay at the current rate; null: it does not bind at this rate. */
  readonly keepsSeconds?: number | null;
  /** When it is reached at the current rate (0: it is); null: never at this rate; absent: no rate measured yet. */
  readonly reachedInSeconds?: number | null;
  /** For the store: the server whose store fills first. */
  readonly server?: string;
}

/** Whether a consumer reads its events before the stream's limits discard them. */
export interface ConsumerRetention {
  readonly name: string;
  /** Events delivered and unacked, or not yet delivered. */
  readonly waiting: number;
  /** Its oldest unacked or undelivered event (its ack floor + 1, or the stream's first). */
  readonly oldestUnreadSeq?: number;
  readonly oldestUnreadAgeSeconds?: number;
  /** Events it acknowledged per second, between the two samples. */
  readonly readRate?: number;
  /** When the first event it has not read is discarded at the current rates; null: not at these rates. */
  readonly discardInSeconds?: number | null;
  readonly discardedBy?: RetentionLimit;
  /** Events it has now will be discarded unread within {@link DISCARD_WARNING_SECONDS}. */
  readonly atRisk: boolean;
}

/** The stream's retention at the moment of the snapshot. */
export interface RetentionOutlook {
  readonly policy: string;
  readonly discard: string;
  /** What removes events under this policy. */
  readonly removedBy: string;
  readonly oldestEventAgeSeconds?: number;
  /** Events per second published, between the two samples; absent without an earlier sample. */
  readonly publishRate?: number;
  readonly rateWindowSeconds?: number;
  /** The limits set, the store when its size is known. */
  readonly limits: readonly LimitOutlook[];
  /** The limit reached first at the current rate; none when nothing is reached at this rate. */
  readonly binding: RetentionLimit | "none";
  /** When the first event is discarded by a limit; null: not at this rate. */
  readonly discardsInSeconds?: number | null;
  /** When publishes start to be refused (discard new at a limit, or a full store); null: not at this rate. */
  readonly refusesInSeconds?: number | null;
  readonly consumers: readonly ConsumerRetention[];
}

const REMOVED_BY: Readonly<Record<string, string>> = {
  limits: "the limits alone remove events",
  interest: "an event is removed once every consumer acknowledged it, and by the limits; an event no consumer matches is not kept",
  workqueue: "an event is removed once a consumer acknowledged it, and by the limits",
};

/** Measured between `base` and `now`, when both read the same stream and time went forward. */
interface Rates {
  readonly windowSeconds: number;
  /** Events published per second. */
  readonly publish: number;
  /** Events each consumer acknowledged per second. */
  readonly read: ReadonlyMap<string, number>;
}

/**
 * The retention outlook of the stream in `now`, with rates measured since `base` (an earlier
 * sample of the same bus); without `base`, only what needs no rate (the oldest event's age, a
 * limit already reached, maxAge).
 * @param servers - the servers' JetStream store use and limits, when known: the store is a limit too
 */
export function retentionOutlook(now: RetentionSample, servers: readonly ServerSnapshot[], base?: RetentionSample): RetentionOutlook | undefined {
  if ("error" in now.stream) return undefined;
  const stream = now.stream;
  const at = Date.parse(now.takenAt);
  const rates = ratesBetween(base, now);
  const r = rates?.publish;
  const { messages, bytes } = stream.state;
  const avgBytes = messages > 0 ? bytes / messages : undefined;
  const bytesRate = r !== undefined && avgBytes !== undefined ? r * avgBytes : undefined;
  const firstAt = messages > 0 && stream.state.firstTime ? Date.parse(stream.state.firstTime) : undefined;
  const oldestAge = firstAt === undefined ? undefined : Math.max(0, (at - firstAt) / 1000);
  const discardNew = stream.config.discard === "new";
  const volumeEffect = discardNew ? LimitEffect.refusesPublishes : LimitEffect.discardsOldest;

  const limits: LimitOutlook[] = [];
  const maxAge = Duration.parse(stream.config.maxAge).seconds;
  if (maxAge > 0) {
    // The oldest event goes when it is maxAge old; an empty stream's next event maxAge after it is published.
    const reached = oldestAge !== undefined ? Math.max(0, maxAge - oldestAge) : r === undefined ? undefined : r > 0 ? maxAge : null;
    limits.push({
      limit: RetentionLimit.maxAge,
      max: maxAge,
      used: oldestAge ?? 0,
      effect: LimitEffect.discardsOldest,
      keepsSeconds: maxAge,
      ...known("reachedInSeconds", reached),
    });
  }
  if (stream.config.maxMsgs > 0) {
    limits.push(volumeLimit(RetentionLimit.maxMsgs, stream.config.maxMsgs, messages, r, volumeEffect));
  }
  if (stream.config.maxBytes > 0) {
    limits.push(volumeLimit(RetentionLimit.maxBytes, stream.config.maxBytes, bytes, bytesRate, volumeEffect));
  }
  const store = tightestStore(stream, servers);
  if (store) {
    // The stream may grow into the free room of the store; then every publish is refused.
    const free = Math.max(0, store.max - store.used);
    const outlook = volumeLimit(RetentionLimit.store, bytes + free, bytes, bytesRate, LimitEffect.refusesPublishes);
    limits.push({ ...outlook, max: store.max, used: store.used, server: store.server });
  }

  const soonest = (effect: LimitEffect) => earliest(limits.filter((l) => l.effect === effect));
  return {
    policy: stream.config.retention,
    discard: stream.config.discard,
    removedBy: REMOVED_BY[stream.config.retention] ?? "the limits remove events",
    ...(oldestAge !== undefined && { oldestEventAgeSeconds: round(oldestAge) }),
    ...(rates && { publishRate: round(rates.publish), rateWindowSeconds: round(rates.windowSeconds) }),
    limits: limits.map(rounded),
    binding: bindingLimit(limits),
    ...known("discardsInSeconds", soonest(LimitEffect.discardsOldest)),
    ...known("refusesInSeconds", soonest(LimitEffect.refusesPublishes)),
    consumers: now.consumers.map((c) => consumerRetention(c, stream, at, limits, rates, avgBytes)),
  };
}

function ratesBetween(base: RetentionSample | undefined, now: RetentionSample): Rates | undefined {
  if (!base || "error" in base.stream || "error" in now.stream || base.stream.name !== now.stream.name) return undefined;
  const windowSeconds = (Date.parse(now.takenAt) - Date.parse(base.takenAt)) / 1000;
  const published = now.stream.state.lastSeq - base.stream.state.lastSeq;
  // A stream recreated in between starts its sequences again: no rate from that.
  if (!(windowSeconds > 0) || published < 0) return undefined;
  const read = new Map<string, number>();
  for (const c of now.consumers) {
    const before = base.consumers.find((b) => b.name === c.name);
    const acked = before === undefined ? -1 : c.ackFloorConsumerSeq - before.ackFloorConsumerSeq;
    if (acked >= 0) read.set(c.name, acked / windowSeconds);
  }
  return { windowSeconds, publish: published / windowSeconds, read };
}

/** A count- or size-limit: reached when `used` gets to `max` at `rate` units per second. */
function volumeLimit(limit: RetentionLimit, max: number, used: number, rate: number | undefined, effect: LimitEffect): LimitOutlook {
  const reached = used >= max ? 0 : rate === undefined ? undefined : rate > 0 ? (max - used) / rate : null;
  const keeps = rate === undefined ? undefined : rate > 0 ? max / rate : null;
  return { limit, max, used, effect, ...known("keepsSeconds", keeps), ...known("reachedInSeconds", reached) };
}

/** The store of the servers holding the stream with the least free room, when their limits are known. */
function tightestStore(stream: StreamSummary, servers: readonly ServerSnapshot[]): { server: string; max: number; used: number } | undefined {
  const holders = stream.cluster ? new Set([stream.cluster.leader, ...stream.cluster.replicas.map((r) => r.name)]) : undefined;
  const stores = servers
    .filter((s) => s.reachable && s.jetstream && s.jetstream.maxStoreBytes > 0 && (!holders || holders.has(s.name)))
    .map((s) => ({ server: s.name, max: s.jetstream!.maxStoreBytes, used: s.jetstream!.storeBytes }));
  return stores.sort((a, b) => a.max - a.used - (b.max - b.used))[0];
}

/** The limit reached first; between limits reached at once, the one that keeps events the shortest. */
function bindingLimit(limits: readonly LimitOutlook[]): RetentionLimit | "none" {
  const order = (v: number | null | undefined) => (v === null || v === undefined ? Infinity : v);
  const reachable = limits.filter((l) => order(l.reachedInSeconds) < Infinity);
  reachable.sort((a, b) => order(a.reachedInSeconds) - order(b.reachedInSeconds) || order(a.keepsSeconds) - order(b.keepsSeconds));
  return reachable[0]?.limit ?? "none";
}

/** The soonest `reachedInSeconds` of `limits`: undefined when one is unknown and none is known sooner. */
function earliest(limits: readonly LimitOutlook[]): number | null | undefined {
  let soonest: number | null = null;
  let unknown = false;
  for (const l of limits) {
    if (l.reachedInSeconds === undefined) unknown = true;
    else if (l.reachedInSeconds !== null && (soonest === null || l.reachedInSeconds < soonest)) soonest = l.reachedInSeconds;
  }
  return unknown && soonest === null ? undefined : soonest;
}

/** A value of three states (a number, null for never, undefined for unknown) as an optional field `key`. */
function known<K extends string>(key: K, value: number | null | undefined): Partial<Record<K, number | null>> {
  return value === undefined ? {} : ({ [key]: value === null ? null : round(value) } as Record<K, number | null>);
}

/** Seconds and rates to the millisecond (and milli-event): enough for people and alerts, stable for tests. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function rounded(l: LimitOutlook): LimitOutlook {
  return { ...l, max: round(l.max), used: round(l.used) };
}

/** A line `a + b·t` of stream sequence over seconds from now. */
interface Line {
  readonly a: number;
  readonly b: number;
}

/**
 * Whether `c` reads its events before the limits discard them. In stream sequences over time: the
 * stream's head (its first kept sequence) moves as each discarding limit pushes it, the consumer's
 * next unread event moves at its read rate (never past the stream's end); the first moment the head
 * passes the consumer, an event it has not read is discarded.
 */
function consumerRetention(
  c: ConsumerSnapshot,
  stream: StreamSummary,
  at: number,
  limits: readonly LimitOutlook[],
  rates: Rates | undefined,
  avgBytes: number | undefined,
): ConsumerRetention {
  const waiting = c.pending + c.ackPending;
  const { firstSeq, lastSeq, messages, bytes } = stream.state;
  if (waiting === 0) return { name: c.name, waiting, atRisk: false };
  const p = Math.max(c.ackFloorStreamSeq + 1, firstSeq);
  const timeline = eventTimeline(stream, at, rates?.publish ?? 0);
  const age = timeline ? -timeline.timeOfSeq(p) : undefined;
  const readRate = rates?.read.get(c.name);
  const basics = { name: c.name, waiting, oldestUnreadSeq: p, ...(age !== undefined && { oldestUnreadAgeSeconds: round(Math.max(0, age)) }) };
  if (rates === undefined || readRate === undefined) return { ...basics, atRisk: false };
  const r = rates.publish;
  // Its events are a share of the stream's (a filtered consumer): its reads move it faster through the stream.
  const share = Math.min(1, waiting / Math.max(1, lastSeq - p + 1));
  const v = readRate / share;
  const consumer: Line[] = [
    { a: p, b: v },
    { a: lastSeq + 1, b: r },
  ];
  // Each discarding limit pushes the head (events over the limit leave from the front); the head's
  // starting point, firstSeq, is never past the consumer, so only the limits' lines can cross it.
  const fixed: [RetentionLimit, Line][] = [];
  for (const l of limits) {
    if (l.effect !== LimitEffect.discardsOldest) continue;
    if (l.limit === RetentionLimit.maxMsgs) fixed.push([l.limit, { a: firstSeq + messages - l.max, b: r }]);
    if (l.limit === RetentionLimit.maxBytes && avgBytes !== undefined) fixed.push([l.limit, { a: firstSeq + (bytes - l.max) / avgBytes, b: r }]);
  }
  const maxAge = limits.find((l) => l.limit === RetentionLimit.maxAge)?.max;
  const loss = firstLoss(fixed, consumer, maxAge !== undefined && timeline ? { maxAge, timeline } : undefined);
  const outlook = { ...basics, readRate: round(readRate) };
  if (!loss) return { ...outlook, discardInSeconds: null, atRisk: false };
  // An event it has now (not one still to be published) is lost, and soon.
  const lostSeq = Math.min(...consumer.map((l) => l.a + l.b * loss.t));
  const atRisk = loss.t <= DISCARD_WARNING_SECONDS && lostSeq <= lastSeq;
  return { ...outlook, discardInSeconds: round(loss.t), discardedBy: loss.limit, atRisk };
}

/**
 * When each sequence was (or will be) published, in seconds from now: the events in the stream
 * spread evenly between its first and last timestamps, later ones at the current rate.
 */
interface Timeline {
  /** Publish times (seconds from now) where the pieces of `lastSeqBy` change. */
  readonly corners: readonly number[];
  /** The last sequence published by time `tau` (seconds from now), as a line on the piece that holds `tau`. */
  lastSeqBy(tau: number): Line;
  /** When sequence `seq` was published (seconds from now, negative in the past). */
  timeOfSeq(seq: number): number;
}

function eventTimeline(stream: StreamSummary, at: number, rate: number): Timeline | undefined {
  const { firstSeq, lastSeq, messages, firstTime, lastTime } = stream.state;
  if (messages === 0 || !firstTime) {
    const after = (tau: number): Line => (tau <= 0 ? { a: lastSeq, b: 0 } : { a: lastSeq, b: rate });
    return { corners: [0], lastSeqBy: after, timeOfSeq: () => 0 };
  }
  const t1 = (Date.parse(firstTime) - at) / 1000;
  // (one event, or all in the same millisecond: spread over a millisecond)
  const t2 = Math.max(lastTime ? (Date.parse(lastTime) - at) / 1000 : t1, t1 + 0.001);
  const t3 = Math.max(0, t2);
  // The first event counts as published at t1: sequence firstSeq - 1 is the last before it.
  const slope = (lastSeq - firstSeq + 1) / (t2 - t1);
  const lastSeqBy = (tau: number): Line => {
    if (tau < t1) return { a: firstSeq - 1, b: 0 };
    if (tau < t2) return { a: firstSeq - 1 - t1 * slope, b: slope };
    if (tau < t3) return { a: lastSeq, b: 0 };
    return { a: lastSeq - t3 * rate, b: rate };
  };
  const timeOfSeq = (seq: number) => (seq > lastSeq ? t3 + (rate > 0 ? (seq - lastSeq) / rate : 0) : t1 + (seq - firstSeq) / slope);
  return { corners: [t1, t2, t3], lastSeqBy, timeOfSeq };
}

/**
 * The first time (seconds from now) the head passes the consumer, and the limit that moved it; undefined
 * when it never does at these rates. On each piece of the timeline both are maxima and minima of lines, so
 * the first crossing is the earliest root of (head line − consumer line) over the pairs.
 */
function firstLoss(
  fixed: readonly [RetentionLimit, Line][],
  consumer: readonly Line[],
  age: { readonly maxAge: number; readonly timeline: Timeline } | undefined,
): { t: number; limit: RetentionLimit } | undefined {
  // An event expires when it is maxAge old: at time t the head is past every event published by t - maxAge.
  const bounds = [0, ...(age ? age.timeline.corners.map((c) => c + age.maxAge).filter((t) => t > 0) : []), Infinity].sort((x, y) => x - y);
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [start, end] = [bounds[i]!, bounds[i + 1]!];
    if (!(end > start)) continue;
    const head = [...fixed];
    if (age) {
      const mid = end === Infinity ? start + 1 : (start + end) / 2;
      const piece = age.timeline.lastSeqBy(mid - age.maxAge);
      // lastSeqBy(t - maxAge) + 1, as a line in t
      head.push([RetentionLimit.maxAge, { a: piece.a - piece.b * age.maxAge + 1, b: piece.b }]);
    }
    let best: { t: number; limit: RetentionLimit } | undefined;
    for (const [limit, h] of head) {
      for (const x of consumer) {
        const a = h.a - x.a;
        const b = h.b - x.b;
        const valueAtStart = a + b * start;
        const t = valueAtStart > 0 ? start : b > 0 ? Math.max(start, -a / b) : Infinity;
        if (t < end && (!best || t < best.t)) best = { t, limit };
      }
    }
    if (best) return best;
  }
  return undefined;
}
