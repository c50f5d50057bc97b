/**
 * Where the Kubernetes API server is and how to authenticate to it: a kubeconfig file (bearer
 * token, token file, client certificate or `exec` credential plugin; CA file or data) or the
 * in-cluster service account. `auth-provider` is refused: client-go itself removed its `gcp` and
 * `azure` providers (`staging/src/k8s.io/client-go/plugin/pkg/client/auth/gcp/gcp_stub.go` and
 * `azure/azure_stub.go` in kubernetes/kubernetes point to `gke-gcloud-auth-plugin` and `kubelogin`).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";

import { parse } from "yaml";

import { KubeConfigError } from "./kube-errors.js";
import {
  cleanEscapeCodes,
  EXEC_API_VERSION_V1ALPHA1,
  EXEC_CLUSTER_EXTENSION,
  ExecApiVersion,
  ExecInteractiveMode,
  type ExecCluster,
  type KubeExecConfig,
} from "./kube-exec.js";

/** The service account files of a pod (`automountServiceAccountToken`). */
export const IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** How to reach and authenticate to an API server. Secret values: never log them. */
export interface KubeConnection {
  /** `https://host:port` (or `http://` for a local proxy). */
  readonly server: string;
  /** PEM of the CA that signed the server's certificate. @default the system's CAs */
  readonly caPem?: string;
  /** Skips verification of the server's certificate (kubeconfig `insecure-skip-tls-verify`). */
  readonly insecureSkipTlsVerify?: boolean;
  /** A fixed bearer token. */
  readonly token?: string;
  /** A file that holds the bearer token; read again before each request, as service account tokens rotate. */
  readonly tokenFile?: string;
  /** Client certificate and key (PEM). */
  readonly certPem?: string;
  readonly keyPem?: string;
  /**
   * A credential plugin that gives a token or a client certificate (kubeconfig `exec`); run before
   * the first request, again when its credential expires or the server answers 401. Only when the
   * user has no token, token file or client certificate (those win, as in client-go).
   */
  readonly exec?: KubeExecConfig;
  /** The context's namespace (kubeconfig) or the pod's (in cluster). */
  readonly namespace?: string;
  /** Where this came from, for messages: a kubeconfig path or `in-cluster`. */
  readonly source: string;
}

/** Options of {@link loadKubeConnection}. */
export interface LoadKubeConnectionOptions {
  /** A kubeconfig file. @default `$KUBECONFIG` (its first file), else in-cluster when in a pod, else `~/.kube/config` */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig. @default its `current-context` */
  readonly context?: string;
  /** The environment to read `KUBECONFIG`, `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT` from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The service account directory. @default {@link IN_CLUSTER_DIR} */
  readonly inClusterDir?: string;
}

/**
 * Finds the API server and credentials, in the order client-go's controllers use: an explicit
 * kubeconfig, `$KUBECONFIG`, the in-cluster service account, `~/.kube/config`.
 * @throws {@link KubeConfigError} naming the file and field (never a secret value)
 */
export function loadKubeConnection(options: LoadKubeConnectionOptions = {}): KubeConnection {
  const env = options.env ?? process.env;
  if (options.kubeconfig !== undefined) return fromKubeconfig(options.kubeconfig, options.context);
  const fromEnv = env["KUBECONFIG"]?.split(":").find((p) => p !== "");
  if (fromEnv !== undefined) return fromKubeconfig(fromEnv, options.context);
  if (env["KUBERNETES_SERVICE_HOST"] !== undefined && env["KUBERNETES_SERVICE_HOST"] !== "") {
    return inCluster(env, options.inClusterDir ?? IN_CLUSTER_DIR);
  }
  return fromKubeconfig(join(homedir(), ".kube", "config"), options.context);
}

