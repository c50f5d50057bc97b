import assert from "node:assert/strict";
import { test } from "node:test";

import { Duration, jetStreamObjectNames, Quantity, stanObjectNames, validate, type ResolvedEventBus } from "../src/api/index.js";
import {
  DEFAULT_PORTS,
  InvalidPlacementError,
  isPlanError,
  planJetStream,
  PlanErrorCode,
  planStan,
  stanCredentialMaterial,
  WrongModeError,
  type JetStreamPlan,
  type Placement,
  type StanPlan,
} from "../src/plan/index.js";
import { generateCredentials } from "../src/secrets/index.js";
import { UnknownVersionError } from "../src/versions/index.js";

function bus(metadata: Record<string, unknown>, spec: Record<string, unknown>): ResolvedEventBus {
  const result = validate({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata, spec });
  if (!result.ok) throw new Error(`invalid test manifest: ${JSON.stringify(result.issues)}`);
  return result.bus;
}

const streamDefaults = {
  maxMsgs: 50_000,
  maxAge: Duration.parse("168h"),
  maxBytes: -1,
  replicas: 3,
  duplicates: Duration.parse("300s"),
  retention: "limits",
  discard: "old",
} as const;

const localPorts = [
  { client: 14222, cluster: 16222, monitor: 18222 },
  { client: 14223, cluster: 16223, monitor: 18223 },
  { client: 14224, cluster: 16224, monitor: 18224 },
];

test("plan - a 1-replica local bus: one server on 127.0.0.1 with no routes, stream replicas capped at 1", () => {
  const dev = bus({ name: "dev" }, { jetstream: { version: "2.10", replicas: 1, auth: "none", tls: { enabled: false } } });
  const expected: JetStreamPlan = {
    kind: "jetstream",
    busName: "dev",
    platform: "local",
    version: { name: "2.10", server: "2.10.29" },
    clusterName: "eventbus-dev-js",
    replicas: 1,
    servers: [{ index: 0, name: "eventbus-dev-js-0", host: "127.0.0.1", ports: localPorts[0]!, routes: [] }],
    listenHost: "127.0.0.1",
    auth: "none",
    tls: false,
    tlsNames: { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] },
    storage: { persistent: true, maxMemoryStoreBytes: -1, maxFileStoreBytes: 1024 ** 4, passedSettings: [] },
    maxPayloadBytes: 1024 * 1024,
    lameDuckDuration: Duration.parse("30s"),
    lameDuckGracePeriod: Duration.parse("2s"),
    connectRetries: 120,
    accounts: { jetstream: "js", system: "sys" },
    stream: { name: "default", subjects: ["default.*.*"], config: { ...streamDefaults, replicas: 1 } },
    objects: jetStreamObjectNames("dev"),
    startArgs: [],
  };
  assert.deepStrictEqual(planJetStream(dev, { platform: "local", ports: [localPorts[0]!] }), expected);
});

