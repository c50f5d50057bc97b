/**
 * Failures of the NATS Streaming (STAN) client. They are {@link BusError}s, so `isClientError` and
 * the CLI treat them like the JetStream client's: the `code` says which kind of operation failed
 * (connect, publish, subscribe, close), the `reason` why. Messages name the cluster ID, the client
 * ID and the channel (none is secret), never message data.
 */
import { BusError, ClientErrorCode } from "../errors.js";

/** Why a STAN operation failed. */
export const StanFailureReason = {
  /** Nothing answered the connect request on `_STAN.discover.<clusterID>`: no server, or another cluster ID. */
  noServer: "no-server",
  /** The server refused the client ID: another live connection holds it. */
  clientIdTaken: "client-id-taken",
  /** The server refused the request and said why (the message quotes it). */
  refused: "refused",
  /** No answer came within the timeout. */
  timeout: "timeout",
  /** The connection or the subscription was closed by this client. */
  closed: "closed",
  /** The connection was lost: the server stopped answering PINGs, replaced it, or the NATS connection closed. */
  connectionLost: "connection-lost",
  /** An answer of the server that is not the protocol message expected. */
  malformed: "malformed",
  /** Options that cannot work, refused before anything is sent. */
  invalidOptions: "invalid-options",
} as const;
/** One of the {@link StanFailureReason} values. */
export type StanFailureReason = (typeof StanFailureReason)[keyof typeof StanFailureReason];

/** The codes a {@link BusError} may carry. */
type BusErrorCode = ConstructorParameters<typeof BusError>[0];

/** A failure of the STAN client, with the operation's {@link ClientErrorCode} and a {@link StanFailureReason}. */
export class StanError extends BusError {
  override readonly name = "StanError";

  constructor(
    code: BusErrorCode,
    readonly reason: StanFailureReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** Whether `err` is a {@link StanError}, optionally for one reason. */
export function isStanError(err: unknown, reason?: StanFailureReason): err is StanError {
  return err instanceof StanError && (reason === undefined || err.reason === reason);
}

/** Options that cannot work, refused before anything is sent. */
export function invalidStanOptions(message: string): StanError {
  return new StanError(ClientErrorCode.invalidOptions, StanFailureReason.invalidOptions, message);
}