/** The in-cluster connection: `KUBERNETES_SERVICE_HOST:PORT`, the pod's token file, CA and namespace. */
export function inCluster(env: NodeJS.ProcessEnv, dir: string = IN_CLUSTER_DIR): KubeConnection {
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "443";
  if (host === undefined || host === "") throw new KubeConfigError("in-cluster", "KUBERNETES_SERVICE_HOST", "is not set; not running in a pod");
  const hostPart = host.includes(":") ? `[${host}]` : host; // IPv6
  const namespace = readOptional(join(dir, "namespace"))?.trim();
  return {
    server: `https://${hostPart}:${port}`,
    caPem: readRequired(join(dir, "ca.crt"), "in-cluster", "ca.crt"),
    tokenFile: join(dir, "token"),
    ...(namespace !== undefined && namespace !== "" && { namespace }),
    source: "in-cluster",
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads one context of a kubeconfig file. */
export function fromKubeconfig(path: string, contextName?: string): KubeConnection {
  const text = readRequired(path, "kubeconfig", "");
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new KubeConfigError(path, "", "is not valid YAML");
  }
  if (!isObj(doc)) throw new KubeConfigError(path, "", "must be a mapping");
  const base = dirname(resolve(path));
  const name = contextName ?? (typeof doc["current-context"] === "string" ? doc["current-context"] : undefined);
  if (name === undefined || name === "") throw new KubeConfigError(path, "current-context", "is not set; pass a context");
  const context = named(doc, "contexts", name, path, "context");
  const clusterName = context["cluster"];
  const userName = context["user"];
  if (typeof clusterName !== "string") throw new KubeConfigError(path, `contexts[${name}].context.cluster`, "is missing");
  const cluster = named(doc, "clusters", clusterName, path, "cluster");
  const user = typeof userName === "string" && userName !== "" ? named(doc, "users", userName, path, "user") : {};

  const server = cluster["server"];
  if (typeof server !== "string" || !/^https?:\/\//.test(server))
    throw new KubeConfigError(path, `clusters[${clusterName}].cluster.server`, "must be an http(s) URL");
  const caPem = pem(cluster, "certificate-authority-data", "certificate-authority", base, path, `clusters[${clusterName}].cluster`);
  const where = `users[${String(userName)}].user`;
  if (user["auth-provider"] !== undefined) {
    throw new KubeConfigError(
      path,
      `${where}.auth-provider`,
      "is not supported: use an exec credential plugin instead (gke-gcloud-auth-plugin for GKE, kubelogin for AKS and OIDC, aws eks get-token for EKS); client-go itself removed its gcp and azure auth providers",
    );
  }
  const certPem = pem(user, "client-certificate-data", "client-certificate", base, path, where);
  const keyPem = pem(user, "client-key-data", "client-key", base, path, where);
  if ((certPem === undefined) !== (keyPem === undefined)) throw new KubeConfigError(path, where, "needs both client-certificate and client-key");
  const token = typeof user["token"] === "string" && user["token"] !== "" ? user["token"] : undefined;
  const tokenFile = typeof user["tokenFile"] === "string" && user["tokenFile"] !== "" ? absolute(base, user["tokenFile"]) : undefined;
  const namespace = typeof context["namespace"] === "string" && context["namespace"] !== "" ? context["namespace"] : undefined;
  const exec =
    user["exec"] === undefined || user["exec"] === null
      ? undefined
      : execConfig(user["exec"], {
          path,
          base,
          user: String(userName),
          where: `${where}.exec`,
          cluster,
          clusterWhere: `clusters[${clusterName}].cluster`,
          server,
          ...(caPem !== undefined && { caPem }),
        });
  const staticCredential = token !== undefined || tokenFile !== undefined || certPem !== undefined;
  return {
    server: server.replace(/\/+$/, ""),
    ...(caPem !== undefined && { caPem }),
    ...(cluster["insecure-skip-tls-verify"] === true && { insecureSkipTlsVerify: true }),
    ...(token !== undefined && { token }),
    ...(tokenFile !== undefined && token === undefined && { tokenFile }),
    ...(certPem !== undefined && keyPem !== undefined && { certPem, keyPem }),
    ...(exec !== undefined && !staticCredential && { exec }),
    ...(namespace !== undefined && { namespace }),
    source: path,
  };
}

interface ExecContext {
  readonly path: string;
  /** The kubeconfig's directory. */
  readonly base: string;
  readonly user: string;
  readonly where: string;
  readonly cluster: Obj;
  readonly clusterWhere: string;
  readonly server: string;
  readonly caPem?: string;
}

/**
 * A user's `exec`, checked as client-go checks it (`tools/clientcmd/validation.go`,
 * `tools/clientcmd/api/v1/defaults.go`, `tools/clientcmd/loader.go` in kubernetes/kubernetes'
 * `staging/src/k8s.io/client-go/`): see kube-exec.ts.
 */
function execConfig(value: unknown, ctx: ExecContext): KubeExecConfig {
  const bad = (field: string, problem: string) => new KubeConfigError(ctx.path, field === "" ? ctx.where : `${ctx.where}.${field}`, problem);
  if (!isObj(value)) throw bad("", "must be a mapping with command and apiVersion");
  const command = value["command"];
  if (typeof command !== "string" || command === "") throw bad("command", "is missing: name the credential plugin to run");
  const apiVersion = value["apiVersion"];
  const versions = Object.values(ExecApiVersion) as string[];
  if (typeof apiVersion !== "string" || apiVersion === "") throw bad("apiVersion", `is missing: use ${ExecApiVersion.v1} or ${ExecApiVersion.v1beta1}`);
  if (apiVersion === EXEC_API_VERSION_V1ALPHA1)
    throw bad("apiVersion", `${apiVersion} is no longer supported (client-go does not run it either): use ${ExecApiVersion.v1} or ${ExecApiVersion.v1beta1}`);
  if (!versions.includes(apiVersion)) throw bad("apiVersion", `${JSON.stringify(apiVersion)} is not one of ${versions.join(", ")}`);
  const args = value["args"] ?? [];
  if (!Array.isArray(args) || !args.every((a): a is string => typeof a === "string")) throw bad("args", "must be a list of strings");
  const envList = value["env"] ?? [];
  if (!Array.isArray(envList)) throw bad("env", "must be a list of {name, value}");
  const env = envList.map((e: unknown, i) => {
    if (!isObj(e) || typeof e["name"] !== "string" || e["name"] === "" || e["name"].includes("="))
      throw bad(`env[${i}].name`, "must be set: a variable name without '='");
    const v = e["value"] ?? "";
    if (typeof v !== "string") throw bad(`env[${i}].value`, "must be a string");
    return { name: e["name"], value: v };
  });
  const modes = Object.values(ExecInteractiveMode) as string[];
  const mode = value["interactiveMode"];
  let interactiveMode: ExecInteractiveMode;
  if (mode === undefined || mode === null || mode === "") {
    // client-go defaults it for v1beta1 (and v1alpha1); v1 must say whether the plugin wants stdin.
    if (apiVersion === ExecApiVersion.v1) throw bad("interactiveMode", `must be set with ${ExecApiVersion.v1}: one of ${modes.join(", ")}`);
    interactiveMode = ExecInteractiveMode.ifAvailable;
  } else if (typeof mode === "string" && modes.includes(mode)) {
    interactiveMode = mode as ExecInteractiveMode;
  } else {
    throw bad("interactiveMode", `${JSON.stringify(mode)} is not one of ${modes.join(", ")}`);
  }
  const provide = value["provideClusterInfo"] ?? false;
  if (typeof provide !== "boolean") throw bad("provideClusterInfo", "must be true or false");
  const hint = value["installHint"];
  if (hint !== undefined && hint !== null && typeof hint !== "string") throw bad("installHint", "must be a string");
  // As client-go's loader: a command with a path separator is relative to the kubeconfig's directory; a bare name is looked up in PATH.
  const resolved = command.includes(sep) && !isAbsolute(command) ? join(ctx.base, command) : command;
  return {
    source: ctx.path,
    user: ctx.user,
    command: resolved,
    args,
    env,
    apiVersion: apiVersion as ExecApiVersion,
    interactiveMode,
    ...(typeof hint === "string" && hint !== "" && { installHint: cleanEscapeCodes(hint) }),
    ...(provide && { cluster: execCluster(ctx) }),
  };
}

/** `spec.cluster` for a plugin that asked for it: the server, CA, TLS verification and the exec extension's config. */
function execCluster(ctx: ExecContext): ExecCluster {
  const extensions = ctx.cluster["extensions"];
  if (extensions !== undefined && extensions !== null && !Array.isArray(extensions))
    throw new KubeConfigError(ctx.path, `${ctx.clusterWhere}.extensions`, "must be a list of {name, extension}");
  const entry = (Array.isArray(extensions) ? extensions : []).find((e: unknown) => isObj(e) && e["name"] === EXEC_CLUSTER_EXTENSION) as Obj | undefined;
  const config = entry?.["extension"];
  return {
    server: ctx.server,
    ...(ctx.caPem !== undefined && { caPem: ctx.caPem }),
    ...(ctx.cluster["insecure-skip-tls-verify"] === true && { insecureSkipTlsVerify: true }),
    ...(config !== undefined && config !== null && { config }),
  };
}

function named(doc: Obj, list: string, name: string, path: string, inner: string): Obj {
  const entries = doc[list];
  const entry = Array.isArray(entries) ? entries.find((e: unknown) => isObj(e) && e["name"] === name) : undefined;
  if (!isObj(entry)) throw new KubeConfigError(path, list, `has no entry named ${JSON.stringify(name)}`);
  const value = entry[inner];
  return isObj(value) ? value : {};
}

/** A PEM from `<dataKey>` (base64) or `<fileKey>` (a path relative to the kubeconfig). */
function pem(obj: Obj, dataKey: string, fileKey: string, base: string, path: string, where: string): string | undefined {
  const data = obj[dataKey];
  if (typeof data === "string" && data !== "") return Buffer.from(data, "base64").toString("utf8");
  const file = obj[fileKey];
  if (typeof file === "string" && file !== "") return readRequired(absolute(base, file), path, `${where}.${fileKey}`);
  return undefined;
}

function absolute(base: string, file: string): string {
  return isAbsolute(file) ? file : join(base, file);
}

function readRequired(file: string, source: string, field: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new KubeConfigError(source, field, field === "" ? `${file} cannot be read (${code})` : `names ${file}, which cannot be read (${code})`);
  }
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
