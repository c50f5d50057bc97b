/**
 * Chaos suite - failover: 5 runs of 20,000 events published through a 3-server bus while a server
 * is SIGKILLed every 5 s (the stream's leader first, then the others in turn). Every event the
 * publisher acked is stored, none is stored twice, and an event it did not ack is reported with a
 * reason. The figures of each run are printed.
 *
 * The bus runs nats-server 2.11: "none stored twice" is what 2.11 guarantees and 2.10 does not.
 * nats-server 2.10.29 checks a Nats-Msg-Id only on the stream leader
 * (`server/jetstream_cluster.go`, `processClusteredInboundMsg`; the apply path skips the check when
 * clustered, `server/stream.go` `processJetStreamMsg`), and a new leader takes publishes before it
 * has applied its predecessor's entries, which its dedupe map does not yet hold: a CI run on 2.10
 * stored 3 of 20,000 events twice. 2.11.17 serves as leader only once those entries are applied
 * (`server/raft.go`, `leaderState` set in `applied` when `aflr` is reached). The production lint
 * warns of 2.10 (`version-2.10-failover`).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

import { connect, isPublishFailed, type EventBusClient, type PublishResult } from "../src/client/index.js";
import { busPaths, busStatus } from "../src/platforms/local/index.js";
import { again, jetstreamManifest, startTestBus, type TestBus } from "./helpers/local-bus.js";

const RUNS = 5;
const EVENTS = 20_000;
const KILL_EVERY_MILLIS = 5_000;

/**
 * Every `Nats-Msg-Id` stored on `subject`, with how many times each is stored, and how many
 * messages the stream itself counts on the subject. Read until every counted message is read, up
 * to 60 s, whatever the consumer's `pending` says (right after the last kill it said 0 with 103
 * messages left: a CI run reported stored events as lost); a fetch that comes back empty or fails
 * (a leader election) has the reader start again after the last sequence it read.
 */
async function storedCounts(nc: NatsConnection, jsm: JetStreamManager, subject: string): Promise<{ counts: Map<string, number>; streamCount: number }> {
  const js = jetstream(nc);
  const counts = new Map<string, number>();
  const info = await again(() => jsm.streams.info("default", { subjects_filter: subject }));
  const streamCount = info.state.subjects?.[subject] ?? 0;
  let read = 0;
  let lastSeq = 0;
  // A request can time out right after the last kill, while the stream elects a leader: asked again.
  const reader = () =>
    again(() => js.consumers.get("default", { filter_subjects: subject, headers_only: true, ...(lastSeq > 0 && { opt_start_seq: lastSeq + 1 }) }));
  let consumer = await reader();
  for (const deadline = Date.now() + 60_000; read < streamCount && Date.now() < deadline; ) {
    let got = 0;
    try {
      for await (const m of await consumer.fetch({ max_messages: 1000, expires: 5000 })) {
        got++;
        read++;
        lastSeq = m.seq;
        const id = m.headers?.get("Nats-Msg-Id") ?? "";
        counts.set(id, (counts.get(id) ?? 0) + 1);
        if (read >= streamCount) break;
      }
    } catch {
      // the fetch failed (no responders during an election): a new reader below
    }
    if (got === 0) {
      await new Promise((r) => setTimeout(r, 250));
      consumer = await reader();
    }
  }
  return { counts, streamCount };
}

