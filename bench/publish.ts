// Benchmark: the eventbus client against raw nats.js and against Go's `nats bench`, all on one local
// 3-replica, file-backed, TLS + basic-auth JetStream bus that this benchmark starts in a temp
// EVENTBUS_HOME and always takes down (also on failure and on Ctrl-C). Measures, in one run:
//   1. async publish throughput with a window of W events in flight (eventbus publisher vs raw
//      `js.publish` with an in-flight limiter, and `nats bench js pub async`), alternating rounds;
//   2. sync publish latency (one publish at a time, each ack awaited), p50 and p99;
//   3. consume throughput of pre-published events (eventbus subscribe vs a raw pull consumer).
// Every client connects to the same server with the same credentials and CA. Run with
// `npm run bench:publish` (`-- --json` or BENCH_JSON=1 for JSON); sizes come from BENCH_* variables.
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect as natsConnect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";

import { connect, encodeEvent, type EncodedEvent, type EventBusClient, type EventInput } from "../src/client/index.js";
import { jetstreamManifest } from "../test/helpers/local-bus.js";
import { runWithBus, type BenchBusRun } from "./bus-run.js";
import { GOALS } from "./goals.js";
import { DATA, DATA_BYTES, rawArgoEvent } from "./raw-event.js";
import { findNatsCli, natsBenchArgs, natsCliVersion, runNatsBench, type NatsBenchTarget } from "./nats-bench.js";
import { envInt, formatRate, formatRatio, goal, median, percentile, rate } from "./stats.js";

const EVENTS = envInt("BENCH_EVENTS", 15_000);
const ROUNDS = envInt("BENCH_ROUNDS", 7);
const WINDOW = envInt("BENCH_WINDOW", 256);
const LATENCY_OPS = envInt("BENCH_LATENCY_OPS", 2_000);
const CONSUME_EVENTS = envInt("BENCH_CONSUME_EVENTS", 20_000);
const CONSUME_SYNC_EVENTS = envInt("BENCH_CONSUME_SYNC_EVENTS", 3_000);
const CONSUME_ROUNDS = envInt("BENCH_CONSUME_ROUNDS", 5);
const JSON_OUTPUT = process.argv.includes("--json") || process.env.BENCH_JSON === "1";
const STREAM = "default";
const SOURCE = "bench";
/** Argo's stream keeps 50000 events: every measured batch must fit, so that its limit is not measured. */
const STREAM_MAX_MSGS = 50_000;
const PUBLISH_GOAL = GOALS.publishVsEventSource;
const GO_GOAL = GOALS.publishVsGo;
const CPU_GOAL = GOALS.publishCpuMicros;

if (EVENTS > STREAM_MAX_MSGS || CONSUME_EVENTS > STREAM_MAX_MSGS)
  throw new Error(`BENCH_EVENTS and BENCH_CONSUME_EVENTS must be <= ${STREAM_MAX_MSGS} (the stream's maxMsgs)`);

// A full collection before each timed run, so that no run pays for the garbage of the one before
// (the raw baseline's pre-encoded events are thousands of objects). The same as `node --expose-gc`.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Progress goes to stderr, so that stdout is the table (or the JSON). */
const progress = (line: string) => process.stderr.write(`${line}\n`);

const eventOf = (name: string): EventInput => ({ source: SOURCE, subject: name, type: "webhook", data: DATA });

/** The same events the library would publish, encoded by it before the clock starts (fresh ids). */
const encodeAll = (input: EventInput, count: number): EncodedEvent[] => Array.from({ length: count }, () => encodeEvent(input));

/** One timed run: events per second, and this process's CPU time per event (user + system). */
interface Run {
  readonly rate: number;
  readonly cpuMicros: number;
}

/** Times `fn`, which handles `count` events, after a full garbage collection. */
async function timed(count: number, fn: () => Promise<void>): Promise<Run> {
  collectGarbage();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  const millis = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { rate: rate(count, millis), cpuMicros: (used.user + used.system) / count };
}

// ---------------------------------------------------------------------------------------------
// The bus: bench/bus-run.ts starts it in a temp home and takes it down on every path.

