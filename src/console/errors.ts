/** The console's failures, each with a stable code and the HTTP status it is served with. */
import { EventBusError } from "../api/index.js";

export const ConsoleErrorCode = {
  /** A request the console cannot answer as asked (a bad subject filter or limit). */
  badRequest: "CONSOLE_BAD_REQUEST",
  /** No such bus, or no such page. */
  notFound: "CONSOLE_NOT_FOUND",
  /** The bus cannot be read now (not connected yet, stopped). */
  unavailable: "CONSOLE_UNAVAILABLE",
  /** The console could not listen where asked. */
  listen: "CONSOLE_LISTEN_FAILED",
} as const;
export type ConsoleErrorCode = (typeof ConsoleErrorCode)[keyof typeof ConsoleErrorCode];

const HTTP_STATUS: Readonly<Record<ConsoleErrorCode, number>> = {
  [ConsoleErrorCode.badRequest]: 400,
  [ConsoleErrorCode.notFound]: 404,
  [ConsoleErrorCode.unavailable]: 503,
  [ConsoleErrorCode.listen]: 500,
};

/** A failure of the console, served as `{ "error": message }` with its HTTP status. */
export class ConsoleError extends EventBusError {
  override readonly name = "ConsoleError";
  constructor(
    readonly code: ConsoleErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The HTTP status the error is served with. */
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}