describe("chaos - failover: a server SIGKILLed every 5 s while 20,000 events are published", { timeout: 900_000 }, () => {
  let bus: TestBus;
  let client: EventBusClient;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  before(async () => {
    bus = await startTestBus(
      jetstreamManifest(
        "failover",
        `version: "2.11"\nreplicas: 3\nauth: basic\npersistence: {volumeSize: 2Gi}\nstreamConfig: |\n  maxMsgs: -1\n  maxBytes: 1GB`,
      ),
    );
    client = await connect({ status: await bus.status() });
    nc = await bus.connect();
    // No account info request up front: it would time out while a server is down.
    jsm = await jetstreamManager(nc, { checkAPI: false });
  });
  after(async () => {
    await client?.close();
    await bus?.[Symbol.asyncDispose]();
  });

  for (let run = 1; run <= RUNS; run++) {
    test(`run ${run} of ${RUNS}: acked = stored, no event stored twice, every other event failed with a reason`, async () => {
      const subject = `run${run}`;
      // A killer: the stream's leader first, then the servers in turn, each restarted by the supervisor.
      let kills = 0;
      let killedLeader = false;
      let stopKilling = false;
      // The first kill comes once a tenth of the events have settled, so that every run loses its
      // stream leader mid-publish however fast it publishes (a run of 20,000 events once ended in
      // 0.9 s, before a first kill at 1 s).
      let firstKill!: () => void;
      const tenth = new Promise<void>((resolve) => (firstKill = resolve));
      const killer = (async () => {
        await tenth;
        for (let wait = 0; !stopKilling; wait = KILL_EVERY_MILLIS) {
          await new Promise((r) => setTimeout(r, wait));
          if (stopKilling) return;
          const status = await busStatus(bus.name, { home: bus.home });
          const leader = await jsm.streams.info("default").then(
            (i) => i.cluster?.leader,
            () => undefined,
          );
          const victim = kills === 0 ? status.servers.find((s) => s.name === leader) : status.servers[kills % status.servers.length];
          if (victim?.pid === undefined) continue;
          if (victim.name === leader) killedLeader = true;
          process.kill(victim.pid, "SIGKILL");
          kills++;
        }
      })();

      // The publisher: the window of `eventbus publish --count`, acks read in order.
      const started = Date.now();
      let lastAck = started;
      let maxStall = 0;
      let ended = started;
      const results: PublishResult[] = [];
      const events = (function* () {
        for (let i = 0; i < EVENTS; i++) yield { source: "failover", subject, type: "test", id: `${subject}-${i}` };
      })();
      try {
        for await (const result of client.publisher({ window: 256 }).publishSettled(events)) {
          const now = Date.now();
          if (result.ok) {
            maxStall = Math.max(maxStall, now - lastAck);
            lastAck = now;
          }
          results.push(result);
          if (results.length === EVENTS / 10) firstKill();
        }
        ended = Date.now();
      } finally {
        // Also when publishing throws: a killer left running would keep the test process alive.
        stopKilling = true;
        firstKill();
        await killer;
      }
      const seconds = (ended - started) / 1000;

      // Let the killed servers come back, and the stream settle with every replica current.
      const settle = Date.now() + 120_000;
      for (;;) {
        const status = await busStatus(bus.name, { home: bus.home });
        const info = await jsm.streams.info("default").catch(() => undefined);
        if (status.healthy && info?.cluster?.leader && (info.cluster.replicas ?? []).every((r) => r.current)) break;
        const stream = info
          ? `stream leader ${info.cluster?.leader ?? "none"}, replicas ${(info.cluster?.replicas ?? []).map((r) => `${r.name} current ${r.current} lag ${r.lag ?? 0}`).join(", ")}`
          : "no stream info";
        if (Date.now() >= settle) {
          // What the supervisor did meanwhile (restarts, stall recoveries) says why; its log goes with the bus.
          const log = await readFile(busPaths(bus.home, bus.name).supervisorLog, "utf8").catch(() => "");
          const tail = log.trimEnd().split("\n").slice(-40).join("\n");
          assert.fail(
            `the bus did not settle in 120 s: healthy ${status.healthy}; ${stream}; problems: ${status.problems.join("; ") || "none"}\nsupervisor log:\n${tail}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }

      const acked = results.filter((r): r is Extract<PublishResult, { ok: true }> => r.ok);
      const failed = results.filter((r): r is Extract<PublishResult, { ok: false }> => !r.ok);
      const { counts, streamCount } = await storedCounts(nc, jsm, `default.failover.${subject}`);
      const twice = [...counts].filter(([, n]) => n > 1);
      const lost = acked.filter((r) => !counts.has(r.ack.id));
      const reasons = new Map<string, number>();
      for (const f of failed) {
        const reason = isPublishFailed(f.error) ? f.error.reason : f.error.name;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      console.log(
        `# failover run ${run}: ${EVENTS} events in ${seconds.toFixed(1)} s, ${kills} servers killed (stream leader: ${killedLeader ? "yes" : "no"}); ` +
          `acked ${acked.length} (${acked.filter((r) => r.ack.duplicate).length} acked as duplicates of a stored copy), failed ${failed.length}` +
          `${reasons.size > 0 ? ` (${[...reasons].map(([r, n]) => `${n} ${r}`).join(", ")})` : ""}; stored ${counts.size} (the stream counts ${streamCount}), stored twice ${twice.length}, acked but not stored ${lost.length}; max stall ${maxStall} ms`,
      );

      assert.equal(results.length, EVENTS);
      assert.ok(kills >= 1, "no server was killed: the run was shorter than the kill interval");
      assert.deepEqual(
        lost.map((r) => r.ack.id),
        [],
        `acked events that are not stored (the stream counts ${streamCount} on the subject, ${counts.size} read); the first: ${lost
          .slice(0, 5)
          .map((r) => `${r.ack.id} acked at seq ${r.ack.seq}`)
          .join(", ")}`,
      );
      // The publishes behind an event stored twice: how many attempts each took (a retry across a
      // leader change is where a second copy can come from).
      const attemptsOf = new Map(acked.map((r) => [r.ack.id, r.ack.attempts]));
      assert.deepEqual(
        twice,
        [],
        `events stored more than once (the stream counts ${streamCount}); attempts of their publishes: ${twice
          .slice(0, 10)
          .map(([id]) => `${id} ${attemptsOf.get(id) ?? "not acked"}`)
          .join(", ")}`,
      );
      for (const r of acked) assert.ok(r.ack.seq > 0, `${r.ack.id} acked at seq ${r.ack.seq}`);
      for (const f of failed) assert.ok(isPublishFailed(f.error), `${f.id} failed without a reason: ${f.error.message}`);
      // A failed event is one the stream did not confirm; what it holds of them is counted, never more than once.
      assert.ok(counts.size <= EVENTS);
      assert.ok(killedLeader, "the stream leader was not killed");
    });
  }
});