const manifest = jetstreamManifest("bench", `version: "2.10"\nreplicas: 3\nauth: basic\ntls: {enabled: true}\npersistence: {volumeSize: 1Gi}`);

await runWithBus("publish", main);

// ---------------------------------------------------------------------------------------------

async function main(bench: BenchBusRun): Promise<void> {
  const { server, user, password, caFile } = await bench.startBus(manifest);

  // Both Node clients dial the same server with the same credentials and CA. nats.js's async stack
  // traces (an Error with a stack captured per request) cost much CPU per publish: the raw client
  // takes whatever the library's connection has.
  const client: EventBusClient = await connect({ servers: server, auth: { kind: "basic", username: user, password }, tls: { caFile }, name: "bench-eventbus" });
  bench.onTeardown(() => client.close());
  const asyncTraces = !((client.nc as { options?: ConnectionOptions }).options?.noAsyncTraces ?? false);
  const nc: NatsConnection = await natsConnect({
    servers: server,
    user,
    pass: password,
    tls: { caFile },
    name: "bench-raw",
    maxReconnectAttempts: -1,
    noAsyncTraces: !asyncTraces,
  });
  bench.onTeardown(() => nc.close());
  const js: JetStreamClient = jetstream(nc);
  const jsm: JetStreamManager = await jetstreamManager(nc);

  const streamInfo = await jsm.streams.info(STREAM);
  const context = {
    node: process.version,
    natsServer: nc.info?.version ?? "unknown",
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    bus: "3 replicas, file storage, TLS, basic auth",
    server,
    serverName: nc.info?.server_name ?? "unknown",
    streamLeader: streamInfo.cluster?.leader ?? "unknown",
    streamReplicas: streamInfo.config.num_replicas,
    streamMaxMsgs: streamInfo.config.max_msgs,
    natsAsyncTraces: asyncTraces,
  };
  const sample = encodeEvent(eventOf("publish"));
  const shape = {
    dataBytes: DATA_BYTES,
    bodyBytes: sample.body.byteLength,
    format: "CloudEvents JSON with the data in data_base64 and a Nats-Msg-Id header, as Argo's event sources write",
    raw: "transport-only row: raw nats.js publishes the bytes the library produces, encoded before the clock starts; the raw event source (the goal's baseline) and eventbus build each event inside the timed loop",
  };
  const purge = () => jsm.streams.purge(STREAM);

  // -- 1. async publish throughput ------------------------------------------------------------
  const cli = findNatsCli();
  let goTarget: NatsBenchTarget | undefined;
  let goVersion: string | undefined;
  const goPayload = join(bench.home, "argo-event.json");
  if ("path" in cli) {
    goTarget = { cli: cli.path, server, user, password, caFile };
    await writeFile(goPayload, sample.body);
    goVersion = await natsCliVersion(cli.path);
  }
  const goRun = {
    stream: STREAM,
    subject: `${STREAM}.${SOURCE}.go`,
    msgs: EVENTS,
    payloadFile: goPayload,
    payloadBytes: sample.body.byteLength,
    batch: WINDOW,
  };

  const publishInput = eventOf("publish");
  const variants = {
    raw: async (count: number) => {
      const encoded = encodeAll(publishInput, count);
      await purge();
      return timed(count, () => rawPublishWindowed(js, count, WINDOW, (i) => encoded[i]!));
    },
    // A raw nats.js event source: it builds each Argo event itself, inside the loop.
    rawEncoding: async (count: number) => {
      await purge();
      return timed(count, () => rawPublishWindowed(js, count, WINDOW, () => rawArgoEvent(publishInput)));
    },
    publishAll: async (count: number) => {
      await purge();
      return timed(count, () => eventbusPublishAll(client, publishInput, count, WINDOW));
    },
    ready: async (count: number) => {
      await purge();
      return timed(count, () => eventbusReadyPublish(client, publishInput, count, WINDOW));
    },
  };
  const goThroughput = async () => {
    await purge();
    return runNatsBench(goTarget!, goRun, bench.signal);
  };

  progress(`warm-up: ${Math.ceil(EVENTS / 4)} events each`);
  for (const run of Object.values(variants)) await run(Math.ceil(EVENTS / 4));
  if (goTarget) await goThroughput();

  const publish: Record<keyof typeof variants, Run[]> = { raw: [], rawEncoding: [], publishAll: [], ready: [] };
  const go: number[] = [];
  const order = Object.keys(variants) as (keyof typeof variants)[];
  for (let round = 0; round < ROUNDS; round++) {
    progress(`async publish round ${round + 1}/${ROUNDS}: ${EVENTS} events each`);
    // Rotate the order, so that load drifting within a round does not always favour the same one.
    for (let i = 0; i < order.length; i++) {
      const key = order[(round + i) % order.length]!;
      publish[key].push(await variants[key](EVENTS));
    }
    if (goTarget) go.push(await goThroughput());
  }

  // -- 2. sync publish latency ----------------------------------------------------------------
  await purge();
  const latencyInput = eventOf("latency");
  const rawLatency: number[] = [];
  const eventbusLatency: number[] = [];
  const chunk = 100;
  for (const e of encodeAll(latencyInput, chunk)) await js.publish(e.subject, e.body, { msgID: e.id });
  for (let i = 0; i < chunk; i++) await client.publish(latencyInput);
  progress(`sync publish latency: ${LATENCY_OPS} publishes each, alternating in chunks of ${chunk}`);
  for (let done = 0; done < LATENCY_OPS; done += chunk) {
    const n = Math.min(chunk, LATENCY_OPS - done);
    for (const e of encodeAll(latencyInput, n)) {
      const started = performance.now();
      await js.publish(e.subject, e.body, { msgID: e.id });
      rawLatency.push(performance.now() - started);
    }
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      await client.publish(latencyInput);
      eventbusLatency.push(performance.now() - started);
    }
  }

  // -- 3. consume throughput ------------------------------------------------------------------
  await purge();
  const consumeSubject = `${STREAM}.${SOURCE}.consume`;
  progress(`consume: publishing ${CONSUME_EVENTS} events to read back`);
  const consumeEvents = encodeAll(eventOf("consume"), CONSUME_EVENTS);
  await rawPublishWindowed(js, CONSUME_EVENTS, WINDOW, (i) => consumeEvents[i]!);
  let consumerSeq = 0;
  const withConsumer = async (count: number, fn: (durable: string) => Promise<void>): Promise<Run> => {
    const durable = `bench-${process.pid}-${++consumerSeq}`;
    try {
      // Creating the consumer is timed for both: subscribe() creates it too.
      return await timed(count, () => fn(durable));
    } finally {
      await jsm.consumers.delete(STREAM, durable).catch(() => undefined);
    }
  };
  const syncCount = Math.min(CONSUME_SYNC_EVENTS, CONSUME_EVENTS);
  const consumers = {
    rawAck: (count: number) => withConsumer(count, (d) => rawConsumeRun(nc, js, jsm, d, consumeSubject, count, "ack")),
    rawAckAckNoWait: (count: number) => withConsumer(count, (d) => rawConsumeRun(nc, js, jsm, d, consumeSubject, count, "ackAck")),
    eventbusAckNoWait: (count: number) => withConsumer(count, (d) => eventbusConsumeRun(client, d, count, false)),
    rawAckAckAwait: (count: number) => withConsumer(count, (d) => rawConsumeRun(nc, js, jsm, d, consumeSubject, count, "await ackAck")),
    eventbusAckAwait: (count: number) => withConsumer(count, (d) => eventbusConsumeRun(client, d, count, true)),
  };
  type ConsumeKey = keyof typeof consumers;
  const consume = Object.fromEntries(Object.keys(consumers).map((k) => [k, [] as Run[]])) as Record<ConsumeKey, Run[]>;
  progress("consume warm-up");
  await consumers.rawAck(Math.min(2_000, CONSUME_EVENTS));
  await consumers.eventbusAckNoWait(Math.min(2_000, CONSUME_EVENTS));
  const groups: [ConsumeKey[], number][] = [
    [["rawAck", "rawAckAckNoWait", "eventbusAckNoWait"], CONSUME_EVENTS],
    [["rawAckAckAwait", "eventbusAckAwait"], syncCount],
  ];
  for (let round = 0; round < CONSUME_ROUNDS; round++) {
    progress(`consume round ${round + 1}/${CONSUME_ROUNDS}: ${CONSUME_EVENTS} events (acks not awaited), ${syncCount} (each ack awaited)`);
    for (const [keys, count] of groups) {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[(round + i) % keys.length]!;
        consume[key].push(await consumers[key](count));
      }
    }
  }

  report({
    context,
    shape,
    goVersion,
    goMissing: "missing" in cli ? cli.missing : undefined,
    goCommand: goTarget ? `${goTarget.cli} ${natsBenchArgs(goTarget, goRun).join(" ")}` : undefined,
    publish,
    go,
    rawLatency,
    eventbusLatency,
    consume,
    syncCount,
  });
}

