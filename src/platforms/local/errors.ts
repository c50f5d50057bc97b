import { EventBusError } from "../../api/errors.js";

/** Error codes of the local platform, stable for scripts. */
export const LocalErrorCode = {
  /** A bus name that cannot name a bus (bad input: nothing was touched). */
  invalidName: "INVALID_BUS_NAME",
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
  /** A wait (for the supervisor, a server, a peer) did not end within its deadline. */
  timedOut: "TIMED_OUT",
  /** A bus's state file is not what eventbus writes. */
  invalidState: "STATE_FILE_INVALID",
  /** The supervisor answered that an operation (apply, stop) failed; the message is its reason. */
  operationFailed: "SUPERVISOR_OPERATION_FAILED",
  /** The command was interrupted (SIGINT, SIGTERM); the message says what was left as it was. */
  interrupted: "INTERRUPTED",
} as const;
export type LocalErrorCode = (typeof LocalErrorCode)[keyof typeof LocalErrorCode];

/** The codes that mean the input was bad and nothing was touched, rather than a failure. */
const INPUT_ERROR_CODES: ReadonlySet<LocalErrorCode> = new Set([LocalErrorCode.invalidName]);

/** A failure of the local platform, with one line a person can act on. */
export class LocalPlatformError extends EventBusError {
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

  /** Whether the input was bad (a bus name), so nothing was touched. */
  get isInputError(): boolean {
    return INPUT_ERROR_CODES.has(this.code);
  }
}
