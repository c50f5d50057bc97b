/**
 * kubeconfig `exec` credential plugins (`users[].user.exec`): what EKS (`aws eks get-token`), GKE
 * (`gke-gcloud-auth-plugin`) and AKS (`kubelogin`) kubeconfigs use. The plugin is run, it prints an
 * `ExecCredential` with a bearer token or a client certificate, and the credential is kept until it
 * expires or the API server answers 401.
 *
 * The protocol is client-go's; these are the files of kubernetes/kubernetes it was read from
 * (under `staging/src/k8s.io/client-go/`):
 * - `plugin/pkg/client/auth/exec/exec.go`: the run (parent environment, then `env`, then
 *   `KUBERNETES_EXEC_INFO`; stdin only when interactive), the checks of the output (apiVersion must
 *   be the configured one, a status with a token or a certificate and key pair, both or neither of
 *   certificate and key), the cache until `expirationTimestamp`, the rerun on 401 unless another
 *   request rotated the credential already, the "not found" error with the install hint, the exit
 *   code error, and `interactiveMode` (`IfAvailable` is interactive when stdin is a terminal,
 *   `Always` without one is an error). Only `v1beta1` and `v1` are accepted there: `v1alpha1` is gone.
 * - `tools/clientcmd/api/types.go` (`ExecConfig`, `ExecEnvVar`, `ExecInteractiveMode`): the fields.
 * - `tools/clientcmd/api/v1/defaults.go`: a missing `interactiveMode` is `IfAvailable` for
 *   `v1beta1`; `v1` must set it (`tools/clientcmd/validation.go`: "interactiveMode must be specified").
 * - `tools/clientcmd/loader.go` (`GetAuthInfoFileReferences`): a command with a path separator is
 *   resolved against the kubeconfig file's directory; one without is looked up in `PATH`.
 * - `tools/clientcmd/client_config.go`: `spec.cluster.config` is the cluster's extension named
 *   `client.authentication.k8s.io/exec`, and the install hint is cleaned of escape sequences.
 * - `rest/exec.go` (`ConfigToExecCluster`) and `pkg/apis/clientauthentication/v1/types.go`
 *   (`ExecCredential`, `ExecCredentialSpec`, `ExecCredentialStatus`, `Cluster`): the JSON of
 *   `KUBERNETES_EXEC_INFO` and of the plugin's output.
 *
 * Where this differs from client-go: the plugin's stderr is kept (and shown in the error when the
 * plugin fails) instead of passed through, unless it runs interactively; a run has a deadline; and
 * a request answered 401 is sent once more with the new credential (client-go reruns the plugin but
 * returns the 401 to its caller).
 */
import { spawn } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { inspect } from "node:util";

import { KubeExecPluginError } from "./kube-errors.js";

/** The `apiVersion`s of `ExecCredential` that plugins may speak (client-go dropped `v1alpha1`). */
export const ExecApiVersion = {
  v1: "client.authentication.k8s.io/v1",
  v1beta1: "client.authentication.k8s.io/v1beta1",
} as const;
/** One of the {@link ExecApiVersion} values. */
export type ExecApiVersion = (typeof ExecApiVersion)[keyof typeof ExecApiVersion];

/** The `apiVersion` that client-go no longer runs plugins with. */
export const EXEC_API_VERSION_V1ALPHA1 = "client.authentication.k8s.io/v1alpha1";

/** A plugin's relationship with standard input (kubeconfig `exec.interactiveMode`). */
export const ExecInteractiveMode = {
  /** The plugin never reads stdin. */
  never: "Never",
  /** The plugin gets stdin when it is a terminal. The default for `v1beta1`. */
  ifAvailable: "IfAvailable",
  /** The plugin needs stdin to be a terminal; without one it is not run. */
  always: "Always",
} as const;
/** One of the {@link ExecInteractiveMode} values. */
export type ExecInteractiveMode = (typeof ExecInteractiveMode)[keyof typeof ExecInteractiveMode];

/** The variable that carries the plugin's input, an `ExecCredential` with only a `spec`. */
export const EXEC_INFO_ENV = "KUBERNETES_EXEC_INFO";
/** The cluster extension whose value is passed to the plugin as `spec.cluster.config`. */
export const EXEC_CLUSTER_EXTENSION = "client.authentication.k8s.io/exec";

/** How long a plugin run may take when it does not run interactively. */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
/** How long an interactive run may take (someone may be logging in through a browser). */
export const DEFAULT_INTERACTIVE_EXEC_TIMEOUT_MS = 300_000;

