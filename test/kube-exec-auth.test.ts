/**
 * kubeconfig `exec` credential plugins, against a real kube-apiserver that accepts static tokens
 * and client certificates of a test CA. The plugin is a small shell script written into a temp dir:
 * it appends a line to `runs` on every run, saves its `KUBERNETES_EXEC_INFO`, and prints
 * `response-<run>.json` when there is one, else `response.json` (and `stderr`, and exits with
 * `exit`, when those files exist).
 *
 * What is expected is client-go's behaviour, read in kubernetes/kubernetes under
 * `staging/src/k8s.io/client-go/`: `plugin/pkg/client/auth/exec/exec.go` (the run, the output
 * checks, the cache until expirationTimestamp, the rerun on 401, interactiveMode, the not-found
 * error with installHint), `tools/clientcmd/api/types.go` (ExecConfig), `tools/clientcmd/api/v1/defaults.go`
 * and `tools/clientcmd/validation.go` (interactiveMode defaults for v1beta1, required for v1),
 * `tools/clientcmd/loader.go` (a command with a path separator is relative to the kubeconfig's
 * directory), `tools/clientcmd/client_config.go` and `rest/exec.go` (spec.cluster and its config
 * from the `client.authentication.k8s.io/exec` extension), and
 * `pkg/apis/clientauthentication/v1/types.go` (ExecCredential).
 */
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { stringify } from "yaml";

import {
  ExecApiVersion,
  ExecCredentialSource,
  fromKubeconfig,
  KubeApiError,
  KubeClient,
  KubeConfigError,
  KubeExecPluginError,
  LeaderElector,
  Resources,
  type KubeConnection,
} from "../src/platforms/kubernetes/index.js";
import { CertificateUsage, createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../src/secrets/index.js";
import { runCliProcess } from "./helpers/cli-process.js";
import { serveEventBuses, startKubeApi, SYSTEM_MASTERS, type KubeApi } from "./helpers/kube-api.js";
import { waitFor } from "./helpers/process.js";

const PLUGIN_SCRIPT = `#!/bin/sh
d=$(dirname "$0")
echo run >> "$d/runs"
n=$(wc -l < "$d/runs" | tr -d ' ')
printf '%s' "$KUBERNETES_EXEC_INFO" > "$d/exec-info-$n.json"
printf '%s' "$EVENTBUS_TEST_PLUGIN_VAR" > "$d/var-$n"
printf '%s' "$PATH" > "$d/path-$n"
if [ -f "$d/stderr" ]; then cat "$d/stderr" >&2; fi
if [ -f "$d/sleep" ]; then sleep "$(cat "$d/sleep")"; fi
if [ -f "$d/response-$n.json" ]; then cat "$d/response-$n.json"; else cat "$d/response.json"; fi
if [ -f "$d/exit" ]; then exit "$(cat "$d/exit")"; fi
exit 0
`;

const TOKEN_USER = "exec-token-user";
const CERT_USER = "exec-cert-user";
const NS = "events";

let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "eventbus-kube-exec-"));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

interface KubeconfigOptions {
  readonly server?: string;
  readonly caPem?: string;
  readonly apiVersion?: string;
  /** null leaves it out. @default "Never" */
  readonly interactiveMode?: string | null;
  readonly provideClusterInfo?: boolean;
  /** @default "./plugin.sh", relative to the kubeconfig's dir */
  readonly command?: string;
  readonly args?: readonly string[];
  readonly env?: readonly { name: string; value: string }[];
  readonly installHint?: string;
  readonly extension?: unknown;
  /** More fields of the user besides `exec`. */
  readonly user?: Record<string, unknown>;
}

/** A plugin in its own dir, with a kubeconfig beside it that runs it as `./plugin.sh`. */
class Plugin {
  readonly kubeconfigPath: string;

  private constructor(readonly dir: string) {
    this.kubeconfigPath = join(dir, "kubeconfig");
  }

