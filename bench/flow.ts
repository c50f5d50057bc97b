// Benchmark: events in motion on one local 3-replica, file-backed, TLS + basic-auth JetStream bus
// that this benchmark starts in a temp EVENTBUS_HOME and always takes down. Measures, in one run:
//   1. end-to-end latency: events published at a steady BENCH_RATE (1,000) a second for
//      BENCH_SECONDS (30), each timed from its publish to its subscriber's callback; the eventbus
//      publisher and subscription against raw nats.js (`js.publish`, `consumer.consume()`) paced
//      the same way, one after the other; p50 and p99 (goal: eventbus p99 < 5 ms);
//   2. failover: the eventbus publisher and a raw nats.js event source publish at a steady rate
//      side by side when the stream's leader is SIGKILLed (the supervisor restarts it); for each,
//      the time from the kill to the first ack of an event sent after it (goal < 3 s), the events
//      that failed, and the acked events not in the stream once it is over (goal 0).
// Run with `npm run bench:flow` (`-- --json` or BENCH_JSON=1 for JSON).
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";

import { connect, type EventBusClient, type EventInput } from "../src/client/index.js";
import { busStatus } from "../src/platforms/local/index.js";
import { jetstreamManifest } from "../test/helpers/local-bus.js";
import { runWithBus, type BenchBusRun } from "./bus-run.js";
import { GOALS } from "./goals.js";
import { DATA, rawArgoEvent } from "./raw-event.js";
import { envInt, goal, percentile } from "./stats.js";
import { storedEventIds } from "./steady-load.js";

const RATE = envInt("BENCH_RATE", 1_000);
const SECONDS = envInt("BENCH_SECONDS", 30);
const FAILOVER_RATE = envInt("BENCH_FAILOVER_RATE", 500);
/** How long each load runs before the kill, and after it. */
const FAILOVER_BEFORE_MS = 3_000;
const FAILOVER_AFTER_MS = 12_000;
const JSON_OUTPUT = process.argv.includes("--json") || process.env.BENCH_JSON === "1";
const SOURCE = "flow";
const STREAM = "default";

const progress = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));
const eventOf = (name: string, id?: string): EventInput => ({ source: SOURCE, subject: name, type: "webhook", data: DATA, ...(id !== undefined && { id }) });

/**
 * Calls `send(i)` for i = 0, 1, … at `rate` a second for `millis` (or until `stop()` says so),
 * each when it is due: a 1 ms timer sends what has come due since the last tick, so events are
 * spread as evenly as the event loop allows, never in bursts of a round's worth.
 */
async function paced(rate: number, millis: number, send: (i: number) => void, stop: () => boolean = () => false): Promise<number> {
  const started = performance.now();
  let sent = 0;
  const total = Math.ceil((millis * rate) / 1000);
  while (sent < total && !stop()) {
    const elapsed = performance.now() - started;
    const due = Math.min(Math.floor((elapsed * rate) / 1000) + 1, total);
    while (sent < due) send(sent++);
    await sleep(1);
  }
  return sent;
}

/** Latencies of one path, in ms, and the events that never arrived. */
interface LatencyRun {
  readonly millis: number[];
  readonly sent: number;
  readonly missing: number;
}

/** Waits until `received()` reaches `sent` or 10 s pass. */
async function drained(received: () => number, sent: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (received() < sent && Date.now() < deadline) await sleep(20);
}

/** The eventbus publisher, and a subscription that times each event in its loop. */
async function eventbusLatency(client: EventBusClient): Promise<LatencyRun> {
  const subscription = await client.subscribe({ source: SOURCE, event: "latency", from: "new" });
  const sentAt = new Map<string, number>();
  const millis: number[] = [];
  const reading = (async () => {
    for await (const got of subscription) {
      const at = sentAt.get(got.event.id);
      if (at !== undefined) millis.push(performance.now() - at);
      void got.ack({ confirm: false });
    }
  })();
  const publisher = client.publisher({ window: 256 });
  let failed: unknown;
  const sent = await paced(RATE, SECONDS * 1000, (i) => {
    const id = `latency-${i}`;
    sentAt.set(id, performance.now());
    publisher.publish(eventOf("latency", id)).catch((err: unknown) => (failed ??= err));
  });
  await publisher.flush();
  await drained(() => millis.length, sent);
  await subscription.close();
  await reading;
  if (failed !== undefined) throw failed;
  return { millis, sent, missing: sent - millis.length };
}

