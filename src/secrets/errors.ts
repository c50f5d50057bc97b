/**
 * Errors of the secrets area: certificate requests, PEM input, secret files.
 * Each class carries a stable {@link SecretsErrorCode} so callers never compare messages.
 *
 * No message, field or `cause` of these errors ever holds a secret value (a password, a token,
 * a key, or the text of a file that may hold one): they name the file or the field instead.
 */
import { EventBusError } from "../api/index.js";

/** Stable codes of the secrets errors. */
export const SecretsErrorCode = {
  /** The options of a certificate to create are not usable (a bad name, address or validity). */
  invalidCertificateRequest: "INVALID_CERTIFICATE_REQUEST",
  /** The CA given to sign with is not a CA, or its key does not match its certificate. */
  invalidCertificateAuthority: "INVALID_CERTIFICATE_AUTHORITY",
  /** Text that should be a PEM certificate or private key is not one. */
  invalidPem: "INVALID_PEM",
  /** Credentials that are incomplete or hold characters unsafe in URLs and config files. */
  invalidCredentials: "INVALID_CREDENTIALS",
  /** A secret file that should exist does not. */
  secretFileMissing: "SECRET_FILE_MISSING",
  /** A secret file exists but cannot be read (permissions, a directory in its place, …). */
  secretFileUnreadable: "SECRET_FILE_UNREADABLE",
  /** A secret file was read but its content is not what it should be. */
  secretFileInvalid: "SECRET_FILE_INVALID",
  /** A secret file could not be written. */
  secretFileWriteFailed: "SECRET_FILE_WRITE_FAILED",
  /** A secrets directory could not be created, or the path is not a directory. */
  secretDirUnusable: "SECRET_DIR_UNUSABLE",
} as const;

/** One of the {@link SecretsErrorCode} values. */
export type SecretsErrorCode = (typeof SecretsErrorCode)[keyof typeof SecretsErrorCode];

/** The errno code of a node error (`ENOENT`, `EACCES`, …), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Options of a certificate request that cannot work; `field` names the option, e.g. `ipAddresses[1]`. */
export class InvalidCertificateRequestError extends EventBusError {
  override readonly name = "InvalidCertificateRequestError";
  readonly code = SecretsErrorCode.invalidCertificateRequest;

  /**
   * @param field - the option at fault, e.g. `dnsNames[0]` or `validityDays`
   * @param problem - what is wrong with it (names and addresses are not secret and may be quoted)
   */
  constructor(
    readonly field: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`invalid certificate request: ${field}: ${problem}`, options);
  }
}

/** The CA given to {@link issueCertificate} cannot sign: not a CA, an unsupported key, or a key of another certificate. */
export class InvalidCertificateAuthorityError extends EventBusError {
  override readonly name = "InvalidCertificateAuthorityError";
  readonly code = SecretsErrorCode.invalidCertificateAuthority;

  constructor(
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`invalid certificate authority: ${problem}`, options);
  }
}

/** What a PEM text was expected to hold. */
export const PemKind = {
  Certificate: "certificate",
  PrivateKey: "private key",
} as const;

/** One of the {@link PemKind} values. */
export type PemKind = (typeof PemKind)[keyof typeof PemKind];

/** Text that is not a PEM certificate or private key; `source` says which input it was, never its content. */
export class InvalidPemError extends EventBusError {
  override readonly name = "InvalidPemError";
  readonly code = SecretsErrorCode.invalidPem;

  /**
   * @param kind - what the text should have been
   * @param source - which input held it, e.g. `ca.keyPem` or a file path
   */
  constructor(
    readonly kind: PemKind,
    readonly source: string,
    options?: ErrorOptions,
  ) {
    super(`${source} is not a PEM ${kind}`, options);
  }
}

/** Credentials with a missing field or a value outside the URL- and config-safe alphabet; names the field only. */
export class InvalidCredentialsError extends EventBusError {
  override readonly name = "InvalidCredentialsError";
  readonly code = SecretsErrorCode.invalidCredentials;

  constructor(
    readonly field: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`invalid credentials: ${field}: ${problem}`, options);
  }
}

/** A secret file that should exist does not; `file` is its path. */
export class MissingSecretFileError extends EventBusError {
  override readonly name = "MissingSecretFileError";
  readonly code = SecretsErrorCode.secretFileMissing;

  constructor(
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(`secret file ${file} does not exist`, options);
  }
}

/** A secret file exists but cannot be read; `reason` is the errno code (`EACCES`, `EISDIR`, …). */
export class UnreadableSecretFileError extends EventBusError {
  override readonly name = "UnreadableSecretFileError";
  readonly code = SecretsErrorCode.secretFileUnreadable;

  constructor(
    readonly file: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`secret file ${file} cannot be read (${reason})`, options);
  }
}

/** A secret file whose content is wrong; `problem` describes it without quoting the content. */
export class InvalidSecretFileError extends EventBusError {
  override readonly name = "InvalidSecretFileError";
  readonly code = SecretsErrorCode.secretFileInvalid;

  constructor(
    readonly file: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`secret file ${file} is invalid: ${problem}`, options);
  }
}

/** A secret file could not be written; `reason` is the errno code. Nothing of the data is kept. */
export class SecretWriteError extends EventBusError {
  override readonly name = "SecretWriteError";
  readonly code = SecretsErrorCode.secretFileWriteFailed;

  constructor(
    readonly file: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot write secret file ${file} (${reason})`, options);
  }
}

/** A secrets directory could not be created or given mode 0700, or the path is not a directory. */
export class SecretDirError extends EventBusError {
  override readonly name = "SecretDirError";
  readonly code = SecretsErrorCode.secretDirUnusable;

  constructor(
    readonly dir: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot use ${dir} as a secrets directory (${reason})`, options);
  }
}

/** Any error of the secrets area. */
export type SecretsError =
  | InvalidCertificateRequestError
  | InvalidCertificateAuthorityError
  | InvalidPemError
  | InvalidCredentialsError
  | MissingSecretFileError
  | UnreadableSecretFileError
  | InvalidSecretFileError
  | SecretWriteError
  | SecretDirError;

/**
 * Whether `err` is an error of the secrets area, optionally with the given code.
 * @example `if (isSecretsError(err, SecretsErrorCode.secretFileMissing)) console.error(err.file)`
 */
export function isSecretsError(err: unknown, code?: SecretsErrorCode): err is SecretsError {
  if (
    !(
      err instanceof InvalidCertificateRequestError ||
      err instanceof InvalidCertificateAuthorityError ||
      err instanceof InvalidPemError ||
      err instanceof InvalidCredentialsError ||
      err instanceof MissingSecretFileError ||
      err instanceof UnreadableSecretFileError ||
      err instanceof InvalidSecretFileError ||
      err instanceof SecretWriteError ||
      err instanceof SecretDirError
    )
  ) {
    return false;
  }
  return code === undefined || err.code === code;
}
