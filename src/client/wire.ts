/**
 * Argo Events' JetStream wire format. An event source publishes each event as a CloudEvents 1.0 JSON
 * document on `default.<eventSourceName>.<eventName>` with the header `Nats-Msg-Id` set to the event
 * id (JetStream's de-duplication key). Argo builds the document with cloudevents/sdk-go:
 * `event.SetData("application/json", []byte)` and `json.Marshal(event)`; because the data is a byte
 * slice, sdk-go writes it base64-encoded in `data_base64`, after the attributes in the order
 * `specversion, id, source, type, subject, datacontenttype, time`. {@link encodeEvent} writes the
 * same bytes; {@link decodeEvent} reads both that and the `data` form other CloudEvents writers use.
 */
import { randomFillSync } from "node:crypto";

import { InvalidEventError } from "./errors.js";
import { checkSubjectToken } from "./subject-token.js";

/** The JetStream stream Argo Events publishes to, and the first token of every event subject. */
export const ARGO_STREAM_NAME = "default";
/** The header JetStream de-duplicates on; Argo sets it to the event id. */
export const MSG_ID_HEADER = "Nats-Msg-Id";
/** The CloudEvents version of every event. */
export const CLOUDEVENTS_SPEC_VERSION = "1.0";
/** What Argo's event sources put in `datacontenttype`. */
export const DEFAULT_DATA_CONTENT_TYPE = "application/json";

/** Where the event's data goes in the JSON document. */
export const DataField = {
  /** Base64 text in `data_base64`: what Argo Events' event sources write (sdk-go with `[]byte` data). */
  base64: "data_base64",
  /** Inline in `data`: JSON embedded as JSON, any other content type as a string. */
  inline: "data",
} as const;
/** One of the {@link DataField} values. */
export type DataField = (typeof DataField)[keyof typeof DataField];

/** An event to publish. */
export interface EventInput {
  /** The event id and `Nats-Msg-Id`. @default a random UUID as 32 hex digits, as Argo writes it */
  readonly id?: string;
  /** The event source name (CloudEvents `source`); one subject token. */
  readonly source: string;
  /** The event name (CloudEvents `subject`); one subject token. */
  readonly subject: string;
  /** The event source type, e.g. `webhook` (CloudEvents `type`). */
  readonly type: string;
  /** A `Date`, or RFC 3339 text written as given. @default now, in UTC with Go's RFC3339Nano layout */
  readonly time?: Date | string;
  /** @default "application/json" */
  readonly datacontenttype?: string;
  /**
   * The payload: bytes as they are, or, for a JSON content type, any JSON value (serialised with
   * `JSON.stringify`), or, for other content types, a string (as UTF-8). Bytes under a JSON content
   * type must be JSON. Omitted: the document has no data.
   */
  readonly data?: unknown;
}

/** Options of {@link encodeEvent}. */
export interface EncodeOptions {
  /** @default "data_base64", byte for byte what Argo's event sources publish */
  readonly dataField?: DataField;
}

/** A message ready for JetStream. */
export interface EncodedEvent {
  /** The event id (also the `Nats-Msg-Id` header). */
  readonly id: string;
  /** `default.<source>.<subject>`. */
  readonly subject: string;
  readonly headers: { readonly [MSG_ID_HEADER]: string };
  /** The CloudEvents JSON document, UTF-8. */
  readonly body: Uint8Array;
}