  static async create(name: string, options: KubeconfigOptions = {}): Promise<Plugin> {
    const dir = join(work, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "plugin.sh"), PLUGIN_SCRIPT);
    await chmod(join(dir, "plugin.sh"), 0o755);
    const plugin = new Plugin(dir);
    await plugin.writeKubeconfig(options);
    return plugin;
  }

  async writeKubeconfig(options: KubeconfigOptions): Promise<void> {
    const exec = {
      command: options.command ?? "./plugin.sh",
      apiVersion: options.apiVersion ?? ExecApiVersion.v1,
      ...(options.interactiveMode !== null && { interactiveMode: options.interactiveMode ?? "Never" }),
      ...(options.args && { args: options.args }),
      ...(options.env && { env: options.env }),
      ...(options.provideClusterInfo !== undefined && { provideClusterInfo: options.provideClusterInfo }),
      ...(options.installHint !== undefined && { installHint: options.installHint }),
    };
    const cluster = {
      server: options.server ?? "https://127.0.0.1:6443",
      ...(options.caPem !== undefined && { "certificate-authority-data": Buffer.from(options.caPem).toString("base64") }),
      ...(options.extension !== undefined && { extensions: [{ name: "client.authentication.k8s.io/exec", extension: options.extension }] }),
    };
    await writeFile(
      this.kubeconfigPath,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "test", cluster }],
        users: [{ name: "plugin-user", user: { exec, ...options.user } }],
        contexts: [{ name: "test", context: { cluster: "test", user: "plugin-user" } }],
        "current-context": "test",
      }),
    );
  }

  /** What the plugin prints: on run `run`, else on every run without its own response. */
  async respond(body: unknown, run?: number): Promise<void> {
    await writeFile(join(this.dir, run === undefined ? "response.json" : `response-${run}.json`), typeof body === "string" ? body : JSON.stringify(body));
  }

  async fail(exitCode: number, stderr: string): Promise<void> {
    await writeFile(join(this.dir, "exit"), String(exitCode));
    await writeFile(join(this.dir, "stderr"), stderr);
  }

  async runs(): Promise<number> {
    const text = await readFile(join(this.dir, "runs"), "utf8").catch(() => "");
    return text.split("\n").filter((l) => l !== "").length;
  }

  async execInfo(run: number): Promise<unknown> {
    return JSON.parse(await readFile(join(this.dir, `exec-info-${run}.json`), "utf8"));
  }

  async file(name: string): Promise<string> {
    return readFile(join(this.dir, name), "utf8");
  }

  connection(): KubeConnection {
    return fromKubeconfig(this.kubeconfigPath);
  }
}

const credential = (status: Record<string, unknown>, apiVersion: string = ExecApiVersion.v1) => ({ apiVersion, kind: "ExecCredential", status });

/** Who the API server takes the client for (SelfSubjectReview: every authenticated user may ask). */
async function whoAmI(client: KubeClient): Promise<string> {
  const review = await client.json<{ status: { userInfo: { username: string } } }>("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
    verb: "create",
    resource: "selfsubjectreviews",
    body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
  });
  return review.status.userInfo.username;
}