/** How much of a failed plugin's stderr goes into the error. */
const STDERR_SHOWN_CHARS = 4_000;
/** More output than this is not a credential; the plugin is killed. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

/** `spec.cluster` of the plugin's input (`provideClusterInfo: true`): the cluster of the kubeconfig's context. */
export interface ExecCluster {
  /** The cluster's `server`, as the kubeconfig has it. */
  readonly server: string;
  /** The CA, PEM (sent base64-encoded as `certificate-authority-data`). */
  readonly caPem?: string;
  readonly insecureSkipTlsVerify?: boolean;
  /** The value of the cluster's {@link EXEC_CLUSTER_EXTENSION} extension. */
  readonly config?: unknown;
}

/** A kubeconfig user's `exec` plugin, checked and with its command resolved. Holds no credential. */
export interface KubeExecConfig {
  /** The kubeconfig file, for messages. */
  readonly source: string;
  /** The kubeconfig user, for messages. */
  readonly user: string;
  /** A command name looked up in `PATH`, or an absolute path (relative ones are resolved against the kubeconfig's directory). */
  readonly command: string;
  readonly args: readonly string[];
  /** Set over the parent's environment for the plugin. May hold secrets: never log them. */
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly apiVersion: ExecApiVersion;
  readonly interactiveMode: ExecInteractiveMode;
  /** Shown when the command is not found. */
  readonly installHint?: string;
  /** Given to the plugin as `spec.cluster` when the kubeconfig says `provideClusterInfo: true`. */
  readonly cluster?: ExecCluster;
  /** How long one run may take (not a kubeconfig field). @default {@link DEFAULT_EXEC_TIMEOUT_MS}, interactive {@link DEFAULT_INTERACTIVE_EXEC_TIMEOUT_MS} */
  readonly timeoutMs?: number;
}

/** What a plugin run gave. Secret: its inspection and JSON show no token or key. */
export class ExecCredentials {
  constructor(
    /** A bearer token. */
    readonly token: string | undefined,
    /** A client certificate and its key, PEM, for TLS. */
    readonly tls: { readonly certPem: string; readonly keyPem: string } | undefined,
    /** When the credential expires (ms since the epoch); undefined: when the API server says so (401). */
    readonly expiresAt: number | undefined,
  ) {}

  toJSON(): unknown {
    return { token: this.token === undefined ? undefined : "<redacted>", tls: this.tls === undefined ? undefined : "<redacted>", expiresAt: this.expiresAt };
  }

  [inspect.custom](): string {
    return `ExecCredentials ${JSON.stringify(this.toJSON())}`;
  }
}

/** What {@link ExecCredentialSource} reads of its process; tests give their own. */
export interface ExecRuntime {
  /** @default () => Date.now() */
  readonly now?: () => number;
  /** Whether stdin is a terminal. @default process.stdin.isTTY */
  readonly stdinIsTerminal?: boolean;
  /** The parent environment. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs a kubeconfig user's plugin and keeps its credential until it expires. One run at a time:
 * requests that need a credential while the plugin runs wait for that run.
 */
export class ExecCredentialSource {
  #cached: ExecCredentials | undefined;
  #running: Promise<ExecCredentials> | undefined;
  private readonly now: () => number;

  constructor(
    readonly config: KubeExecConfig,
    private readonly runtime: ExecRuntime = {},
  ) {
    this.now = runtime.now ?? (() => Date.now());
  }

  /** The cached credential, or a new one when there is none or it has expired. @throws {@link KubeExecPluginError} */
  get(): Promise<ExecCredentials> {
    const cached = this.#cached;
    if (cached !== undefined && !this.expired(cached)) return Promise.resolve(cached);
    return this.run();
  }

