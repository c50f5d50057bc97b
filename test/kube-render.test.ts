import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { parse, parseAllDocuments } from "yaml";

import { validate, type ResolvedEventBus } from "../src/api/index.js";
import {
  BUILT_IN_SOURCE,
  canonical,
  defaultImages,
  generateBusMaterial,
  InvalidImagesFileError,
  isKubeError,
  jetStreamImages,
  KubeErrorCode,
  SecretMaterialMismatchError,
  parseImagesFile,
  renderBusObjects,
  stanImages,
  toJsonList,
  toYamlDocuments,
  UnknownImageVersionError,
  type ImagesTable,
  type KubeObject,
} from "../src/platforms/kubernetes/index.js";
import { BusSecretFile, type BusSecrets } from "../src/secrets/index.js";
import { findBinary, findNatsServer, NATS_STREAMING_SERVER } from "../src/tools/index.js";
import { resolveStanVersion } from "../src/versions/index.js";
import { runCliHere, runCliProcess } from "./helpers/cli-process.js";
import { freePort, spawnProcess, waitFor, type ManagedProcess } from "./helpers/index.js";

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const NS = "argo-events";
const LABELS = { controller: "eventbus-controller", "eventbus-name": "default", "owner-name": "default" };

// ---------------------------------------------------------------------------------------------
// Helpers

function makeBus(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: "default" }): ResolvedEventBus {
  const result = validate({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata, spec });
  if (!result.ok) throw new Error(`invalid test manifest: ${JSON.stringify(result.issues)}`);
  return result.bus;
}

function js(fields: Record<string, unknown> = {}, name = "default"): ResolvedEventBus {
  return makeBus({ jetstream: { version: "2.10", ...fields } }, { name });
}

// Material is made once per bus shape and namespace: certificates name the namespace.
const materials = new Map<string, BusSecrets>();
async function material(bus: ResolvedEventBus, namespace = NS): Promise<BusSecrets> {
  const key = `${bus.name}/${namespace}/${bus.spec.mode}/${bus.spec.mode === "jetstream" && bus.spec.tls}`;
  let secrets = materials.get(key);
  if (secrets === undefined) {
    secrets = await generateBusMaterial(bus, namespace);
    materials.set(key, secrets);
  }
  return secrets;
}

async function render(bus: ResolvedEventBus, options: { namespace?: string; images?: ImagesTable } = {}): Promise<KubeObject[]> {
  const namespace = options.namespace ?? NS;
  return renderBusObjects(bus, { namespace, secrets: await material(bus, namespace), ...(options.images && { images: options.images }) });
}