async function namespaceNames(client: KubeClient): Promise<string[]> {
  return (await client.list(Resources.namespace)).items.map((n) => n.metadata.name);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Reading the kubeconfig and running the plugin, without an API server.

test("kube exec config - a command with a path separator is relative to the kubeconfig's dir, v1beta1 defaults interactiveMode to IfAvailable, env and args are kept", async () => {
  const plugin = await Plugin.create("config-parse", {
    apiVersion: ExecApiVersion.v1beta1,
    interactiveMode: null,
    args: ["eks", "get-token"],
    env: [{ name: "AWS_PROFILE", value: "prod" }],
    installHint: "install it with\u001b[1m brew",
  });
  const exec = plugin.connection().exec;
  assert.deepEqual(exec, {
    source: plugin.kubeconfigPath,
    user: "plugin-user",
    command: join(plugin.dir, "plugin.sh"),
    args: ["eks", "get-token"],
    env: [{ name: "AWS_PROFILE", value: "prod" }],
    apiVersion: ExecApiVersion.v1beta1,
    interactiveMode: "IfAvailable",
    installHint: "install it withU+001B[1m brew",
  });
  await plugin.writeKubeconfig({ command: "aws" });
  assert.equal(plugin.connection().exec?.command, "aws", "a bare name is looked up in PATH");
  await plugin.writeKubeconfig({ command: "/usr/local/bin/aws" });
  assert.equal(plugin.connection().exec?.command, "/usr/local/bin/aws");
  await plugin.writeKubeconfig({ command: "bin/aws" });
  assert.equal(plugin.connection().exec?.command, join(plugin.dir, "bin/aws"));
  // A token beside exec wins, as in client-go (its exec authenticator steps aside for token or cert auth).
  await plugin.writeKubeconfig({ user: { token: "static-token" } });
  const both = plugin.connection();
  assert.equal(both.token, "static-token");
  assert.equal(both.exec, undefined);
});

test("kube exec config - v1 without interactiveMode, v1alpha1, an unknown mode, no command and an env without a name are refused naming the field; auth-provider points to exec plugins", async () => {
  const plugin = await Plugin.create("config-refused");
  const refused = async (options: KubeconfigOptions, field: string, problem: RegExp) => {
    await plugin.writeKubeconfig(options);
    assert.throws(
      () => plugin.connection(),
      (err: unknown) =>
        err instanceof KubeConfigError &&
        err.field === `users[plugin-user].user.${field}` &&
        problem.test(err.message) &&
        err.message.startsWith(plugin.kubeconfigPath),
      `${field}: ${problem}`,
    );
  };
  await refused({ interactiveMode: null }, "exec.interactiveMode", /must be set with client\.authentication\.k8s\.io\/v1: one of Never, IfAvailable, Always/);
  await refused(
    { apiVersion: "client.authentication.k8s.io/v1alpha1" },
    "exec.apiVersion",
    /v1alpha1 is no longer supported .*use client\.authentication\.k8s\.io\/v1 or client\.authentication\.k8s\.io\/v1beta1/,
  );
  await refused({ apiVersion: "" }, "exec.apiVersion", /is missing/);
  await refused({ interactiveMode: "Sometimes" }, "exec.interactiveMode", /"Sometimes" is not one of Never, IfAvailable, Always/);
  await refused({ command: "" }, "exec.command", /is missing/);
  await refused({ env: [{ name: "", value: "x" }] }, "exec.env[0].name", /must be set/);
  await writeFile(
    plugin.kubeconfigPath,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443" } }],
      users: [{ name: "gke", user: { "auth-provider": { name: "gcp", config: { "access-token": "ya29.secret" } } } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "gke" } }],
      "current-context": "c",
    }),
  );
  assert.throws(
    () => plugin.connection(),
    (err: unknown) =>
      err instanceof KubeConfigError &&
      err.field === "users[gke].user.auth-provider" &&
      /use an exec credential plugin instead \(gke-gcloud-auth-plugin for GKE, kubelogin for AKS and OIDC/.test(err.message) &&
      /client-go itself removed its gcp and azure auth providers/.test(err.message) &&
      !err.message.includes("ya29.secret"),
  );
});

