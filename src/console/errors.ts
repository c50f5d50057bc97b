/** The console's failures, each with a stable code and the HTTP status it is served with. */
export const ConsoleErrorCode = {
  /** A request the console cannot answer as asked (a bad subject filter or limit). */
  badRequest: "BAD_REQUEST",
  /** No such bus, or no such page. */
  notFound: "NOT_FOUND",
  /** The bus cannot be read now (not connected yet, stopped). */
  unavailable: "UNAVAILABLE",
  /** The console could not listen where asked. */
  listen: "LISTEN",
} as const;
export type ConsoleErrorCode = (typeof ConsoleErrorCode)[keyof typeof ConsoleErrorCode];

const HTTP_STATUS: Readonly<Record<ConsoleErrorCode, number>> = { BAD_REQUEST: 400, NOT_FOUND: 404, UNAVAILABLE: 503, LISTEN: 500 };

/** A failure of the console, served as `{ "error": message }` with its HTTP status. */
export class ConsoleError extends Error {
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