function find(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(found, `no ${kind}${name ? ` ${name}` : ""} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return found;
}

/** A Secret's `data`, decoded. */
function secretData(object: KubeObject): Record<string, string> {
  assert.equal(object.kind, "Secret");
  const data = object["data"] as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

interface PodSpec {
  containers: Record<string, unknown>[];
  volumes: Record<string, unknown>[];
  [key: string]: unknown;
}
interface StatefulSetSpec {
  template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  volumeClaimTemplates?: Record<string, unknown>[];
  [key: string]: unknown;
}

function statefulSetSpec(objects: readonly KubeObject[]): StatefulSetSpec {
  return find(objects, "StatefulSet")["spec"] as StatefulSetSpec;
}

function container(objects: readonly KubeObject[], name: string): Record<string, unknown> {
  const found = statefulSetSpec(objects).template.spec.containers.find((c) => c["name"] === name);
  assert.ok(found, `no container ${name}`);
  return found;
}

async function tempDir(prefix: string): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Writes a JetStream bus's projected config volume (the ConfigMap's keys and the server Secret's)
 * under `<dir>/etc/nats-config`, with the pod's absolute paths mapped under `dir`, and optionally
 * the pod's listeners mapped to free loopback ports. Returns the config file of each pod.
 */
async function writeConfigVolume(
  objects: readonly KubeObject[],
  dir: string,
  ports?: { client: number; monitor: number },
): Promise<{ configFiles: Map<string, string>; env: NodeJS.ProcessEnv; pidFile: string }> {
  const configDir = join(dir, "etc/nats-config");
  await mkdir(configDir, { recursive: true });
  await mkdir(join(dir, "var/run/nats"), { recursive: true });
  const map = (text: string) => {
    let out = text
      .replaceAll('"/etc/nats-config/', `"${dir}/etc/nats-config/`)
      .replaceAll('"/data/jetstream"', `"${dir}/data/jetstream"`)
      .replaceAll('"/var/run/nats/', `"${dir}/var/run/nats/`);
    if (ports)
      out = out.replace('listen: "0.0.0.0:4222"', `listen: "127.0.0.1:${ports.client}"`).replace('http: "0.0.0.0:8222"', `http: "127.0.0.1:${ports.monitor}"`);
    assert.doesNotMatch(out, /"\/(etc|data|var)\//, "every pod path is mapped");
    return out;
  };
  const configs = find(objects, "ConfigMap")["data"] as Record<string, string>;
  const configFiles = new Map<string, string>();
  for (const [key, text] of Object.entries(configs)) {
    const file = join(configDir, key);
    await writeFile(file, map(text), { mode: 0o600 });
    configFiles.set(key, file);
  }
  // The server Secret's keys as the StatefulSet projects them: each item's key to its path.
  const server = secretData(find(objects, "Secret", "eventbus-default-js-server"));
  const sts = find(objects, "StatefulSet")["spec"] as {
    template: { spec: { volumes: { projected?: { sources: { secret?: { items: { key: string; path: string }[] } }[] } }[] } };
  };
  const items = sts.template.spec.volumes.flatMap((v) => v.projected?.sources ?? []).flatMap((src) => src.secret?.items ?? []);
  for (const { key, path } of items) await writeFile(join(configDir, path), server[key]!, { mode: 0o600 });
  return { configFiles, env: { ...process.env }, pidFile: join(dir, "var/run/nats/nats.pid") };
}

async function checkConfig(version: string, file: string, env: NodeJS.ProcessEnv): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(findNatsServer(version), ["-c", file, "-t"], { cwd: "/", env, timeout: 15_000 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}${e.message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// JetStream objects

describe("kubernetes render - JetStream objects", () => {
  test("a 3-replica bus renders Argo's objects in apply order, each with the bus labels and namespace and no owner", async () => {
    const objects = await render(js());
    assert.deepEqual(
      objects.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`),
      [
        "v1 Secret eventbus-default-js-server",
        "v1 Secret eventbus-default-js-client-auth",
        "v1 ConfigMap eventbus-default-js-config",
        "v1 Service eventbus-default-js-svc",
        "apps/v1 StatefulSet eventbus-default-js",
        "policy/v1 PodDisruptionBudget eventbus-default-js-pdb",
      ],
    );
    for (const o of objects) {
      assert.deepEqual(o.metadata, { name: o.metadata.name, namespace: NS, labels: LABELS }, `${o.kind} metadata`);
    }
  });

  test("the headless Service: no cluster IP, not-ready pods published, Argo's four ports, the labels as selector", async () => {
    const svc = find(await render(js()), "Service");
    assert.deepEqual(svc["spec"], {
      type: "ClusterIP",
      clusterIP: "None",
      publishNotReadyAddresses: true,
      ports: [
        { name: "tcp-client", port: 4222 },
        { name: "cluster", port: 6222 },
        { name: "metrics", port: 7777 },
        { name: "monitor", port: 8222 },
      ],
      selector: LABELS,
    });
  });

  test("the StatefulSet: Parallel pods under the headless Service, shared process namespace, 60s grace, pid and config volumes", async () => {
    const spec = statefulSetSpec(await render(js()));
    assert.equal(spec["podManagementPolicy"], "Parallel");
    assert.equal(spec["replicas"], 3);
    assert.equal(spec["serviceName"], "eventbus-default-js-svc");
    assert.deepEqual(spec["selector"], { matchLabels: LABELS });
    assert.deepEqual(spec.template.metadata.labels, LABELS);
    assert.equal(spec.template.spec["shareProcessNamespace"], true);
    assert.equal(spec.template.spec["terminationGracePeriodSeconds"], 60);
    assert.deepEqual(spec.template.spec.volumes, [
      { name: "pid", emptyDir: {} },
      {
        name: "config-volume",
        projected: {
          sources: [
            { configMap: { name: "eventbus-default-js-config" } },
            // Only what the servers read: not credentials.json, Argo's auth or the bare encryption key. Argo's key names, Argo's file names.
            {
              secret: {
                name: "eventbus-default-js-server",
                items: [
                  ...[0, 1, 2].map((i) => ({ key: `eventbus-default-js-${i}.secrets.conf`, path: `eventbus-default-js-${i}.secrets.conf` })),
                  { key: "ca-cert", path: "ca-cert.pem" },
                  { key: "cert", path: "server-cert.pem" },
                  { key: "private-key", path: "server-key.pem" },
                  { key: "cluster-ca-cert", path: "cluster-ca-cert.pem" },
                  { key: "cluster-cert", path: "cluster-server-cert.pem" },
                  { key: "cluster-private-key", path: "cluster-server-key.pem" },
                ],
              },
            },
          ],
        },
      },
      { name: "eventbus-default-js-vol", emptyDir: {} },
    ]);
    assert.deepEqual(
      spec.template.spec.containers.map((c) => c["name"]),
      ["main", "reloader", "metrics"],
    );
  });

  test("the main container: nats image, ports, per-pod config via $(POD_NAME), Argo's env, probes, lame-duck preStop", async () => {
    const main = container(await render(js({ startArgs: ["-D"] })), "main");
    assert.deepEqual(
      canonical(main),
      canonical({
        name: "main",
        image: "nats:2.10.29",
        ports: [
          { name: "client", containerPort: 4222 },
          { name: "cluster", containerPort: 6222 },
          { name: "monitor", containerPort: 8222 },
        ],
        command: ["/nats-server", "--config", "/etc/nats-config/$(POD_NAME).conf"],
        args: ["-D"],
        env: [
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "SERVER_NAME", value: "$(POD_NAME)" },
          { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
          { name: "CLUSTER_ADVERTISE", value: "$(POD_NAME).eventbus-default-js-svc.$(POD_NAMESPACE).svc" },
        ],
        volumeMounts: [
          { name: "config-volume", mountPath: "/etc/nats-config" },
          { name: "pid", mountPath: "/var/run/nats" },
          { name: "eventbus-default-js-vol", mountPath: "/data/jetstream" },
        ],
        startupProbe: { httpGet: { path: "/healthz", port: 8222 }, failureThreshold: 30, initialDelaySeconds: 10, timeoutSeconds: 5 },
        livenessProbe: { httpGet: { path: "/", port: 8222 }, initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 5 },
        // Argo's readinessProbe (pkg/reconciler/eventbus/installer/jetstream.go).
        readinessProbe: { httpGet: { path: "/healthz", port: 8222 }, initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 5 },
        lifecycle: { preStop: { exec: { command: ["/nats-server", "-sl=ldm=/var/run/nats/nats.pid"] } } },
      }),
    );
    // Without startArgs there are no args at all.
    assert.equal("args" in (canonical(container(await render(js()), "main")) as object), false);
  });

  test("the reloader and metrics sidecars: images of the version, the reloader watches the pod's config and secrets include", async () => {
    const objects = await render(js({ version: "2.11" }));
    assert.deepEqual(
      canonical(container(objects, "reloader")),
      canonical({
        name: "reloader",
        image: "natsio/nats-server-config-reloader:0.14.1",
        command: [
          "nats-server-config-reloader",
          "-pid",
          "/var/run/nats/nats.pid",
          "-config",
          "/etc/nats-config/$(POD_NAME).conf",
          "-config",
          "/etc/nats-config/$(POD_NAME).secrets.conf",
        ],
        env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
        volumeMounts: [
          { name: "config-volume", mountPath: "/etc/nats-config" },
          { name: "pid", mountPath: "/var/run/nats" },
        ],
      }),
    );
    assert.deepEqual(
      canonical(container(objects, "metrics")),
      canonical({
        name: "metrics",
        image: "natsio/prometheus-nats-exporter:0.16.0",
        ports: [{ name: "metrics", containerPort: 7777 }],
        args: ["-connz", "-routez", "-subz", "-varz", "-prefix=nats", "-use_internal_server_id", "-jsz=all", "http://localhost:8222"],
      }),
    );
    assert.equal(container(objects, "main")["image"], "nats:2.11.17");
  });

  test("the ConfigMap holds one config per pod; each includes its own secrets file, has the pod's advertise address and Argo's paths", async () => {
    const objects = await render(js());
    const configs = find(objects, "ConfigMap")["data"] as Record<string, string>;
    assert.deepEqual(Object.keys(configs), ["eventbus-default-js-0.conf", "eventbus-default-js-1.conf", "eventbus-default-js-2.conf"]);
    for (let i = 0; i < 3; i++) {
      const config = configs[`eventbus-default-js-${i}.conf`]!;
      assert.match(config, new RegExp(`^include "eventbus-default-js-${i}\\.secrets\\.conf"$`, "m"));
      assert.match(config, new RegExp(`^server_name: "eventbus-default-js-${i}"$`, "m"));
      assert.match(config, new RegExp(`^ {2}advertise: "eventbus-default-js-${i}\\.eventbus-default-js-svc\\.argo-events\\.svc:6222"$`, "m"));
      assert.match(config, /^listen: "0\.0\.0\.0:4222"$/m);
      assert.match(config, /^lame_duck_duration: "30s"$/m);
      assert.match(config, /^pid_file: "\/var\/run\/nats\/nats\.pid"$/m);
      assert.match(config, /^ {2}store_dir: "\/data\/jetstream"$/m);
      assert.match(config, /^ {2}key: \$EVENTBUS_JETSTREAM_KEY$/m);
      assert.match(config, /^ {2}cert_file: "\/etc\/nats-config\/server-cert\.pem"$/m);
      assert.match(config, /^ {4}cert_file: "\/etc\/nats-config\/cluster-server-cert\.pem"$/m);
    }
  });

  test("the server Secret holds each pod's secrets include, the PEMs of both listeners and the encryption key, as base64 data", async () => {
    const bus = js();
    const secrets = await material(bus);
    const server = find(await render(bus), "Secret", "eventbus-default-js-server");
    assert.equal(server["type"], "Opaque");
    assert.equal("stringData" in server, false);
    const data = secretData(server);
    // Argo's key names (JetStreamServerSecret*Key in Argo's v1alpha1 constants).
    assert.deepEqual(Object.keys(data).sort(), [
      "auth",
      "ca-cert",
      "cert",
      "cluster-ca-cert",
      "cluster-cert",
      "cluster-private-key",
      "encryption",
      "eventbus-default-js-0.secrets.conf",
      "eventbus-default-js-1.secrets.conf",
      "eventbus-default-js-2.secrets.conf",
      "private-key",
    ]);
    assert.equal(data["encryption"], secrets.credentials.encryptionKey);
    assert.equal(data["ca-cert"], secrets.tls!.ca.certPem);
    assert.equal(data["cluster-ca-cert"], secrets.tls!.ca.certPem);
    assert.equal(data["private-key"], secrets.tls!.server.keyPem);
    assert.equal(data["cluster-cert"], secrets.tls!.route.certPem);
    // Argo's server-auth.conf shape: the js account with the clients' user, the sys account.
    assert.match(
      data["auth"]!,
      new RegExp(
        `"js": \\{\\n {4}"jetstream": true,\\n {4}"users": \\[\\n {6}\\{"user": "${secrets.credentials.user}", "pass": "${secrets.credentials.password}"\\}`,
      ),
    );
    assert.ok(!Object.values(data).includes(secrets.tls!.ca.keyPem), "the CA key stays out of the pods");
    assert.match(data["eventbus-default-js-0.secrets.conf"]!, new RegExp(`^EVENTBUS_JS_PASSWORD: "${secrets.credentials.password}"$`, "m"));
    // The encryption key is a quoted value of the secrets include, not an environment variable (see below).
    assert.match(data["eventbus-default-js-0.secrets.conf"]!, new RegExp(`^EVENTBUS_JETSTREAM_KEY: "${secrets.credentials.encryptionKey}"$`, "m"));
    // No secret value is in the ConfigMap.
    const configText = JSON.stringify(find(await render(bus), "ConfigMap"));
    for (const value of [
      secrets.credentials.password,
      secrets.credentials.systemPassword,
      secrets.credentials.routePassword,
      secrets.credentials.encryptionKey,
    ]) {
      assert.ok(!configText.includes(value));
    }
  });

  test("without TLS the server Secret has no PEMs and the config no tls blocks", async () => {
    const objects = await render(js({ tls: { enabled: false } }));
    assert.deepEqual(Object.keys(secretData(find(objects, "Secret", "eventbus-default-js-server"))).sort(), [
      "auth",
      "encryption",
      "eventbus-default-js-0.secrets.conf",
      "eventbus-default-js-1.secrets.conf",
      "eventbus-default-js-2.secrets.conf",
    ]);
    assert.doesNotMatch((find(objects, "ConfigMap")["data"] as Record<string, string>)["eventbus-default-js-0.conf"]!, /tls \{/);
  });

  test("the client auth Secret is Argo's text byte for byte: username/password for basic, a quoted token for token, none for auth none", async () => {
    const basic = js();
    const c = (await material(basic)).credentials;
    assert.deepEqual(secretData(find(await render(basic), "Secret", "eventbus-default-js-client-auth")), {
      "client-auth": `username: ${c.user}\npassword: ${c.password}`,
    });
    const token = js({ auth: "token" }, "tok");
    const t = (await material(token)).credentials.token;
    assert.deepEqual(secretData(find(await render(token), "Secret", "eventbus-tok-js-client-auth")), { "client-auth": `token: "${t}"` });
    const none = await render(js({ auth: "none" }, "open"));
    assert.deepEqual(
      none.filter((o) => o.kind === "Secret").map((o) => o.metadata.name),
      ["eventbus-open-js-server"],
    );
  });

  test("persistence gives a volume claim template with size, class and access mode; without it the same name is an emptyDir", async () => {
    const persistent = statefulSetSpec(
      await render(js({ persistence: { storageClassName: "fast-ssd", accessMode: "ReadWriteOncePod", volumeSize: "50Gi" } }, "disk")),
    );
    assert.deepEqual(persistent.volumeClaimTemplates, [
      {
        metadata: { name: "eventbus-disk-js-vol" },
        spec: {
          accessModes: ["ReadWriteOncePod"],
          storageClassName: "fast-ssd",
          volumeMode: "Filesystem",
          resources: { requests: { storage: "50Gi" } },
        },
      },
    ]);
    assert.ok(!persistent.template.spec.volumes.some((v) => v["name"] === "eventbus-disk-js-vol"), "no emptyDir beside the claim");
    const defaults = statefulSetSpec(await render(js({ persistence: {} }, "disk")));
    assert.deepEqual(
      canonical(defaults.volumeClaimTemplates),
      canonical([
        {
          metadata: { name: "eventbus-disk-js-vol" },
          spec: { accessModes: ["ReadWriteOnce"], volumeMode: "Filesystem", resources: { requests: { storage: "20Gi" } } },
        },
      ]),
    );
    const ephemeral = statefulSetSpec(await render(js()));
    assert.equal(ephemeral.volumeClaimTemplates, undefined);
    assert.deepEqual(ephemeral.template.spec.volumes.at(-1), { name: "eventbus-default-js-vol", emptyDir: {} });
  });

  test("a PodDisruptionBudget (maxUnavailable 1, the labels as selector) only from 3 replicas", async () => {
    assert.ok(!(await render(js({ replicas: 1 }, "one"))).some((o) => o.kind === "PodDisruptionBudget"));
    for (const replicas of [3, 5]) {
      const pdb = find(await render(js({ replicas }, `r${replicas}`)), "PodDisruptionBudget");
      assert.equal(pdb.metadata.name, `eventbus-r${replicas}-js-pdb`);
      assert.deepEqual(pdb["spec"], {
        maxUnavailable: 1,
        selector: { matchLabels: { ...LABELS, "eventbus-name": `r${replicas}`, "owner-name": `r${replicas}` } },
      });
    }
  });

  test("container templates and scheduling fields pass through unchanged; pod labels merge under the bus labels", async () => {
    const main = {
      resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: 2147483648 } },
      imagePullPolicy: "Always",
      securityContext: { readOnlyRootFilesystem: true },
    };
    const reloader = { resources: { limits: { cpu: "50m" } }, imagePullPolicy: "IfNotPresent" };
    const metrics = { securityContext: { runAsNonRoot: true, capabilities: { drop: ["ALL"] } } };
    const scheduling = {
      nodeSelector: { "kubernetes.io/os": "linux", pool: "events" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "events", effect: "NoSchedule" }],
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "topology.kubernetes.io/zone" } }],
        },
      },
      securityContext: { runAsUser: 1000, fsGroup: 1000, runAsNonRoot: true },
      imagePullSecrets: [{ name: "registry" }],
      priorityClassName: "high",
      priority: 1000,
      serviceAccountName: "eventbus-sa",
    };
    const metadata = { labels: { team: "events", controller: "not-this" }, annotations: { "prometheus.io/scrape": "true" } };
    const objects = await render(
      js({ containerTemplate: main, reloaderContainerTemplate: reloader, metricsContainerTemplate: metrics, metadata, ...scheduling }),
    );
    const spec = statefulSetSpec(objects);
    for (const [key, value] of Object.entries(scheduling)) assert.deepEqual(spec.template.spec[key], value, key);
    assert.deepEqual(spec.template.metadata, { labels: { team: "events", ...LABELS }, annotations: { "prometheus.io/scrape": "true" } });
    for (const [name, template] of [
      ["main", main],
      ["reloader", reloader],
      ["metrics", metrics],
    ] as const) {
      const c = container(objects, name);
      for (const key of ["resources", "imagePullPolicy", "securityContext"] as const)
        assert.deepEqual(c[key], (template as Record<string, unknown>)[key], `${name}.${key}`);
    }
  });

  test("the objects are fresh plain data: changing them changes neither the bus nor the next render", async () => {
    const bus = js({ tolerations: [{ key: "dedicated", operator: "Exists" }], containerTemplate: { resources: { limits: { cpu: "1" } } } });
    const before = toYamlDocuments(await render(bus));
    const objects = await render(bus);
    const spec = statefulSetSpec(objects);
    (spec.template.spec["tolerations"] as Record<string, unknown>[])[0]!["key"] = "changed";
    (container(objects, "main")["resources"] as Record<string, Record<string, unknown>>)["limits"]!["cpu"] = "9";
    (container(objects, "main")["ports"] as Record<string, unknown>[]).pop();
    assert.equal(toYamlDocuments(await render(bus)), before);
    assert.equal(bus.spec.mode === "jetstream" && bus.spec.pod.tolerations?.[0]?.key, "dedicated");
  });

  test("with an owner every object gets one controller owner reference that blocks the owner's deletion", async () => {
    const bus = js();
    const owner = { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", name: "default", uid: "0b9c1e2a-7d4f-4c55-9a0e-8f1d2c3b4a5e" };
    const objects = renderBusObjects(bus, { namespace: NS, secrets: await material(bus), owner });
    assert.equal(objects.length, 6);
    for (const o of objects) assert.deepEqual(o.metadata.ownerReferences, [{ ...owner, controller: true, blockOwnerDeletion: true }]);
  });

  test("material that does not fit is refused: no certificates for a TLS bus, certificates of another namespace", async () => {
    const bus = js();
    const secrets = await material(bus);
    assert.throws(
      () => renderBusObjects(bus, { namespace: NS, secrets: { credentials: secrets.credentials } }),
      (err: unknown) => err instanceof SecretMaterialMismatchError && isKubeError(err, KubeErrorCode.materialMismatch) && err.field === "tls",
    );
    assert.throws(
      () => renderBusObjects(bus, { namespace: "other", secrets }),
      (err: unknown) => err instanceof SecretMaterialMismatchError && /does not name eventbus-default-js-svc\.other/.test(err.message),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Determinism and output text

describe("kubernetes render - deterministic text", () => {
  test("the same bus and material give byte-identical YAML and JSON; other material gives other text", async () => {
    const bus = js({ persistence: { volumeSize: "10Gi" }, nodeSelector: { b: "2", a: "1" } });
    const secrets = await material(bus);
    const once = renderBusObjects(bus, { namespace: NS, secrets });
    const twice = renderBusObjects(bus, { namespace: NS, secrets });
    assert.equal(toYamlDocuments(twice), toYamlDocuments(once));
    assert.equal(toJsonList(twice), toJsonList(once));
    const other = await generateBusMaterial(bus, NS);
    assert.notEqual(toYamlDocuments(renderBusObjects(bus, { namespace: NS, secrets: other })), toYamlDocuments(once));
  });

  test("keys: apiVersion, kind, metadata first, the rest in code-point order at every level; undefined dropped", async () => {
    const objects = await render(js({ nodeSelector: { b: "2", a: "1", B: "0" } }));
    const text = toYamlDocuments(objects);
    const docs = parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS() as Record<string, unknown>);
    assert.equal(docs.length, objects.length);
    for (const doc of docs) assert.deepEqual(Object.keys(doc).slice(0, 3), ["apiVersion", "kind", "metadata"]);
    const check = (value: unknown, path: string): void => {
      if (Array.isArray(value)) return value.forEach((v, i) => check(v, `${path}[${i}]`));
      if (typeof value !== "object" || value === null) return;
      const keys = Object.keys(value).filter((k) => !["apiVersion", "kind", "metadata"].includes(k));
      assert.deepEqual(keys, [...keys].sort(), `${path} keys in order`);
      for (const [k, v] of Object.entries(value)) {
        assert.notEqual(v, undefined, `${path}.${k}`);
        check(v, `${path}.${k}`);
      }
    };
    docs.forEach((doc, i) => check(doc, `doc${i}`));
    assert.deepEqual(Object.keys(statefulSetSpec(docs as unknown as KubeObject[]).template.spec["nodeSelector"] as object), ["B", "a", "b"]);
    // The text parses back to exactly the objects, and the JSON too.
    assert.deepEqual(docs, canonical(objects));
    assert.deepEqual(JSON.parse(toJsonList(objects)), { apiVersion: "v1", kind: "List", items: canonical(objects) });
    assert.match(text, /^---$/m);
    assert.doesNotMatch(text, /undefined/);
  });

  test("YAML is written for kubectl's YAML 1.1: a label value yes or 0755 stays a string", async () => {
    const objects = await render(js({ metadata: { labels: { enabled: "yes", mode: "0755", flag: "on" } } }));
    const text = toYamlDocuments(objects);
    const sts = parseAllDocuments(text, { version: "1.1" })
      .map((d) => d.toJS() as KubeObject)
      .find((o) => o.kind === "StatefulSet")!;
    const labels = (sts["spec"] as StatefulSetSpec).template.metadata.labels;
    assert.equal(labels["enabled"], "yes");
    assert.equal(labels["mode"], "0755");
    assert.equal(labels["flag"], "on");
  });
});

// ---------------------------------------------------------------------------------------------
// Proven by the real servers

describe("kubernetes render - the real servers accept the rendered configs", () => {
  test("nats-server -t accepts every pod's config from the ConfigMap and Secret, for auth × TLS on both pinned versions, whatever the key begins with", async () => {
    await using dir = await tempDir("eventbus-kube-render-");
    const cases = [
      { version: "2.10", auth: "basic", tls: true, replicas: 3 },
      { version: "2.11", auth: "basic", tls: true, replicas: 3 },
      { version: "2.10", auth: "token", tls: false, replicas: 1 },
      { version: "2.11", auth: "none", tls: true, replicas: 3 },
      { version: "2.11", auth: "token", tls: true, replicas: 5 },
    ] as const;
    let checked = 0;
    for (const [n, c] of cases.entries()) {
      const objects = await render(js({ version: c.version, auth: c.auth, tls: { enabled: c.tls }, replicas: c.replicas, persistence: {} }));
      const volume = await writeConfigVolume(objects, join(dir.path, String(n)));
      assert.equal(volume.configFiles.size, c.replicas);
      for (const file of volume.configFiles.values()) {
        const result = await checkConfig(c.version, file, volume.env);
        assert.ok(result.ok, `${JSON.stringify(c)} ${file}: ${result.output}`);
        checked++;
      }
      if (n === 0) {
        // A hex key that begins with a digit: as an environment variable (Argo's JS_KEY) nats-server
        // parsed it as a number and would not start.
        const bus = js({ version: c.version, auth: c.auth, tls: { enabled: c.tls }, replicas: c.replicas, persistence: {} });
        const base = await material(bus);
        const digitKey = { ...base, credentials: { ...base.credentials, encryptionKey: `4e${base.credentials.encryptionKey.slice(2)}` } };
        const digitObjects = renderBusObjects(bus, { namespace: NS, secrets: digitKey });
        const digitVolume = await writeConfigVolume(digitObjects, join(dir.path, "digit-key"));
        const result = await checkConfig(c.version, [...digitVolume.configFiles.values()][0]!, digitVolume.env);
        assert.ok(result.ok, `a key beginning with a digit: ${result.output}`);
      }
    }
    assert.equal(checked, 3 + 3 + 1 + 3 + 5);
  });

  test("a 1-replica bus runs from its rendered objects: TLS with the Secret's CA, login with the client auth Secret, lame-duck stop via the preStop command", async () => {
    await using dir = await tempDir("eventbus-kube-run-");
    const bus = js({ replicas: 1, version: "2.11" }, "default");
    const objects = await render(bus);
    const ports = { client: await freePort(), monitor: await freePort() };
    const volume = await writeConfigVolume(objects, dir.path, ports);
    const configFile = volume.configFiles.get("eventbus-default-js-0.conf")!;
    await using server: ManagedProcess = await spawnProcess(findNatsServer("2.11"), ["-c", configFile], { cwd: "/", env: volume.env });
    await renderedServerHealthy(server, ports.monitor);

    const auth = parse(secretData(find(objects, "Secret", "eventbus-default-js-client-auth"))["client-auth"]!) as { username: string; password: string };
    const caFile = join(dir.path, "etc/nats-config/ca-cert.pem");
    const nc = await connect({ servers: [`tls://localhost:${ports.client}`], user: auth.username, pass: auth.password, tls: { caFile }, timeout: 5_000 });
    const sub = nc.subscribe("probe.x", { max: 1 });
    nc.publish("probe.x", "hello");
    for await (const m of sub) assert.equal(m.string(), "hello");
    await assert.rejects(
      connect({
        servers: [`tls://localhost:${ports.client}`],
        user: auth.username,
        pass: `${auth.password}x`,
        tls: { caFile },
        timeout: 5_000,
        reconnect: false,
      }),
      /Authorization Violation/i,
    );
    await nc.close();

    // The preStop command, with the pod's pid file mapped: the server enters lame duck and exits.
    const preStop = (container(objects, "main")["lifecycle"] as { preStop: { exec: { command: string[] } } }).preStop.exec.command;
    assert.deepEqual(preStop, ["/nats-server", "-sl=ldm=/var/run/nats/nats.pid"]);
    await execFileAsync(findNatsServer("2.11"), [`-sl=ldm=${volume.pidFile}`], { timeout: 10_000 });
    await waitFor("the server to exit after the lame-duck signal", () => server.exitInfo(), { timeoutMs: 20_000 });
    assert.match(server.output(), /lame duck/i);
  });
});

// ---------------------------------------------------------------------------------------------
// NATS Streaming

function stan(fields: Record<string, unknown> = {}, name = "legacy"): ResolvedEventBus {
  return makeBus({ nats: { native: { replicas: 3, auth: "token", ...fields } } }, { name });
}

describe("kubernetes render - NATS Streaming objects", () => {
  test("a token STAN bus renders the server and client Secrets, the ConfigMap, Service, StatefulSet and PDB with Argo's names", async () => {
    const bus = stan();
    const objects = await render(bus);
    assert.deepEqual(
      objects.map((o) => `${o.kind} ${o.metadata.name}`),
      [
        "Secret eventbus-legacy-server",
        "Secret eventbus-legacy-client",
        "ConfigMap eventbus-legacy-stan-configmap",
        "Service eventbus-legacy-stan-svc",
        "StatefulSet eventbus-legacy-stan",
        "PodDisruptionBudget eventbus-legacy-stan-pdb",
      ],
    );
    const token = (await material(bus)).credentials.token;
    assert.deepEqual(secretData(find(objects, "Secret", "eventbus-legacy-client")), { "client-auth": `token: "${token}"` });
    assert.match(secretData(find(objects, "Secret", "eventbus-legacy-server"))["nats-secrets.conf"]!, new RegExp(`^EVENTBUS_TOKEN: "${token}"$`, "m"));
    // Argo's Service port names and its `stan: yes` label (nats.go buildStanService, stanServiceLabels).
    assert.deepEqual((find(objects, "Service")["spec"] as { ports: unknown }).ports, [
      { name: "tcp-client", port: 4222 },
      { name: "cluster", port: 6222 },
      { name: "monitor", port: 8222 },
      { name: "metrics", port: 7777 },
    ]);
    assert.equal(find(objects, "Service").metadata.labels?.["stan"], "yes");
    const spec = statefulSetSpec(objects);
    assert.equal(spec["serviceName"], "eventbus-legacy-stan-svc");
    assert.equal(spec["podManagementPolicy"], "OrderedReady");
    assert.deepEqual(
      spec.template.spec.containers.map((c) => [c["name"], c["image"]]),
      [
        ["stan", "nats-streaming:0.25.6"],
        ["metrics", "natsio/prometheus-nats-exporter:0.16.0"],
      ],
    );
    assert.deepEqual(container(objects, "stan")["command"], ["/nats-streaming-server", "-sc", "/etc/stan-config/$(POD_NAME).conf"]);
    assert.deepEqual(spec.template.spec.volumes, [
      {
        name: "config-volume",
        projected: { sources: [{ configMap: { name: "eventbus-legacy-stan-configmap" } }, { secret: { name: "eventbus-legacy-server" } }] },
      },
      { name: "stan-data", emptyDir: {} },
    ]);
    const config = (find(objects, "ConfigMap")["data"] as Record<string, string>)["eventbus-legacy-stan-1.conf"]!;
    for (const line of [
      /^ {2}id: "eventbus-legacy"$/m,
      /^ {2}dir: "\/data\/stan\/store"$/m,
      /^ {4}max_age: "72h"$/m,
      /^ {4}max_msgs: 1000000$/m,
      /^ {4}max_bytes: 1073741824$/m,
      /^ {4}max_subs: 1000$/m,
      /^ {4}node_id: "eventbus-legacy-stan-1"$/m,
      /^ {4}peers: \["eventbus-legacy-stan-0", "eventbus-legacy-stan-1", "eventbus-legacy-stan-2"\]$/m,
      /^ {4}raft_heartbeat_timeout: "2s"$/m,
      /^ {4}raft_election_timeout: "2s"$/m,
      /^ {4}raft_lease_timeout: "1s"$/m,
      /^ {4}raft_commit_timeout: "100ms"$/m,
      /^ {2}advertise: "eventbus-legacy-stan-1\.eventbus-legacy-stan-svc\.argo-events\.svc:6222"$/m,
      /^ {2}token: \$EVENTBUS_TOKEN$/m,
    ]) {
      assert.match(config, line);
    }
    assert.ok(!JSON.stringify(find(objects, "ConfigMap")).includes(token), "the token is not in the ConfigMap");
  });

  test("auth none has no Secrets and no include; persistence mounts a 10Gi claim named as Argo's (stan-<bus>-vol) at /data/stan", async () => {
    const objects = await render(stan({ auth: "none", persistence: { storageClassName: "standard" } }, "open"));
    assert.deepEqual(
      objects.map((o) => o.kind),
      ["ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget"],
    );
    assert.doesNotMatch((find(objects, "ConfigMap")["data"] as Record<string, string>)["eventbus-open-stan-0.conf"]!, /include|authorization/);
    const spec = statefulSetSpec(objects);
    assert.deepEqual(
      canonical(spec.volumeClaimTemplates),
      canonical([
        {
          metadata: { name: "stan-open-vol" },
          spec: { accessModes: ["ReadWriteOnce"], storageClassName: "standard", volumeMode: "Filesystem", resources: { requests: { storage: "10Gi" } } },
        },
      ]),
    );
    assert.deepEqual(container(objects, "stan")["volumeMounts"], [
      { name: "config-volume", mountPath: "/etc/stan-config" },
      { name: "stan-open-vol", mountPath: "/data/stan" },
    ]);
  });

  test("a 3-node nats-streaming-server cluster runs from the rendered ConfigMap and Secret (addresses mapped to loopback): raft leader, Argo's limits, token enforced", async () => {
    await using dir = await tempDir("eventbus-kube-stan-");
    const bus = stan({ maxAge: "48h", maxMsgs: 5000 }, "legacy");
    const objects = await render(bus);
    const configs = find(objects, "ConfigMap")["data"] as Record<string, string>;
    const include = secretData(find(objects, "Secret", "eventbus-legacy-server"))["nats-secrets.conf"]!;
    const token = (parse(secretData(find(objects, "Secret", "eventbus-legacy-client"))["client-auth"]!) as { token: string }).token;
    const ports: { client: number; cluster: number; monitor: number }[] = [];
    for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
    const host = (i: number) => `eventbus-legacy-stan-${i}.eventbus-legacy-stan-svc.argo-events.svc:6222`;
    const binary = findBinary(NATS_STREAMING_SERVER, resolveStanVersion("latest").serverVersion);
    const servers: ManagedProcess[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const podDir = join(dir.path, String(i));
        await mkdir(podDir, { recursive: true });
        let text = configs[`eventbus-legacy-stan-${i}.conf`]!;
        text = text
          .replace('listen: "0.0.0.0:4222"', `listen: "127.0.0.1:${ports[i]!.client}"`)
          .replace('http: "0.0.0.0:8222"', `http: "127.0.0.1:${ports[i]!.monitor}"`)
          .replace('listen: "0.0.0.0:6222"', `listen: "127.0.0.1:${ports[i]!.cluster}"`)
          .replaceAll('"/data/stan/', `"${podDir}/data/stan/`);
        for (let j = 0; j < 3; j++) text = text.replaceAll(host(j), `127.0.0.1:${ports[j]!.cluster}`);
        assert.doesNotMatch(text, /0\.0\.0\.0|\.svc|"\/data/, "every pod address and path is mapped");
        await writeFile(join(podDir, "eventbus-legacy-stan.conf"), text);
        await writeFile(join(podDir, "nats-secrets.conf"), include, { mode: 0o600 });
        servers.push(await spawnProcess(binary, ["-sc", join(podDir, "eventbus-legacy-stan.conf")], { cwd: "/" }));
      }
      const serverz = async (i: number) => {
        try {
          const res = await fetch(`http://127.0.0.1:${ports[i]!.monitor}/streaming/serverz`, { signal: AbortSignal.timeout(1_000) });
          return res.ok ? ((await res.json()) as { cluster_id: string; state: string; role: string; node_id: string }) : undefined;
        } catch {
          return undefined;
        }
      };
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
          const all = await Promise.all([0, 1, 2].map(serverz));
          if (all.some((s) => s?.state !== "CLUSTERED")) return undefined;
          return all.filter((s) => s!.role === "Leader").length === 1 ? all : undefined;
        },
        { timeoutMs: 30_000, failWhen },
      );
      assert.deepEqual(
        states.map((s) => [s!.cluster_id, s!.node_id]).sort(),
        [0, 1, 2].map((i) => ["eventbus-legacy", `eventbus-legacy-stan-${i}`]),
      );
      const log = servers[0]!.output();
      assert.match(log, /Messages\s*:\s*5000\b/);
      assert.match(log, /Age\s*:\s*48h0m0s/);
      assert.match(log, /Bytes\s*:\s*1\.00 GB/);
      assert.match(log, /Subscriptions\s*:\s*1000\b/);
      assert.match(log, new RegExp(`Store location: ${dir.path}/0/data/stan/store`));
      // The embedded NATS server requires the client Secret's token.
      const nc = await connect({ servers: [`nats://127.0.0.1:${ports[0]!.client}`], token, timeout: 5_000 });
      await nc.flush();
      await nc.close();
      await assert.rejects(connect({ servers: [`nats://127.0.0.1:${ports[1]!.client}`], timeout: 5_000, reconnect: false }), /Authorization Violation/i);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Images

const ARGO_CONFIG = `eventBus:
  nats:
    versions:
      - version: 0.25.6
        natsStreamingImage: mirror.example.com/nats-streaming:0.25.6
        metricsExporterImage: mirror.example.com/exporter:0.16.0
  jetstream:
    settings: |
      max_memory_store: -1
    streamConfig: |
      maxMsgs: 50000
    versions:
      - version: latest
        natsImage: mirror.example.com/nats:2.10.29
        metricsExporterImage: mirror.example.com/exporter:0.16.0
        configReloaderImage: mirror.example.com/reloader:0.14.1
        startCommand: /nats-server
      - version: 2.11.17
        natsImage: mirror.example.com/nats@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        metricsExporterImage: mirror.example.com/exporter:0.16.0
        configReloaderImage: mirror.example.com/reloader:0.14.1
        startCommand: /usr/local/bin/nats-server
`;

function imagesError(text: string): InvalidImagesFileError {
  try {
    parseImagesFile(text, "images.yaml");
  } catch (err) {
    assert.ok(err instanceof InvalidImagesFileError && isKubeError(err, KubeErrorCode.invalidImagesFile), String(err));
    return err;
  }
  assert.fail("the images file was accepted");
}

describe("kubernetes render - images", () => {
  test("the built-in table has the official images of each pinned server, and version names resolve through the aliases", () => {
    const table = defaultImages();
    assert.deepEqual(
      table.jetstream.map((e) => e.version),
      ["2.10.29", "2.11.17", "2.8.1", "2.8.1-alpine", "2.8.2", "2.8.2-alpine", "2.9.1", "2.9.12", "2.9.16", "2.10.10"],
    );
    // Argo Events' default controller config (argoproj/argo-events manifests/base/controller-manager/controller-config.yaml):
    // its versions run its images, not the nearest pinned server.
    assert.deepEqual(jetStreamImages(table, "2.9.16"), {
      version: "2.9.16",
      natsImage: "nats:2.9.16",
      metricsExporterImage: "natsio/prometheus-nats-exporter:0.9.1",
      configReloaderImage: "natsio/nats-server-config-reloader:0.7.0",
      startCommand: "/nats-server",
    });
    assert.equal(jetStreamImages(table, "2.8.2-alpine").startCommand, "nats-server");
    assert.equal(jetStreamImages(table, "2.10.10").natsImage, "nats:2.10.10");
    for (const [name, image] of [
      ["latest", "nats:2.10.29"],
      ["2.10", "nats:2.10.29"],
      ["2.10.29", "nats:2.10.29"],
      ["2.11", "nats:2.11.17"],
      ["2.11.17", "nats:2.11.17"],
    ] as const) {
      assert.deepEqual(jetStreamImages(table, name), {
        version: image.slice(5),
        natsImage: image,
        metricsExporterImage: "natsio/prometheus-nats-exporter:0.16.0",
        configReloaderImage: "natsio/nats-server-config-reloader:0.14.1",
        startCommand: "/nats-server",
      });
    }
    assert.deepEqual(stanImages(table), {
      version: "0.25.6",
      natsStreamingImage: "nats-streaming:0.25.6",
      metricsExporterImage: "natsio/prometheus-nats-exporter:0.16.0",
      startCommand: "/nats-streaming-server",
    });
  });

  test("an Argo controller config overrides the images: exact names first, then aliases; the rendered pods use them", async () => {
    const table = parseImagesFile(ARGO_CONFIG, "images.yaml");
    assert.equal(jetStreamImages(table, "latest").natsImage, "mirror.example.com/nats:2.10.29");
    assert.equal(jetStreamImages(table, "2.10").natsImage, "mirror.example.com/nats:2.10.29", "2.10 resolves to 2.10.29, as latest does");
    assert.equal(jetStreamImages(table, "2.11").startCommand, "/usr/local/bin/nats-server");
    const objects = await render(js({ version: "2.11" }), { images: table });
    const main = container(objects, "main");
    assert.match(main["image"] as string, /^mirror\.example\.com\/nats@sha256:/);
    assert.deepEqual(main["command"], ["/usr/local/bin/nats-server", "--config", "/etc/nats-config/$(POD_NAME).conf"]);
    assert.equal(container(objects, "reloader")["image"], "mirror.example.com/reloader:0.14.1");
    assert.equal(container(await render(stan(), { images: table }), "stan")["image"], "mirror.example.com/nats-streaming:0.25.6");
    // The whole ConfigMap, as kubectl get -o yaml prints it, is accepted too.
    const configMapText = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argo-events-controller-config\ndata:\n  controller-config.yaml: |\n${ARGO_CONFIG.split(
      "\n",
    )
      .map((l) => (l ? `    ${l}` : l))
      .join("\n")}`;
    assert.deepEqual(parseImagesFile(configMapText, "cm.yaml").jetstream, table.jetstream);
  });

  test("deploy/images.yaml is the built-in table written out", async () => {
    const table = parseImagesFile(await readFile(join(root, "deploy/images.yaml"), "utf8"), "deploy/images.yaml");
    assert.deepEqual({ ...table, source: BUILT_IN_SOURCE }, defaultImages());
  });

  test("a section the file lacks keeps the built-in images", () => {
    const table = parseImagesFile(ARGO_CONFIG.slice(ARGO_CONFIG.indexOf("  jetstream:")).replace(/^/, "eventBus:\n"), "images.yaml");
    assert.deepEqual(table.stan, defaultImages().stan);
  });

  test("a version the table lacks is an error naming the known versions", async () => {
    const only210 = parseImagesFile(
      "eventBus:\n  jetstream:\n    versions:\n      - {version: 2.10.29, natsImage: a, metricsExporterImage: b, configReloaderImage: c, startCommand: /nats-server}\n",
      "images.yaml",
    );
    assert.throws(
      () => jetStreamImages(only210, "2.11"),
      (err: unknown) =>
        err instanceof UnknownImageVersionError &&
        isKubeError(err, KubeErrorCode.unknownImageVersion) &&
        err.message === 'spec.jetstream.version: "2.11" (2.11.17) has no entry in the images table (images.yaml); known versions: 2.10.29',
    );
    await assert.rejects(render(js({ version: "2.11" }), { images: only210 }), UnknownImageVersionError);
  });

  test("errors of an images file name each field path", () => {
    const missing = imagesError(`eventBus:
  jetstream:
    versions:
      - version: 2.10.29
        natsImage: nats:2.10.29
        metricsExporterImage: e
        configReloaderImage: r
        startCommand: /nats-server
      - version: 2.11.17
        natImage: nats:2.11.17
        metricsExporterImage: e
        configReloaderImage: "has space"
        startCommand: /nats-server
      - version: 2.10
        natsImage: x
        metricsExporterImage: e
        configReloaderImage: r
        startCommand: /nats-server
      - version: 2.10.29
        natsImage: x
        metricsExporterImage: e
        configReloaderImage: r
        startCommand: /nats-server
      - just-a-string
`);
    assert.deepEqual(missing.issues, [
      {
        path: "eventBus.jetstream.versions[1].natImage",
        message: "unknown field; expected version, natsImage, metricsExporterImage, configReloaderImage, startCommand",
      },
      { path: "eventBus.jetstream.versions[1].natsImage", message: "missing" },
      { path: "eventBus.jetstream.versions[1].configReloaderImage", message: 'must be an image reference such as nats:2.10.29, got "has space"' },
      { path: "eventBus.jetstream.versions[2].version", message: 'must be a string, got the number 2.1; quote it ("2.10" unquoted is the number 2.1)' },
      { path: "eventBus.jetstream.versions[3].version", message: '"2.10.29" is already listed at versions[0]' },
      { path: "eventBus.jetstream.versions[4]", message: "must be a mapping, got a string" },
    ]);
    assert.match(missing.message, /^images\.yaml: invalid images file:\n {2}eventBus\.jetstream\.versions\[1\]\.natImage: unknown field/);
    assert.deepEqual(imagesError("other: 1\n").issues, [{ path: "eventBus", message: "missing" }]);
    assert.deepEqual(imagesError("eventBus:\n  jetstream:\n    versions: {}\n").issues, [
      { path: "eventBus.jetstream.versions", message: "must be a list, got a mapping" },
    ]);
    assert.deepEqual(imagesError("eventBus:\n  nats:\n    versions:\n      - version: 0.25.6\n").issues, [
      { path: "eventBus.nats.versions[0].natsStreamingImage", message: "missing" },
      { path: "eventBus.nats.versions[0].metricsExporterImage", message: "missing" },
    ]);
    assert.deepEqual(imagesError("- a\n").issues, [{ path: "(root)", message: "must be a mapping, got a list" }]);
    assert.match(imagesError("eventBus: {\n").issues[0]!.message, /^not valid YAML/);
    assert.deepEqual(imagesError("kind: ConfigMap\ndata: {}\n").issues[0]!.path, "data.controller-config.yaml");
  });
});

// ---------------------------------------------------------------------------------------------
// CLI

// In this process, as main.ts runs it (a process start costs about 0.7 s); the CronJob's command
// below runs as the process its container runs.
const cli = (args: string[], stdin?: string) => runCliHere(args, stdin !== undefined ? { stdin } : {});

describe("kubernetes render - eventbus render", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "eventbus-cli-render-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const MANIFEST = `apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata:
  name: default
spec:
  jetstream:
    version: "2.10"
---
apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata:
  name: external
spec:
  jetstreamExotic:
    url: nats://nats.example.com:4222
`;

  test("an invalid manifest exits 2 with field paths and renders nothing", async () => {
    const run = await cli(["render", "-f", "-"], MANIFEST.replace('version: "2.10"', 'version: "2.10"\n    replicas: 2'));
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^spec\.jetstream\.replicas: must be 1 or >= 3, got 2$/m);
    assert.match(run.stderr, /nothing was rendered/);
  });

  test("--secrets-dir makes material once (0700/0600) and reruns print byte-identical YAML; exotic buses get a note; no secret on stderr", async () => {
    const secretsDir = join(dir, "secrets");
    const first = await cli(["render", "-f", "-", "--namespace", "events", "--secrets-dir", secretsDir], MANIFEST);
    assert.equal(first.code, 0, first.stderr);
    const busDir = join(secretsDir, "events", "default");
    assert.equal((await stat(busDir)).mode & 0o777, 0o700);
    for (const file of await readdir(busDir)) assert.equal((await stat(join(busDir, file))).mode & 0o777, 0o600, file);
    assert.ok((await readdir(busDir)).includes(BusSecretFile.Credentials));
    assert.match(first.stderr, /note: EventBus\/default: new secret material saved in .*events\/default/);
    assert.match(first.stderr, /note: EventBus\/external: spec\.jetstreamExotic is an external bus; there are no objects to render/);
    const second = await cli(["render", "-f", "-", "--namespace", "events", "--secrets-dir", secretsDir], MANIFEST);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout);
    assert.doesNotMatch(second.stderr, /saved|generated/);
    const docs = parseAllDocuments(first.stdout, { version: "1.1" }).map((d) => d.toJS() as KubeObject);
    assert.deepEqual(
      docs.map((d) => `${d.kind}/${d.metadata.name}/${d.metadata.namespace}`),
      [
        "Secret/eventbus-default-js-server/events",
        "Secret/eventbus-default-js-client-auth/events",
        "ConfigMap/eventbus-default-js-config/events",
        "Service/eventbus-default-js-svc/events",
        "StatefulSet/eventbus-default-js/events",
        "PodDisruptionBudget/eventbus-default-js-pdb/events",
      ],
    );
    const credentials = JSON.parse(await readFile(join(busDir, BusSecretFile.Credentials), "utf8")) as Record<string, string>;
    for (const value of Object.values(credentials)) if (value.length > 8) assert.ok(!first.stderr.includes(value) && !second.stderr.includes(value));
  });

  test("-o json prints a v1 List; the namespace defaults to metadata.namespace, else default, and must agree with --namespace", async () => {
    const file = join(dir, "bus.yaml");
    await writeFile(file, MANIFEST.replace("name: default", "name: default\n  namespace: team-a"));
    const run = await cli(["render", "-f", file, "-o", "json"]);
    assert.equal(run.code, 0, run.stderr);
    const list = JSON.parse(run.stdout) as { apiVersion: string; kind: string; items: KubeObject[] };
    assert.equal(list.apiVersion, "v1");
    assert.equal(list.kind, "List");
    assert.deepEqual(
      list.items.map((o) => o.kind),
      ["Secret", "Secret", "ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget"],
    );
    assert.ok(list.items.every((o) => o.metadata.namespace === "team-a"));
    assert.match(run.stderr, /new credentials and certificates were generated/);
    const fallback = await cli(["render", "-f", "-"], MANIFEST);
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.match(fallback.stdout, /^ {2}namespace: default$/m);
    const conflict = await cli(["render", "-f", file, "--namespace", "team-b"]);
    assert.equal(conflict.code, 2);
    assert.equal(conflict.stdout, "");
    assert.match(conflict.stderr, /metadata\.namespace is "team-a" but --namespace is "team-b"/);
    const bad = await cli(["render", "-f", "-", "--namespace", "Team_B"], MANIFEST);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /must be a DNS-1123 label/);
  });

  test("--images: an Argo controller config picks the images; a broken one exits 2 with the field path", async () => {
    const good = join(dir, "images.yaml");
    await writeFile(good, ARGO_CONFIG);
    const run = await cli(["render", "-f", "-", "--images", good], MANIFEST);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /image: mirror\.example\.com\/nats:2\.10\.29$/m);
    const broken = join(dir, "broken.yaml");
    await writeFile(
      broken,
      ARGO_CONFIG.replace(
        "        configReloaderImage: mirror.example.com/reloader:0.14.1\n        startCommand: /nats-server\n",
        "        startCommand: /nats-server\n",
      ),
    );
    const failed = await cli(["render", "-f", "-", "--images", broken], MANIFEST);
    assert.equal(failed.code, 2);
    assert.equal(failed.stdout, "");
    assert.match(failed.stderr, /eventBus\.jetstream\.versions\[0\]\.configReloaderImage: missing/);
    const missing = await cli(["render", "-f", "-", "--images", join(dir, "nope.yaml")], MANIFEST);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml: no such file/);
  });
});

// ---------------------------------------------------------------------------------------------
// Scheduled backups

describe("kubernetes render - scheduled backups", () => {
  interface CronJobSpec {
    schedule: string;
    timeZone: string;
    concurrencyPolicy: string;
    successfulJobsHistoryLimit: number;
    failedJobsHistoryLimit: number;
    jobTemplate: { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec & { restartPolicy: string } } } };
  }
  const cronJob = (objects: readonly KubeObject[]) => find(objects, "CronJob", "eventbus-default-js-backup")["spec"] as CronJobSpec;
  const backupContainer = (objects: readonly KubeObject[]) =>
    cronJob(objects).jobTemplate.spec.template.spec.containers[0] as { image: string; args: string[]; volumeMounts: { name: string; mountPath: string }[] };

  test("a bus with backup gets a claim without owner (kept on deletion) and a CronJob running eventbus backup into it with the bus's credentials and CA", async () => {
    const bus = js({ replicas: 3, persistence: { volumeSize: "5Gi", storageClassName: "fast" }, backup: { schedule: "0 * * * *", keep: 24 } });
    const objects = renderBusObjects(bus, {
      namespace: NS,
      secrets: await material(bus),
      owner: { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", name: "default", uid: "u-1" },
      eventbusImage: "registry.example.com/eventbus:1.2.3",
    });
    assert.deepEqual(
      objects.slice(-2).map((o) => `${o.kind}/${o.metadata.name}`),
      ["PersistentVolumeClaim/eventbus-default-js-backups", "CronJob/eventbus-default-js-backup"],
    );

    const claim = find(objects, "PersistentVolumeClaim");
    assert.equal(claim.metadata.ownerReferences, undefined, "no owner: deleting the bus keeps the backups");
    assert.deepEqual(claim.metadata.labels, LABELS);
    assert.deepEqual(claim["spec"], {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "5Gi" } },
      storageClassName: "fast",
      volumeMode: "Filesystem",
    });

    const job = find(objects, "CronJob");
    assert.equal(job.apiVersion, "batch/v1");
    assert.equal(job.metadata.ownerReferences?.[0]?.uid, "u-1");
    const spec = cronJob(objects);
    assert.deepEqual(
      [spec.schedule, spec.timeZone, spec.concurrencyPolicy, spec.successfulJobsHistoryLimit, spec.failedJobsHistoryLimit],
      ["0 * * * *", "Etc/UTC", "Forbid", 3, 3],
    );
    const pod = spec.jobTemplate.spec.template;
    assert.equal(pod.spec.restartPolicy, "Never");
    // The Service and the PDB select the bus labels: a backup pod must not match them.
    assert.ok(!Object.entries(LABELS).every(([k, v]) => pod.metadata.labels[k] === v), JSON.stringify(pod.metadata.labels));
    const c = backupContainer(objects);
    assert.equal(c.image, "registry.example.com/eventbus:1.2.3");
    assert.deepEqual(c.args, [
      "backup",
      "--server",
      `nats://eventbus-default-js-svc.${NS}.svc:4222`,
      "--creds",
      "/etc/eventbus/auth/client-auth",
      "--ca",
      "/etc/eventbus/tls/ca-cert.pem",
      "--all-streams",
      "--into-dir",
      "/backups",
      "--keep",
      "24",
      "--name",
      "default",
    ]);
    assert.deepEqual(
      pod.spec.volumes.filter((v) => v["name"] !== "tmp"),
      [
        { name: "backups", persistentVolumeClaim: { claimName: "eventbus-default-js-backups" } },
        { name: "auth", secret: { items: [{ key: "client-auth", path: "client-auth" }], secretName: "eventbus-default-js-client-auth" } },
        { name: "tls", secret: { items: [{ key: "ca-cert", path: "ca-cert.pem" }], secretName: "eventbus-default-js-server" } },
      ],
    );
  });

  test("the claim's size: the backup's volumeSize, else the data volume's, else 1Gi; auth none and no TLS mount nothing; no backup, no objects", async () => {
    const sized = await render(js({ persistence: { volumeSize: "5Gi" }, backup: { schedule: "@daily", volumeSize: "50Gi", storageClassName: "cold" } }));
    assert.deepEqual((find(sized, "PersistentVolumeClaim")["spec"] as { resources: unknown; storageClassName: string }).resources, {
      requests: { storage: "50Gi" },
    });
    assert.equal((find(sized, "PersistentVolumeClaim")["spec"] as { storageClassName: string }).storageClassName, "cold");
    assert.deepEqual(backupContainer(sized).args.slice(-4), ["--keep", "7", "--name", "default"]);

    const bare = await render(js({ auth: "none", tls: { enabled: false }, backup: { schedule: "*/15 * * * *", keep: 2 } }));
    assert.deepEqual((find(bare, "PersistentVolumeClaim")["spec"] as { resources: unknown }).resources, { requests: { storage: "1Gi" } });
    assert.deepEqual(backupContainer(bare).args, [
      "backup",
      "--server",
      `nats://eventbus-default-js-svc.${NS}.svc:4222`,
      "--all-streams",
      "--into-dir",
      "/backups",
      "--keep",
      "2",
      "--name",
      "default",
    ]);
    assert.equal(backupContainer(bare).image, "eventbus-controller:latest");

    assert.ok(!(await render(js())).some((o) => o.kind === "CronJob" || o.kind === "PersistentVolumeClaim"));
    // A CronJob's name may be 52 characters at most: a long bus name is shortened with a hash.
    const long = "b".repeat(39);
    const longObjects = renderBusObjects(js({ backup: { schedule: "@hourly" } }, long), {
      namespace: NS,
      secrets: await generateBusMaterial(js({}, long), NS),
    });
    const name = longObjects.find((o) => o.kind === "CronJob")!.metadata.name;
    assert.ok(name.length <= 52 && name.startsWith(`eventbus-${long.slice(0, 20)}`), name);
  });

  test("the CronJob's command, run against a server from the rendered objects, writes a verified archive into the claim's directory and rotates", async () => {
    await using dir = await tempDir("eventbus-kube-backup-");
    const bus = js({ replicas: 1, version: "2.10", backup: { schedule: "0 * * * *", keep: 1 } });
    const objects = await render(bus);
    const ports = { client: await freePort(), monitor: await freePort() };
    const volume = await writeConfigVolume(objects, dir.path, ports);
    await using server: ManagedProcess = await spawnProcess(findNatsServer("2.10"), ["-c", volume.configFiles.get("eventbus-default-js-0.conf")!], {
      cwd: "/",
      env: volume.env,
    });
    await renderedServerHealthy(server, ports.monitor);
    // GIVEN a stream with events, and the pod's mounts (the two Secrets' items, the claim) as directories
    const auth = parse(secretData(find(objects, "Secret", "eventbus-default-js-client-auth"))["client-auth"]!) as { username: string; password: string };
    const nc = await connect({
      servers: [`tls://localhost:${ports.client}`],
      user: auth.username,
      pass: auth.password,
      tls: { caFile: join(dir.path, "etc/nats-config/ca-cert.pem") },
      timeout: 5_000,
    });
    await (await jetstreamManager(nc)).streams.add({ name: "default", subjects: ["default.*.*"] });
    for (let i = 0; i < 4; i++) await jetstream(nc).publish("default.s.e", `event ${i}`);
    await nc.close();
    const mounts: Record<string, string> = {
      "/etc/eventbus/auth": join(dir.path, "auth"),
      "/etc/eventbus/tls": join(dir.path, "tls"),
      "/backups": join(dir.path, "backups"),
    };
    for (const m of Object.values(mounts)) await mkdir(m);
    const pod = cronJob(objects).jobTemplate.spec.template.spec;
    for (const v of pod.volumes as { secret?: { secretName: string; items: { key: string; path: string }[] }; name: string }[]) {
      if (!v.secret) continue;
      const mount = backupContainer(objects).volumeMounts.find((m) => m.name === v.name)!.mountPath;
      const data = secretData(find(objects, "Secret", v.secret.secretName));
      for (const item of v.secret.items) await writeFile(join(mounts[mount]!, item.path), data[item.key]!, { mode: 0o600 });
    }
    // WHEN the container's args run twice, with the pod's paths and the Service's address mapped here
    const args = backupContainer(objects).args.map((a) => {
      for (const [from, to] of Object.entries(mounts)) if (a.startsWith(from)) return to + a.slice(from.length);
      return a.replace(`eventbus-default-js-svc.${NS}.svc:4222`, `localhost:${ports.client}`);
    });
    for (let i = 0; i < 2; i++) {
      const run = await runCliProcess(args, undefined, { timeoutMillis: 60_000 });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /backed up 1 stream \(4 messages\) to .*default-\d{8}T\d{6}Z(-\d+)?\.evbak: verified/);
    }
    // THEN the claim holds one archive (keep 1), which `eventbus backups --dir` lists verified
    const listed = await runCliProcess(["backups", "--dir", mounts["/backups"]!, "-o", "json"], undefined, { timeoutMillis: 60_000 });
    const { backups } = JSON.parse(listed.stdout) as { backups: { verified: boolean; messages: number; streams: string[] }[] };
    assert.deepEqual(
      backups.map((b) => [b.verified, b.messages, b.streams]),
      [[true, 4, ["default"]]],
    );
  });
});

/** Waits until a server started from rendered objects answers `/healthz`; fails at once if it exits. */
async function renderedServerHealthy(server: ManagedProcess, monitorPort: number): Promise<void> {
  await waitFor(
    "the rendered server's /healthz",
    async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz`, { signal: AbortSignal.timeout(1_000) });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    {
      timeoutMs: 15_000,
      failWhen: server.exited.then(() => {
        throw new Error(`nats-server exited:\n${server.output()}`);
      }),
    },
  );
}
