/**
 * `eventbus migrate` against real buses: a 3-server NATS Streaming bus holding 10,000 events as
 * Argo's STAN event sources publish them (the CloudEvent JSON as the message body, on
 * `eventbus-<namespace>`; argoproj/argo-events pkg/eventsources/eventing.go) and two messages that
 * are not CloudEvents, copied into the stream `default` of a JetStream bus. What is checked is what
 * Argo's JetStream sensors read: the stream's messages, their subjects, bodies and `Nats-Msg-Id`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

import { connect, encodeEvent, type EncodedEvent, type EventBusClient } from "../src/client/index.js";
import { connectStan, type StanConnection } from "../src/client/stan/index.js";
import { migrateStanToJetStream, type MigrateSummary } from "../src/migrate/index.js";
import { getJson } from "../src/observe/http.js";
import { busCredentials } from "../src/platforms/local/index.js";
import { runCliHere, runCliProcess } from "./helpers/cli-process.js";
import { jetstreamManifest, startTestBus, type TestBus } from "./helpers/local-bus.js";

const CHANNEL = "eventbus-default";
const EVENTS = 10_000;
/** The channel sequences of the two messages that are not CloudEvents. */
const NOT_EVENTS = [3_001, 7_002];
const SOURCES = ["webhook-a", "calendar", "kafka-orders"];
const NAMES = ["push", "tick"];

const stanManifest = `apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata:
  name: legacy
spec:
  nats:
    native:
      replicas: 3
      auth: token
`;

interface ChannelEntry {
  readonly sequence: number;
  readonly event?: EncodedEvent;
  readonly body: Uint8Array;
}

/** Publishes the bodies in order, many in flight on one connection: the channel keeps their order. */
async function publishAll(stan: StanConnection, bodies: readonly Uint8Array[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 1_000) await Promise.all(bodies.slice(i, i + 1_000).map((b) => stan.publish(CHANNEL, b)));
}

/** The stream `default`, read in stream order with an ordered consumer. */
async function readStream(nc: NatsConnection): Promise<{ seq: number; subject: string; msgId: string | undefined; body: Uint8Array }[]> {
  const jsm = await jetstreamManager(nc);
  const count = (await jsm.streams.info("default")).state.messages;
  const out: { seq: number; subject: string; msgId: string | undefined; body: Uint8Array }[] = [];
  if (count === 0) return out;
  const consumer = await jetstream(nc).consumers.get("default");
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ seq: m.seq, subject: m.subject, msgId: m.headers?.get("Nats-Msg-Id"), body: m.data });
    if (out.length >= count) break;
  }
  await messages.close();
  return out;
}

/** The JetStream bus as flags: its URLs, Argo auth file and CA, as for a bus that is not local. */
async function toFlags(bus: TestBus): Promise<string[]> {
  const target = await busCredentials(bus.name, { home: bus.home });
  return ["--to-server", target.urls.join(","), "--to-creds", target.authFile!, ...(target.caFile ? ["--to-ca", target.caFile] : [])];
}

