/**
 * What a failed publish means, from the stream's answer. A publish ends in exactly one of three
 * fates: stored (an acknowledgement with a sequence), a duplicate of a stored event (an
 * acknowledgement marked duplicate, with the sequence of the stored copy), or failed with a reason.
 * Only answers that may change by asking again (a timeout, no stream leader yet) are retried; a
 * limit of the stream or of the servers' store is reported as what it is, at once.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { errors as natsErrors, RequestError } from "@nats-io/transport-node";

import { BusError, ClientErrorCode } from "./errors.js";

/**
 * The JetStream API error codes (`err_code`) a publish is answered with, as nats-server defines
 * them in `server/errors.json` (2.10 and 2.11).
 */
export const JetStreamErrorCode = {
  /** 400 "resource limits exceeded for account": the account's JetStream limits. */
  accountResourcesExceeded: 10002,
  /** 503 "JetStream system temporarily unavailable". */
  clusterNotAvailable: 10008,
  /** 503 "insufficient resources": a server's `max_file_store`/`max_memory_store` is reached; the stream leader steps down. */
  insufficientResources: 10023,
  /** 500 "insufficient memory resources available". */
  memoryResourcesExceeded: 10028,
  /** 503 "JetStream not enabled for account". */
  notEnabledForAccount: 10039,
  /** 500 "insufficient storage resources available". */
  storageResourcesExceeded: 10047,
  /** 400 "message size exceeds maximum allowed": the stream's `max_msg_size`. */
  messageExceedsMaximum: 10054,
  /** 503 "JetStream not enabled". */
  notEnabled: 10076,
  /** 503 "{err}": the stream's store refused the message (maximum bytes / messages / messages per subject exceeded, …). */
  storeFailed: 10077,
  /** 409 "duplicate message id is in process" (2.11): the id is staged on the leader, not (yet) stored. */
  duplicateInProcess: 10158,
} as const;
/** One of the {@link JetStreamErrorCode} values. */
export type JetStreamErrorCode = (typeof JetStreamErrorCode)[keyof typeof JetStreamErrorCode];

/** Why an event was not stored. */
export const PublishFailureReason = {
  /** The stream is at its `maxBytes`/`maxMsgs`/per-subject limit and discards new events. */
  streamFull: "stream-full",
  /** A server's JetStream store (`max_file_store`/`max_memory_store`) or the account's limits are exhausted. */
  storeExhausted: "store-exhausted",
  /** The event is larger than the stream accepts. */
  tooLarge: "too-large",
  /** The user's account has no JetStream. */
  noJetStream: "no-jetstream",
  /** No stream took the subject, or the stream had no leader, for the whole retry window. */
  noStream: "no-stream",
  /** No acknowledgement came within the retry window. */
  unacknowledged: "unacknowledged",
  /**
   * The stream's leader holds the event's id as "in process" but the event is not in the stream:
   * an earlier attempt was refused or lost on the server, and the id stays in the duplicates window.
   */
  notStored: "not-stored",
  /** Another refusal by the stream (the server's reason is in the message). */
  refused: "refused",
  /** The connection closed. */
  closed: "closed",
} as const;
/** One of the {@link PublishFailureReason} values. */
export type PublishFailureReason = (typeof PublishFailureReason)[keyof typeof PublishFailureReason];

/** An event that was not stored, and why. Never holds the event's data. */
export class PublishFailedError extends BusError {
  override readonly name = "PublishFailedError";

  constructor(
    /** The event id (its `Nats-Msg-Id`). */
    readonly id: string,
    readonly subject: string,
    readonly reason: PublishFailureReason,
    /** The server's reason, or what was waited for. */
    readonly detail: string,
    /** How many times the event was sent. */
    readonly attempts: number,
    options?: ErrorOptions & { readonly serverCode?: number },
  ) {
    super(ClientErrorCode.publishFailed, `event ${id} on ${subject}: not stored: ${detail}`, options);
    this.serverCode = options?.serverCode;
  }

  /** The JetStream `err_code` of the refusal, when the server gave one. */
  readonly serverCode: number | undefined;
}

/** Whether `err` is a {@link PublishFailedError}, optionally for one reason. */
export function isPublishFailed(err: unknown, reason?: PublishFailureReason): err is PublishFailedError {
  return err instanceof PublishFailedError && (reason === undefined || err.reason === reason);
}