test("kube exec - IfAvailable runs the plugin interactively when stdin is a terminal; Always without a terminal is refused before the plugin runs", async () => {
  const plugin = await Plugin.create("interactive", { interactiveMode: "IfAvailable" });
  await plugin.respond(credential({ token: "interactive-token-1234" }));
  const withTerminal = new ExecCredentialSource(plugin.connection().exec!, { stdinIsTerminal: true });
  assert.equal((await withTerminal.get()).token, "interactive-token-1234");
  assert.deepEqual(await plugin.execInfo(1), { kind: "ExecCredential", apiVersion: ExecApiVersion.v1, spec: { interactive: true } });

  const noTerminal = new ExecCredentialSource(plugin.connection().exec!, { stdinIsTerminal: false });
  await noTerminal.get();
  assert.deepEqual(await plugin.execInfo(2), { kind: "ExecCredential", apiVersion: ExecApiVersion.v1, spec: { interactive: false } });

  await plugin.writeKubeconfig({ interactiveMode: "Always" });
  const always = new ExecCredentialSource(plugin.connection().exec!, { stdinIsTerminal: false });
  await assert.rejects(
    always.get(),
    (err: unknown) =>
      err instanceof KubeExecPluginError &&
      /interactiveMode Always, but standard input is not a terminal/.test(err.message) &&
      err.message.includes("users[plugin-user].user.exec"),
  );
  assert.equal(await plugin.runs(), 2, "the plugin is not run without a terminal");
});

test("kube exec - output that is not a usable ExecCredential is an error naming the kubeconfig user and what is wrong, never the token", async () => {
  const plugin = await Plugin.create("bad-output");
  const secret = "secret-token-0123456789";
  const cases: [unknown, RegExp][] = [
    ["", /printed nothing on stdout/],
    [`token: ${secret}`, /printed something that is not JSON on stdout/],
    [[secret], /printed JSON that is not an object/],
    [{ apiVersion: ExecApiVersion.v1, kind: "Secret", status: { token: secret } }, /printed kind "Secret"; it must print kind ExecCredential/],
    [
      credential({ token: secret }, ExecApiVersion.v1beta1),
      /is configured to use apiVersion client\.authentication\.k8s\.io\/v1, but printed apiVersion "client\.authentication\.k8s\.io\/v1beta1"/,
    ],
    [{ apiVersion: ExecApiVersion.v1, kind: "ExecCredential" }, /printed an ExecCredential without a status/],
    [credential({}), /printed neither status\.token nor status\.clientCertificateData and status\.clientKeyData/],
    [credential({ clientCertificateData: "-----BEGIN CERTIFICATE-----\n" }), /printed only one of status\.clientCertificateData and status\.clientKeyData/],
    [credential({ clientCertificateData: "not a cert", clientKeyData: "not a key" }), /not a PEM certificate and a PEM private key/],
    [credential({ token: secret, expirationTimestamp: "tomorrow" }), /status\.expirationTimestamp "tomorrow", which is not an RFC 3339 time/],
    [credential({ token: 42 }), /printed status\.token that is not a string/],
  ];
  for (const [output, problem] of cases) {
    await plugin.respond(output);
    const source = new ExecCredentialSource(plugin.connection().exec!);
    await assert.rejects(
      source.get(),
      (err: unknown) =>
        err instanceof KubeExecPluginError &&
        err.message.startsWith(`${plugin.kubeconfigPath}: users[plugin-user].user.exec: plugin ${join(plugin.dir, "plugin.sh")} `) &&
        problem.test(err.message) &&
        !err.message.includes(secret),
      String(problem),
    );
  }
});

test("kube exec - a missing command shows the install hint; a plugin that does not finish in time is killed", async () => {
  const plugin = await Plugin.create("missing-and-slow", {
    command: "eventbus-test-no-such-plugin",
    installHint: "Install it with: apt-get install eventbus-test-plugin",
  });
  await assert.rejects(
    new ExecCredentialSource(plugin.connection().exec!).get(),
    (err: unknown) =>
      err instanceof KubeExecPluginError &&
      /plugin eventbus-test-no-such-plugin was not found: it looks like the credential plugin is not installed/.test(err.message) &&
      err.message.endsWith("\nInstall it with: apt-get install eventbus-test-plugin"),
  );

  await plugin.writeKubeconfig({});
  await plugin.respond(credential({ token: "slow-token-0123456789" }));
  await writeFile(join(plugin.dir, "sleep"), "15");
  await writeFile(join(plugin.dir, "stderr"), "waiting for the identity provider\n");
  const started = performance.now();
  await assert.rejects(
    new ExecCredentialSource({ ...plugin.connection().exec!, timeoutMs: 500 }).get(),
    (err: unknown) =>
      err instanceof KubeExecPluginError && /did not finish within 0\.5s and was killed; its stderr:\nwaiting for the identity provider$/.test(err.message),
  );
  assert.ok(performance.now() - started < 10_000, "the run is given up at its deadline, though the plugin's sleep still holds its pipes");
});

