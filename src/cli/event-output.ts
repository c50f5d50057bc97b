/**
 * How `eventbus subscribe` prints an event, the same for a JetStream consumer and a NATS Streaming
 * subscription: a table line or a JSON object.
 */
import { isJsonContentType, type ArgoEvent } from "../client/index.js";
import { strictUtf8 } from "./client-flags.js";

/** Characters of an event's data a table line shows at most. */
const TABLE_DATA_CHARS = 200;

/** A received event as the printers need it (a JetStream `ReceivedEvent` is one). */
export interface PrintedEvent {
  readonly event: ArgoEvent;
  /** The stream sequence (JetStream) or the channel sequence (NATS Streaming). */
  readonly seq: number;
  /** How many times the event has been delivered (1 the first time). */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** When the server stored the event. */
  readonly storedAt: Date;
}

/** A subscribed event as one line: `<stored at> <source>/<event> <id> <data>`. */
export function eventLine(received: PrintedEvent): string {
  const { event } = received;
  const text = dataText(event.data);
  const shown =
    text === undefined
      ? `(${event.data.byteLength} bytes, not UTF-8)`
      : escapeControls(text.length > TABLE_DATA_CHARS ? `${text.slice(0, TABLE_DATA_CHARS)}…` : text);
  return `${received.storedAt.toISOString()} ${event.source}/${event.subject} ${event.id} ${shown}`;
}

/** A subscribed event as a JSON object: the data parsed when it is JSON, else text, else base64. */
export function eventJson(received: PrintedEvent) {
  const { event } = received;
  const text = dataText(event.data);
  let data: { data: unknown; dataEncoding?: "base64" };
  if (text === undefined) data = { data: Buffer.from(event.data).toString("base64"), dataEncoding: "base64" };
  else if (isJsonContentType(event.datacontenttype) && text === "") data = { data: null };
  else data = { data: isJsonContentType(event.datacontenttype) ? parseOr(text) : text };
  return {
    id: event.id,
    source: event.source,
    subject: event.subject,
    type: event.type,
    time: event.time,
    datacontenttype: event.datacontenttype,
    ...data,
    seq: received.seq,
    deliveryCount: received.deliveryCount,
    redelivered: received.redelivered,
  };
}

function dataText(data: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(data);
  } catch {
    return undefined;
  }
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Keeps one event on one line: newlines and other control characters are written as escapes. */
function escapeControls(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) =>
    c === "\n" ? "\\n" : c === "\t" ? "\\t" : c === "\r" ? "\\r" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
