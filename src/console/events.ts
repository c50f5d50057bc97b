/**
 * The event browser's reader: the last events of a subject in the stream, read with the JetStream
 * API's message get (`$JS.API.STREAM.MSG.GET`, `next_by_subj`), so that no consumer is created —
 * neither durable nor ephemeral — and nothing is acknowledged: what the sensors see is untouched.
 */
import type { JetStreamManager, MsgRequest } from "@nats-io/jetstream";

import { ARGO_STREAM_NAME, decodeEvent, isJsonContentType, MSG_ID_HEADER, type EventBusClient } from "../client/index.js";
import { ConsoleError, ConsoleErrorCode } from "./errors.js";
import type { BrowsedEvent, BrowsedEvents, EventData } from "./model.js";

/** The most events one read returns. */
export const MAX_BROWSED_EVENTS = 200;

/** An event's data longer than this is cut (the page shows the first part and says so). */
export const MAX_SHOWN_DATA_BYTES = 64 * 1024;

/** Options of {@link browseEvents}. */
export interface BrowseOptions {
  /** A subject filter: `default.>`, `default.<source>.*`, `default.<source>.<event>`. @default "default.>" */
  readonly subject?: string;
  /** How many of the newest matching events. @default 50 */
  readonly limit?: number;
  /** @default "default" */
  readonly stream?: string;
}

/**
 * The newest `limit` events of the stream on `subject`, newest first. The stream's sequences are
 * searched backwards in growing windows, each read forwards with `next_by_subj` (one request per
 * matching event; the server skips the others), until `limit` are found or the stream's first
 * sequence is reached.
 * @throws {@link ConsoleError} `BAD_REQUEST` for a subject or limit that cannot be read
 */
export async function browseEvents(client: EventBusClient, busId: string, options: BrowseOptions = {}): Promise<BrowsedEvents> {
  const subject = options.subject ?? `${ARGO_STREAM_NAME}.>`;
  const limit = options.limit ?? 50;
  const stream = options.stream ?? ARGO_STREAM_NAME;
  checkSubjectFilter(subject);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BROWSED_EVENTS)
    throw new ConsoleError(ConsoleErrorCode.badRequest, `limit: must be an integer from 1 to ${MAX_BROWSED_EVENTS}, got ${limit}`);
  const jsm = await client.manager();
  const { state } = await jsm.streams.info(stream);
  const found: BrowsedEvent[] = [];
  if (state.messages > 0) {
    let end = state.last_seq;
    for (let window = limit * 2; end >= state.first_seq && found.length < limit; window *= 4) {
      const start = Math.max(state.first_seq, end - window + 1);
      found.unshift(...(await readRange(jsm, stream, subject, start, end)));
      end = start - 1;
    }
  }
  return { bus: busId, stream, subject, lastSeq: state.last_seq, events: found.slice(-limit).reverse() };
}

/** The events on `subject` from `start` to `end`, oldest first. */
async function readRange(jsm: JetStreamManager, stream: string, subject: string, start: number, end: number): Promise<BrowsedEvent[]> {
  const events: BrowsedEvent[] = [];
  for (let seq = start; seq <= end; ) {
    // nats-server answers `next_by_subj` from `seq` on (2.10.29 server/jetstream_api.go
    // jsMsgGetRequest: LoadNextMsg with the filter, wildcards allowed); nats.js 3.4 sends the query
    // as given but types only `seq` and `last_by_subj`.
    const query = { seq, next_by_subj: subject } as unknown as MsgRequest;
    const m = await jsm.streams.getMessage(stream, query);
    // null: no event on the subject at or after seq (nats.js answers a 404 so).
    if (m === null || m.seq > end) break;
    events.push(browsed(m.seq, m.subject, m.time, m.header?.get(MSG_ID_HEADER), m.data));
    seq = m.seq + 1;
  }
  return events;
}

/** One stored message as the browser shows it: a CloudEvent's attributes and data, else the body as it is. */
export function browsed(seq: number, subject: string, stored: Date, msgId: string | undefined, body: Uint8Array): BrowsedEvent {
  const base = { seq, subject, stored: stored.toISOString(), size: body.length, ...(msgId && { msgId }) };
  try {
    const e = decodeEvent(subject, undefined, body);
    return {
      ...base,
      cloudEvent: {
        specversion: e.specversion,
        id: e.id,
        source: e.source,
        type: e.type,
        subject: e.subject,
        ...(e.time !== undefined && { time: e.time }),
        ...(e.datacontenttype !== undefined && { datacontenttype: e.datacontenttype }),
      },
      data: dataOf(e.data, e.datacontenttype),
    };
  } catch (error) {
    return { ...base, data: dataOf(body, undefined), notCloudEvent: (error as Error).message };
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Bytes as JSON when they parse as JSON (and the content type does not say otherwise), else text when they are UTF-8, else base64. */
function dataOf(bytes: Uint8Array, contentType: string | undefined): EventData {
  if (bytes.length === 0) return { kind: "none" };
  const shown = bytes.length > MAX_SHOWN_DATA_BYTES ? bytes.subarray(0, MAX_SHOWN_DATA_BYTES) : bytes;
  const truncated = shown !== bytes;
  let text: string;
  try {
    text = strictUtf8.decode(shown);
  } catch {
    return { kind: "base64", value: Buffer.from(shown).toString("base64"), ...(truncated && { truncated }) };
  }
  if (!truncated && (contentType === undefined || isJsonContentType(contentType))) {
    try {
      return { kind: "json", value: JSON.parse(text) as unknown };
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return { kind: "text", value: text, ...(truncated && { truncated }) };
}

/** A NATS subject filter: dot-separated tokens, none empty or with spaces, `>` only last. */
export function checkSubjectFilter(subject: string): void {
  const tokens = subject.split(".");
  const bad = tokens.findIndex((t, i) => t === "" || /\s/.test(t) || (t.length > 1 && /[*>]/.test(t)) || (t === ">" && i !== tokens.length - 1));
  if (subject.length > 255 || bad !== -1) {
    throw new ConsoleError(
      ConsoleErrorCode.badRequest,
      `subject: ${JSON.stringify(subject)} is not a subject filter; give dot-separated tokens such as default.>, default.webhook.* or default.webhook.example`,
    );
  }
}
