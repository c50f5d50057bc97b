/**
 * A real Kubernetes API server for tests, like controller-runtime's envtest: etcd and
 * kube-apiserver (the pinned builds of `make tools`) on free loopback ports, in one temp dir, with
 * a generated CA and serving certificate, static bearer tokens and RBAC:
 *
 * ```ts
 * await using api = await startKubeApi();
 * const res = await api.request("GET", "/api/v1/namespaces");
 * // api.url, api.token, api.caFile, api.kubeconfigPath; api.restricted.token cannot read secrets
 * ```
 *
 * There is no controller manager and no scheduler: objects are stored and served, nothing acts on
 * them (a deleted namespace stays `Terminating`, a StatefulSet makes no pods). The ServiceAccount
 * admission plugin is off, since no controller creates the `default` service accounts.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { stringify } from "yaml";

import { eventBusCrd } from "../../src/api/index.js";
import type { KubeClient } from "../../src/platforms/kubernetes/index.js";
import { createCertificateAuthority, issueCertificate, CertificateUsage } from "../../src/secrets/index.js";
import { ETCD, findBinary, KUBE_APISERVER, MissingBinaryError, pinnedBinary } from "../../src/tools/index.js";
import { freePort } from "./ports.js";
import { spawnProcess, waitFor, type ExitInfo, type ManagedProcess } from "./process.js";

/** The group whose members may do anything (bound to `cluster-admin` by the bootstrap RBAC policy). */
export const SYSTEM_MASTERS = "system:masters";
/** The name of the admin user, a member of {@link SYSTEM_MASTERS}. */
export const ADMIN_USER = "eventbus-admin";
/** The name of the user with no rights beyond what every authenticated user has. */
export const RESTRICTED_USER = "eventbus-restricted";
/** The Service IP range; `10.0.0.1` is the `kubernetes` Service. */
export const SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24";

/** How long etcd may take to report healthy. @default 30 s */
const DEFAULT_ETCD_READY_TIMEOUT_MS = 30_000;
/** How long kube-apiserver may take until `/readyz` answers `ok`. @default 90 s */
const DEFAULT_READY_TIMEOUT_MS = 90_000;
/** How long a stopping process may take before SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;
/** How long one harness HTTP request may take. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Bytes of randomness in a static token. */
const TOKEN_BYTES = 24;

/** A user of the static token file. */
export interface KubeUser {
  readonly name: string;
  /** The bearer token, secret to the test. */
  readonly token: string;
  /** Groups besides `system:authenticated`, which every authenticated user has. */
  readonly groups: readonly string[];
  /** A kubeconfig for the API server with this user's token (current context). */
  readonly kubeconfigPath: string;
}

/** A user to add to the static token file. */
export interface KubeUserRequest {
  /** A user name; also the name of its kubeconfig file, so letters, digits, `-`, `.` and `:` only. */
  readonly name: string;
  /** @default [] */
  readonly groups?: readonly string[];
}

/** Options of {@link startKubeApi}. */
export interface KubeApiOptions {
  /** Users besides {@link ADMIN_USER} and {@link RESTRICTED_USER}. @default [] */
  readonly users?: readonly KubeUserRequest[];
  /** Extra kube-apiserver flags (`--name=value`), after the harness's own so that they override them. @default [] */
  readonly apiserverArgs?: readonly string[];
  /** How long kube-apiserver may take to become ready, at start and at each restart. @default 90_000 */
  readonly readyTimeoutMs?: number;
}

/** Options of {@link KubeApi.request}. */
export interface KubeRequestOptions {
  /** Sent as JSON unless a string. */
  readonly body?: unknown;
  /** The bearer token. @default the admin's; `null` sends none */
  readonly token?: string | null;
  /** @default "application/json" when there is a body */
  readonly contentType?: string;
}

/** An API server's answer. */
export interface KubeResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The body parsed as JSON. @throws when it is not JSON */
  json<T = unknown>(): T;
}

