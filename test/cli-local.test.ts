import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isAlive } from "../src/platforms/local/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = join(root, "src/cli/main.ts");

let home: string;
before(async () => {
  home = await mkdtemp(join(tmpdir(), "eventbus-cli-local-"));
});
after(async () => {
  await cli(["down", "clibus"]).catch(() => undefined);
  await cli(["down", "fg"]).catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

function cli(args: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", main, ...args],
      { cwd: root, env: { ...process.env, EVENTBUS_HOME: home } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

const MANIFEST = `apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata:
  name: clibus
spec:
  jetstream:
    version: "2.10"
    replicas: 3
    auth: token
    persistence: {volumeSize: 1Gi}
`;

describe("cli - the local platform", () => {
  test("up, status, credentials, list, logs and down as a user types them", async () => {
    const file = join(home, "bus.yaml");
    await writeFile(file, MANIFEST);

    const up = await cli(["up", "-f", file, "-o", "json"]);
    assert.equal(up.code, 0, up.stderr);
    const summary = JSON.parse(up.stdout) as { name: string; action: string; urls: string[]; auth: string; caFile: string };
    assert.equal(summary.name, "clibus");
    assert.equal(summary.action, "created");
    assert.equal(summary.urls.length, 3);
    assert.match(up.stderr, /starting bus clibus: 3 server\(s\), nats-server 2\.10\.29, auth token, TLS on, persistent store/);
    assert.match(up.stderr, /eventbus-clibus-js-\d healthy \(3\/3, client port \d+\)/);

    const again = await cli(["up", "-f", "-"], MANIFEST);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^bus clibus is up to date \(generation 1\)/);

    const status = await cli(["status", "clibus", "-o", "json"]);
    assert.equal(status.code, 0);
    const report = JSON.parse(status.stdout) as {
      healthy: boolean;
      servers: { phase: string }[];
      streams: { name: string }[];
      persistent: boolean;
      problems: string[];
      consumers: unknown[];
    };
    assert.equal(report.healthy, true);
    // The bus's snapshot: nothing needs attention, and no sensor consumes yet.
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.consumers, []);
    assert.deepEqual(
      report.servers.map((s) => s.phase),
      ["healthy", "healthy", "healthy"],
    );
    assert.deepEqual(
      report.streams.map((s) => s.name),
      ["default"],
    );
    const text = await cli(["status", "clibus"]);
    assert.match(text.stdout, /^bus clibus: healthy, 3 server\(s\), version 2\.10 \(nats-server 2\.10\.29\), generation 1/);
    assert.match(text.stdout, /\nmetrics: http:\/\/127\.0\.0\.1:\d+\/metrics \(Prometheus text\)\n/);

    // The token is never printed unless asked for
    const token = (JSON.parse(await readFile(join(home, "buses/clibus/secrets/credentials.json"), "utf8")) as { token: string }).token;
    const hidden = await cli(["credentials", "clibus"]);
    assert.equal(hidden.code, 0);
    assert.match(hidden.stdout, /token: {6}\(hidden; add --show-secrets\)/);
    for (const run of [up, again, status, text, hidden]) assert.doesNotMatch(run.stdout + run.stderr, new RegExp(token));
    const shown = await cli(["credentials", "clibus", "--show-secrets", "-o", "json"]);
    const creds = JSON.parse(shown.stdout) as { token: string; statusConfig: { jetstream: { url: string; accessSecret: { name: string; key: string } } } };
    assert.equal(creds.token, token);
    assert.equal(creds.statusConfig.jetstream.url, summary.urls.join(","));
    assert.deepEqual(creds.statusConfig.jetstream.accessSecret, { name: "eventbus-clibus-js-client-auth", key: "client-auth" });
    assert.equal(await readFile(join(home, "buses/clibus/secrets/auth.yaml"), "utf8"), `token: "${token}"\n`);

    const list = await cli(["list"]);
    assert.match(list.stdout, /^NAME\s+STATUS\s+REPLICAS\s+VERSION\s+STORAGE\s+PROBLEMS\nclibus\s+healthy\s+3\s+2\.10\s+persistent\s+0\n$/);

    const logs = await cli(["logs", "clibus", "--server", "1", "--tail", "5"]);
    assert.match(logs.stdout, /^==> eventbus-clibus-js-1 \(.*server\.log\) <==\n/);
    const lines = logs.stdout.trimEnd().split("\n").slice(1);
    assert.equal(lines.length, 5);
    for (const line of lines) assert.match(line, /^\[\d+\] \d{4}\/\d\d\/\d\d [\d:.]+ \[(INF|WRN|DBG|ERR)\] /);

    const refused = await cli(["down", "clibus", "--purge"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--purge deletes every message, credential and certificate of bus clibus; add --yes to confirm/);

    // logs --follow prints what the servers write from now on: here, their lame-duck shutdown
    const follower = spawn(process.execPath, ["--import", "tsx", main, "logs", "clibus", "--follow", "--tail", "0"], {
      cwd: root,
      env: { ...process.env, EVENTBUS_HOME: home },
    });
    let followed = "";
    follower.stdout.on("data", (chunk: Buffer) => (followed += chunk.toString()));
    const followerExited = new Promise<number | null>((r) => follower.once("exit", (code) => r(code)));
    for (let i = 0; i < 100 && !followed.includes("==> eventbus-clibus-js-2"); i++) await new Promise((r) => setTimeout(r, 50));

    const down = await cli(["down", "clibus"]);
    assert.equal(down.code, 0, down.stderr);
    for (let i = 0; i < 100 && !/eventbus-clibus-js-\d \| .*lame duck/i.test(followed); i++) await new Promise((r) => setTimeout(r, 50));
    follower.kill("SIGINT");
    assert.equal(await followerExited, 0);
    assert.match(followed, /eventbus-clibus-js-\d \| \[\d+\] .*lame duck/i);
    assert.equal(down.stdout, "bus clibus stopped; its data is kept\n");
    const stopped = await cli(["status", "clibus"]);
    assert.match(stopped.stdout, /^bus clibus: stopped/);
    const purged = await cli(["down", "clibus", "--purge", "--yes"]);
    assert.equal(purged.stdout, "bus clibus was not running; its data was deleted\n");
    const gone = await cli(["status", "clibus"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^eventbus: no local bus named clibus/);
  });

  test("up with an invalid manifest exits 2 and creates nothing; another mode exits 1", async () => {
    const invalid = await cli(["up", "-f", "-"], MANIFEST.replace("replicas: 3", "replicas: 2").replace("clibus", "nothing"));
    assert.equal(invalid.code, 2);
    assert.equal(invalid.stderr, "spec.jetstream.replicas: must be 1 or >= 3, got 2\n1 issue(s); nothing was changed\n");
    assert.equal((await cli(["list", "-o", "json"])).stdout.includes("nothing"), false);
    const timeout = await cli(["up", "--timeout", "soon"]);
    assert.equal(timeout.code, 2);
    assert.equal(timeout.stderr, 'eventbus: --timeout: must be a number of seconds > 0, got "soon"\n');
    const exotic = await cli(["up", "-f", "examples/exotic.yaml"]);
    assert.equal(exotic.code, 1);
    assert.match(
      exotic.stderr,
      /eventbus up runs managed buses \(spec\.jetstream, or spec\.nats\.native for NATS Streaming\); jetstreamExotic is an external bus that runs elsewhere/,
    );
  });

  test("up --foreground keeps the supervisor attached and Ctrl-C stops the bus", async () => {
    const manifest = MANIFEST.replace("clibus", "fg").replace("replicas: 3", "replicas: 1");
    const child = spawn(process.execPath, ["--import", "tsx", main, "up", "-f", "-", "--foreground"], {
      cwd: root,
      env: { ...process.env, EVENTBUS_HOME: home },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end(manifest);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    for (let i = 0; i < 300 && !stderr.includes("press Ctrl-C to stop the bus"); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /press Ctrl-C to stop the bus/);
    // The servers' own log lines of this run follow, labelled with the server
    for (let i = 0; i < 100 && !/eventbus-fg-js-0 \| \[\d+\] .*Server is ready/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /eventbus-fg-js-0 \| \[\d+\] .*Server is ready/);
    const pid = Number((await readFile(join(home, "buses/fg/servers/0/nats-server.pid"), "utf8")).trim());
    assert.equal(isAlive(pid), true);
    child.kill("SIGINT");
    assert.equal(await exited, 0);
    assert.match(stderr, /stopping all servers \(lame duck\)/);
    assert.equal(isAlive(pid), false, "the server stopped with the supervisor");
  });
});
