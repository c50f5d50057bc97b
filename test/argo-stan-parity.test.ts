/**
 * NATS Streaming (STAN) parity with Argo Events, against a real kube-apiserver: eventbus's rendered
 * StatefulSet and Service, server-side applied over the ones Argo's controller made for the same
 * bus, update them in place. Argo's objects are written by the test as its installer builds them,
 * encoded from Argo Events' source:
 *
 * - argoproj/argo-events pkg/reconciler/eventbus/installer/nats.go: `buildStanService` (name
 *   `eventbus-<n>-stan-svc`, labels with `stan: yes` from `stanServiceLabels`, headless, ports
 *   `tcp-client` 4222, `cluster` 6222, `monitor` 8222, selector the bus labels);
 *   `buildStatefulSetSpec` (serviceName, selector the bus labels, no podManagementPolicy, which the
 *   API server defaults to OrderedReady; containers `stan` with ports `client`, `cluster`,
 *   `monitor`, command `/nats-streaming-server -sc /etc/stan-config/stan.conf`, and `metrics` with
 *   port `metrics` 7777; the projected `config-volume` at /etc/stan-config; the data volume at
 *   /data/stan: claim template `generatePVCName` = `stan-<n>-vol`, ReadWriteOnce, Filesystem, or
 *   without persistence an emptyDir `stan-data`); `buildConfigMap` (store `/data/stan/store`, raft
 *   log `/data/stan/logs`); `generateStatefulSetName`, `generateServiceName`;
 * - pkg/reconciler/eventbus/installer/installer.go (`getLabels`): the bus labels `controller:
 *   eventbus-controller`, `eventbus-name`, `owner-name`.
 *
 * What a live StatefulSet may not change (serviceName, selector, podManagementPolicy,
 * volumeClaimTemplates) is kubernetes/kubernetes pkg/apis/apps/validation/validation.go
 * (`ValidateStatefulSetUpdate`); the test shows this API server refuses such a change.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { validate } from "../src/api/index.js";
import {
  ARGO_SPEC_HASH_ANNOTATION,
  generateBusMaterial,
  KubeApiError,
  renderBusObjects,
  Resources,
  type KubeObject,
  type KubeResource,
  type ResourceType,
} from "../src/platforms/kubernetes/index.js";
import { ARGO_MANAGER, argoBusLabels, startArgoCluster, type ArgoCluster } from "./helpers/argo-cluster.js";

type Json = Record<string, any>;
const NS = "legacy-stan";

/** A STAN bus of Argo's shape: token auth with a persistent volume, or no auth and no persistence. */
interface Case {
  readonly name: string;
  readonly persistent: boolean;
}
const CASES: readonly Case[] = [
  { name: "persistent", persistent: true },
  { name: "ephemeral", persistent: false },
];

function busSpec(c: Case): Json {
  return { nats: { native: { replicas: 3, ...(c.persistent ? { auth: "token", persistence: { volumeSize: "1Gi" } } : {}) } } };
}

