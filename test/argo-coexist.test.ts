/**
 * eventbus's controller and Argo Events' in one cluster, against a real kube-apiserver. Argo's
 * controller is played by the test, writing what it writes:
 *
 * - argoproj/argo-events pkg/reconciler/eventbus/controller.go: Argo reconciles every EventBus
 *   (no selection), adds the finalizer `eventbus-controller`, and applies its status with field
 *   owner `argo-events`; pkg/reconciler/cmd/start.go: it watches every EventBus (or one namespace);
 * - pkg/reconciler/eventbus/installer/installer.go and jetstream.go: the labels
 *   (`controller: eventbus-controller`, `eventbus-name`, `owner-name`), the controller owner
 *   reference and the `resource-spec-hash` annotation on the StatefulSet `eventbus-<n>-js`.
 *
 * Since both controllers use the same names, labels and finalizer, eventbus reconciles only buses
 * annotated `eventbus.argoproj.io/controller: eventbus` (or, with `--all`, every bus Argo's
 * controller has not deployed).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  applyObjects,
  ARGO_DEPLOYED_REASON,
  ARGO_SPEC_HASH_ANNOTATION,
  Controller,
  FINALIZER,
  fromKubeconfig,
  installBundle,
  KubeClient,
  OWNERSHIP_ANNOTATION,
  OWNERSHIP_VALUE,
  Resources,
  type ControllerLogEntry,
  type ControllerOptions,
  type KubeResource,
} from "../src/platforms/kubernetes/index.js";
import { waitFor } from "./helpers/index.js";
import { startKubeApi, type KubeApi } from "./helpers/kube-api.js";

type Json = Record<string, any>;
const NS = "shared";
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

function busManifest(name: string, annotations: Record<string, string> = {}): Json {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name, namespace: NS, annotations },
    spec: { jetstream: { version: "2.10", replicas: 3 } },
  };
}

/** Argo's StatefulSet of a bus, as its installer creates it (the fields that identify it). */
function argoStatefulSet(name: string, uid: string): Json {
  const labels = { controller: "eventbus-controller", "eventbus-name": name, "owner-name": name };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      name: `eventbus-${name}-js`,
      namespace: NS,
      labels,
      annotations: { [ARGO_SPEC_HASH_ANNOTATION]: "argo-hash" },
      ownerReferences: [{ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", name, uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      podManagementPolicy: "Parallel",
      replicas: 3,
      serviceName: `eventbus-${name}-js-svc`,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "main", image: "nats:2.10.29", command: ["/nats-server", "--config", "/etc/nats-config/nats-js.conf"] }] },
      },
    },
  };
}

