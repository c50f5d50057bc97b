/**
 * Errors of the tools area: the pinned binaries table, binary lookup and installation.
 * Each class carries a stable {@link ToolsErrorCode} so callers never compare messages.
 */
import { EventBusError } from "../api/index.js";

/** Stable codes of the tools errors. */
export const ToolsErrorCode = {
  /** A required binary is not installed in the tools dir nor on `$PATH`. */
  missingBinary: "MISSING_BINARY",
  /** `binaries.json` is malformed or does not pin what the versions table names. */
  invalidBinariesTable: "INVALID_BINARIES_TABLE",
  /** The Go toolchain needed to build a binary is missing or too old. */
  goUnavailable: "GO_UNAVAILABLE",
  /** `go install` (or `go build`) of a pinned binary failed. */
  buildFailed: "BUILD_FAILED",
} as const;

/** One of the {@link ToolsErrorCode} values. */
export type ToolsErrorCode = (typeof ToolsErrorCode)[keyof typeof ToolsErrorCode];

/** What a user runs to install the pinned binaries. */
export const INSTALL_HINT = "run `make tools` (or `npx tsx scripts/install-tools.ts`)";

/** What a user runs to install the node group, which `make tools` leaves out. */
export const NODE_INSTALL_HINT = "run `make tools-node` (or `npx tsx scripts/install-tools.ts --group node`)";

/** A binary was not found; the message says where it was looked for and how to install it. */
export class MissingBinaryError extends EventBusError {
  override readonly name = "MissingBinaryError";
  readonly code = ToolsErrorCode.missingBinary;

  /**
   * @param command - the command, e.g. `nats-server`
   * @param version - the requested version without a leading `v`, if any
   * @param searched - the paths looked at, in order (`$PATH` is named as `$PATH`)
   * @param detail - an extra sentence, e.g. that the version is not pinned at all
   */
  constructor(
    readonly command: string,
    readonly version: string | undefined,
    readonly searched: readonly string[],
    detail?: string,
    options?: ErrorOptions,
  ) {
    const what = version === undefined ? command : `${command} ${version}`;
    const extra = detail === undefined ? "" : `; ${detail}`;
    super(`${what} not found (looked in ${searched.join(", ")})${extra}; ${INSTALL_HINT}`, options);
  }
}

/** `binaries.json` does not match its schema or does not pin what the versions table names. */
export class InvalidBinariesTableError extends EventBusError {
  override readonly name = "InvalidBinariesTableError";
  readonly code = ToolsErrorCode.invalidBinariesTable;

  /** @param issues - every problem found, each as `path: message` */
  constructor(
    readonly issues: readonly string[],
    options?: ErrorOptions,
  ) {
    super(`invalid src/tools/binaries.json:\n  ${issues.join("\n  ")}`, options);
  }
}

/** The Go toolchain is missing or older than the pinned binaries need. */
export class GoUnavailableError extends EventBusError {
  override readonly name = "GoUnavailableError";
  readonly code = ToolsErrorCode.goUnavailable;
}

/** `go install` (or `go build`) of one pinned binary failed; `output` is the tail of what go printed. */
export class BuildFailedError extends EventBusError {
  override readonly name = "BuildFailedError";
  readonly code = ToolsErrorCode.buildFailed;

  constructor(
    readonly binary: string,
    readonly output: string,
    options?: ErrorOptions,
  ) {
    super(`building ${binary} failed:\n${output}`, options);
  }
}

/** Any error of the tools area. */
export type ToolsError = MissingBinaryError | InvalidBinariesTableError | GoUnavailableError | BuildFailedError;

/**
 * Whether `err` is an error of the tools area, optionally with the given code.
 * @example `if (isToolsError(err, ToolsErrorCode.missingBinary)) console.error(err.message)`
 */
export function isToolsError(err: unknown, code?: ToolsErrorCode): err is ToolsError {
  if (
    !(err instanceof MissingBinaryError || err instanceof InvalidBinariesTableError || err instanceof GoUnavailableError || err instanceof BuildFailedError)
  ) {
    return false;
  }
  return code === undefined || err.code === code;
}
