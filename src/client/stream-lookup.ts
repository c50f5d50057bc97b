/**
 * What a publisher asks the bus when a publish cannot be settled from its answer alone: why no
 * stream answered (no JetStream for the account, no stream for the subject, a stream without a
 * leader, a store that is full), and whether an event whose id the leader holds "in process" is
 * really in the stream.
 */
import { DeliverPolicy, JetStreamApiError } from "@nats-io/jetstream";
import { errors as natsErrors } from "@nats-io/transport-node";

import type { EventBusClient } from "./connection.js";
import { JetStreamErrorCode, PublishFailureReason, isNoResponders } from "./publish-errors.js";
import { ARGO_STREAM_NAME, MSG_ID_HEADER, type EncodedEvent } from "./wire.js";

/** How long a full store is remembered: a stream without a leader meanwhile is taken to be its victim. */
const STORE_EXHAUSTED_MEMORY_MILLIS = 60_000;
/** How long one diagnosis is reused for the other events of the same subject. */
const DIAGNOSIS_REUSE_MILLIS = 1_000;
/** Each request of a diagnosis or search waits this long at most. */
const LOOKUP_TIMEOUT_MILLIS = 3_000;
/** How long the search for one event may take in all. */
const SEARCH_TIMEOUT_MILLIS = 30_000;

/** Why no stream answered a publish. */
export interface NoRespondersDiagnosis {
  /** What is being waited for, for a person. */
  readonly why: string;
  /** Set when waiting cannot help. */
  readonly refused?: { readonly reason: PublishFailureReason; readonly why: string; readonly serverCode?: number };
}

interface Exhaustion {
  readonly at: number;
  readonly why: string;
  readonly serverCode: number | undefined;
}

const exhaustedStores = new WeakMap<EventBusClient, Exhaustion>();
const diagnoses = new WeakMap<EventBusClient, Map<string, { readonly at: number; readonly diagnosis: Promise<NoRespondersDiagnosis> }>>();

/** Remembers that the bus refused an event because its store is full. */
export function rememberStoreExhausted(client: EventBusClient, why: string, serverCode: number | undefined): void {
  exhaustedStores.set(client, { at: Date.now(), why, serverCode });
}

/** Why no stream answered a publish on `subject`; one request set per subject a second, shared by the events waiting. */
export function diagnoseNoResponders(client: EventBusClient, subject: string): Promise<NoRespondersDiagnosis> {
  let bySubject = diagnoses.get(client);
  if (!bySubject) diagnoses.set(client, (bySubject = new Map()));
  const cached = bySubject.get(subject);
  if (cached && Date.now() - cached.at < DIAGNOSIS_REUSE_MILLIS) return cached.diagnosis;
  const diagnosis = diagnose(client, subject);
  bySubject.set(subject, { at: Date.now(), diagnosis });
  return diagnosis;
}

async function diagnose(client: EventBusClient, subject: string): Promise<NoRespondersDiagnosis> {
  const prefix = client.js.apiPrefix;
  const account = await apiRequest<{ error?: { err_code?: number; description?: string } }>(client, `${prefix}.INFO`, "");
  if (account === "no-responders") {
    return { why: "JetStream does not answer (no responders to its API): the servers are starting, or this user's account or server has no JetStream" };
  }
  const code = account?.error?.err_code;
  if (code === JetStreamErrorCode.notEnabledForAccount || code === JetStreamErrorCode.notEnabled) {
    return {
      why: "no JetStream",
      refused: {
        reason: PublishFailureReason.noJetStream,
        why: `${account?.error?.description ?? "JetStream not enabled"}: this user's account has no JetStream, so no stream can store events (use the bus's event user)`,
        serverCode: code,
      },
    };
  }
  const names = await apiRequest<{ streams?: string[] | null }>(client, `${prefix}.STREAM.NAMES`, JSON.stringify({ subject }));
  const streams = names !== "no-responders" ? (names?.streams ?? []) : [];
  if (names !== undefined && names !== "no-responders" && streams.length === 0) {
    // As Argo's event sources do when they start: the stream is created from the bus's
    // streamConfig when missing (the controller makes the servers, not the stream). Not by a client
    // that has published into it: a stream that vanished is being replaced by a restore, whose
    // stream would find its name taken.
    const made =
      subject.startsWith(`${ARGO_STREAM_NAME}.`) && !client.hasStored ? await client.ensureArgoStream().catch((error: unknown) => error as Error) : "none";
    if (made === "created" || made === "exists")
      return { why: `no stream took subject ${subject}: stream ${ARGO_STREAM_NAME} was created from the bus's streamConfig` };
    return {
      why: `no stream takes subject ${subject}: the bus's stream is not created yet (eventbus up creates it for a local bus, and an Argo event source or sensor, or this client given the bus's status.config, for a bus on Kubernetes)${made instanceof Error ? `; creating it from the bus's streamConfig failed: ${made.message}` : ""}`,
    };
  }
  const stream = streams[0] ?? "default";
  const exhausted = exhaustedStores.get(client);
  if (exhausted && Date.now() - exhausted.at < STORE_EXHAUSTED_MEMORY_MILLIS) {
    return {
      why: "store full",
      refused: { reason: PublishFailureReason.storeExhausted, why: `stream ${stream} has no leader since ${exhausted.why}`, serverCode: exhausted.serverCode },
    };
  }
  const full = await fullStores(client.target.monitors ?? []);
  if (full.length > 0) {
    return {
      why: "store full",
      refused: {
        reason: PublishFailureReason.storeExhausted,
        why: `stream ${stream} has no leader because the bus's JetStream store is full: the file store of ${full.length === 1 ? "the server" : `${full.length} servers`} at ${full.join(", ")} is over max_file_store, and a server over its limit neither stores events nor stands for election (raise spec.jetstream.settings max_file_store, and limit the stream with maxBytes)`,
      },
    };
  }
  return { why: `stream ${stream} takes ${subject} but has no leader (an election is under way, or too few of its servers are up)` };
}

