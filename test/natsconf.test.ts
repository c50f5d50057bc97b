import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";

import { jetstreamManager, jetstream } from "@nats-io/jetstream";
import { connect, type NodeConnectionOptions } from "@nats-io/transport-node";

import { Duration, validate, type ResolvedEventBus } from "../src/api/index.js";
import {
  CONFIG_FILE_NAME,
  InvalidValueError,
  isNatsConfError,
  MaterialMismatchError,
  NatsConfErrorCode,
  renderJetStreamConfig,
  renderStanConfig,
  SECRETS_FILE_NAME,
  UnknownServerError,
  UnsafeValueError,
  type RenderedConfig,
} from "../src/natsconf/index.js";
import { planJetStream, planStan, type JetStreamPlan, type ServerMaterial, type StanPlan, type StanServerMaterial } from "../src/plan/index.js";
import { busTlsFiles, generateBusSecrets, generateCredentials, saveBusSecrets, type BusSecrets, type BusTlsFiles } from "../src/secrets/index.js";
import { findBinary, findNatsServer, NATS_STREAMING_SERVER } from "../src/tools/index.js";
import { resolveStanVersion } from "../src/versions/index.js";
import { freePort, spawnProcess, waitFor, type ManagedProcess } from "./helpers/index.js";

const execFileAsync = promisify(execFile);

// Both pinned nats-servers, where the config syntax matters.
const VERSIONS = ["2.10", "2.11"] as const;
type Auth = "basic" | "token" | "none";

// ---------------------------------------------------------------------------------------------
// Helpers: a bus, its plan, its material, config files written as the local platform writes them.

function makeBus(options: { replicas: 1 | 3; auth: Auth; tls: boolean; version?: string; name?: string }): ResolvedEventBus {
  const result = validate({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name: options.name ?? "default" },
    spec: { jetstream: { version: options.version ?? "latest", replicas: options.replicas, auth: options.auth, tls: { enabled: options.tls } } },
  });
  if (!result.ok) throw new Error(`invalid test manifest: ${JSON.stringify(result.issues)}`);
  return result.bus;
}

/** Placeholder ports for plans that are only rendered and checked, never started. */
function fixedPorts(replicas: number, base = 20_000) {
  return Array.from({ length: replicas }, (_, i) => ({ client: base + i, cluster: base + 100 + i, monitor: base + 200 + i }));
}

async function freePorts(replicas: number) {
  const ports = [];
  for (let i = 0; i < replicas; i++) ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  return ports;
}

/** The material the local platform gives server `index`: its dir, the bus's TLS files and credentials. */
function materialFor(plan: JetStreamPlan, _index: number, serverDir: string, secrets: BusSecrets, tlsFiles: BusTlsFiles | undefined): ServerMaterial {
  const c = secrets.credentials;
  return {
    storeDir: join(serverDir, "store"),
    pidFile: join(serverDir, "nats-server.pid"),
    ...(plan.tls && tlsFiles && { tls: tlsFiles }),
    ...(plan.auth === "basic" && {
      auth: { mode: "basic" as const, user: c.user, password: { value: c.password }, systemUser: c.systemUser, systemPassword: { value: c.systemPassword } },
    }),
    ...(plan.auth === "token" && { auth: { mode: "token" as const, token: { value: c.token } } }),
    routeAuth: { user: c.routeUser, password: { value: c.routePassword } },
    encryptionKey: { value: c.encryptionKey },
  };
}

/** Writes `nats.conf` and `nats-secrets.conf` (mode 0600) into `serverDir`; returns the config path. */
async function writeServerFiles(serverDir: string, rendered: RenderedConfig): Promise<string> {
  await mkdir(serverDir, { recursive: true, mode: 0o700 });
  const configFile = join(serverDir, CONFIG_FILE_NAME);
  await writeFile(configFile, rendered.config, { mode: 0o600 });
  await writeFile(join(serverDir, SECRETS_FILE_NAME), rendered.secrets, { mode: 0o600 });
  return configFile;
}

