/**
 * Errors of the versions area: a version name that the versions table lacks, and a malformed table.
 * Each class carries a stable {@link VersionsErrorCode} so callers never compare messages.
 */
import { EventBusError } from "../api/index.js";

/** Stable codes of the versions errors. */
export const VersionsErrorCode = {
  /** A version name is not an entry of the versions table. */
  unknownVersion: "UNKNOWN_VERSION",
  /** `versions.json` is malformed or inconsistent. */
  invalidVersionsTable: "INVALID_VERSIONS_TABLE",
} as const;

/** One of the {@link VersionsErrorCode} values. */
export type VersionsErrorCode = (typeof VersionsErrorCode)[keyof typeof VersionsErrorCode];

/** Which versions table a version name was looked up in. */
export const VersionKind = {
  JetStream: "jetstream",
  Stan: "stan",
} as const;

/** One of the {@link VersionKind} values. */
export type VersionKind = (typeof VersionKind)[keyof typeof VersionKind];

/** A version name is not in the versions table; the message lists the known names. */
export class UnknownVersionError extends EventBusError {
  override readonly name = "UnknownVersionError";
  readonly code = VersionsErrorCode.unknownVersion;

  constructor(
    readonly kind: VersionKind,
    readonly requested: string,
    readonly known: readonly string[],
    options?: ErrorOptions,
  ) {
    const label = kind === VersionKind.JetStream ? "JetStream" : "NATS Streaming";
    super(`unknown ${label} version ${JSON.stringify(requested)}; known versions: ${known.join(", ")}`, options);
  }
}

/** `versions.json` does not match its schema or contradicts itself. */
export class InvalidVersionsTableError extends EventBusError {
  override readonly name = "InvalidVersionsTableError";
  readonly code = VersionsErrorCode.invalidVersionsTable;

  /** @param issues - every problem found, each as `path: message` */
  constructor(
    readonly issues: readonly string[],
    options?: ErrorOptions,
  ) {
    super(`invalid src/versions/versions.json:\n  ${issues.join("\n  ")}`, options);
  }
}

/** Any error of the versions area. */
export type VersionsError = UnknownVersionError | InvalidVersionsTableError;

/**
 * Whether `err` is an error of the versions area, optionally with the given code.
 * @example `if (isVersionsError(err, VersionsErrorCode.unknownVersion)) console.error(err.message)`
 */
export function isVersionsError(err: unknown, code?: VersionsErrorCode): err is VersionsError {
  if (!(err instanceof UnknownVersionError || err instanceof InvalidVersionsTableError)) return false;
  return code === undefined || err.code === code;
}
