import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import {
  binariesTable,
  checkBinariesTable,
  compareVersions,
  findBinary,
  INSTALL_HINT,
  isToolsError,
  MissingBinaryError,
  KUBE_APISERVER,
  NATS_CLI,
  NATS_SERVER,
  NATS_STREAMING_SERVER,
  pinnedBinaries,
  pinnedBinary,
  projectRoot,
  sharedCacheDir,
  ToolGroup,
  TOOLS_DIR_ENV,
  toolLinkDir,
  toolsBinDir,
  ToolsErrorCode,
} from "../src/tools/index.js";
import { resolveJetStreamVersion, versionsTable } from "../src/versions/index.js";
import { startNatsServer, startStreamingServer } from "./helpers/index.js";

const execFileAsync = promisify(execFile);

/** The major version of a `node --version` or `process.versions.node` string. */
function nodeMajor(version: string): number {
  return Number.parseInt(version.replace(/^v/, ""), 10);
}

/** The oldest Node.js major eventbus supports, and the Node that the bootstrap pins. */
async function nodePins(): Promise<{ minimumMajor: number; version: string }> {
  const script = await readFile(join(projectRoot(), "scripts", "bootstrap-node.sh"), "utf8");
  const version = /^NODE_VERSION=(\S+)$/m.exec(script)?.[1];
  const minimumMajor = /^NODE_MINIMUM_MAJOR=(\d+)$/m.exec(script)?.[1];
  assert.ok(version !== undefined && minimumMajor !== undefined, "scripts/bootstrap-node.sh pins NODE_VERSION and NODE_MINIMUM_MAJOR");
  return { minimumMajor: Number(minimumMajor), version };
}

/** `$PATH` without this clone's tools bin dir: where the bootstrap looks for the machine's node. */
function machinePath(): string {
  const bin = toolsBinDir();
  return (process.env["PATH"] ?? "")
    .split(delimiter)
    .filter((dir) => dir !== bin && dir !== `${bin}/`)
    .join(delimiter);
}

/** Runs scripts/bootstrap-node.sh with a tools dir of its own; returns what it printed. */
async function bootstrapNode(toolsDir: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stderr } = await execFileAsync("bash", [join(projectRoot(), "scripts", "bootstrap-node.sh")], {
    env: { ...process.env, PATH: machinePath(), [TOOLS_DIR_ENV]: toolsDir, ...env },
  });
  return stderr;
}

/** The `--group` values of a make target's installer run, read from the Makefile. */
async function makeTargetGroups(target: string): Promise<ToolGroup[]> {
  const makefile = await readFile(join(projectRoot(), "Makefile"), "utf8");
  const recipe = new RegExp(`^${target}:.*\\n\\t(.*)$`, "m").exec(makefile)?.[1] ?? "";
  assert.ok(recipe.includes("scripts/install-tools.ts"), `make ${target} runs scripts/install-tools.ts`);
  return [...recipe.matchAll(/--group (\S+)/g)].map((m) => m[1] as ToolGroup);
}