// ---------------------------------------------------------------------------------------------
// The measured loops.

/** Raw nats.js: `js.publish` of `count` events, the i-th from `next(i)`, with at most `window` unacknowledged. */
async function rawPublishWindowed(js: JetStreamClient, count: number, window: number, next: (i: number) => EncodedEvent): Promise<void> {
  let inFlight = 0;
  let acked = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const settle = () => {
    inFlight--;
    if (++acked === count) finished();
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (let i = 0; i < count; i++) {
    if (inFlight >= window) await new Promise<void>((resolve) => (wake = resolve));
    if (failure !== undefined) break;
    const e = next(i);
    inFlight++;
    js.publish(e.subject, e.body, { msgID: e.id }).then(settle, (err: unknown) => {
      failure ??= err;
      settle();
    });
  }
  if (failure === undefined) await all;
  if (failure !== undefined) throw failure;
}

function* repeat(input: EventInput, count: number): Generator<EventInput> {
  for (let i = 0; i < count; i++) yield input;
}

/** The eventbus publisher's `publishAll` (what `eventbus publish --count` uses): acks in order, back-pressure. */
async function eventbusPublishAll(client: EventBusClient, input: EventInput, count: number, window: number): Promise<void> {
  let acked = 0;
  for await (const _ack of client.publisher({ window }).publishAll(repeat(input, count))) acked++;
  if (acked !== count) throw new Error(`eventbus publishAll: ${acked} acks for ${count} events`);
}

/** The eventbus publisher used as documented for fire-and-collect: `await ready()` before each `publish()`. */
async function eventbusReadyPublish(client: EventBusClient, input: EventInput, count: number, window: number): Promise<void> {
  const publisher = client.publisher({ window });
  let failure: unknown;
  const failed = (err: unknown) => (failure ??= err);
  for (let i = 0; i < count && failure === undefined; i++) {
    await publisher.ready();
    publisher.publish(input).catch(failed);
  }
  await publisher.flush();
  if (failure !== undefined) throw failure;
}

type RawAck = "ack" | "ackAck" | "await ackAck";

/** Raw nats.js pull consumer (durable, explicit ack, from the start, 100 a pull as the library's default). */
async function rawConsumeRun(
  nc: NatsConnection,
  js: JetStreamClient,
  jsm: JetStreamManager,
  durable: string,
  subject: string,
  count: number,
  ack: RawAck,
): Promise<void> {
  await jsm.consumers.add(STREAM, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subject,
    ack_wait: 30_000_000_000,
  });
  const consumer = await js.consumers.get(STREAM, durable);
  const messages = await consumer.consume({ max_messages: 100 });
  const confirmations: Promise<boolean>[] = [];
  let n = 0;
  for await (const m of messages) {
    if (ack === "ack") m.ack();
    else if (ack === "ackAck") confirmations.push(m.ackAck());
    else if (!(await m.ackAck())) throw new Error("raw consume: ack not confirmed");
    if (++n === count) break;
  }
  if ((await Promise.all(confirmations)).includes(false)) throw new Error("raw consume: an ack was not confirmed");
  await messages.close();
  // Fire-and-forget acks are sent, not only buffered.
  await nc.flush();
}

