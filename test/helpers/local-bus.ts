/**
 * Test helpers for the local platform: a bus in its own temp EVENTBUS_HOME that is always taken
 * down (and its processes killed) when the test ends, and a publisher that counts acked events.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { BusStatus } from "../../src/api/index.js";
import { busCredentials, busPaths, busStatus, downBus, localBusStatus, upBus, type BusReport, type UpResult } from "../../src/platforms/local/index.js";

/** A local bus owned by a test. */
export interface TestBus extends AsyncDisposable {
  readonly home: string;
  readonly name: string;
  readonly up: UpResult;
  /** Applies another manifest to the same home. */
  apply(manifest: string): Promise<UpResult>;
  /** Connects as a client of the bus, with its credentials and CA. */
  connect(): Promise<NatsConnection>;
  /** The bus's status (the one contract of the platforms): what eventbus's client connects from. */
  status(): Promise<BusStatus>;
}

/** A JetStream EventBus manifest named `name` with the given `spec.jetstream` lines. */
export function jetstreamManifest(name: string, jetstreamYaml: string): string {
  const body = jetstreamYaml
    .trim()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
  return `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata:\n  name: ${name}\nspec:\n  jetstream:\n${body}\n`;
}

/** Starts a bus in a fresh temp home; disposing stops it, kills leftovers and removes the home. */
export async function startTestBus(manifest: string, options: { home?: string; onProgress?: (line: string) => void } = {}): Promise<TestBus> {
  const home = options.home ?? (await mkdtemp(join(tmpdir(), "eventbus-local-")));
  const name = /name: (\S+)/.exec(manifest)![1]!;
  const apply = (text: string) =>
    upBus({ home, manifest: { text, source: "test.yaml" }, timeoutMillis: 60_000, ...(options.onProgress && { onProgress: options.onProgress }) });
  let up: UpResult;
  try {
    up = await apply(manifest);
  } catch (error) {
    // The servers' log tails say why a bus did not start; keep them in the test's failure.
    const detail = (error as { detail?: string }).detail;
    if (detail && error instanceof Error) error.message += `\n${detail}`;
    await teardown(home, name);
    throw error;
  }
  // Connections made through the bus are closed on dispose, also when a test fails midway.
  const connections: NatsConnection[] = [];
  return {
    home,
    name,
    up,
    apply,
    connect: async () => {
      const nc = await connectAs(home, name);
      connections.push(nc);
      return nc;
    },
    status: () => localBusStatus(name, { home }),
    [Symbol.asyncDispose]: async () => {
      await Promise.all(connections.map((nc) => (nc.isClosed() ? undefined : nc.close().catch(() => undefined))));
      await teardown(home, name);
    },
  };
}

/** Connects to a local bus with its own credentials. */
export async function connectAs(
  home: string,
  name: string,
  override: { user?: string; pass?: string; token?: string; caFile?: string | null } = {},
): Promise<NatsConnection> {
  const creds = await busCredentials(name, { home, showSecrets: true });
  const caFile = override.caFile === null ? undefined : (override.caFile ?? creds.caFile);
  return connect({
    servers: [...creds.urls],
    timeout: 5000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    ...(creds.auth === "basic" && { user: override.user ?? creds.user!, pass: override.pass ?? creds.password! }),
    ...(creds.auth === "token" && { token: override.token ?? creds.token! }),
    ...(caFile !== undefined && { tls: { caFile } }),
  });
}

async function teardown(home: string, name: string): Promise<void> {
  await downBus(name, { home }).catch(() => undefined);
  // Whatever survived (a test that killed the supervisor): kill by pid, never leave a server behind.
  const paths = busPaths(home, name);
  const pids: number[] = [];
  const control = await readFile(paths.control, "utf8").catch(() => undefined);
  if (control) pids.push((JSON.parse(control) as { pid: number }).pid);
  for (let i = 0; i < 8; i++) {
    const pid = Number((await readFile(paths.serverPid(i), "utf8").catch(() => "")).trim());
    if (pid > 0) pids.push(pid);
  }
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(home)) process.kill(pid, "SIGKILL");
  }
  await rm(home, { recursive: true, force: true });
}

