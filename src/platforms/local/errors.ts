/** Error codes of the local platform, stable for scripts. */
export const LocalErrorCode = {
  notFound: "BUS_NOT_FOUND",
  notRunning: "BUS_NOT_RUNNING",
  stateDir: "STATE_DIR_UNUSABLE",
  portTaken: "PORT_TAKEN",
  serverFailed: "SERVER_FAILED",
  unhealthy: "BUS_UNHEALTHY",
  immutableChange: "IMMUTABLE_CHANGE",
  notJetStream: "MODE_NOT_SUPPORTED",
  control: "SUPERVISOR_UNREACHABLE",
  stream: "STREAM_FAILED",
} as const;
export type LocalErrorCode = (typeof LocalErrorCode)[keyof typeof LocalErrorCode];

/** A failure of the local platform, with one line a person can act on. */
export class LocalPlatformError extends Error {
  override readonly name = "LocalPlatformError";
  constructor(
    readonly code: LocalErrorCode,
    message: string,
    options?: ErrorOptions & { detail?: string },
  ) {
    super(message, options);
    this.detail = options?.detail;
  }
  /** More lines, e.g. the tail of a server's log. */
  readonly detail: string | undefined;
}
