// `eventbus status` has one model and one formatter for every kind of bus: each shows the columns
// its source knows and no empty ones. Pure data here; the commands' tests (cli-local, cli-client,
// cli-kube-status) run the same formatter against real buses.
import assert from "node:assert/strict";
import { test } from "node:test";

import { localView } from "../src/cli/local-view.js";
import { formatStatus, kubeView, snapshotView } from "../src/view/index.js";
import type { BusSnapshot } from "../src/observe/index.js";
import type { BusReport } from "../src/platforms/local/index.js";

const header = (text: string, first: string) =>
  text
    .split("\n")
    .find((l) => l.startsWith(first))
    ?.split(/\s{2,}/) ?? [];

const report: BusReport = {
  name: "local",
  running: true,
  supervised: true,
  healthy: true,
  problems: [],
  generation: 2,
  persistent: true,
  storage: "persistent: kept",
  version: "2.10",
  replicas: 2,
  servers: [
    {
      name: "eventbus-local-js-0",
      phase: "healthy",
      pid: 101,
      version: "2.10.29",
      ports: { client: 4222, cluster: 6222, monitor: 8222 },
      restarts: 0,
      connections: 3,
    },
    { name: "eventbus-local-js-1", phase: "backoff", version: "2.10.29", ports: { client: 4223, cluster: 6223, monitor: 8223 }, restarts: 2 },
  ],
  jetstream: { leader: "eventbus-local-js-0", peers: ["eventbus-local-js-0", "eventbus-local-js-1"], peersCurrent: 1 },
  streams: [{ name: "default", messages: 5, bytes: 500, firstSeq: 1, lastSeq: 5, consumers: 1, replicas: 2, leader: "eventbus-local-js-0", current: false }],
  events: [],
  stateDir: "/tmp/x",
  metricsUrl: "http://127.0.0.1:9000/metrics",
};

const snapshot: BusSnapshot = {
  takenAt: "2026-01-01T00:00:00Z",
  servers: [
    {
      name: "a",
      reachable: true,
      healthy: true,
      version: "2.10.29",
      uptime: "1m",
      cpu: 2,
      memoryBytes: 1000,
      connections: 1,
      routes: 2,
      jetstream: { memoryBytes: 0, maxMemoryBytes: 1, storeBytes: 10, maxStoreBytes: 100 },
    },
    { name: "b", reachable: false, healthy: false },
  ],
  jetstream: {
    metaLeader: "a",
    peers: [
      { name: "a", current: true, offline: false, lag: 0 },
      { name: "b", current: false, offline: true, lag: 0 },
    ],
  },
  stream: {
    name: "default",
    subjects: ["default.*.*"],
    config: {} as never,
    state: { messages: 7, bytes: 700, firstSeq: 1, lastSeq: 7, subjects: 2, consumers: 0 },
    cluster: { leader: "a", replicas: [{ name: "b", current: false, offline: true, lagMessages: 0 }] },
  } as unknown as BusSnapshot["stream"],
  consumers: [],
  problems: ["server b is down"],
};

test("status view - a local bus: supervisor columns (PID, ports, restarts), no monitoring ones; notes, meta group and streams with leader and currency", () => {
  const text = formatStatus(localView(report, ["server eventbus-local-js-1 is backoff"], undefined));
  assert.match(
    text,
    /^bus local: degraded, 2 server\(s\), version 2\.10 \(nats-server 2\.10\.29\), generation 2\nPROBLEM: server eventbus-local-js-1 is backoff\nstorage: persistent: kept\nmetrics: http:\/\/127\.0\.0\.1:9000\/metrics \(Prometheus text\)\n\n/,
  );
  assert.deepEqual(header(text, "SERVER"), ["SERVER", "STATE", "PID", "VERSION", "CLIENT", "CLUSTER", "MONITOR", "RESTARTS", "CONNECTIONS"]);
  assert.match(text, /\njetstream: meta leader eventbus-local-js-0, 1\/2 peers current \(eventbus-local-js-0, eventbus-local-js-1\)\n/);
  assert.deepEqual(header(text, "STREAM"), ["STREAM", "MESSAGES", "BYTES", "FIRST", "LAST", "CONSUMERS", "REPLICAS", "LEADER", "CURRENT"]);
  assert.match(text, /\ndefault\s+5\s+500\s+1\s+5\s+1\s+2\s+eventbus-local-js-0\s+no\n/);
});

