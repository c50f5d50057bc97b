import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { EventBusValidationError } from "../src/api/index.js";
import { busPaths, busStatus, downBus, isAlive, isPortFree, upBus, LocalPlatformError } from "../src/platforms/local/index.js";
import { safeListenRange } from "../src/platforms/local/ports.js";
import { argoIsReady, type BusStatus } from "../src/api/index.js";
import { connect as connectClient } from "../src/client/index.js";
import { MissingBinaryError } from "../src/tools/index.js";
import { waitFor } from "./helpers/process.js";
import { connectAs, jetstreamManifest, publishAcked, startPublisher, startTestBus, storedIds } from "./helpers/local-bus.js";

const pid = (s: { pid?: number }) => s.pid!;

describe("local platform - auth and TLS", () => {
  for (const replicas of [1, 3]) {
    for (const auth of ["basic", "token", "none"] as const) {
      test(`a ${replicas}-replica bus with ${auth} auth and TLS accepts its clients and refuses others`, async () => {
        await using bus = await startTestBus(
          jetstreamManifest(`r${replicas}-${auth}`, `version: "2.10"\nreplicas: ${replicas}\nauth: ${auth}\npersistence: {volumeSize: 1Gi}`),
        );
        assert.equal(bus.up.action, "created");
        assert.equal(bus.up.connection.urls.length, replicas);
        assert.ok(bus.up.connection.caFile, "TLS is on by default");

        // THEN a client with the CA and the credentials publishes and is acked
        const nc = await bus.connect();
        const ids = await publishAcked(nc, 5);
        assert.deepEqual([...(await storedIds(nc))].sort(), ids.sort());
        const info = await (await jetstreamManager(nc)).streams.info("default");
        assert.deepEqual(info.config.subjects, ["default.*.*"]);
        assert.equal(info.config.num_replicas, Math.min(3, replicas));
        await nc.close();

        // AND a client without the CA is refused
        await assert.rejects(connectAs(bus.home, bus.name, { caFile: null }), /certificate|self-signed|verify/i);
        // AND wrong credentials are refused
        if (auth === "basic") await assert.rejects(connectAs(bus.home, bus.name, { pass: "wrong" }), /Authorization/i);
        if (auth === "token") await assert.rejects(connectAs(bus.home, bus.name, { token: "wrong" }), /Authorization/i);
      });
    }
  }

  test("a plaintext client is refused by a TLS bus, and a bus with TLS off serves plaintext", async () => {
    await using bus = await startTestBus(jetstreamManifest("plain", `version: "2.10"\nreplicas: 1\nauth: token\ntls: {enabled: false}`));
    assert.equal(bus.up.connection.caFile, undefined);
    const nc = await bus.connect();
    assert.equal((await publishAcked(nc, 1)).length, 1);
    await nc.close();
    await using tls = await startTestBus(jetstreamManifest("tls", `version: "2.10"\nreplicas: 1\nauth: token`));
    const creds = JSON.parse(await readFile(join(busPaths(tls.home, "tls").secrets, "credentials.json"), "utf8")) as { token: string };
    // nats.js never downgrades: with no CA it fails the TLS verification instead of sending plaintext
    await assert.rejects(connect({ servers: tls.up.connection.urls[0]!, token: creds.token, timeout: 3000 }), /certificate|verify/i);
  });
});