/** An event read from the bus. */
export interface ArgoEvent {
  readonly specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  readonly id: string;
  /** The event source name. */
  readonly source: string;
  /** The event name. */
  readonly subject: string;
  /** The event source type. */
  readonly type: string;
  /** RFC 3339 text as written. */
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  /** The payload bytes: what Argo's sensors see as `event.Data()`. Empty when the document has none. */
  readonly data: Uint8Array;
  /** CloudEvents extension attributes, when the document has any. */
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/** Message headers as a record, or as nats.js's `MsgHdrs` (anything with `get`). */
export type MessageHeaders = Readonly<Record<string, string>> | { get(name: string): string | undefined } | undefined;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const CONTROL = /\p{Cc}/u;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
/** Standard base64 (RFC 4648 §4): the alphabet and up to two `=` at the end; the length is checked apart (a multiple of 4). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const ATTRIBUTES = new Set(["specversion", "id", "source", "type", "subject", "datacontenttype", "dataschema", "time", "data", "data_base64"]);

/** The last kind of event encoded: its checked attributes, subject and their JSON text. */
let last: { source: unknown; name: unknown; type: unknown; contentType: unknown; subject: string; attributes: string; json: boolean } = {
  source: undefined,
  name: undefined,
  type: undefined,
  contentType: undefined,
  subject: "",
  attributes: "",
  json: true,
};

/** `default.<source>.<event>`, the subject Argo publishes an event on. @throws {@link InvalidSubjectTokenError} */
export function eventSubject(source: string, event: string): string {
  return `${ARGO_STREAM_NAME}.${checkSubjectToken("source", source)}.${checkSubjectToken("subject", event)}`;
}

/** Random bytes for {@link newEventId}, refilled from the CSPRNG 256 ids at a time. */
const idPool = Buffer.alloc(16 * 256);
let idOffset = idPool.length;

/**
 * A new event id as Argo writes it (google/uuid `uuid.New().String()` without dashes): a random
 * (v4) UUID's 16 bytes as 32 lowercase hex digits, the version nibble 4 and the variant bits 10.
 */
export function newEventId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const at = idOffset;
  idOffset += 16;
  idPool[at + 6] = (idPool[at + 6]! & 0x0f) | 0x40;
  idPool[at + 8] = (idPool[at + 8]! & 0x3f) | 0x80;
  return idPool.toString("hex", at, at + 16);
}

/** `date` in UTC with Go's RFC3339Nano layout (sdk-go's `Timestamp`): no trailing zeros in the fraction. */
export function formatEventTime(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new InvalidEventError("time", "is not a valid date");
  const iso = date.toISOString();
  if (!/^\d{4}-/.test(iso)) throw new InvalidEventError("time", "must be within the years 0000 to 9999");
  // toISOString always writes milliseconds; Go's RFC3339Nano drops trailing zeros and a bare ".".
  const [whole, fraction = ""] = iso.slice(0, -1).split(".");
  const digits = fraction.replace(/0+$/, "");
  return `${whole}${digits === "" ? "" : `.${digits}`}Z`;
}

/** Whether `contentType` is JSON as sdk-go decides it: no type, `application/json` or `text/json` (parameters ignored). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const media = contentType.split(";", 1)[0]!.trim().toLowerCase();
  return media === "" || media === "application/json" || media === "text/json";
}

/**
 * Encodes an event exactly as an Argo Events event source publishes it.
 * @throws {@link InvalidSubjectTokenError} for a source or event name that is not one subject token
 * @throws {@link InvalidEventError} naming the field, for any other value that cannot be written
 */
export function encodeEvent(input: EventInput, options: EncodeOptions = {}): EncodedEvent {
  const contentType = input.datacontenttype ?? DEFAULT_DATA_CONTENT_TYPE;
  // The attributes of the last kind of event are checked and written once: publishers send many alike.
  let kind = last;
  if (input.source !== kind.source || input.subject !== kind.name || input.type !== kind.type || contentType !== kind.contentType) {
    const subject = eventSubject(input.source, input.subject);
    if (BAD_PERCENT.test(input.source)) throw new InvalidEventError("source", 'must be a URI reference: "%" must start a %XX escape');
    checkAttribute("type", input.type);
    checkAttribute("datacontenttype", contentType);
    const attributes =
      `,"source":${JSON.stringify(input.source)},"type":${JSON.stringify(input.type)},"subject":${JSON.stringify(input.subject)}` +
      `,"datacontenttype":${JSON.stringify(contentType)},"time":`;
    kind = last = { source: input.source, name: input.subject, type: input.type, contentType, subject, attributes, json: isJsonContentType(contentType) };
  }
  let id: string;
  let idJson: string;
  if (input.id === undefined) {
    id = newEventId();
    // 32 hex digits need no escaping.
    idJson = `"${id}"`;
  } else {
    id = input.id;
    checkAttribute("id", id);
    idJson = JSON.stringify(id);
  }
  const time = eventTime(input.time);
  const dataField = options.dataField ?? DataField.base64;
  if (dataField !== DataField.base64 && dataField !== DataField.inline) {
    throw new InvalidEventError("dataField", `must be "${DataField.base64}" or "${DataField.inline}"`);
  }
  const data = input.data === undefined ? "" : dataMember(input.data, kind.json, dataField);
  const json = `{"specversion":"${CLOUDEVENTS_SPEC_VERSION}","id":${idJson}${kind.attributes}${JSON.stringify(time)}${data}}`;
  return { id, subject: kind.subject, headers: { [MSG_ID_HEADER]: id }, body: Buffer.from(json) };
}

