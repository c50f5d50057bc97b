/**
 * Takeover of a JetStream EventBus that Argo Events' controller deployed, against a real
 * kube-apiserver and real nats-server processes. Argo's objects are written by the test as Argo's
 * installer builds them, encoded from Argo Events' source:
 *
 * - argoproj/argo-events pkg/reconciler/eventbus/installer/jetstream.go: object names, labels
 *   (getLabels in installer.go), the `resource-spec-hash` annotation, the server Secret's eight keys
 *   and the client Secret's `client-auth` text (`username: %s\npassword: %s`), the ConfigMap key
 *   `nats-js`, the StatefulSet (Parallel, serviceName, selector, claim template
 *   `eventbus-<n>-js-vol` mounted at /data/jetstream, JS_KEY from the Secret's `encryption`);
 * - pkg/reconciler/eventbus/installer/assets/jetstream/nats.conf: `store_dir:
 *   "/data/jetstream/store"`, `key: "$JS_KEY"` (quoted since argo-events PR #3388; unquoted before),
 *   `include ./auth.conf`;
 * - controllers/eventbus/installer/assets/jetstream/server-auth.conf: the `js` account, the `sys`
 *   system account, the client TLS block;
 * - pkg/shared/util/string.go: RandomString's alphabet (letters and digits) for users, passwords
 *   and the encryption key; pkg/apis/events/v1alpha1 constants: the Secret key names.
 *
 * A quoted `key: "$JS_KEY"` is not expanded by nats-server: the store's key is the literal text
 * `$JS_KEY`, whatever the Secret holds. The test proves it by reading the events back.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

import {
  applyObjects,
  ARGO_SPEC_HASH_ANNOTATION,
  fromKubeconfig,
  installBundle,
  KubeClient,
  OWNERSHIP_ANNOTATION,
  Resources,
  takeover,
  TakeoverRefusedError,
  type KubeResource,
  type ResourceType,
} from "../src/platforms/kubernetes/index.js";
import { CertificateUsage, createCertificateAuthority, issueCertificate } from "../src/secrets/index.js";
import { findNatsServer } from "../src/tools/index.js";
import { freePort, spawnProcess, waitFor, type ManagedProcess } from "./helpers/index.js";
import { startKubeApi, type KubeApi } from "./helpers/kube-api.js";

type Json = Record<string, any>;
const NS = "legacy";
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };
const ARGO_MANAGER = "argo-events";

/** Argo's RandomString: letters and digits from the CSPRNG. */
function argoRandom(length: number): string {
  const seeds = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return Array.from(randomBytes(length), (b) => seeds[b % seeds.length]).join("");
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: string) => Buffer.from(text, "base64").toString("utf8");

/** Argo's material for bus `name`: users, passwords, key and its two CAs with their certificates. */
async function argoMaterial(name: string) {
  const svc = `eventbus-${name}-js-svc`;
  const ca = await createCertificateAuthority({ commonName: "io.argoproj" });
  const server = await issueCertificate(ca, {
    commonName: svc,
    dnsNames: [`${svc}.${NS}.svc.cluster.local`, `${svc}.${NS}.svc`],
    usage: CertificateUsage.Server,
  });
  const clusterCa = await createCertificateAuthority({ commonName: "io.argoproj cluster" });
  const cluster = await issueCertificate(clusterCa, {
    commonName: svc,
    dnsNames: [`*.${svc}.${NS}.svc.cluster.local`, `*.${svc}.${NS}.svc`],
    usage: CertificateUsage.ServerAndClient,
  });
  return { user: argoRandom(8), password: argoRandom(16), sysPassword: argoRandom(24), encryption: argoRandom(32), ca, server, clusterCa, cluster };
}
type ArgoMaterial = Awaited<ReturnType<typeof argoMaterial>>;