describe("local platform - state, persistence and faults", () => {
  test("the state dir holds secrets with 0600 files in a 0700 dir; up of an unchanged bus is a no-op", async () => {
    await using bus = await startTestBus(jetstreamManifest("state", `version: "2.10"\nreplicas: 1`));
    const paths = busPaths(bus.home, bus.name);
    assert.equal((await stat(paths.secrets)).mode & 0o777, 0o700);
    for (const file of ["credentials.json", "ca-key.pem", "server-key.pem", "auth.yaml"]) {
      assert.equal((await stat(join(paths.secrets, file))).mode & 0o777, 0o600, file);
    }
    assert.equal((await stat(paths.serverConfig(0))).mode & 0o777, 0o600);
    assert.doesNotMatch(
      await readFile(paths.serverConfig(0), "utf8"),
      new RegExp((JSON.parse(await readFile(join(paths.secrets, "credentials.json"), "utf8")) as { password: string }).password),
    );
    const again = await bus.apply(jetstreamManifest("state", `version: "2.10"\nreplicas: 1`));
    assert.equal(again.action, "unchanged");
    assert.equal(again.generation, bus.up.generation);
  });

  test("with persistence, acked events survive down and up; status.json follows, in the shape of an EventBus's status", async () => {
    await using bus = await startTestBus(jetstreamManifest("keep", `version: "2.10"\nreplicas: 3\npersistence: {volumeSize: 1Gi}`));
    const paths = busPaths(bus.home, bus.name);
    const written = async () => JSON.parse(await readFile(paths.status, "utf8")) as BusStatus;
    // The status file as Argo Events reads an EventBus's status: every condition True is ready
    // (argo-events pkg/apis/common/status_types.go `Status.IsReady`), and config.jetstream is what its
    // drivers connect from (EVENTBUS_CONFIG: url, accessSecret, streamConfig).
    const up1 = await written();
    assert.equal(up1.phase, "Running");
    assert.deepEqual(
      up1.conditions?.map((c) => [c.type, c.status]),
      [
        ["Configured", "True"],
        ["Deployed", "True"],
        ["Ready", "True"],
      ],
    );
    assert.ok(argoIsReady(up1.conditions));
    assert.equal(up1.config?.jetstream?.url, bus.up.connection.urls.join(","));
    assert.deepEqual(up1.config?.jetstream?.accessSecret, { name: "eventbus-keep-js-client-auth", key: "client-auth" });
    assert.equal(up1.access?.authFile, paths.authFile);
    assert.equal(up1.access?.monitors?.length, 3);
    // Each server's Go runtime gets the machine's cores shared among the 3 (at least 1), unless
    // the environment sets GOMAXPROCS: read from the running processes.
    const cores = process.env["GOMAXPROCS"] || String(Math.max(1, Math.floor(availableParallelism() / 3)));
    for (const server of (await busStatus(bus.name, { home: bus.home })).servers) {
      const environ = (await readFile(`/proc/${pid(server)}/environ`, "utf8")).split("\0");
      assert.ok(environ.includes(`GOMAXPROCS=${cores}`), `${server.name} runs with GOMAXPROCS=${cores}`);
    }
    // A client connects from the status alone (its config, auth file and CA).
    let client = await connectClient({ status: up1 });
    await client.close();

    let nc = await bus.connect();
    const ids = await publishAcked(nc, 200);
    await nc.close();
    const down = await downBus(bus.name, { home: bus.home });
    assert.equal(down.stopped, true);
    assert.equal((await busStatus(bus.name, { home: bus.home })).running, false);
    const stopped = await written();
    assert.equal(stopped.phase, "Pending");
    assert.equal(argoIsReady(stopped.conditions), false);
    assert.deepEqual(
      stopped.conditions?.find((c) => c.type === "Ready"),
      { ...stopped.conditions?.find((c) => c.type === "Ready"), status: "False", reason: "Stopped" },
    );
    const up = await bus.apply(jetstreamManifest("keep", `version: "2.10"\nreplicas: 3\npersistence: {volumeSize: 1Gi}`));
    assert.equal(up.action, "started");
    assert.equal((await written()).phase, "Running");
    client = await connectClient({ status: await bus.status() });
    await client.close();
    nc = await bus.connect();
    assert.deepEqual([...(await storedIds(nc))].sort(), [...ids].sort());
    await nc.close();
  });

  test("without persistence the store is ephemeral: status says so and a restart loses the events", async () => {
    await using bus = await startTestBus(jetstreamManifest("ephemeral", `version: "2.10"\nreplicas: 1`));
    const status = await busStatus(bus.name, { home: bus.home });
    assert.equal(status.persistent, false);
    assert.match(status.storage, /^ephemeral: .*wiped whenever a server restarts/);
    let nc = await bus.connect();
    await publishAcked(nc, 50);
    await nc.close();
    await downBus(bus.name, { home: bus.home });
    await bus.apply(jetstreamManifest("ephemeral", `version: "2.10"\nreplicas: 1`));
    nc = await bus.connect();
    assert.equal((await storedIds(nc)).size, 0);
    await nc.close();
  });

  test("a server killed more than five times over the bus's life is still waited for afresh on each restart, not taken for one that keeps exiting", async () => {
    // Each wait for a restarted server counts the exits during that wait: a lifetime count failed
    // every wait after the sixth kill at once, and the server was then restarted again and again
    // while it caught up (a failover run's bus, killed many times, did not settle in 120 s).
    await using bus = await startTestBus(jetstreamManifest("often", `version: "2.10"\nreplicas: 1`));
    for (let kill = 1; kill <= 7; kill++) {
      const before = (await busStatus(bus.name, { home: bus.home })).servers[0]!;
      process.kill(pid(before), "SIGKILL");
      await waitFor(
        `restart ${kill} healthy`,
        async () => {
          const server = (await busStatus(bus.name, { home: bus.home })).servers[0]!;
          return server.phase === "healthy" && server.pid !== before.pid ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    }
    const after = await busStatus(bus.name, { home: bus.home });
    assert.equal(after.servers[0]!.restarts, 7);
    const wrong = after.events.filter((e) => /keeps exiting|restarting it again|did not become healthy/.test(e.message));
    assert.deepEqual(wrong, [], JSON.stringify(wrong));
  });

  test("a SIGKILLed server is restarted, rejoins, and no acked event is lost while publishing goes on", async () => {
    // No message limit: the publisher may outrun the default 50000 and must not see events age out.
    await using bus = await startTestBus(
      jetstreamManifest("crash", `version: "2.10"\nreplicas: 3\npersistence: {volumeSize: 1Gi}\nstreamConfig: "maxMsgs: -1"`),
    );
    const nc = await bus.connect();
    const publisher = startPublisher(nc);
    await new Promise((r) => setTimeout(r, 500));
    const before = await busStatus(bus.name, { home: bus.home });
    const victim = before.servers[1]!;
    process.kill(pid(victim), "SIGKILL");
    // THEN the supervisor restarts it and it becomes healthy again (under load, a restarted server can
    // stall behind its groups; the supervisor restarts it again after 20 s without progress)
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; ) {
      const s = await busStatus(bus.name, { home: bus.home });
      const server = s.servers[1]!;
      if (server.phase === "healthy" && server.pid !== victim.pid && s.streams[0]?.current) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await busStatus(bus.name, { home: bus.home });
    assert.equal(after.servers[1]!.phase, "healthy");
    assert.notEqual(after.servers[1]!.pid, victim.pid);
    assert.equal(after.servers[1]!.restarts, 1);
    assert.ok(after.events.some((e) => e.level === "warn" && /exited unexpectedly \(SIGKILL\)/.test(e.message)));
    await new Promise((r) => setTimeout(r, 300));
    await publisher.stop();
    const stored = await storedIds(nc);
    const lost = [...publisher.acked].filter((id) => !stored.has(id));
    assert.ok(publisher.acked.size > 0);
    assert.deepEqual(lost, [], `${lost.length} of ${publisher.acked.size} acked events lost`);
    await nc.close();
  });

  test("a change to an immutable field is refused with nothing touched", async () => {
    await using bus = await startTestBus(jetstreamManifest("immutable", `version: "2.10"\nreplicas: 1`));
    const paths = busPaths(bus.home, bus.name);
    const stateBefore = await readFile(paths.state, "utf8");
    await assert.rejects(bus.apply(jetstreamManifest("immutable", `version: "2.10"\nreplicas: 1\nauth: token`)), (error: unknown) => {
      assert.ok(error instanceof EventBusValidationError);
      assert.deepEqual(
        error.issues.map((i) => i.path),
        ["spec.jetstream.auth"],
      );
      return true;
    });
    await assert.rejects(
      bus.apply(jetstreamManifest("immutable", `version: "2.10"\nreplicas: 1\nstreamConfig: "retention: interest"`)),
      /spec\.jetstream\.streamConfig\.retention: cannot change on a live stream/,
    );
    assert.equal(await readFile(paths.state, "utf8"), stateBefore);
    assert.equal((await busStatus(bus.name, { home: bus.home })).healthy, true);
  });

  test("bad input: a version that is not installed, another mode, an unwritable state dir", async () => {
    const home = await mkdtemp(join(tmpdir(), "eventbus-local-"));
    try {
      await assert.rejects(
        upBus({ home, manifest: { text: jetstreamManifest("v", `version: "2.9"`), source: "x" } }),
        /spec\.jetstream\.version: must be one of the known versions/,
      );
      await assert.rejects(
        upBus({
          home,
          manifest: { text: "apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: x}\nspec: {jetstreamExotic: {url: nats://a}}\n", source: "x" },
        }),
        (e: unknown) => e instanceof LocalPlatformError && /runs managed buses .*jetstreamExotic is an external bus/.test(e.message),
      );
      await chmod(home, 0o500);
      if (process.getuid?.() !== 0) {
        await assert.rejects(
          upBus({ home: join(home, "sub"), manifest: { text: jetstreamManifest("w", `version: "2.10"\nreplicas: 1`), source: "x" } }),
          /is not writable/,
        );
      }
      await chmod(home, 0o700);
      // A home under a regular file cannot hold a state dir, whoever runs the test (root too).
      const file = join(home, "a-file");
      await writeFile(file, "");
      await assert.rejects(
        upBus({ home: file, manifest: { text: jetstreamManifest("w", `version: "2.10"\nreplicas: 1`), source: "x" } }),
        new RegExp(`state dir ${file}/buses/w is not writable \\(ENOTDIR\\); set EVENTBUS_HOME`),
      );
      const oldTools = process.env.EVENTBUS_TOOLS_DIR;
      process.env.EVENTBUS_TOOLS_DIR = home;
      try {
        await assert.rejects(
          upBus({ home, manifest: { text: jetstreamManifest("m", `version: "2.10"\nreplicas: 1`), source: "x" } }),
          (e: unknown) => e instanceof MissingBinaryError && /make tools/.test(e.message),
        );
      } finally {
        if (oldTools === undefined) delete process.env.EVENTBUS_TOOLS_DIR;
        else process.env.EVENTBUS_TOOLS_DIR = oldTools;
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  test("up after the supervisor died adopts the servers it left running, with their data", async () => {
    await using bus = await startTestBus(jetstreamManifest("orphan", `version: "2.10"\nreplicas: 3\npersistence: {volumeSize: 1Gi}`));
    let nc = await bus.connect();
    const ids = await publishAcked(nc, 20);
    await nc.close();
    const paths = busPaths(bus.home, bus.name);
    const supervisor = (JSON.parse(await readFile(paths.control, "utf8")) as { pid: number }).pid;
    const orphans = (await busStatus(bus.name, { home: bus.home })).servers.map(pid);
    process.kill(supervisor, "SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      orphans.every((p) => isAlive(p)),
      "the servers outlive their supervisor",
    );
    assert.equal((await busStatus(bus.name, { home: bus.home })).supervised, false);

    const up = await bus.apply(jetstreamManifest("orphan", `version: "2.10"\nreplicas: 3\npersistence: {volumeSize: 1Gi}`));
    assert.equal(up.action, "started");
    const status = await busStatus(bus.name, { home: bus.home });
    assert.equal(status.healthy, true);
    assert.deepEqual(status.servers.map(pid), orphans, "the servers were adopted, not restarted");
    assert.ok(status.events.some((e) => /adopted: left running by a supervisor that exited/.test(e.message)));
    nc = await bus.connect();
    assert.deepEqual([...(await storedIds(nc))].sort(), [...ids].sort());
    await nc.close();
  });

  test("a server that will not start fails up quickly with the end of its log, and the bus is stopped", async () => {
    const home = await mkdtemp(join(tmpdir(), "eventbus-local-"));
    try {
      // GIVEN a kept store whose JetStream dir is a file, so the server cannot open its store
      const store = busPaths(home, "broken").serverData(0);
      await mkdir(store, { recursive: true });
      await writeFile(join(store, "jetstream"), "not a directory");
      await assert.rejects(
        upBus({
          home,
          manifest: { text: jetstreamManifest("broken", `version: "2.10"\nreplicas: 1\npersistence: {volumeSize: 1Gi}`), source: "x" },
          timeoutMillis: 60_000,
        }),
        (error: unknown) => {
          assert.ok(error instanceof LocalPlatformError, String(error));
          assert.match(error.message, /eventbus-broken-js-0 exited \d+ times while starting; the bus was stopped/);
          assert.match(error.detail ?? "", /Can't start JetStream: storage directory is not a directory/);
          return true;
        },
      );
      assert.equal((await busStatus("broken", { home })).running, false);
    } finally {
      await downBus("broken", { home }).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    }
  });

  test("a port kept from an earlier run that is now taken is replaced by a free one", async () => {
    await using bus = await startTestBus(jetstreamManifest("ports", `version: "2.10"\nreplicas: 1`));
    const before = (await busStatus(bus.name, { home: bus.home })).servers[0]!.ports.client;
    // Picked outside the kernel's ephemeral range, where no outgoing connection can take it between runs
    const [low, high] = (await safeListenRange())!;
    const ephemeral = (await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8")).trim().split(/\s+/).map(Number);
    assert.ok(before >= low && before <= high && (before < ephemeral[0]! || before > ephemeral[1]!), `port ${before} is outside ${ephemeral.join("-")}`);
    await downBus(bus.name, { home: bus.home });
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(before, "127.0.0.1", r));
    try {
      const up = await bus.apply(jetstreamManifest("ports", `version: "2.10"\nreplicas: 1`));
      const after = (await busStatus(bus.name, { home: bus.home })).servers[0]!.ports.client;
      assert.notEqual(after, before);
      assert.deepEqual(up.connection.urls, [`nats://127.0.0.1:${after}`]);
    } finally {
      squatter.close();
    }
  });
});

describe("local platform - the default bus", () => {
  test("eventbus up without a file runs the default bus: 3 servers, basic auth, TLS, persistence, port 4222 when free", async () => {
    const home = await mkdtemp(join(tmpdir(), "eventbus-local-"));
    const free = await isPortFree(4222);
    try {
      const up = await upBus({ home, timeoutMillis: 60_000 });
      assert.equal(up.name, "default");
      assert.equal(up.connection.urls.length, 3);
      assert.equal(up.connection.auth, "basic");
      assert.ok(up.connection.caFile);
      assert.equal(up.persistent, true);
      // The first server takes NATS's usual port when nothing else holds it
      assert.equal(up.connection.urls[0] === "nats://127.0.0.1:4222", free);
      const nc = await connectAs(home, "default");
      assert.equal((await publishAcked(nc, 3)).length, 3);
      await nc.close();
    } finally {
      await downBus("default", { home }).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    }
  });
});