/**
 * The monitoring endpoints whose server's JetStream file store is over its limit (`/jsz` `storage`
 * at or above `config.max_storage`): such a server refuses writes and does not stand for election.
 */
async function fullStores(monitors: readonly string[]): Promise<string[]> {
  const views = await Promise.all(
    monitors.map((url) =>
      fetch(`${url}/jsz`, { signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MILLIS) })
        .then((r) => r.json() as Promise<{ storage?: number; config?: { max_storage?: number } }>)
        .then((jsz) => ((jsz.config?.max_storage ?? 0) > 0 && (jsz.storage ?? 0) >= jsz.config!.max_storage! ? url : undefined))
        .catch(() => undefined),
    ),
  );
  return views.filter((v): v is string => v !== undefined);
}

/** A request to the JetStream API: its JSON answer, `"no-responders"`, or undefined (timed out, or not JSON). */
async function apiRequest<T>(client: EventBusClient, subject: string, body: string): Promise<T | "no-responders" | undefined> {
  try {
    const reply = await client.nc.request(subject, body, { timeout: LOOKUP_TIMEOUT_MILLIS });
    return reply.json<T>();
  } catch (error) {
    return isNoResponders(error) ? "no-responders" : undefined;
  }
}

/** Where an event was found in the stream. */
export interface StoredEvent {
  readonly stream: string;
  readonly seq: number;
}

/**
 * Looks for an event by its id in the stream that takes its subject, from `afterSeq + 1` on: an
 * ordered consumer of the event's subject that reads headers only.
 * @returns the event's place, or undefined when it is not in the stream
 * @throws when the stream cannot be read within {@link SEARCH_TIMEOUT_MILLIS}
 */
export async function findStoredEvent(client: EventBusClient, encoded: EncodedEvent, afterSeq: number): Promise<StoredEvent | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await searchStream(client, encoded, afterSeq);
    } catch (error) {
      // Right after a cluster change the JetStream API can go unanswered for a moment (a search in
      // CI found no responders for its consumer): asked again a few times before it counts.
      const unanswered = isNoResponders(error) || /no responders/i.test((error as Error).message ?? "");
      if (!unanswered || attempt >= SEARCH_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, SEARCH_RETRY_PAUSE_MILLIS * attempt));
    }
  }
}

/** How many times a search that no JetStream API answered is made. */
const SEARCH_ATTEMPTS = 4;
const SEARCH_RETRY_PAUSE_MILLIS = 250;

async function searchStream(client: EventBusClient, encoded: EncodedEvent, afterSeq: number): Promise<StoredEvent | undefined> {
  const names = await apiRequest<{ streams?: string[] | null }>(client, `${client.js.apiPrefix}.STREAM.NAMES`, JSON.stringify({ subject: encoded.subject }));
  if (names === "no-responders") throw new natsErrors.NoRespondersError(`${client.js.apiPrefix}.STREAM.NAMES`);
  const stream = names?.streams?.[0];
  if (stream === undefined) throw new Error(`no stream takes ${encoded.subject}`);
  const consumer = await client.js.consumers.get(stream, {
    filter_subjects: encoded.subject,
    headers_only: true,
    ...(afterSeq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 } : { deliver_policy: DeliverPolicy.All }),
  });
  const deadline = Date.now() + SEARCH_TIMEOUT_MILLIS;
  try {
    while (Date.now() < deadline) {
      // An empty batch means the search read past the stream's last message of the subject.
      let read = 0;
      for await (const m of await consumer.fetch({ max_messages: 512, expires: LOOKUP_TIMEOUT_MILLIS })) {
        read++;
        if (m.headers?.get(MSG_ID_HEADER) === encoded.id) return { stream, seq: m.seq };
        if (m.info.pending === 0) return undefined;
      }
      if (read === 0) return undefined;
    }
    throw new Error(`the search took longer than ${SEARCH_TIMEOUT_MILLIS / 1000}s`);
  } catch (error) {
    if (error instanceof JetStreamApiError) throw new Error(`${error.message} (err_code ${error.code})`, { cause: error });
    throw error;
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
