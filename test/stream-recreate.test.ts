/**
 * `stream apply --recreate` against a real 3-server bus: a retention change JetStream cannot make
 * on a live stream, made by backup, delete and restore under the new config, with every event and
 * a sensor's ack floor kept; a dry run that changes nothing; and an event published while the
 * stream is backed up, which makes the recreate refuse with the stream unchanged.
 */
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { BackupErrorCode, RecreateStep, isBackupError } from "../src/backup/index.js";
import { ackedByAll, applyStreamConfig, durableName } from "../src/client/index.js";
import { runCliProcess } from "./helpers/cli-process.js";
import { jetstreamManifest, publishAcked, startTestBus, type TestBus } from "./helpers/local-bus.js";

const SUBJECT = "default.test-source.test-event";
const SENSOR_DURABLE = durableName({ sensor: "ci", trigger: "build", dependency: "push" });
/** A second trigger's durable, which has acked nothing: under interest retention it keeps every event. */
const IDLE_DURABLE = durableName({ sensor: "ci", trigger: "deploy", dependency: "push" });

/** An event as the stream holds it. */
interface StoredEvent {
  readonly seq: number;
  readonly subject: string;
  readonly id: string | undefined;
  readonly body: string;
  readonly time: string;
}

/** Every message of the stream, in sequence order, by direct get from its first to its last sequence. */
async function storedEvents(nc: NatsConnection): Promise<StoredEvent[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info("default");
  const events: StoredEvent[] = [];
  if (state.messages === 0) return events;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage("default", { seq }).catch(() => null);
    if (m === null) continue;
    events.push({ seq: m.seq, subject: m.subject, id: m.header?.get("Nats-Msg-Id") || undefined, body: m.string(), time: m.time.toISOString() });
  }
  return events;
}

async function streamState(nc: NatsConnection) {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info("default");
  const sensor = await jsm.consumers.info("default", SENSOR_DURABLE);
  const idle = await jsm.consumers.info("default", IDLE_DURABLE);
  return {
    retention: info.config.retention,
    consumers: info.state.consumer_count,
    delivered: sensor.delivered.stream_seq,
    ackFloor: sensor.ack_floor.stream_seq,
    pending: sensor.num_pending,
    idleAckFloor: idle.ack_floor.stream_seq,
  };
}

test("ackedByAll - the events up to the lowest ack floor, every event without consumers, none of an empty stream", () => {
  const state = { messages: 300, first_seq: 1, last_seq: 300 };
  assert.deepEqual(ackedByAll([120, 0], state), { events: 0, upTo: 0 });
  assert.deepEqual(ackedByAll([120, 200], state), { events: 120, upTo: 120 });
  assert.deepEqual(ackedByAll([120], { messages: 200, first_seq: 101, last_seq: 300 }), { events: 20, upTo: 120 });
  assert.deepEqual(ackedByAll([], state), { events: 300, upTo: 300 });
  assert.deepEqual(ackedByAll([], { messages: 0, first_seq: 301, last_seq: 300 }), { events: 0, upTo: 0 });
});