/** The Service and StatefulSet Argo's NATS installer builds for bus `name` (owned by `uid`). */
function argoStanObjects(c: Case, uid: string): { rt: ResourceType; body: Json }[] {
  const name = c.name;
  const labels = argoBusLabels(name);
  const meta = (objectName: string, objectLabels: Record<string, string>) => ({
    name: objectName,
    namespace: NS,
    labels: objectLabels,
    annotations: { [ARGO_SPEC_HASH_ANNOTATION]: `argo-${objectName}` },
    ownerReferences: [{ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", name, uid, controller: true, blockOwnerDeletion: true }],
  });
  const svc = `eventbus-${name}-stan-svc`;
  const claim = `stan-${name}-vol`;
  const dataVolume = c.persistent ? claim : "stan-data";
  const spec: Json = {
    replicas: 3,
    serviceName: svc,
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        volumes: [
          {
            name: "config-volume",
            projected: {
              sources: [
                { configMap: { name: `eventbus-${name}-stan-configmap`, items: [{ key: "stan-config", path: "stan.conf" }] } },
                { secret: { name: `eventbus-${name}-server`, items: [{ key: "auth", path: "auth.conf" }] } },
              ],
            },
          },
          ...(c.persistent ? [] : [{ name: "stan-data", emptyDir: {} }]),
        ],
        containers: [
          {
            name: "stan",
            image: "nats-streaming:0.22.1",
            ports: [
              { name: "client", containerPort: 4222 },
              { name: "cluster", containerPort: 6222 },
              { name: "monitor", containerPort: 8222 },
            ],
            command: ["/nats-streaming-server", "-sc", "/etc/stan-config/stan.conf"],
            env: [
              { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
              { name: "CLUSTER_ADVERTISE", value: `$(POD_NAME).${svc}.$(POD_NAMESPACE).svc` },
            ],
            volumeMounts: [
              { name: "config-volume", mountPath: "/etc/stan-config" },
              { name: dataVolume, mountPath: "/data/stan" },
            ],
            resources: { requests: { cpu: "0" } },
            livenessProbe: { httpGet: { path: "/", port: 8222 }, initialDelaySeconds: 10, timeoutSeconds: 5 },
          },
          {
            name: "metrics",
            image: "natsio/prometheus-nats-exporter:0.9.1",
            ports: [{ name: "metrics", containerPort: 7777 }],
            args: ["-connz", "-routez", "-subz", "-varz", "-channelz", "-serverz", "http://localhost:8222"],
          },
        ],
      },
    },
    ...(c.persistent && {
      volumeClaimTemplates: [
        { metadata: { name: claim }, spec: { accessModes: ["ReadWriteOnce"], volumeMode: "Filesystem", resources: { requests: { storage: "1Gi" } } } },
      ],
    }),
  };
  return [
    {
      rt: Resources.service,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: meta(svc, { stan: "yes", ...labels }),
        spec: {
          clusterIP: "None",
          ports: [
            { name: "tcp-client", port: 4222 },
            { name: "cluster", port: 6222 },
            { name: "monitor", port: 8222 },
          ],
          type: "ClusterIP",
          selector: labels,
        },
      },
    },
    { rt: Resources.statefulSet, body: { apiVersion: "apps/v1", kind: "StatefulSet", metadata: meta(`eventbus-${name}-stan`, labels), spec } },
  ];
}

const IMMUTABLE = ["serviceName", "selector", "podManagementPolicy", "volumeClaimTemplates"] as const;

