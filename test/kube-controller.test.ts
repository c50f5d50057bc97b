import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { stringify } from "yaml";

import { connect as natsConnect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

import { formatStreamConfig, mergeConditions, validate, type ResolvedJetStream } from "../src/api/index.js";
import {
  applyObjects,
  Annotation,
  Controller,
  CONTROLLER_NAME,
  DEFAULT_INSTALL_NAMESPACE,
  FINALIZER,
  fromKubeconfig,
  Informer,
  installBundle,
  KubeApiError,
  KubeClient,
  KubeTransportError,
  LEASE_NAME,
  loadKubeConnection,
  Resources,
  WatchEventType,
  WorkQueue,
  type Clock,
  type ControllerLogEntry,
  type ControllerOptions,
  type KubeResource,
  type ResourceType,
} from "../src/platforms/kubernetes/index.js";
import { freePort, spawnProcess, startNatsServer, waitFor } from "./helpers/index.js";
import { startKubeApi, type KubeApi } from "./helpers/kube-api.js";
import { parsePrometheusText, sampleValue } from "./helpers/prometheus-text.js";

const NS = "buses";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI_MAIN = join(ROOT, "src/cli/main.ts");

/** Runs the CLI as a user would. */
function runEventbus(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", CLI_MAIN, ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") return reject(error);
      resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}
const CONTROLLER_USER = `system:serviceaccount:${DEFAULT_INSTALL_NAMESPACE}:${CONTROLLER_NAME}`;
const SCOPED_USER = `system:serviceaccount:scoped:${CONTROLLER_NAME}`;
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

type Json = Record<string, any>;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** Short timings, so that nothing in these tests waits for production delays. */
function testOptions(api: KubeApi, overrides: Partial<ControllerOptions> = {}): ControllerOptions {
  const user = api.users.get(CONTROLLER_USER);
  assert.ok(user !== undefined);
  return {
    // The controller runs as its ServiceAccount would: only the install bundle's RBAC.
    connection: fromKubeconfig(user.kubeconfigPath),
    leaderElection: { namespace: DEFAULT_INSTALL_NAMESPACE, leaseDurationMillis: 3_000, renewDeadlineMillis: 2_000, retryPeriodMillis: 300 },
    watchBackoff: { initialMillis: 50, maxMillis: 1_000, jitter: 0.1 },
    retry: { baseDelayMillis: 50, maxDelayMillis: 1_000 },
    connectTimeoutMillis: 5_000,
    deletionRecheckMillis: 300,
    exoticRecheckMillis: 1_000,
    workers: 4,
    // A cluster without Argo Events' controller: every bus is eventbus's.
    all: true,
    log: (e: ControllerLogEntry) => {
      if (e.level === "error" || process.env["EVENTBUS_TEST_LOG"]) console.error(`[controller] ${JSON.stringify(e)}`);
    },
    ...overrides,
  };
}

function jetStreamBus(name: string, jetstream: Json, extra: Json = {}): Json {
  return { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name, namespace: NS, ...extra }, spec: { jetstream } };
}

function conditionOf(bus: Json | undefined, type: string): Condition | undefined {
  return (bus?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

/** `kubectl get`'s view: the object as a meta.k8s.io Table with the CRD's printer columns. */
async function tableOf(api: KubeApi, path: string): Promise<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }> {
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    void import("node:https").then(({ request }) => {
      const req = request(
        new URL(path, api.url),
        { headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io", authorization: `Bearer ${api.token}` }, ca: api.caPem, agent: false },
        (r) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.once("end", () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        },
      );
      req.once("error", reject);
      req.end();
    });
  });
  assert.equal(res.status, 200, res.text);
  const table = JSON.parse(res.text) as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  assert.equal(table.kind, "Table");
  return table;
}

// ---------------------------------------------------------------------------------------------
// The pieces, without an API server.

/** A clock whose timers fire only when the test advances it. */
function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id);
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
  };
}

test("kube work queue - a key is queued once, comes back after done when added meanwhile, and retries back off to the cap", async () => {
  const clock = fakeClock();
  const queue = new WorkQueue({ clock, baseDelayMillis: 100, maxDelayMillis: 1_000 });
  queue.add("ns/a");
  queue.add("ns/a");
  queue.add("ns/b");
  assert.equal(queue.length, 2, "deduplicated");
  const a = await queue.get();
  assert.equal(a, "ns/a");
  queue.add("ns/a"); // while processing: not handed out twice at once
  assert.equal(queue.length, 1);
  assert.equal(await queue.get(), "ns/b");
  queue.done("ns/b");
  queue.done("ns/a");
  assert.equal(queue.length, 1, "a is back after done");
  assert.equal(await queue.get(), "ns/a");
  queue.done("ns/a");

  const delays = [1, 2, 3, 4, 5].map(() => queue.addRateLimited("ns/c"));
  assert.deepEqual(delays, [100, 200, 400, 800, 1_000], "doubling, capped");
  assert.equal(queue.length, 0);
  clock.advance(99);
  assert.equal(queue.length, 0);
  clock.advance(1);
  assert.equal(queue.length, 1, "the earliest pending add wins");
  queue.forget("ns/c");
  assert.equal(queue.failuresOf("ns/c"), 0);

  const waiting = queue.get();
  assert.equal(await waiting, "ns/c");
  const blocked = queue.get();
  queue.shutDown();
  assert.equal(await blocked, undefined, "waiters end on shutdown");
});