describe("stream apply --recreate", { timeout: 600_000 }, () => {
  let bus: TestBus;
  let nc: NatsConnection;
  const env = () => ({ EVENTBUS_HOME: bus.home });

  before(async () => {
    bus = await startTestBus(jetstreamManifest("recreate", `version: "2.10"\nreplicas: 3\nauth: basic`));
    nc = await bus.connect();
    // Two triggers' durables (as Argo makes them: explicit ack): one acked 120 of 300 events, the other none
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add("default", {
      durable_name: SENSOR_DURABLE,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: SUBJECT,
    });
    await jsm.consumers.add("default", {
      durable_name: IDLE_DURABLE,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: SUBJECT,
    });
    await publishAcked(nc, 300, "first");
    const consumer = await jetstream(nc).consumers.get("default", SENSOR_DURABLE);
    let acked = 0;
    while (acked < 120) {
      for await (const m of await consumer.fetch({ max_messages: 120 - acked, expires: 5000 })) {
        await m.ackAck();
        acked++;
      }
    }
  });

  after(async () => {
    await bus?.[Symbol.asyncDispose]();
  });

  test("without --recreate a retention change is refused and names --recreate; with --dry-run it says what it would do and changes nothing", async () => {
    const before = await storedEvents(nc);
    const stateBefore = await streamState(nc);
    assert.deepEqual([before.length, stateBefore.retention, stateBefore.ackFloor, stateBefore.idleAckFloor], [300, "limits", 120, 0]);

    const refused = await runCliProcess(["stream", "apply", "recreate", "-f", "-"], "retention: interest\n", { env: env(), timeoutMillis: 60_000 });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /JetStream cannot change retention: "limits" → "interest" on a live stream; apply with --recreate/);

    const dry = await runCliProcess(["stream", "apply", "recreate", "-f", "-", "--recreate", "--dry-run"], "retention: interest\n", {
      env: env(),
      timeoutMillis: 60_000,
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^stream default: would be recreated \(retention: limits → interest\); 300 events and 2 consumers would be backed up and restored \(dry run: nothing was changed\)\n/,
    );
    assert.deepEqual(await storedEvents(nc), before);
    assert.deepEqual(await streamState(nc), stateBefore);
    assert.deepEqual(await readdir(join(bus.home, "buses", "recreate")).then((names) => names.filter((n) => n.endsWith(".evbak"))), []);
  });

  test("a retention the consumers do not fit (a work queue with two durables on the same subject) fails, and the old stream is put back from the archive", async () => {
    const before = await storedEvents(nc);
    const stateBefore = await streamState(nc);

    const run = await runCliProcess(["stream", "apply", "recreate", "-f", "-", "--recreate"], "retention: workqueue\n", { env: env(), timeoutMillis: 180_000 });
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /restoring stream default with the new config\n/);
    assert.match(run.stderr, /filtered consumer not unique on workqueue stream/);
    assert.match(run.stderr, /the old stream was put back \(300 events, last sequence 300, 2 consumers\); its archive is kept in \S+\.evbak\n/);
    assert.deepEqual(await storedEvents(nc), before);
    assert.deepEqual(await streamState(nc), stateBefore);
  });

  test("limits → interest: every event (sequence, subject, Nats-Msg-Id, body, time) and both durables' ack floors survive, and the archive is kept 0600 in the bus's state dir", async () => {
    const before = await storedEvents(nc);
    const stateBefore = await streamState(nc);

    const run = await runCliProcess(["stream", "apply", "recreate", "-f", "-", "--recreate", "-o", "json"], "retention: interest\n", {
      env: env(),
      timeoutMillis: 180_000,
    });
    assert.equal(run.code, 0, run.stderr);
    const outcome = JSON.parse(run.stdout) as {
      action: string;
      recreated: { fields: string[]; events: number; consumers: number; firstSeq: number; lastSeq: number; archive: string };
    };
    assert.equal(outcome.action, "recreated");
    assert.deepEqual(outcome.recreated.fields, ["retention: limits → interest"]);
    assert.deepEqual([outcome.recreated.events, outcome.recreated.consumers, outcome.recreated.firstSeq, outcome.recreated.lastSeq], [300, 2, 1, 300]);
    assert.equal("removedByRetention" in outcome.recreated, false);
    assert.equal(join(outcome.recreated.archive, ".."), join(bus.home, "buses", "recreate"));
    assert.equal((await stat(outcome.recreated.archive)).mode & 0o777, 0o600);

    assert.deepEqual(await storedEvents(nc), before);
    assert.deepEqual(await streamState(nc), { ...stateBefore, retention: "interest" });
    // Its subjects were fenced only while it was recreated.
    assert.deepEqual((await (await jetstreamManager(nc)).streams.info("default")).config.subjects, ["default.*.*"]);
    // The sensor resumes after its ack floor.
    const consumer = await jetstream(nc).consumers.get("default", SENSOR_DURABLE);
    const next: number[] = [];
    for await (const m of await consumer.fetch({ max_messages: 1, expires: 5000 })) {
      next.push(m.seq);
      m.nak();
    }
    assert.deepEqual(next, [121]);
  });

  test("an event published while the stream is backed up makes the recreate refuse; nothing is changed and nothing lost", async () => {
    const before = await storedEvents(nc);
    assert.equal((await streamState(nc)).retention, "interest");
    let raced = "";
    const error = await applyStreamConfig(nc, "retention: limits\n", {
      recreate: {
        onStep: async (step) => {
          if (step === RecreateStep.backedUp) raced = (await publishAcked(nc, 1, "raced"))[0]!;
        },
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isBackupError(error), String(error));
    assert.equal(error.code, BackupErrorCode.streamChanged);
    assert.match(error.message, /^stream default: 1 event was published while it was backed up \(last sequence 300 then, 301 now\); nothing was changed/);

    const after = await storedEvents(nc);
    assert.deepEqual(after.slice(0, before.length), before);
    assert.deepEqual(
      after.slice(before.length).map((e) => [e.seq, e.id]),
      [[301, raced]],
    );
    assert.equal((await streamState(nc)).retention, "interest");
    // The stream takes events again on its own subjects.
    const [next] = await publishAcked(nc, 1, "after");
    assert.deepEqual(
      (await storedEvents(nc)).slice(-1).map((e) => [e.seq, e.id]),
      [[302, next]],
    );
    assert.deepEqual((await (await jetstreamManager(nc)).streams.info("default")).config.subjects, ["default.*.*"]);
  });
});