describe("migrate - a NATS Streaming channel copied into the JetStream stream default", () => {
  let stanBus: TestBus;
  let jsBus: TestBus;
  let stanNc: NatsConnection;
  let jsNc: NatsConnection;
  let publisher: StanConnection;
  let client: EventBusClient;
  let clusterId: string;
  const channel: ChannelEntry[] = [];

  before(async () => {
    // GIVEN a 3-server STAN bus and a 1-server JetStream bus, each in its own home
    stanBus = await startTestBus(stanManifest);
    jsBus = await startTestBus(jetstreamManifest("target", `version: "2.10"\nreplicas: 1\nauth: token`));
    stanNc = await stanBus.connect();
    jsNc = await jsBus.connect();
    clusterId = (await busCredentials(stanBus.name, { home: stanBus.home })).clusterId!;
    publisher = await connectStan(stanNc, { clusterId, clientId: "migrate-test-publisher" });
    // AND the channel holding 10,000 Argo events of 6 kinds, with two non-CloudEvents among them
    let n = 0;
    for (let sequence = 1; sequence <= EVENTS + NOT_EVENTS.length; sequence++) {
      if (NOT_EVENTS.includes(sequence)) {
        channel.push({ sequence, body: Buffer.from(sequence === NOT_EVENTS[0] ? "plain text, not JSON" : '{"hello":"not a CloudEvent"}') });
        continue;
      }
      const event = encodeEvent({ source: SOURCES[n % 3]!, subject: NAMES[n % 2]!, type: "webhook", data: { n, at: sequence } });
      channel.push({ sequence, event, body: event.body });
      n++;
    }
    await publishAll(
      publisher,
      channel.map((c) => c.body),
    );
    client = await connect({ status: await jsBus.status(), timeoutMillis: 10_000 });
  });
  after(async () => {
    await client?.close();
    await publisher?.close().catch(() => undefined);
    await jsBus?.[Symbol.asyncDispose]();
    await stanBus?.[Symbol.asyncDispose]();
  });

  test("the CLI copies every event on its subject, in channel order, byte for byte, and names the two it refused", async () => {
    // WHEN eventbus migrate runs as a user types it: the STAN bus by name, the JetStream bus by URL and auth file
    const run = await runCliProcess(["migrate", "--from", stanBus.name, ...(await toFlags(jsBus)), "-o", "json"], undefined, {
      env: { EVENTBUS_HOME: stanBus.home },
      timeoutMillis: 60_000,
    });
    // THEN it exits 1 (two messages refused), saying which, with the counts on stdout
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /2 refused \(sequence 3001, 7002\)/);
    assert.match(run.stderr, /migrate: sequence \d+\/10002: /, "progress on stderr");
    const summary = JSON.parse(run.stdout) as MigrateSummary;
    assert.deepEqual(
      [summary.read, summary.copied, summary.skipped, summary.refused, summary.failed, summary.lastSequence, summary.complete, summary.outOfOrder],
      [EVENTS + 2, EVENTS, 0, 2, 0, EVENTS + 2, true, 0],
    );
    assert.deepEqual(
      summary.refusals.map((r) => r.sequence),
      NOT_EVENTS,
    );
    assert.match(summary.refusals[0]!.reason, /not a JSON document/);
    assert.match(summary.refusals[1]!.reason, /specversion/);
    process.stderr.write(`# migrate CLI: ${summary.read} messages in ${summary.elapsedMillis} ms, ${summary.eventsPerSecond} events/s\n`);

    // AND the stream holds exactly the events, in channel order, as Argo's JetStream event sources publish them
    const stored = await readStream(jsNc);
    const events = channel.filter((c) => c.event !== undefined).map((c) => c.event!);
    assert.equal(stored.length, EVENTS);
    for (const [i, m] of stored.entries()) {
      const event = events[i]!;
      assert.equal(m.seq, i + 1);
      assert.equal(m.subject, event.subject, `stream seq ${m.seq}`);
      assert.equal(m.msgId, event.id, `stream seq ${m.seq}`);
      assert.ok(Buffer.from(m.body).equals(Buffer.from(event.body)), `stream seq ${m.seq}: the body unchanged`);
    }
    assert.equal(new Set(stored.map((m) => m.subject)).size, 6, "six subjects default.<source>.<event>");
    assert.equal(stored[0]!.subject, "default.webhook-a.push");
  });

  test("a second run stores nothing again, and leaves nothing on the STAN server", async () => {
    // WHEN the library runs the same migration again, inside the stream's duplicates window
    const progress: number[] = [];
    const summary = await migrateStanToJetStream({
      stan: { nc: stanNc, clusterId, channel: CHANNEL },
      jetstream: client,
      onProgress: (p) => progress.push(p.sequence),
    });
    // THEN every event is a duplicate, the two non-CloudEvents are refused again, and the stream is unchanged
    assert.deepEqual([summary.read, summary.copied, summary.skipped, summary.refused, summary.failed, summary.complete], [EVENTS + 2, 0, EVENTS, 2, 0, true]);
    assert.equal((await (await jetstreamManager(jsNc)).streams.info("default")).state.messages, EVENTS);
    assert.ok(progress.length >= 10, `progress every 1,000 messages: ${progress.join(",")}`);
    assert.equal(progress.at(-1), EVENTS + 2);
    // AND the channel has no subscription left: no durable, nothing for the server to keep
    const creds = await busCredentials(stanBus.name, { home: stanBus.home });
    const views = await Promise.all(
      creds.monitors.map((url) => getJson<{ msgs?: number; subscriptions?: unknown[] }>(`${url}/streaming/channelsz?channel=${CHANNEL}&subs=1`)),
    );
    const leaderView = views.find((v) => v?.msgs === EVENTS + 2);
    assert.ok(leaderView, `a server reports the channel: ${JSON.stringify(views)}`);
    assert.deepEqual(leaderView.subscriptions ?? [], []);
  });

  test("--from-seq copies only the tail: the events published after the first run", async () => {
    // GIVEN five more events in the channel, at sequences 10003..10007
    const tail = Array.from({ length: 5 }, (_, i) => encodeEvent({ source: "late", subject: "arrival", type: "webhook", data: { i } }));
    await publishAll(
      publisher,
      tail.map((e) => e.body),
    );
    // WHEN the migration starts at the first of them
    const run = await runCliProcess(["migrate", "--from", stanBus.name, ...(await toFlags(jsBus)), "--from-seq", "10003"], undefined, {
      env: { EVENTBUS_HOME: stanBus.home },
      timeoutMillis: 60_000,
    });
    // THEN exactly those are copied, and it exits 0
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /read 5 \(sequences 10003\.\.10007\)/);
    assert.match(run.stdout, /copied: {2}5\n/);
    assert.match(run.stdout, /refused: 0\n/);
    assert.match(run.stdout, /within the stream's duplicates window \(\d+[a-z]+\) stores nothing twice; after it, go on with --from-seq 10008\n$/);
    const stored = await readStream(jsNc);
    assert.equal(stored.length, EVENTS + 5);
    assert.deepEqual(
      stored.slice(EVENTS).map((m) => [m.subject, m.msgId]),
      tail.map((e) => ["default.late.arrival", e.id]),
    );
  });

  test("--since with the STAN bus by URL and the JetStream bus by name: only messages received since are read", async () => {
    // GIVEN two more events published after a moment T
    const since = new Date();
    const late = Array.from({ length: 2 }, (_, i) => encodeEvent({ source: "later", subject: "arrival", type: "webhook", data: { i } }));
    await publishAll(
      publisher,
      late.map((e) => e.body),
    );
    // WHEN the migration reads since T, the STAN bus given by its URLs, cluster ID and Argo auth file
    const source = await busCredentials(stanBus.name, { home: stanBus.home });
    const run = await runCliProcess(
      [
        "migrate",
        "--from-server",
        source.urls.join(","),
        "--from-cluster-id",
        clusterId,
        "--from-creds",
        source.authFile!,
        "--to",
        jsBus.name,
        "--since",
        since.toISOString(),
        "-o",
        "json",
      ],
      undefined,
      { env: { EVENTBUS_HOME: jsBus.home }, timeoutMillis: 60_000 },
    );
    // THEN only those two are read and copied
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as MigrateSummary;
    assert.deepEqual([summary.firstSequence, summary.lastRead, summary.read, summary.copied, summary.skipped], [10_008, 10_009, 2, 2, 0]);
    const stored = await readStream(jsNc);
    assert.deepEqual(
      stored.slice(EVENTS + 5).map((m) => m.msgId),
      late.map((e) => e.id),
    );
  });

  test("bad flags are refused with exit 2, naming the flag, and nothing is copied", async () => {
    const cases: [string[], RegExp][] = [
      [["--from", stanBus.name, "--to", "target", "--from-seq", "3", "--since", "1h"], /--from-seq and --since: give one of them/],
      [["--from", stanBus.name, "--to", "target", "--from-seq", "zero"], /--from-seq: must be a whole number >= 1/],
      [["--to", "target"], /--from: name the NATS Streaming bus/],
      [["--from", stanBus.name, "--to", "target", "--channel", "bad channel"], /--channel: not a NATS Streaming channel name/],
      [["--from", stanBus.name, "--to-server", "nats://127.0.0.1:1", "--since", "yesterday"], /--since: must be an RFC 3339 time/],
      [["--from-server", "nats://127.0.0.1:1", "--to", "target"], /--from-cluster-id: needed with --from-server/],
      [["--from", stanBus.name, "--to", stanBus.name], /--to: the local bus legacy is a NATS Streaming bus, not JetStream/],
      [["--from", stanBus.name, "--to", "target", "--to-ca", "/tmp/ca.pem"], /--to-ca: a local bus \(target\) is reached with its own credentials/],
    ];
    for (const [args, message] of cases) {
      const run = await runCliHere(["migrate", ...args], { home: stanBus.home });
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    assert.equal((await (await jetstreamManager(jsNc)).streams.info("default")).state.messages, EVENTS + 7);
  });

  test("an empty channel, or a start past the channel's end, copies nothing and is complete", async () => {
    const empty = await migrateStanToJetStream({ stan: { nc: stanNc, clusterId, channel: "eventbus-empty" }, jetstream: client, endProbeMillis: 500 });
    assert.deepEqual([empty.read, empty.copied, empty.lastSequence, empty.complete, empty.firstSequence], [0, 0, 0, true, undefined]);
    const past = await migrateStanToJetStream({ stan: { nc: stanNc, clusterId, channel: CHANNEL }, jetstream: client, from: { sequence: 20_000 } });
    assert.deepEqual([past.read, past.copied, past.lastSequence, past.complete], [0, 0, EVENTS + 9, true]);
    await assert.rejects(
      migrateStanToJetStream({ stan: { nc: stanNc, clusterId, channel: CHANNEL }, jetstream: client, from: { sequence: 0 } }),
      /from\.sequence: must be a whole number >= 1, got 0/,
    );
  });

  test("SIGINT stops the copy where it is: exit 130, the summary says where, and no subscription is left", async () => {
    // GIVEN a slow run (one publish at a time) over the whole channel
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "migrate", "--from", stanBus.name, ...(await toFlags(jsBus)), "--window", "1", "-o", "json"],
      {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        env: { ...process.env, EVENTBUS_HOME: stanBus.home },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => void (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      // WHEN it is interrupted after its first progress line
      await new Promise<void>((resolve, reject) => {
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
          if (/migrate: sequence \d+/.test(stderr)) resolve();
        });
        child.once("exit", () => reject(new Error(`exited before any progress: ${stderr}`)));
      });
      child.kill("SIGINT");
      const code = await exited;
      // THEN it exits 130 with the summary of what it did, incomplete
      assert.equal(code, 130, stderr);
      const summary = JSON.parse(stdout) as MigrateSummary;
      assert.equal(summary.complete, false);
      assert.match(summary.stoppedEarly ?? "", /^interrupted after sequence \d+$/);
      assert.ok(summary.read > 0 && summary.read < EVENTS, `read ${summary.read}`);
      assert.equal(summary.copied, 0, "every event was already there");
      assert.equal(summary.skipped + summary.refused, summary.read);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    }
    // AND the STAN server keeps no subscription of it
    const creds = await busCredentials(stanBus.name, { home: stanBus.home });
    const views = await Promise.all(
      creds.monitors.map((url) => getJson<{ msgs?: number; subscriptions?: unknown[] }>(`${url}/streaming/channelsz?channel=${CHANNEL}&subs=1`)),
    );
    assert.ok(views.some((v) => v?.msgs !== undefined));
    for (const v of views) assert.deepEqual(v?.subscriptions ?? [], []);
  });

  test("a target without the stream default is refused before the channel is read", async () => {
    // WHEN the target is a bus without JetStream (the STAN bus's own NATS servers)
    const stanCreds = await busCredentials(stanBus.name, { home: stanBus.home });
    const run = await runCliHere(["migrate", "--from", stanBus.name, "--to-server", stanCreds.urls.join(","), "--to-creds", stanCreds.authFile!], {
      home: stanBus.home,
    });
    // THEN it fails naming the missing stream, and prints no summary
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /has no stream default to copy into/);
    assert.equal(run.stdout, "");
  });
});
