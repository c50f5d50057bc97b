import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { parse as parseYaml } from "yaml";
import { runCli } from "../src/cli/program.js";
import { busCredentials, busPaths, type BusCredentials } from "../src/platforms/local/index.js";
import { loadBusSecrets } from "../src/secrets/index.js";
import { jetstreamManifest, startTestBus, type TestBus } from "./helpers/local-bus.js";
import { freePort } from "./helpers/ports.js";
import { waitFor } from "./helpers/process.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = join(root, "src/cli/main.ts");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process (as main.ts does, with captured output): most commands, quickly. */
async function run(args: string[], stdin = ""): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stdin: async () => stdin });
  return { code, stdout, stderr };
}

/** A CLI child process whose stdout is read line by line as it comes. */
interface CliChild {
  readonly lines: string[];
  stderr(): string;
  /** Resolves once `count` lines were printed; fails after `timeoutMillis`. */
  waitForLines(count: number, timeoutMillis?: number): Promise<void>;
  readonly exited: Promise<number | null>;
  readonly process: ChildProcessWithoutNullStreams;
}

const children = new Set<ChildProcessWithoutNullStreams>();

function spawnCli(args: string[], env: NodeJS.ProcessEnv): CliChild {
  const child = spawn(process.execPath, ["--import", "tsx", main, ...args], { cwd: root, env: { ...process.env, ...env } });
  children.add(child);
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return {
    lines,
    stderr: () => stderr,
    exited,
    process: child,
    waitForLines: async (count, timeoutMillis = 15_000) => {
      const deadline = Date.now() + timeoutMillis;
      while (lines.length < count) {
        if (Date.now() > deadline)
          throw new Error(`waited ${timeoutMillis} ms for ${count} line(s) of eventbus ${args.join(" ")}; got ${lines.length}; stderr: ${stderr}`);
        if (child.exitCode !== null) throw new Error(`eventbus ${args.join(" ")} exited ${child.exitCode} after ${lines.length} line(s); stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .trimEnd()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const ID = /^[0-9a-f]{32}$/;
const EVENT_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe("cli - publish, subscribe and stream on a local bus", { timeout: 120_000 }, () => {
  let bus: TestBus;
  let creds: BusCredentials;
  let nc: NatsConnection;
  const savedEnv = { home: process.env.EVENTBUS_HOME, config: process.env.EVENTBUS_CONFIG };
  /** The connection flags of the bus by URLs (no streamConfig), with its CA and the auth file given. */
  const byUrls = (authFile: string) => ["--server", creds.urls.join(","), "--ca", creds.caFile!, "--creds", authFile];

  before(async () => {
    // One server with user/password auth and TLS, as Argo Events runs a bus.
    bus = await startTestBus(jetstreamManifest("default", 'version: "2.10"\nreplicas: 1\nauth: basic'));
    creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
    nc = await bus.connect();
    // In-process runs read the home from the environment, as the CLI does.
    process.env.EVENTBUS_HOME = bus.home;
    delete process.env.EVENTBUS_CONFIG;
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    if (savedEnv.home === undefined) delete process.env.EVENTBUS_HOME;
    else process.env.EVENTBUS_HOME = savedEnv.home;
    if (savedEnv.config !== undefined) process.env.EVENTBUS_CONFIG = savedEnv.config;
    await bus?.[Symbol.asyncDispose]();
  });

  async function messagesOn(subject: string): Promise<number> {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info("default", { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  test("publish prints the stream's ack, and subscribe --from start prints the event with Argo's fields", async () => {
    const published = await run([
      "publish",
      "default",
      "--source",
      "orders",
      "--event",
      "created",
      "--type",
      "webhook",
      "--data",
      '{"n":1,"text":"hé"}',
      "-o",
      "json",
    ]);
    assert.equal(published.code, 0, published.stderr);
    const [ack] = jsonLines(published.stdout);
    assert.deepEqual(Object.keys(ack!), ["id", "subject", "fate", "stream", "seq", "duplicate", "attempts"]);
    assert.equal(ack!.fate, "stored");
    assert.match(ack!.id as string, ID);
    assert.deepEqual(
      { ...ack, id: "", seq: 0 },
      { id: "", subject: "default.orders.created", fate: "stored", stream: "default", seq: 0, duplicate: false, attempts: 1 },
    );

    const subscribed = await run(["subscribe", "default", "--source", "orders", "--event", "created", "--from", "start", "--count", "1", "-o", "json"]);
    assert.equal(subscribed.code, 0, subscribed.stderr);
    const events = jsonLines(subscribed.stdout);
    assert.equal(events.length, 1);
    const { time, ...event } = events[0]!;
    assert.match(time as string, EVENT_TIME);
    assert.deepEqual(event, {
      id: ack!.id,
      source: "orders",
      subject: "created",
      type: "webhook",
      datacontenttype: "application/json",
      data: { n: 1, text: "hé" },
      seq: ack!.seq,
      deliveryCount: 1,
      redelivered: false,
    });

    // The table line: stored time, source/event, id, the data as text
    const line = await run(["subscribe", "default", "--source", "orders", "--event", "created", "--from", String(ack!.seq), "--count", "1"]);
    assert.equal(line.code, 0, line.stderr);
    assert.match(line.stdout, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z orders/created ${ack!.id} \\{"n":1,"text":"hé"\\}\\n$`));

    const one = await run(["publish", "default", "--source", "orders", "--event", "created", "--data", "{}"]);
    assert.match(one.stdout, /^published [0-9a-f]{32} to default\.orders\.created \(stream default, seq \d+\)\n$/);
  });

  test("a subscriber process prints each event as one line as it comes, and exits 0 on SIGINT", async () => {
    const subscriber = spawnCli(["subscribe", "--source", "live", "--event", "tick", "-o", "json"], { EVENTBUS_HOME: bus.home, EVENTBUS_CONFIG: "" });
    // GIVEN a subscriber of new events: publish until its consumer exists and the first event shows
    const ids: string[] = [];
    for (let i = 0; i < 100 && subscriber.lines.length === 0; i++) {
      const published = await run(["publish", "--source", "live", "--event", "tick", "--data", `{"i":${i}}`, "-o", "json"]);
      assert.equal(published.code, 0, published.stderr);
      ids.push(jsonLines(published.stdout)[0]!.id as string);
      await new Promise((r) => setTimeout(r, 100));
    }
    await subscriber.waitForLines(1);
    const first = JSON.parse(subscriber.lines[0]!) as { id: string };
    assert.ok(ids.includes(first.id), "the subscriber printed an event that was published");

    // WHEN one more event is published, THEN its line follows at once (stdout is not held back)
    const next = jsonLines((await run(["publish", "--source", "live", "--event", "tick", "--data", '"last"', "-o", "json"])).stdout)[0]!;
    // Its line may already be there when publish returns: wait for that line, not for a count taken after.
    const printedIds = () => subscriber.lines.map((l) => (JSON.parse(l) as { id: string }).id);
    await waitFor("the last event's line", () => (printedIds().includes(next.id as string) ? true : undefined), { timeoutMs: 5_000 });
    const printed = subscriber.lines.map((l) => JSON.parse(l) as { id: string; data: unknown });
    assert.deepEqual(printed.at(-1)!.id, next.id);
    assert.equal(printed.at(-1)!.data, "last");

    subscriber.process.kill("SIGINT");
    assert.equal(await subscriber.exited, 0);
    assert.equal(subscriber.stderr(), "");
  });

  test("publish --count 5 sends 5 events with their own ids, and subscribe --from start --count 5 gets them in order", async () => {
    const published = await run([
      "publish",
      "default",
      "--source",
      "many",
      "--event",
      "tick",
      "--data",
      '{"k":"v"}',
      "--count",
      "5",
      "--window",
      "2",
      "-o",
      "json",
    ]);
    assert.equal(published.code, 0, published.stderr);
    const acks = jsonLines(published.stdout);
    assert.equal(acks.length, 5);
    assert.equal(new Set(acks.map((a) => a.id)).size, 5);
    assert.deepEqual(
      acks.map((a) => a.duplicate),
      [false, false, false, false, false],
    );

    const subscribed = await run(["subscribe", "default", "--source", "many", "--event", "tick", "--from", "start", "--count", "5", "-o", "json"]);
    assert.equal(subscribed.code, 0, subscribed.stderr);
    const events = jsonLines(subscribed.stdout);
    assert.deepEqual(
      events.map((e) => e.id),
      acks.map((a) => a.id),
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      acks.map((a) => a.seq),
    );
    assert.equal(await messagesOn("default.many.tick"), 5);

    // Table output of many events is one summary line; --rate paces them (4 events at 20/s take >= 150 ms)
    const started = Date.now();
    const paced = await run(["publish", "--source", "many", "--event", "paced", "--count", "4", "--rate", "20"]);
    assert.equal(paced.code, 0, paced.stderr);
    assert.ok(Date.now() - started >= 150, `4 events at 20/s took ${Date.now() - started} ms`);
    assert.match(paced.stdout, /^published 4 events \(4 stored, 0 duplicates of stored events, 0 not stored\) in \d+\.\d\d s, \d+ events\/s\n$/);
  });

  test("publish --id repeats one id: the stream stores the event once and says the rest are duplicates", async () => {
    const many = await run(["publish", "default", "--source", "dedup", "--event", "once", "--id", "order-42", "--count", "4", "--data", "{}"]);
    assert.equal(many.code, 0, many.stderr);
    assert.match(many.stdout, /^published 4 events \(1 stored, 3 duplicates of stored events, 0 not stored\) in /);
    const again = await run(["publish", "default", "--source", "dedup", "--event", "once", "--id", "order-42", "--data", "{}"]);
    assert.equal(again.code, 0, again.stderr);
    const stored = /^duplicate order-42 \(already stored at seq (\d+)\)\n$/.exec(again.stdout);
    assert.ok(stored, again.stdout);
    assert.equal(await messagesOn("default.dedup.once"), 1);
    const json = jsonLines((await run(["publish", "--source", "dedup", "--event", "once", "--id", "order-42", "-o", "json"])).stdout)[0]!;
    assert.equal(json.duplicate, true);
    assert.equal(json.seq, Number(stored[1]));
  });

  test("--sensor, --trigger and --dependency subscribe through Argo's durable consumer group-<fnv32a>, made as Argo's sensor makes it", async () => {
    await run(["publish", "--source", "sensors", "--event", "fired", "--data", '{"n":0}']);
    const flags = [
      "--source",
      "sensors",
      "--event",
      "fired",
      "--sensor",
      "orders-sensor",
      "--trigger",
      "notify",
      "--dependency",
      "order-created",
      "--count",
      "1",
      "-o",
      "json",
    ];
    // Argo's sensor binds its durable with DeliverNew (argoproj/argo-events pkg/eventbus/jetstream/sensor/trigger_conn.go),
    // and nats.go refuses one with another deliver policy (nats-io/nats.go js.go, checkConfig): no other start is made.
    const jsm = await jetstreamManager(nc);
    const refused = await run(["subscribe", "default", ...flags, "--from", "start"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /consumer group-3010683757 has an Argo Events sensor's durable name.*use another durable name/);
    await assert.rejects(jsm.consumers.info("default", "group-3010683757"), /consumer not found/);

    const firstRun = run(["subscribe", "default", ...flags]);
    for (let i = 0; i < 200 && !(await jsm.consumers.info("default", "group-3010683757").catch(() => undefined)); i++)
      await new Promise((r) => setTimeout(r, 25));
    await run(["publish", "--source", "sensors", "--event", "fired", "--data", '{"n":1}']);
    const first = await firstRun;
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(
      jsonLines(first.stdout).map((e) => e.data),
      [{ n: 1 }],
      "only new events",
    );

    // FNV-1a 32 of "orders-sensor-notify-order-created", as Go's hash/fnv computes it
    const consumer = await jsm.consumers.info("default", "group-3010683757");
    assert.equal(consumer.config.deliver_policy, "new");
    assert.equal(consumer.config.ack_policy, "explicit");
    assert.equal(consumer.config.durable_name, "group-3010683757");
    assert.equal(consumer.config.filter_subject, "default.sensors.fired");
    assert.equal(consumer.num_ack_pending, 0, "the event was acked");

    // The durable consumer continues where it was: the next run gets only the new event
    await run(["publish", "--source", "sensors", "--event", "fired", "--data", '{"n":2}']);
    const second = await run(["subscribe", "default", ...flags]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(
      jsonLines(second.stdout).map((e) => e.data),
      [{ n: 2 }],
    );
  });

  test("subscribe --no-ack never acks: the event comes again after --ack-wait", async () => {
    const published = jsonLines((await run(["publish", "--source", "noack", "--event", "once", "--data", '"again"', "-o", "json"])).stdout)[0]!;
    const started = Date.now();
    const subscribed = await run([
      "subscribe",
      "--source",
      "noack",
      "--event",
      "once",
      "--from",
      "start",
      "--no-ack",
      "--ack-wait",
      "1s",
      "--count",
      "2",
      "-o",
      "json",
    ]);
    assert.equal(subscribed.code, 0, subscribed.stderr);
    const events = jsonLines(subscribed.stdout);
    assert.deepEqual(
      events.map((e) => [e.id, e.deliveryCount, e.redelivered]),
      [
        [published.id, 1, false],
        [published.id, 2, true],
      ],
    );
    assert.ok(Date.now() - started >= 900, "the second delivery waited for the ack wait");
  });

  test("bad input exits 2 naming the flag, before anything is sent", async () => {
    const badAuth = join(bus.home, "no-password.yaml");
    await writeFile(badAuth, "username: eventbus\n");
    const cases: [string[], RegExp][] = [
      [["publish", "--source", "a.b", "--event", "e"], /^eventbus: --source: must be a single NATS subject token and must not contain "\." .*got "a\.b"/],
      [["publish", "--source", "s", "--event", "x y"], /^eventbus: --event: .*whitespace/],
      [
        ["publish", "--source", "s", "--event", "e", "--data", "not json"],
        /^eventbus: --data: is not JSON \(content type application\/json\); use --content-type for other data\n$/,
      ],
      [["publish", "--source", "s", "--event", "e", "--count", "0"], /^eventbus: --count: must be a whole number >= 1, got "0"/],
      [["publish", "--source", "s", "--event", "e", "--timeout", "soon"], /^eventbus: --timeout: must be a duration such as 72h/],
      [["publish", "--source", "s", "--event", "e", "--timeout", "0s"], /^eventbus: --timeout: must be longer than 0/],
      [
        ["publish", "default", "--server", "nats://127.0.0.1:4222", "--source", "s", "--event", "e"],
        /^eventbus: give only one of BUS \(a local bus name\), --server and --config; got BUS \(default\) and --server/,
      ],
      [["publish", "--server", "nats://127.0.0.1:4222", "--config", "{}", "--source", "s", "--event", "e"], /give only one of .*got --server and --config/],
      [["publish", "--server", "http://x", "--source", "s", "--event", "e"], /^eventbus: --server: must use the nats:\/\/ or tls:\/\/ scheme/],
      [
        ["publish", "--creds", badAuth, "--source", "s", "--event", "e"],
        /^eventbus: --creds: a local bus \(default\) is reached with its own credentials and CA/,
      ],
      [
        ["publish", "--server", creds.urls.join(","), "--creds", badAuth, "--source", "s", "--event", "e"],
        /^eventbus: --creds .*no-password\.yaml: password: missing\n$/,
      ],
      [["publish", "--config", "{nope", "--source", "s", "--event", "e"], /^eventbus: --config: is not valid JSON\n$/],
      [["publish", "--config", '{"jetstream":{}}', "--source", "s", "--event", "e"], /^eventbus: jetstream\.url: missing: one or more nats:\/\/ URLs/],
      [["subscribe", "--source", "s", "--event", "e", "--sensor", "x"], /^eventbus: --trigger, --dependency: --sensor, --trigger and --dependency go together/],
      [["subscribe", "--source", "s", "--event", "e", "--from", "yesterday"], /^eventbus: --from: must be new, start, a stream sequence/],
      [["subscribe", "--source", "s", "--event", "e", "--ack-wait", "-1s"], /^eventbus: --ack-wait: must not be negative/],
      [["subscribe", "--source", "s", "--event", "e", "--batch", "0"], /^eventbus: --batch: must be a whole number >= 1, got "0"\n$/],
      [["stream", "apply", "-f", join(bus.home, "missing.yaml")], /^eventbus: .*missing\.yaml: no such file/],
      // Checked before connecting: the unreachable server is never dialled
      [["stream", "apply", "--server", "nats://127.0.0.1:1", "-f", "-"], /^streamConfig\.maxAge: must be a duration .*\n1 issue\(s\); nothing was changed\n$/],
    ];
    for (const [args, stderr] of cases) {
      const result = await run(args, "maxAge: 3 days\n");
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, stderr, args.join(" "));
      assert.equal(result.stdout, "", args.join(" "));
    }
  });

  test("an event over the bus's max_payload exits 2 and nothing is stored", async () => {
    const big = join(bus.home, "big.bin");
    await writeFile(big, Buffer.alloc(1024 * 1024 + 1, 7));
    const result = await run(["publish", "--source", "big", "--event", "blob", "--content-type", "application/octet-stream", "--data", `@${big}`]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^eventbus: event: the message is \d+ bytes, over the bus's max_payload of 1048576 bytes/);
    assert.equal(await messagesOn("default.big.blob"), 0);

    // Non-JSON content types send the bytes as they are: subscribe shows text, or base64 when not UTF-8
    await writeFile(big, Buffer.from([0xff, 0x00, 0x41]));
    assert.equal((await run(["publish", "--source", "big", "--event", "blob", "--content-type", "application/octet-stream", "--data", `@${big}`])).code, 0);
    assert.equal((await run(["publish", "--source", "big", "--event", "blob", "--content-type", "text/plain", "--data", "-"], "line 1\nline 2")).code, 0);
    const events = jsonLines((await run(["subscribe", "--source", "big", "--event", "blob", "--from", "start", "--count", "2", "-o", "json"])).stdout);
    assert.deepEqual(
      events.map((e) => [e.datacontenttype, e.data, e.dataEncoding]),
      [
        ["application/octet-stream", "/wBB", "base64"],
        ["text/plain", "line 1\nline 2", undefined],
      ],
    );
    const table = await run(["subscribe", "--source", "big", "--event", "blob", "--from", String(events[1]!.seq), "--count", "1"]);
    assert.match(table.stdout, / line 1\\nline 2\n$/, "a table line stays one line");
  });

  test("an unreachable server: progress lines on stderr while retrying, then exit 1 after --timeout", async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await run(["publish", "--server", `nats://127.0.0.1:${port}`, "--timeout", "1s", "--source", "s", "--event", "e"]);
    const took = Date.now() - started;
    assert.equal(result.code, 1);
    const lines = result.stderr.trimEnd().split("\n");
    assert.ok(lines.length >= 2, result.stderr);
    for (const [i, line] of lines.slice(0, -1).entries()) {
      assert.match(line, new RegExp(`^waiting for nats://127\\.0\\.0\\.1:${port}: connection refused \\(attempt ${i + 1}, retrying in \\d+ms\\)$`));
    }
    assert.match(lines.at(-1)!, new RegExp(`^eventbus: no server of nats://127\\.0\\.0\\.1:${port} answered within 1s \\(\\d+ attempts\\)`));
    assert.ok(took >= 400 && took < 5_000, `gave up after ${took} ms`);
  });

  test("a TLS file that cannot be read exits 2 at once, naming the file", async () => {
    const started = Date.now();
    const result = await run(["publish", "--server", creds.urls.join(","), "--ca", "/nonexistent/ca.pem", "--source", "s", "--event", "e"]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr, "eventbus: TLS CA file /nonexistent/ca.pem does not exist\n");
    // At once: no connection attempt was retried (the connect --timeout is 30 s).
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  });

  test("a user whose account has no JetStream is told so at once, not after the retry window", async () => {
    // The bus's system user is in the system account, which has no JetStream.
    const secrets = await loadBusSecrets(busPaths(bus.home, bus.name).secrets);
    const sysAuth = join(bus.home, "sys-auth.yaml");
    await writeFile(sysAuth, `username: ${secrets.credentials.systemUser}\npassword: ${secrets.credentials.systemPassword}\n`, { mode: 0o600 });
    const started = Date.now();
    const result = await run(["publish", ...byUrls(sysAuth), "--source", "s", "--event", "e", "-o", "json"]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /not stored: JetStream not enabled for account: this user's account has no JetStream/);
    assert.equal(jsonLines(result.stdout)[0]!.reason, "no-jetstream");
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    assert.ok(!result.stderr.includes(secrets.credentials.systemPassword));
  });

  test("a publish by the bus's name while it has no stream creates the stream from the bus's streamConfig, as Argo's event sources do, and stores the event", async () => {
    // GIVEN the bus's stream is gone (the status names its streamConfig, as an Argo status.config does)
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info("default")).config;
    await jsm.streams.delete("default");
    try {
      // WHEN an event is published by the bus's name
      const result = await run(["publish", "default", "--source", "creates", "--event", "nostream", "-o", "json"]);
      // THEN the stream is made again from the streamConfig, and the event stored in it
      assert.equal(result.code, 0, result.stderr);
      assert.equal(jsonLines(result.stdout)[0]!.fate, "stored");
      const after = (await jsm.streams.info("default")).config;
      assert.deepEqual(
        [after.subjects, after.max_age, after.max_msgs, after.max_bytes, after.num_replicas, after.retention],
        [before.subjects, before.max_age, before.max_msgs, before.max_bytes, before.num_replicas, before.retention],
      );
      assert.equal(await messagesOn("default.creates.nostream"), 1);
    } finally {
      await bus.apply(jetstreamManifest("default", 'version: "2.10"\nreplicas: 1\nauth: basic'));
    }
  });

  test("a publish by URLs (no streamConfig) while the bus has no stream says at once what it waits for, then stores the event once the stream is back", async () => {
    // GIVEN the bus's stream is gone
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete("default");
    try {
      // WHEN an event is published through URLs, which name no streamConfig to make a stream from
      const child = spawnCli(["publish", ...byUrls(creds.authFile!), "--source", "waits", "--event", "nostream", "-o", "json"], { EVENTBUS_HOME: bus.home });
      // THEN stderr says what is waited for, before anything else happens
      const deadline = Date.now() + 30_000;
      while (!/waiting to store events on default\.waits\.nostream: no stream takes subject default\.waits\.nostream/.test(child.stderr())) {
        assert.ok(Date.now() < deadline && child.process.exitCode === null, `no wait line; stderr: ${child.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(child.stderr(), /\(retrying for up to (\d+m)?(\d+s)?\)\n/);
      // AND once `up` puts the stream back, the same event is stored and the publish exits 0
      await bus.apply(jetstreamManifest("default", 'version: "2.10"\nreplicas: 1\nauth: basic'));
      assert.equal(await child.exited, 0, child.stderr());
      await child.waitForLines(1);
      const line = JSON.parse(child.lines[0]!) as { fate: string; seq: number };
      assert.equal(line.fate, "stored");
      assert.equal(await messagesOn("default.waits.nostream"), 1);
    } finally {
      await bus.apply(jetstreamManifest("default", 'version: "2.10"\nreplicas: 1\nauth: basic'));
    }
  });

  test("refused credentials exit 1 at once with one error that holds no secret", async () => {
    const wrong = join(bus.home, "wrong-auth.yaml");
    await writeFile(wrong, `username: ${creds.user}\npassword: not-the-password-91823\n`);
    const result = await run(["publish", ...byUrls(wrong), "--source", "s", "--event", "e"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^eventbus: nats:\/\/127\.0\.0\.1:\d+ refused the credentials \(user "eventbus"\): authorization violation\n$/);
    assert.doesNotMatch(result.stderr, /not-the-password-91823/);
    assert.ok(!result.stderr.includes(creds.password!));

    // The right auth file with the CA works
    const ok = await run(["publish", ...byUrls(creds.authFile!), "--source", "s", "--event", "e"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!(ok.stdout + ok.stderr).includes(creds.password!));
  });

  test("--config takes Argo's status.config (JSON, base64, @FILE or $EVENTBUS_CONFIG) with --creds", async () => {
    const json = JSON.stringify(creds.statusConfig);
    const inline = await run([
      "publish",
      "--config",
      json,
      "--creds",
      creds.authFile!,
      "--ca",
      creds.caFile!,
      "--source",
      "config",
      "--event",
      "json",
      "-o",
      "json",
    ]);
    assert.equal(inline.code, 0, inline.stderr);
    assert.equal(jsonLines(inline.stdout)[0]!.subject, "default.config.json");

    const file = join(bus.home, "status-config.b64");
    await writeFile(file, Buffer.from(json).toString("base64"));
    const fromFile = await run(["stream", "info", "--config", `@${file}`, "--creds", creds.authFile!, "--ca", creds.caFile!, "-o", "json"]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal((JSON.parse(fromFile.stdout) as { name: string }).name, "default");

    // Without the auth file the bus's config names a Secret that this machine does not mount
    const missing = await run(["stream", "info", "--config", json, "--ca", creds.caFile!]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /jetstream\.accessSecret: the bus needs credentials \(Secret eventbus-default-js-client-auth, key client-auth\)/);

    // As in an Argo Events pod: no BUS, no --server, no --config, only the environment
    const pod = spawnCli(
      [
        "subscribe",
        "--source",
        "config",
        "--event",
        "json",
        "--from",
        "start",
        "--count",
        "1",
        "--creds",
        creds.authFile!,
        "--ca",
        creds.caFile!,
        "-o",
        "json",
      ],
      {
        EVENTBUS_CONFIG: Buffer.from(json).toString("base64"),
        EVENTBUS_HOME: join(bus.home, "no-buses-here"),
      },
    );
    assert.equal(await pod.exited, 0, pod.stderr());
    assert.equal((JSON.parse(pod.lines[0]!) as { id: unknown }).id, jsonLines(inline.stdout)[0]!.id);
  });

  test("stream info shows what was published: messages, sequences, consumers and the leader", async () => {
    const before = JSON.parse((await run(["stream", "info", "default", "-o", "json"])).stdout) as { state: { messages: number; lastSeq: number } };
    const acks = jsonLines((await run(["publish", "--source", "info", "--event", "count", "--count", "3", "-o", "json"])).stdout);
    const info = await run(["stream", "info", "default", "-o", "json"]);
    assert.equal(info.code, 0, info.stderr);
    const summary = JSON.parse(info.stdout) as {
      name: string;
      subjects: string[];
      config: { maxAge: string; replicas: number };
      state: { messages: number; lastSeq: number; lastTime: string };
    };
    assert.equal(summary.name, "default");
    assert.deepEqual(summary.subjects, ["default.*.*"]);
    assert.deepEqual([summary.config.maxAge, summary.config.replicas], ["168h", 1]);
    assert.equal(summary.state.messages, before.state.messages + 3);
    assert.equal(summary.state.lastSeq, acks.at(-1)!.seq);
    const jsm = await jetstreamManager(nc);
    assert.equal(summary.state.messages, (await jsm.streams.info("default")).state.messages);

    const yaml = parseYaml((await run(["stream", "info", "-o", "yaml"])).stdout) as { state: { messages: number } };
    assert.equal(yaml.state.messages, summary.state.messages);
    const table = await run(["stream", "info"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^stream default: subjects default\.\*\.\*, file storage\n/);
    assert.match(table.stdout, new RegExp(`\\n  messages: +${summary.state.messages}\\n`));
    assert.match(table.stdout, new RegExp(`\\n  last seq: +${summary.state.lastSeq} at \\d{4}-`));
    assert.match(table.stdout, /\n {2}consumers: +\d+\n/);
    assert.match(table.stdout, /\nleader: eventbus-default-js-0\n/);
  });

  test("stream apply updates the live stream, --dry-run changes nothing, and a bad config exits 2", async () => {
    const maxMsgs = async () => (await (await jetstreamManager(nc)).streams.info("default")).config.max_msgs;
    assert.equal(await maxMsgs(), 50_000);

    const dry = await run(["stream", "apply", "default", "-f", "-", "--dry-run"], "maxMsgs: 60000\n");
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, "stream default: updated (dry run: nothing was changed)\n  max_msgs: 50000 → 60000\n");
    assert.equal(dry.stderr, "");
    assert.equal(await maxMsgs(), 50_000);

    const applied = await run(["stream", "apply", "default", "-f", "-"], "maxMsgs: 60000\n");
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, "stream default: updated\n  max_msgs: 50000 → 60000\n");
    assert.match(applied.stderr, /^note: bus default runs from its manifest; eventbus up applies the manifest's streamConfig again/);
    assert.equal(await maxMsgs(), 60_000);
    assert.equal((await run(["stream", "apply", "default", "-f", "-"], "maxMsgs: 60000\n")).stdout, "stream default: unchanged\n");

    // An EventBus manifest: its spec.jetstream.streamConfig
    const manifest = join(bus.home, "bus.yaml");
    await writeFile(manifest, jetstreamManifest("default", 'version: "2.10"\nreplicas: 1\nstreamConfig: |\n  maxMsgs: 70000\n  maxAge: 24h'));
    const fromManifest = await run(["stream", "apply", "default", "-f", manifest, "-o", "json"]);
    assert.equal(fromManifest.code, 0, fromManifest.stderr);
    const outcome = JSON.parse(fromManifest.stdout) as { action: string; changes: string[]; config: { maxMsgs: number; maxAge: string } };
    assert.equal(outcome.action, "updated");
    assert.deepEqual([outcome.config.maxMsgs, outcome.config.maxAge], [70_000, "24h"]);
    assert.deepEqual(
      outcome.changes.map((c) => c.split(":")[0]),
      ["max_msgs", "max_age"],
    );
    assert.equal(await maxMsgs(), 70_000);

    const invalid = await run(["stream", "apply", "default", "-f", "-"], "maxAge: forever\nreplicas: 3\n");
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /^streamConfig\.maxAge: must be a duration such as 72h.*got "forever"\n/m);
    assert.match(invalid.stderr, /^streamConfig\.replicas: must be <= the bus's 1 server replicas, got 3\n/m);
    assert.equal(await maxMsgs(), 70_000);

    const refused = await run(["stream", "apply", "default", "-f", "-"], "retention: interest\n");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^eventbus: stream default: JetStream cannot change retention: "limits" → "interest" on a live stream; apply with --recreate/);
  });
  test("status of any bus: --server with --monitor shows its servers, stream and consumers; without --monitor it says what is missing; --watch redraws", async () => {
    const monitors = ((await bus.status()).access?.monitors ?? []).map((m) => m.url).join(",");
    const connection = byUrls(creds.authFile!);
    const json = await run(["status", ...connection, "--monitor", monitors, "-o", "json"]);
    assert.equal(json.code, 0, json.stderr);
    const snapshot = JSON.parse(json.stdout) as {
      servers: { reachable: boolean; healthy: boolean; version: string }[];
      stream: { name: string; state: { messages: number; lastSeq: number } };
      problems: string[];
    };
    assert.deepEqual(
      snapshot.servers.map((s) => [s.reachable, s.healthy, s.version]),
      [[true, true, "2.10.29"]],
    );
    assert.deepEqual(snapshot.problems, []);
    const info = await (await jetstreamManager(nc)).streams.info("default");
    assert.deepEqual(
      [snapshot.stream.name, snapshot.stream.state.messages, snapshot.stream.state.lastSeq],
      ["default", info.state.messages, info.state.last_seq],
    );
    assert.ok(!(json.stdout + json.stderr).includes(creds.password!), "no secret in the output");

    // Without monitoring endpoints, the servers' part says how to get it instead of failing
    const text = await run(["status", ...connection]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^bus nats:\/\/127\.0\.0\.1:\d+: healthy\n/);
    assert.match(text.stdout, /\nservers: not shown: give the servers' monitoring endpoints with --monitor, or a system account user with --system-creds\n/);
    assert.match(text.stdout, /\nSTREAM\s+MESSAGES\s+BYTES/);

    // Through the system account, the servers come from $SYS requests; a client user cannot make them
    const stored = JSON.parse(await readFile(join(bus.home, "buses", bus.name, "secrets", "credentials.json"), "utf8")) as {
      systemUser: string;
      systemPassword: string;
    };
    const systemAuth = join(bus.home, "system-auth.yaml");
    await writeFile(systemAuth, `username: ${stored.systemUser}\npassword: ${stored.systemPassword}\n`, { mode: 0o600 });
    const viaSystem = await run(["status", ...connection, "--system-creds", systemAuth, "-o", "json"]);
    assert.equal(viaSystem.code, 0, viaSystem.stderr);
    const seen = JSON.parse(viaSystem.stdout) as typeof snapshot & { jetstream: { peers: unknown[] }; serversNote?: string };
    assert.deepEqual(
      seen.servers.map((s) => [s.reachable, s.healthy, s.version]),
      [[true, true, "2.10.29"]],
    );
    assert.equal(seen.serversNote, undefined);
    assert.ok(!viaSystem.stdout.includes(stored.systemPassword), "no secret in the output");
    const notSystem = await run(["status", ...connection, "--system-creds", creds.authFile!]);
    assert.equal(notSystem.code, 0, notSystem.stderr);
    assert.match(notSystem.stdout, /\nservers: the connection is not in the bus's system account .*--system-creds/);

    const bad = await run(["status", ...connection, "--monitor", "ftp://x"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--monitor: ftp:\/\/x must be http:\/\/ or https:\/\/, got ftp:/);
    const local = await run(["status", "default", "--monitor", "http://127.0.0.1:1"]);
    assert.equal(local.code, 2);
    assert.match(local.stderr, /--monitor: a local bus's servers are known/);

    // --watch draws again every --interval, one JSON line per drawing, until interrupted
    const watcher = spawnCli(["status", "default", "--watch", "--interval", "200ms", "-o", "json"], { EVENTBUS_HOME: bus.home });
    await watcher.waitForLines(1);
    await run(["publish", "--source", "watch", "--event", "e"]);
    await watcher.waitForLines(3);
    watcher.process.kill("SIGINT");
    assert.equal(await watcher.exited, 0, watcher.stderr());
    const frames = watcher.lines.map((l) => JSON.parse(l) as { streams: { lastSeq: number }[]; snapshot: { takenAt: string } });
    assert.equal(new Set(frames.map((f) => f.snapshot.takenAt)).size, frames.length, "each drawing is a new snapshot");
    assert.ok(frames.at(-1)!.streams[0]!.lastSeq > frames[0]!.streams[0]!.lastSeq, "a later drawing shows the event published meanwhile");
  });
});