test("plan - a 3-replica local bus: routes to every server, itself included, settings and persistence carried over", () => {
  const b = bus(
    { name: "default" },
    {
      jetstream: {
        version: "2.11",
        persistence: { volumeSize: "10Gi" },
        settings: "max_memory_store: 256MB\n",
        maxPayload: "2MB",
        streamConfig: "maxAge: 72h\nmaxMsgs: 1000\n",
        startArgs: ["-D"],
      },
    },
  );
  const plan = planJetStream(b, { platform: "local", ports: localPorts });
  const routes = (_i: number) => [16222, 16223, 16224].map((p) => `nats-route://127.0.0.1:${p}`);
  const expected: JetStreamPlan = {
    kind: "jetstream",
    busName: "default",
    platform: "local",
    version: { name: "2.11", server: "2.11.17" },
    clusterName: "eventbus-default-js",
    replicas: 3,
    servers: localPorts.map((ports, i) => ({ index: i, name: `eventbus-default-js-${i}`, host: "127.0.0.1", ports, routes: routes(i) })),
    listenHost: "127.0.0.1",
    auth: "basic",
    tls: true,
    tlsNames: { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] },
    storage: {
      persistent: true,
      maxMemoryStoreBytes: 256 * 1024 ** 2,
      // The 1TB default is capped at the volume.
      maxFileStoreBytes: 10 * 1024 ** 3,
      passedSettings: [],
      volumeSize: Quantity.parse("10Gi"),
      accessMode: "ReadWriteOnce",
    },
    maxPayloadBytes: 2 * 1024 ** 2,
    lameDuckDuration: Duration.parse("30s"),
    lameDuckGracePeriod: Duration.parse("2s"),
    connectRetries: 120,
    accounts: { jetstream: "js", system: "sys" },
    stream: { name: "default", subjects: ["default.*.*"], config: { ...streamDefaults, maxAge: Duration.parse("72h"), maxMsgs: 1000 } },
    objects: jetStreamObjectNames("default"),
    startArgs: ["-D"],
  };
  assert.deepStrictEqual(plan, expected);
  assert.deepEqual(
    plan.servers.map((s) => s.routes),
    // Every server routes to all three, itself too: nats-server sizes a cold-started meta group by
    // its route count, and skips the route to itself.
    [0, 1, 2].map(() => ["nats-route://127.0.0.1:16222", "nats-route://127.0.0.1:16223", "nats-route://127.0.0.1:16224"]),
  );
});

test("plan - a local placement may name its host, which servers listen on and are reached at", () => {
  const b = bus({ name: "default" }, { jetstream: { version: "latest" } });
  const plan = planJetStream(b, { platform: "local", ports: localPorts, host: "127.0.0.2" });
  assert.equal(plan.listenHost, "127.0.0.2");
  assert.deepEqual(
    plan.servers.map((s) => s.host),
    ["127.0.0.2", "127.0.0.2", "127.0.0.2"],
  );
  assert.deepEqual(plan.servers[0]!.routes, ["nats-route://127.0.0.2:16222", "nats-route://127.0.0.2:16223", "nats-route://127.0.0.2:16224"]);
});

test("plan - a 3-replica Kubernetes bus: pod DNS names, default ports, Service TLS names, Argo's lame duck", () => {
  const b = bus(
    { name: "default", namespace: "ignored" },
    { jetstream: { version: "latest", persistence: { storageClassName: "standard", volumeSize: "20Gi" } } },
  );
  const plan = planJetStream(b, { platform: "kubernetes", namespace: "argo-events" });
  const svc = "eventbus-default-js-svc";
  const host = (i: number) => `eventbus-default-js-${i}.${svc}.argo-events.svc`;
  const ports = { client: 4222, cluster: 6222, monitor: 8222 };
  const expected: JetStreamPlan = {
    kind: "jetstream",
    busName: "default",
    namespace: "argo-events",
    platform: "kubernetes",
    version: { name: "latest", server: "2.10.29" },
    clusterName: "eventbus-default-js",
    replicas: 3,
    servers: [0, 1, 2].map((i) => ({
      index: i,
      name: `eventbus-default-js-${i}`,
      host: host(i),
      ports,
      routes: [0, 1, 2].map((j) => `nats-route://${host(j)}:6222`),
    })),
    listenHost: "0.0.0.0",
    auth: "basic",
    tls: true,
    tlsNames: {
      dnsNames: [
        svc,
        `${svc}.argo-events`,
        `${svc}.argo-events.svc`,
        `${svc}.argo-events.svc.cluster.local`,
        `*.${svc}`,
        `*.${svc}.argo-events`,
        `*.${svc}.argo-events.svc`,
        `*.${svc}.argo-events.svc.cluster.local`,
        "localhost",
      ],
      ipAddresses: ["127.0.0.1"],
    },
    storage: {
      persistent: true,
      maxMemoryStoreBytes: -1,
      maxFileStoreBytes: 20 * 1024 ** 3,
      passedSettings: [],
      volumeSize: Quantity.parse("20Gi"),
      storageClassName: "standard",
      accessMode: "ReadWriteOnce",
    },
    maxPayloadBytes: 1024 ** 2,
    lameDuckDuration: Duration.parse("30s"),
    lameDuckGracePeriod: Duration.parse("10s"),
    connectRetries: 120,
    accounts: { jetstream: "js", system: "sys" },
    stream: { name: "default", subjects: ["default.*.*"], config: streamDefaults },
    objects: jetStreamObjectNames("default"),
    startArgs: [],
  };
  assert.deepStrictEqual(plan, expected);
  assert.deepEqual(plan.servers[0]!.ports, { client: DEFAULT_PORTS.client, cluster: DEFAULT_PORTS.cluster, monitor: DEFAULT_PORTS.monitor });
});