/**
 * Reads a message published in Argo's wire format. Checks that the document is a CloudEvents 1.0
 * event with `id`, `source`, `type` and `subject`, that a subject `default.<a>.<b>` names the event's
 * source and name, and that a `Nats-Msg-Id` header is the event id.
 * @throws {@link InvalidEventError} naming the field at fault
 */
export function decodeEvent(subject: string, headers: MessageHeaders, body: Uint8Array | string): ArgoEvent {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === "string" ? body : strictUtf8.decode(body));
  } catch {
    throw new InvalidEventError("body", "is not a JSON document (UTF-8)");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new InvalidEventError("body", "must be a JSON object (a CloudEvent)");
  const fields = doc as Record<string, unknown>;
  if (fields.specversion !== CLOUDEVENTS_SPEC_VERSION) {
    throw new InvalidEventError("specversion", fields.specversion === undefined ? "missing: not a CloudEvent" : `must be "${CLOUDEVENTS_SPEC_VERSION}"`);
  }
  const id = requiredString(fields, "id");
  const source = requiredString(fields, "source");
  const type = requiredString(fields, "type");
  const eventName = requiredString(fields, "subject");
  const time = optionalString(fields, "time");
  if (time !== undefined && !(RFC3339.test(time) && Number.isFinite(Date.parse(time)))) throw new InvalidEventError("time", "must be an RFC 3339 timestamp");
  const datacontenttype = optionalString(fields, "datacontenttype");
  const dataschema = optionalString(fields, "dataschema");
  const data = readData(fields, datacontenttype);

  const tokens = subject.split(".");
  if (tokens.length === 3 && tokens[0] === ARGO_STREAM_NAME) {
    if (tokens[1] !== source) throw new InvalidEventError("source", `does not match the message subject ${subject}`);
    if (tokens[2] !== eventName) throw new InvalidEventError("subject", `does not match the message subject ${subject}`);
  }
  const msgId = headerValue(headers, MSG_ID_HEADER);
  if (msgId !== undefined && msgId !== "" && msgId !== id) throw new InvalidEventError("id", `does not match the ${MSG_ID_HEADER} header`);

  let extensions: Record<string, unknown> | undefined;
  for (const key in fields) {
    if (ATTRIBUTES.has(key)) continue;
    (extensions ??= {})[key] = fields[key];
  }
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id,
    source,
    subject: eventName,
    type,
    ...(time !== undefined && { time }),
    ...(datacontenttype !== undefined && { datacontenttype }),
    ...(dataschema !== undefined && { dataschema }),
    data,
    ...(extensions && { extensions }),
  };
}

/**
 * The event's data parsed as JSON.
 * @throws {@link InvalidEventError} when the content type is not JSON or the data does not parse
 */
export function eventJson(event: ArgoEvent): unknown {
  if (!isJsonContentType(event.datacontenttype)) throw new InvalidEventError("datacontenttype", `is ${JSON.stringify(event.datacontenttype)}, not JSON`);
  try {
    return JSON.parse(strictUtf8.decode(event.data));
  } catch {
    throw new InvalidEventError("data", "is not JSON");
  }
}