describe("argo stan parity - eventbus's NATS Streaming objects over Argo's, on a real API server", () => {
  let cluster: ArgoCluster;

  const get = (rt: ResourceType, name: string) => cluster.admin.get<Json & KubeResource>(rt, NS, name);

  /** GIVEN a bus whose Service and StatefulSet Argo made; returns them as stored and eventbus's rendered ones. */
  async function argoBus(c: Case): Promise<{ uid: string; argoSts: Json; argoSvc: Json; ours: { sts: KubeObject; svc: KubeObject } }> {
    const manifest = { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: c.name, namespace: NS }, spec: busSpec(c) };
    const bus = await cluster.admin.create<Json & KubeResource>(Resources.eventBus, NS, manifest);
    for (const { rt, body } of argoStanObjects(c, bus.metadata.uid!)) await cluster.createAsArgo(rt, body);
    const resolved = validate(manifest);
    assert.ok(resolved.ok, JSON.stringify(!resolved.ok && resolved.issues));
    const objects = renderBusObjects(resolved.bus, {
      namespace: NS,
      secrets: await generateBusMaterial(resolved.bus, NS),
      owner: { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", name: c.name, uid: bus.metadata.uid! },
    });
    const find = (kind: string) => objects.find((o) => o.kind === kind)!;
    return {
      uid: bus.metadata.uid!,
      argoSts: (await get(Resources.statefulSet, `eventbus-${c.name}-stan`))!,
      argoSvc: (await get(Resources.service, `eventbus-${c.name}-stan-svc`))!,
      ours: { sts: find("StatefulSet"), svc: find("Service") },
    };
  }

  before(async () => {
    cluster = await startArgoCluster(NS);
  });

  after(async () => {
    await cluster?.stop();
  });

  for (const c of CASES) {
    test(`argo stan parity - ${c.persistent ? "token auth, persistent" : "no auth, no persistence"}: the StatefulSet and Service Argo made are updated in place, with Argo's immutable fields, container and port names`, async () => {
      const { uid, argoSts, argoSvc, ours } = await argoBus(c);
      assert.equal(argoSts.spec.podManagementPolicy, "OrderedReady", "the API server's default for Argo's StatefulSet");

      // WHEN eventbus applies its rendered Service and StatefulSet (server-side, forced).
      await cluster.admin.apply(ours.svc);
      await cluster.admin.apply(ours.sts);

      // THEN both are the same objects, updated.
      const sts = (await get(Resources.statefulSet, `eventbus-${c.name}-stan`))!;
      const svc = (await get(Resources.service, `eventbus-${c.name}-stan-svc`))!;
      assert.equal(sts.metadata.uid, argoSts.metadata.uid);
      assert.equal(svc.metadata.uid, argoSvc.metadata.uid);
      assert.ok(sts.metadata.generation! > argoSts.metadata.generation!, "the pod template changed");
      for (const field of IMMUTABLE) assert.deepEqual(sts.spec[field], argoSts.spec[field], field);

      // Argo's container names, once each: eventbus's server replaced Argo's instead of running beside it.
      const containers: Json[] = sts.spec.template.spec.containers;
      assert.deepEqual(containers.map((x) => x.name).sort(), ["metrics", "stan"]);
      const stan = containers.find((x) => x.name === "stan")!;
      const ourStan = (ours.sts as Json).spec.template.spec.containers.find((x: Json) => x.name === "stan");
      assert.equal(stan.image, ourStan.image, "eventbus's server runs in Argo's container");
      assert.deepEqual(
        stan.ports.map((p: Json) => [p.name, p.containerPort]),
        [
          ["client", 4222],
          ["cluster", 6222],
          ["monitor", 8222],
        ],
      );
      assert.deepEqual(stan.command, ["/nats-streaming-server", "-sc", "/etc/stan-config/$(POD_NAME).conf"]);
      const dataVolume = c.persistent ? `stan-${c.name}-vol` : "stan-data";
      assert.deepEqual(stan.volumeMounts, [
        { name: "config-volume", mountPath: "/etc/stan-config" },
        { name: dataVolume, mountPath: "/data/stan" },
      ]);
      assert.deepEqual(sts.spec.template.spec.volumes.map((v: Json) => v.name).sort(), c.persistent ? ["config-volume"] : ["config-volume", "stan-data"]);
      const metrics = containers.find((x) => x.name === "metrics")!;
      assert.deepEqual(
        metrics.ports.map((p: Json) => [p.name, p.containerPort]),
        [["metrics", 7777]],
      );

      // The Service keeps Argo's port names and label, and gains the exporter's port.
      assert.deepEqual(
        svc.spec.ports.map((p: Json) => [p.name, p.port]),
        [
          ["tcp-client", 4222],
          ["cluster", 6222],
          ["monitor", 8222],
          ["metrics", 7777],
        ],
      );
      assert.equal(svc.spec.clusterIP, "None");
      assert.deepEqual(svc.spec.selector, argoSvc.spec.selector);
      assert.equal(svc.metadata.labels?.["stan"], "yes");

      // AND Argo's controller can take it back: its Update (its own spec over the live object) is accepted.
      const back = { ...sts, spec: argoStanObjects(c, uid)[1]!.body.spec };
      const res = await cluster.api.request("PUT", `/apis/apps/v1/namespaces/${NS}/statefulsets/eventbus-${c.name}-stan?fieldManager=${ARGO_MANAGER}`, {
        body: back,
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json<Json>().metadata.uid, argoSts.metadata.uid);
    });
  }

  test("argo stan parity - the API server refuses a StatefulSet whose claim template or pod management differs from Argo's (what eventbus's names avoid)", async () => {
    const c: Case = { name: "refused", persistent: true };
    const { argoSts, ours } = await argoBus(c);
    const spec = (ours.sts as Json).spec;
    const variants: [string, Json][] = [
      [
        "the claim template eventbus named before",
        { ...spec, volumeClaimTemplates: [{ ...spec.volumeClaimTemplates[0], metadata: { name: `eventbus-${c.name}-stan-vol` } }] },
      ],
      ["Parallel pod management", { ...spec, podManagementPolicy: "Parallel" }],
    ];
    for (const [what, variant] of variants) {
      await assert.rejects(cluster.admin.apply({ ...ours.sts, spec: variant }, { dryRun: true }), (err: unknown) => {
        assert.ok(err instanceof KubeApiError, String(err));
        assert.equal(err.status, 422, what);
        assert.match(err.message, /updates to statefulset spec for fields other than/, what);
        return true;
      });
    }
    const sts = (await get(Resources.statefulSet, `eventbus-${c.name}-stan`))!;
    assert.equal(sts.metadata.resourceVersion, argoSts.metadata.resourceVersion, "nothing changed");
    // The rendered one, as it is, is accepted (a dry run: the object stays Argo's).
    await cluster.admin.apply(ours.sts, { dryRun: true });
  });
});