test("plan - a Kubernetes bus without persistence has a store that does not survive the pod", () => {
  const plan = planJetStream(bus({ name: "default" }, { jetstream: { version: "latest" } }), { platform: "kubernetes", namespace: "ns" });
  assert.deepStrictEqual(plan.storage, { persistent: false, maxMemoryStoreBytes: -1, maxFileStoreBytes: 1024 ** 4, passedSettings: [] });
});

test("plan - the same bus and placement give a deep-equal plan, and the plan does not share the placement's arrays", () => {
  const b = bus({ name: "default" }, { jetstream: { version: "2.10", startArgs: ["-D"] } });
  const placement: Placement = { platform: "local", ports: localPorts };
  const first = planJetStream(b, placement);
  assert.deepStrictEqual(planJetStream(b, placement), first);
  assert.equal(JSON.stringify(planJetStream(b, placement)), JSON.stringify(first));
  assert.notEqual(first.servers[0]!.ports, localPorts[0]);
  const k8s: Placement = { platform: "kubernetes", namespace: "ns" };
  assert.deepStrictEqual(planJetStream(b, k8s), planJetStream(b, k8s));
});

test("plan - a port count other than the replicas is refused with a typed error", () => {
  const b = bus({ name: "default" }, { jetstream: { version: "2.10" } });
  assert.throws(
    () => planJetStream(b, { platform: "local", ports: localPorts.slice(0, 2) }),
    (err: unknown) => {
      assert.ok(err instanceof InvalidPlacementError);
      assert.equal(err.code, PlanErrorCode.invalidPlacement);
      assert.ok(isPlanError(err, PlanErrorCode.invalidPlacement));
      assert.match(err.message, /3 replicas but the placement names ports for 2 servers/);
      return true;
    },
  );
  assert.throws(() => planJetStream(b, { platform: "local", ports: [...localPorts, localPorts[0]!] }), InvalidPlacementError);
});

test("plan - a port used twice or out of range is refused with a typed error", () => {
  const b = bus({ name: "default" }, { jetstream: { version: "2.10" } });
  const reused = [localPorts[0]!, localPorts[1]!, { client: 14224, cluster: 16222, monitor: 18224 }];
  assert.throws(() => planJetStream(b, { platform: "local", ports: reused }), /server 2 cluster port 16222 is also the server 0 cluster port/);
  const outOfRange = [localPorts[0]!, localPorts[1]!, { client: 70000, cluster: 16224, monitor: 18224 }];
  assert.throws(
    () => planJetStream(b, { platform: "local", ports: outOfRange }),
    (err: unknown) => isPlanError(err, PlanErrorCode.invalidPlacement),
  );
});