  /**
   * After the API server refused `used` (401): a new credential, unless another request has
   * already replaced `used`, in which case that one.
   */
  refresh(used: ExecCredentials): Promise<ExecCredentials> {
    if (this.#running !== undefined) return this.#running;
    if (this.#cached !== used) return this.get();
    return this.run();
  }

  private expired(credentials: ExecCredentials): boolean {
    return credentials.expiresAt !== undefined && this.now() > credentials.expiresAt;
  }

  private run(): Promise<ExecCredentials> {
    if (this.#running === undefined) {
      const running = runPlugin(this.config, this.runtime, this.#cached).then((credentials) => {
        this.#cached = credentials;
        return credentials;
      });
      this.#running = running;
      const done = () => {
        if (this.#running === running) this.#running = undefined;
      };
      running.then(done, done);
    }
    return this.#running;
  }
}

// One source per exec config, so that the clients made from one connection share the credential.
const sources = new WeakMap<KubeExecConfig, ExecCredentialSource>();

/** The credential source of a connection's exec plugin, shared by every client of that connection. */
export function execCredentialSource(config: KubeExecConfig): ExecCredentialSource {
  let source = sources.get(config);
  if (source === undefined) {
    source = new ExecCredentialSource(config);
    sources.set(config, source);
  }
  return source;
}

/** The plugin's input: an `ExecCredential` with `spec.interactive` and, when asked for, `spec.cluster`. */
export function execInfo(config: KubeExecConfig, interactive: boolean): string {
  const cluster = config.cluster;
  return JSON.stringify({
    kind: "ExecCredential",
    apiVersion: config.apiVersion,
    spec: {
      ...(cluster !== undefined && {
        cluster: {
          server: cluster.server,
          ...(cluster.insecureSkipTlsVerify === true && { "insecure-skip-tls-verify": true }),
          ...(cluster.caPem !== undefined && { "certificate-authority-data": Buffer.from(cluster.caPem, "utf8").toString("base64") }),
          ...(cluster.config !== undefined && { config: cluster.config }),
        },
      }),
      interactive,
    },
  });
}

async function runPlugin(config: KubeExecConfig, runtime: ExecRuntime, previous: ExecCredentials | undefined): Promise<ExecCredentials> {
  const fail = (problem: string, details: { exitCode?: number; stderr?: string } = {}) =>
    new KubeExecPluginError(config.source, config.user, config.command, problem, details);
  const terminal = runtime.stdinIsTerminal ?? process.stdin.isTTY === true;
  if (config.interactiveMode === ExecInteractiveMode.always && !terminal) {
    throw fail(
      "has interactiveMode Always, but standard input is not a terminal: run this from a terminal, or set interactiveMode to IfAvailable or Never if the plugin can do without one",
    );
  }
  const interactive = config.interactiveMode !== ExecInteractiveMode.never && terminal;
  const timeoutMs = config.timeoutMs ?? (interactive ? DEFAULT_INTERACTIVE_EXEC_TIMEOUT_MS : DEFAULT_EXEC_TIMEOUT_MS);
  const env: NodeJS.ProcessEnv = { ...(runtime.env ?? process.env) };
  for (const { name, value } of config.env) env[name] = value;
  env[EXEC_INFO_ENV] = execInfo(config, interactive);

  const { stdout, stderr, exit } = await new Promise<{
    stdout: Buffer;
    stderr: string;
    exit: { code: number | null; signal: NodeJS.Signals | null; timedOut: boolean; tooLong: boolean };
  }>((resolve, reject) => {
    const child = spawn(config.command, [...config.args], { env, stdio: [interactive ? "inherit" : "ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let timedOut = false;
    let tooLong = false;
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8"), exit: { code, signal, timedOut, tooLong } });
    };
    // Settles at once, without waiting for the pipes: a child of the plugin may still hold them open.
    const kill = () => {
      child.kill("SIGKILL");
      child.stdout.destroy();
      child.stderr.destroy();
      settle(null, "SIGKILL");
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_OUTPUT_BYTES) {
        tooLong = true;
        kill();
        return;
      }
      out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      // Interactive plugins prompt on stderr (device codes, "open this URL").
      if (interactive) process.stderr.write(chunk);
      err.push(chunk);
    });
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(spawnError(config, error, fail));
    });
    child.once("close", settle);
  });

