/**
 * Errors of the client area. Each class carries a stable {@link ClientErrorCode}. No message repeats
 * a password, a token, a credentials file or an event's data: they may be secret.
 */
import { EventBusError } from "../api/index.js";

/** Stable codes of the client errors. */
export const ClientErrorCode = {
  /** An event source or event name that would not stay one NATS subject token. */
  invalidSubjectToken: "CLIENT_INVALID_SUBJECT_TOKEN",
  /** An event that cannot be encoded, or a message body that is not an Argo Events CloudEvent. */
  invalidEvent: "CLIENT_INVALID_EVENT",
  /** An Argo `EVENTBUS_CONFIG` (an EventBus's `status.config`) that cannot be used. */
  invalidConfig: "CLIENT_INVALID_CONFIG",
  /** An Argo auth file (`/etc/eventbus/auth/auth.yaml`) that cannot be read as credentials. */
  invalidAuthFile: "CLIENT_INVALID_AUTH_FILE",
  /** Connection options that cannot work together, or a file they name that cannot be read. */
  invalidOptions: "CLIENT_INVALID_OPTIONS",
  /** No server of the bus answered before the deadline. */
  unreachable: "CLIENT_UNREACHABLE",
  /** The bus refused the credentials. */
  authRefused: "CLIENT_AUTH_REFUSED",
  /** The TLS handshake failed: an unverified certificate, a missing CA, a TLS-only server. */
  tls: "CLIENT_TLS_FAILED",
  /** An event larger than the bus's `max_payload`. */
  payloadTooLarge: "CLIENT_PAYLOAD_TOO_LARGE",
  /** A publish that was not acknowledged by the stream within the retry window. */
  publishFailed: "CLIENT_PUBLISH_FAILED",
  /** A consumer that cannot be created or used for a subscription. */
  consumer: "CLIENT_CONSUMER_FAILED",
  /** A stream that cannot be read or changed as asked. */
  stream: "CLIENT_STREAM_FAILED",
  /** The connection was closed. */
  closed: "CLIENT_CLOSED",
} as const;

/** One of the {@link ClientErrorCode} values. */
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** One problem of a config or auth file, at a field path such as `jetstream.url`. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A name that must be a single NATS subject token (`default.<source>.<event>`) is empty or holds
 * `.`, `*`, `>`, whitespace or a control character.
 */
export class InvalidSubjectTokenError extends EventBusError {
  override readonly name = "InvalidSubjectTokenError";
  readonly code = ClientErrorCode.invalidSubjectToken;

  /**
   * @param field - the event field the name is for: `source` (the event source name) or `subject` (the event name)
   * @param value - the refused name (names are not secret)
   * @param reason - what is wrong with it
   */
  constructor(
    readonly field: string,
    readonly value: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${field}: ${reason}, got ${quoteName(value)}; the name becomes one token of the subject default.<source>.<event>`, options);
  }
}

/** An event that cannot be encoded, or a message body that is not an Argo Events CloudEvent. */
export class InvalidEventError extends EventBusError {
  override readonly name = "InvalidEventError";
  readonly code = ClientErrorCode.invalidEvent;

  /**
   * @param field - the CloudEvents attribute at fault (`id`, `time`, `data`, …), or `body` for the document as a whole
   * @param reason - what is wrong, without the event's data
   */
  constructor(
    readonly field: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${field}: ${reason}`, options);
  }
}

/** An `EVENTBUS_CONFIG` that cannot be used: carries every issue, each at its field path. */
export class InvalidConfigError extends EventBusError {
  override readonly name = "InvalidConfigError";
  readonly code = ClientErrorCode.invalidConfig;

  constructor(
    readonly issues: readonly ConfigIssue[],
    options?: ErrorOptions,
  ) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join("\n"), options);
  }
}

/** An auth file that cannot be read as credentials. The message names the field, never its value. */
export class InvalidAuthFileError extends EventBusError {
  override readonly name = "InvalidAuthFileError";
  readonly code = ClientErrorCode.invalidAuthFile;

  /**
   * @param field - the key at fault (`username`, `password`, `token`), or `auth file` for the text as a whole
   * @param reason - what is wrong, without any value
   */
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    // No `cause`: a parser's error would quote the secret text.
    super(`${field}: ${reason}`);
  }
}

/** Codes of the failures of a live bus (as opposed to bad input). */
type BusErrorCode =
  | typeof ClientErrorCode.invalidOptions
  | typeof ClientErrorCode.unreachable
  | typeof ClientErrorCode.authRefused
  | typeof ClientErrorCode.tls
  | typeof ClientErrorCode.publishFailed
  | typeof ClientErrorCode.consumer
  | typeof ClientErrorCode.stream
  | typeof ClientErrorCode.closed;

/**
 * A failure talking to a bus, or connection options that cannot work. The message says what to do;
 * it never holds a password, token or event data (the `cause` is a nats.js error, which holds none).
 */
export class BusError extends EventBusError {
  override readonly name: string = "BusError";

  constructor(
    readonly code: BusErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An event whose message is larger than the bus accepts (`max_payload`). */
export class PayloadTooLargeError extends EventBusError {
  override readonly name = "PayloadTooLargeError";
  readonly code = ClientErrorCode.payloadTooLarge;

  /**
   * @param size - the message's size in bytes (body and headers)
   * @param limit - the server's `max_payload` in bytes
   */
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`event: the message is ${size} bytes, over the bus's max_payload of ${limit} bytes; raise spec.jetstream.maxPayload or send a smaller event`);
  }
}

/** Any error of the client area. */
export type ClientError = InvalidSubjectTokenError | InvalidEventError | InvalidConfigError | InvalidAuthFileError | BusError | PayloadTooLargeError;

/** Whether `err` is an error of the client area, optionally with the given code. */
export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  if (
    !(
      err instanceof InvalidSubjectTokenError ||
      err instanceof InvalidEventError ||
      err instanceof InvalidConfigError ||
      err instanceof InvalidAuthFileError ||
      err instanceof BusError ||
      err instanceof PayloadTooLargeError
    )
  ) {
    return false;
  }
  return code === undefined || err.code === code;
}

/** Quotes a name for a message, cut short so that a hostile value cannot flood a log. */
export function quoteName(value: string): string {
  const short = value.length > 64 ? `${value.slice(0, 61)}...` : value;
  return JSON.stringify(short);
}