/** A running etcd and kube-apiserver; disposing stops both and removes the temp dir. */
export interface KubeApi extends AsyncDisposable {
  /** `https://127.0.0.1:<port>`; stays the same across {@link restart}. */
  readonly url: string;
  /** The admin's bearer token ({@link ADMIN_USER}, in {@link SYSTEM_MASTERS}). */
  readonly token: string;
  /** The PEM file of the CA that signed the serving certificate. */
  readonly caFile: string;
  /** The CA certificate, PEM. */
  readonly caPem: string;
  /** A kubeconfig with the server URL, the CA data and the admin's token. */
  readonly kubeconfigPath: string;
  readonly admin: KubeUser;
  /** A user with no groups but `system:authenticated`: RBAC forbids it nearly everything. */
  readonly restricted: KubeUser;
  /** Every static token user by name: the admin, the restricted user and those of {@link KubeApiOptions.users}. */
  readonly users: ReadonlyMap<string, KubeUser>;
  /** The etcd client URL, `http://127.0.0.1:<port>`. */
  readonly etcdUrl: string;
  /** The temp dir that holds etcd's data, the certificates, the token file and the kubeconfigs. */
  readonly dir: string;
  readonly etcd: ManagedProcess;
  /** The kube-apiserver process running now (another one after a {@link restart}). */
  apiserver(): ManagedProcess;
  /** kube-apiserver's log so far (of the current process). */
  logs(): string;
  /** Sends one HTTPS request that trusts only the harness's CA. */
  request(method: string, path: string, options?: KubeRequestOptions): Promise<KubeResponse>;
  /** Stops kube-apiserver (SIGTERM) and starts it again on the same port with the same etcd; resolves when ready. */
  restart(): Promise<void>;
  /** Stops kube-apiserver, then etcd, and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts etcd, then kube-apiserver, and resolves once `/readyz` answers `ok` to the admin token
 * (which includes RBAC's bootstrap roles and the default namespaces).
 * @throws {@link MissingBinaryError} (with the install hint) when etcd or kube-apiserver is not
 *   installed; an error with the process's output when one exits before it is ready or is not
 *   ready in time. Everything started so far is killed and the temp dir removed before it throws.
 */
export async function startKubeApi(options: KubeApiOptions = {}): Promise<KubeApi> {
  const etcdBinary = findPinned(ETCD);
  const apiserverBinary = findPinned(KUBE_APISERVER);
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  const dir = await mkdtemp(join(tmpdir(), "eventbus-kube-api-"));
  let etcd: ManagedProcess | undefined;
  try {
    const pki = join(dir, "pki");
    await mkdir(pki, { recursive: true });
    const nextPort = distinctFreePorts();
    const etcdClientPort = await nextPort();
    const etcdPeerPort = await nextPort();
    const securePort = await nextPort();
    const url = `https://127.0.0.1:${securePort}`;
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;

    // GIVEN the TLS material, the service-account key and the static token users.
    const ca = await createCertificateAuthority({ commonName: "eventbus-test-kube-ca", validityDays: 2 });
    const serving = await issueCertificate(ca, {
      commonName: "kube-apiserver",
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
      ipAddresses: ["127.0.0.1", firstServiceIp(SERVICE_CLUSTER_IP_RANGE)],
      usage: CertificateUsage.Server,
      validityDays: 2,
    });
    const serviceAccountKeys = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const files = {
      caFile: join(pki, "ca.crt"),
      certFile: join(pki, "apiserver.crt"),
      keyFile: join(pki, "apiserver.key"),
      serviceAccountKeyFile: join(pki, "service-account.key"),
      serviceAccountPublicKeyFile: join(pki, "service-account.pub"),
      tokenFile: join(dir, "tokens.csv"),
    };
    await writeFile(files.caFile, ca.certPem);
    await writeFile(files.certFile, serving.certPem, { mode: 0o600 });
    await writeFile(files.keyFile, serving.keyPem, { mode: 0o600 });
    await writeFile(files.serviceAccountKeyFile, serviceAccountKeys.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    // kube-apiserver reads verification keys from public-key or PKCS#1/SEC 1 PEM, not from PKCS#8.
    await writeFile(files.serviceAccountPublicKeyFile, serviceAccountKeys.publicKey.export({ type: "spki", format: "pem" }));

    const requests: KubeUserRequest[] = [{ name: ADMIN_USER, groups: [SYSTEM_MASTERS] }, { name: RESTRICTED_USER }, ...(options.users ?? [])];
    const users = new Map<string, KubeUser>();
    for (const req of requests) {
      // Plain names only: they go into a CSV file and a file name unquoted.
      const plain = /^[A-Za-z0-9][A-Za-z0-9.:-]*$/;
      if (!plain.test(req.name) || users.has(req.name) || !(req.groups ?? []).every((g) => plain.test(g))) {
        throw new Error(`kube harness: user ${JSON.stringify(req.name)} is given twice, or it or one of its groups is not a plain name`);
      }
      const user: KubeUser = {
        name: req.name,
        token: randomBytes(TOKEN_BYTES).toString("base64url"),
        groups: [...(req.groups ?? [])],
        kubeconfigPath: join(dir, `${req.name.replaceAll(":", "_")}.kubeconfig`),
      };
      users.set(user.name, user);
      await writeFile(user.kubeconfigPath, kubeconfig(url, ca.certPem, user), { mode: 0o600 });
    }
    await writeFile(files.tokenFile, tokenFile([...users.values()]), { mode: 0o600 });
    const admin = users.get(ADMIN_USER) as KubeUser;
    const restricted = users.get(RESTRICTED_USER) as KubeUser;

    // WHEN etcd is healthy, kube-apiserver starts against it.
    etcd = await spawnProcess(etcdBinary, etcdArgs(join(dir, "etcd"), etcdClientPort, etcdPeerPort), { cwd: dir });
    await waitUntilReady(etcd, "etcd", DEFAULT_ETCD_READY_TIMEOUT_MS, async () => {
      const res = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return res?.ok && ((await res.json()) as { health?: string }).health === "true" ? true : undefined;
    });

    const args = [...apiserverArgs({ securePort, etcdUrl, url, dir, ...files }), ...(options.apiserverArgs ?? [])];
    const send = (method: string, path: string, opts: KubeRequestOptions = {}) =>
      sendRequest(url, ca.certPem, method, path, { ...opts, token: opts.token === undefined ? admin.token : opts.token });
    const startApiserver = async (): Promise<ManagedProcess> => {
      const proc = await spawnProcess(apiserverBinary, args, { cwd: dir });
      try {
        await waitUntilReady(proc, "kube-apiserver", readyTimeoutMs, async () => {
          const res = await send("GET", "/readyz").catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        });
      } catch (err) {
        await proc.stop({ signal: "SIGKILL" });
        throw err;
      }
      return proc;
    };
    let current = await startApiserver();

    const started = etcd;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        await current.stop({ signal: "SIGTERM", timeoutMs: STOP_TIMEOUT_MS });
        await started.stop({ signal: "SIGTERM", timeoutMs: STOP_TIMEOUT_MS });
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    };
    return {
      url,
      token: admin.token,
      caFile: files.caFile,
      caPem: ca.certPem,
      kubeconfigPath: admin.kubeconfigPath,
      admin,
      restricted,
      users,
      etcdUrl,
      dir,
      etcd: started,
      apiserver: () => current,
      logs: () => current.output(),
      request: send,
      restart: async () => {
        if (stopping !== undefined) throw new Error("kube harness: restart after stop");
        await current.stop({ signal: "SIGTERM", timeoutMs: STOP_TIMEOUT_MS });
        try {
          current = await startApiserver();
        } catch (err) {
          await stop();
          throw err;
        }
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    // A kube-apiserver that did not get ready is already killed by startApiserver.
    await etcd?.stop({ signal: "SIGKILL" });
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The installed binary of the pinned version of `command`. @throws {@link MissingBinaryError} */
function findPinned(command: string): string {
  const pinned = pinnedBinary(command);
  if (pinned === undefined) {
    throw new MissingBinaryError(command, undefined, [], "it is not pinned in src/tools/binaries.json");
  }
  return findBinary(command, pinned.version);
}

/** Awaits `probe` while racing the process's early exit; the error carries the process's output. */
async function waitUntilReady(proc: ManagedProcess, name: string, timeoutMs: number, probe: () => Promise<true | undefined>): Promise<void> {
  const failWhen = proc.exited.then((exit): never => {
    throw new Error(`${name} exited (${describeExit(exit)}) before it was ready:\n${proc.output()}`);
  });
  try {
    await waitFor(`${name} to be ready`, probe, { timeoutMs, intervalMs: 100, failWhen });
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("timed out")) {
      throw new Error(`${err.message}; its output:\n${proc.output().slice(-8_000)}`, { cause: err });
    }
    throw err;
  }
}

function etcdArgs(dataDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    "--name=eventbus-test",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=eventbus-test=${peer}`,
    // A test's data need not survive a power cut; fsync on every write makes etcd slow on busy disks.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
}

interface ApiserverArgsInput {
  readonly securePort: number;
  readonly etcdUrl: string;
  readonly url: string;
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly serviceAccountKeyFile: string;
  readonly serviceAccountPublicKeyFile: string;
  readonly tokenFile: string;
}

function apiserverArgs(input: ApiserverArgsInput): string[] {
  return [
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${input.securePort}`,
    `--cert-dir=${join(input.dir, "pki")}`,
    `--tls-cert-file=${input.certFile}`,
    `--tls-private-key-file=${input.keyFile}`,
    `--client-ca-file=${input.caFile}`,
    `--etcd-servers=${input.etcdUrl}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    `--service-account-issuer=${input.url}`,
    `--service-account-key-file=${input.serviceAccountPublicKeyFile}`,
    `--service-account-signing-key-file=${input.serviceAccountKeyFile}`,
    `--token-auth-file=${input.tokenFile}`,
    "--authorization-mode=RBAC",
    // No controller manager creates the `default` ServiceAccount that this plugin demands of pods.
    "--disable-admission-plugins=ServiceAccount",
    // The `kubernetes` Service's endpoints would name 127.0.0.1, which endpoint validation rejects.
    "--endpoint-reconciler-type=none",
    "--allow-privileged=true",
    "--profiling=false",
  ];
}

/** Lines `token,user,uid,"group,…"` of kube-apiserver's `--token-auth-file`. */
function tokenFile(users: readonly KubeUser[]): string {
  return `${users.map((u) => [u.token, u.name, u.name, ...(u.groups.length > 0 ? [`"${u.groups.join(",")}"`] : [])].join(",")).join("\n")}\n`;
}

function kubeconfig(url: string, caPem: string, user: KubeUser): string {
  const cluster = "eventbus-test";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server: url, "certificate-authority-data": Buffer.from(caPem).toString("base64") } }],
    users: [{ name: user.name, user: { token: user.token } }],
    contexts: [{ name: user.name, context: { cluster, user: user.name } }],
    "current-context": user.name,
  });
}

/** The first host address of an IPv4 CIDR: the `kubernetes` Service's IP. */
function firstServiceIp(cidr: string): string {
  const [base] = cidr.split("/");
  const octets = (base ?? "").split(".").map(Number);
  octets[3] = (octets[3] ?? 0) + 1;
  return octets.join(".");
}

/** A source of free ports that never repeats one (the OS may hand the same one out twice in a row). */
function distinctFreePorts(): () => Promise<number> {
  const given = new Set<number>();
  return async () => {
    for (;;) {
      const port = await freePort();
      if (given.has(port)) continue;
      given.add(port);
      return port;
    }
  };
}

function sendRequest(url: string, caPem: string, method: string, path: string, options: KubeRequestOptions): Promise<KubeResponse> {
  const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.token != null) headers["authorization"] = `Bearer ${options.token}`;
  if (body !== undefined) {
    headers["content-type"] = options.contentType ?? "application/json";
    headers["content-length"] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    // agent: false — one connection per request, so that nothing pooled outlives a restart or the test.
    const req = httpsRequest(new URL(path, url), { method, headers, ca: caPem, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("error", reject);
      res.once("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
    });
    req.once("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS}ms`)));
    req.once("error", reject);
    req.end(body);
  });
}

function describeExit(exit: ExitInfo): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/** Applies the EventBus CRD and the namespace `namespace` as `admin`, and waits until the API server serves EventBuses there. */
export async function serveEventBuses(api: KubeApi, admin: KubeClient, namespace: string): Promise<void> {
  await admin.apply(eventBusCrd() as unknown as Parameters<KubeClient["apply"]>[0]);
  await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  await waitFor(
    "the EventBus CRD to be served",
    async () => ((await api.request("GET", `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/eventbus`)).status === 200 ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}
