/**
 * `eventbus publish` and `eventbus subscribe` on a NATS Streaming (STAN) bus, run as a user runs
 * them, against a real 3-server local STAN bus, with counterparts made the way Argo Events makes
 * them (argoproj/argo-events):
 *
 * - an event source publishes the CloudEvent JSON of each event as the body of a message to the
 *   channel `eventbus-<namespace>` (pkg/eventbus/stan/eventsource/source_conn.go `Publish`);
 * - a sensor's trigger subscribes to that channel with the durable queue group
 *   `client-<fnv32a("<sensor>-<trigger>-<expression>")>`, manual acks, new messages only and a 1 s
 *   ack wait, and acks and skips messages that are not CloudEvents or whose source and event name
 *   no dependency names (pkg/eventbus/stan/sensor/trigger_conn.go `Subscribe`,
 *   `processEventSourceMsg`).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/transport-node";

import { encodeEvent } from "../src/client/index.js";
import {
  argoSensorSubscribeOptions,
  argoStanSensorGroup,
  connectStan,
  type ArgoStanTrigger,
  type StanConnection,
  type StanMessage,
  type StanSubscription,
} from "../src/client/stan/index.js";
import { busCredentials } from "../src/platforms/local/index.js";
import { runCliProcess } from "./helpers/cli-process.js";
import { startTestBus, type TestBus } from "./helpers/local-bus.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const CHANNEL = "eventbus-default";
const CLUSTER_ID = "eventbus-stanbus";
const MANIFEST = `apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata:
  name: stanbus
spec:
  nats:
    native:
      replicas: 3
      auth: token
`;
const utf8 = new TextDecoder();

/** A CLI child process (a subscriber that runs until it has printed its events). */
interface CliChild {
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr holds `text`; fails when the process exits first or after `timeoutMillis`. */
  waitForStderr(text: string, timeoutMillis?: number): Promise<void>;
  /** Resolves once stdout holds `text`; fails when the process exits first or after `timeoutMillis`. */
  waitForStdout(text: string, timeoutMillis?: number): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<number | null>;
}

const children = new Set<ChildProcessWithoutNullStreams>();