// ---------------------------------------------------------------------------------------------
// Against a real kube-apiserver.

describe("kube exec - credential plugins against kube-apiserver", { timeout: 240_000 }, () => {
  let api: KubeApi;
  let admin: KubeClient;
  let clientCa: CertificateAndKey;
  let userToken: string;

  before(async () => {
    // GIVEN a CA for client certificates, which kube-apiserver trusts instead of the harness's.
    clientCa = await createCertificateAuthority({ commonName: "eventbus-test-exec-client-ca", validityDays: 2 });
    const clientCaFile = join(work, "client-ca.crt");
    await writeFile(clientCaFile, clientCa.certPem);
    api = await startKubeApi({ users: [{ name: TOKEN_USER, groups: [SYSTEM_MASTERS] }], apiserverArgs: [`--client-ca-file=${clientCaFile}`] });
    userToken = api.users.get(TOKEN_USER)!.token;
    admin = new KubeClient(fromKubeconfig(api.kubeconfigPath));
    await admin.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `${CERT_USER}-cluster-admin` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: CERT_USER }],
    });
    await serveEventBuses(api, admin, NS);
  });

  after(async () => {
    admin?.close();
    await api?.stop();
  });

  const plugin = (name: string, options: KubeconfigOptions = {}) => Plugin.create(name, { server: api.url, caPem: api.caPem, ...options });

  test("kube exec - a v1 plugin's token lists namespaces; the plugin gets the kubeconfig's env over the parent's, and runs again only once the credential has expired", async () => {
    const p = await plugin("v1-token", { env: [{ name: "EVENTBUS_TEST_PLUGIN_VAR", value: "from-kubeconfig" }] });
    const expiresAt = Date.now() + 3_000;
    await p.respond(credential({ token: userToken, expirationTimestamp: new Date(expiresAt).toISOString() }));
    const client = new KubeClient(p.connection());
    try {
      // WHEN two requests go within the credential's lifetime
      assert.ok((await namespaceNames(client)).includes("kube-system"));
      assert.equal(await whoAmI(client), TOKEN_USER);
      // THEN the plugin ran once, with the kubeconfig's env, the parent's PATH, and an ExecCredential without a cluster
      assert.equal(await p.runs(), 1);
      assert.equal(await p.file("var-1"), "from-kubeconfig");
      assert.equal(await p.file("path-1"), process.env["PATH"]);
      assert.deepEqual(await p.execInfo(1), { kind: "ExecCredential", apiVersion: ExecApiVersion.v1, spec: { interactive: false } });

      // WHEN the credential has expired, THEN the next request runs the plugin again
      await p.respond(credential({ token: userToken }));
      await sleep(Math.max(0, expiresAt - Date.now()) + 200);
      assert.equal(await whoAmI(client), TOKEN_USER);
      assert.equal(await p.runs(), 2);
      // A credential without expirationTimestamp is kept: no more runs.
      await namespaceNames(client);
      assert.equal(await p.runs(), 2);
    } finally {
      client.close();
    }
  });

  test("kube exec - a v1beta1 plugin with provideClusterInfo gets spec.cluster (server, CA data, the exec extension's config) and its requests run it once between them", async () => {
    const p = await plugin("v1beta1-cluster-info", {
      apiVersion: ExecApiVersion.v1beta1,
      interactiveMode: null,
      provideClusterInfo: true,
      extension: { audience: "eventbus-test", region: "eu-west-1" },
    });
    await p.respond(credential({ token: userToken }, ExecApiVersion.v1beta1));
    const client = new KubeClient(p.connection());
    try {
      // Requests at the same time wait for the one run.
      const names = await Promise.all([1, 2, 3, 4, 5].map(() => whoAmI(client)));
      assert.deepEqual(names, Array(5).fill(TOKEN_USER));
      assert.equal(await p.runs(), 1);
      assert.deepEqual(await p.execInfo(1), {
        kind: "ExecCredential",
        apiVersion: ExecApiVersion.v1beta1,
        spec: {
          cluster: {
            server: api.url,
            "certificate-authority-data": Buffer.from(api.caPem).toString("base64"),
            config: { audience: "eventbus-test", region: "eu-west-1" },
          },
          interactive: false,
        },
      });
    } finally {
      client.close();
    }
  });

  test("kube exec - a client certificate from the plugin is the TLS client certificate: the API server takes the client for its CN", async () => {
    const cert = await issueCertificate(clientCa, { commonName: CERT_USER, usage: CertificateUsage.Client, validityDays: 1 });
    const p = await plugin("client-cert");
    await p.respond(credential({ clientCertificateData: cert.certPem, clientKeyData: cert.keyPem }));
    const client = new KubeClient(p.connection());
    try {
      assert.equal(await whoAmI(client), CERT_USER);
      assert.ok((await namespaceNames(client)).includes(NS));
      assert.equal(await p.runs(), 1);
    } finally {
      client.close();
    }
  });

  test("kube exec - a 401 runs the plugin once more and the request goes again with the new token; a token refused twice is a 401 error after one rerun", async () => {
    const p = await plugin("unauthorized-once");
    await p.respond(credential({ token: "wrong-token-0123456789" }), 1);
    await p.respond(credential({ token: userToken }));
    const client = new KubeClient(p.connection());
    try {
      assert.equal(await whoAmI(client), TOKEN_USER);
      assert.equal(await p.runs(), 2);
      await namespaceNames(client);
      assert.equal(await p.runs(), 2, "the new token is kept");
    } finally {
      client.close();
    }

    const refused = await plugin("unauthorized-always");
    await refused.respond(credential({ token: "wrong-token-0123456789" }));
    const refusedClient = new KubeClient(refused.connection());
    try {
      await assert.rejects(
        namespaceNames(refusedClient),
        (err: unknown) => err instanceof KubeApiError && err.status === 401 && !err.message.includes("wrong-token"),
      );
      assert.equal(await refused.runs(), 2);
    } finally {
      refusedClient.close();
    }
  });

  test("kube exec - a watch answered 401 is opened again with the new token; leader election fetches the credential for each request when it has expired", async () => {
    const p = await plugin("watch");
    await p.respond(credential({ token: "wrong-token-0123456789" }), 1);
    await p.respond(credential({ token: userToken }));
    const client = new KubeClient(p.connection());
    try {
      const abort = new AbortController();
      let seen: string | undefined;
      for await (const event of client.watch(Resources.namespace, { resourceVersion: "0", timeoutSeconds: 30 }, { signal: abort.signal })) {
        seen = event.object.metadata.name;
        break;
      }
      abort.abort();
      assert.ok(seen !== undefined, "the watch gave an event");
      assert.equal(await p.runs(), 2);
    } finally {
      client.close();
    }

    // A credential that is already expired is used once, then the plugin runs again for the next request.
    const lease = await plugin("lease");
    await lease.respond(credential({ token: userToken, expirationTimestamp: "2020-01-01T00:00:00Z" }));
    const leaseClient = new KubeClient(lease.connection());
    const elector = new LeaderElector(leaseClient, {
      namespace: NS,
      identity: "exec-plugin-candidate",
      leaseDurationMillis: 3_000,
      renewDeadlineMillis: 2_000,
      retryPeriodMillis: 500,
    });
    try {
      elector.start();
      await waitFor("the exec-authenticated candidate to lead", () => (elector.isLeader ? true : undefined), { timeoutMs: 20_000, intervalMs: 50 });
      const requests = await lease.runs();
      assert.ok(requests >= 2, `the Lease was read and created, a run each (${requests} runs)`);
    } finally {
      await elector.stop();
      leaseClient.close();
    }
    assert.ok((await admin.get(Resources.lease, NS, "eventbus-controller")) !== undefined, "the Lease was written");
  });

  test("kube exec - a plugin that exits non-zero fails the request with its exit code and stderr, naming the kubeconfig user, without the token it printed", async () => {
    const p = await plugin("failing");
    const token = "printed-before-failing-0123456789";
    await p.respond(credential({ token }));
    await p.fail(3, "error: the SSO session has expired; run aws sso login\n");
    const client = new KubeClient(p.connection());
    try {
      await assert.rejects(namespaceNames(client), (err: unknown) => {
        assert.ok(err instanceof KubeExecPluginError, String(err));
        assert.equal(err.exitCode, 3);
        assert.equal(err.stderr, "error: the SSO session has expired; run aws sso login");
        assert.equal(
          err.message,
          `${p.kubeconfigPath}: users[plugin-user].user.exec: plugin ${join(p.dir, "plugin.sh")} failed with exit code 3; its stderr:\nerror: the SSO session has expired; run aws sso login`,
        );
        assert.ok(!err.message.includes(token));
        return true;
      });
      // No credential is cached after a failure: the next request runs the plugin again.
      await assert.rejects(namespaceNames(client), KubeExecPluginError);
      assert.equal(await p.runs(), 2);
    } finally {
      client.close();
    }
  });

  test("kube exec - eventbus status --kube and install --apply work with an exec kubeconfig; a failing plugin exits 1 with its stderr and never the token", async () => {
    const p = await plugin("cli", { apiVersion: ExecApiVersion.v1beta1, interactiveMode: null });
    await p.respond(credential({ token: userToken }, ExecApiVersion.v1beta1));
    await admin.apply({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "default", namespace: NS },
      spec: { jetstream: { version: "2.10", replicas: 3 } },
    });
    const at = "2026-11-26T00:00:00Z";
    const patched = await api.request("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/eventbus/default/status`, {
      body: { status: { phase: "Running", conditions: [{ type: "Deployed", status: "True", reason: "Succeeded", lastTransitionTime: at }] } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(patched.status, 200, patched.text);

    const status = await runCliProcess(["status", "default", "--kube", "-n", NS, "--kubeconfig", p.kubeconfigPath], undefined, { timeoutMillis: 60_000 });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^eventbus events\/default: ready, phase Running\n/);
    assert.equal(await p.runs(), 1);

    const install = await runCliProcess(["install", "--namespace", "eventbus-exec-test", "--apply", "--kubeconfig", p.kubeconfigPath], undefined, {
      timeoutMillis: 60_000,
    });
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /customresourcedefinition\.apiextensions\.k8s\.io\/eventbus\.argoproj\.io serverside-applied/);
    assert.equal(await p.runs(), 2, "one run per CLI process");

    await p.fail(255, "An error occurred (ExpiredToken) when calling the AssumeRole operation\n");
    const failed = await runCliProcess(["status", "default", "--kube", "-n", NS, "--kubeconfig", p.kubeconfigPath], undefined, { timeoutMillis: 60_000 });
    assert.equal(failed.code, 1);
    assert.equal(
      failed.stderr,
      `eventbus: ${p.kubeconfigPath}: users[plugin-user].user.exec: plugin ${join(p.dir, "plugin.sh")} failed with exit code 255; its stderr:\neventbus: An error occurred (ExpiredToken) when calling the AssumeRole operation\n`,
    );
    assert.ok(!failed.stdout.includes(userToken) && !failed.stderr.includes(userToken));
  });
});
