/**
 * The DER (ASN.1 Distinguished Encoding Rules) this package writes and reads for X.509: the few
 * types a certificate of ours is made of (ITU-T X.690), as bytes. Writing is exact DER (definite
 * lengths in their shortest form); reading walks TLVs and trusts node's X509Certificate, which
 * parsed the certificate first, for its well-formedness.
 */

/** ASN.1 universal tags (X.680 §8.6) and the context-specific forms this package uses. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** A TLV with `tag` around `content`. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let length: number[];
  if (n < 0x80) length = [n];
  else {
    const bytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    length = [0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(Tag.sequence, Buffer.concat(items));
export const set = (...items: Uint8Array[]): Buffer => tlv(Tag.set, Buffer.concat(items));
export const octetString = (bytes: Uint8Array): Buffer => tlv(Tag.octetString, bytes);
export const utf8String = (text: string): Buffer => tlv(Tag.utf8String, Buffer.from(text, "utf8"));
export const booleanTrue = (): Buffer => tlv(Tag.boolean, Buffer.from([0xff]));

/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Uint8Array): Buffer => tlv(Tag.bitString, Buffer.concat([Buffer.from([0]), bytes]));

/** A context-specific tag `[n]`: EXPLICIT (constructed, around a TLV) or IMPLICIT (primitive, in place of a type's tag). */
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(0xa0 | n, inner);
export const implicit = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content);

/** An INTEGER from its big-endian magnitude (non-negative: a 0x00 is prepended when the top bit is set). */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && (bytes[start + 1]! & 0x80) === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(Tag.integer, (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** A small non-negative INTEGER. */
export const smallInteger = (value: number): Buffer => unsignedInteger(Buffer.from([value]));

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift((rest & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(Tag.oid, Buffer.from(bytes));
}

/** A time as X.509 writes it (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime after; whole seconds, UTC. */
export function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  return year < 2050 ? tlv(Tag.utcTime, Buffer.from(digits.slice(2), "ascii")) : tlv(Tag.generalizedTime, Buffer.from(digits, "ascii"));
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** One TLV read from DER: its tag, its content, and the whole encoding. */
export interface Element {
  readonly tag: number;
  readonly content: Buffer;
  readonly encoded: Buffer;
}

/** The TLV at `offset` of `der`. */
export function readElement(der: Buffer, offset = 0): Element {
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > der.length) throw new RangeError("DER element runs past its end");
  return { tag, content: der.subarray(offset + header, end), encoded: der.subarray(offset, end) };
}

/** The elements inside a constructed element's content. */
export function children(content: Buffer): Element[] {
  const items: Element[] = [];
  for (let offset = 0; offset < content.length; ) {
    const item = readElement(content, offset);
    items.push(item);
    offset += item.encoded.length;
  }
  return items;
}

/** An OBJECT IDENTIFIER's dotted form, from its content. */
export function readOid(content: Buffer): string {
  const arcs = [Math.floor(content[0]! / 40), content[0]! % 40];
  let value = 0;
  for (const byte of content.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join(".");
}

/** A UTCTime's or GeneralizedTime's instant. */
export function readTime(element: Element): Date {
  const text = element.content.toString("ascii");
  const full = element.tag === Tag.utcTime ? `${Number(text.slice(0, 2)) >= 50 ? "19" : "20"}${text}` : text;
  return new Date(
    Date.UTC(
      Number(full.slice(0, 4)),
      Number(full.slice(4, 6)) - 1,
      Number(full.slice(6, 8)),
      Number(full.slice(8, 10)),
      Number(full.slice(10, 12)),
      Number(full.slice(12, 14)),
    ),
  );
}
