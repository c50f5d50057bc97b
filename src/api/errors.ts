/**
 * The errors of eventbus, and the convention every folder of `src/` follows for its own:
 *
 * - A folder's error classes live in its `errors.ts`, beside a `<Folder>ErrorCode` object
 *   (`as const`, with a union type of the same name): camelCase keys, SCREAMING_SNAKE values, e.g.
 *   `LocalErrorCode.notFound = "BUS_NOT_FOUND"`. A value is stable once released (scripts match
 *   it) and unique across eventbus; a new one starts with its folder's prefix (`CLIENT_`, `KUBE_`).
 * - Every error class extends {@link EventBusError}: `name` is the class name, `code` is a value of
 *   its folder's code object, `cause` is passed through `ErrorOptions`, and what the failure is
 *   about (a path, a file, a bus) is a typed field, not only words of the message.
 * - One class per failure, or one class whose `code` says which failure (`BackupError`,
 *   `LocalPlatformError`). A folder whose classes callers tell apart has an
 *   `is<Folder>Error(err, code?)` guard, so nobody compares messages.
 * - No message, field or `cause` holds a secret value or event data.
 * - A plain `Error` is thrown only for a programming error (a broken internal invariant).
 *
 * `test/errors.test.ts` checks every exported error class against this.
 */
import { formatIssue, type Issue } from "./issues.js";

/** Any error of eventbus: its {@link EventBusError.code} says which failure it is. */
export abstract class EventBusError extends Error {
  /** The class name. */
  abstract override readonly name: string;
  /** A stable SCREAMING_SNAKE code from the `<Folder>ErrorCode` object of the class's folder. */
  abstract readonly code: string;
}

/** Whether `err` is an error of eventbus (as opposed to one of node, a library or a bug). */
export function isEventBusError(err: unknown): err is EventBusError {
  return err instanceof EventBusError;
}

/** Error codes of the api area, stable for scripts. */
export const ApiErrorCode = {
  invalidManifest: "INVALID_MANIFEST",
  unreadableManifest: "UNREADABLE_MANIFEST",
  /** A value-type field (`Duration`, `Size`, `Quantity`) whose text cannot be read. */
  invalidValue: "INVALID_VALUE",
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** A manifest that is not valid: carries every issue. */
export class EventBusValidationError extends EventBusError {
  override readonly name = "EventBusValidationError";
  readonly code = ApiErrorCode.invalidManifest;
  constructor(
    readonly issues: readonly Issue[],
    options?: ErrorOptions,
  ) {
    super(issues.map(formatIssue).join("\n"), options);
  }
}

/** Text that cannot be read as YAML documents at all. */
export class ManifestReadError extends EventBusError {
  override readonly name = "ManifestReadError";
  readonly code = ApiErrorCode.unreadableManifest;
  constructor(
    message: string,
    /** Where the text came from: a file path or `-` for standard input. */
    readonly source: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
