/**
 * `eventbus status NAME --kube` against a real kube-apiserver: the EventBus's phase, conditions and
 * status.config as the controller writes them, problems first, and the exit code.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { runCli } from "../src/cli/program.js";
import { fromKubeconfig, KubeClient } from "../src/platforms/kubernetes/index.js";
import { serveEventBuses, startKubeApi, type KubeApi } from "./helpers/kube-api.js";
import { waitFor } from "./helpers/process.js";

const NS = "events";

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stdin: async () => "" });
  return { code, stdout, stderr };
}

describe("cli - status of an EventBus in Kubernetes", { timeout: 120_000 }, () => {
  let api: KubeApi;
  let admin: KubeClient;

  before(async () => {
    api = await startKubeApi();
    admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
    await serveEventBuses(api, admin, NS);
  });

  after(async () => {
    admin?.close();
    await api?.stop();
  });

  const setStatus = async (name: string, status: unknown) => {
    const res = await api.request("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/${name}/status`, {
      body: { status },
      contentType: "application/merge-patch+json",
    });
    assert.equal(res.status, 200, res.text);
  };

  test("conditions and status.config are shown, a False condition is a problem with exit 1, a missing bus exits 1 naming where it looked", async () => {
    await admin.apply({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "default", namespace: NS },
      spec: { jetstream: { version: "2.10", replicas: 3 } },
    });
    const kube = ["--kube", "-n", NS, "--kubeconfig", api.kubeconfigPath];

    // Not reconciled yet: no conditions
    const fresh = await run(["status", "default", ...kube]);
    assert.equal(fresh.code, 1, fresh.stderr);
    assert.match(fresh.stdout, /^eventbus events\/default: not ready\nPROBLEM: no conditions yet: the controller has not reconciled the bus\n/);

    const config = {
      jetstream: {
        url: "nats://eventbus-default-stan-svc.events.svc:4222",
        accessSecret: { name: "eventbus-default-js-client-auth", key: "client-auth" },
        streamConfig: "",
      },
    };
    const at = "2026-11-26T00:00:00Z";
    await setStatus("default", {
      phase: "Running",
      config,
      conditions: [
        { type: "Deployed", status: "True", reason: "Succeeded", lastTransitionTime: at },
        { type: "Ready", status: "False", reason: "NotReady", message: "1/3 servers ready", lastTransitionTime: at },
      ],
    });
    const degraded = await run(["status", "default", ...kube]);
    assert.equal(degraded.code, 1);
    assert.match(degraded.stdout, /^eventbus events\/default: not ready, phase Running\nPROBLEM: condition Ready is False \(NotReady\): 1\/3 servers ready\n/);
    assert.match(
      degraded.stdout,
      /\nCONDITION\s+STATUS\s+REASON\s+MESSAGE\s+SINCE\nDeployed\s+True\s+Succeeded\s+2026-11-26T00:00:00Z\nReady\s+False\s+NotReady\s+1\/3 servers ready\s+2026-11-26T00:00:00Z\n/,
    );

    await setStatus("default", {
      conditions: [
        { type: "Deployed", status: "True", reason: "Succeeded", lastTransitionTime: at },
        { type: "Ready", status: "True", reason: "Ready", message: "3/3 servers ready", lastTransitionTime: at },
      ],
    });
    const ready = await run(["status", "default", ...kube, "-o", "json"]);
    assert.equal(ready.code, 0, ready.stderr);
    const shown = JSON.parse(ready.stdout) as {
      namespace: string;
      name: string;
      phase: string;
      problems: string[];
      conditions: { type: string; status: string }[];
      config: unknown;
    };
    assert.deepEqual([shown.namespace, shown.name, shown.phase, shown.problems], [NS, "default", "Running", []]);
    assert.deepEqual(
      shown.conditions.map((c) => [c.type, c.status]),
      [
        ["Deployed", "True"],
        ["Ready", "True"],
      ],
    );
    assert.deepEqual(shown.config, config);

    // The EventBus's pods do not exist (no kubelet here): the servers are said to be none yet, not down.
    assert.match((await run(["status", "default", ...kube])).stdout, /\nservers: none yet: no pod eventbus-default-js-\* exists\n/);

    // A user who may read the EventBus but not use the pod proxy: its servers are not shown, and it says why (RBAC's 403), the status still is.
    await admin.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "eventbus-reader", namespace: NS },
      rules: [{ apiGroups: ["argoproj.io"], resources: ["eventbus"], verbs: ["get", "list"] }],
    });
    await admin.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "eventbus-reader", namespace: NS },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "eventbus-reader" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: api.restricted.name }],
    });
    const reader = await waitFor(
      "the Role to be in force",
      async () => {
        const r = await run(["status", "default", "--kube", "-n", NS, "--kubeconfig", api.restricted.kubeconfigPath]);
        return r.code === 0 ? r : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    assert.match(reader.stdout, /^eventbus events\/default: ready, phase Running\n/);
    assert.match(reader.stdout, /\nservers: not shown: .*403.*\(reading them needs get on pods\/proxy\)\n/);

    const missing = await run(["status", "nope", ...kube]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`no EventBus nope in namespace ${NS} \\(${api.kubeconfigPath.replaceAll("/", "\\/").replaceAll(".", "\\.")}\\)`));
    const unnamed = await run(["status", ...kube]);
    assert.equal(unnamed.code, 2);
    assert.match(unnamed.stderr, /--kube: name the EventBus/);
  });
});