function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): CliChild {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], { cwd: root, env: { ...process.env, ...env } });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const waitFor = async (read: () => string, text: string, timeoutMillis: number) => {
    const deadline = Date.now() + timeoutMillis;
    while (!read().includes(text)) {
      if (child.exitCode !== null) throw new Error(`eventbus ${args.join(" ")} exited ${child.exitCode}; stderr: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMillis} ms for ${JSON.stringify(text)} of eventbus ${args.join(" ")}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForStderr: (text, timeoutMillis = 30_000) => waitFor(() => stderr, text, timeoutMillis),
    waitForStdout: (text, timeoutMillis = 30_000) => waitFor(() => stdout, text, timeoutMillis),
    kill: (signal) => void child.kill(signal),
  };
}

/** The subscription's next message, or undefined when none comes within `timeoutMillis`. */
async function nextMessage(subscription: StanSubscription, timeoutMillis: number): Promise<StanMessage | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMillis)));
  try {
    const result = await Promise.race([subscription.next(), timeout]);
    return result === undefined || result.done ? undefined : result.value;
  } finally {
    clearTimeout(timer);
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .trimEnd()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("cli - publish and subscribe on a local NATS Streaming bus, in Argo Events' STAN wire format", { timeout: 300_000 }, () => {
  let bus: TestBus;
  let nc: NatsConnection;
  /** The project's STAN client, standing for Argo's event sources and sensors. */
  let argo: StanConnection;
  let env: NodeJS.ProcessEnv;
  let scratch: string;
  const cli = (args: readonly string[]) => runCliProcess(args, undefined, { env, timeoutMillis: 60_000 });

  /** Publishes as Argo's event source does: the CloudEvent JSON to the channel, counted once acked. */
  const publishAsEventSource = async (source: string, event: string, data: unknown): Promise<string> => {
    const encoded = encodeEvent({ source, subject: event, type: "webhook", data });
    await argo.publish(CHANNEL, encoded.body);
    return encoded.id;
  };

  before(async () => {
    bus = await startTestBus(MANIFEST);
    // EVENTBUS_CONFIG would take the place of the local bus named on the command line.
    env = { EVENTBUS_HOME: bus.home, EVENTBUS_CONFIG: "" };
    nc = await bus.connect();
    argo = await connectStan(nc, { clusterId: CLUSTER_ID, clientId: "argo-stand-in" });
    scratch = await mkdtemp(join(tmpdir(), "eventbus-cli-stan-"));
  });
  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await argo?.close().catch(() => undefined);
    await bus?.[Symbol.asyncDispose]();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test("publish sends the CloudEvent Argo's event source sends, to eventbus-default, and a subscription made as Argo's sensor makes it gets it", async () => {
    // GIVEN a trigger's subscription, as Argo's sensor makes it (new messages only)
    const trigger: ArgoStanTrigger = { sensor: "orders-sensor", trigger: "notify", dependencyExpression: "order-created" };
    await using sensor = await argo.subscribe(CHANNEL, argoSensorSubscribeOptions(trigger, 1));
    // WHEN a user publishes an event to the local STAN bus
    const run = await cli(["publish", "stanbus", "--source", "orders", "--event", "created", "--data", '{"n":1}']);
    assert.equal(run.code, 0, run.stderr);
    const printed = /^published ([0-9a-f]{32}) to channel eventbus-default \(NATS Streaming cluster eventbus-stanbus, guid \S+\)\n$/.exec(run.stdout);
    assert.ok(printed, run.stdout);
    // THEN the sensor gets the CloudEvent JSON as the message body, as Argo's event source writes it
    const message = await nextMessage(sensor, 10_000);
    assert.ok(message, "the sensor's subscription got the event");
    assert.equal(message.subject, CHANNEL);
    const body = JSON.parse(utf8.decode(message.data)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ["data_base64", "datacontenttype", "id", "source", "specversion", "subject", "time", "type"]);
    assert.equal(body.specversion, "1.0");
    assert.equal(body.id, printed[1]);
    assert.equal(body.source, "orders");
    assert.equal(body.subject, "created");
    assert.equal(body.type, "eventbus");
    assert.equal(body.datacontenttype, "application/json");
    assert.equal(Buffer.from(body.data_base64 as string, "base64").toString(), '{"n":1}');
    assert.match(body.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    message.ack();

    // --count 3 -o json: one line per event, each stored, and the sensor gets them in that order
    const many = await cli(["publish", "stanbus", "--source", "orders", "--event", "created", "--data", '{"n":2}', "--count", "3", "-o", "json"]);
    assert.equal(many.code, 0, many.stderr);
    const lines = jsonLines(many.stdout);
    assert.deepEqual(
      lines.map((l) => [l.fate, l.subject, l.clusterId]),
      [
        ["stored", CHANNEL, CLUSTER_ID],
        ["stored", CHANNEL, CLUSTER_ID],
        ["stored", CHANNEL, CLUSTER_ID],
      ],
    );
    assert.equal(new Set(lines.map((l) => l.id)).size, 3, "each event has its own id");
    const received: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await nextMessage(sensor, 10_000);
      assert.ok(m, `event ${i + 1} of 3 reached the sensor`);
      received.push((JSON.parse(utf8.decode(m.data)) as { id: string }).id);
      m.ack();
    }
    assert.deepEqual(
      received,
      lines.map((l) => l.id),
    );
  });

  test("subscribe --from start prints only the requested source and event, skipping other events and what is not a CloudEvent", async () => {
    // GIVEN the channel holds, among others, three events of webhook/push, published as Argo's event source does
    const first = await publishAsEventSource("webhook", "push", { n: 1 });
    await publishAsEventSource("webhook", "pull", { n: 0 });
    await argo.publish(CHANNEL, new TextEncoder().encode("not a cloud event"));
    await publishAsEventSource("github", "push", { n: 0 });
    const second = await publishAsEventSource("webhook", "push", { n: 2 });
    const third = await publishAsEventSource("webhook", "push", { n: 3 });

    // WHEN a user subscribes to webhook/push from the start of the channel
    const run = await cli(["subscribe", "stanbus", "--source", "webhook", "--event", "push", "--from", "start", "--count", "2", "-o", "json"]);
    // THEN the two first webhook/push events are printed, the others skipped
    assert.equal(run.code, 0, run.stderr);
    const events = jsonLines(run.stdout);
    assert.deepEqual(
      events.map((e) => [e.id, e.source, e.subject, e.type, e.datacontenttype, e.data, e.deliveryCount, e.redelivered]),
      [
        [first, "webhook", "push", "webhook", "application/json", { n: 1 }, 1, false],
        [second, "webhook", "push", "webhook", "application/json", { n: 2 }, 1, false],
      ],
    );
    assert.ok((events[1]!.seq as number) > (events[0]!.seq as number) + 3, "the channel sequences, with the skipped messages between");
    assert.match(run.stderr, /skipped message \d+ on eventbus-default: not an Argo Events CloudEvent \(body: is not a JSON document/);

    // --from a channel sequence, and the table line of the JetStream path
    const thirdSeq = (events[1]!.seq as number) + 1;
    const table = await cli(["subscribe", "stanbus", "--source", "webhook", "--event", "push", "--from", String(thirdSeq), "--count", "1"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z webhook/push ${third} \\{"n":3\\}\\n$`));
  });

  test("--durable keeps the subscription's place after exit: the next run continues after the acked events", async () => {
    const first = await publishAsEventSource("batch", "job", { n: 1 });
    const second = await publishAsEventSource("batch", "job", { n: 2 });
    const flags = ["subscribe", "stanbus", "--source", "batch", "--event", "job", "--durable", "jobs-reader", "--from", "start", "--count", "1", "-o", "json"];
    const run1 = await cli(flags);
    assert.equal(run1.code, 0, run1.stderr);
    assert.match(
      run1.stderr,
      /subscribed to channel eventbus-default of NATS Streaming cluster eventbus-stanbus as durable jobs-reader \(client ID eventbus-durable-jobs-reader\)\n/,
    );
    assert.deepEqual(
      jsonLines(run1.stdout).map((e) => e.id),
      [first],
    );
    const run2 = await cli(flags);
    assert.equal(run2.code, 0, run2.stderr);
    assert.deepEqual(
      jsonLines(run2.stdout).map((e) => e.id),
      [second],
      `the durable resumed after the acked event, not from the start: ${run2.stdout}`,
    );
  });

  test("--no-ack never acks: the event comes again after --ack-wait, marked redelivered", async () => {
    const id = await publishAsEventSource("retry", "once", "again");
    const started = Date.now();
    const run = await cli([
      "subscribe",
      "stanbus",
      "--source",
      "retry",
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
    assert.equal(run.code, 0, run.stderr);
    const events = jsonLines(run.stdout);
    assert.deepEqual(
      events.map((e) => [e.id, e.data, e.redelivered]),
      [
        [id, "again", false],
        [id, "again", true],
      ],
    );
    assert.equal(events[0]!.seq, events[1]!.seq);
    assert.ok(Date.now() - started >= 1000, "the second delivery waited for the 1 s ack wait");
  });

  test("--sensor, --trigger and --dependency subscribe with Argo's durable queue group; the events it skipped are acked", async () => {
    const trigger: ArgoStanTrigger = { sensor: "deploy-sensor", trigger: "rollout", dependencyExpression: "image-pushed" };
    const group = argoStanSensorGroup(trigger);
    // GIVEN a user's subscriber in the sensor's place
    const subscriber = spawnCli(
      [
        "subscribe",
        "stanbus",
        "--source",
        "registry",
        "--event",
        "pushed",
        "--sensor",
        "deploy-sensor",
        "--trigger",
        "rollout",
        "--dependency",
        "image-pushed",
        "--count",
        "1",
        "-o",
        "json",
      ],
      env,
    );
    await subscriber.waitForStderr(`durable queue group ${group}`);
    // WHEN an event of another source and then one of registry/pushed come
    await publishAsEventSource("registry", "deleted", { n: 0 });
    const wanted = await publishAsEventSource("registry", "pushed", { n: 1 });
    // THEN it prints the one it was asked for, and exits
    assert.equal(await subscriber.exited, 0, subscriber.stderr());
    assert.deepEqual(
      jsonLines(subscriber.stdout()).map((e) => [e.id, e.data]),
      [[wanted, { n: 1 }]],
    );

    // AND the durable queue group is Argo's: an event published while no member runs reaches the
    // sensor when it subscribes, with nothing before it (the skipped event and the printed one were acked)
    const later = await publishAsEventSource("registry", "pushed", { n: 2 });
    await using sensor = await argo.subscribe(CHANNEL, argoSensorSubscribeOptions(trigger, 1));
    const resumed = await nextMessage(sensor, 10_000);
    assert.ok(resumed, "the durable group resumed with the event published while away");
    assert.equal((JSON.parse(utf8.decode(resumed.data)) as { id: string }).id, later);
    assert.equal(resumed.redelivered, false);
    resumed.ack();
    // Nothing unacked comes again after the 1 s ack wait.
    assert.equal(await nextMessage(sensor, 2_500), undefined);
  });

  test("--server with --cluster-id and a token file: the right token publishes, a wrong token or cluster ID is refused clearly", async () => {
    const creds = await busCredentials(bus.name, { home: bus.home, showSecrets: true });
    const right = join(scratch, "token");
    const wrong = join(scratch, "wrong-token");
    await writeFile(right, creds.token!);
    await writeFile(wrong, "not-the-token");
    const flags = ["--server", creds.urls.join(","), "--channel", CHANNEL, "--source", "ops", "--event", "check", "--timeout", "5s"];

    const refused = await cli(["publish", ...flags, "--cluster-id", CLUSTER_ID, "--creds", wrong]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /^eventbus: nats:\/\/\S+ refused the credentials \(the token\): authorization violation\n$/);
    assert.doesNotMatch(refused.stderr, /not-the-token/);
    assert.equal(refused.stdout, "");

    const otherCluster = await cli(["publish", ...flags, "--cluster-id", "eventbus-elsewhere", "--creds", right]);
    assert.equal(otherCluster.code, 1);
    assert.match(otherCluster.stderr, /connect to NATS Streaming cluster "eventbus-elsewhere": .*check the cluster ID/);

    await using sensor = await argo.subscribe(CHANNEL, { startAt: "new-only" });
    const published = await cli(["publish", ...flags, "--cluster-id", CLUSTER_ID, "--creds", right]);
    assert.equal(published.code, 0, published.stderr);
    const id = /^published ([0-9a-f]{32}) to channel eventbus-default /.exec(published.stdout)?.[1];
    const message = await nextMessage(sensor, 10_000);
    assert.equal((JSON.parse(utf8.decode(message!.data)) as { id: string }).id, id);

    // Argo's status.config.nats (what EVENTBUS_CONFIG holds in its pods) names the servers and the cluster ID
    const config = JSON.stringify((await bus.status()).config);
    const fromConfig = await cli(["publish", "--config", config, "--creds", right, "--channel", CHANNEL, "--source", "ops", "--event", "check"]);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    const configId = /^published ([0-9a-f]{32}) to channel eventbus-default \(NATS Streaming cluster eventbus-stanbus, /.exec(fromConfig.stdout)?.[1];
    const viaConfig = await nextMessage(sensor, 10_000);
    assert.equal((JSON.parse(utf8.decode(viaConfig!.data)) as { id: string }).id, configId);

    // In an Argo pod: EVENTBUS_CONFIG (base64 of status.config) and EVENTBUS_SUBJECT (the channel), no flags
    const pod = await runCliProcess(["publish", "--creds", right, "--source", "ops", "--event", "check"], undefined, {
      env: { EVENTBUS_HOME: bus.home, EVENTBUS_CONFIG: Buffer.from(config).toString("base64"), EVENTBUS_SUBJECT: CHANNEL },
      timeoutMillis: 60_000,
    });
    assert.equal(pod.code, 0, pod.stderr);
    const podId = /^published ([0-9a-f]{32}) to channel eventbus-default /.exec(pod.stdout)?.[1];
    const viaPod = await nextMessage(sensor, 10_000);
    assert.equal((JSON.parse(utf8.decode(viaPod!.data)) as { id: string }).id, podId);
  });

  test("a subscriber of new events prints each as it comes, as a table line, and exits 0 on SIGINT", async () => {
    const subscriber = spawnCli(["subscribe", "stanbus", "--source", "live", "--event", "tick"], env);
    await subscriber.waitForStderr("subscribed to channel eventbus-default of NATS Streaming cluster eventbus-stanbus\n");
    const first = await publishAsEventSource("live", "tick", { n: 1 });
    await subscriber.waitForStdout(first);
    const second = await publishAsEventSource("live", "tick", "two");
    await subscriber.waitForStdout(second);
    subscriber.kill("SIGINT");
    assert.equal(await subscriber.exited, 0, subscriber.stderr());
    assert.deepEqual(
      subscriber
        .stdout()
        .trimEnd()
        .split("\n")
        .map((l) => l.split(" ").slice(1)),
      [
        ["live/tick", first, '{"n":1}'],
        ["live/tick", second, '"two"'],
      ],
    );
  });

  test("flags that do not fit a NATS Streaming bus are refused with exit code 2 before anything is sent", async () => {
    const event = ["--source", "s", "--event", "e"];
    const cases: [readonly string[], RegExp][] = [
      [
        ["subscribe", "stanbus", ...event, "--batch", "10"],
        /^eventbus: --batch: pulls from a JetStream consumer; a NATS Streaming subscription has no batches/,
      ],
      [["subscribe", "stanbus", ...event, "--ack-wait", "1500ms"], /^eventbus: --ack-wait: NATS Streaming takes whole seconds, got 1\.5s/],
      [
        ["subscribe", "stanbus", ...event, "--sensor", "a", "--trigger", "b", "--dependency", "c", "--from", "start"],
        /^eventbus: --from: an Argo Events sensor subscribes with new messages only/,
      ],
      [
        ["publish", "stanbus", ...event, "--cluster-id", "eventbus-other"],
        /^eventbus: --cluster-id: local bus stanbus is the NATS Streaming cluster "eventbus-stanbus", not "eventbus-other"/,
      ],
      [["publish", "stanbus", ...event, "--channel", "eventbus.*"], /^eventbus: --channel: "eventbus\.\*" is not a channel name/],
      [
        ["publish", "--server", "nats://127.0.0.1:4222", ...event, "--cluster-id", CLUSTER_ID],
        /^eventbus: --channel: name the NATS Streaming channel of nats:\/\/127\.0\.0\.1:4222/,
      ],
      [
        ["publish", "--server", "nats://127.0.0.1:4222", ...event, "--channel", CHANNEL],
        /^eventbus: --channel: names a NATS Streaming channel, and nats:\/\/127\.0\.0\.1:4222 is a JetStream bus/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args);
      assert.equal(run.code, 2, `eventbus ${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, "");
    }
  });
});