test("kube watch loop - lists, watches from the list's version, follows bookmarks, lists again on 410 Gone and backs off on errors", async () => {
  const item = (name: string, rv: string): KubeResource => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion: rv },
  });
  const lists = [
    { items: [item("a", "5"), item("b", "6")], resourceVersion: "10" },
    { items: [item("a", "11"), item("c", "21")], resourceVersion: "25" },
  ];
  const watches: string[] = [];
  let watchCall = 0;
  const delays: number[] = [];
  const events: string[] = [];
  const informer = new Informer(
    {
      list: async () => lists.shift() ?? { items: [item("a", "11"), item("c", "21")], resourceVersion: "25" },
      async *watch(_rt: ResourceType, selection: { resourceVersion: string }, options: { signal: AbortSignal }) {
        watches.push(selection.resourceVersion);
        watchCall++;
        if (watchCall === 1) {
          yield { type: WatchEventType.modified, object: item("a", "11") };
          yield { type: WatchEventType.bookmark, object: { metadata: { name: "", resourceVersion: "15" } } };
          throw new KubeApiError(410, "Expired", "WATCH /api/v1/configmaps", "too old resource version: 15 (20)");
        }
        if (watchCall === 2) throw new KubeTransportError("WATCH /api/v1/configmaps", "connection refused");
        if (watchCall === 3) throw new KubeTransportError("WATCH /api/v1/configmaps", "connection refused");
        // A quiet watch, until the loop aborts it.
        await new Promise((_, reject) => options.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
      },
    } as unknown as KubeClient,
    Resources.configMap,
    {
      backoff: { initialMillis: 100, maxMillis: 150, jitter: 0 },
      delay: async (ms) => void delays.push(ms),
      onAdd: (o) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onUpdate: (o) => events.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name}`),
    },
  );
  informer.start();
  await informer.synced();
  await waitFor("the fourth watch", () => (watchCall >= 4 ? true : undefined));
  await informer.stop();
  assert.deepEqual(watches, ["10", "25", "25", "25"], "watch from the list's version; after 410 from the new list's");
  assert.deepEqual(events, ["add a@5", "add b@6", "update a@11", "add c@21", "delete b"], "the relist reports only what changed");
  assert.deepEqual(delays, [100, 150], "capped exponential backoff between failed watches, none after 410");
  assert.deepEqual(
    informer
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ["a", "c"],
  );
});

test("kube config - token, token file, client certificate, exec plugin and in-cluster connections; auth-provider is refused", async () => {
  const dir = await mkdtemp(join(tmpdir(), "eventbus-kubeconfig-"));
  try {
    const ca = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
    await writeFile(join(dir, "ca.crt"), ca);
    await writeFile(join(dir, "client.crt"), "CERT");
    await writeFile(join(dir, "client.key"), "KEY");
    await writeFile(join(dir, "token"), "file-token\n");
    const config = (user: Json, extra: Json = {}) =>
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://10.0.0.1:6443/", "certificate-authority": "ca.crt" } }],
        users: [{ name: "u", user }],
        contexts: [{ name: "ctx", context: { cluster: "c", user: "u", namespace: "team" } }],
        "current-context": "ctx",
        ...extra,
      });
    await writeFile(join(dir, "token.kubeconfig"), config({ token: "t0k3n" }));
    assert.deepEqual(fromKubeconfig(join(dir, "token.kubeconfig")), {
      server: "https://10.0.0.1:6443",
      caPem: ca,
      token: "t0k3n",
      namespace: "team",
      source: join(dir, "token.kubeconfig"),
    });
    await writeFile(join(dir, "cert.kubeconfig"), config({ "client-certificate": "client.crt", "client-key-data": Buffer.from("KEY").toString("base64") }));
    const cert = fromKubeconfig(join(dir, "cert.kubeconfig"));
    assert.equal(cert.certPem, "CERT");
    assert.equal(cert.keyPem, "KEY");
    await writeFile(join(dir, "file.kubeconfig"), config({ tokenFile: "token" }));
    assert.equal(fromKubeconfig(join(dir, "file.kubeconfig")).tokenFile, join(dir, "token"));
    await writeFile(join(dir, "exec.kubeconfig"), config({ exec: { command: "aws", apiVersion: "client.authentication.k8s.io/v1beta1" } }));
    assert.equal(fromKubeconfig(join(dir, "exec.kubeconfig")).exec?.command, "aws");
    await writeFile(join(dir, "auth-provider.kubeconfig"), config({ "auth-provider": { name: "gcp" } }));
    assert.throws(
      () => fromKubeconfig(join(dir, "auth-provider.kubeconfig")),
      /users\[u\]\.user\.auth-provider is not supported: use an exec credential plugin instead/,
    );

    await writeFile(join(dir, "namespace"), "argo-events");
    const pod = loadKubeConnection({ env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }, inClusterDir: dir });
    assert.deepEqual(pod, { server: "https://10.0.0.1:443", caPem: ca, tokenFile: join(dir, "token"), namespace: "argo-events", source: "in-cluster" });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("kube status - a condition keeps its lastTransitionTime until its status changes", () => {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const first = mergeConditions(undefined, [{ type: "Ready", status: "False", reason: "ServersNotReady", message: "0/3 servers ready" }], t0);
  assert.deepEqual(first, [
    { type: "Ready", status: "False", reason: "ServersNotReady", message: "0/3 servers ready", lastTransitionTime: "2026-01-01T00:00:00Z" },
  ]);
  const same = mergeConditions(first, [{ type: "Ready", status: "False", reason: "ServersNotReady", message: "1/3 servers ready" }], t0 + 60_000);
  assert.equal(same[0]?.lastTransitionTime, "2026-01-01T00:00:00Z");
  const flipped = mergeConditions(same, [{ type: "Ready", status: "True", reason: "AllServersReady" }], t0 + 120_000);
  assert.equal(flipped[0]?.lastTransitionTime, "2026-01-01T00:02:00Z");
  assert.deepEqual(
    mergeConditions(flipped, [{ type: "Configured", status: "True" }], t0).map((c) => c.type),
    ["Configured", "Ready"],
    "others are kept",
  );
});

test("kube install - the bundle: CRD first, least-privilege RBAC without wildcards, the Lease only by name, a locked-down Deployment", () => {
  const objects = installBundle({ namespace: "ops", image: "registry.example.com/eventbus:0.1.0" });
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata.name}`),
    [
      "CustomResourceDefinition/eventbus.argoproj.io",
      "Namespace/ops",
      "ServiceAccount/eventbus-controller",
      "ClusterRole/eventbus-controller",
      "ClusterRoleBinding/eventbus-controller",
      "Role/eventbus-controller-leader-election",
      "RoleBinding/eventbus-controller-leader-election",
      "Deployment/eventbus-controller",
    ],
  );
  for (const o of objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role")) {
    for (const rule of o["rules"] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
      assert.ok(![...rule.apiGroups, ...rule.resources, ...rule.verbs].includes("*"), `no wildcard in ${JSON.stringify(rule)}`);
    }
  }
  const secretRule = (objects[3]!["rules"] as { resources: string[]; verbs: string[] }[]).find((r) => r.resources.includes("secrets"));
  assert.deepEqual(secretRule?.verbs, ["get", "list", "watch", "create", "patch", "delete"]);
  const pvcRule = (objects[3]!["rules"] as { resources: string[]; verbs: string[] }[]).find((r) => r.resources.includes("persistentvolumeclaims"));
  assert.deepEqual(pvcRule?.verbs, ["get", "list", "watch", "create", "patch", "delete"]);
  const cronJobRule = (objects[3]!["rules"] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).find((r) => r.resources.includes("cronjobs"));
  assert.deepEqual([cronJobRule?.apiGroups, cronJobRule?.verbs], [["batch"], ["get", "list", "watch", "create", "patch", "delete"]]);
  const deployment = objects[7] as Json;
  const container = deployment.spec.template.spec.containers[0];
  assert.equal(container.image, "registry.example.com/eventbus:0.1.0");
  assert.deepEqual(container.args, ["controller", "--health-port=8081", "--lease-namespace=ops", "--eventbus-image=registry.example.com/eventbus:0.1.0"]);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(deployment.spec.template.spec.securityContext.runAsNonRoot, true);

  const scoped = installBundle({ watchNamespace: "team" });
  assert.deepEqual(
    scoped.filter((o) => o.kind.endsWith("Role")).map((o) => `${o.kind}/${o.metadata.namespace}`),
    ["Role/team", "Role/argo-events"],
  );
});