/** The eventbus subscription: iterate and ack each event, awaiting each ack or all of them at the end. */
async function eventbusConsumeRun(client: EventBusClient, durable: string, count: number, awaitEach: boolean): Promise<void> {
  const subscription = await client.subscribe({ source: SOURCE, event: "consume", durable, from: "start" });
  const pendingAcks: Promise<void>[] = [];
  let n = 0;
  for await (const received of subscription) {
    if (awaitEach) await received.ack();
    else pendingAcks.push(received.ack({ confirm: false }));
    if (++n === count) break;
  }
  await Promise.all(pendingAcks);
  await subscription.close();
  // Unconfirmed acks are sent, not only buffered.
  await client.nc.flush();
}

// ---------------------------------------------------------------------------------------------
// The report.

interface Results {
  context: Record<string, unknown>;
  shape: Record<string, unknown>;
  goVersion: string | undefined;
  goMissing: string | undefined;
  goCommand: string | undefined;
  publish: { raw: Run[]; rawEncoding: Run[]; publishAll: Run[]; ready: Run[] };
  go: number[];
  rawLatency: number[];
  eventbusLatency: number[];
  consume: { rawAck: Run[]; rawAckAckNoWait: Run[]; eventbusAckNoWait: Run[]; rawAckAckAwait: Run[]; eventbusAckAwait: Run[] };
  syncCount: number;
}

