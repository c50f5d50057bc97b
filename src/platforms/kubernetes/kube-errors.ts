/**
 * Errors of talking to the Kubernetes API: a kubeconfig that cannot be used, a credential plugin
 * that gave no credential, and an API request that failed (with the server's `Status` reason and
 * code). None holds a token, a key or a Secret's data.
 */
import { EventBusError } from "../../api/index.js";

/** Stable codes of the controller's Kubernetes errors. */
export const KubeApiErrorCode = {
  /** A kubeconfig (or the in-cluster service account) that cannot be used. */
  config: "KUBE_CONFIG",
  /** The API server answered a request with an error status. */
  status: "KUBE_API_STATUS",
  /** The request did not get an answer: connection refused, reset, timed out. */
  transport: "KUBE_API_TRANSPORT",
  /** A kubeconfig `exec` credential plugin was not found, failed, timed out or printed no usable credential. */
  execPlugin: "KUBE_EXEC_PLUGIN",
} as const;

/** One of the {@link KubeApiErrorCode} values. */
export type KubeApiErrorCode = (typeof KubeApiErrorCode)[keyof typeof KubeApiErrorCode];

/** A kubeconfig or in-cluster setting that cannot be used; names the file and field. */
export class KubeConfigError extends EventBusError {
  override readonly name = "KubeConfigError";
  readonly code = KubeApiErrorCode.config;

  constructor(
    readonly source: string,
    readonly field: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(field === "" ? `${source}: ${problem}` : `${source}: ${field} ${problem}`, options);
  }
}

/**
 * A kubeconfig user's `exec` credential plugin gave no credential: not found, failed (with its exit
 * code and stderr), timed out, or printed no usable `ExecCredential`. Names the kubeconfig and user;
 * never holds what the plugin printed on stdout.
 */
export class KubeExecPluginError extends EventBusError {
  override readonly name = "KubeExecPluginError";
  readonly code = KubeApiErrorCode.execPlugin;
  /** The plugin's exit code, when it exited with one other than 0. */
  readonly exitCode: number | undefined;
  /** The end of the plugin's stderr, when it failed. */
  readonly stderr: string | undefined;

  /**
   * @param source - the kubeconfig file
   * @param user - the kubeconfig user whose `exec` it is
   * @param command - the plugin's command
   * @param problem - what went wrong, a sentence that follows "plugin <command>"
   */
  constructor(
    readonly source: string,
    readonly user: string,
    readonly command: string,
    readonly problem: string,
    details: { exitCode?: number; stderr?: string } = {},
    options?: ErrorOptions,
  ) {
    super(`${source}: users[${user}].user.exec: plugin ${command} ${problem}`, options);
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
  }
}

/** The reasons of a Kubernetes `Status` the controller acts on. */
export const StatusReason = {
  notFound: "NotFound",
  alreadyExists: "AlreadyExists",
  conflict: "Conflict",
  gone: "Gone",
  expired: "Expired",
  forbidden: "Forbidden",
  invalid: "Invalid",
} as const;

/** A request the API server answered with an error status (a `Status` object). */
export class KubeApiError extends EventBusError {
  override readonly name = "KubeApiError";
  readonly code = KubeApiErrorCode.status;

  /**
   * @param status - the HTTP status (404, 409, 410, …)
   * @param reason - the `Status` reason (`NotFound`, `Conflict`, `Expired`, …), when the body had one
   * @param request - `VERB path`, for messages
   */
  constructor(
    readonly status: number,
    readonly reason: string | undefined,
    readonly request: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${request}: ${status}${reason ? ` ${reason}` : ""}: ${message}`, options);
  }
}

/** A request that got no answer. */
export class KubeTransportError extends EventBusError {
  override readonly name = "KubeTransportError";
  readonly code = KubeApiErrorCode.transport;

  constructor(
    readonly request: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${request}: ${message}`, options);
  }
}

/** Whether the API server said the object (or the resource type) does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

/** Whether a write lost a race (another writer changed the object first). */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

/** Whether a watch or list asked for a resourceVersion the server no longer has (410 Gone). */
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && (err.status === 410 || err.reason === StatusReason.expired || err.reason === StatusReason.gone);
}