test("plan - a bus of another mode is refused with a typed error", () => {
  const stan = bus({ name: "legacy" }, { nats: { native: { replicas: 3 } } });
  assert.throws(
    () => planJetStream(stan, { platform: "kubernetes", namespace: "ns" }),
    (err: unknown) => {
      assert.ok(err instanceof WrongModeError);
      assert.equal(err.code, PlanErrorCode.wrongMode);
      assert.equal(err.actual, "nats.native");
      return true;
    },
  );
  const exotic = bus({ name: "shared" }, { jetstreamExotic: { url: "nats://nats:4222" } });
  assert.throws(() => planJetStream(exotic, { platform: "local", ports: [] }), WrongModeError);
});

test("plan - a version that is not in the versions table is the versions' typed error", () => {
  const b = bus({ name: "default" }, { jetstream: { version: "9.9" } });
  assert.throws(() => planJetStream(b, { platform: "kubernetes", namespace: "ns" }), UnknownVersionError);
});

// ---------------------------------------------------------------------------------------------
// NATS Streaming (STAN)

const stanRaftDefaults = {
  heartbeatTimeout: Duration.parse("2s"),
  electionTimeout: Duration.parse("2s"),
  leaseTimeout: Duration.parse("1s"),
  commitTimeout: Duration.parse("100ms"),
};

test("plan - a 3-replica local STAN bus: servers on 127.0.0.1, nats:// routes to every server, node IDs, Argo's store and raft defaults", () => {
  const legacy = bus({ name: "legacy" }, { nats: { native: { replicas: 3, auth: "token" } } });
  const routes = localPorts.map((p) => `nats://127.0.0.1:${p.cluster}`);
  const expected: StanPlan = {
    kind: "stan",
    busName: "legacy",
    platform: "local",
    clusterId: "eventbus-legacy",
    clusterName: "eventbus-legacy-stan",
    replicas: 3,
    servers: localPorts.map((ports, index) => ({ index, name: `eventbus-legacy-stan-${index}`, host: "127.0.0.1", ports, routes })),
    listenHost: "127.0.0.1",
    auth: "token",
    storage: { persistent: true },
    limits: { maxAge: Duration.parse("72h"), maxMsgs: 1_000_000, maxBytes: 1024 ** 3, maxSubs: 1000 },
    raft: stanRaftDefaults,
    maxPayloadBytes: 1024 * 1024,
    connectRetries: 120,
    objects: stanObjectNames("legacy"),
  };
  assert.deepStrictEqual(planStan(legacy, { platform: "local", ports: localPorts }), expected);
});

test("plan - a Kubernetes STAN bus: pod DNS names under the Service, default ports, 0.0.0.0 listeners, the manifest's limits and persistence", () => {
  const b = bus(
    { name: "archive" },
    {
      nats: {
        native: {
          replicas: 5,
          persistence: { storageClassName: "fast", volumeSize: "25Gi" },
          maxAge: "4h35m",
          maxMsgs: 0,
          maxBytes: "512MB",
          maxSubs: 7,
          maxPayload: "2MB",
          raftHeartbeatTimeout: "3s",
          raftElectionTimeout: "5s",
          raftLeaseTimeout: "500ms",
          raftCommitTimeout: "50ms",
        },
      },
    },
  );
  const plan = planStan(b, { platform: "kubernetes", namespace: "prod" });
  const host = (i: number) => `eventbus-archive-stan-${i}.eventbus-archive-stan-svc.prod.svc`;
  const ports = { client: DEFAULT_PORTS.client, cluster: DEFAULT_PORTS.cluster, monitor: DEFAULT_PORTS.monitor };
  assert.equal(plan.namespace, "prod");
  assert.equal(plan.platform, "kubernetes");
  assert.equal(plan.listenHost, "0.0.0.0");
  assert.equal(plan.auth, "none");
  assert.deepStrictEqual(
    plan.servers,
    [0, 1, 2, 3, 4].map((index) => ({
      index,
      name: `eventbus-archive-stan-${index}`,
      host: host(index),
      ports,
      routes: [0, 1, 2, 3, 4].map((i) => `nats://${host(i)}:6222`),
    })),
  );
  assert.deepStrictEqual(plan.storage, { persistent: true, volumeSize: Quantity.parse("25Gi"), storageClassName: "fast", accessMode: "ReadWriteOnce" });
  assert.deepStrictEqual(plan.limits, { maxAge: Duration.parse("4h35m"), maxMsgs: 0, maxBytes: 512 * 1024 ** 2, maxSubs: 7 });
  assert.deepStrictEqual(plan.raft, {
    heartbeatTimeout: Duration.parse("3s"),
    electionTimeout: Duration.parse("5s"),
    leaseTimeout: Duration.parse("500ms"),
    commitTimeout: Duration.parse("50ms"),
  });
  assert.equal(plan.maxPayloadBytes, 2 * 1024 ** 2);
  // Without persistence, a pod's store is an emptyDir; locally the state dir always keeps it.
  const ephemeral = bus({ name: "e" }, { nats: { native: {} } });
  assert.deepStrictEqual(planStan(ephemeral, { platform: "kubernetes", namespace: "ns" }).storage, { persistent: false });
  assert.deepStrictEqual(planStan(ephemeral, { platform: "local", ports: localPorts }).storage, { persistent: true });
});

