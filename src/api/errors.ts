import { formatIssue, type Issue } from "./issues.js";

/** Error codes of the api area, stable for scripts. */
export const ApiErrorCode = {
  invalidManifest: "INVALID_MANIFEST",
  unreadableManifest: "UNREADABLE_MANIFEST",
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** A manifest that is not valid: carries every issue. */
export class EventBusValidationError extends Error {
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
export class ManifestReadError extends Error {
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
