/**
 * Conformance with what Argo Events' controllers read from an EventBus's status, against a real
 * kube-apiserver and the eventbus controller: the conditions (Argo deploys EventSources and Sensors
 * only when every one is True) and the `status.config` URL.
 *
 * Argo Events facts encoded here (argoproj/argo-events):
 * - pkg/apis/events/v1alpha1/status_types.go, `Status.IsReady()`: false without conditions, else
 *   true only when every condition's status is `True` (encoded below as {@link argoWouldDeploy},
 *   written from that file, not taken from src/).
 * - pkg/reconciler/sensor/resource.go and pkg/reconciler/eventsource/resource.go: `if
 *   !eventBus.Status.IsReady()` the Sensor or EventSource is marked `EventBusNotReady` and its
 *   Deployment is neither created nor updated.
 * - pkg/reconciler/eventbus/installer/jetstream.go: `status.config.jetstream.url` is
 *   `nats://<svc>.<ns>.svc:4222` (no cluster domain); nats.go: `nats://<svc>:4222` for STAN.
 *
 * The choice encoded (see docs/argo-facts/crd-and-conditions.md): a bus is usable while a quorum of
 * its servers is ready (JetStream's and NATS Streaming's Raft majority), so `Ready` is True from a
 * quorum on and the missing servers are in its message, `phase: Degraded`, `status.message`, an
 * Event; only below a quorum is it False. An external bus is usable as far as the controller can
 * tell even when the controller cannot reach it (it is not on the pods' path), so that failure
 * turns no condition False: it is `phase: Degraded`, `status.message` and an Event.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, test } from "node:test";

import type { Io } from "../src/cli/io.js";
import { runCli } from "../src/cli/program.js";
import {
  applyObjects,
  Controller,
  fromKubeconfig,
  installBundle,
  KubeClient,
  Resources,
  type ControllerOptions,
  type KubeResource,
} from "../src/platforms/kubernetes/index.js";
import { freePort, startNatsServer, waitFor } from "./helpers/index.js";
import { startKubeApi, type KubeApi } from "./helpers/kube-api.js";

type Json = Record<string, any>;

interface ArgoCondition {
  readonly type: string;
  readonly status: string;
}

/** Argo Events' `Status.IsReady()`: at least one condition, and every one `True`. */
function argoWouldDeploy(conditions: readonly ArgoCondition[] | undefined): boolean {
  if (conditions === undefined || conditions.length === 0) return false;
  return conditions.every((c) => c.status === "True");
}

const NS = "conditions";
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

function collectingIo(): Io & { out: () => string; err: () => string } {
  let stdout = "";
  let stderr = "";
  return { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stdin: async () => "", out: () => stdout, err: () => stderr };
}

test("argo conditions - Argo's IsReady as encoded: no conditions or any not True means no deployment", () => {
  assert.equal(argoWouldDeploy(undefined), false);
  assert.equal(argoWouldDeploy([]), false);
  assert.equal(
    argoWouldDeploy([
      { type: "Configured", status: "True" },
      { type: "Deployed", status: "True" },
    ]),
    true,
  );
  assert.equal(
    argoWouldDeploy([
      { type: "Configured", status: "True" },
      { type: "Ready", status: "Unknown" },
    ]),
    false,
  );
  assert.equal(
    argoWouldDeploy([
      { type: "Configured", status: "True" },
      { type: "Ready", status: "False" },
    ]),
    false,
  );
});

test("argo conditions - --cluster-domain must be a DNS domain; render's certificates name the short and the long Service names", async () => {
  const bad = collectingIo();
  assert.equal(await runCli(["controller", "--cluster-domain", "Bad_Domain", "--kubeconfig", "/nonexistent"], bad), 2);
  assert.equal(bad.err(), `eventbus: --cluster-domain "Bad_Domain": must be a DNS domain (lowercase letters, digits, '-' and '.', such as cluster.local)\n`);

  const manifest =
    'apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: default, namespace: ns1}\nspec: {jetstream: {version: "2.10", replicas: 1}}\n';
  const io = { ...collectingIo(), stdin: async () => manifest };
  let out = "";
  io.stdout = (t) => void (out += t);
  assert.equal(await runCli(["render", "-f", "-", "-o", "json", "--cluster-domain", "k8s.example.org"], io), 0);
  const secret = (JSON.parse(out) as { items: Json[] }).items.find((o) => o.kind === "Secret" && o.metadata.name === "eventbus-default-js-server")!;
  // The client listener's certificate, whatever its key: the one certificate that names the Service.
  const certificates = Object.values(secret.data as Record<string, string>)
    .map((v) => Buffer.from(v, "base64").toString())
    .filter((text) => text.startsWith("-----BEGIN CERTIFICATE-----"))
    .map((pem) => new X509Certificate(pem).subjectAltName ?? "");
  const names = certificates.find((n) => n.includes("DNS:eventbus-default-js-svc,")) ?? "";
  for (const name of [
    "eventbus-default-js-svc.ns1.svc",
    "eventbus-default-js-svc.ns1.svc.cluster.local",
    "eventbus-default-js-svc.ns1.svc.k8s.example.org",
    "*.eventbus-default-js-svc.ns1.svc",
  ]) {
    assert.ok(names.split(", ").includes(`DNS:${name}`), `${name} in ${names}`);
  }
});