/** Whether a process with this pid still exists. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("tools - every server version of the versions table is pinned, latest as the default nats-server in group bus", () => {
  assert.deepEqual(checkBinariesTable(binariesTable()), []);
  const versions = versionsTable();
  for (const [name, target] of Object.entries(versions.jetstreamVersions)) {
    assert.ok(pinnedBinary(NATS_SERVER, target), `jetstreamVersions.${name} → ${target} has a pinned nats-server`);
  }
  for (const [name, target] of Object.entries(versions.stanVersions)) {
    assert.ok(pinnedBinary(NATS_STREAMING_SERVER, target), `stanVersions.${name} → ${target} has a pinned nats-streaming-server`);
  }
  assert.equal(pinnedBinary(NATS_SERVER)?.version, "2.10.29", "the unversioned nats-server is latest");
  assert.equal(pinnedBinary(NATS_SERVER)?.group, ToolGroup.Bus);
});

test("tools - a binaries table that does not pin what the versions table names is reported with every issue", () => {
  const versions = { jetstreamVersions: { latest: "2.10.29", "2.9": "2.9.25" }, stanVersions: { latest: "0.25.6" } };
  const issues = checkBinariesTable(
    {
      goMinimum: "1.26.0",
      binaries: {
        "nats-server@2.11.17": { command: "nats-server", module: "github.com/nats-io/nats-server/v2", version: "v2.11.17" },
        "nats-server@2.10": { command: "nats-server", module: "github.com/nats-io/nats-server/v2", version: "v2.10.29" },
      },
    },
    versions,
  );
  assert.deepEqual(issues, [
    'binaries.nats-server@2.10: key must be "nats-server@2.10.29"',
    'jetstreamVersions.latest: 2.10.29 is not a pinned nats-server (no binaries."nats-server@2.10.29")',
    'jetstreamVersions.2.9: 2.9.25 is not a pinned nats-server (no binaries."nats-server@2.9.25")',
    "jetstreamVersions.latest: must be the first nats-server listed in binaries (2.11.17), got 2.10.29",
    'stanVersions.latest: 0.25.6 is not a pinned nats-streaming-server (no binaries."nats-streaming-server@0.25.6")',
    "binaries.nats-server@2.11.17: no jetstreamVersions entry names it",
  ]);
  // The server that latest names is what `make up` builds: it must be in group bus.
  const notInBus = checkBinariesTable(
    { goMinimum: "1.26.0", binaries: { "nats-server@2.10.29": { command: "nats-server", module: "github.com/nats-io/nats-server/v2", version: "v2.10.29" } } },
    { jetstreamVersions: { latest: "2.10.29" }, stanVersions: {} },
  );
  assert.deepEqual(notInBus, ['binaries.nats-server@2.10.29: must be in group "bus" (jetstreamVersions.latest names it)']);
  assert.deepEqual(checkBinariesTable({ binaries: {} }).length > 0, true, "a schema violation is an issue");
});

test("tools - the bus group is only the nats-server that latest runs, and the installer's --check --group bus finds it", async () => {
  const bus = pinnedBinaries([ToolGroup.Bus]);
  assert.deepEqual(
    bus.map((b) => b.id),
    [`${NATS_SERVER}@${resolveJetStreamVersion("latest").serverVersion}`],
  );
  assert.deepEqual(
    pinnedBinaries([ToolGroup.Nats]).map((b) => b.id),
    ["nats-server@2.11.17", "nats@0.5.0", "nats-streaming-server@0.25.6"],
  );
  assert.equal(pinnedBinaries(Object.values(ToolGroup)).length, pinnedBinaries().length, "the groups cover every binary");
  const { stderr } = await execFileAsync(process.execPath, ["--import", "tsx", "scripts/install-tools.ts", "--check", "--group", ToolGroup.Bus], {
    cwd: projectRoot(),
  });
  assert.equal(stderr.trim(), "tools: all present (1 binaries)");
});

test("tools - findBinary of an unpinned version throws MissingBinaryError with the install hint", () => {
  assert.throws(
    () => findBinary(NATS_SERVER, "9.9.9"),
    (err: unknown) => {
      assert.ok(err instanceof MissingBinaryError);
      assert.ok(isToolsError(err, ToolsErrorCode.missingBinary));
      assert.equal(err.code, "MISSING_BINARY");
      assert.equal(err.name, "MissingBinaryError");
      assert.equal(err.version, "9.9.9");
      assert.ok(err.message.includes(INSTALL_HINT), err.message);
      assert.ok(err.message.includes("run `make tools` (or `npx tsx scripts/install-tools.ts`)"), err.message);
      assert.ok(err.message.includes("9.9.9 is not pinned (pinned: 2.10.29, 2.11.17"), err.message);
      return true;
    },
  );
});

test("tools - an empty EVENTBUS_TOOLS_DIR makes a pinned binary missing, naming where it looked", async () => {
  const dir = await mkdtemp(join(tmpdir(), "eventbus-tools-empty-"));
  const saved = process.env[TOOLS_DIR_ENV];
  process.env[TOOLS_DIR_ENV] = dir;
  try {
    assert.throws(
      () => findBinary(NATS_SERVER, "2.10.29"),
      (err: unknown) => {
        assert.ok(err instanceof MissingBinaryError);
        assert.deepEqual(err.searched, [join(dir, "bin", "nats-server-2.10.29"), join(dir, "bin", "nats-server")]);
        assert.ok(err.message.includes(INSTALL_HINT));
        return true;
      },
    );
  } finally {
    if (saved === undefined) delete process.env[TOOLS_DIR_ENV];
    else process.env[TOOLS_DIR_ENV] = saved;
    await rm(dir, { recursive: true, force: true });
  }
});

test("tools - compareVersions orders dotted versions numerically", () => {
  assert.equal(compareVersions("1.26.8", "1.26.0"), 1);
  assert.equal(compareVersions("1.9", "1.26.0"), -1);
  assert.equal(compareVersions("1.26", "1.26.0"), 0);
  assert.equal(compareVersions("1.27rc1", "1.26.0"), 1);
});

test("tools - make tools (what make test and CI run) builds the bus, nats and kube groups, and leaves node to make tools-node", async () => {
  assert.deepEqual(await makeTargetGroups("tools"), [ToolGroup.Bus, ToolGroup.Nats, ToolGroup.Kube]);
  assert.deepEqual(await makeTargetGroups("tools-node"), [ToolGroup.Node]);
});

test("tools - every binary of make tools is installed and its --version names the pinned version", async () => {
  for (const binary of pinnedBinaries(await makeTargetGroups("tools"))) {
    const path = findBinary(binary.command, binary.version);
    const { stdout, stderr } = await execFileAsync(path, ["--version"]);
    assert.ok(`${stdout}${stderr}`.includes(binary.version), `${path} --version printed ${stdout}${stderr}`);
    if (binary.isDefault) {
      assert.equal(findBinary(binary.command, binary.version), path);
      const { stdout: out, stderr: err } = await execFileAsync(findBinary(binary.command), ["--version"]);
      assert.ok(`${out}${err}`.includes(binary.version), `unversioned ${binary.command} is ${binary.version}`);
    }
  }
});

test("tools - the installer's --check finds everything of make tools present", async () => {
  const groups = await makeTargetGroups("tools");
  const { stderr } = await execFileAsync(
    process.execPath,
    ["--import", "tsx", "scripts/install-tools.ts", "--check", ...groups.flatMap((g) => ["--group", g])],
    {
      cwd: projectRoot(),
    },
  );
  assert.equal(stderr.trim(), `tools: all present (${pinnedBinaries(groups).length} binaries)`);
});

test("tools - the node group pins a single-node Kubernetes, the CNI plugins linked apart in cni/bin", async () => {
  const node = pinnedBinaries([ToolGroup.Node]);
  assert.deepEqual(
    node.map((b) => b.id),
    [
      "kubelet@1.36.3",
      "kube-controller-manager@1.36.3",
      "kube-scheduler@1.36.3",
      "kube-proxy@1.36.3",
      "containerd@2.4.2",
      "containerd-shim-runc-v2@2.4.2",
      "ctr@2.4.2",
      "runc@1.5.3",
      "bridge@1.10.0",
      "host-local@1.10.0",
      "loopback@1.10.0",
      "portmap@1.10.0",
      "coredns@1.15.0",
    ],
  );
  // bridge and loopback are generic names (iproute2 has a bridge): they stay off .tools/bin, on $PATH.
  const cni = ["bridge", "host-local", "loopback", "portmap"];
  for (const b of node) assert.equal(b.linkDir, cni.includes(b.command) ? "cni/bin" : "bin", b.id);
  assert.equal(toolLinkDir(pinnedBinary("bridge")!), join(dirname(toolsBinDir()), "cni", "bin"));
  // runc without cgo lacks nsenter and cannot start a container.
  assert.equal(pinnedBinary("runc")?.cgo, true);

  // The node components come from the release of kube-apiserver, in a module of their own.
  const kube = node.filter((b) => b.module.startsWith("k8s.io/kubernetes/cmd/"));
  assert.deepEqual(
    kube.map((b) => b.command),
    ["kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy"],
  );
  const apiserver = pinnedBinary(KUBE_APISERVER)!;
  for (const b of kube) {
    assert.equal(b.goModuleDir, "tools/kube/node", b.id);
    assert.equal(b.moduleVersion, apiserver.moduleVersion, `${b.id} is the release of kube-apiserver`);
    assert.deepEqual(b.ldflags, apiserver.ldflags, `${b.id} stamps its version as kube-apiserver does`);
  }
  const mod = await readFile(join(projectRoot(), "tools", "kube", "node", "go.mod"), "utf8");
  assert.match(mod, new RegExp(`^\\tk8s\\.io/kubernetes ${apiserver.moduleVersion.replaceAll(".", "\\.")}\\b`, "m"));
  const staging = apiserver.moduleVersion.replace(/^v1\./, "v0.");
  const replaced = [...mod.matchAll(/^\t(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
  assert.ok(replaced.length >= 30, `found ${replaced.length} replace lines`);
  for (const [, from, to, version] of replaced) assert.deepEqual([to, version], [from, staging], from);
  for (const command of ["kubelet", "kube-controller-manager", "kube-scheduler"]) {
    assert.match(mod, new RegExp(`^\\tk8s\\.io/kubernetes/cmd/${command}$`, "m"), `tools/kube/node/go.mod names ${command} as a tool`);
  }
});

test("tools - a missing node binary is looked for in its link dir and names make tools-node", async () => {
  const dir = await mkdtemp(join(tmpdir(), "eventbus-tools-empty-"));
  const saved = process.env[TOOLS_DIR_ENV];
  process.env[TOOLS_DIR_ENV] = dir;
  try {
    assert.throws(
      () => findBinary("bridge", "1.10.0"),
      (err: unknown) => {
        assert.ok(err instanceof MissingBinaryError);
        assert.deepEqual(err.searched, [join(dir, "cni", "bin", "bridge-1.10.0"), join(dir, "cni", "bin", "bridge")]);
        assert.match(err.message, /it is in the node group, which `make tools` does not build: run `make tools-node`/);
        return true;
      },
    );
  } finally {
    if (saved === undefined) delete process.env[TOOLS_DIR_ENV];
    else process.env[TOOLS_DIR_ENV] = saved;
    await rm(dir, { recursive: true, force: true });
  }
});

test("tools - a binaries table with a bad build field is refused, naming the field", () => {
  const entry = { command: "runc", module: "github.com/opencontainers/runc", version: "v1.5.3", group: "node" };
  const issues = (fields: Record<string, unknown>) =>
    checkBinariesTable({ goMinimum: "1.26.0", binaries: { "runc@1.5.3": { ...entry, ...fields } } }, { jetstreamVersions: {}, stanVersions: {} });
  assert.deepEqual(issues({ cgo: true, tags: ["seccomp"], buildNeeds: "libseccomp-dev", linkDir: "cni/bin" }), []);
  const cases: [Record<string, unknown>, string][] = [
    [{ linkDir: "../bin" }, "/binaries/runc@1.5.3/linkDir"],
    [{ linkDir: "/usr/bin" }, "/binaries/runc@1.5.3/linkDir"],
    [{ tags: ["seccomp apparmor"] }, "/binaries/runc@1.5.3/tags/0"],
    [{ cgo: "yes" }, "/binaries/runc@1.5.3/cgo"],
    [{ buildNeeds: "" }, "/binaries/runc@1.5.3/buildNeeds"],
    [{ group: "kubelet" }, "/binaries/runc@1.5.3/group"],
  ];
  for (const [fields, path] of cases) {
    const found = issues(fields);
    assert.ok(found.length > 0 && found.every((issue) => issue.startsWith(`${path}: `)), `${JSON.stringify(fields)}: ${found.join("; ")}`);
  }
});

test("tools - the installer removes a stale link into the cache from the other link dirs too (cni/bin)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "eventbus-tools-stale-"));
  try {
    const stale = join(dir, "cni", "bin", "flannel");
    await mkdir(dirname(stale), { recursive: true });
    await symlink(join(sharedCacheDir(), "flannel@0.1.0", "flannel"), stale);
    const { stderr } = await execFileAsync(process.execPath, ["--import", "tsx", "scripts/install-tools.ts", "--group", ToolGroup.Bus], {
      cwd: projectRoot(),
      env: { ...process.env, [TOOLS_DIR_ENV]: dir },
    });
    assert.match(stderr, new RegExp(`^tools: removed stale link ${stale.replaceAll(".", "\\.")}$`, "m"));
    assert.deepEqual(await readdir(join(dir, "cni", "bin")), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

for (const binary of pinnedBinaries().filter((b) => b.command === NATS_SERVER)) {
  test(`tools - nats-server ${binary.version} starts with JetStream on free ports and reports healthy`, async () => {
    let pid: number;
    let dir: string;
    {
      await using srv = await startNatsServer({ version: binary.version, args: ["-js"] });
      ({ pid, dir } = srv);
      assert.match(srv.clientUrl, /^nats:\/\/127\.0\.0\.1:\d+$/);

      const health = await fetch(`${srv.monitorUrl}/healthz?js-enabled-only=true`);
      assert.equal(health.status, 200, await health.text());

      const varz = (await (await fetch(`${srv.monitorUrl}/varz`)).json()) as {
        version: string;
        jetstream: { config?: { store_dir: string } };
      };
      assert.equal(varz.version, binary.version);
      assert.ok(varz.jetstream.config?.store_dir.startsWith(srv.dir), "JetStream stores in the server's temp dir");
    }
    assert.equal(isAlive(pid), false, "the server is gone after dispose");
    assert.equal(existsSync(dir), false, "its temp dir is removed");
  });
}

test("tools - nats-streaming-server 0.25.6 starts in memory on free ports and stops cleanly", async () => {
  const stan = await startStreamingServer({ version: "0.25.6", clusterId: "eventbus-test" });
  try {
    assert.ok(stan.logs().includes("Streaming Server is ready"));
    const res = await fetch(`${stan.monitorUrl}/streaming/serverz`);
    assert.equal(res.status, 200);
    const serverz = (await res.json()) as { cluster_id: string; version: string };
    assert.equal(serverz.cluster_id, "eventbus-test");
    assert.equal(serverz.version, "0.25.6");
  } finally {
    const exit = await stan.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, stan.logs());
  }
  assert.equal(isAlive(stan.pid), false);
  assert.equal(existsSync(stan.dir), false);
});

test("tools - the nats CLI publishes to and checks a started server", async () => {
  await using srv = await startNatsServer({ args: ["-js"] });
  const home = await mkdtemp(join(tmpdir(), "eventbus-nats-cli-"));
  try {
    // The CLI may write contexts under $XDG_CONFIG_HOME; keep the user's home untouched.
    const env = { ...process.env, XDG_CONFIG_HOME: home, HOME: home };
    const nats = findBinary(NATS_CLI, pinnedBinary(NATS_CLI)?.version);
    const pub = await execFileAsync(nats, ["--server", srv.clientUrl, "pub", "eventbus.test", "hello"], { env });
    assert.match(pub.stderr, /Published 5 bytes to "eventbus.test"/);
    const check = await execFileAsync(nats, ["--server", srv.clientUrl, "server", "check", "jetstream"], { env });
    assert.match(check.stdout, /^OK JetStream/);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test("tools harness - a server that exits before it is ready rejects with its output", async () => {
  await assert.rejects(startNatsServer({ args: ["--no-such-flag"] }), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, /nats-server-2\.10\.29 exited \(code \d+\) before it was ready/);
    assert.match(err.message, /no-such-flag/);
    return true;
  });
});

test("tools - make runs the suite on a maintained Node.js, the one the bootstrap chose", async () => {
  const { minimumMajor } = await nodePins();
  assert.ok(
    nodeMajor(process.versions.node) >= minimumMajor,
    `the tests run on node ${process.versions.node}; run them through make, which puts a Node >= ${minimumMajor} first on PATH`,
  );
});

test("tools - the Node bootstrap links the pinned Node when the machine's is too old, and a second run changes nothing", async () => {
  const { minimumMajor, version } = await nodePins();
  const { stdout: machineVersion } = await execFileAsync("node", ["--version"], { env: { ...process.env, PATH: machinePath() } });
  const dir = await mkdtemp(join(tmpdir(), "eventbus-node-bootstrap-"));
  try {
    const link = join(dir, "bin", "node");
    const first = await bootstrapNode(dir);
    if (nodeMajor(machineVersion) >= minimumMajor) {
      assert.match(first, /^node: using the machine's \S+ \(v\d+/m);
      assert.equal(existsSync(link), false, "no link: the machine's node runs");
      return;
    }
    // GIVEN a machine's node older than the minimum (CI's Node 20): the pinned one is linked.
    const cached = join(sharedCacheDir(), `node@${version}`, "bin", "node");
    assert.match(first, new RegExp(`^node: linked ${link} -> ${cached}$`, "m"));
    assert.equal(await readlink(link), cached);
    const { stdout: linked } = await execFileAsync(link, ["--version"]);
    assert.equal(linked.trim(), `v${version}`);
    const before = await lstat(link);

    // WHEN it runs again THEN it says which node is used and touches nothing.
    const second = await bootstrapNode(dir);
    assert.equal(second.trim(), `node: using ${link} (v${version}; the machine's node is ${machineVersion.trim()}, older than ${minimumMajor})`);
    const after = await lstat(link);
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], "the link is the same file");

    // A machine's node of the minimum or newer (here the pinned one, first on PATH) runs as it is,
    // and the link that would hide it goes.
    const newer = await bootstrapNode(dir, { PATH: `${dirname(cached)}${delimiter}${machinePath()}` });
    assert.match(newer, new RegExp(`^node: removed ${link}: the machine's node is new enough$`, "m"));
    assert.match(newer, new RegExp(`^node: using the machine's ${cached} \\(v${version.replaceAll(".", "\\.")}\\)$`, "m"));
    assert.equal(existsSync(link), false);
    // The installer leaves a node link into the cache alone (it is no pinned binary's, and not stale).
    await bootstrapNode(dir);
    const { stderr } = await execFileAsync(process.execPath, ["--import", "tsx", "scripts/install-tools.ts", "--group", ToolGroup.Bus], {
      cwd: projectRoot(),
      env: { ...process.env, [TOOLS_DIR_ENV]: dir },
    });
    assert.doesNotMatch(stderr, /removed stale link/);
    assert.equal(await readlink(link), cached);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("tools - the Node bootstrap fetches the pinned Node into an empty cache and leaves no temp dir", async () => {
  const { minimumMajor, version } = await nodePins();
  const { stdout: machineVersion } = await execFileAsync("node", ["--version"], { env: { ...process.env, PATH: machinePath() } });
  const home = await mkdtemp(join(tmpdir(), "eventbus-node-cache-"));
  try {
    const out = await bootstrapNode(join(home, "tools"), { XDG_CACHE_HOME: join(home, "cache") });
    const cache = join(home, "cache", "eventbus", "tools");
    if (nodeMajor(machineVersion) >= minimumMajor) {
      assert.equal(existsSync(cache), false, "nothing fetched for a new enough machine's node");
      return;
    }
    assert.match(out, new RegExp(`^node: installed Node ${version.replaceAll(".", "\\.")} in \\d+s$`, "m"));
    assert.deepEqual(await readdir(cache), [`node@${version}`], "only the entry: the temp dir it was unpacked in is gone");
    assert.deepEqual((await readdir(join(cache, `node@${version}`))).sort(), ["LICENSE", "bin"]);
    assert.equal(await readlink(join(home, "tools", "bin", "node")), join(cache, `node@${version}`, "bin", "node"));
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
