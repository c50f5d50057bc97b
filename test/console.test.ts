/**
 * `eventbus console` over HTTP, against a real 3-server local bus: the state and its pushes (one
 * reading per interval whatever the number of viewers, counted by the servers themselves), the
 * event browser (no consumer created, nothing acked), read-only answers, the Host check, the
 * access token of a non-loopback --listen, and no secret in anything it serves.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

import { encodeEvent } from "../src/client/index.js";
import type { BrowsedEvents, ConsoleState } from "../src/console/index.js";
import { busCredentials, busPaths, busStatus, downBus, upBus } from "../src/platforms/local/index.js";
import { runCliProcess } from "./helpers/cli-process.js";
import { startTestConsole, type TestConsole } from "./helpers/console.js";
import { jetstreamManifest, startTestBus, type TestBus } from "./helpers/local-bus.js";
import { waitFor } from "./helpers/process.js";

/** The events of a Server-Sent Events response, until `count` are read or `millis` pass. */
async function sseEvents(url: string, count: number, millis: number, headers: Record<string, string> = {}): Promise<{ event: string; data: string }[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), millis);
  const events: { event: string; data: string }[] = [];
  try {
    const res = await fetch(url, { signal: controller.signal, headers });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const decoder = new TextDecoder();
    let buffer = "";
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buffer += decoder.decode(r.value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data });
        if (events.length >= count) return events;
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

