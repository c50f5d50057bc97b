/**
 * The NATS protocol frames of a turn's publishes (and confirmed acks), written by eventbus into one buffer and given to
 * nats.js's protocol handler as one command. nats.js's `publish` builds each frame from a header
 * object (validated, joined into text, encoded), a control line (a template, encoded) and the body,
 * and copies the pieces again when it writes: about a third of the publisher's CPU per event. The
 * frames are the protocol's (nats-server `client.go` `processHeaderPub`):
 *
 *     HPUB <subject> <reply> <header bytes> <total bytes>\r\n
 *     NATS/1.0\r\nNats-Msg-Id: <id>\r\n\r\n<body>\r\n
 *
 * the same bytes nats.js writes for `publish(subject, body, { reply, headers })` with that one
 * header (`headers.ts` `toString`: the value trimmed, as `validHeaderValue` does). A frame without
 * an id is a plain `PUB <subject> <reply> <bytes>\r\n<body>\r\n` (a confirmed ack's `+ACK`).
 */
import type { NatsConnection } from "@nats-io/transport-node";

import { MSG_ID_HEADER } from "./wire.js";

/** One publish of a frame: its subject, reply subject, `Nats-Msg-Id` (none: a PUB without headers) and body. */
export interface Frame {
  readonly subject: string;
  readonly reply: string;
  readonly msgId: string | undefined;
  readonly body: Uint8Array;
}

/**
 * What eventbus uses of nats.js's protocol handler (`@nats-io/nats-core` `protocol.ts`): the command
 * queue that the connection writes at the end of the microtask (`sendCommand`, which also holds
 * commands while reconnecting, as for `publish`), whether publishing has stopped (draining), and
 * the connection's message and byte counts (`nc.stats()`).
 */
export interface ProtocolWriter {
  sendCommand(command: Uint8Array): void;
  readonly noMorePublishing: boolean;
  outMsgs: number;
  outBytes: number;
}

/**
 * nats.js's protocol handler of `nc` when it has the shape eventbus relies on, else `undefined` (a
 * nats.js of another shape: publishes then go through `nc.publish`).
 */
export function protocolWriter(nc: NatsConnection): ProtocolWriter | undefined {
  const protocol = (nc as { protocol?: Partial<ProtocolWriter> }).protocol;
  if (protocol === undefined || typeof protocol.sendCommand !== "function") return undefined;
  if (typeof protocol.noMorePublishing !== "boolean" || typeof protocol.outMsgs !== "number" || typeof protocol.outBytes !== "number") return undefined;
  return protocol as ProtocolWriter;
}

const CRLF = 0x0a0d; // "\r\n" as a little-endian 16-bit number
/** `NATS/1.0\r\n` + `Nats-Msg-Id: ` … `\r\n\r\n`: the header block's bytes beside the id. */
const HEADER_OVERHEAD = 10 + MSG_ID_HEADER.length + 2 + 2 + 2;

/** The frames of `frames`, one after the other in one buffer; `payloadBytes` is their headers and bodies (what nats.js counts in `outBytes`). */
export function writeFrames(frames: readonly Frame[]): { readonly bytes: Buffer; readonly payloadBytes: number } {
  const heads: string[] = new Array(frames.length);
  let size = 0;
  let payloadBytes = 0;
  for (let i = 0; i < frames.length; i++) {
    const { subject, reply, body, msgId } = frames[i]!;
    let head: string;
    let total: number;
    if (msgId === undefined) {
      total = body.byteLength;
      head = `PUB ${subject} ${reply} ${total}\r\n`;
    } else {
      const id = msgId.trim();
      const headerBytes = HEADER_OVERHEAD + Buffer.byteLength(id);
      total = headerBytes + body.byteLength;
      head = `HPUB ${subject} ${reply} ${headerBytes} ${total}\r\nNATS/1.0\r\n${MSG_ID_HEADER}: ${id}\r\n\r\n`;
    }
    heads[i] = head;
    size += Buffer.byteLength(head) + body.byteLength + 2;
    payloadBytes += total;
  }
  const bytes = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let i = 0; i < frames.length; i++) {
    offset += bytes.write(heads[i]!, offset);
    const body = frames[i]!.body;
    bytes.set(body, offset);
    offset += body.byteLength;
    offset = bytes.writeUInt16LE(CRLF, offset);
  }
  return { bytes, payloadBytes };
}