/** Raw nats.js: `js.publish` of the hand-built event, a durable pull consumer's `consume()`, `m.ack()`. */
async function rawLatency(nc: NatsConnection, js: JetStreamClient): Promise<LatencyRun> {
  const jsm = await jetstreamManager(nc);
  const durable = `flow-raw-${process.pid}`;
  await jsm.consumers.add(STREAM, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: `${STREAM}.${SOURCE}.raw-latency`,
  });
  const messages = await (await js.consumers.get(STREAM, durable)).consume({ max_messages: 100 });
  const sentAt = new Map<string, number>();
  const millis: number[] = [];
  const reading = (async () => {
    for await (const m of messages) {
      const at = sentAt.get(m.headers?.get("Nats-Msg-Id") ?? "");
      if (at !== undefined) millis.push(performance.now() - at);
      m.ack();
    }
  })();
  let failed: unknown;
  const input = eventOf("raw-latency");
  const sent = await paced(RATE, SECONDS * 1000, (i) => {
    const e = rawArgoEvent(input, `raw-latency-${i}`);
    sentAt.set(e.id, performance.now());
    js.publish(e.subject, e.body, { msgID: e.id }).catch((err: unknown) => (failed ??= err));
  });
  await drained(() => millis.length, sent);
  await messages.close();
  await reading;
  await jsm.consumers.delete(STREAM, durable).catch(() => undefined);
  if (failed !== undefined) throw failed;
  return { millis, sent, missing: sent - millis.length };
}

/** One steady publisher through a failover: when each event was sent and acked. */
interface FailoverLoad {
  readonly sent: Map<string, number>;
  readonly acked: Map<string, number>;
  failed: number;
}

/** Starts a steady publish; `publish(id)` resolves on the event's ack. */
function steady(publish: (id: string) => Promise<unknown>, prefix: string, stop: () => boolean): { load: FailoverLoad; done: Promise<void> } {
  const load: FailoverLoad = { sent: new Map(), acked: new Map(), failed: 0 };
  const pending: Promise<unknown>[] = [];
  const done = (async () => {
    await paced(
      FAILOVER_RATE,
      Number.POSITIVE_INFINITY,
      (i) => {
        const id = `${prefix}-${i}`;
        load.sent.set(id, Date.now());
        pending.push(
          publish(id).then(
            () => load.acked.set(id, Date.now()),
            () => void load.failed++,
          ),
        );
      },
      stop,
    );
    await Promise.all(pending);
  })();
  return { load, done };
}

/** What one publisher went through: ms from the kill to the first ack of an event sent after it, failures, acked events lost. */
interface FailoverResult {
  readonly recoveryMillis: number | undefined;
  readonly acked: number;
  readonly failed: number;
  readonly lost: number;
}

function failoverOf(load: FailoverLoad, killedAt: number, stored: Set<string>): FailoverResult {
  let first: number | undefined;
  for (const [id, ackedAt] of load.acked) if ((load.sent.get(id) ?? 0) >= killedAt) first = Math.min(first ?? ackedAt, ackedAt);
  return {
    recoveryMillis: first === undefined ? undefined : first - killedAt,
    acked: load.acked.size,
    failed: load.failed,
    lost: [...load.acked.keys()].filter((id) => !stored.has(id)).length,
  };
}

const manifest = jetstreamManifest("flow", `version: "2.10"\nreplicas: 3\nauth: basic\ntls: {enabled: true}\npersistence: {volumeSize: 1Gi}`);

