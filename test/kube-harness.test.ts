import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { parse } from "yaml";

import {
  ETCD,
  INSTALL_HINT,
  KUBE_APISERVER,
  MissingBinaryError,
  pinnedBinaries,
  pinnedBinary,
  projectRoot,
  TOOLS_DIR_ENV,
  ToolGroup,
} from "../src/tools/index.js";
import { isAlive } from "../src/platforms/local/index.js";
import { ADMIN_USER, RESTRICTED_USER, startKubeApi, type KubeApi } from "./helpers/kube-api.js";

/** Sets an environment variable until the returned value is disposed (`using`). */
function scopedEnv(name: string, value: string): Disposable {
  const saved = process.env[name];
  process.env[name] = value;
  return {
    [Symbol.dispose]: () => {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    },
  };
}

interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
}

interface ConfigMap {
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

const NAMESPACE = "eventbus-harness";
const CONFIG_MAP_PATH = `/api/v1/namespaces/${NAMESPACE}/configmaps/bus-settings`;

test("kube tools - the Go modules under tools/kube pin the versions of binaries.json", async () => {
  const kube = pinnedBinary(KUBE_APISERVER);
  const etcd = pinnedBinary(ETCD);
  assert.ok(kube?.goModuleDir !== undefined && etcd?.goModuleDir !== undefined, "both are built in a module of ours");
  assert.deepEqual(
    pinnedBinaries([ToolGroup.Kube]).map((b) => b.id),
    [kube.id, etcd.id],
  );

  const apiserverMod = await readFile(join(projectRoot(), kube.goModuleDir, "go.mod"), "utf8");
  assert.match(apiserverMod, new RegExp(`^\\tk8s\\.io/kubernetes ${kube.moduleVersion.replaceAll(".", "\\.")}\\b`, "m"));
  // Every staging module that k8s.io/kubernetes requires as v0.0.0 is replaced by the release's v0.<minor>.<patch>.
  const staging = kube.moduleVersion.replace(/^v1\./, "v0.");
  const replaced = [...apiserverMod.matchAll(/^\t(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
  assert.ok(replaced.length >= 30, `found ${replaced.length} replace lines`);
  for (const [, from, to, version] of replaced) {
    assert.equal(to, from, `${from} is replaced by the same module`);
    assert.equal(version, staging, `${from} is pinned to ${staging}`);
  }

  const etcdMod = await readFile(join(projectRoot(), etcd.goModuleDir, "go.mod"), "utf8");
  assert.match(etcdMod, new RegExp(`^\\tgo\\.etcd\\.io/etcd/server/v3 ${etcd.moduleVersion.replaceAll(".", "\\.")}\\b`, "m"));
  for (const sibling of ["api/v3", "client/pkg/v3", "client/v3", "pkg/v3"]) {
    assert.match(etcdMod, new RegExp(`^\\tgo\\.etcd\\.io/etcd/${sibling} ${etcd.moduleVersion.replaceAll(".", "\\.")}\\b`, "m"), sibling);
  }
});

test("kube harness - a missing kube-apiserver or etcd is a MissingBinaryError with the install hint", async () => {
  const dir = await mkdtemp(join(tmpdir(), "eventbus-tools-empty-"));
  try {
    using _ = scopedEnv(TOOLS_DIR_ENV, dir);
    await assert.rejects(startKubeApi(), (err: unknown) => {
      assert.ok(err instanceof MissingBinaryError);
      assert.ok(err.command === ETCD || err.command === KUBE_APISERVER, err.command);
      assert.ok(err.message.includes(INSTALL_HINT), err.message);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe("kube harness - etcd and kube-apiserver", () => {
  let api: KubeApi;

  before(async () => {
    const started = performance.now();
    api = await startKubeApi({ users: [{ name: "bus-reader", groups: ["eventbus:readers"] }] });
    console.error(`kube harness: etcd + kube-apiserver ready in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  });

  after(async () => {
    await api?.stop();
  });

  test("kube harness - /readyz is ok and /version names the pinned release", async () => {
    const ready = await api.request("GET", "/readyz");
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.text, "ok");
    const version = (await api.request("GET", "/version")).json<{ gitVersion: string; major: string; minor: string }>();
    assert.equal(version.gitVersion, `v${pinnedBinary(KUBE_APISERVER)?.version}`);
    assert.equal(version.major, "1");
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test("kube harness - the kubeconfig names the server, the CA and the admin token", async () => {
    const config = parse(await readFile(api.kubeconfigPath, "utf8")) as {
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      users: { name: string; user: { token: string } }[];
      "current-context": string;
    };
    assert.equal(config.clusters[0]?.cluster.server, api.url);
    assert.equal(Buffer.from(config.clusters[0]?.cluster["certificate-authority-data"] ?? "", "base64").toString(), await readFile(api.caFile, "utf8"));
    assert.deepEqual(config.users, [{ name: ADMIN_USER, user: { token: api.token } }]);
    assert.equal(config["current-context"], ADMIN_USER);
  });

  test("kube harness - the admin creates a Namespace and a ConfigMap and reads it back", async () => {
    const ns = await api.request("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
    });
    assert.equal(ns.status, 201, ns.text);

    const created = await api.request("POST", `/api/v1/namespaces/${NAMESPACE}/configmaps`, {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bus-settings" }, data: { replicas: "3", version: "2.10" } },
    });
    assert.equal(created.status, 201, created.text);

    const read = await api.request("GET", CONFIG_MAP_PATH);
    assert.equal(read.status, 200, read.text);
    const cm = read.json<ConfigMap>();
    assert.deepEqual(cm.data, { replicas: "3", version: "2.10" });
    assert.equal(cm.metadata.uid, created.json<ConfigMap>().metadata.uid);
  });

  test("kube harness - RBAC forbids the restricted user to list secrets, and a bad token is unauthorized", async () => {
    const forbidden = await api.request("GET", `/api/v1/namespaces/${NAMESPACE}/secrets`, { token: api.restricted.token });
    assert.equal(forbidden.status, 403, forbidden.text);
    const status = forbidden.json<{ reason: string; message: string }>();
    assert.equal(status.reason, "Forbidden");
    assert.match(status.message, new RegExp(`User "${RESTRICTED_USER}" cannot list resource "secrets"`));

    const allowed = await api.request("GET", `/api/v1/namespaces/${NAMESPACE}/secrets`);
    assert.equal(allowed.status, 200, "the admin may");

    const unauthorized = await api.request("GET", "/api/v1/namespaces", { token: "not-a-token" });
    assert.equal(unauthorized.status, 401, unauthorized.text);
  });

  test("kube harness - each static token user authenticates with its name and groups", async () => {
    const whoami = async (token: string) => {
      const res = await api.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
        token,
        body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
      });
      assert.equal(res.status, 201, res.text);
      return res.json<{ status: { userInfo: { username: string; groups: string[] } } }>().status.userInfo;
    };
    const reader = api.users.get("bus-reader");
    assert.ok(reader !== undefined);
    assert.deepEqual(await whoami(reader.token), { username: "bus-reader", uid: "bus-reader", groups: ["eventbus:readers", "system:authenticated"] });
    assert.deepEqual(await whoami(api.token), { username: ADMIN_USER, uid: ADMIN_USER, groups: ["system:masters", "system:authenticated"] });
    assert.deepEqual((await whoami(api.restricted.token)).groups, ["system:authenticated"]);
    assert.deepEqual([...api.users.keys()], [ADMIN_USER, RESTRICTED_USER, "bus-reader"]);
  });

  test("kube harness - after a kube-apiserver restart on the same port the ConfigMap is still there", async () => {
    const before = (await api.request("GET", CONFIG_MAP_PATH)).json<ConfigMap>();
    const [oldPid, url] = [api.apiserver().pid, api.url];

    const started = performance.now();
    await api.restart();
    console.error(`kube harness: kube-apiserver restarted in ${((performance.now() - started) / 1000).toFixed(1)}s`);

    assert.notEqual(api.apiserver().pid, oldPid);
    assert.equal(isAlive(oldPid), false, "the old kube-apiserver is gone");
    assert.equal(api.url, url);
    const read = await api.request("GET", CONFIG_MAP_PATH);
    assert.equal(read.status, 200, read.text);
    const after = read.json<ConfigMap>();
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.deepEqual(after.data, before.data);
  });

  test("kube harness - stop ends etcd and kube-apiserver and removes the temp dir", async () => {
    const pids = [api.etcd.pid, api.apiserver().pid];
    await api.stop();
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
    assert.equal(existsSync(api.dir), false);
    await api.stop(); // idempotent
  });
});
