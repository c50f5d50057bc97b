/**
 * `eventbus console --kube` against a real kube-apiserver: the EventBuses of a namespace (or of
 * all, with -A) appear with their conditions as problems, in the words of `eventbus status --kube`;
 * one created or deleted while the console runs appears or goes.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import type { ConsoleState } from "../src/console/index.js";
import { fromKubeconfig, KubeClient, Resources } from "../src/platforms/kubernetes/index.js";
import { startTestConsole, type TestConsole } from "./helpers/console.js";
import { serveEventBuses, startKubeApi, type KubeApi } from "./helpers/kube-api.js";
import { waitFor } from "./helpers/process.js";

const NS = "events";

describe("eventbus console - EventBuses in Kubernetes", { timeout: 180_000 }, () => {
  let api: KubeApi;
  let admin: KubeClient;
  let home: string;
  let console_: TestConsole;

  const eventBus = (name: string, namespace = NS) => ({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name, namespace },
    spec: { jetstream: { version: "2.10", replicas: 3 } },
  });
  const state = async (c: TestConsole) => (await (await c.fetch("/api/state")).json()) as ConsoleState;

  before(async () => {
    api = await startKubeApi();
    admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
    await serveEventBuses(api, admin, NS);
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } });
    await admin.apply(eventBus("alpha"));
    await admin.apply(eventBus("beta"));
    await admin.apply(eventBus("gamma", "other"));
    // No local bus: an empty home.
    home = await mkdtemp(join(tmpdir(), "eventbus-console-kube-"));
    console_ = await startTestConsole(home, ["--kube", "-n", NS, "--kubeconfig", api.kubeconfigPath, "--interval", "1s"]);
  });
  after(async () => {
    await console_?.[Symbol.asyncDispose]();
    admin?.close();
    await api?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  test("the namespace's EventBuses are shown with their conditions; a bus turns ready when its conditions are True", async () => {
    assert.deepEqual(console_.buses, [`kube.${NS}.alpha`, `kube.${NS}.beta`]);
    const first = await state(console_);
    const alpha = first.buses.find((b) => b.id === `kube.${NS}.alpha`)!;
    assert.equal(alpha.kind, "kube");
    assert.equal(alpha.label, `${NS}/alpha`);
    assert.equal(alpha.view.headline, `eventbus ${NS}/alpha: not ready`);
    assert.deepEqual(alpha.view.problems, ["no conditions yet: the controller has not reconciled the bus"]);
    assert.equal(alpha.browsable, false);

    const at = "2026-12-01T00:00:00Z";
    const res = await api.request("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/alpha/status`, {
      body: {
        status: {
          phase: "Running",
          conditions: [
            { type: "Configured", status: "True", reason: "Succeeded", lastTransitionTime: at },
            { type: "Deployed", status: "True", reason: "Succeeded", lastTransitionTime: at },
          ],
          config: {
            jetstream: { url: `nats://eventbus-alpha-js-svc.${NS}.svc:4222`, accessSecret: { name: "eventbus-alpha-js-client-auth", key: "client-auth" } },
          },
        },
      },
      contentType: "application/merge-patch+json",
    });
    assert.equal(res.status, 200, res.text);
    const ready = await waitFor("alpha ready in the console", async () => (await state(console_)).buses.find((b) => b.id === `kube.${NS}.alpha` && b.healthy), {
      timeoutMs: 15_000,
      intervalMs: 250,
    });
    assert.equal(ready.view.headline, `eventbus ${NS}/alpha: ready, phase Running`);
    assert.deepEqual(
      ready.view.conditions?.map((c) => [c.type, c.status]),
      [
        ["Configured", "True"],
        ["Deployed", "True"],
      ],
    );
  });

  test("an EventBus created while the console runs appears, one deleted goes", async () => {
    await admin.apply(eventBus("delta"));
    await admin.delete(Resources.eventBus, NS, "beta");
    const ids = await waitFor(
      "delta in and beta out",
      async () => {
        const list = (await state(console_)).buses.map((b) => b.id);
        return list.includes(`kube.${NS}.delta`) && !list.includes(`kube.${NS}.beta`) ? list : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    assert.deepEqual(ids, [`kube.${NS}.alpha`, `kube.${NS}.delta`]);
  });

  test("-A shows the EventBuses of every namespace", async () => {
    await using all = await startTestConsole(home, ["--kube", "-A", "--kubeconfig", api.kubeconfigPath]);
    assert.deepEqual(all.buses, [`kube.${NS}.alpha`, `kube.${NS}.delta`, "kube.other.gamma"]);
  });
});