/** A request with a Host header of the test's choosing (fetch sets its own). */
function rawGet(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

/** How many times each server's /varz was asked for, by the server's own count (nats-server `http_req_stats`, server/monitor.go Varz). */
async function varzRequests(monitorUrls: readonly string[]): Promise<number[]> {
  return Promise.all(
    monitorUrls.map(async (u) => {
      const varz = (await (await fetch(`${u}/varz`)).json()) as { http_req_stats?: Record<string, number> };
      // This request itself is counted before it is answered.
      return (varz.http_req_stats?.["/varz"] ?? 0) - 1;
    }),
  );
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe("eventbus console - HTTP", { timeout: 300_000 }, () => {
  let bus: TestBus;
  let nc: NatsConnection;
  let console_: TestConsole;
  let monitors: string[];

  before(async () => {
    bus = await startTestBus(jetstreamManifest("default", `version: "2.10"\nreplicas: 3`));
    nc = await bus.connect();
    console_ = await startTestConsole(bus.home, ["--interval", "1s"]);
    monitors = (await busStatus("default", { home: bus.home })).servers.map((s) => `http://127.0.0.1:${s.ports.monitor}`);
  });
  after(async () => {
    await console_?.[Symbol.asyncDispose]();
    await bus?.[Symbol.asyncDispose]();
  });

  test("the state: the local bus with its 3 servers, the meta group and the stream, in the words of eventbus status", async () => {
    assert.deepEqual(console_.buses, ["local.default"]);
    const res = await console_.fetch("/api/state");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const state = (await res.json()) as ConsoleState;
    const b = state.buses.find((x) => x.id === "local.default");
    assert.ok(b, JSON.stringify(state));
    assert.equal(b.kind, "local");
    assert.match(b.view.headline, /^bus default: healthy, 3 server\(s\), version 2\.10/);
    assert.deepEqual(
      b.view.servers.map((s) => [s.name, s.state]),
      [0, 1, 2].map((i) => [`eventbus-default-js-${i}`, "healthy"]),
    );
    // The monitoring endpoint's resources beside the supervisor's facts.
    assert.ok(b.view.servers.every((s) => typeof s.memoryBytes === "number" && s.memoryBytes > 0 && typeof s.cpu === "number" && s.pid !== undefined));
    assert.equal(b.view.jetstream?.peers.length, 3);
    assert.deepEqual(
      b.view.streams.map((s) => s.name),
      ["default"],
    );
    assert.equal(b.browsable, true);
    assert.match(b.retentionLine ?? "", /^retention: limits, discard old; .*maxAge|^retention: limits, discard old; /);
    assert.deepEqual(b.flagged, { servers: [], consumers: [] });
  });

  test("pushes: every viewer gets the state each interval, and ten viewers cost the servers no more readings than one", async () => {
    // GIVEN one viewer for 3 s, then ten at once for 3 s; the servers count each /varz they answer.
    const before1 = await varzRequests(monitors);
    const one = await sseEvents(new URL("/api/stream", console_.url).href, 100, 3000);
    const after1 = await varzRequests(monitors);
    const ten = await Promise.all(Array.from({ length: 10 }, () => sseEvents(new URL("/api/stream", console_.url).href, 100, 3000)));
    const after10 = await varzRequests(monitors);

    // THEN each viewer got the state at once and about once a second (interval 1s).
    for (const events of [one, ...ten]) {
      assert.ok(events.length >= 2, `a viewer got ${events.length} pushes in 3 s`);
      assert.ok(events.every((e) => e.event === "state"));
      assert.deepEqual(
        (JSON.parse(events[0]!.data) as ConsoleState).buses.map((b) => b.id),
        ["local.default"],
      );
    }
    // AND the readings of the 3 s with ten viewers are those of a 1 s interval, not ten times more.
    const readsOne = sum(after1) - sum(before1);
    const readsTen = sum(after10) - sum(after1);
    // (A reading asks each server's /varz for the snapshot and the supervisor's report; reading per viewer would be ten times as many.)
    assert.ok(readsOne >= 3 * 3, `${readsOne} /varz readings with one viewer`);
    assert.ok(readsTen <= readsOne * 1.5, `${readsTen} /varz readings in 3 s with ten viewers, ${readsOne} with one`);
  });

  test("the event browser: the newest events of a subject, newest first, decoded; no consumer is created and nothing is acked", async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    // GIVEN a sensor-like durable (explicit ack, Argo's filter) that has not read its events.
    await jsm.consumers.add("default", {
      durable_name: "sensor-a",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: "default.alpha.one",
    });
    const publish = async (source: string, name: string, data: unknown) => {
      const e = encodeEvent({ source, subject: name, type: "webhook", data });
      await js.publish(e.subject, e.body, { msgID: e.id });
      return e.id;
    };
    const rare = await publish("delta", "rare", { rare: true });
    const alpha: string[] = [];
    for (let i = 0; i < 12; i++) alpha.push(await publish("alpha", "one", { n: i, text: "héllo" }));
    for (let i = 0; i < 300; i++) await publish("gamma", "many", { n: i });
    await js.publish("default.alpha.raw", new TextEncoder().encode("not a cloud event"));
    const consumerBefore = await jsm.consumers.info("default", "sensor-a");
    const streamBefore = await jsm.streams.info("default");

    // Consumers created while the browser reads would be announced (nats-server server/consumer.go: JSAdvisoryConsumerCreatedPre).
    const advisories: string[] = [];
    const sub = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.CREATED.>", { callback: (_e, m) => void advisories.push(m.subject) });
    await nc.flush();

    const read = async (query: string) => {
      const res = await console_.fetch(`/api/buses/local.default/events?${query}`);
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as BrowsedEvents;
    };
    const a = await read(`subject=${encodeURIComponent("default.alpha.*")}&limit=5`);
    assert.equal(a.subject, "default.alpha.*");
    assert.equal(a.lastSeq, streamBefore.state.last_seq);
    // The raw message is the newest on default.alpha.*, then the last four of alpha.one.
    assert.deepEqual(
      a.events.map((e) => e.subject),
      ["default.alpha.raw", "default.alpha.one", "default.alpha.one", "default.alpha.one", "default.alpha.one"],
    );
    assert.ok(a.events.every((e, i) => i === 0 || e.seq < a.events[i - 1]!.seq));
    assert.equal(a.events[0]!.cloudEvent, undefined);
    assert.deepEqual(a.events[0]!.data, { kind: "text", value: "not a cloud event" });
    assert.match(a.events[0]!.notCloudEvent ?? "", /JSON/);
    const newest = a.events[1]!;
    assert.equal(newest.cloudEvent?.id, alpha[11]);
    assert.equal(newest.msgId, alpha[11]);
    assert.deepEqual([newest.cloudEvent?.source, newest.cloudEvent?.subject, newest.cloudEvent?.type], ["alpha", "one", "webhook"]);
    assert.deepEqual(newest.data, { kind: "json", value: { n: 11, text: "héllo" } });

    // One event 313 sequences back is found (the window grows until the stream's first sequence).
    const r = await read("subject=default.delta.rare&limit=5");
    assert.deepEqual(
      r.events.map((e) => e.cloudEvent?.id),
      [rare],
    );
    const all = await read(`subject=${encodeURIComponent("default.>")}&limit=200`);
    assert.equal(all.events.length, 200);
    assert.equal(all.events[0]!.seq, streamBefore.state.last_seq);
    assert.equal(all.events[199]!.seq, streamBefore.state.last_seq - 199);

    // THEN no consumer was created and the durable's state is as it was.
    await nc.flush();
    sub.unsubscribe();
    assert.deepEqual(advisories, []);
    const consumerAfter = await jsm.consumers.info("default", "sensor-a");
    assert.deepEqual(
      [consumerAfter.num_pending, consumerAfter.ack_floor, consumerAfter.delivered, consumerAfter.num_ack_pending],
      [consumerBefore.num_pending, consumerBefore.ack_floor, consumerBefore.delivered, 0],
    );
    assert.equal(consumerAfter.num_pending, 12);
    assert.equal((await jsm.streams.info("default")).state.consumer_count, 1);
  });

  test("the event browser refuses what it cannot read, with the field and what is allowed", async () => {
    const cases: [string, number, RegExp][] = [
      ["/api/buses/local.default/events?subject=default..x", 400, /^subject: "default\.\.x" is not a subject filter; give dot-separated tokens/],
      ["/api/buses/local.default/events?subject=default.%3E.x", 400, /is not a subject filter/],
      ["/api/buses/local.default/events?limit=0", 400, /^limit: must be an integer from 1 to 200, got 0$/],
      ["/api/buses/local.default/events?limit=ten", 400, /^limit: must be an integer from 1 to 200, got "ten"$/],
      ["/api/buses/local.nope/events", 404, /^no bus local\.nope in this console$/],
      ["/api/nothing", 404, /^no such page: \/api\/nothing$/],
    ];
    for (const [path, status, message] of cases) {
      const res = await console_.fetch(path);
      assert.equal(res.status, status, path);
      assert.match(((await res.json()) as { error: string }).error, message, path);
    }
  });

  test("read-only: every method but GET and HEAD is refused; a Host that is not the console's is refused", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await console_.fetch("/api/state", { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "GET, HEAD");
    }
    const port = new URL(console_.url).port;
    assert.equal(await rawGet(new URL("/api/state", console_.url).href, `evil.example:${port}`), 400);
    assert.equal(await rawGet(new URL("/api/state", console_.url).href, `localhost:${port}`), 200);
    // The page: its own scripts only.
    const page = await console_.fetch("/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'.*script-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="\/assets\/app\.js"><\/script>/);
    const app = await console_.fetch("/assets/app.js");
    assert.equal(app.status, 200);
    assert.equal(app.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal((await console_.fetch("/assets/..%2F..%2Fpackage.json")).status, 404);
  });

  test("nothing served reveals the bus's password or a private key", async () => {
    const creds = await busCredentials("default", { home: bus.home, showSecrets: true });
    const secrets = [creds.password, creds.token].filter((s): s is string => typeof s === "string" && s.length > 0);
    const dir = busPaths(bus.home, "default").secrets;
    for (const file of await readdir(dir)) {
      const text = await readFile(join(dir, file), "utf8").catch(() => "");
      if (!text.includes("PRIVATE KEY")) continue;
      // Each line of the key's base64 body.
      secrets.push(...text.split("\n").filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l)));
    }
    assert.ok(secrets.length >= 2, `found ${secrets.length} secrets to look for`);
    const bodies = await Promise.all(
      ["/", "/assets/style.css", "/assets/app.js", "/api/state", "/api/buses/local.default/events?limit=200"].map(async (p) =>
        (await console_.fetch(p)).text(),
      ),
    );
    bodies.push(...(await sseEvents(new URL("/api/stream", console_.url).href, 2, 5000)).map((e) => e.data));
    for (const secret of secrets) assert.ok(!bodies.some((b) => b.includes(secret)), "a secret of the bus is in what the console serves");
  });

  test("--listen on another address: an access token printed once; without it every request is refused, with it (query, cookie, bearer) served", async () => {
    await using open = await startTestConsole(bus.home, ["--listen", "0.0.0.0"]);
    assert.match(open.token ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.equal(open.process.output().split(open.token!).length - 1, 1, "the token is printed once");
    const state = new URL("/api/state", open.url).href;
    assert.equal((await fetch(state)).status, 401);
    assert.equal((await fetch(state, { headers: { authorization: "Bearer wrong" } })).status, 401);
    assert.equal((await fetch(state, { headers: { authorization: `Bearer ${open.token}` } })).status, 200);
    const login = await fetch(new URL(`/?token=${open.token}`, open.url), { redirect: "manual" });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get("location"), "/");
    const cookie = login.headers.get("set-cookie") ?? "";
    assert.match(cookie, /HttpOnly; SameSite=Strict/);
    assert.equal((await fetch(state, { headers: { cookie: cookie.split(";")[0]! } })).status, 200);
    assert.equal((await fetch(new URL("/?token=wrong", open.url), { redirect: "manual" })).status, 401);
    assert.equal((await sseEvents(new URL("/api/stream", open.url).href, 1, 5000, { authorization: `Bearer ${open.token}` })).length, 1);
  });

  test("bad flags exit 2 with the flag and what is allowed; a port in use exits 1", async () => {
    const cases: [string[], RegExp][] = [
      [["--port", "70000"], /--port: must be a port number from 0 to 65535, got "70000"/],
      [["--monitor", "http://127.0.0.1:8222"], /--monitor: goes with the bus given by --server or --config/],
      [["--namespace", "x"], /--namespace, --all-namespaces, --kubeconfig and --context go with --kube/],
      [["--interval", "0s"], /--interval/],
    ];
    for (const [args, message] of cases) {
      const run = await runCliProcess(["console", ...args], undefined, { env: { EVENTBUS_HOME: bus.home }, timeoutMillis: 30_000 });
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    // A local bus that does not exist: exit 1, naming where it looked.
    const missing = await runCliProcess(["console", "nope", "--port", "0"], undefined, { env: { EVENTBUS_HOME: bus.home }, timeoutMillis: 30_000 });
    assert.equal(missing.code, 1, missing.stderr);
    assert.equal(missing.stderr, `eventbus: no local bus named nope (looked in ${bus.home}/buses)\n`);
    // A port in use: exit 1, before any bus is read.
    const taken = new URL(console_.url).port;
    const run = await runCliProcess(["console", "--port", taken], undefined, { env: { EVENTBUS_HOME: bus.home }, timeoutMillis: 30_000 });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr, `eventbus: console: 127.0.0.1:${taken} is in use; give another --port (0 picks a free one)\n`);
  });

  test("a bus started after the console appears in it", async (t) => {
    // (Not startTestBus: its teardown removes the home the first bus lives in.)
    await upBus({
      home: bus.home,
      manifest: { text: jetstreamManifest("second", `version: "2.10"\nreplicas: 1`), source: "second.yaml" },
      timeoutMillis: 60_000,
    });
    t.after(() => downBus("second", { home: bus.home, purge: true }).then(() => undefined));
    const state = await waitFor(
      "the second bus in the console",
      async () => {
        const s = (await (await console_.fetch("/api/state")).json()) as ConsoleState;
        return s.buses.some((b) => b.id === "local.second" && b.healthy) ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.deepEqual(
      state.buses.map((b) => b.id),
      ["local.default", "local.second"],
    );
  });
});