/** Argo's server-auth.conf, rendered. */
function argoAuthConf(m: ArgoMaterial): string {
  return `system_account: sys

accounts: {
  "js": {
    "jetstream": true,
    "users": [
      {"user": "${m.user}", "pass": "${m.password}"}
    ]
  },
  "sys": {
    "users": [
      {"user": "sys", "pass": "${m.sysPassword}"}
    ]
  }
}

tls {
  cert_file: "/etc/nats-config/server-cert.pem"
  key_file:  "/etc/nats-config/server-key.pem"
  ca_file:   "/etc/nats-config/ca-cert.pem"
}`;
}

/** Argo's nats.conf (1 or 2 replicas), rendered with its controller config's default settings. */
function argoNatsConf(quotedKey: boolean): string {
  return `max_payload: 1MB
port: 4222
pid_file: "/var/run/nats/nats.pid"
http: 8222
server_name: $POD_NAME
jetstream {
  key: ${quotedKey ? '"$JS_KEY"' : "$JS_KEY"}
  store_dir: "/data/jetstream/store"
  max_memory_store: -1
  max_file_store: 1TB
}
lame_duck_duration: 30s
include ./auth.conf`;
}

/** The objects Argo's installer creates for a 1-replica persistent JetStream bus. */
function argoObjects(name: string, uid: string, m: ArgoMaterial, quotedKey: boolean): { rt: ResourceType; body: Json }[] {
  const labels = { controller: "eventbus-controller", "eventbus-name": name, "owner-name": name };
  const meta = (objectName: string, hash = true) => ({
    name: objectName,
    namespace: NS,
    labels,
    ...(hash && { annotations: { [ARGO_SPEC_HASH_ANNOTATION]: `argo-${objectName}` } }),
    ownerReferences: [{ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", name, uid, controller: true, blockOwnerDeletion: true }],
  });
  const svc = `eventbus-${name}-js-svc`;
  const secretName = `eventbus-${name}-js-server`;
  return [
    {
      rt: Resources.secret,
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: meta(secretName, false),
        type: "Opaque",
        data: {
          auth: b64(argoAuthConf(m)),
          encryption: b64(m.encryption),
          "private-key": b64(m.server.keyPem),
          cert: b64(m.server.certPem),
          "ca-cert": b64(m.ca.certPem),
          "cluster-private-key": b64(m.cluster.keyPem),
          "cluster-cert": b64(m.cluster.certPem),
          "cluster-ca-cert": b64(m.clusterCa.certPem),
        },
      },
    },
    {
      rt: Resources.secret,
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: meta(`eventbus-${name}-js-client-auth`, false),
        type: "Opaque",
        data: { "client-auth": b64(`username: ${m.user}\npassword: ${m.password}`) },
      },
    },
    {
      rt: Resources.configMap,
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: meta(`eventbus-${name}-js-config`), data: { "nats-js": argoNatsConf(quotedKey) } },
    },
    {
      rt: Resources.service,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: meta(svc),
        spec: {
          ports: [
            { name: "tcp-client", port: 4222 },
            { name: "cluster", port: 6222 },
            { name: "metrics", port: 7777 },
            { name: "monitor", port: 8222 },
          ],
          type: "ClusterIP",
          clusterIP: "None",
          publishNotReadyAddresses: true,
          selector: labels,
        },
      },
    },
    {
      rt: Resources.statefulSet,
      body: { apiVersion: "apps/v1", kind: "StatefulSet", metadata: meta(`eventbus-${name}-js`), spec: argoStatefulSetSpec(name, labels) },
    },
  ];
}