/** A publisher that keeps publishing numbered events and retries each until it is acked. */
export interface Publisher {
  /** Ids of the events the bus acked. */
  readonly acked: Set<string>;
  /** Publish attempts that failed (and were retried). */
  readonly failures: () => number;
  stop(): Promise<void>;
}

/** Publishes `default.<source>.<event>` with `Nats-Msg-Id` ids until stopped. */
export function startPublisher(nc: NatsConnection, options: { subject?: string; payloadBytes?: number } = {}): Publisher {
  const js = jetstream(nc, { timeout: 2000 });
  const acked = new Set<string>();
  const subject = options.subject ?? "default.test-source.test-event";
  const payload = new Uint8Array(options.payloadBytes ?? 64);
  let failures = 0;
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped && !nc.isClosed(); i++) {
      const id = `event-${i}`;
      for (;;) {
        try {
          await js.publish(subject, payload, { msgID: id });
          acked.add(id);
          break;
        } catch {
          failures++;
          if (stopped || nc.isClosed()) return;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  })();
  return {
    acked,
    failures: () => failures,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/**
 * The `Nats-Msg-Id` of every event in the stream, read up to the stream's last sequence as it was
 * when the call began: an empty or failed batch (a consumer of a clustered stream being placed, or
 * its stream electing a leader after a server was killed) is asked for again, never taken for the end.
 * @param atLeastSeq - a sequence acked before the call: the read goes at least that far. A stream
 *   leader of nats-server 2.10 answers before it has applied its predecessor's last entries (it
 *   leads before they are applied: server/raft.go of 2.10.29 has no `leaderState` wait, 2.11's
 *   does), so its `last_seq` can be below an acked one for a moment; asked again for up to 30 s.
 */
export async function storedIds(nc: NatsConnection, stream = "default", atLeastSeq = 0): Promise<Set<string>> {
  const jsm = await jetstreamManager(nc);
  // Right after a server is killed a JetStream request can time out while the stream elects a leader: ask again.
  let info = await again(() => jsm.streams.info(stream));
  for (const deadline = Date.now() + 30_000; info.state.last_seq < atLeastSeq && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 250));
    info = await again(() => jsm.streams.info(stream));
  }
  const ids = new Set<string>();
  if (info.state.messages === 0) return ids;
  const last = info.state.last_seq;
  const js = jetstream(nc);
  // Headers only, in batches until the last message: a large stream takes longer than one fetch may wait.
  const consumer = await again(() => js.consumers.get(stream, { headers_only: true }));
  let failures = 0;
  let seen = 0;
  while (seen < last) {
    let read = 0;
    try {
      for await (const m of await consumer.fetch({ max_messages: 5000, expires: 10_000 })) {
        read++;
        seen = m.seq;
        const id = m.headers?.get("Nats-Msg-Id");
        if (id) ids.add(id);
        // The last message: stop here rather than wait out the fetch's expiry.
        if (seen >= last) break;
      }
    } catch (error) {
      if (++failures > 10) throw error;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (read === 0 && ++failures > 10) throw new Error(`stream ${stream}: no message after sequence ${seen} of ${last} in 10 fetches`);
  }
  return ids;
}

/** Runs a JetStream request up to 10 times, 500 ms apart, until it answers. */
export async function again<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= 10) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Publishes `count` events and waits for each ack; returns their ids. */
export async function publishAcked(nc: NatsConnection, count: number, prefix = "event"): Promise<string[]> {
  const js = jetstream(nc);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    await js.publish("default.test-source.test-event", new TextEncoder().encode(`{"n":${i}}`), { msgID: id });
    ids.push(id);
  }
  return ids;
}

/**
 * The bus's status once it is healthy, or the last one seen after `timeoutMillis`: the caller
 * asserts `healthy` and prints its problems. `up` returns once the stream has a leader and a quorum
 * of current replicas; a server still catching up its replica is healthy a little later.
 */
export async function healthyStatus(bus: TestBus, timeoutMillis: number): Promise<BusReport> {
  const deadline = Date.now() + timeoutMillis;
  let status = await busStatus(bus.name, { home: bus.home });
  while (!status.healthy && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    status = await busStatus(bus.name, { home: bus.home });
  }
  return status;
}