/** Median rate and median CPU per event of some runs, with the rounds. */
function summary(runs: readonly Run[]) {
  return {
    eventsPerSec: median(runs.map((r) => r.rate)),
    cpuMicrosPerEvent: median(runs.map((r) => r.cpuMicros)),
    rounds: runs.map((r) => Math.round(r.rate)),
  };
}

function report(r: Results): void {
  const raw = summary(r.publish.raw);
  const all = summary(r.publish.publishAll);
  const ready = summary(r.publish.ready);
  const rawEncoding = summary(r.publish.rawEncoding);
  // Each round's ratio to the raw run of the same round: background load drifts less within a round.
  const perRound = (runs: Run[], base: Run[] = r.publish.raw) => runs.map((run, i) => run.rate / base[i]!.rate);
  const allRatio = median(perRound(r.publish.publishAll));
  const readyRatio = median(perRound(r.publish.ready));
  const rawEncodingRatio = median(perRound(r.publish.rawEncoding));
  // The goal's ratio: against a raw nats.js event source, which must build each Argo event too.
  const allVsSource = median(perRound(r.publish.publishAll, r.publish.rawEncoding));
  const goMedian = r.go.length > 0 ? median(r.go) : undefined;
  const lat = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99), count: values.length });
  const rawLat = lat(r.rawLatency);
  const eventbusLat = lat(r.eventbusLatency);
  const c = {
    rawAck: summary(r.consume.rawAck),
    rawAckAckNoWait: summary(r.consume.rawAckAckNoWait),
    eventbusAckNoWait: summary(r.consume.eventbusAckNoWait),
    rawAckAckAwait: summary(r.consume.rawAckAckAwait),
    eventbusAckAwait: summary(r.consume.eventbusAckAwait),
  };

  const unconfirmedRatio = median(perRound(r.consume.eventbusAckNoWait, r.consume.rawAck));
  const confirmedRatio = median(perRound(r.consume.eventbusAckAwait, r.consume.rawAckAckAwait));

  if (JSON_OUTPUT) {
    const json = {
      context: { ...r.context, natsCli: r.goVersion ?? null },
      config: {
        events: EVENTS,
        rounds: ROUNDS,
        window: WINDOW,
        latencyOps: LATENCY_OPS,
        consumeEvents: CONSUME_EVENTS,
        consumeSyncEvents: r.syncCount,
        consumeRounds: CONSUME_ROUNDS,
      },
      event: r.shape,
      publish: {
        goal: PUBLISH_GOAL.value,
        cpuGoalMicros: CPU_GOAL.value,
        raw,
        eventbusPublishAll: {
          ...all,
          ratio: allRatio,
          ratioToEventSource: allVsSource,
          ratioOfMedians: all.eventsPerSec / raw.eventsPerSec,
          perRoundRatios: perRound(r.publish.publishAll),
        },
        rawEventSource: { ...rawEncoding, ratio: rawEncodingRatio, perRoundRatios: perRound(r.publish.rawEncoding) },
        eventbusReadyPublish: { ...ready, ratio: readyRatio, ratioOfMedians: ready.eventsPerSec / raw.eventsPerSec, perRoundRatios: perRound(r.publish.ready) },
        go:
          goMedian === undefined
            ? { skipped: r.goMissing ?? "nats CLI not found", install: "make tools" }
            : {
                eventsPerSec: goMedian,
                rounds: r.go,
                eventbusOverGo: all.eventsPerSec / goMedian,
                rawOverGo: raw.eventsPerSec / goMedian,
                goal: GO_GOAL.value,
                command: r.goCommand,
              },
      },
      latencyMillis: { raw: rawLat, eventbus: eventbusLat, p50Ratio: eventbusLat.p50 / rawLat.p50, p99Ratio: eventbusLat.p99 / rawLat.p99 },
      consume: {
        ackNotAwaited: {
          events: CONSUME_EVENTS,
          rawAck: c.rawAck,
          rawAckAck: c.rawAckAckNoWait,
          eventbus: c.eventbusAckNoWait,
          ratio: unconfirmedRatio,
          perRoundRatios: perRound(r.consume.eventbusAckNoWait, r.consume.rawAck),
          ratioToRawAckAck: median(perRound(r.consume.eventbusAckNoWait, r.consume.rawAckAckNoWait)),
        },
        ackAwaited: {
          events: r.syncCount,
          rawAckAck: c.rawAckAckAwait,
          eventbus: c.eventbusAckAwait,
          ratio: confirmedRatio,
          perRoundRatios: perRound(r.consume.eventbusAckAwait, r.consume.rawAckAckAwait),
        },
      },
    };
    console.log(JSON.stringify(json, null, 2));
    return;
  }

  const x = r.context;
  const cpu = (s: { cpuMicrosPerEvent: number }) => `${s.cpuMicrosPerEvent.toFixed(0).padStart(3)} µs CPU/ev`;
  const row = (label: string, value: string, tail = "") => console.log(`  ${label.padEnd(60)} ${value.padStart(13)}  ${tail}`.trimEnd());
  const rateRow = (label: string, s: ReturnType<typeof summary>, ratio: number | undefined, extra = "") =>
    row(label, `${formatRate(s.eventsPerSec)} ev/s`, `${ratio === undefined ? "1.00x" : formatRatio(ratio)}  ${cpu(s)}${extra}`);
  const rounds = (ratios: number[]) => `; per round ${ratios.map((v) => v.toFixed(2)).join(" ")}`;
  console.log(
    `eventbus publish/consume benchmark (node ${String(x.node)}, nats-server ${String(x.natsServer)}, ${String(x.cpus)} CPUs: ${String(x.cpuModel)})`,
  );
  console.log(
    `bus: ${String(x.bus)}; stream ${STREAM} R${String(x.streamReplicas)}, leader ${String(x.streamLeader)}; every client on ${String(x.server)} (${String(x.serverName)})`,
  );
  console.log(`event: ${DATA_BYTES} B JSON data -> ${String(r.shape.bodyBytes)} B Argo CloudEvent body (data_base64) + Nats-Msg-Id header`);
  console.log(
    `baseline: raw nats.js sending the library's bytes, encoded before the clock starts (transport only); the raw event source and eventbus build each event inside the timed loop`,
  );
  console.log(
    `CPU/ev: this Node process's user+system CPU per event (the servers run on the same ${String(x.cpus)} CPUs); nats.js async traces ${x.natsAsyncTraces ? "on" : "off"} (as the library's connection)`,
  );
  console.log();
  console.log(`1. async publish, window ${WINDOW}, ${EVENTS} events a round, ${ROUNDS} rounds in rotating order, stream purged before each run;`);
  console.log(`   medians of the rates; the ratio is the median of each round's ratio to that round's raw run`);
  rateRow("raw nats.js js.publish + in-flight limiter, pre-encoded", raw, undefined);
  rateRow("raw nats.js event source: builds each Argo event by hand", rawEncoding, rawEncodingRatio, `  (the baseline of the goal)`);
  rateRow(
    "eventbus publisher({window}).publishAll(events)",
    all,
    allRatio,
    `  (vs the event source ${formatRatio(allVsSource)}: ${goal(allVsSource, PUBLISH_GOAL)}${rounds(perRound(r.publish.publishAll, r.publish.rawEncoding))}; CPU ${goal(all.cpuMicrosPerEvent, CPU_GOAL)})`,
  );
  rateRow("eventbus publisher({window}): await ready(); publish()", ready, readyRatio, `  (${rounds(perRound(r.publish.ready)).slice(2)})`);
  if (goMedian !== undefined) {
    const overGo = all.eventsPerSec / goMedian;
    row(
      `Go: nats bench js pub async --batch ${WINDOW} (natscli ${r.goVersion ?? "?"})`,
      `${formatRate(goMedian)} ev/s`,
      `eventbus/Go ${formatRatio(overGo)} (${goal(overGo, GO_GOAL)}), raw/Go ${formatRatio(raw.eventsPerSec / goMedian)}`,
    );
    console.log(
      `     (same server and stream ${STREAM}, subject ${STREAM}.${SOURCE}.go, --payload = the same ${String(r.shape.bodyBytes)} B body, --dedup for a Nats-Msg-Id)`,
    );
  } else {
    const why = r.goMissing ?? "the nats CLI is not installed";
    console.log(`  Go: nats bench skipped: ${why}${why.includes("make tools") ? "" : "; install it with `make tools`"}`);
  }
  console.log();
  console.log(`2. sync publish latency, one at a time, each ack awaited (${rawLat.count} each, alternating chunks of 100)`);
  row("baseline: raw nats.js await js.publish", `p50 ${rawLat.p50.toFixed(3)} ms`, `p99 ${rawLat.p99.toFixed(3)} ms`);
  row(
    "eventbus await client.publish",
    `p50 ${eventbusLat.p50.toFixed(3)} ms`,
    `p99 ${eventbusLat.p99.toFixed(3)} ms  (${formatRatio(eventbusLat.p50 / rawLat.p50)} p50, ${formatRatio(eventbusLat.p99 / rawLat.p99)} p99)`,
  );
  console.log();
  console.log(`3. consume from the start, new durable pull consumer each run, each client's default pull size, ${CONSUME_ROUNDS} rotating rounds;`);
  console.log("   medians of the rates; the ratio is the median of each round's ratio to that round's baseline run");
  console.log(`   ${CONSUME_EVENTS} events, acks not awaited:`);
  rateRow("baseline: raw consumer.consume(), m.ack() (no confirmation)", c.rawAck, undefined);
  rateRow("raw consumer.consume(), m.ackAck() not awaited", c.rawAckAckNoWait, c.rawAckAckNoWait.eventsPerSec / c.rawAck.eventsPerSec);
  rateRow(
    "eventbus subscribe, ack({ confirm: false })",
    c.eventbusAckNoWait,
    unconfirmedRatio,
    `  (${goal(unconfirmedRatio, GOALS.consumeVsRaw)}${rounds(perRound(r.consume.eventbusAckNoWait, r.consume.rawAck))})`,
  );
  console.log(`   ${r.syncCount} events, each ack awaited:`);
  rateRow("baseline: raw consumer.consume(), await m.ackAck()", c.rawAckAckAwait, undefined);
  rateRow(
    "eventbus subscribe, await ack()",
    c.eventbusAckAwait,
    confirmedRatio,
    `  (${goal(confirmedRatio, GOALS.consumeConfirmedVsRaw)}${rounds(perRound(r.consume.eventbusAckAwait, r.consume.rawAckAckAwait))})`,
  );
  console.log("   (raw only reads the messages; eventbus also decodes and checks each CloudEvent)");
}