/** What to do after a failed attempt. */
export type PublishVerdict =
  /** Ask again with the same id: the answer may change (a timeout, a leader election, no responders). */
  | { readonly kind: "retry"; readonly noResponders: boolean; readonly why: string }
  /** The id is staged on the stream's leader and not stored (yet): ask again, then look for it in the stream. */
  | { readonly kind: "in-process" }
  /** Asking again cannot help: the event is not stored, for this reason. */
  | { readonly kind: "refused"; readonly reason: PublishFailureReason; readonly why: string; readonly serverCode?: number };

/** Classifies the error of one publish attempt. */
export function classifyPublishError(err: unknown): PublishVerdict {
  if (err instanceof natsErrors.TimeoutError) return { kind: "retry", noResponders: false, why: "timed out waiting for the acknowledgement" };
  if (isNoResponders(err)) return { kind: "retry", noResponders: true, why: "no stream answered" };
  if (err instanceof natsErrors.ConnectionError || err instanceof natsErrors.DrainingConnectionError || err instanceof natsErrors.ClosedConnectionError) {
    return { kind: "refused", reason: PublishFailureReason.closed, why: `the connection closed: ${err.message}` };
  }
  if (err instanceof JetStreamApiError) return classifyApiError(err.code, err.status, err.message);
  return { kind: "refused", reason: PublishFailureReason.refused, why: err instanceof Error ? err.message : String(err) };
}

/** Classifies a JetStream API error by its `err_code`, then its status. */
export function classifyApiError(code: number, status: number, description: string): PublishVerdict {
  const refused = (reason: PublishFailureReason, why: string): PublishVerdict => ({ kind: "refused", reason, why, serverCode: code });
  switch (code) {
    case JetStreamErrorCode.duplicateInProcess:
      return { kind: "in-process" };
    case JetStreamErrorCode.storeFailed:
      // The store's own error: a limit of the stream, or the store closing while a server stops.
      if (/closed/i.test(description)) return { kind: "retry", noResponders: false, why: description };
      return /exceeded|too large/i.test(description)
        ? refused(/too large/i.test(description) ? PublishFailureReason.tooLarge : PublishFailureReason.streamFull, streamFullWhy(description))
        : refused(PublishFailureReason.refused, `the stream's store refused it: ${description} (err_code ${code})`);
    case JetStreamErrorCode.insufficientResources:
    case JetStreamErrorCode.storageResourcesExceeded:
    case JetStreamErrorCode.memoryResourcesExceeded:
      return refused(PublishFailureReason.storeExhausted, storeExhaustedWhy(description, code));
    case JetStreamErrorCode.accountResourcesExceeded:
      return refused(PublishFailureReason.storeExhausted, `the account's JetStream limits are reached: ${description} (err_code ${code})`);
    case JetStreamErrorCode.messageExceedsMaximum:
      return refused(PublishFailureReason.tooLarge, `${description}: the event is larger than the stream's max_msg_size (err_code ${code})`);
    case JetStreamErrorCode.notEnabledForAccount:
    case JetStreamErrorCode.notEnabled:
      return refused(PublishFailureReason.noJetStream, `${description}: this user's account has no JetStream (err_code ${code})`);
    default:
      // 503 without a known code: the stream is between leaders, or a proposal failed on the leader.
      if (status === 503 || /leader|unavailable|not ready/i.test(description)) return { kind: "retry", noResponders: false, why: description };
      return refused(PublishFailureReason.refused, `${description} (status ${status}, err_code ${code})`);
  }
}

/** The message of a store exhaustion, with the way out. */
export function storeExhaustedWhy(description: string, code: number): string {
  return `the bus's JetStream store is full: ${description} (err_code ${code}); a server reached its max_file_store or max_memory_store, and the stream has no leader until there is room (raise spec.jetstream.settings max_file_store, or purge or limit the stream with maxBytes)`;
}

function streamFullWhy(description: string): string {
  return `the stream is full: ${description}; it discards new events at its limit (discard: new), so raise maxBytes/maxMsgs, shorten maxAge, or use discard: old`;
}

/** No server answered the request: nats.js reports it as a RequestError, or wraps that as "jetstream is not enabled". */
export function isNoResponders(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof RequestError && e.isNoResponders()) return true;
    if (e instanceof natsErrors.NoRespondersError) return true;
  }
  return false;
}