/** `nats-server -c FILE -t`, run from `/` so that the include must resolve against the config's dir. */
async function checkConfig(version: string, configFile: string, env: NodeJS.ProcessEnv = process.env): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(findNatsServer(version), ["-c", configFile, "-t"], { cwd: "/", env, timeout: 15_000 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}${e.message}` };
  }
}

async function tempDir(prefix: string): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

async function getJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A bus started from rendered configs: one nats-server process per server, in one temp dir. */
interface RenderedBus extends AsyncDisposable {
  readonly plan: JetStreamPlan;
  readonly secrets: BusSecrets;
  readonly tlsFiles?: BusTlsFiles;
  readonly clientUrls: readonly string[];
  readonly monitorUrls: readonly string[];
  readonly rendered: readonly RenderedConfig[];
  /** Each server's `nats.conf`. */
  readonly configFiles: readonly string[];
  /** From the first spawn to every server healthy (and, clustered, a meta leader with every peer). */
  readonly startMs: number;
}

/**
 * Plans the bus on free local ports, renders each server's config, writes the files, starts the
 * servers (from `/`, so includes resolve against the config dir) and waits until they are healthy.
 * Stops every process and removes the dir on any failure, and on dispose.
 */
async function startRenderedBus(
  bus: ResolvedEventBus,
  options: { secrets?: BusSecrets; material?: (m: ServerMaterial) => ServerMaterial } = {},
): Promise<RenderedBus> {
  const spec = bus.spec;
  if (spec.mode !== "jetstream") throw new Error("not a jetstream bus");
  const dir = await mkdtemp(join(tmpdir(), "eventbus-natsconf-"));
  const processes: ManagedProcess[] = [];
  const dispose = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const plan = planJetStream(bus, { platform: "local", ports: await freePorts(spec.replicas) });
    const secrets =
      options.secrets ??
      (await generateBusSecrets({ tls: plan.tls, dnsNames: plan.tlsNames.dnsNames, ipAddresses: plan.tlsNames.ipAddresses, commonName: plan.clusterName }));
    const secretsDir = join(dir, "secrets");
    await saveBusSecrets(secretsDir, secrets);
    const tlsFiles = plan.tls ? busTlsFiles(secretsDir) : undefined;
    const binary = findNatsServer(plan.version.name);
    const rendered: RenderedConfig[] = [];
    const configFiles: string[] = [];
    for (const server of plan.servers) {
      const serverDir = join(dir, server.name);
      const base = materialFor(plan, server.index, serverDir, secrets, tlsFiles);
      const r = renderJetStreamConfig(plan, server.index, options.material ? options.material(base) : base);
      rendered.push(r);
      configFiles.push(await writeServerFiles(serverDir, r));
    }
    const started = Date.now();
    const monitorUrls = plan.servers.map((s) => `http://${plan.listenHost}:${s.ports.monitor}`);
    // nats-server 2.10 can form a cold-started meta group without a slow server, which then never
    // joins (the local platform's up starts such a new cluster again, see README); so does this.
    for (let attempt = 1; ; attempt++) {
      try {
        await startServers(binary, configFiles, processes, monitorUrls, plan.replicas);
        break;
      } catch (error) {
        if (attempt === 3 || !(error instanceof Error) || !/meta leader with every peer current/.test(error.message)) throw error;
        await Promise.all(processes.splice(0).map((p) => p.stop()));
        for (const server of plan.servers) await rm(join(dir, server.name, "store"), { recursive: true, force: true });
      }
    }
    const startMs = Date.now() - started;
    return {
      plan,
      secrets,
      ...(tlsFiles && { tlsFiles }),
      clientUrls: plan.servers.map((s) => `nats://${s.host}:${s.ports.client}`),
      monitorUrls,
      rendered,
      configFiles,
      startMs,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Creates the stream `default` (the plan's subjects and replicas), publishes, reads the message back. */
async function roundTrip(bus: RenderedBus, connection: NodeConnectionOptions): Promise<void> {
  const nc = await connect({ servers: [...bus.clientUrls], timeout: 5_000, ...connection });
  try {
    const jsm = await jetstreamManager(nc);
    const { name, subjects } = bus.plan.stream;
    const info = await waitFor(
      `stream ${name} with ${bus.plan.replicas} replicas`,
      async () => {
        try {
          return await jsm.streams.add({ name, subjects: [...subjects], num_replicas: bus.plan.replicas });
        } catch (err) {
          // Peers may still be joining the meta group right after it elected its leader.
          if (/insufficient resources|no suitable peers|timeout/i.test(String(err))) return undefined;
          throw err;
        }
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    assert.equal(info.config.num_replicas, bus.plan.replicas);
    // A replicated stream answers publishes once it has elected its leader (a CI run published
    // into a stream just added and got no responders).
    if (bus.plan.replicas > 1) {
      await waitFor("the stream's leader", async () => ((await jsm.streams.info(name).catch(() => undefined))?.cluster?.leader ? true : undefined), {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
    }
    const js = jetstream(nc);
    // The leader's interest in the subject reaches the other servers over the routes after the
    // election: the server this client is on may answer "no responders" for a moment (a CI run got
    // it after the leader was known).
    const ack = await waitFor(
      "the stream to take a publish",
      async () => {
        try {
          return await js.publish("default.webhook.example", JSON.stringify({ id: "event-1" }), { msgID: "event-1" });
        } catch (err) {
          if (/no responders/i.test(`${String(err)} ${String((err as Error).cause)}`)) return undefined;
          throw err;
        }
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.equal(ack.stream, name);
    const dup = await js.publish("default.webhook.example", JSON.stringify({ id: "event-1" }), { msgID: "event-1" });
    assert.equal(dup.duplicate, true);
    const stored = await jsm.streams.getMessage(name, { seq: ack.seq });
    assert.equal(stored?.subject, "default.webhook.example");
    assert.deepEqual(stored?.json(), { id: "event-1" });
  } finally {
    await nc.close();
  }
}

async function assertRefused(bus: RenderedBus, connection: NodeConnectionOptions, pattern: RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      const nc = await connect({ servers: [bus.clientUrls[0]!], timeout: 5_000, reconnect: false, ...connection });
      await nc.close();
    },
    (err: unknown) => {
      assert.match(String(err) + String((err as { cause?: unknown }).cause ?? ""), pattern);
      return true;
    },
  );
}

after(async () => {
  // Every test stops its servers; this is the proof that none was left behind.
  const { stdout } = await execFileAsync("pgrep", ["-a", "nats-server"]).catch(() => ({ stdout: "" }));
  const ours = stdout.split("\n").filter((line) => line.includes("eventbus-natsconf-"));
  assert.deepEqual(ours, [], "nats-server processes left behind");
});

// ---------------------------------------------------------------------------------------------
// Pure rendering.

/** A 3-replica basic + TLS local bus with fixed paths and fake secrets: the snapshot's input. */
function snapshotInput(): { plan: JetStreamPlan; material: ServerMaterial } {
  const plan = planJetStream(makeBus({ replicas: 3, auth: "basic", tls: true }), { platform: "local", ports: fixedPorts(3, 14_222) });
  const dir = "/home/me/.eventbus/default";
  const tls = { certFile: `${dir}/secrets/server-cert.pem`, keyFile: `${dir}/secrets/server-key.pem`, caFile: `${dir}/secrets/ca.pem` };
  const material: ServerMaterial = {
    storeDir: `${dir}/eventbus-default-js-1/store`,
    pidFile: `${dir}/eventbus-default-js-1/nats-server.pid`,
    tls: { client: tls, cluster: { ...tls, certFile: `${dir}/secrets/route-cert.pem`, keyFile: `${dir}/secrets/route-key.pem` } },
    auth: { mode: "basic", user: "eventbus", password: { value: "JS-PASSWORD" }, systemUser: "sys", systemPassword: { value: "SYS-PASSWORD" } },
    routeAuth: { user: "route", password: { value: "ROUTE-PASSWORD" } },
    encryptionKey: { value: "ENCRYPTION-KEY" },
  };
  return { plan, material };
}

const SNAPSHOT_CONFIG = `# nats-server 2.10.29 config of eventbus-default-js-1, server 2 of 3 of EventBus "default".
# Rendered by eventbus from the bus's plan. Secret values are not in this file: it refers to
# them as $variables, which the included secrets file defines.
include "nats-secrets.conf"

server_name: "eventbus-default-js-1"
listen: "127.0.0.1:14223"
http: "127.0.0.1:14423"
max_payload: 1048576
lame_duck_duration: "30s"
lame_duck_grace_period: "2s"
pid_file: "/home/me/.eventbus/default/eventbus-default-js-1/nats-server.pid"

jetstream {
  store_dir: "/home/me/.eventbus/default/eventbus-default-js-1/store"
  max_file_store: 1099511627776
  key: $EVENTBUS_JETSTREAM_KEY
}

tls {
  cert_file: "/home/me/.eventbus/default/secrets/server-cert.pem"
  key_file: "/home/me/.eventbus/default/secrets/server-key.pem"
  ca_file: "/home/me/.eventbus/default/secrets/ca.pem"
  timeout: "5s"
}

accounts {
  js {
    jetstream: "enabled"
    users: [
      { user: "eventbus", password: $EVENTBUS_JS_PASSWORD }
    ]
  }
  sys {
    users: [
      { user: "sys", password: $EVENTBUS_SYS_PASSWORD }
    ]
  }
}
system_account: "sys"

cluster {
  name: "eventbus-default-js"
  listen: "127.0.0.1:14323"
  advertise: "127.0.0.1:14323"
  authorization {
    user: "route"
    password: $EVENTBUS_ROUTE_PASSWORD
  }
  # route to nats-route://127.0.0.1:14322 (its URL with credentials is in the secrets file)
  # route to nats-route://127.0.0.1:14323 (its URL with credentials is in the secrets file)
  # route to nats-route://127.0.0.1:14324 (its URL with credentials is in the secrets file)
  routes: $EVENTBUS_ROUTES
  connect_retries: 120
  tls {
    cert_file: "/home/me/.eventbus/default/secrets/route-cert.pem"
    key_file: "/home/me/.eventbus/default/secrets/route-key.pem"
    ca_file: "/home/me/.eventbus/default/secrets/ca.pem"
    verify: true
    timeout: "5s"
  }
}
`;

const SNAPSHOT_SECRETS = `# Secret values of eventbus-default-js-1 of EventBus "default", included by its config, which refers
# to each as a $variable. Keep this file private (mode 0600, or a Kubernetes Secret).
EVENTBUS_JETSTREAM_KEY: "ENCRYPTION-KEY"
EVENTBUS_JS_PASSWORD: "JS-PASSWORD"
EVENTBUS_SYS_PASSWORD: "SYS-PASSWORD"
EVENTBUS_ROUTE_PASSWORD: "ROUTE-PASSWORD"
EVENTBUS_ROUTES: [
  "nats-route://route:ROUTE-PASSWORD@127.0.0.1:14322"
  "nats-route://route:ROUTE-PASSWORD@127.0.0.1:14323"
  "nats-route://route:ROUTE-PASSWORD@127.0.0.1:14324"
]
`;

test("natsconf - a 3-replica basic+TLS server renders exactly the snapshot, split into config and secrets", () => {
  const { plan, material } = snapshotInput();
  const rendered = renderJetStreamConfig(plan, 1, material);
  assert.equal(rendered.config, SNAPSHOT_CONFIG);
  assert.equal(rendered.secrets, SNAPSHOT_SECRETS);
});

test("natsconf - rendering is deterministic: the same input twice, and an equal plan built again, give identical bytes", () => {
  const first = snapshotInput();
  const again = snapshotInput();
  const a = renderJetStreamConfig(first.plan, 1, first.material);
  assert.deepEqual(renderJetStreamConfig(first.plan, 1, first.material), a);
  assert.deepEqual(renderJetStreamConfig(again.plan, 1, again.material), a);
});

test("natsconf - a 1-replica bus has no cluster block; auth none and no TLS render no tls, accounts or authorization", () => {
  const plan = planJetStream(makeBus({ replicas: 1, auth: "none", tls: false }), { platform: "local", ports: fixedPorts(1) });
  const { config, secrets } = renderJetStreamConfig(plan, 0, { storeDir: "/data/store", routeAuth: { user: "route", password: { value: "unused" } } });
  for (const block of ["cluster {", "tls {", "accounts {", "authorization {", "system_account", "key:", "pid_file"]) assert.ok(!config.includes(block), block);
  assert.ok(!secrets.includes("unused"), "route credentials of a server without routes are not written");
  assert.match(secrets, /This server has no secret values\./);
  assert.match(config, /^include "nats-secrets.conf"$/m);
});

test("natsconf - token auth renders an authorization block; -1 store limits are omitted; a custom include path is used", () => {
  const plan = planJetStream(makeBus({ replicas: 1, auth: "token", tls: false }), { platform: "local", ports: fixedPorts(1) });
  const limited: JetStreamPlan = { ...plan, storage: { ...plan.storage, maxMemoryStoreBytes: 64 * 1024 ** 2, maxFileStoreBytes: -1 } };
  const { config, secrets } = renderJetStreamConfig(
    limited,
    0,
    { storeDir: "/data", auth: { mode: "token", token: { value: "T0KEN" } } },
    { secretsInclude: "../secret/nats-secrets.conf" },
  );
  assert.match(config, /^authorization \{\n {2}token: \$EVENTBUS_TOKEN\n\}$/m);
  assert.match(config, /^ {2}max_memory_store: 67108864$/m);
  assert.ok(!config.includes("max_file_store"));
  assert.match(config, /^include "\.\.\/secret\/nats-secrets\.conf"$/m);
  assert.match(secrets, /^EVENTBUS_TOKEN: "T0KEN"$/m);
});

test("natsconf - no secret value appears in config, for every auth, TLS and server", () => {
  for (const auth of ["basic", "token", "none"] as const) {
    for (const replicas of [1, 3] as const) {
      const plan = planJetStream(makeBus({ replicas, auth, tls: true }), { platform: "local", ports: fixedPorts(replicas) });
      const secretValues = ["pw-JS-1", "pw-SYS-2", "tok-3", "route-pw-4", "key-5"];
      const material: ServerMaterial = {
        storeDir: "/data",
        tls: { client: { certFile: "c", keyFile: "k", caFile: "ca" }, cluster: { certFile: "c", keyFile: "k", caFile: "ca" } },
        ...(auth === "basic" && { auth: { mode: "basic", user: "u", password: { value: "pw-JS-1" }, systemUser: "s", systemPassword: { value: "pw-SYS-2" } } }),
        ...(auth === "token" && { auth: { mode: "token", token: { value: "tok-3" } } }),
        routeAuth: { user: "route", password: { value: "route-pw-4" } },
        encryptionKey: { value: "key-5" },
      };
      for (const server of plan.servers) {
        const { config, secrets } = renderJetStreamConfig(plan, server.index, material);
        for (const value of secretValues) assert.ok(!config.includes(value), `${auth}/${replicas}/${server.index}: ${value} is in config`);
        assert.ok(secrets.includes("key-5"));
        if (auth === "basic") assert.ok(secrets.includes("pw-JS-1") && secrets.includes("pw-SYS-2"));
        if (auth === "token") assert.ok(secrets.includes("tok-3"));
        assert.equal(secrets.includes("route-pw-4"), replicas > 1);
        // The secrets file holds variable definitions and comments only.
        for (const line of secrets.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith(" ") && l !== "]")) {
          assert.match(line, /^EVENTBUS_[A-Z_]+: /);
        }
      }
    }
  }
});

test("natsconf - a secret given as an environment variable is referenced by name and not defined in secrets", () => {
  const plan = planJetStream(makeBus({ replicas: 1, auth: "token", tls: false }), { platform: "local", ports: fixedPorts(1) });
  const { config, secrets } = renderJetStreamConfig(plan, 0, { storeDir: "/data", auth: { mode: "token", token: { env: "BUS_TOKEN" } } });
  assert.match(config, /token: \$BUS_TOKEN$/m);
  assert.ok(!secrets.includes("BUS_TOKEN"));
  assert.throws(() => renderJetStreamConfig(plan, 0, { storeDir: "/data", auth: { mode: "token", token: { env: "BUS TOKEN" } } }), InvalidValueError);
  assert.throws(() => renderJetStreamConfig(plan, 0, { storeDir: "/data", auth: { mode: "token", token: { env: "EVENTBUS_TOKEN" } } }), InvalidValueError);
});

test("natsconf - a newline, NUL or other control character in any value is refused with a typed error that does not repeat it", () => {
  const { plan, material } = snapshotInput();
  // Each bad value holds the marker ZQX, which no error message may repeat.
  const cases: [string, ServerMaterial][] = [
    ["jetstream.store_dir", { ...material, storeDir: "/data\ninclude /etc/ZQX" }],
    ["pid_file", { ...material, pidFile: "/run/x\u0000ZQX.pid" }],
    ["tls.cert_file", { ...material, tls: { ...material.tls!, client: { ...material.tls!.client, certFile: "/c\rZQX.pem" } } }],
    [
      "accounts.js.users[0].password",
      { ...material, auth: { mode: "basic", user: "u", password: { value: "secret\nZQX" }, systemUser: "s", systemPassword: { value: "p" } } },
    ],
    [
      "accounts.sys.users[0].user",
      { ...material, auth: { mode: "basic", user: "u", password: { value: "p" }, systemUser: "s\u2028ZQX", systemPassword: { value: "p" } } },
    ],
    ["jetstream.key", { ...material, encryptionKey: { value: "k\u007fZQX" } }],
    ["cluster.authorization.password", { ...material, routeAuth: { user: "route", password: { value: "tab\tZQX" } } }],
    ["cluster.authorization.user", { ...material, routeAuth: { user: "\uD800ZQX", password: { value: "p" } } }],
  ];
  for (const [path, bad] of cases) {
    assert.throws(
      () => renderJetStreamConfig(plan, 1, bad),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeValueError, `${path}: ${String(err)}`);
        assert.ok(isNatsConfError(err, NatsConfErrorCode.unsafeValue));
        assert.equal(err.path, path);
        assert.ok(!err.message.includes("ZQX"), `the message repeats the value: ${err.message}`);
        return true;
      },
    );
  }
});

test("natsconf - material that does not fit the plan, a bad server index and lame duck below nats' minimum are typed errors", () => {
  const { plan, material } = snapshotInput();
  assert.throws(() => renderJetStreamConfig(plan, 3, material), UnknownServerError);
  assert.throws(() => renderJetStreamConfig(plan, -1, material), UnknownServerError);
  const { tls: _tls, ...noTls } = material;
  assert.throws(() => renderJetStreamConfig(plan, 0, noTls), MaterialMismatchError);
  const { auth: _auth, ...noAuth } = material;
  assert.throws(
    () => renderJetStreamConfig(plan, 0, noAuth),
    (err: unknown) => isNatsConfError(err, NatsConfErrorCode.materialMismatch),
  );
  assert.throws(() => renderJetStreamConfig(plan, 0, { ...material, auth: { mode: "token", token: { value: "t" } } }), MaterialMismatchError);
  assert.throws(() => renderJetStreamConfig(plan, 0, { ...material, routeAuth: { user: "route", password: { env: "ROUTE_PW" } } }), MaterialMismatchError);
  assert.throws(() => renderJetStreamConfig({ ...plan, lameDuckDuration: Duration.parse("10s") }, 0, material), InvalidValueError);
  assert.throws(() => renderJetStreamConfig({ ...plan, lameDuckGracePeriod: Duration.parse("30s") }, 0, material), InvalidValueError);
  assert.throws(() => renderJetStreamConfig({ ...plan, maxPayloadBytes: 1.5 }, 0, material), InvalidValueError);
  assert.throws(() => renderJetStreamConfig(plan, 0, material, { secretsInclude: 'x".conf' }), InvalidValueError);
  assert.throws(() => renderJetStreamConfig(plan, 0, material, { secretsInclude: "/etc/eventbus/nats-secrets.conf" }), InvalidValueError);
});

// ---------------------------------------------------------------------------------------------
// The real nats-server reads what was rendered.

test("natsconf - nats-server -t accepts the config of every server for auth × TLS × replicas, on both pinned versions", async () => {
  await using dir = await tempDir("eventbus-natsconf-");
  const tlsSecrets = await generateBusSecrets({ tls: true, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"], commonName: "eventbus-default-js" });
  await saveBusSecrets(join(dir.path, "secrets"), tlsSecrets);
  const tlsFiles = busTlsFiles(join(dir.path, "secrets"));
  const checks: Promise<void>[] = [];
  for (const version of VERSIONS) {
    for (const auth of ["basic", "token", "none"] as const) {
      for (const tls of [true, false]) {
        for (const replicas of [1, 3] as const) {
          const plan = planJetStream(makeBus({ replicas, auth, tls, version }), { platform: "local", ports: fixedPorts(replicas) });
          for (const server of plan.servers) {
            const serverDir = join(dir.path, `${version}-${auth}-${tls ? "tls" : "plain"}-${replicas}`, server.name);
            const rendered = renderJetStreamConfig(plan, server.index, materialFor(plan, server.index, serverDir, tlsSecrets, tlsFiles));
            checks.push(
              writeServerFiles(serverDir, rendered).then(async (file) => {
                const result = await checkConfig(version, file);
                assert.ok(result.ok, `${file}:\n${result.output}\n${rendered.config}`);
                assert.match(result.output, /is valid/);
              }),
            );
          }
        }
      }
    }
  }
  assert.equal(checks.length, 2 * 3 * 2 * (1 + 3));
  await Promise.all(checks);
});

test("natsconf - nats-server -t accepts a Kubernetes server's config: 0.0.0.0 listeners, pod DNS routes and advertise", async () => {
  await using dir = await tempDir("eventbus-natsconf-");
  const plan = planJetStream(makeBus({ replicas: 3, auth: "basic", tls: true }), { platform: "kubernetes", namespace: "argo-events" });
  const secrets = await generateBusSecrets({
    tls: true,
    dnsNames: plan.tlsNames.dnsNames,
    ipAddresses: plan.tlsNames.ipAddresses,
    commonName: plan.clusterName,
  });
  await saveBusSecrets(join(dir.path, "secrets"), secrets);
  for (const version of VERSIONS) {
    const serverDir = join(dir.path, version);
    const rendered = renderJetStreamConfig(
      { ...plan, version: { name: version, server: version } },
      2,
      materialFor(plan, 2, serverDir, secrets, busTlsFiles(join(dir.path, "secrets"))),
    );
    assert.match(rendered.config, /^listen: "0\.0\.0\.0:4222"$/m);
    assert.match(rendered.config, /^ {2}advertise: "eventbus-default-js-2\.eventbus-default-js-svc\.argo-events\.svc:6222"$/m);
    assert.match(rendered.secrets, /"nats-route:\/\/route:[A-Za-z0-9_-]+@eventbus-default-js-0\.eventbus-default-js-svc\.argo-events\.svc:6222"/);
    const result = await checkConfig(version, await writeServerFiles(serverDir, rendered));
    assert.ok(result.ok, result.output);
  }
});

test("natsconf - nats-server resolves the include against the config's dir, and needs an env secret set in its environment", async () => {
  await using dir = await tempDir("eventbus-natsconf-");
  const plan = planJetStream(makeBus({ replicas: 1, auth: "token", tls: false }), { platform: "local", ports: fixedPorts(1) });
  const rendered = renderJetStreamConfig(plan, 0, { storeDir: join(dir.path, "store"), auth: { mode: "token", token: { env: "EVENTBUS_TEST_TOKEN" } } });
  const file = await writeServerFiles(join(dir.path, "server"), rendered);
  const withEnv = await checkConfig("latest", file, { ...process.env, EVENTBUS_TEST_TOKEN: "from-env" });
  assert.ok(withEnv.ok, withEnv.output);
  const { EVENTBUS_TEST_TOKEN: _unset, ...without } = process.env;
  const withoutEnv = await checkConfig("latest", file, without);
  assert.ok(!withoutEnv.ok);
  assert.match(withoutEnv.output, /EVENTBUS_TEST_TOKEN.*can not be found/);
  // Without the secrets file next to the config, the include fails: it is not looked up in the cwd.
  await rm(join(dir.path, "server", SECRETS_FILE_NAME));
  const missing = await checkConfig("latest", file, { ...process.env, EVENTBUS_TEST_TOKEN: "from-env" });
  assert.ok(!missing.ok);
  assert.match(missing.output, /nats-secrets\.conf/);
});

test("natsconf - hostile store dir and cert paths stay one literal string: -t accepts them and /varz reports the store dir", async () => {
  await using dir = await tempDir("eventbus-natsconf-");
  const hostile = `a"b\\c}d$VAR 'q' {x} include /etc/passwd # end`;
  const bus = makeBus({ replicas: 1, auth: "none", tls: true, version: "2.11" });
  const secrets = await generateBusSecrets({ tls: true, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"], commonName: "eventbus-default-js" });
  // The certificates are copied into a dir with the hostile name, so that every TLS path holds it.
  const certDir = join(dir.path, hostile);
  await mkdir(certDir, { recursive: true });
  await saveBusSecrets(join(dir.path, "secrets"), secrets);
  const plain = busTlsFiles(join(dir.path, "secrets"));
  const hostileTls = busTlsFiles(certDir);
  for (const listener of ["client", "cluster"] as const) {
    for (const part of ["certFile", "keyFile", "caFile"] as const) await copyFile(plain[listener][part], hostileTls[listener][part]);
  }
  const storeDir = join(dir.path, hostile, "store");
  await using running = await startRenderedBus(bus, { secrets, material: (m) => ({ ...m, storeDir, tls: hostileTls }) });
  const [rendered] = running.rendered;
  const checked = await checkConfig("2.11", running.configFiles[0]!);
  assert.ok(checked.ok, checked.output);
  assert.ok(rendered!.config.includes(`store_dir: "${storeDir.replace(/[\\"]/g, (c) => `\\${c}`)}"`));
  const varz = await getJson(`${running.monitorUrls[0]}/varz`);
  const jsConfig = (varz?.["jetstream"] as { config?: { store_dir?: string } } | undefined)?.config;
  assert.equal(jsConfig?.store_dir, join(storeDir, "jetstream"));
  assert.equal(varz?.["tls_required"], true);
  // And a client verifies the server's certificate, read from the hostile paths.
  const nc = await connect({ servers: [running.clientUrls[0]!], tls: { caFile: plain.client.caFile }, timeout: 5_000 });
  await nc.close();
});

test("natsconf - hostile passwords and tokens are rendered literally: a client logs in with exactly them", async () => {
  const hostile = `p"w\\}$HOME include /etc/passwd {x} # ' `;
  const secrets = await generateBusSecrets({ tls: false, dnsNames: [], ipAddresses: [], commonName: "x" });
  const tricky = { ...secrets, credentials: { ...secrets.credentials, password: hostile, token: `t${hostile}` } };
  await using basic = await startRenderedBus(makeBus({ replicas: 1, auth: "basic", tls: false }), { secrets: tricky });
  await roundTrip(basic, { user: tricky.credentials.user, pass: hostile });
  await assertRefused(basic, { user: tricky.credentials.user, pass: "p" }, /Authorization Violation/i);
  await using token = await startRenderedBus(makeBus({ replicas: 1, auth: "token", tls: false, version: "2.11" }), { secrets: tricky });
  await roundTrip(token, { token: `t${hostile}` });
});

test("natsconf - a 3-replica basic+TLS cluster from rendered configs elects a meta leader, stores R3 and refuses wrong credentials", async (t) => {
  await using bus = await startRenderedBus(makeBus({ replicas: 3, auth: "basic", tls: true, version: "2.10" }));
  t.diagnostic(`3-node basic+TLS cluster (nats-server ${bus.plan.version.server}) healthy with a meta leader in ${bus.startMs}ms`);
  const { user, password } = bus.secrets.credentials;
  const caFile = bus.tlsFiles!.client.caFile;
  await roundTrip(bus, { user, pass: password, tls: { caFile } });
  await assertRefused(bus, { user, pass: `${password}x`, tls: { caFile } }, /Authorization Violation/i);
  await assertRefused(bus, { user: "eventbus", pass: bus.secrets.credentials.routePassword, tls: { caFile } }, /Authorization Violation/i);
  // Each server sees the other two as routes.
  for (const url of bus.monitorUrls) {
    const routez = await getJson(`${url}/routez`);
    const remotes = new Set(((routez?.["routes"] as { remote_name?: string }[] | undefined) ?? []).map((r) => r.remote_name));
    assert.equal(remotes.size, 2, `${url}/routez: ${JSON.stringify(routez)}`);
  }
});

test("natsconf - a 3-replica token cluster without TLS from rendered configs stores R3 and refuses a wrong token", async (t) => {
  await using bus = await startRenderedBus(makeBus({ replicas: 3, auth: "token", tls: false, version: "2.11" }));
  t.diagnostic(`3-node token cluster (nats-server ${bus.plan.version.server}) healthy with a meta leader in ${bus.startMs}ms`);
  await roundTrip(bus, { token: bus.secrets.credentials.token });
  await assertRefused(bus, { token: "wrong" }, /Authorization Violation/i);
});

test("natsconf - a route without the route credentials is refused by the cluster", async () => {
  await using bus = await startRenderedBus(makeBus({ replicas: 3, auth: "none", tls: false }));
  // A stranger server that knows the routes but not the password cannot join.
  await using dir = await tempDir("eventbus-natsconf-");
  const [client, cluster, monitor] = [await freePort(), await freePort(), await freePort()];
  const target = bus.plan.servers[0]!;
  const config = [
    `server_name: "stranger"`,
    `listen: "127.0.0.1:${client}"`,
    `http: "127.0.0.1:${monitor}"`,
    `cluster { name: "${bus.plan.clusterName}", listen: "127.0.0.1:${cluster}", routes: ["nats-route://route:guess@127.0.0.1:${target.ports.cluster}"] }`,
    "",
  ].join("\n");
  await writeFile(join(dir.path, "stranger.conf"), config);
  await using stranger = await spawnProcess(findNatsServer("latest"), ["-c", join(dir.path, "stranger.conf")]);
  await waitFor("the stranger's route to be refused", () => (stranger.output().includes("Authorization Violation") ? true : undefined), { timeoutMs: 10_000 });
  const routez = await getJson(`${bus.monitorUrls[0]}/routez`);
  assert.ok(!JSON.stringify(routez).includes("stranger"));
});

test("natsconf - a 1-replica bus without auth from a rendered config serves JetStream", async (t) => {
  await using bus = await startRenderedBus(makeBus({ replicas: 1, auth: "none", tls: false }));
  t.diagnostic(`1-node bus healthy in ${bus.startMs}ms`);
  assert.ok(!bus.rendered[0]!.config.includes("cluster {"));
  await roundTrip(bus, {});
});

/** Starts one server per config file and waits until each is healthy and, in a cluster, the meta group has every peer current. */
async function startServers(
  binary: string,
  configFiles: readonly string[],
  processes: ManagedProcess[],
  monitorUrls: readonly string[],
  replicas: number,
): Promise<void> {
  for (const file of configFiles) processes.push(await spawnProcess(binary, ["-c", file], { cwd: "/" }));
  const failWhen = Promise.race(
    processes.map((p) =>
      p.exited.then((exit): never => {
        throw new Error(`nats-server exited (${JSON.stringify(exit)}) before the bus was healthy:\n${p.output()}`);
      }),
    ),
  );
  failWhen.catch(() => undefined);
  await Promise.all(
    monitorUrls.map((url) =>
      waitFor(
        `${url}/healthz?js-enabled-only=true`,
        async () => ((await getJson(`${url}/healthz?js-enabled-only=true`))?.["status"] === "ok" ? true : undefined),
        {
          timeoutMs: 20_000,
          failWhen,
        },
      ),
    ),
  );
  if (replicas > 1) {
    await waitFor(
      "a JetStream meta leader with every peer current",
      async () => {
        // Only the leader reports its peers (meta_cluster.replicas).
        for (const url of monitorUrls) {
          const meta = (await getJson(`${url}/jsz`))?.["meta_cluster"] as
            | { leader?: string; cluster_size?: number; replicas?: { current: boolean }[] }
            | undefined;
          const current = (meta?.replicas ?? []).filter((r) => r.current).length;
          if (meta?.leader && meta.cluster_size === replicas && current === replicas - 1) return true;
        }
        return undefined;
      },
      { timeoutMs: 20_000, failWhen },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// NATS Streaming (STAN): the same plan on any platform, rendered with the same writer and values.

function stanBus(native: Record<string, unknown> = {}, name = "legacy"): ResolvedEventBus {
  const result = validate({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name }, spec: { nats: { native } } });
  if (!result.ok) throw new Error(`invalid test manifest: ${JSON.stringify(result.issues)}`);
  return result.bus;
}

function stanLocalPlan(native: Record<string, unknown> = {}): StanPlan {
  return planStan(stanBus(native), { platform: "local", ports: fixedPorts(3) });
}

test("natsconf - STAN: a token given as a value is in the secrets include only; without a token there is no include, authorization or secrets file", () => {
  const plan = stanLocalPlan({ auth: "token" });
  const { config, secrets } = renderStanConfig(plan, 0, { storeDir: "/s", logDir: "/l", token: { value: "T0KEN-1" } });
  assert.ok(!config.includes("T0KEN-1"));
  assert.match(config, /^include "nats-secrets\.conf"$/m);
  assert.match(config, /^authorization \{\n {2}token: \$EVENTBUS_TOKEN\n\}$/m);
  assert.equal(secrets, '# The client token of a NATS Streaming EventBus, included by its servers\' configs. Keep it private.\nEVENTBUS_TOKEN: "T0KEN-1"\n');
  // The secrets include names no server: one file serves them all.
  assert.equal(renderStanConfig(plan, 2, { storeDir: "/s", logDir: "/l", token: { value: "T0KEN-1" } }).secrets, secrets);

  const open = renderStanConfig(stanLocalPlan(), 1, { storeDir: "/s", logDir: "/l" });
  assert.equal(open.secrets, undefined);
  for (const absent of ["include", "authorization", "$"]) assert.ok(!open.config.includes(absent), absent);
});

test("natsconf - STAN: a token given as an environment variable is referenced by name, with no include and no secrets file", () => {
  const plan = stanLocalPlan({ auth: "token" });
  const { config, secrets } = renderStanConfig(plan, 0, { storeDir: "/s", logDir: "/l", token: { env: "STAN_TOKEN" } });
  assert.match(config, /^ {2}token: \$STAN_TOKEN$/m);
  assert.ok(!config.includes("include"));
  assert.equal(secrets, undefined);
  assert.throws(() => renderStanConfig(plan, 0, { storeDir: "/s", logDir: "/l", token: { env: "EVENTBUS_TOKEN" } }), InvalidValueError);
});

test("natsconf - STAN: a local plan renders its host, ports, routes, peers and paths; the Kubernetes names appear nowhere", () => {
  const plan = stanLocalPlan({ maxAge: "4h35m", maxBytes: "0" });
  const { config } = renderStanConfig(plan, 1, { storeDir: "/var/bus/1/store", logDir: "/var/bus/1/raft" });
  assert.match(config, /^listen: "127\.0\.0\.1:20001"$/m);
  assert.match(config, /^http: "127\.0\.0\.1:20201"$/m);
  assert.match(config, /^ {2}listen: "127\.0\.0\.1:20101"$/m);
  assert.match(config, /^ {2}advertise: "127\.0\.0\.1:20101"$/m);
  assert.match(config, /^ {2}routes: \["nats:\/\/127\.0\.0\.1:20100", "nats:\/\/127\.0\.0\.1:20101", "nats:\/\/127\.0\.0\.1:20102"\]$/m);
  assert.match(config, /^ {4}peers: \["eventbus-legacy-stan-0", "eventbus-legacy-stan-1", "eventbus-legacy-stan-2"\]$/m);
  assert.match(config, /^ {2}dir: "\/var\/bus\/1\/store"$/m);
  assert.match(config, /^ {4}log_path: "\/var\/bus\/1\/raft"$/m);
  assert.match(config, /^ {4}max_age: "4h35m"$/m);
  assert.match(config, /^ {4}max_bytes: 0$/m);
  assert.doesNotMatch(config, /\.svc|0\.0\.0\.0|\/data\/stan/);
  // Deterministic: the same input, and an equal plan built again, give identical bytes.
  assert.equal(
    renderStanConfig(stanLocalPlan({ maxAge: "4h35m", maxBytes: "0" }), 1, { storeDir: "/var/bus/1/store", logDir: "/var/bus/1/raft" }).config,
    config,
  );
});

test("natsconf - STAN: material that does not fit the plan, a bad server index, unsafe paths and values are typed errors naming the key", () => {
  const token = stanLocalPlan({ auth: "token" });
  const open = stanLocalPlan();
  const material: StanServerMaterial = { storeDir: "/s", logDir: "/l", token: { value: "t" } };
  assert.throws(() => renderStanConfig(token, 3, material), UnknownServerError);
  assert.throws(() => renderStanConfig(token, 0.5, material), UnknownServerError);
  assert.throws(
    () => renderStanConfig(token, 0, { storeDir: "/s", logDir: "/l" }),
    (err: unknown) => isNatsConfError(err, NatsConfErrorCode.materialMismatch),
  );
  assert.throws(() => renderStanConfig(open, 0, material), MaterialMismatchError);
  assert.throws(() => renderStanConfig(token, 0, material, { secretsInclude: "/etc/nats-secrets.conf" }), InvalidValueError);
  assert.throws(() => renderStanConfig(token, 0, material, { secretsInclude: 'x".conf' }), InvalidValueError);
  assert.throws(
    () => renderStanConfig(open, 0, { storeDir: " ", logDir: "/l" }),
    (err: unknown) => err instanceof InvalidValueError && err.path === "streaming.dir",
  );
  assert.throws(
    () => renderStanConfig(open, 0, { storeDir: "/s", logDir: "" }),
    (err: unknown) => err instanceof InvalidValueError && err.path === "streaming.cluster.log_path",
  );
  assert.throws(
    () => renderStanConfig({ ...token, limits: { ...token.limits, maxMsgs: 1.5 } }, 0, material),
    (err: unknown) => err instanceof InvalidValueError && err.path === "streaming.store_limits.max_msgs",
  );
  const cases: [string, StanPlan, StanServerMaterial][] = [
    ["streaming.dir", open, { storeDir: "/s\ninclude /etc/ZQX", logDir: "/l" }],
    ["streaming.cluster.log_path", open, { storeDir: "/s", logDir: "/l\u0000ZQX" }],
    ["authorization.token", token, { storeDir: "/s", logDir: "/l", token: { value: "t\rZQX" } }],
    ["streaming.id", { ...open, clusterId: "id\u2028ZQX" }, { storeDir: "/s", logDir: "/l" }],
  ];
  for (const [path, plan, bad] of cases) {
    assert.throws(
      () => renderStanConfig(plan, 0, bad),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeValueError, `${path}: ${String(err)}`);
        assert.equal(err.path, path);
        assert.ok(!err.message.includes("ZQX"), `the message repeats the value: ${err.message}`);
        return true;
      },
    );
  }
  // Quotes and backslashes in a path stay one literal string.
  assert.match(renderStanConfig(open, 0, { storeDir: '/s "q" \\x', logDir: "/l" }).config, /^ {2}dir: "\/s \\"q\\" \\\\x"$/m);
});

test("natsconf - STAN: a 3-server local plan's rendered configs run as a nats-streaming-server cluster: raft leader, its store and limits, token enforced", async () => {
  await using dir = await tempDir("eventbus-natsconf-stan-");
  const plan = planStan(stanBus({ auth: "token", maxAge: "48h", maxMsgs: 5000 }), { platform: "local", ports: await freePorts(3) });
  const credentials = generateCredentials();
  const binary = findBinary(NATS_STREAMING_SERVER, resolveStanVersion("latest").serverVersion);
  const servers: ManagedProcess[] = [];
  try {
    for (const server of plan.servers) {
      const serverDir = join(dir.path, String(server.index));
      const rendered = renderStanConfig(plan, server.index, {
        storeDir: join(serverDir, "store"),
        logDir: join(serverDir, "raft"),
        token: { value: credentials.token },
      });
      await mkdir(serverDir, { recursive: true, mode: 0o700 });
      await writeFile(join(serverDir, CONFIG_FILE_NAME), rendered.config, { mode: 0o600 });
      await writeFile(join(serverDir, SECRETS_FILE_NAME), rendered.secrets!, { mode: 0o600 });
      // Run from / so that the include must resolve against the config's directory.
      servers.push(await spawnProcess(binary, ["-sc", join(serverDir, CONFIG_FILE_NAME)], { cwd: "/" }));
    }
    const failWhen = Promise.race(
      servers.map((s, i) =>
        s.exited.then((): never => {
          throw new Error(`stan ${i} exited:\n${s.output()}`);
        }),
      ),
    );
    const states = await waitFor(
      "a STAN raft leader and two followers",
      async () => {
        const all = await Promise.all(plan.servers.map((s) => getJson(`http://127.0.0.1:${s.ports.monitor}/streaming/serverz`)));
        if (all.some((s) => s?.["state"] !== "CLUSTERED")) return undefined;
        return all.filter((s) => s!["role"] === "Leader").length === 1 ? all : undefined;
      },
      { timeoutMs: 30_000, failWhen },
    );
    assert.deepEqual(
      states.map((s) => [s!["cluster_id"], s!["node_id"]]).sort(),
      plan.servers.map((s) => ["eventbus-legacy", s.name]),
    );
    const log = servers[0]!.output();
    assert.match(log, /Messages\s*:\s*5000\b/);
    assert.match(log, /Age\s*:\s*48h0m0s/);
    assert.match(log, new RegExp(`Store location: ${join(dir.path, "0", "store")}`));
    const nc = await connect({ servers: [`nats://127.0.0.1:${plan.servers[0]!.ports.client}`], token: credentials.token, timeout: 5_000 });
    await nc.flush();
    await nc.close();
    await assert.rejects(
      connect({ servers: [`nats://127.0.0.1:${plan.servers[1]!.ports.client}`], timeout: 5_000, reconnect: false }),
      /Authorization Violation/i,
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});
