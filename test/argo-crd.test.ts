/**
 * Conformance with Argo Events' CRD, against a real kube-apiserver: every EventBus Argo's CRD
 * stores survives `eventbus crd` and the controller unchanged.
 *
 * Argo Events facts encoded here (argoproj/argo-events):
 * - manifests/base/crds/argoproj.io_eventbus.yaml: the CRD (written out below as ARGO_EVENTBUS_CRD):
 *   `spec` and `status` are `type: object` with `x-kubernetes-preserve-unknown-fields: true` and no
 *   other rule; `metadata` and `spec` required; the status subresource; short name `eb`.
 * - pkg/apis/events/v1alpha1/eventbus_types.go: `EventBusSpec` has `nats`, `jetstream`, `kafka` and
 *   `jetstreamExotic`; pkg/apis/events/v1alpha1/kafka_eventbus.go: `KafkaBus` has `url`, `topic`,
 *   `version`, `tls`, `sasl`, `consumerGroup`, `partitioner`, `consumerBatchMaxWait`.
 * - pkg/reconciler/eventbus/installer/installer.go: the installer is picked from `spec.nats`, then
 *   `spec.jetstream`, then `spec.kafka`, then `spec.jetstreamExotic` (a Kafka bus is Argo's to run).
 * - pkg/apis/events/v1alpha1/jetstream_eventbus.go, nats_eventbus.go: `tolerations` are core/v1
 *   Tolerations, passed to the StatefulSet as written; `antiAffinity` (of older Argo versions) is no
 *   longer a field, so Argo's decoder ignores it and its CRD keeps it.
 * And of Kubernetes (kubernetes/kubernetes pkg/apis/core/validation/validation.go,
 * validateTolerations): a toleration's `effect` may be empty, which matches every effect.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { eventBusCrd } from "../src/api/index.js";
import { Controller, FINALIZER, fromKubeconfig, KubeClient, Resources, type ControllerLogEntry, type KubeResource } from "../src/platforms/kubernetes/index.js";
import { waitFor } from "./helpers/index.js";
import { startKubeApi, type KubeApi } from "./helpers/kube-api.js";

type Json = Record<string, any>;

const NS = "argo";
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };
const BUSES_PATH = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus`;

/** Argo Events' EventBus CRD (manifests/base/crds/argoproj.io_eventbus.yaml), field for field. */
const ARGO_EVENTBUS_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "eventbus.argoproj.io" },
  spec: {
    group: "argoproj.io",
    names: { kind: "EventBus", listKind: "EventBusList", plural: "eventbus", shortNames: ["eb"], singular: "eventbus" },
    scope: "Namespaced",
    versions: [
      {
        name: "v1alpha1",
        schema: {
          openAPIV3Schema: {
            properties: {
              apiVersion: { type: "string" },
              kind: { type: "string" },
              metadata: { type: "object" },
              spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
            required: ["metadata", "spec"],
            type: "object",
          },
        },
        served: true,
        storage: true,
        subresources: { status: {} },
      },
    ],
  },
};

const secretRef = (name: string, key: string) => ({ name, key });

