/**
 * Raw JetStream API requests for what nats.js does not wrap: the snapshot and restore subjects
 * (`$JS.API.STREAM.SNAPSHOT.<stream>`, `$JS.API.STREAM.RESTORE.<stream>`, nats-server
 * `server/jetstream_api.go`), and the error shape every API answer shares.
 */
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { BackupError, type BackupErrorCode } from "./errors.js";

/** The JetStream API prefix of an account without a domain. */
export const JS_API = "$JS.API";
/** How long an API request may take. */
export const API_TIMEOUT_MILLIS = 10_000;

/** The `error` of a JetStream API answer. */
interface ApiError {
  readonly code?: number;
  readonly err_code?: number;
  readonly description?: string;
}

/** The JSON answer of a JetStream API request, or a {@link BackupError} with the server's words. */
export async function apiRequest<T>(
  nc: NatsConnection,
  subject: string,
  body: unknown,
  failure: BackupErrorCode,
  what: string,
  timeoutMillis = API_TIMEOUT_MILLIS,
): Promise<T> {
  let reply: Msg;
  try {
    reply = await nc.request(subject, JSON.stringify(body), { timeout: timeoutMillis });
  } catch (error) {
    throw new BackupError(failure, `${what}: ${requestFailure(error, timeoutMillis)}`, { cause: error });
  }
  return parseApiAnswer<T>(reply.data, failure, what);
}

/** Parses an API answer's JSON; an `error` in it becomes a {@link BackupError}. */
export function parseApiAnswer<T>(data: Uint8Array, failure: BackupErrorCode, what: string): T {
  const text = new TextDecoder().decode(data);
  let answer: T & { error?: ApiError };
  try {
    answer = JSON.parse(text) as T & { error?: ApiError };
  } catch {
    throw new BackupError(failure, `${what}: the server answered ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (answer.error) throw new BackupError(failure, `${what}: ${apiErrorText(answer.error)}`);
  return answer;
}

/** `stream name already in use (err_code 10058)`. */
export function apiErrorText(error: ApiError): string {
  return `${error.description ?? "refused"}${error.err_code !== undefined ? ` (err_code ${error.err_code})` : ""}`;
}

const NO_RESPONDERS = /no responders|503/i;
const TIMED_OUT = /timeout/i;

/** Whether a request (or the {@link BackupError} made of it) failed for want of an answer, not for what the server said. */
export function isUnanswered(error: unknown): boolean {
  const cause = error instanceof BackupError ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  return NO_RESPONDERS.test(message) || TIMED_OUT.test(message);
}

/** Why a request got no answer, in words a person can act on. */
export function requestFailure(error: unknown, timeoutMillis: number): string {
  const message = error instanceof Error ? error.message : String(error);
  if (NO_RESPONDERS.test(message))
    return "JetStream did not answer (no responders): is JetStream enabled for this account, and does the bus have a meta leader?";
  if (TIMED_OUT.test(message))
    return `no answer within ${Math.round(timeoutMillis / 1000)} s: the bus may be without a leader; try again when eventbus status shows it healthy`;
  return message;
}