test("kube cli - install prints the bundle as YAML documents or a JSON List; bad flags exit 2", async () => {
  const yaml = await runEventbus(["install", "--namespace", "ops", "--image", "registry.example.com/eventbus:0.1.0"]);
  assert.equal(yaml.code, 0, yaml.stderr);
  const kinds = [...yaml.stdout.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);
  assert.deepEqual(kinds, [
    "CustomResourceDefinition",
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Deployment",
  ]);
  assert.equal(yaml.stdout.split(/^---$/m).length, 8);
  const json = await runEventbus(["install", "-o", "json"]);
  assert.equal(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout) as { kind: string; items: Json[] };
  assert.equal(list.kind, "List");
  assert.equal(list.items.length, 8);
  const bad = await runEventbus(["install", "--namespace", "Not_A_Namespace"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--namespace "Not_A_Namespace": must be a DNS-1123 label/);
  const noConfig = await runEventbus(["controller", "--kubeconfig", "/nonexistent/kubeconfig"]);
  assert.equal(noConfig.code, 2);
  assert.equal(noConfig.stderr, "eventbus: kubeconfig: /nonexistent/kubeconfig cannot be read (ENOENT)\n");
});

describe("kube controller - against a real API server", () => {
  let api: KubeApi;
  let admin: KubeClient;
  let controller: Controller;

  const get = (rt: ResourceType, name: string, namespace: string = NS) => admin.get<Json & KubeResource>(rt, namespace, name);
  const getBus = (name: string) => get(Resources.eventBus, name);
  const waitBus = (name: string, what: string, ok: (bus: Json) => boolean) =>
    waitFor(
      `EventBus ${name}: ${what}`,
      async () => {
        const bus = await getBus(name);
        return bus !== undefined && ok(bus) ? bus : undefined;
      },
      WAIT,
    );
  const condition = (name: string, type: string, status: string, reason?: string) =>
    waitBus(name, `${type}=${status}${reason ? `/${reason}` : ""}`, (bus) => {
      const c = conditionOf(bus, type);
      return c?.status === status && (reason === undefined || c.reason === reason) && bus.status?.observedGeneration === bus.metadata.generation;
    });
  const createBus = async (bus: Json) => admin.create(Resources.eventBus, NS, bus);
  const patchBus = async (name: string, patch: Json) =>
    admin.json("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/${name}`, {
      verb: "patch",
      resource: "eventbus",
      body: patch,
      contentType: "application/merge-patch+json",
    });
  const versions = async (names: readonly [ResourceType, string][]) =>
    Object.fromEntries(await Promise.all(names.map(async ([rt, n]) => [`${rt.kind}/${n}`, (await get(rt, n))?.metadata.resourceVersion] as const)));
  const jsObjects = (bus: string): [ResourceType, string][] => [
    [Resources.statefulSet, `eventbus-${bus}-js`],
    [Resources.service, `eventbus-${bus}-js-svc`],
    [Resources.configMap, `eventbus-${bus}-js-config`],
    [Resources.secret, `eventbus-${bus}-js-server`],
    [Resources.secret, `eventbus-${bus}-js-client-auth`],
    [Resources.podDisruptionBudget, `eventbus-${bus}-js-pdb`],
  ];
  /** Writes a StatefulSet's status as the kubelet and the StatefulSet controller would. */
  const setReady = async (sts: string, ready: number) => {
    const res = await api.request("PATCH", `/apis/apps/v1/namespaces/${NS}/statefulsets/${sts}/status`, {
      body: { status: { replicas: ready, readyReplicas: ready, availableReplicas: ready, currentReplicas: ready, updatedReplicas: ready } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(res.status, 200, res.text);
  };

  before(async () => {
    api = await startKubeApi({ users: [{ name: CONTROLLER_USER }, { name: SCOPED_USER }] });
    admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
    // GIVEN the install bundle (CRD, RBAC, …; the Deployment stays without pods here) and a namespace for buses.
    await applyObjects(admin, installBundle());
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await waitFor(
      "the EventBus CRD to be established",
      async () => {
        const crd = await admin.get<Json & KubeResource>(Resources.customResourceDefinition, undefined, "eventbus.argoproj.io");
        return (crd?.status?.conditions as Condition[] | undefined)?.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
      },
      WAIT,
    );
    controller = new Controller(
      testOptions(api, { leaderElection: { ...(testOptions(api).leaderElection as object), identity: "controller-a" } as ControllerOptions["leaderElection"] }),
    );
    await controller.start();
    await waitFor("controller a to lead", () => (controller.isLeader ? true : undefined), WAIT);
  });

  after(async () => {
    await controller?.stop();
    admin?.close();
    await api?.stop();
  });

  test("kube controller - a new JetStream bus gets Argo's objects, owner references, finalizer, conditions and status.config", async () => {
    await createBus(jetStreamBus("main", { version: "2.10", replicas: 3, persistence: { volumeSize: "1Gi" }, streamConfig: "maxAge: 24h\n" }));
    const bus = await condition("main", "Deployed", "True", "Succeeded");

    assert.deepEqual(bus.metadata.finalizers, [FINALIZER]);
    const configured = conditionOf(bus, "Configured");
    assert.equal(configured?.status, "True");
    assert.equal(configured?.reason, "Succeeded");
    const ready = conditionOf(bus, "Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.message, "0/3 servers ready (a quorum is 2)");
    assert.equal(bus.status.phase, "Pending");
    for (const c of bus.status.conditions as Condition[]) assert.match(c.lastTransitionTime ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const resolved = validate({ ...bus, status: undefined, metadata: { name: "main", namespace: NS } });
    assert.ok(resolved.ok);
    assert.deepEqual(bus.status.config, {
      jetstream: {
        url: `nats://eventbus-main-js-svc.${NS}.svc:4222`,
        accessSecret: { name: "eventbus-main-js-client-auth", key: "client-auth" },
        streamConfig: formatStreamConfig((resolved.bus.spec as ResolvedJetStream).streamConfig),
      },
    });
    assert.match(bus.status.config.jetstream.streamConfig, /\nmaxage: 24h\n.*maxmsgs: 50000\n/s);

    for (const [rt, name] of jsObjects("main")) {
      const o = await get(rt, name);
      assert.ok(o !== undefined, `${rt.kind} ${name} exists`);
      assert.deepEqual(o.metadata.labels, { controller: "eventbus-controller", "eventbus-name": "main", "owner-name": "main" }, `${name} labels`);
      assert.deepEqual(
        o.metadata.ownerReferences,
        [{ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", name: "main", uid: bus.metadata.uid, controller: true, blockOwnerDeletion: true }],
        `${name} owner`,
      );
    }
    const sts = (await get(Resources.statefulSet, "eventbus-main-js"))!;
    assert.equal(sts.spec.replicas, 3);
    assert.equal(sts.spec.podManagementPolicy, "Parallel");
    assert.equal(sts.spec.volumeClaimTemplates[0].metadata.name, "eventbus-main-js-vol");
    const svc = (await get(Resources.service, "eventbus-main-js-svc"))!;
    assert.equal(svc.spec.clusterIP, "None");
    assert.equal(svc.spec.publishNotReadyAddresses, true);
    const clientAuth = (await get(Resources.secret, "eventbus-main-js-client-auth"))!;
    assert.match(Buffer.from(clientAuth.data["client-auth"], "base64").toString(), /^username: eventbus\npassword: [A-Za-z0-9_-]{43}$/);
  });

  test("kube controller - the StatefulSet's readyReplicas (written as a kubelet would) makes Ready=True", async () => {
    await setReady("eventbus-main-js", 3);
    const bus = await condition("main", "Ready", "True", "AllServersReady");
    assert.equal(conditionOf(bus, "Ready")?.message, "3/3 servers ready");
    assert.equal(bus.status.phase, "Running");
    // AND the controller's metrics show each condition of the bus, read from its cache when scraped
    const families = await waitFor(
      "eventbus_bus_ready of main to be 1",
      () => {
        const parsed = parsePrometheusText(controller.renderMetrics());
        return sampleValue(parsed, "eventbus_bus_ready", { namespace: NS, bus: "main" }) === 1 ? parsed : undefined;
      },
      WAIT,
    );
    const mainConditions = families.get("eventbus_bus_condition")!.samples.filter((s) => s.labels["bus"] === "main");
    assert.deepEqual(
      mainConditions
        .filter((s) => s.value === 1)
        .map((s) => `${s.labels["type"]}=${s.labels["status"]}`)
        .sort(),
      (bus.status.conditions as Condition[]).map((c) => `${c.type}=${c.status}`).sort(),
    );
    assert.equal(mainConditions.length, 3 * (bus.status.conditions as Condition[]).length, "one series per status (True, False, Unknown) of each condition");
    assert.deepEqual(
      mainConditions.filter((s) => s.labels["type"] === "Ready").map((s) => [s.labels["status"], s.value]),
      [
        ["True", 1],
        ["False", 0],
        ["Unknown", 0],
      ],
    );
  });

  test("kube controller - a server never Ready that has no contact with the meta leader while the others are a group: its pod is deleted with a Warning Event", async () => {
    // GIVEN three real JetStream servers: two routed to each other (a meta group of 2 with a
    // leader), the third routed to nobody. nats-server 2.10.29 once left a pod's server so on a
    // kubelet: running 4 minutes, never past its startup probe. Its /healthz says so (nats-server
    // `monitor.go`, `healthz`: "JetStream has not established contact with a meta leader").
    const [route0, route1, route2] = [await freePort(), await freePort(), await freePort()];
    const server = (name: string, listen: number, routes: readonly number[]) =>
      startNatsServer({
        args: ["-js"],
        config: `server_name: ${name}\ncluster { name: cut, listen: "127.0.0.1:${listen}", routes: [${routes.map((r) => `"nats-route://127.0.0.1:${r}"`).join(", ")}] }\n`,
      });
    await using js0 = await server("eventbus-cut-js-0", route0, [route1]);
    await using js1 = await server("eventbus-cut-js-1", route1, [route0]);
    await using js2 = await server("eventbus-cut-js-2", route2, [await freePort()]);
    await waitFor(
      "a meta leader among js-0 and js-1",
      async () => ((await (await fetch(`${js0.monitorUrl}/jsz`)).json()) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader || undefined,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const cutOff = (await (await fetch(`${js2.monitorUrl}/healthz`)).json()) as { error?: string };
    assert.equal(cutOff.error, "JetStream has not established contact with a meta leader");

    // AND a bus of 3 whose pods are those servers (pod addresses and ports as a kubelet writes
    // them); js-0 and js-1 Ready, js-2's server container running for two minutes, not Ready.
    await createBus(jetStreamBus("cut", { version: "2.10", replicas: 3 }));
    await condition("cut", "Deployed", "True", "Succeeded");
    const startedAt = new Date(Date.now() - 120_000).toISOString().replace(/\.\d+Z$/, "Z");
    const pods = [js0, js1, js2].map((srv, i) => ({ name: `eventbus-cut-js-${i}`, srv, ready: i < 2 }));
    for (const { name, srv, ready } of pods) {
      const monitor = Number(new URL(srv.monitorUrl).port);
      const client = Number(new URL(srv.clientUrl).port);
      await admin.create(Resources.pod, NS, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: NS, labels: { "eventbus-name": "cut" } },
        spec: {
          containers: [
            {
              name: "main",
              image: "nats:2.10.29",
              ports: [
                { name: "client", containerPort: client },
                { name: "monitor", containerPort: monitor },
              ],
            },
          ],
        },
      });
      const status = ready ? "True" : "False";
      const res = await api.request("PATCH", `/api/v1/namespaces/${NS}/pods/${name}/status`, {
        body: {
          status: {
            phase: "Running",
            podIP: "127.0.0.1",
            podIPs: [{ ip: "127.0.0.1" }],
            conditions: [{ type: "Ready", status, lastTransitionTime: startedAt }],
            containerStatuses: [
              { name: "main", ready, started: ready, restartCount: 0, image: "nats:2.10.29", imageID: "", state: { running: { startedAt } } },
            ],
          },
        },
        contentType: "application/merge-patch+json",
      });
      assert.equal(res.status, 200, res.text);
    }
    const uids = new Map(await Promise.all(pods.map(async (p) => [p.name, (await get(Resources.pod, p.name))?.metadata.uid] as const)));

    // WHEN the StatefulSet reports 2 of 3 Ready: a quorum
    await setReady("eventbus-cut-js", 2);

    // THEN the controller deletes js-2's pod (its StatefulSet makes it again, and its server starts
    // anew) and says why in a Warning Event; the pods of the group stay
    await waitFor("js-2's pod deleted", async () => ((await get(Resources.pod, "eventbus-cut-js-2")) === undefined ? true : undefined), WAIT);
    for (const name of ["eventbus-cut-js-0", "eventbus-cut-js-1"])
      assert.equal((await get(Resources.pod, name))?.metadata.uid, uids.get(name), `${name} stays`);
    const events = await admin.list<Json & KubeResource>(Resources.event, { namespace: NS, fieldSelector: "involvedObject.name=cut,reason=MetaGroupRejoin" });
    assert.equal(events.items.length, 1);
    assert.equal(events.items[0]?.type, "Warning");
    assert.match(
      String(events.items[0]?.message),
      /^pod eventbus-cut-js-2 has run without becoming Ready for 1\d\d s but its server is not in the JetStream meta group \(its \/healthz says "JetStream has not established contact with a meta leader"/,
    );
    await admin.delete(Resources.eventBus, NS, "cut");
    for (const { name } of pods.slice(0, 2)) await admin.delete(Resources.pod, NS, name);
  });

  test("kube controller - a mutable change (maxPayload, container resources) updates the ConfigMap and StatefulSet, never the Secrets", async () => {
    const before = await versions(jsObjects("main"));
    const generation = (await getBus("main"))!.metadata.generation as number;
    await patchBus("main", { spec: { jetstream: { maxPayload: "2MB", containerTemplate: { resources: { requests: { cpu: "100m", memory: "128Mi" } } } } } });
    await waitBus("main", "the new generation observed", (bus) => bus.status?.observedGeneration === generation + 1);

    const after = await versions(jsObjects("main"));
    assert.equal(after["Secret/eventbus-main-js-server"], before["Secret/eventbus-main-js-server"], "the server Secret is unchanged");
    assert.equal(after["Secret/eventbus-main-js-client-auth"], before["Secret/eventbus-main-js-client-auth"], "the client Secret is unchanged");
    assert.equal(after["Service/eventbus-main-js-svc"], before["Service/eventbus-main-js-svc"]);
    assert.notEqual(after["ConfigMap/eventbus-main-js-config"], before["ConfigMap/eventbus-main-js-config"]);
    assert.notEqual(after["StatefulSet/eventbus-main-js"], before["StatefulSet/eventbus-main-js"]);
    const cm = (await get(Resources.configMap, "eventbus-main-js-config"))!;
    assert.match(cm.data["eventbus-main-js-0.conf"], /max_payload: 2097152/);
    const sts = (await get(Resources.statefulSet, "eventbus-main-js"))!;
    assert.deepEqual(sts.spec.template.spec.containers[0].resources, { requests: { cpu: "100m", memory: "128Mi" } });
    assert.equal(JSON.parse(sts.metadata.annotations?.[Annotation.appliedSpec] ?? "{}").jetstream.maxPayload, "2MB");
    const bus = await condition("main", "Configured", "True", "Succeeded");
    assert.equal(conditionOf(bus, "Ready")?.status, "True", "still ready");
  });

  test("kube controller - an immutable change (auth, volume size, retention) is refused with the field paths and nothing is touched", async () => {
    const before = await versions(jsObjects("main"));
    await patchBus("main", { spec: { jetstream: { auth: "token", persistence: { volumeSize: "2Gi" }, streamConfig: "maxAge: 24h\nretention: interest\n" } } });
    const bus = await condition("main", "Configured", "False", "ImmutableFieldChanged");
    const message = conditionOf(bus, "Configured")?.message ?? "";
    assert.match(message, /^spec\.jetstream\.auth: authentication cannot change \(from basic to token\)$/m);
    assert.match(message, /^spec\.jetstream\.persistence\.volumeSize: cannot change \(from 1Gi to 2Gi\)/m);
    // The same update rule as the local platform's (src/api/update.ts)
    assert.match(message, /^spec\.jetstream\.streamConfig\.retention: cannot change on a live stream \(from limits to interest\)/m);
    assert.equal(conditionOf(bus, "Deployed")?.status, "True", "the running bus is still deployed");
    assert.equal(bus.status.phase, "Invalid");
    assert.deepEqual(await versions(jsObjects("main")), before, "no object changed");
    const events = await admin.list(Resources.event, { namespace: NS, fieldSelector: "involvedObject.name=main,reason=ImmutableFieldChanged" });
    assert.equal(events.items.length, 1, "one Warning event");

    // Reverting the change is accepted again.
    await patchBus("main", { spec: { jetstream: { auth: null, persistence: { volumeSize: "1Gi" }, streamConfig: "maxAge: 24h\n" } } });
    await condition("main", "Configured", "True", "Succeeded");
    assert.deepEqual(await versions(jsObjects("main")), before, "still no object changed");
  });

  test("kube controller - an invalid spec is Configured=False/InvalidSpec with one path: message line per issue", async () => {
    const before = await versions(jsObjects("main"));
    await patchBus("main", { spec: { jetstream: { replicas: 2, streamConfig: "maxAge: forever\n" } } });
    const bus = await condition("main", "Configured", "False", "InvalidSpec");
    const lines = (conditionOf(bus, "Configured")?.message ?? "").split("\n");
    assert.ok(lines.includes("spec.jetstream.replicas: must be 1 or >= 3, got 2"), lines.join("\n"));
    assert.ok(
      lines.some((l) => l.startsWith("spec.jetstream.streamConfig.maxAge: ")),
      lines.join("\n"),
    );
    assert.deepEqual(await versions(jsObjects("main")), before, "no object changed");
    assert.equal(conditionOf(bus, "Ready")?.status, "True", "the other conditions are kept");

    await patchBus("main", { spec: { jetstream: { replicas: 3, streamConfig: "maxAge: 24h\n" } } });
    await condition("main", "Configured", "True", "Succeeded");
  });

  test("kube controller - a quiet bus causes no writes: resourceVersions and the write count stay the same", async () => {
    await waitFor("the controller to be idle", () => (controller.pending === 0 ? true : undefined), WAIT);
    const objects: [ResourceType, string][] = [[Resources.eventBus, "main"], ...jsObjects("main")];
    const before = await versions(objects);
    const writes = controller.writes;
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual(await versions(objects), before);
    assert.equal(controller.writes, writes, "no API writes in 3 s");
  });

  test("kube controller - after an API server restart, a Service deleted and a ConfigMap edited behind its back are put back", async () => {
    // WHEN kube-apiserver restarts (watches break, the lease cannot be renewed for a while) …
    await api.restart();
    // … and objects are changed behind the controller's back.
    assert.equal(await admin.delete(Resources.service, NS, "eventbus-main-js-svc"), true);
    await admin.json("PATCH", `/api/v1/namespaces/${NS}/configmaps/eventbus-main-js-config`, {
      verb: "patch",
      resource: "configmaps",
      body: { data: { "eventbus-main-js-0.conf": "tampered" } },
      contentType: "application/merge-patch+json",
    });
    // THEN the controller converges again.
    await waitFor("the Service to be back", async () => ((await get(Resources.service, "eventbus-main-js-svc")) !== undefined ? true : undefined), WAIT);
    await waitFor(
      "the ConfigMap to be restored",
      async () => {
        const cm = await get(Resources.configMap, "eventbus-main-js-config");
        return cm !== undefined && cm.data["eventbus-main-js-0.conf"] !== "tampered" ? true : undefined;
      },
      WAIT,
    );
    const svc = (await get(Resources.service, "eventbus-main-js-svc"))!;
    assert.equal(svc.metadata.ownerReferences?.[0]?.name, "main");
    await waitFor("controller a to lead again", () => (controller.isLeader ? true : undefined), WAIT);
  });

  test("kube controller - scaling to 1 server deletes the PodDisruptionBudget it no longer needs", async () => {
    await patchBus("main", { spec: { jetstream: { replicas: 1, streamConfig: "maxAge: 24h\nreplicas: 1\n" } } });
    await waitFor(
      "the PDB to be gone",
      async () => ((await get(Resources.podDisruptionBudget, "eventbus-main-js-pdb")) === undefined ? true : undefined),
      WAIT,
    );
    const sts = (await get(Resources.statefulSet, "eventbus-main-js"))!;
    assert.equal(sts.spec.replicas, 1);
    await patchBus("main", { spec: { jetstream: { replicas: 3, streamConfig: "maxAge: 24h\n" } } });
    await waitFor(
      "the PDB to be back",
      async () => ((await get(Resources.podDisruptionBudget, "eventbus-main-js-pdb")) !== undefined ? true : undefined),
      WAIT,
    );
  });

  test("kube controller - a server Secret deleted by hand means new material, and a Warning Event says what that costs", async () => {
    const clientAuth = (await get(Resources.secret, "eventbus-main-js-client-auth"))!.data["client-auth"];
    await admin.delete(Resources.secret, NS, "eventbus-main-js-server");
    await waitFor(
      "the server Secret to be back",
      async () => ((await get(Resources.secret, "eventbus-main-js-server")) !== undefined ? true : undefined),
      WAIT,
    );
    await waitFor(
      "the new client credentials",
      async () => ((await get(Resources.secret, "eventbus-main-js-client-auth"))!.data["client-auth"] !== clientAuth ? true : undefined),
      WAIT,
    );
    const events = await admin.list<Json & KubeResource>(Resources.event, {
      namespace: NS,
      fieldSelector: "involvedObject.name=main,reason=MaterialRegenerated",
    });
    assert.equal(events.items.length, 1);
    assert.equal(events.items[0]!.type, "Warning");
    assert.match(events.items[0]!.message, /a store encrypted with the old key cannot be read/);
  });

  test("kube controller - deleting a bus deletes its objects and keeps its volume claims with its server Secret (the store's key); applied again it reads them; with delete-volumes it deletes them", async () => {
    const claim = (bus: string, i: number) => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: `eventbus-${bus}-js-vol-eventbus-${bus}-js-${i}`,
        labels: { controller: "eventbus-controller", "eventbus-name": bus, "owner-name": bus },
      },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    // GIVEN the claims the StatefulSet controller would have made (labelled with the StatefulSet's selector).
    for (let i = 0; i < 3; i++) await admin.create(Resources.persistentVolumeClaim, NS, claim("main", i));

    assert.match(controller.renderMetrics(), /^eventbus_bus_ready\{namespace="[^"]+",bus="main"\} [01]$/m);
    const clientAuth = (await get(Resources.secret, "eventbus-main-js-client-auth"))!.data["client-auth"];
    await admin.delete(Resources.eventBus, NS, "main");
    await waitFor("EventBus main to be gone", async () => ((await getBus("main")) === undefined ? true : undefined), WAIT);
    // A deleted bus's series are gone from the controller's metrics.
    await waitFor("the metrics to forget bus main", () => (/bus="main"/.test(controller.renderMetrics()) ? undefined : true), WAIT);
    // The server Secret stays with the claims, owned by nothing (Kubernetes' garbage collector
    // deletes an object whose every owner is gone); it holds the key the servers' store is encrypted with.
    const serverSecret = "eventbus-main-js-server";
    for (const [rt, name] of jsObjects("main")) {
      if (name !== serverSecret) assert.equal(await get(rt, name), undefined, `${rt.kind} ${name} is deleted`);
    }
    const keptSecret = await get(Resources.secret, serverSecret);
    assert.ok(keptSecret, "the server Secret is kept");
    assert.equal(keptSecret.metadata.ownerReferences, undefined);
    const claims = await admin.list(Resources.persistentVolumeClaim, { namespace: NS, labelSelector: "eventbus-name=main" });
    assert.equal(claims.items.filter((c) => c.metadata.deletionTimestamp === undefined).length, 3, "the claims (the messages) are kept");
    const kept = await admin.list<Json & KubeResource>(Resources.event, { namespace: NS, fieldSelector: "involvedObject.name=main,reason=VolumesKept" });
    assert.equal(kept.items.length, 1);
    assert.match(kept.items[0]!.message, /and Secret eventbus-main-js-server with the key of their encrypted store/);

    // AND the bus applied again under its name takes the kept material: the same credentials (and key)
    await createBus(jetStreamBus("main", { version: "2.10", replicas: 3, persistence: { volumeSize: "1Gi" }, streamConfig: "maxAge: 24h\n" }));
    await condition("main", "Deployed", "True");
    assert.equal((await get(Resources.secret, "eventbus-main-js-client-auth"))!.data["client-auth"], clientAuth);
    const readopted = await get(Resources.secret, serverSecret);
    assert.equal(readopted!.metadata.ownerReferences?.[0]?.uid, (await getBus("main"))!.metadata.uid, "owned by the new bus");
    await admin.delete(Resources.eventBus, NS, "main");
    await waitFor("EventBus main to be gone again", async () => ((await getBus("main")) === undefined ? true : undefined), WAIT);

    // A bus annotated delete-volumes takes its claims with it.
    await createBus(
      jetStreamBus("scratch", { version: "2.10", replicas: 1, persistence: { volumeSize: "1Gi" } }, { annotations: { [Annotation.deleteVolumes]: "true" } }),
    );
    await condition("scratch", "Deployed", "True");
    await admin.create(Resources.persistentVolumeClaim, NS, claim("scratch", 0));
    await admin.delete(Resources.eventBus, NS, "scratch");
    await waitFor("EventBus scratch to be gone", async () => ((await getBus("scratch")) === undefined ? true : undefined), WAIT);
    // No controller manager runs here to remove the claims' pvc-protection finalizer: deleted means deletionTimestamp set.
    const scratchClaims = (await admin.list(Resources.persistentVolumeClaim, { namespace: NS, labelSelector: "eventbus-name=scratch" })).items;
    assert.ok(
      scratchClaims.every((c) => c.metadata.deletionTimestamp !== undefined),
      "the claim is deleted",
    );
    const mainClaims = (await admin.list(Resources.persistentVolumeClaim, { namespace: NS, labelSelector: "eventbus-name=main" })).items;
    assert.equal(mainClaims.filter((c) => c.metadata.deletionTimestamp === undefined).length, 3, "other buses' claims stay");
  });

  test("kube controller - a bus with backup gets its backups claim (no owner) and CronJob; the schedule follows the spec; deleting the bus keeps the claim", async () => {
    await createBus(jetStreamBus("backed", { version: "2.10", replicas: 1, persistence: { volumeSize: "2Gi" }, backup: { schedule: "0 * * * *", keep: 5 } }));
    const bus = await condition("backed", "Deployed", "True", "Succeeded");
    // THEN the API server accepted both, as rendered
    const claim = (await get(Resources.persistentVolumeClaim, "eventbus-backed-js-backups"))!;
    assert.ok(claim, "the backups claim exists");
    assert.equal(claim.metadata.ownerReferences, undefined);
    assert.deepEqual(claim.spec.resources, { requests: { storage: "2Gi" } });
    const cron = (await get(Resources.cronJob, "eventbus-backed-js-backup"))!;
    assert.ok(cron, "the CronJob exists");
    assert.equal(cron.metadata.ownerReferences?.[0]?.uid, bus.metadata.uid);
    assert.deepEqual([cron.spec.schedule, cron.spec.timeZone, cron.spec.concurrencyPolicy], ["0 * * * *", "Etc/UTC", "Forbid"]);
    assert.deepEqual(cron.spec.jobTemplate.spec.template.spec.containers[0].args.slice(-6), ["--into-dir", "/backups", "--keep", "5", "--name", "backed"]);

    // WHEN the schedule changes, the CronJob follows; the claim is left as it is
    await patchBus("backed", { spec: { jetstream: { backup: { schedule: "30 2 * * *", keep: 5 } } } });
    await waitFor(
      "the CronJob's new schedule",
      async () => ((await get(Resources.cronJob, "eventbus-backed-js-backup"))?.spec.schedule === "30 2 * * *" ? true : undefined),
      WAIT,
    );

    // WHEN the bus is deleted, the CronJob goes with it and the claim (the backups) stays
    await admin.delete(Resources.eventBus, NS, "backed");
    await waitFor("EventBus backed to be gone", async () => ((await getBus("backed")) === undefined ? true : undefined), WAIT);
    assert.equal(await get(Resources.cronJob, "eventbus-backed-js-backup"), undefined);
    const kept = await get(Resources.persistentVolumeClaim, "eventbus-backed-js-backups");
    assert.ok(kept !== undefined && kept.metadata.deletionTimestamp === undefined, "the backups claim is kept");
  });

  test("kube controller - a bus used by an EventSource is not deleted until the EventSource goes", async () => {
    // GIVEN Argo Events' EventSource CRD (its schema does not matter here) and an EventSource on the bus "default".
    await admin.apply({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "eventsources.argoproj.io" },
      spec: {
        group: "argoproj.io",
        names: { kind: "EventSource", listKind: "EventSourceList", plural: "eventsources", singular: "eventsource" },
        scope: "Namespaced",
        versions: [
          { name: "v1alpha1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } },
        ],
      },
    });
    await waitFor(
      "the EventSource CRD to be served",
      async () => {
        const res = await api.request("GET", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventsources`);
        return res.status === 200 ? true : undefined;
      },
      WAIT,
    );
    await createBus(jetStreamBus("default", { version: "2.10", replicas: 1 }));
    await condition("default", "Deployed", "True");
    await admin.create(Resources.eventSource, NS, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: "webhook" },
      spec: { webhook: {} },
    });

    await admin.delete(Resources.eventBus, NS, "default");
    const blocked = await condition("default", "Deleting", "False", "InUse");
    assert.match(conditionOf(blocked, "Deleting")?.message ?? "", /EventSource\/webhook/);
    assert.equal(blocked.status.phase, "Terminating");
    assert.ok((await get(Resources.statefulSet, "eventbus-default-js")) !== undefined, "the objects stay");
    const events = await admin.list(Resources.event, { namespace: NS, fieldSelector: "involvedObject.name=default,reason=DeletionBlocked" });
    assert.equal(events.items.length, 1, "one Warning event, not one per check");

    await admin.delete(Resources.eventSource, NS, "webhook");
    await waitFor("EventBus default to be gone", async () => ((await getBus("default")) === undefined ? true : undefined), WAIT);
    assert.equal(await get(Resources.statefulSet, "eventbus-default-js"), undefined);
  });

  test("kube controller - the CRD is structural, writes no default into a bus (as Argo's) and prints its columns as a Table", async () => {
    const crd = (await admin.get<Json & KubeResource>(Resources.customResourceDefinition, undefined, "eventbus.argoproj.io"))!;
    const conditions = crd.status.conditions as Condition[];
    assert.equal(
      conditions.find((c) => c.type === "NonStructuralSchema"),
      undefined,
      "no NonStructuralSchema condition",
    );
    assert.equal(conditions.find((c) => c.type === "Established")?.status, "True");

    await createBus(jetStreamBus("columns", { version: "2.10", tls: { enabled: false }, auth: "none" }));
    const stored = (await getBus("columns"))!;
    assert.equal(stored.spec.jetstream.replicas, undefined, "replicas not defaulted by the API server");
    await condition("columns", "Deployed", "True");

    const res = await api.request("GET", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus`);
    assert.equal(res.status, 200);
    const table = await tableOf(api, `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/columns`);
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ["Name", "Phase", "Version", "Replicas", "Configured", "Deployed", "Age"],
    );
    const cells = table.rows[0]!.cells;
    assert.deepEqual(cells.slice(0, 6), ["columns", "Pending", "2.10", null, "True", "True"]);
    const bus = (await getBus("columns"))!;
    assert.deepEqual(
      bus.status.config,
      { jetstream: { url: `nats://eventbus-columns-js-svc.${NS}.svc:4222`, streamConfig: bus.status.config.jetstream.streamConfig } },
      "no accessSecret with auth: none",
    );
    assert.equal(await get(Resources.secret, "eventbus-columns-js-client-auth"), undefined, "no client Secret with auth: none");
  });

  test("kube controller - an external JetStream bus: Connected=True, Deployed=Skipped, and the stream gets the spec's config", async () => {
    await using nats = await startNatsServer({ args: ["-js", "--auth", "external-token"] });
    await admin.create(Resources.secret, NS, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "external-auth" },
      data: { "client-auth": Buffer.from('token: "external-token"').toString("base64") },
    });
    const spec = { url: nats.clientUrl, accessSecret: { name: "external-auth", key: "client-auth" }, streamConfig: "maxAge: 1h\nreplicas: 1\n" };
    await createBus({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: "external", namespace: NS }, spec: { jetstreamExotic: spec } });
    const bus = await condition("external", "Connected", "True", "Connected");
    assert.equal(conditionOf(bus, "Deployed")?.reason, "Skipped");
    assert.equal(conditionOf(bus, "Ready"), undefined);
    assert.equal(bus.status.phase, "Running");
    assert.deepEqual(bus.status.config, {
      jetstream: { ...spec, streamConfig: "discard: 0\nduplicates: 5m\nmaxage: 1h\nmaxbytes: -1\nmaxmsgs: 50000\nreplicas: 1\nretention: 0\n" },
    });

    const nc = await natsConnect({ servers: nats.clientUrl, token: "external-token" });
    try {
      const info = await (await jetstreamManager(nc)).streams.info("default");
      assert.deepEqual(info.config.subjects, ["default.*.*"]);
      assert.equal(info.config.max_age, 3600 * 1e9);
      assert.equal(info.config.num_replicas, 1);
      assert.equal(info.config.max_msgs, 50000);
    } finally {
      await nc.close();
    }

    // A change JetStream cannot make on a live stream: phase Degraded with the reason; no condition
    // turns False (the stream as it is still works, and Argo Events deploys only on all True).
    await patchBus("external", { spec: { jetstreamExotic: { streamConfig: "maxAge: 1h\nreplicas: 1\nretention: workqueue\n" } } });
    const failed = await waitBus("external", "phase Degraded", (b) => b.status?.phase === "Degraded" && b.status?.observedGeneration === b.metadata.generation);
    assert.match(failed.status.message ?? "", /^StreamFailed: .*retention/);
    assert.equal(conditionOf(failed, "Connected"), undefined);
    assert.ok((failed.status.conditions as Condition[]).every((c) => c.status === "True"));
    await admin.delete(Resources.eventBus, NS, "external");
    await waitFor("EventBus external to be gone", async () => ((await getBus("external")) === undefined ? true : undefined), WAIT);
  });

  test("kube controller - an external NATS Streaming bus is Deployed=Skipped with Argo's status.config.nats", async () => {
    const spec = { url: "nats://stan.example:4222", clusterID: "stan", auth: "token", accessSecret: { name: "stan-auth", key: "client-auth" } };
    await createBus({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: "stan", namespace: NS }, spec: { nats: { exotic: spec } } });
    const bus = await condition("stan", "Deployed", "True", "Skipped");
    assert.deepEqual(bus.status.config, { nats: spec });
    assert.equal(conditionOf(bus, "Configured")?.status, "True");
  });

  test("kube controller - a NATS Streaming bus with token auth: Argo's names, its token kept across changes, status.config.nats", async () => {
    await createBus({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "legacy", namespace: NS },
      spec: { nats: { native: { replicas: 3, auth: "token" } } },
    });
    const bus = await condition("legacy", "Deployed", "True", "Succeeded");
    assert.deepEqual(bus.status.config, {
      nats: {
        url: `nats://eventbus-legacy-stan-svc.${NS}.svc:4222`,
        clusterID: "eventbus-legacy",
        auth: "token",
        accessSecret: { name: "eventbus-legacy-client", key: "client-auth" },
      },
    });
    for (const [rt, name] of [
      [Resources.statefulSet, "eventbus-legacy-stan"],
      [Resources.service, "eventbus-legacy-stan-svc"],
      [Resources.configMap, "eventbus-legacy-stan-configmap"],
      [Resources.secret, "eventbus-legacy-server"],
      [Resources.secret, "eventbus-legacy-client"],
    ] as const) {
      assert.ok((await get(rt, name)) !== undefined, `${rt.kind} ${name}`);
    }
    // Argo's immutable StatefulSet fields and names (argo-stan-parity.test.ts applies them over Argo's objects).
    const sts = (await get(Resources.statefulSet, "eventbus-legacy-stan"))!;
    assert.equal(sts.spec.podManagementPolicy, "OrderedReady");
    assert.deepEqual(
      sts.spec.template.spec.containers.map((c: Json) => c.name),
      ["stan", "metrics"],
    );
    assert.equal((await get(Resources.service, "eventbus-legacy-stan-svc"))!.spec.ports[0].name, "tcp-client");
    const token = (await get(Resources.secret, "eventbus-legacy-client"))!.data["client-auth"];
    assert.match(Buffer.from(token, "base64").toString(), /^token: "[A-Za-z0-9_-]{43}"$/);
    await patchBus("legacy", { spec: { nats: { native: { maxMsgs: 5000 } } } });
    await waitBus("legacy", "generation 2 observed", (b) => b.status?.observedGeneration === 2);
    assert.equal((await get(Resources.secret, "eventbus-legacy-client"))!.data["client-auth"], token, "the token is not rotated");
    assert.match((await get(Resources.configMap, "eventbus-legacy-stan-configmap"))!.data["eventbus-legacy-stan-0.conf"], /5000/);
  });

  test("kube controller - two controllers: one leads (the Lease's holder), the other takes over when it stops", async () => {
    const lease = async () => (await get(Resources.lease, LEASE_NAME, DEFAULT_INSTALL_NAMESPACE))?.spec as Json;
    const base = testOptions(api).leaderElection as Exclude<ControllerOptions["leaderElection"], false | undefined>;
    const b = new Controller(testOptions(api, { leaderElection: { ...base, identity: "controller-b" } }));
    try {
      await b.start();
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(controller.isLeader, true);
      assert.equal(b.isLeader, false, "b stands by");
      assert.equal((await lease()).holderIdentity, "controller-a");
      const writesOfB = b.writes;

      // WHEN the leader stops (giving the Lease up), THEN b takes over and reconciles.
      const stoppedAt = Date.now();
      await controller.stop();
      await waitFor("b to lead", () => (b.isLeader ? true : undefined), WAIT);
      console.error(`kube controller: b took over ${Date.now() - stoppedAt} ms after a stopped`);
      assert.equal((await lease()).holderIdentity, "controller-b");
      assert.ok((await lease()).leaseTransitions >= 1);
      assert.equal(writesOfB, 0, "b wrote nothing while it stood by");
      await createBus(jetStreamBus("after-failover", { version: "2.10", replicas: 1 }));
      await condition("after-failover", "Deployed", "True", "Succeeded");
    } finally {
      controller = b; // stopped by after()
    }
  });

  test("kube cli - install --apply applies the bundle; controller serves /healthz, /readyz and /metrics, reconciles and stops on SIGTERM", async () => {
    await controller.stop(); // the CLI's controller takes the Lease over
    const install = await runEventbus(["install", "--apply", "--kubeconfig", api.kubeconfigPath, "--image", "registry.example.com/eventbus:test"]);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io\/eventbus\.argoproj\.io serverside-applied$/m);
    assert.match(install.stdout, /^clusterrole\.rbac\.authorization\.k8s\.io\/eventbus-controller serverside-applied$/m);
    assert.match(install.stdout, /^deployment\.apps\/eventbus-controller serverside-applied$/m);
    const deployment = (await get(Resources.deployment, CONTROLLER_NAME, DEFAULT_INSTALL_NAMESPACE))!;
    assert.equal(deployment.spec.template.spec.containers[0].image, "registry.example.com/eventbus:test");

    const port = await freePort();
    const user = api.users.get(CONTROLLER_USER)!;
    await using proc = await spawnProcess(
      process.execPath,
      [
        "--import",
        "tsx",
        CLI_MAIN,
        "controller",
        "--all",
        "--kubeconfig",
        user.kubeconfigPath,
        "--health-port",
        String(port),
        "--lease-namespace",
        DEFAULT_INSTALL_NAMESPACE,
        "--log-format",
        "json",
      ],
      { cwd: ROOT },
    );
    const http = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined);
      return res === undefined ? undefined : { status: res.status, text: await res.text() };
    };
    await waitFor("/readyz", async () => ((await http("/readyz"))?.status === 200 ? true : undefined), {
      ...WAIT,
      failWhen: proc.exited.then((e) => {
        throw new Error(`controller exited ${JSON.stringify(e)}: ${proc.output()}`);
      }),
    });
    assert.equal((await http("/healthz"))?.text, "ok\n");
    await waitFor(
      "the CLI controller to lead",
      async () =>
        ((await get(Resources.lease, LEASE_NAME, DEFAULT_INSTALL_NAMESPACE))?.spec as Json | undefined)?.holderIdentity?.endsWith(`_${proc.pid}`)
          ? true
          : undefined,
      WAIT,
    );

    await createBus(jetStreamBus("cli", { version: "2.10", replicas: 1 }));
    await condition("cli", "Deployed", "True", "Succeeded");
    const metrics = (await http("/metrics"))!;
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^eventbus_controller_reconcile_total\{result="success"\} \d+$/m);
    assert.match(metrics.text, /^eventbus_controller_workqueue_depth \d+$/m);
    assert.match(metrics.text, /^eventbus_controller_is_leader 1$/m);
    assert.match(metrics.text, /^eventbus_controller_reconcile_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
    assert.match(metrics.text, /^eventbus_controller_kube_requests_total\{verb="apply",resource="statefulsets",code="\d+"\} \d+$/m);
    // AND the served text is well-formed, with the bus's conditions from the controller's cache (no pods here: not Ready)
    const served = await waitFor(
      "the cli bus's Deployed=True on /metrics",
      async () => {
        const families = parsePrometheusText((await http("/metrics"))!.text);
        return sampleValue(families, "eventbus_bus_condition", { namespace: NS, bus: "cli", type: "Deployed", status: "True" }) === 1 ? families : undefined;
      },
      WAIT,
    );
    assert.equal(sampleValue(served, "eventbus_bus_condition", { namespace: NS, bus: "cli", type: "Deployed", status: "False" }), 0);
    assert.equal(sampleValue(served, "eventbus_bus_condition", { namespace: NS, bus: "cli", type: "Deployed", status: "Unknown" }), 0);
    assert.equal(sampleValue(served, "eventbus_bus_ready", { namespace: NS, bus: "cli" }), 0);
    assert.equal(served.get("eventbus_bus_ready")?.type, "gauge");

    const exit = await proc.stop({ signal: "SIGTERM" });
    assert.deepEqual(exit, { code: 0, signal: null }, proc.output());
    assert.match(proc.output(), /"message":"SIGTERM: stopping"/);
    assert.equal(((await get(Resources.lease, LEASE_NAME, DEFAULT_INSTALL_NAMESPACE))?.spec as Json | undefined)?.holderIdentity, "", "the Lease is given up");
  });

  test("kube controller - installed for one namespace (a Role, no ClusterRole), it reconciles that namespace and no other", async () => {
    // GIVEN the bundle for a controller in "scoped" that watches "team" only, and a bus in each of two namespaces.
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } });
    await applyObjects(
      admin,
      installBundle({ namespace: "scoped", watchNamespace: "team" }).filter((o) => o.kind !== "CustomResourceDefinition"),
    );
    const user = api.users.get(SCOPED_USER)!;
    await using scoped = new Controller({
      ...testOptions(api),
      connection: fromKubeconfig(user.kubeconfigPath),
      namespace: "team",
      leaderElection: { ...(testOptions(api).leaderElection as object), namespace: "scoped" } as ControllerOptions["leaderElection"],
    });
    await scoped.start();
    const bus = (name: string, namespace: string) => ({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name, namespace },
      spec: { jetstream: { version: "2.10", replicas: 1 } },
    });
    await admin.create(Resources.eventBus, "team", bus("mine", "team"));
    await admin.create(Resources.eventBus, NS, bus("not-mine", NS));
    await waitFor(
      "the team bus to be deployed",
      async () => {
        const b = await admin.get<Json & KubeResource>(Resources.eventBus, "team", "mine");
        return conditionOf(b, "Deployed")?.status === "True" ? true : undefined;
      },
      WAIT,
    );
    assert.ok((await admin.get(Resources.statefulSet, "team", "eventbus-mine-js")) !== undefined);
    assert.equal((await getBus("not-mine"))?.status, undefined, "the bus of another namespace is not touched");
    assert.equal(
      scoped.metrics.requests.sum((l) => l["code"] === "403"),
      0,
      "the Role is enough: nothing was forbidden",
    );
  });
});