function argoStatefulSetSpec(name: string, labels: Record<string, string>): Json {
  const svc = `eventbus-${name}-js-svc`;
  const items = (pairs: [string, string][]) => pairs.map(([key, path]) => ({ key, path }));
  return {
    podManagementPolicy: "Parallel",
    replicas: 1,
    serviceName: svc,
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        shareProcessNamespace: true,
        terminationGracePeriodSeconds: 60,
        volumes: [
          { name: "pid", emptyDir: {} },
          {
            name: "config-volume",
            projected: {
              sources: [
                { configMap: { name: `eventbus-${name}-js-config`, items: items([["nats-js", "nats-js.conf"]]) } },
                {
                  secret: {
                    name: `eventbus-${name}-js-server`,
                    items: items([
                      ["auth", "auth.conf"],
                      ["private-key", "server-key.pem"],
                      ["cert", "server-cert.pem"],
                      ["ca-cert", "ca-cert.pem"],
                      ["cluster-private-key", "cluster-server-key.pem"],
                      ["cluster-cert", "cluster-server-cert.pem"],
                      ["cluster-ca-cert", "cluster-ca-cert.pem"],
                    ]),
                  },
                },
              ],
            },
          },
        ],
        containers: [
          {
            name: "main",
            image: "nats:2.10.29",
            ports: [
              { name: "client", containerPort: 4222 },
              { name: "cluster", containerPort: 6222 },
              { name: "monitor", containerPort: 8222 },
            ],
            command: ["/nats-server", "--config", "/etc/nats-config/nats-js.conf"],
            env: [
              { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "SERVER_NAME", value: "$(POD_NAME)" },
              { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
              { name: "CLUSTER_ADVERTISE", value: `$(POD_NAME).${svc}.$(POD_NAMESPACE).svc` },
              { name: "JS_KEY", valueFrom: { secretKeyRef: { name: `eventbus-${name}-js-server`, key: "encryption" } } },
            ],
            volumeMounts: [
              { name: "config-volume", mountPath: "/etc/nats-config" },
              { name: "pid", mountPath: "/var/run/nats" },
              { name: `eventbus-${name}-js-vol`, mountPath: "/data/jetstream" },
            ],
            readinessProbe: { httpGet: { path: "/healthz", port: 8222 }, initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 5 },
          },
          {
            name: "reloader",
            image: "natsio/nats-server-config-reloader:0.14.1",
            args: ["-pid", "/var/run/nats/nats.pid", "-config", "/etc/nats-config/nats-js.conf"],
          },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: `eventbus-${name}-js-vol` },
        spec: { accessModes: ["ReadWriteOnce"], volumeMode: "Filesystem", resources: { requests: { storage: "1Gi" } } },
      },
    ],
  };
}

/** A pod's files as a projected volume gives them, with pod paths mapped under `dir`. */
async function writePodFiles(dir: string, volumes: Json[], sources: { configMaps: Map<string, Json>; secrets: Map<string, Json> }): Promise<void> {
  const etc = join(dir, "etc/nats-config");
  await mkdir(etc, { recursive: true });
  await mkdir(join(dir, "var/run/nats"), { recursive: true });
  await mkdir(join(dir, "data/jetstream"), { recursive: true });
  const map = (text: string) =>
    text
      .replaceAll('"/etc/nats-config/', `"${dir}/etc/nats-config/`)
      .replaceAll('"/data/jetstream', `"${dir}/data/jetstream`)
      .replaceAll('"/var/run/nats/', `"${dir}/var/run/nats/`);
  for (const v of volumes) {
    for (const src of v.projected?.sources ?? []) {
      const from = src.configMap
        ? { data: sources.configMaps.get(src.configMap.name)!.data, encoded: false, items: src.configMap.items }
        : { data: sources.secrets.get(src.secret.name)!.data, encoded: true, items: src.secret.items };
      const items: { key: string; path: string }[] = from.items ?? Object.keys(from.data).map((key) => ({ key, path: key }));
      for (const { key, path } of items) {
        const value = from.data[key];
        assert.ok(value !== undefined, `projected key ${key} exists`);
        await writeFile(join(etc, path), map(from.encoded ? unb64(value) : value), { mode: 0o600 });
      }
    }
  }
}

/** Runs nats-server with `configFile`, ports mapped to free ones, and waits for /healthz. */
async function runServer(configFile: string, env: NodeJS.ProcessEnv, rewrite: (text: string) => string): Promise<{ server: ManagedProcess; client: number }> {
  const { readFile } = await import("node:fs/promises");
  await writeFile(configFile, rewrite(await readFile(configFile, "utf8")));
  const server = await spawnProcess(findNatsServer("2.10"), ["-c", configFile], { env: { ...process.env, ...env }, cwd: "/" });
  return { server, client: 0 };
}