// Events published within one millisecond share its text.
let nowMillis = Number.NaN;
let nowText = "";

function eventTime(time: Date | string | undefined): string {
  if (time === undefined) {
    const ms = Date.now();
    if (ms !== nowMillis) {
      nowText = formatEventTime(new Date(ms));
      nowMillis = ms;
    }
    return nowText;
  }
  if (time instanceof Date) return formatEventTime(time);
  if (typeof time === "string" && RFC3339.test(time) && Number.isFinite(Date.parse(time))) return time;
  throw new InvalidEventError("time", "must be a Date or an RFC 3339 timestamp such as 2024-05-01T12:00:00Z");
}

function checkAttribute(field: string, value: unknown): void {
  if (typeof value !== "string" || value === "") throw new InvalidEventError(field, "must be a non-empty string");
  if (CONTROL.test(value)) throw new InvalidEventError(field, "must not contain control characters");
}

function dataMember(data: unknown, json: boolean, field: DataField): string {
  let bytes: Uint8Array | undefined;
  let text: string | undefined;
  if (data instanceof Uint8Array) {
    bytes = data;
    if (json) {
      text = decodeText(bytes, "data", "must be UTF-8 JSON when datacontenttype is JSON");
      if (!parses(text)) throw new InvalidEventError("data", "must be JSON when datacontenttype is JSON");
    }
  } else if (json) {
    try {
      text = JSON.stringify(data);
    } catch (err) {
      throw new InvalidEventError("data", "cannot be serialised as JSON", { cause: err });
    }
    if (text === undefined) throw new InvalidEventError("data", "cannot be serialised as JSON");
  } else if (typeof data === "string") {
    text = data;
  } else {
    throw new InvalidEventError("data", "must be a Uint8Array or a string when datacontenttype is not JSON");
  }

  if (field === DataField.base64) {
    const base64 = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64") : Buffer.from(text!).toString("base64");
    return `,"data_base64":"${base64}"`;
  }
  if (json) return `,"data":${text!}`;
  // Non-JSON data inline is a JSON string, so it must be text.
  return `,"data":${JSON.stringify(text ?? decodeText(bytes!, "data", `must be UTF-8 text to be written inline; use dataField "${DataField.base64}"`))}`;
}

function readData(fields: Record<string, unknown>, contentType: string | undefined): Uint8Array {
  const hasData = "data" in fields && fields.data !== undefined;
  const hasBase64 = "data_base64" in fields && fields.data_base64 !== undefined;
  if (hasData && hasBase64) throw new InvalidEventError("data", "must not be given together with data_base64");
  if (hasBase64) {
    const text = fields.data_base64;
    if (typeof text !== "string" || text.length % 4 !== 0 || !BASE64.test(text)) throw new InvalidEventError("data_base64", "must be standard base64 text");
    // A copy: Buffer.from may return a slice of its shared pool, whose `.buffer` holds other bytes.
    return new Uint8Array(Buffer.from(text, "base64"));
  }
  if (!hasData) return new Uint8Array(0);
  if (isJsonContentType(contentType)) return utf8.encode(JSON.stringify(fields.data));
  if (typeof fields.data !== "string") throw new InvalidEventError("data", "must be a string when datacontenttype is not JSON");
  return utf8.encode(fields.data);
}

function requiredString(fields: Record<string, unknown>, field: string): string {
  const value = fields[field];
  if (value === undefined) throw new InvalidEventError(field, "missing");
  if (typeof value !== "string" || value === "") throw new InvalidEventError(field, "must be a non-empty string");
  return value;
}

function optionalString(fields: Record<string, unknown>, field: string): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new InvalidEventError(field, "must be a string");
  return value;
}

function headerValue(headers: MessageHeaders, name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (typeof (headers as { get?: unknown }).get === "function") return (headers as { get(n: string): string | undefined }).get(name);
  return (headers as Readonly<Record<string, string>>)[name];
}

function decodeText(bytes: Uint8Array, field: string, reason: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InvalidEventError(field, reason);
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