/** Buses Argo's CRD and Go types accept, each with something a stricter CRD would prune or refuse. */
const ARGO_BUSES: Record<string, Json> = {
  // A Kafka bus: eventbus does not run it, and must neither prune nor claim it.
  kafka: {
    kafka: {
      url: "kafka-0.kafka:9092,kafka-1.kafka:9092",
      topic: "argo-events",
      version: "3.6.0",
      tls: { caCertSecret: secretRef("kafka-tls", "ca.crt"), insecureSkipVerify: false },
      sasl: { mechanism: "SCRAM-SHA-512", userSecret: secretRef("kafka-sasl", "user"), passwordSecret: secretRef("kafka-sasl", "password") },
      consumerGroup: { groupName: "argo-events", rebalanceStrategy: "sticky", startOldest: true },
      partitioner: "hash",
      consumerBatchMaxWait: "1s",
    },
  },
  // A JetStream bus of an older Argo (antiAffinity) with a toleration of every effect.
  js: {
    jetstream: {
      version: "2.10",
      replicas: 3,
      antiAffinity: true,
      tolerations: [{ key: "dedicated", operator: "Equal", value: "events", effect: "" }, { operator: "Exists" }],
      // A quantity as a JSON number, as Kubernetes takes it (int-or-string would refuse it).
      containerTemplate: { resources: { requests: { cpu: 0.5, memory: "128Mi" } } },
    },
  },
  // Fields of a future Argo, at several depths.
  future: {
    jetstream: {
      version: "2.10",
      containerTemplate: { resources: { requests: { cpu: "100m" } }, futureContainerField: "x" },
      futureField: { nested: [1, "two", { three: true }] },
    },
    futureMode: { url: "nats://future:4222" },
  },
  // A NATS Streaming bus of an older Argo.
  stan: { nats: { native: { replicas: 3, auth: "token", antiAffinity: true, tolerations: [{ key: "spot", effect: "" }] } } },
};

