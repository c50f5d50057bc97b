/**
 * Errors of the natsconf area. Each class carries a stable {@link NatsConfErrorCode}. No message
 * repeats a rejected value: it may be a secret.
 */
import { EventBusError } from "../api/index.js";

/** Stable codes of the natsconf errors. */
export const NatsConfErrorCode = {
  /** A string holds a character that could end a line or a value (control characters, newlines, lone surrogates). */
  unsafeValue: "NATSCONF_UNSAFE_VALUE",
  /** A value nats-server would refuse, or one that cannot be written (a fraction where an integer belongs, …). */
  invalidValue: "NATSCONF_INVALID_VALUE",
  /** The material does not match the plan: TLS files or credentials that the plan needs are missing, or the other way round. */
  materialMismatch: "NATSCONF_MATERIAL_MISMATCH",
  /** The server index names no server of the plan. */
  unknownServer: "NATSCONF_UNKNOWN_SERVER",
} as const;

/** One of the {@link NatsConfErrorCode} values. */
export type NatsConfErrorCode = (typeof NatsConfErrorCode)[keyof typeof NatsConfErrorCode];

/** A string would not stay one literal value in the config file. */
export class UnsafeValueError extends EventBusError {
  override readonly name = "UnsafeValueError";
  readonly code = NatsConfErrorCode.unsafeValue;

  /**
   * @param path - the config key the value was for, e.g. `jetstream.store_dir`
   * @param reason - what is wrong, without the value itself
   */
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${reason}`, options);
  }
}

/** A value that nats-server would refuse or that the config syntax cannot hold. */
export class InvalidValueError extends EventBusError {
  override readonly name = "InvalidValueError";
  readonly code = NatsConfErrorCode.invalidValue;

  constructor(
    readonly path: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${reason}`, options);
  }
}

/** The server material does not fit the plan. */
export class MaterialMismatchError extends EventBusError {
  override readonly name = "MaterialMismatchError";
  readonly code = NatsConfErrorCode.materialMismatch;

  constructor(
    readonly what: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${what}: ${reason}`, options);
  }
}

/** The plan has no server of that index. */
export class UnknownServerError extends EventBusError {
  override readonly name = "UnknownServerError";
  readonly code = NatsConfErrorCode.unknownServer;

  constructor(
    readonly serverIndex: number,
    readonly servers: number,
    options?: ErrorOptions,
  ) {
    super(`server index ${serverIndex} is not one of the plan's ${servers} servers (0 to ${servers - 1})`, options);
  }
}

/** Any error of the natsconf area. */
export type NatsConfError = UnsafeValueError | InvalidValueError | MaterialMismatchError | UnknownServerError;

/** Whether `err` is an error of the natsconf area, optionally with the given code. */
export function isNatsConfError(err: unknown, code?: NatsConfErrorCode): err is NatsConfError {
  if (!(err instanceof UnsafeValueError || err instanceof InvalidValueError || err instanceof MaterialMismatchError || err instanceof UnknownServerError)) {
    return false;
  }
  return code === undefined || err.code === code;
}
