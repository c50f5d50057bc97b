/**
 * eventbus inside the cluster: the controller installed by `eventbus install --apply` runs in a
 * pod of its image (scripts/kube-node/eventbus-image.ts), reaches the API server through the
 * `kubernetes` Service with its ServiceAccount (kube-proxy routes the ClusterIP), and reconciles an
 * Argo-shaped EventBus; then Argo-format clients run in pods as Argo Events runs its event sources
 * and sensors, and connect with nothing but what Argo gives them.
 *
 * What Argo gives an event source's or a sensor's pod, from argoproj/argo-events
 * controllers/eventsource/resource.go and controllers/sensor/resource.go (`buildDeployment`):
 * - `EVENTBUS_CONFIG`: the EventBus's `status.config`, JSON-marshalled and base64-encoded
 *   (`base64.StdEncoding.EncodeToString(busConfigBytes)`);
 * - the Secret of `status.config.jetstream.accessSecret`, its key projected to `auth.yaml` in a
 *   volume `auth-volume` mounted at `/etc/eventbus/auth` (`common.EventBusAuthFileMountPath`);
 * - an emptyDir at `/tmp`.
 * The pods here get those, plus the bus's CA (`ca-cert` of its server Secret) so that the client
 * verifies the servers' certificates against the Service name in `status.config`'s URL. (Argo's
 * driver, pkg/eventbus/jetstream/base/jetstream.go `MakeConnection`, skips that check when the
 * config has no TLS settings: `nats.Secure(&tls.Config{InsecureSkipVerify: true})`.)
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";

import { fromKubeconfig, KubeClient, Resources, type KubeResource, type ResourceType } from "../src/platforms/kubernetes/index.js";
import { eventbusImageName } from "../scripts/kube-node/eventbus-image.js";
import { nodeUp } from "../scripts/kube-node/node.js";
import { waitFor } from "../test/helpers/process.js";
import { argoEventBus, POD, type Pod, podLog, readyPods, runningBus } from "./helpers.js";

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const LEASE: ResourceType = { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true };
const EVENTS = 10_000;

describe("eventbus in the cluster: the controller in a pod, Argo-format clients in pods", () => {
  const namespace = `e2e-ic-${randomBytes(3).toString("hex")}`;
  let kube: KubeClient;
  let image: string;

  before(async () => {
    const node = await nodeUp((line) => process.stderr.write(`${line}\n`));
    kube = new KubeClient(fromKubeconfig(node.kubeconfig));
    image = eventbusImageName();
    // The controller and its buses in one namespace: `--watch-namespace` gives it a Role there.
    await execFileAsync(process.execPath, [CLI, "install", "--apply", "--image", image, "--namespace", namespace, "--watch-namespace", namespace, "--all"], {
      env: { ...process.env, KUBECONFIG: node.kubeconfig },
    });
  });

  after(async () => {
    // The namespace goes with the controller, the bus, its pods and claims; the node stays up.
    await kube?.delete(Resources.namespace, undefined, namespace).catch(() => undefined);
    kube?.close();
  });

  /** A pod that runs the eventbus image once with `args`, given what Argo gives its pods; resolves with its log once it has exited 0. */
  const runClientPod = async (name: string, bus: { config: unknown; accessSecret: { name: string; key: string }; caSecret: string }, args: string[]) => {
    await kube.create(POD, namespace, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace },
      spec: {
        restartPolicy: "Never",
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
        containers: [
          {
            name: "main",
            image,
            args: [...args, "--ca", "/etc/eventbus/ca/ca-cert.pem", "--output", "json"],
            env: [{ name: "EVENTBUS_CONFIG", value: Buffer.from(JSON.stringify(bus.config)).toString("base64") }],
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
            volumeMounts: [
              { name: "tmp", mountPath: "/tmp" },
              { name: "auth-volume", mountPath: "/etc/eventbus/auth" },
              { name: "ca", mountPath: "/etc/eventbus/ca" },
            ],
          },
        ],
        volumes: [
          { name: "tmp", emptyDir: {} },
          { name: "auth-volume", secret: { secretName: bus.accessSecret.name, items: [{ key: bus.accessSecret.key, path: "auth.yaml" }] } },
          { name: "ca", secret: { secretName: bus.caSecret, items: [{ key: "ca-cert", path: "ca-cert.pem" }] } },
        ],
      },
    });
    const done = await waitFor(
      `pod ${name} to finish`,
      async () => {
        const pod = (await kube.get(POD, namespace, name)) as Pod;
        return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed" ? pod : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 1_000 },
    );
    const log = await podLog(kube, namespace, name);
    assert.equal(done.status?.phase, "Succeeded", `pod ${name} exited ${JSON.stringify(done.status?.containerStatuses?.[0]?.state)}; its log ends:\n${log.slice(-2_000)}`);
    return log;
  };

  test("the controller's pod is Ready through its probes and leads, connected in-cluster through the kubernetes Service", async () => {
    const [pod] = await readyPods(kube, namespace, 1, "app.kubernetes.io/name=eventbus-controller");
    assert.ok(pod);
    const lease = (await waitFor("the controller's Lease", async () => kube.get(LEASE, namespace, "eventbus-controller").catch(() => undefined), {
      timeoutMs: 30_000,
      intervalMs: 500,
    })) as KubeResource & { spec?: { holderIdentity?: string } };
    assert.match(lease.spec?.holderIdentity ?? "", new RegExp(`^${pod.metadata.name}_`), "the pod holds the Lease");
    const log = await podLog(kube, namespace, pod.metadata.name);
    assert.match(log, /connecting server=https:\/\/10\.96\.0\.1:443 source=in-cluster/, "it found the API server as pods do: KUBERNETES_SERVICE_HOST and its ServiceAccount");
  });

  test("it reconciles an Argo-shaped bus; a publisher pod with EVENTBUS_CONFIG and the mounted auth.yaml stores 10,000 events, a subscriber pod reads every one", async () => {
    // GIVEN an EventBus as Argo Events users write it, reconciled by the controller in its pod
    const appliedAt = Date.now();
    await kube.apply(argoEventBus(namespace, "2.11"));
    const bus = await runningBus(kube, namespace);
    await readyPods(kube, namespace, 3, "eventbus-name=default");
    console.log(`# reconciled by the in-cluster controller: Running ${((Date.now() - appliedAt) / 1000).toFixed(1)} s after it was applied`);
    const config = bus.status?.config;
    const accessSecret = config?.jetstream?.accessSecret;
    assert.ok(config && accessSecret, "status.config.jetstream with an accessSecret");
    assert.match(config.jetstream?.url ?? "", new RegExp(`^nats://eventbus-default-js-svc\\.${namespace}\\.svc:4222$`));
    const secrets = (await kube.list<KubeResource & { data?: Record<string, string> }>(Resources.secret, { namespace })).items;
    const caSecret = secrets.find((s) => s.metadata.labels?.["eventbus-name"] === "default" && s.data?.["ca-cert"] !== undefined)?.metadata.name;
    assert.ok(caSecret, "the bus's server Secret holds its CA");
    const target = { config, accessSecret, caSecret };

    // WHEN a publisher pod publishes 10,000 events with Argo's wire format, through the Service name
    const published = await runClientPod("publisher", target, ["publish", "--source", "incluster", "--event", "load", "--count", String(EVENTS), "--window", "256"]);

    // THEN each one was stored once
    const acks = jsonLines(published) as { id: string; fate: string }[];
    assert.equal(acks.length, EVENTS);
    assert.deepEqual(
      acks.filter((a) => a.fate !== "stored").slice(0, 3),
      [],
    );
    const ids = new Set(acks.map((a) => a.id));
    assert.equal(ids.size, EVENTS, "every event has its own id");

    // AND a subscriber pod (a durable consumer, as a sensor's) reads every one back, acking each
    const read = await runClientPod("subscriber", target, [
      "subscribe",
      "--source",
      "incluster",
      "--event",
      "load",
      "--durable",
      "incluster-reader",
      "--from",
      "start",
      "--count",
      String(EVENTS),
    ]);
    const events = jsonLines(read) as { id: string; source: string; subject: string }[];
    assert.equal(events.length, EVENTS);
    assert.deepEqual(
      events.filter((e) => !ids.has(e.id) || e.source !== "incluster" || e.subject !== "load").slice(0, 3),
      [],
    );
    assert.equal(new Set(events.map((e) => e.id)).size, EVENTS);
  });
});

/** The JSON lines of a log (`--output json`), other lines skipped. */
function jsonLines(log: string): unknown[] {
  return log
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as unknown);
}