test("plan - a STAN plan names no path and no Kubernetes name on a local placement; the same input gives a deep-equal plan", () => {
  const b = bus({ name: "legacy" }, { nats: { native: { auth: "token", persistence: {} } } });
  const placement: Placement = { platform: "local", ports: localPorts, host: "::1" };
  const plan = planStan(b, placement);
  assert.deepStrictEqual(planStan(b, placement), plan);
  assert.equal(JSON.stringify(planStan(b, placement)), JSON.stringify(plan));
  assert.notEqual(plan.servers[0]!.ports, localPorts[0]);
  assert.deepStrictEqual(
    plan.servers[1]!.routes,
    localPorts.map((p) => `nats://[::1]:${p.cluster}`),
  );
  const { objects, ...rest } = plan;
  assert.deepStrictEqual(objects, stanObjectNames("legacy"));
  assert.doesNotMatch(JSON.stringify(rest), /\.svc|\/data|\/etc|0\.0\.0\.0/);
});

test("plan - STAN: a local port count other than the replicas or a port used twice is refused; a bus of another mode too", () => {
  const b = bus({ name: "legacy" }, { nats: { native: {} } });
  assert.throws(
    () => planStan(b, { platform: "local", ports: localPorts.slice(0, 1) }),
    (err: unknown) => isPlanError(err, PlanErrorCode.invalidPlacement),
  );
  const reused = [localPorts[0]!, localPorts[1]!, { client: 14222, cluster: 16224, monitor: 18224 }];
  assert.throws(() => planStan(b, { platform: "local", ports: reused }), /server 2 client port 14222 is also the server 0 client port/);
  const js = bus({ name: "default" }, { jetstream: { version: "2.10" } });
  assert.throws(
    () => planStan(js, { platform: "kubernetes", namespace: "ns" }),
    (err: unknown) => err instanceof WrongModeError && err.expected === "nats.native" && err.actual === "jetstream",
  );
  const exotic = bus({ name: "shared" }, { nats: { exotic: { url: "nats://stan:4222", clusterID: "stan" } } });
  assert.throws(() => planStan(exotic, { platform: "local", ports: [] }), WrongModeError);
});

test("plan - STAN credential material: the token as a value with token auth, nothing without", () => {
  const c = generateCredentials();
  const token = planStan(bus({ name: "t" }, { nats: { native: { auth: "token" } } }), { platform: "kubernetes", namespace: "ns" });
  const none = planStan(bus({ name: "n" }, { nats: { native: {} } }), { platform: "kubernetes", namespace: "ns" });
  assert.deepStrictEqual(stanCredentialMaterial(token, c), { token: { value: c.token } });
  assert.deepStrictEqual(stanCredentialMaterial(none, c), {});
});