describe("argo conditions - against a real API server", () => {
  let api: KubeApi;
  let admin: KubeClient;
  const getBus = (name: string) => admin.get<Json & KubeResource>(Resources.eventBus, NS, name);
  const condition = (bus: Json, type: string): Json | undefined => (bus.status?.conditions as Json[] | undefined)?.find((c) => c.type === type);
  /** The bus once the controller has written a status for its generation that passes `ok`. */
  const waitBus = (name: string, what: string, ok: (bus: Json) => boolean) =>
    waitFor(
      `EventBus ${name}: ${what}`,
      async () => {
        const bus = await getBus(name);
        return bus !== undefined && bus.status?.observedGeneration === bus.metadata.generation && ok(bus) ? bus : undefined;
      },
      WAIT,
    );
  /** Writes a StatefulSet's status as the kubelet and the StatefulSet controller would. */
  const setReady = async (sts: string, ready: number) => {
    const res = await api.request("PATCH", `/apis/apps/v1/namespaces/${NS}/statefulsets/${sts}/status`, {
      body: { status: { replicas: 3, readyReplicas: ready, availableReplicas: ready, currentReplicas: 3, updatedReplicas: 3 } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(res.status, 200, res.text);
  };
  const events = async (bus: string, reason: string) =>
    (await admin.list<Json & KubeResource>(Resources.event, { namespace: NS, fieldSelector: `involvedObject.name=${bus},reason=${reason}` })).items;
  const controllerOptions = (overrides: Partial<ControllerOptions> = {}): ControllerOptions => ({
    connection: fromKubeconfig(api.kubeconfigPath),
    // Every bus, not only those annotated for eventbus (no Argo controller runs here).
    all: true,
    leaderElection: false,
    watchBackoff: { initialMillis: 50, maxMillis: 1_000, jitter: 0.1 },
    retry: { baseDelayMillis: 50, maxDelayMillis: 500 },
    connectTimeoutMillis: 2_000,
    exoticRecheckMillis: 1_000,
    ...overrides,
  });

  before(async () => {
    api = await startKubeApi();
    admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
    await applyObjects(admin, installBundle());
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await waitFor(
      "the EventBus CRD to serve",
      async () => ((await api.request("GET", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus`)).status === 200 ? true : undefined),
      WAIT,
    );
  });

  after(async () => {
    admin?.close();
    await api?.stop();
  });

  test("argo conditions - 3 servers: Argo deploys with all or a quorum (2/3) ready, the missing one in the message; not below a quorum", async () => {
    await using controller = new Controller(controllerOptions());
    await controller.start();
    await admin.create(Resources.eventBus, NS, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "trio" },
      spec: { jetstream: { version: "2.10", replicas: 3 } },
    });

    // GIVEN no server ready yet: the bus cannot store events, and Argo waits
    const starting = await waitBus("trio", "Deployed", (b) => condition(b, "Deployed")?.status === "True");
    assert.equal(condition(starting, "Ready")?.status, "False");
    assert.equal(argoWouldDeploy(starting.status.conditions), false);

    // WHEN all three are ready THEN Argo deploys, and the bus is Running
    await setReady("eventbus-trio-js", 3);
    const whole = await waitBus("trio", "Ready=True", (b) => condition(b, "Ready")?.reason === "AllServersReady");
    assert.equal(argoWouldDeploy(whole.status.conditions), true);
    assert.equal(whole.status.phase, "Running");
    assert.equal(whole.status.message, undefined);

    // WHEN one of three is not ready (a quorum of 2 is) THEN Argo still deploys; the state is in the
    // condition's message, the phase, status.message and a Warning Event
    await setReady("eventbus-trio-js", 2);
    const degraded = await waitBus("trio", "QuorumReady", (b) => condition(b, "Ready")?.reason === "QuorumReady");
    assert.equal(argoWouldDeploy(degraded.status.conditions), true, JSON.stringify(degraded.status.conditions));
    assert.equal(condition(degraded, "Ready")?.message, "2/3 servers ready (a quorum is 2)");
    assert.equal(degraded.status.phase, "Degraded");
    assert.equal(degraded.status.message, "1 of 3 servers not ready; the bus works while 2 are");
    assert.equal(condition(degraded, "Ready")?.lastTransitionTime, condition(whole, "Ready")?.lastTransitionTime, "Ready did not transition");
    // AND the controller's metrics tell a degraded bus from a whole one
    const metric = (text: string, series: string) =>
      text
        .split("\n")
        .find((l) => l.startsWith(`${series} `))
        ?.split(" ")[1];
    const scraped = await waitFor(
      "eventbus_bus_ready of trio to be 0",
      () => {
        const text = controller.renderMetrics();
        return metric(text, `eventbus_bus_ready{namespace="${NS}",bus="trio"}`) === "0" ? text : undefined;
      },
      WAIT,
    );
    assert.equal(metric(scraped, `eventbus_bus_condition{namespace="${NS}",bus="trio",type="Ready",status="True"}`), "1");
    const warnings = await waitFor(
      "a ServersNotReady Event",
      async () => ((await events("trio", "ServersNotReady")).length > 0 ? events("trio", "ServersNotReady") : undefined),
      WAIT,
    );
    assert.equal(warnings[0]!.type, "Warning");
    assert.match(warnings[0]!.message, /^2\/3 servers ready \(a quorum is 2\): 1 of 3 servers not ready/);

    // WHEN only one is ready (below a quorum) THEN Ready is False and Argo waits
    await setReady("eventbus-trio-js", 1);
    const broken = await waitBus("trio", "Ready=False", (b) => condition(b, "Ready")?.status === "False");
    assert.equal(condition(broken, "Ready")?.reason, "ServersNotReady");
    assert.equal(argoWouldDeploy(broken.status.conditions), false);
    assert.notEqual(broken.status.phase, "Running");

    // WHEN all are back THEN Running again, nothing degraded left
    await setReady("eventbus-trio-js", 3);
    const back = await waitBus("trio", "AllServersReady again", (b) => condition(b, "Ready")?.reason === "AllServersReady");
    assert.equal(back.status.phase, "Running");
    assert.equal(back.status.message, undefined);
    assert.equal(argoWouldDeploy(back.status.conditions), true);
  });

  test("argo conditions - an external bus the controller cannot reach turns no condition False: Argo deploys, the failure is in phase, message and an Event", async () => {
    await using controller = new Controller(controllerOptions());
    await controller.start();
    const port = await freePort();
    await admin.create(Resources.eventBus, NS, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "outside" },
      spec: { jetstreamExotic: { url: `nats://127.0.0.1:${port}`, streamConfig: "replicas: 1\n" } },
    });

    // GIVEN nothing listens at the bus's URL
    const unreachable = await waitBus("outside", "Degraded", (b) => b.status?.phase === "Degraded");
    assert.equal(argoWouldDeploy(unreachable.status.conditions), true, JSON.stringify(unreachable.status.conditions));
    assert.deepEqual(
      (unreachable.status.conditions as Json[]).map((c) => [c.type, c.status, c.reason]),
      [
        ["Configured", "True", "Succeeded"],
        ["Deployed", "True", "Skipped"],
      ],
    );
    assert.match(unreachable.status.message, /^ConnectionFailed: /);
    assert.equal(unreachable.status.config.jetstream.url, `nats://127.0.0.1:${port}`);
    await waitFor(
      "a ConnectionFailed Event",
      async () => ((await events("outside", "ConnectionFailed")).some((e) => e.type === "Warning") ? true : undefined),
      WAIT,
    );

    // WHEN the bus comes up THEN Connected=True, Running, the message gone
    await using _nats = await startNatsServer({ args: ["-js", "-p", String(port)] });
    const connected = await waitBus("outside", "Connected=True", (b) => condition(b, "Connected")?.status === "True");
    assert.equal(connected.status.phase, "Running");
    assert.equal(connected.status.message, undefined);
    assert.equal(argoWouldDeploy(connected.status.conditions), true);
  });

  test("argo conditions - status.config URLs are Argo's <svc>.<ns>.svc:4222, or <svc>.<ns>.svc.<domain>:4222 with a cluster domain", async () => {
    await admin.create(Resources.eventBus, NS, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "urls" },
      spec: { jetstream: { version: "2.10", replicas: 1 } },
    });
    await admin.create(Resources.eventBus, NS, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "legacy" },
      spec: { nats: { native: { replicas: 3, auth: "token" } } },
    });
    {
      await using controller = new Controller(controllerOptions());
      await controller.start();
      const js = await waitBus("urls", "status.config", (b) => b.status?.config?.jetstream !== undefined);
      assert.equal(js.status.config.jetstream.url, `nats://eventbus-urls-js-svc.${NS}.svc:4222`);
      const stan = await waitBus("legacy", "status.config", (b) => b.status?.config?.nats !== undefined);
      assert.equal(stan.status.config.nats.url, `nats://eventbus-legacy-stan-svc.${NS}.svc:4222`);
    }
    // WHEN the controller runs with --cluster-domain
    await using controller = new Controller(controllerOptions({ clusterDomain: "k8s.example.org" }));
    await controller.start();
    const js = await waitBus("urls", "the long URL", (b) => b.status?.config?.jetstream?.url === `nats://eventbus-urls-js-svc.${NS}.svc.k8s.example.org:4222`);
    assert.equal(js.status.config.jetstream.accessSecret.name, "eventbus-urls-js-client-auth");
    await waitBus("legacy", "the long URL", (b) => b.status?.config?.nats?.url === `nats://eventbus-legacy-stan-svc.${NS}.svc.k8s.example.org:4222`);
  });
});