  const shownStderr = redact(stderr, previous).trim().slice(-STDERR_SHOWN_CHARS);
  const withStderr = (text: string) => (shownStderr === "" ? `${text} and printed nothing on stderr` : `${text}; its stderr:\n${shownStderr}`);
  if (exit.timedOut) throw fail(withStderr(`did not finish within ${timeoutMs / 1000}s and was killed`), { stderr: shownStderr });
  if (exit.tooLong) throw fail(`printed more than ${MAX_OUTPUT_BYTES} bytes, which is not an ExecCredential, and was killed`);
  if (exit.code === null) throw fail(withStderr(`was killed by ${exit.signal ?? "a signal"}`), { stderr: shownStderr });
  if (exit.code !== 0) throw fail(withStderr(`failed with exit code ${exit.code}`), { exitCode: exit.code, stderr: shownStderr });
  return parseExecCredential(stdout.toString("utf8"), config, fail);
}

type Fail = (problem: string) => KubeExecPluginError;

function spawnError(config: KubeExecConfig, error: NodeJS.ErrnoException, fail: Fail): KubeExecPluginError {
  if (error.code === "ENOENT") {
    const hint = config.installHint === undefined ? "" : `\n${config.installHint}`;
    return fail(
      `was not found: it looks like the credential plugin is not installed (see https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins)${hint}`,
    );
  }
  if (error.code === "EACCES") return fail("cannot be run (EACCES): is it an executable file?");
  return fail(`cannot be started: ${error.message}`);
}

/**
 * Reads a plugin's stdout: an `ExecCredential` of the configured apiVersion with a token, or a
 * client certificate and key, or both. Messages never quote the output, which may hold a secret.
 */
export function parseExecCredential(text: string, config: KubeExecConfig, fail: Fail): ExecCredentials {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw fail(
      text.trim() === ""
        ? "printed nothing on stdout; it must print an ExecCredential (JSON)"
        : "printed something that is not JSON on stdout; it must print an ExecCredential",
    );
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw fail("printed JSON that is not an object on stdout; it must print an ExecCredential");
  const obj = doc as Record<string, unknown>;
  const shown = (v: unknown) => (typeof v === "string" ? JSON.stringify(v.slice(0, 80)) : v === undefined ? "none" : `a ${typeof v}`);
  if (obj["kind"] !== "ExecCredential") throw fail(`printed kind ${shown(obj["kind"])}; it must print kind ExecCredential`);
  if (obj["apiVersion"] !== config.apiVersion)
    throw fail(`is configured to use apiVersion ${config.apiVersion}, but printed apiVersion ${shown(obj["apiVersion"])}`);
  const status = obj["status"];
  if (typeof status !== "object" || status === null || Array.isArray(status)) throw fail("printed an ExecCredential without a status");
  const s = status as Record<string, unknown>;
  for (const key of ["token", "clientCertificateData", "clientKeyData", "expirationTimestamp"]) {
    if (s[key] !== undefined && s[key] !== null && typeof s[key] !== "string") throw fail(`printed status.${key} that is not a string`);
  }
  const field = (key: string) => (typeof s[key] === "string" && s[key] !== "" ? s[key] : undefined);
  const token = field("token");
  const certPem = field("clientCertificateData");
  const keyPem = field("clientKeyData");
  if (token === undefined && certPem === undefined && keyPem === undefined)
    throw fail("printed neither status.token nor status.clientCertificateData and status.clientKeyData");
  if ((certPem === undefined) !== (keyPem === undefined))
    throw fail("printed only one of status.clientCertificateData and status.clientKeyData; both are needed");
  if (certPem !== undefined && keyPem !== undefined) {
    let matches = false;
    try {
      matches = new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
    } catch {
      throw fail("printed status.clientCertificateData and status.clientKeyData that are not a PEM certificate and a PEM private key");
    }
    if (!matches) throw fail("printed status.clientKeyData that is not the private key of status.clientCertificateData");
  }
  const expiration = field("expirationTimestamp");
  let expiresAt: number | undefined;
  if (expiration !== undefined) {
    expiresAt = RFC3339.test(expiration) ? Date.parse(expiration) : Number.NaN;
    if (Number.isNaN(expiresAt))
      throw fail(`printed status.expirationTimestamp ${shown(expiration)}, which is not an RFC 3339 time such as 2026-01-02T15:04:05Z`);
  }
  return new ExecCredentials(token, certPem !== undefined && keyPem !== undefined ? { certPem, keyPem } : undefined, expiresAt);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** `text` without the secrets of the previous credential (a failing plugin may echo what it had). */
function redact(text: string, previous: ExecCredentials | undefined): string {
  let out = text;
  for (const secret of [previous?.token, previous?.tls?.keyPem.trim()]) {
    if (secret !== undefined && secret.length >= 8) out = out.split(secret).join("<redacted>");
  }
  return out;
}

/** `s` with control characters other than tab and line breaks written as `U+001B`, as client-go cleans an install hint. */
export function cleanEscapeCodes(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const control = (cp < 0x20 && !(cp >= 0x09 && cp <= 0x0d)) || (cp >= 0x7f && cp <= 0x9f);
    out += control ? `U+${cp.toString(16).toUpperCase().padStart(4, "0")}` : ch;
  }
  return out;
}
