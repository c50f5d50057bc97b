/**
 * Golden files of managed NATS Streaming (STAN) buses: for several representative manifests, the
 * Kubernetes objects as `eventbus render` prints them (`objects.yaml`), each server's
 * nats-streaming-server config (`<pod>.conf`, the ConfigMap's values) and, with token auth, the
 * secrets file the configs include (`nats-secrets.conf`, the server Secret's value), under
 * `test/fixtures/stan-golden/<case>/`.
 *
 * The objects are what a live cluster compares with what the controller applies: a byte that
 * changes here rolls every STAN pod of every user. A change that means to alter them rewrites the
 * files with `EVENTBUS_UPDATE_GOLDEN=1 node --import tsx --test test/stan-golden.test.ts`, and the
 * diff of the files is then part of the change for review.
 */
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { validate, type ResolvedEventBus } from "../src/api/index.js";
import { renderStanConfig } from "../src/natsconf/index.js";
import { planStan } from "../src/plan/index.js";
import { renderBusObjects, STAN_SECRETS_KEY, stanPodMaterial, toYamlDocuments, type KubeObject } from "../src/platforms/kubernetes/index.js";
import type { BusSecrets } from "../src/secrets/index.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/stan-golden/", import.meta.url));
const UPDATE = process.env["EVENTBUS_UPDATE_GOLDEN"] === "1";

/** Fixed credentials, so that the Secrets are the same on every run; only `token` is a STAN bus's. */
const SECRETS: BusSecrets = {
  credentials: {
    user: "eventbus",
    password: "golden-password",
    systemUser: "sys",
    systemPassword: "golden-system-password",
    token: "golden-token-0123456789abcdef",
    routeUser: "route",
    routePassword: "golden-route-password",
    encryptionKey: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
  },
};

interface GoldenCase {
  /** The fixture directory's name. */
  readonly name: string;
  readonly namespace: string;
  readonly metadata: Record<string, unknown>;
  readonly native: Record<string, unknown>;
}

const CASES: readonly GoldenCase[] = [
  { name: "defaults", namespace: "argo-events", metadata: { name: "default" }, native: {} },
  // Raised to 3, as Argo Events does.
  { name: "replicas-1-token", namespace: "team-a", metadata: { name: "legacy" }, native: { replicas: 1, auth: "token" } },
  {
    name: "replicas-5-token-persistence",
    namespace: "argo-events",
    metadata: { name: "big", labels: { team: "payments", "app.kubernetes.io/part-of": "events" } },
    native: { replicas: 5, auth: "token", persistence: { storageClassName: "fast", accessMode: "ReadWriteOnce", volumeSize: "25Gi" } },
  },
  {
    name: "limits-none-persistence",
    namespace: "argo-events",
    metadata: { name: "limits" },
    native: {
      replicas: 3,
      auth: "none",
      persistence: {},
      maxAge: "4h35m",
      maxMsgs: 0,
      maxBytes: "512MB",
      maxSubs: 0,
      maxPayload: "2MB",
      raftHeartbeatTimeout: "3s",
      raftElectionTimeout: "5s",
      raftLeaseTimeout: "500ms",
      raftCommitTimeout: "50ms",
    },
  },
  {
    name: "limits-large-token",
    namespace: "prod",
    metadata: { name: "archive" },
    native: { replicas: 3, auth: "token", maxAge: "720h", maxMsgs: 50_000_000, maxBytes: "10GB", maxSubs: 5000, maxPayload: "8MB" },
  },
  {
    name: "pod-template",
    namespace: "argo-events",
    metadata: { name: "tuned" },
    native: {
      replicas: 3,
      auth: "token",
      containerTemplate: { resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } }, imagePullPolicy: "IfNotPresent" },
      metricsContainerTemplate: { resources: { requests: { cpu: "10m" } } },
      metadata: { labels: { tier: "bus" }, annotations: { "prometheus.io/scrape": "true" } },
      nodeSelector: { "kubernetes.io/os": "linux" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "events", effect: "NoSchedule" }],
      securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 },
      imagePullSecrets: [{ name: "regcred" }],
      priorityClassName: "high",
      serviceAccountName: "stan",
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { "eventbus-name": "tuned" } } } },
          ],
        },
      },
    },
  },
];

function bus(c: GoldenCase): ResolvedEventBus {
  const result = validate({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: c.metadata, spec: { nats: { native: c.native } } });
  if (!result.ok) throw new Error(`invalid golden manifest ${c.name}: ${JSON.stringify(result.issues)}`);
  return result.bus;
}

/** What the case renders to: file name → text. */
function rendered(c: GoldenCase): Map<string, string> {
  const objects = renderBusObjects(bus(c), { namespace: c.namespace, secrets: SECRETS });
  const files = new Map<string, string>([["objects.yaml", toYamlDocuments(objects)]]);
  const configMap = objects.find((o) => o.kind === "ConfigMap");
  assert.ok(configMap, `${c.name}: no ConfigMap`);
  for (const [key, text] of Object.entries(configMap["data"] as Record<string, string>)) files.set(key, text);
  const serverSecret = objects.find((o: KubeObject) => o.kind === "Secret" && o.metadata.name.endsWith("-server"));
  if (serverSecret !== undefined) {
    for (const [key, value] of Object.entries(serverSecret["data"] as Record<string, string>)) files.set(key, Buffer.from(value, "base64").toString("utf8"));
  }
  return files;
}

describe("STAN golden files", () => {
  for (const c of CASES) {
    test(`stan golden - ${c.name}: the objects, each server's config and the secrets include are byte-for-byte the golden files`, async () => {
      const dir = join(FIXTURES, c.name);
      const files = rendered(c);
      if (UPDATE) {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        for (const [name, text] of files) await writeFile(join(dir, name), text);
      }
      const golden = (await readdir(dir)).sort();
      assert.deepEqual([...files.keys()].sort(), golden, `${c.name}: the rendered files are not the golden files`);
      for (const [name, text] of files) assert.equal(text, await readFile(join(dir, name), "utf8"), `${c.name}/${name}`);
    });
  }

  test("stan golden - the plan and natsconf's renderer give each server's config and the secrets include of the golden files", async () => {
    for (const c of CASES) {
      const dir = join(FIXTURES, c.name);
      const plan = planStan(bus(c), { platform: "kubernetes", namespace: c.namespace });
      const material = stanPodMaterial(plan, SECRETS.credentials);
      for (const server of plan.servers) {
        const rendered = renderStanConfig(plan, server.index, material, { secretsInclude: STAN_SECRETS_KEY });
        assert.equal(rendered.config, await readFile(join(dir, `${server.name}.conf`), "utf8"), `${c.name}/${server.name}.conf`);
        if (plan.auth === "token") assert.equal(rendered.secrets, await readFile(join(dir, STAN_SECRETS_KEY), "utf8"), `${c.name}/${STAN_SECRETS_KEY}`);
        else assert.equal(rendered.secrets, undefined, `${c.name}: no secrets include without a token`);
      }
    }
  });

  test("stan golden - the cases cover 3 and 5 servers, token and no auth, volume claims and emptyDir", async () => {
    const texts = await Promise.all(CASES.map((c) => readFile(join(FIXTURES, c.name, "objects.yaml"), "utf8")));
    const all = texts.join("\n");
    assert.match(all, /replicas: 5/);
    assert.match(all, /replicas: 3/);
    assert.match(all, /emptyDir: \{\}/);
    assert.match(all, /volumeClaimTemplates:/);
    assert.ok(
      texts.some((t) => !t.includes("kind: Secret")),
      "a case without Secrets (auth none)",
    );
  });
});
