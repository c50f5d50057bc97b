// What a raw nats.js event source sends, written by hand and independently of the library, for
// the baselines of the benchmarks: Argo's CloudEvent (the data in data_base64) and its Nats-Msg-Id.
import { randomUUID } from "node:crypto";

import type { EncodedEvent, EventInput } from "../src/client/index.js";

/** The benchmarks' event data: a JSON document of 256 bytes, as a webhook would carry it. */
export const DATA_BYTES = 256;

/** A JSON document of exactly `bytes` bytes. */
export function jsonData(bytes: number): Uint8Array {
  const prefix = '{"payload":"';
  const suffix = '"}';
  return new TextEncoder().encode(`${prefix}${"x".repeat(bytes - prefix.length - suffix.length)}${suffix}`);
}

/** {@link DATA_BYTES} of JSON. */
export const DATA = jsonData(DATA_BYTES);

/**
 * Argo's CloudEvent for `input`, built by hand: not byte-identical to the library's in `time`
 * (always milliseconds), the same size within a byte. `id` defaults to a fresh UUID without dashes.
 */
export function rawArgoEvent(input: EventInput, id = randomUUID().replaceAll("-", "")): EncodedEvent {
  const data = Buffer.from(input.data as Uint8Array).toString("base64");
  const body = Buffer.from(
    `{"specversion":"1.0","id":"${id}","source":"${input.source}","type":"${input.type}","subject":"${input.subject}",` +
      `"datacontenttype":"application/json","time":"${new Date().toISOString()}","data_base64":"${data}"}`,
  );
  return { id, subject: `default.${input.source}.${input.subject}`, headers: { "Nats-Msg-Id": id }, body };
}
