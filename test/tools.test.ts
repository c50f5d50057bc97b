import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  NATS_CLI,
  NATS_SERVER,
  NATS_STREAMING_SERVER,
  pinnedBinaries,
  pinnedBinary,
  projectRoot,
  sharedCacheDir,
  ToolGroup,
  TOOLS_DIR_ENV,
  ToolsErrorCode,
} from "../src/tools/index.js";
import { resolveJetStreamVersion, versionsTable } from "../src/versions/index.js";
import { startNatsServer, startStreamingServer } from "./helpers/index.js";

const execFileAsync = promisify(execFile);

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
  assert.equal(pinnedBinaries([ToolGroup.Bus, ToolGroup.Nats, ToolGroup.Kube]).length, pinnedBinaries().length, "the groups cover every binary");
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
      assert.ok(isToolsError(err, ToolsErrorCode.MissingBinary));
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

test("tools - every pinned binary is installed and its --version names the pinned version", async () => {
  for (const binary of pinnedBinaries()) {
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

test("tools - the installer's --check finds everything present", async () => {
  const { stderr } = await execFileAsync(process.execPath, ["--import", "tsx", "scripts/install-tools.ts", "--check"], {
    cwd: projectRoot(),
  });
  assert.equal(stderr.trim(), `tools: all present (${pinnedBinaries().length} binaries)`);
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