/** What Argo's controller writes into a Kafka bus's status (pkg/reconciler/eventbus/installer/kafka.go), and a field of a future one. */
const ARGO_KAFKA_STATUS = {
  conditions: [
    { type: "Configured", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" },
    {
      type: "Deployed",
      status: "True",
      reason: "Skipped",
      message: "Skip deployment because of using exotic config.",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    },
  ],
  config: { kafka: { url: "kafka-0.kafka:9092,kafka-1.kafka:9092", topic: "argo-events", version: "3.6.0" } },
  futureStatusField: { seen: 1 },
};

/** The parts of a stored bus that must survive: spec, status, labels and annotations. */
function kept(bus: Json | undefined): Json {
  assert.ok(bus !== undefined, "the bus exists");
  return { spec: bus.spec, status: bus.status, labels: bus.metadata.labels, annotations: bus.metadata.annotations };
}

describe("argo crd - EventBuses stored under Argo Events' CRD survive eventbus's CRD and controller", () => {
  let api: KubeApi;
  let admin: KubeClient;
  const getBus = (name: string) => admin.get<Json & KubeResource>(Resources.eventBus, NS, name);

  /** Whether the API server takes a bus with a wrong type under `spec` (dry run: nothing is stored). */
  const acceptsWrongType = async () => {
    const res = await api.request("POST", `${BUSES_PATH}?dryRun=All`, {
      body: { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: "probe" }, spec: { jetstream: { replicas: "three" } } },
    });
    assert.ok(res.status === 201 || res.status === 422, res.text);
    return res.status === 201;
  };

  before(async () => {
    api = await startKubeApi();
    admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
    // GIVEN Argo Events' CRD, a namespace, and buses written by Argo's users and controller
    await admin.create(Resources.customResourceDefinition, undefined, ARGO_EVENTBUS_CRD);
    await waitFor("Argo's CRD to serve EventBuses", async () => ((await api.request("GET", BUSES_PATH)).status === 200 ? true : undefined), WAIT);
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  });

  after(async () => {
    admin?.close();
    await api?.stop();
  });

  test("argo crd - Kafka, antiAffinity, effect \"\" and future fields read back unchanged after eventbus's CRD replaces Argo's, and after later writes", async () => {
    assert.equal(await acceptsWrongType(), true, "Argo's CRD takes any value under spec");
    for (const [name, spec] of Object.entries(ARGO_BUSES)) {
      await admin.create(Resources.eventBus, NS, {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "EventBus",
        metadata: { name, labels: { team: "events" }, annotations: { note: "argo" } },
        spec,
      });
    }
    const kafka = (await getBus("kafka"))!;
    await admin.json("PUT", `${BUSES_PATH}/kafka/status`, { verb: "update", resource: "eventbus", body: { ...kafka, status: ARGO_KAFKA_STATUS } });
    const underArgo = Object.fromEntries(await Promise.all(Object.keys(ARGO_BUSES).map(async (n) => [n, kept(await getBus(n))] as const)));
    // Argo's CRD stores them as written.
    for (const [name, spec] of Object.entries(ARGO_BUSES)) assert.deepEqual(underArgo[name]!.spec, spec, `${name} under Argo's CRD`);
    assert.deepEqual(underArgo["kafka"]!.status, ARGO_KAFKA_STATUS);

    // WHEN eventbus's CRD replaces Argo's (as `kubectl replace`, or an apply that takes every field)
    const current = (await admin.get<Json & KubeResource>(Resources.customResourceDefinition, undefined, "eventbus.argoproj.io"))!;
    await admin.replace(Resources.customResourceDefinition, undefined, "eventbus.argoproj.io", {
      ...eventBusCrd(),
      metadata: { name: "eventbus.argoproj.io", resourceVersion: current.metadata.resourceVersion },
    });
    // A wrong type is the one thing eventbus's CRD refuses: once it does, the new schema is in force.
    await waitFor("eventbus's CRD to be in force", async () => ((await acceptsWrongType()) ? undefined : true), WAIT);

    // THEN every stored bus reads back as it was
    for (const name of Object.keys(ARGO_BUSES)) assert.deepEqual(kept(await getBus(name)), underArgo[name], `${name} read under eventbus's CRD`);

    // AND a write of the object (a label, as kubectl label does; a whole update, as Argo's controller does) keeps every field
    for (const name of Object.keys(ARGO_BUSES)) {
      await admin.json("PATCH", `${BUSES_PATH}/${name}`, {
        verb: "patch",
        resource: "eventbus",
        body: { metadata: { labels: { written: "again" } } },
        contentType: "application/merge-patch+json",
      });
      const patched = kept(await getBus(name));
      assert.deepEqual(patched, { ...underArgo[name], labels: { team: "events", written: "again" } }, `${name} after a label patch`);
      const whole = (await getBus(name))!;
      await admin.replace(Resources.eventBus, NS, name, whole);
      assert.deepEqual(kept(await getBus(name)), patched, `${name} after an update of the whole object`);
    }
    // AND the status subresource keeps Argo's status fields on a write
    const kafkaNow = (await getBus("kafka"))!;
    await admin.json("PUT", `${BUSES_PATH}/kafka/status`, { verb: "update", resource: "eventbus", body: kafkaNow });
    assert.deepEqual((await getBus("kafka"))!.status, ARGO_KAFKA_STATUS);

    // AND new buses of the same shapes are accepted and stored as sent
    for (const [name, spec] of Object.entries(ARGO_BUSES)) {
      await admin.create(Resources.eventBus, NS, { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: `new-${name}` }, spec });
      assert.deepEqual((await getBus(`new-${name}`))!.spec, spec, `new-${name} under eventbus's CRD`);
    }
  });

  test('argo crd - the controller leaves a Kafka bus alone and runs the antiAffinity/effect "" buses with their spec unchanged', async () => {
    const kafkaBefore = (await getBus("kafka"))!;
    const specs = Object.fromEntries(await Promise.all(["js", "stan"].map(async (n) => [n, (await getBus(n))!.spec] as const)));
    const logs: ControllerLogEntry[] = [];
    // GIVEN the controller, reconciling every bus of the cluster
    await using controller = new Controller({
      connection: fromKubeconfig(api.kubeconfigPath),
      all: true,
      leaderElection: false,
      watchBackoff: { initialMillis: 50, maxMillis: 1_000, jitter: 0.1 },
      retry: { baseDelayMillis: 50, maxDelayMillis: 1_000 },
      log: (e) => void logs.push(e),
    });
    await controller.start();

    // WHEN it has reconciled the buses it runs
    for (const name of ["js", "stan", "new-js", "new-stan"]) {
      await waitFor(
        `EventBus ${name} to be deployed`,
        async () => {
          const bus = await getBus(name);
          const deployed = (bus?.status?.conditions as Json[] | undefined)?.find((c) => c.type === "Deployed");
          return deployed?.status === "True" && bus?.status?.observedGeneration === bus?.metadata.generation ? bus : undefined;
        },
        WAIT,
      );
    }
    await waitFor(
      "the Kafka buses to be skipped",
      () => (logs.filter((e) => e.message.startsWith("skipping a Kafka bus")).length === 2 ? true : undefined),
      WAIT,
    );
    await waitFor("the controller to be idle", () => (controller.pending === 0 ? true : undefined), WAIT);

    // THEN the Kafka bus is as Argo left it: not written at all, no finalizer, no objects
    const kafkaAfter = (await getBus("kafka"))!;
    assert.equal(kafkaAfter.metadata.resourceVersion, kafkaBefore.metadata.resourceVersion, "the Kafka bus was not written");
    assert.deepEqual(kafkaAfter.status, ARGO_KAFKA_STATUS);
    assert.equal(kafkaAfter.metadata.finalizers, undefined);
    const newKafka = (await getBus("new-kafka"))!;
    assert.equal(newKafka.status, undefined, "no status on a new Kafka bus");
    assert.equal(newKafka.metadata.finalizers, undefined);
    for (const rt of [Resources.statefulSet, Resources.service, Resources.configMap, Resources.secret]) {
      const owned = await admin.list(rt, { namespace: NS, labelSelector: "eventbus-name in (kafka,new-kafka)" });
      assert.deepEqual(
        owned.items.map((o) => o.metadata.name),
        [],
        `no ${rt.kind} for a Kafka bus`,
      );
    }
    const skipped = logs.find((e) => e.message.startsWith("skipping a Kafka bus"));
    assert.equal(skipped?.level, "info");

    // AND a bus with fields of a future Argo keeps them, and is run as Argo runs it: Argo decodes
    // specs into Go structs, which drop unknown fields, so eventbus's validation only warns
    const future = await waitFor(
      "EventBus future to be configured",
      async () => {
        const bus = await getBus("future");
        return (bus?.status?.conditions as Json[] | undefined)?.some((c) => c.type === "Configured" && c.status === "True") ? bus : undefined;
      },
      WAIT,
    );
    assert.deepEqual(future.spec, ARGO_BUSES["future"], "future: spec unchanged");

    // AND the managed buses are valid and running, their specs unchanged, the toleration passed through
    for (const name of ["js", "stan"]) {
      const bus = (await getBus(name))!;
      assert.deepEqual(bus.spec, specs[name], `${name}: spec unchanged`);
      assert.deepEqual(bus.metadata.finalizers, [FINALIZER]);
      assert.equal((bus.status.conditions as Json[]).find((c) => c.type === "Configured")?.status, "True", `${name} is not invalid`);
    }
    const sts = (await admin.get<Json & KubeResource>(Resources.statefulSet, NS, "eventbus-js-js"))!;
    // As Kubernetes stores a toleration of every effect: without the empty effect (omitempty).
    assert.deepEqual(sts.spec.template.spec.tolerations, [{ key: "dedicated", operator: "Equal", value: "events" }, { operator: "Exists" }]);
    // AND the controller, having applied it, does not apply it again on the next reconcile
    const writes = controller.writes;
    const reconciles = controller.metrics.reconciles.sum(() => true);
    await admin.json("PATCH", `${BUSES_PATH}/js`, {
      verb: "patch",
      resource: "eventbus",
      body: { metadata: { annotations: { touched: "1" } } },
      contentType: "application/merge-patch+json",
    });
    await waitFor(
      "the touched bus to be reconciled",
      () => (controller.metrics.reconciles.sum(() => true) > reconciles && controller.pending === 0 ? true : undefined),
      WAIT,
    );
    assert.equal(controller.writes, writes, 'no write for an unchanged bus (effect "", cpu: 0.5 stored as 500m)');
    assert.equal(JSON.stringify(sts.spec.template.spec).includes("antiAffinity"), false, "antiAffinity is ignored, as by Argo");
  });
});