describe("argo coexistence - two controllers in one cluster", () => {
  let api: KubeApi;
  let admin: KubeClient;

  const options = (overrides: Partial<ControllerOptions> = {}): ControllerOptions => ({
    connection: fromKubeconfig(api.kubeconfigPath),
    leaderElection: false,
    watchBackoff: { initialMillis: 50, maxMillis: 1_000, jitter: 0.1 },
    retry: { baseDelayMillis: 50, maxDelayMillis: 1_000 },
    log: (e: ControllerLogEntry) => {
      if (e.level === "error" || process.env["EVENTBUS_TEST_LOG"]) console.error(`[controller] ${JSON.stringify(e)}`);
    },
    ...overrides,
  });
  const getBus = (name: string) => admin.get<Json & KubeResource>(Resources.eventBus, NS, name);
  /** Writes the bus as Argo's controller does: its finalizer, then its status, with field owner argo-events. */
  const writeAsArgo = async (name: string) => {
    const path = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/${name}`;
    const body = { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name, namespace: NS, finalizers: [FINALIZER] } };
    const status = {
      ...body,
      metadata: { name, namespace: NS },
      status: { conditions: [{ type: "Deployed", status: "True", reason: "Succeeded", message: "JetStream is deployed" }] },
    };
    for (const [p, b] of [
      [path, body],
      [`${path}/status`, status],
    ] as const) {
      const res = await api.request("PATCH", `${p}?fieldManager=argo-events&force=true`, {
        body: JSON.stringify(b),
        contentType: "application/apply-patch+yaml",
      });
      assert.equal(res.status, 200, res.text);
    }
  };
  const eventsAbout = async (name: string) =>
    (await admin.list<Json & KubeResource>(Resources.event, { namespace: NS })).items.filter(
      (e) => e["involvedObject"]?.name === name && e["source"]?.component === "eventbus-controller",
    );
  /** What eventbus could have written about a bus: its metadata, status and objects, and its Events. */
  const footprint = async (name: string) => {
    const bus = (await getBus(name))!;
    const objects = await Promise.all(
      [Resources.statefulSet, Resources.configMap, Resources.secret, Resources.service, Resources.podDisruptionBudget].map(async (rt) =>
        (await admin.list(rt, { namespace: NS, labelSelector: `eventbus-name=${name}` })).items.map(
          (o) => `${rt.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`,
        ),
      ),
    );
    return { resourceVersion: bus.metadata.resourceVersion, objects: objects.flat().sort(), events: (await eventsAbout(name)).length };
  };

  before(async () => {
    api = await startKubeApi();
    // The test's own writes carry another field manager than eventbus's controller.
    admin = new KubeClient(fromKubeconfig(api.kubeconfigPath), { userAgent: "coexistence-test" });
    await applyObjects(admin, installBundle());
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await waitFor("the EventBus CRD", async () => ((await admin.list(Resources.eventBus, { namespace: NS }).catch(() => undefined)) ? true : undefined), WAIT);
  });

  after(async () => {
    admin?.close();
    await api?.stop();
  });

  test("argo coexistence - eventbus reconciles the annotated bus and writes nothing for Argo's, through several resyncs", async () => {
    // GIVEN a bus Argo's controller deployed (finalizer, status, StatefulSet), and a bus given to eventbus.
    const argo = await admin.create<Json & KubeResource>(Resources.eventBus, NS, busManifest("argo-bus"));
    const path = `/apis/apps/v1/namespaces/${NS}/statefulsets?fieldManager=argo-events`;
    const created = await api.request("POST", path, { body: argoStatefulSet("argo-bus", argo.metadata.uid!) });
    assert.equal(created.status, 201, created.text);
    await writeAsArgo("argo-bus");
    await admin.create(Resources.eventBus, NS, busManifest("ours", { [OWNERSHIP_ANNOTATION]: OWNERSHIP_VALUE }));
    const before = await footprint("argo-bus");

    // WHEN eventbus's controller (without --all) runs and resyncs several times.
    await using controller = new Controller(options());
    await controller.start();
    for (let generation = 1; generation <= 3; generation++) {
      if (generation > 1) {
        await admin.json("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/ours`, {
          verb: "patch",
          resource: "eventbus",
          body: { spec: { jetstream: { maxPayload: `${generation}MB` } } },
          contentType: "application/merge-patch+json",
        });
      }
      await waitFor(
        `bus ours reconciled at generation ${generation}`,
        async () => {
          const bus = await getBus("ours");
          return bus?.status?.observedGeneration === bus?.metadata.generation && bus?.metadata.generation === generation ? bus : undefined;
        },
        WAIT,
      );
      // Every bus is queued again, as a new leader does.
      await admin.json("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/argo-bus`, {
        verb: "patch",
        resource: "eventbus",
        body: { metadata: { labels: { resync: String(generation) } } },
        contentType: "application/merge-patch+json",
      });
    }
    await waitFor("the controller to be idle", () => (controller.pending === 0 ? true : undefined), WAIT);

    // THEN the annotated bus is eventbus's: finalizer, objects, status.
    const ours = (await getBus("ours"))!;
    assert.deepEqual(ours.metadata.finalizers, [FINALIZER]);
    assert.ok(await admin.get(Resources.statefulSet, NS, "eventbus-ours-js"));
    // AND Argo's bus has only what Argo wrote: no status, finalizer, objects or Events from eventbus.
    const argoNow = (await getBus("argo-bus"))!;
    assert.deepEqual(argoNow.status, { conditions: [{ type: "Deployed", status: "True", reason: "Succeeded", message: "JetStream is deployed" }] });
    assert.ok(
      !(argoNow.metadata["managedFields"] as { manager: string }[]).some((f) => f.manager === "eventbus-controller"),
      "no field of the bus is eventbus's",
    );
    const after = await footprint("argo-bus");
    assert.deepEqual(after.objects, before.objects, "Argo's objects untouched, none added");
    assert.equal(after.events, 0);
  });

  test("argo coexistence - with --all, eventbus reconciles an unannotated bus but leaves a bus Argo deployed alone, with one Event that says how to take it over", async () => {
    await admin.create(Resources.eventBus, NS, busManifest("plain"));
    const before = await footprint("argo-bus");
    await using controller = new Controller(options({ all: true }));
    await controller.start();
    await waitFor("bus plain reconciled", async () => ((await getBus("plain"))?.status?.observedGeneration === 1 ? true : undefined), WAIT);
    await waitFor("the controller to be idle", () => (controller.pending === 0 ? true : undefined), WAIT);
    // A later change of Argo's bus is passed over again, without another Event.
    await admin.json("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/argo-bus`, {
      verb: "patch",
      resource: "eventbus",
      body: { metadata: { labels: { resync: "all" } } },
      contentType: "application/merge-patch+json",
    });
    await waitFor("the controller to be idle", () => (controller.pending === 0 ? true : undefined), WAIT);

    const events = await eventsAbout("argo-bus");
    assert.equal(events.length, 1);
    assert.equal(events[0]!["reason"], ARGO_DEPLOYED_REASON);
    assert.equal(events[0]!["type"], "Warning");
    assert.match(events[0]!["message"], /deployed by Argo Events' controller.*eventbus takeover argo-bus -n shared/);
    const after = await footprint("argo-bus");
    assert.deepEqual(after.objects, before.objects);
    const argoNow = (await getBus("argo-bus"))!;
    assert.ok(!(argoNow.metadata["managedFields"] as { manager: string }[]).some((f) => f.manager === "eventbus-controller"));
  });
});