async function waitHealthy(server: ManagedProcess, monitor: number): Promise<void> {
  await waitFor(
    "nats-server /healthz",
    async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${monitor}/healthz`, { signal: AbortSignal.timeout(1_000) });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    {
      timeoutMs: 20_000,
      failWhen: server.exited.then(() => {
        throw new Error(`nats-server exited:\n${server.output()}`);
      }),
    },
  );
}

/** Connects as Argo's event sources do: TLS with the bus's CA, user and password. Argo's certificate names the Service, not localhost. */
function natsConnect(port: number, caPem: string, user: string, pass: string) {
  return connect({
    servers: [`tls://127.0.0.1:${port}`],
    user,
    pass,
    tls: { ca: caPem, checkServerIdentity: () => undefined } as never,
    timeout: 5_000,
    reconnect: false,
  });
}

describe("argo takeover - a bus Argo's controller deployed, against a real API server", () => {
  let api: KubeApi;
  let admin: KubeClient;
  let work: string;

  const get = (rt: ResourceType, name: string) => admin.get<Json & KubeResource>(rt, NS, name);
  /** Creates an object as Argo's controller would (its own field manager). */
  const createAsArgo = async (rt: ResourceType, body: Json) => {
    const path = rt.group === "" ? `/api/v1/namespaces/${NS}/${rt.plural}` : `/apis/${rt.group}/${rt.version}/namespaces/${NS}/${rt.plural}`;
    const res = await api.request("POST", `${path}?fieldManager=${ARGO_MANAGER}`, { body });
    assert.equal(res.status, 201, res.text);
  };
  const createBus = async (name: string) =>
    admin.create<Json & KubeResource>(Resources.eventBus, NS, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name, namespace: NS, labels: { team: "payments" } },
      spec: { jetstream: { version: "2.10", replicas: 1, persistence: { volumeSize: "1Gi" } } },
    });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "eventbus-argo-takeover-"));
    api = await startKubeApi();
    admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
    await applyObjects(admin, installBundle());
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await waitFor("the EventBus CRD", async () => ((await admin.list(Resources.eventBus, { namespace: NS }).catch(() => undefined)) ? true : undefined), WAIT);
  });

  after(async () => {
    admin?.close();
    await api?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const quotedKey of [true, false]) {
    const name = quotedKey ? "quoted" : "unquoted";
    test(`argo takeover - ${quotedKey ? 'key: "$JS_KEY" (Argo since PR #3388)' : "key: $JS_KEY (Argo before)"}: the StatefulSet is updated in place with Argo's credentials, TLS, key and store, and the events written under Argo's config are read under eventbus's`, async () => {
      // GIVEN a bus Argo's controller deployed, and events its server stored under Argo's config.
      const m = await argoMaterial(name);
      const bus = await createBus(name);
      for (const { rt, body } of argoObjects(name, bus.metadata.uid!, m, quotedKey)) await createAsArgo(rt, body);
      const argoSts = (await get(Resources.statefulSet, `eventbus-${name}-js`))!;

      const podDir = join(work, name);
      const configMaps = new Map([[`eventbus-${name}-js-config`, (await get(Resources.configMap, `eventbus-${name}-js-config`))!]]);
      const secrets = new Map([[`eventbus-${name}-js-server`, (await get(Resources.secret, `eventbus-${name}-js-server`))!]]);
      await writePodFiles(podDir, argoSts.spec.template.spec.volumes, { configMaps, secrets });
      const ports = { client: await freePort(), monitor: await freePort() };
      const mapPorts = (text: string) => text.replace(/^port: 4222$/m, `port: ${ports.client}`).replace(/^http: 8222$/m, `http: ${ports.monitor}`);
      const argoRun = await runServer(join(podDir, "etc/nats-config/nats-js.conf"), { POD_NAME: `eventbus-${name}-js-0`, JS_KEY: m.encryption }, mapPorts);
      const events = Array.from({ length: 25 }, (_, i) => `event-${i}`);
      try {
        await waitHealthy(argoRun.server, ports.monitor);
        const nc = await natsConnect(ports.client, m.ca.certPem, m.user, m.password);
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "default", subjects: ["default.*.*"] });
        const js = jetstream(nc);
        for (const [i, e] of events.entries()) await js.publish("default.webhook.push", e, { msgID: `id-${i}` });
        await nc.close();
      } finally {
        await argoRun.server.stop({ signal: "SIGTERM" });
      }

      // WHEN eventbus takes the bus over.
      const dry = await takeover({ client: admin, namespace: NS, name, dryRun: true });
      assert.equal(dry.dryRun, true);
      assert.equal((await get(Resources.eventBus, name))!.metadata.annotations?.[OWNERSHIP_ANNOTATION], undefined, "a dry run changes nothing");
      const result = await takeover({ client: admin, namespace: NS, name });

      // THEN the StatefulSet was updated in place, its immutable fields as Argo made them.
      const sts = (await get(Resources.statefulSet, `eventbus-${name}-js`))!;
      assert.equal(sts.metadata.uid, argoSts.metadata.uid);
      assert.equal(result.statefulSetUid, argoSts.metadata.uid);
      assert.ok(sts.metadata.generation! > argoSts.metadata.generation!, "the pod template changed");
      for (const field of ["serviceName", "selector", "podManagementPolicy", "volumeClaimTemplates"])
        assert.deepEqual(sts.spec[field], argoSts.spec[field], field);
      assert.equal(result.encryptionKey, quotedKey ? "literal-$JS_KEY" : "secret");
      // Argo's hash annotation is kept (Argo's controller finds nothing to rewrite for an unchanged spec), the EventBus's labels are merged.
      assert.equal(sts.metadata.annotations?.[ARGO_SPEC_HASH_ANNOTATION], `argo-eventbus-${name}-js`);
      assert.equal(sts.metadata.labels?.["team"], "payments");
      assert.equal(sts.spec.template.metadata.labels.team, undefined, "Argo puts the EventBus's labels on the StatefulSet, not the pods");
      const main = sts.spec.template.spec.containers.find((c: Json) => c.name === "main");
      assert.deepEqual(main.readinessProbe, {
        httpGet: { path: "/healthz", port: 8222, scheme: "HTTP" },
        initialDelaySeconds: 10,
        periodSeconds: 5,
        timeoutSeconds: 5,
        successThreshold: 1,
        failureThreshold: 3,
      });
      assert.deepEqual(
        main.volumeMounts.find((v: Json) => v.mountPath === "/data/jetstream"),
        { name: `eventbus-${name}-js-vol`, mountPath: "/data/jetstream" },
      );
      assert.equal((await get(Resources.eventBus, name))!.metadata.annotations?.[OWNERSHIP_ANNOTATION], "eventbus");

      // Argo's Secret keys and values are kept; credentials.json is not projected into the pods.
      const server = (await get(Resources.secret, `eventbus-${name}-js-server`))!;
      const argoServer = argoObjects(name, bus.metadata.uid!, m, quotedKey)[0]!.body;
      for (const [key, value] of Object.entries(argoServer.data as Record<string, string>)) assert.equal(server.data[key], value, `Secret key ${key}`);
      const clientAuth = (await get(Resources.secret, `eventbus-${name}-js-client-auth`))!;
      assert.equal(unb64(clientAuth.data["client-auth"]), `username: ${m.user}\npassword: ${m.password}`);
      const projected = JSON.stringify(sts.spec.template.spec.volumes);
      assert.ok(!projected.includes("credentials.json") && !projected.includes('"auth"'), "no stored credentials in the pods");

      // The taken-over config keeps the store where Argo's is, on the same volume, with the same key.
      const ourConfigs = (await get(Resources.configMap, `eventbus-${name}-js-config`))!;
      const podConf: string = ourConfigs.data[`eventbus-${name}-js-0.conf`];
      assert.match(podConf, /^ {2}store_dir: "\/data\/jetstream\/store"$/m);

      // AND the events stored under Argo's config are read under eventbus's, with Argo's credentials and CA.
      const ourDir = join(work, `${name}-eventbus`);
      await writePodFiles(ourDir, sts.spec.template.spec.volumes, {
        configMaps: new Map([[ourConfigs.metadata.name, ourConfigs]]),
        secrets: new Map([[server.metadata.name, server]]),
      });
      // The same volume: Argo's store directory moves with it.
      const { cp } = await import("node:fs/promises");
      await cp(join(podDir, "data/jetstream"), join(ourDir, "data/jetstream"), { recursive: true });
      const ports2 = { client: await freePort(), monitor: await freePort() };
      const ourRun = await runServer(join(ourDir, `etc/nats-config/eventbus-${name}-js-0.conf`), {}, (text) =>
        text.replace('listen: "0.0.0.0:4222"', `listen: "127.0.0.1:${ports2.client}"`).replace('http: "0.0.0.0:8222"', `http: "127.0.0.1:${ports2.monitor}"`),
      );
      try {
        await waitHealthy(ourRun.server, ports2.monitor);
        const nc = await natsConnect(ports2.client, unb64(server.data["ca-cert"]), m.user, m.password);
        const jsm = await jetstreamManager(nc);
        const info = await jsm.streams.info("default");
        assert.equal(info.state.messages, events.length, "every event Argo's server stored");
        const read: string[] = [];
        for (let seq = 1; seq <= events.length; seq++) read.push((await jsm.streams.getMessage("default", { seq }))?.string() ?? "(missing)");
        assert.deepEqual(read, events);
        await nc.close();
      } finally {
        await ourRun.server.stop({ signal: "SIGTERM" });
      }

      // AND Argo's controller can take the bus back: its Update (its own spec over the live object) is accepted.
      const back = { ...sts, spec: { ...argoStatefulSetSpec(name, sts.spec.selector.matchLabels), volumeClaimTemplates: sts.spec.volumeClaimTemplates } };
      const res = await api.request("PUT", `/apis/apps/v1/namespaces/${NS}/statefulsets/eventbus-${name}-js?fieldManager=${ARGO_MANAGER}`, { body: back });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json<Json>().metadata.uid, argoSts.metadata.uid);
    });
  }

  test("argo takeover - a server Secret without one of Argo's keys is refused with the key's path, and nothing is changed", async () => {
    const name = "broken";
    const m = await argoMaterial(name);
    const bus = await createBus(name);
    for (const { rt, body } of argoObjects(name, bus.metadata.uid!, m, true)) {
      if (rt === Resources.secret && body.metadata.name.endsWith("-server")) delete body.data["cluster-ca-cert"];
      await createAsArgo(rt, body);
    }
    const before = await Promise.all(
      [Resources.statefulSet, Resources.configMap, Resources.secret].map(async (rt) =>
        (await admin.list(rt, { namespace: NS, labelSelector: `eventbus-name=${name}` })).items.map((o) => o.metadata.resourceVersion),
      ),
    );
    await assert.rejects(takeover({ client: admin, namespace: NS, name }), (err: unknown) => {
      assert.ok(err instanceof TakeoverRefusedError);
      assert.deepEqual(
        err.problems.map((p) => p.path),
        [`Secret/eventbus-${name}-js-server.data.cluster-ca-cert`],
      );
      assert.ok(!err.message.includes(m.password) && !err.message.includes(m.encryption), "no secret value in the error");
      return true;
    });
    const afterVersions = await Promise.all(
      [Resources.statefulSet, Resources.configMap, Resources.secret].map(async (rt) =>
        (await admin.list(rt, { namespace: NS, labelSelector: `eventbus-name=${name}` })).items.map((o) => o.metadata.resourceVersion),
      ),
    );
    assert.deepEqual(afterVersions, before);
    assert.equal((await get(Resources.eventBus, name))!.metadata.annotations?.[OWNERSHIP_ANNOTATION], undefined);
  });
});