test("status view - any bus from its snapshot: monitoring columns, no supervisor ones; the stream's replicas with their state", () => {
  const text = formatStatus(snapshotView("nats://x:4222", snapshot, undefined));
  assert.match(text, /^bus nats:\/\/x:4222: degraded\nPROBLEM: server b is down\n\n/);
  assert.deepEqual(header(text, "SERVER"), ["SERVER", "STATE", "VERSION", "UPTIME", "CPU", "MEMORY", "CONNECTIONS", "ROUTES", "JS STORAGE"]);
  assert.match(text, /\nb\s+down\n/);
  assert.match(text, /\njetstream: meta leader a, 1\/2 peers current \(a, b\)\n/);
  assert.deepEqual(header(text, "STREAM"), ["STREAM", "MESSAGES", "BYTES", "FIRST", "LAST", "SUBJECTS", "CONSUMERS", "REPLICAS"]);
  assert.match(text, /a \(leader\), b \(offline\)\n/);
});

test("status view - servers not readable: the note says how, and neither servers nor the meta group are shown", () => {
  const text = formatStatus(snapshotView("nats://x:4222", snapshot, "not shown: give --monitor"));
  assert.match(text, /\nservers: not shown: give --monitor\n/);
  assert.doesNotMatch(text, /SERVER|jetstream:/);
  assert.match(text, /\nSTREAM\s+MESSAGES/);
});

test("status view - an EventBus in Kubernetes: conditions not True are problems, then the conditions and Argo's status.config", () => {
  const view = kubeView("ns", "bus", {
    phase: "Degraded",
    message: "1 of 3 servers not ready",
    conditions: [
      { type: "Deployed", status: "True", reason: "Succeeded" },
      { type: "Ready", status: "False", reason: "ServersNotReady", message: "1/3 servers ready" },
    ],
    config: { jetstream: { url: "nats://s:4222" } },
  });
  const text = formatStatus(view);
  assert.deepEqual(view.problems, ["condition Ready is False (ServersNotReady): 1/3 servers ready", "degraded: 1 of 3 servers not ready"]);
  assert.match(text, /^eventbus ns\/bus: not ready, phase Degraded\n/);
  assert.deepEqual(header(text, "CONDITION"), ["CONDITION", "STATUS", "REASON", "MESSAGE", "SINCE"]);
  assert.match(text, /\nstatus\.config: \{"jetstream":\{"url":"nats:\/\/s:4222"\}\}\n$/);
  assert.deepEqual(kubeView("ns", "new", undefined).problems, ["no conditions yet: the controller has not reconciled the bus"]);
});

test("status view - a local bus with a snapshot: its servers' uptime, CPU, memory and storage from their monitoring endpoints, and the stream's replicas with their state", () => {
  const renamed: BusSnapshot = {
    ...snapshot,
    servers: snapshot.servers.map((s, i) => ({ ...s, name: `eventbus-local-js-${i}` })),
    stream: {
      ...(snapshot.stream as object),
      cluster: { leader: "eventbus-local-js-0", replicas: [{ name: "eventbus-local-js-1", current: false, offline: false, lagMessages: 12 }] },
    } as unknown as BusSnapshot["stream"],
  };
  const view = localView(report, [], renamed);
  assert.deepEqual(view.servers[0], {
    name: "eventbus-local-js-0",
    state: "healthy",
    pid: 101,
    version: "2.10.29",
    uptime: "1m",
    cpu: 2,
    memoryBytes: 1000,
    ports: { client: 4222, cluster: 6222, monitor: 8222 },
    restarts: 0,
    connections: 3,
    jetstreamStore: { used: 10, max: 100 },
  });
  // The unreachable server keeps what the supervisor knows, and nothing from the monitoring endpoint.
  assert.equal(view.servers[1]!.cpu, undefined);
  assert.equal(view.servers[1]!.state, "backoff");
  assert.equal(view.streams[0]!.replicas, "eventbus-local-js-0 (leader), eventbus-local-js-1 (behind 12)");
  const text = formatStatus(view);
  assert.deepEqual(header(text, "SERVER"), [
    "SERVER",
    "STATE",
    "PID",
    "VERSION",
    "UPTIME",
    "CPU",
    "MEMORY",
    "CLIENT",
    "CLUSTER",
    "MONITOR",
    "RESTARTS",
    "CONNECTIONS",
    "JS STORAGE",
  ]);
});