await runWithBus("flow", async (bench: BenchBusRun) => {
  const { bus, server, user, password, caFile } = await bench.startBus(manifest);
  const client = await connect({ servers: server, auth: { kind: "basic", username: user, password }, tls: { caFile }, name: "bench-eventbus" });
  bench.onTeardown(() => client.close());
  const nc = await natsConnect({ servers: server, user, pass: password, tls: { caFile }, name: "bench-raw", maxReconnectAttempts: -1 });
  bench.onTeardown(() => nc.close());
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);

  // -- 1. end-to-end latency ------------------------------------------------------------------
  progress(`latency: ${RATE} events/s for ${SECONDS} s, raw nats.js first, then eventbus`);
  const raw = await rawLatency(nc, js);
  const eventbus = await eventbusLatency(client);

  // -- 2. failover --------------------------------------------------------------------------
  await jsm.streams.purge(STREAM);
  let stopping = false;
  const stop = () => stopping;
  const publisher = client.publisher({ window: 64 });
  const eb = steady((id) => publisher.publish(eventOf("failover", id)), "failover", stop);
  const rawInput = eventOf("raw-failover");
  const rw = steady(
    (id) => {
      const e = rawArgoEvent(rawInput, id);
      return js.publish(e.subject, e.body, { msgID: e.id });
    },
    "raw-failover",
    stop,
  );
  await sleep(FAILOVER_BEFORE_MS);
  const leader = (await jsm.streams.info(STREAM)).cluster?.leader;
  const victim = (await busStatus(bus.name, { home: bus.home })).servers.find((s) => s.name === leader);
  if (victim?.pid === undefined) throw new Error(`the stream leader ${String(leader)} has no running process`);
  progress(`failover: ${FAILOVER_RATE} events/s from each publisher; SIGKILL of the stream leader ${victim.name} (pid ${victim.pid})`);
  const killedAt = Date.now();
  process.kill(victim.pid, "SIGKILL");
  await sleep(FAILOVER_AFTER_MS);
  stopping = true;
  await Promise.all([eb.done, rw.done]);
  progress("failover: reading the stream back");
  const [ebStored, rawStored] = [await storedEventIds(client, SOURCE, "failover"), await storedEventIds(client, SOURCE, "raw-failover")];
  const failover = { eventbus: failoverOf(eb.load, killedAt, ebStored), raw: failoverOf(rw.load, killedAt, rawStored), leader: victim.name };

  const lat = (run: LatencyRun) => ({ p50: percentile(run.millis, 50), p99: percentile(run.millis, 99), sent: run.sent, missing: run.missing });
  const result = {
    context: { node: process.version, natsServer: nc.info?.version ?? "unknown", bus: "3 replicas, file storage, TLS, basic auth", server },
    latencyMillis: { rate: RATE, seconds: SECONDS, raw: lat(raw), eventbus: lat(eventbus), goalP99: GOALS.latencyP99Millis.value },
    failover: { rate: FAILOVER_RATE, ...failover, goalSeconds: GOALS.failoverSeconds.value },
  };
  if (JSON_OUTPUT) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const l = result.latencyMillis;
  console.log(`eventbus flow benchmark (node ${process.version}, nats-server ${result.context.natsServer}; ${result.context.bus})`);
  console.log(`1. end-to-end latency, publish -> subscriber callback, ${RATE} events/s for ${SECONDS} s`);
  const latRow = (label: string, x: ReturnType<typeof lat>) =>
    console.log(`  ${label.padEnd(48)} p50 ${x.p50.toFixed(2)} ms  p99 ${x.p99.toFixed(2)} ms  (${x.sent} sent, ${x.missing} missing)`);
  latRow("baseline: raw nats.js js.publish -> consume()", l.raw);
  latRow("eventbus publish -> subscribe", l.eventbus);
  console.log(`  p99 ${goal(l.eventbus.p99, GOALS.latencyP99Millis)}`);
  console.log(`2. failover: stream leader ${failover.leader} SIGKILLed while ${FAILOVER_RATE} events/s each are published`);
  const foRow = (label: string, f: FailoverResult) =>
    console.log(
      `  ${label.padEnd(48)} next ack after ${f.recoveryMillis === undefined ? "never" : `${(f.recoveryMillis / 1000).toFixed(2)} s`}; ${f.acked} acked, ${f.failed} failed, ${f.lost} acked and lost`,
    );
  foRow("baseline: raw nats.js js.publish", failover.raw);
  foRow("eventbus publisher", failover.eventbus);
  const recovery = (failover.eventbus.recoveryMillis ?? Number.POSITIVE_INFINITY) / 1000;
  console.log(`  ${goal(recovery, GOALS.failoverSeconds)}; lost ${goal(failover.eventbus.lost, GOALS.failoverLost)}`);
});
