/**
 * The part of the protobuf wire format (proto3) that the NATS Streaming protocol messages use:
 * varints (`int32`, `uint32`, `bool`, enums, `int64`, `uint64`) and length-delimited fields
 * (`string`, `bytes`). Unknown fields of any wire type are skipped on decode, as a protobuf decoder
 * must, so a newer server's extra fields do not break the client.
 *
 * Written from the protobuf encoding guide (protobuf.dev/programming-guides/encoding: varints,
 * ZigZag not used by `int32`/`int64`, negative `int32` sign-extended to ten bytes, fields in
 * ascending number order) and checked against what nats-io/stan.go's generated code writes
 * (pb/protocol.pb.go, `Marshal`/`MarshalToSizedBuffer` of each message: zero values are left out,
 * `encodeVarintProtocol` for every integer, fields in ascending number order).
 */

/** The wire types of protobuf; groups (3 and 4) are deprecated and not used by STAN. */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const;
/** One of the {@link WireType} values. */
export type WireType = (typeof WireType)[keyof typeof WireType];

/** The largest value of an unsigned 64-bit integer. */
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const utf8Encoder = new TextEncoder();
// fatal: a string field that is not UTF-8 is a malformed message, not text to guess at.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes that are not a protobuf message of the expected shape. */
export class ProtobufDecodeError extends RangeError {
  override readonly name = "ProtobufDecodeError";
}

/**
 * Appends fields to a growing buffer. Each `write*` method leaves out the field when its value is
 * the proto3 default (0, `false`, empty), as the generated Go code does, so that the bytes are the
 * same as stan.go's for the same message.
 */
export class ProtoWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(initialCapacity);
  }

  /** The bytes written so far (a copy-free view). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** An `int32` or enum field. Negative values take ten bytes, as protobuf sign-extends them to 64 bits. */
  int32(field: number, value: number): this {
    if (value === 0) return this;
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) throw new RangeError(`field ${field}: ${value} is not an int32`);
    this.tag(field, WireType.varint);
    if (value < 0) this.varint64(BigInt.asUintN(64, BigInt(value)));
    else this.varint32(value);
    return this;
  }

  /** A `uint32` field. */
  uint32(field: number, value: number): this {
    if (value === 0) return this;
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`field ${field}: ${value} is not a uint32`);
    this.tag(field, WireType.varint);
    this.varint32(value);
    return this;
  }

  /** A `uint64` field. */
  uint64(field: number, value: bigint): this {
    if (value === 0n) return this;
    if (value < 0n || value > UINT64_MAX) throw new RangeError(`field ${field}: ${value} is not a uint64`);
    this.tag(field, WireType.varint);
    this.varint64(value);
    return this;
  }

  /** An `int64` field: two's complement, so a negative value takes ten bytes. */
  int64(field: number, value: bigint): this {
    if (value === 0n) return this;
    if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`field ${field}: ${value} is not an int64`);
    this.tag(field, WireType.varint);
    this.varint64(BigInt.asUintN(64, value));
    return this;
  }

  /** A `bool` field. */
  bool(field: number, value: boolean): this {
    if (!value) return this;
    this.tag(field, WireType.varint);
    this.byte(1);
    return this;
  }

  /** A `string` field, UTF-8 encoded. */
  string(field: number, value: string): this {
    if (value.length === 0) return this;
    return this.bytes(field, utf8Encoder.encode(value));
  }

  /** A `bytes` field. */
  bytes(field: number, value: Uint8Array): this {
    if (value.length === 0) return this;
    this.tag(field, WireType.lengthDelimited);
    this.varint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  private tag(field: number, wireType: WireType): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fff_ffff) throw new RangeError(`field number ${field} is out of range`);
    // field << 3 overflows 32-bit arithmetic past 2^28; multiply instead.
    this.varint32(field * 8 + wireType);
  }

  /** A varint of a value in [0, 2^32). */
  private varint32(value: number): void {
    this.ensure(5);
    let v = value;
    while (v > 0x7f) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  /** A varint of a value in [0, 2^64). */
  private varint64(value: bigint): void {
    if (value <= 0xffff_ffffn) return this.varint32(Number(value));
    this.ensure(10);
    let v = value;
    while (v > 0x7fn) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private byte(value: number): void {
    this.ensure(1);
    this.buf[this.len++] = value;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }
}

/** One field's key, as {@link ProtoReader.next} reads it. */
export interface FieldKey {
  readonly field: number;
  readonly wireType: number;
}

/**
 * Reads the fields of one message in order. A decoder loops on {@link next}, reads the fields it
 * knows with the method of their type and calls {@link skip} for the others.
 *
 * Every read checks the bounds, so a truncated or hostile message ends in a
 * {@link ProtobufDecodeError}, never in a read past the buffer.
 */
export class ProtoReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  /** The next field's key, or undefined at the end of the message. */
  next(): FieldKey | undefined {
    if (this.pos >= this.buf.length) return undefined;
    const key = this.varint64();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field < 1 || field > 0x1fff_ffff) throw new ProtobufDecodeError(`invalid field number ${field} at byte ${this.pos}`);
    return { field, wireType };
  }

  /** An `int32` or enum: the low 32 bits of the varint, signed (as protobuf decoders truncate). */
  int32(key: FieldKey): number {
    this.expect(key, WireType.varint);
    return Number(BigInt.asIntN(32, this.varint64()));
  }

  /** A `uint32`: the low 32 bits of the varint. */
  uint32(key: FieldKey): number {
    this.expect(key, WireType.varint);
    return Number(BigInt.asUintN(32, this.varint64()));
  }

  /** A `uint64`. */
  uint64(key: FieldKey): bigint {
    this.expect(key, WireType.varint);
    return this.varint64();
  }

  /** An `int64`: the varint read as two's complement. */
  int64(key: FieldKey): bigint {
    this.expect(key, WireType.varint);
    return BigInt.asIntN(64, this.varint64());
  }

  /** A `bool`: any non-zero varint is true. */
  bool(key: FieldKey): boolean {
    this.expect(key, WireType.varint);
    return this.varint64() !== 0n;
  }

  /** A `string`. @throws {@link ProtobufDecodeError} when it is not UTF-8 */
  string(key: FieldKey): string {
    const bytes = this.bytes(key);
    try {
      return utf8Decoder.decode(bytes);
    } catch (cause) {
      throw new ProtobufDecodeError(`field ${key.field}: not UTF-8`, { cause });
    }
  }

  /** A `bytes` field: a copy, so that the message's buffer can be reused by the connection. */
  bytes(key: FieldKey): Uint8Array {
    this.expect(key, WireType.lengthDelimited);
    const length = this.length();
    const bytes = this.buf.slice(this.pos, this.pos + length);
    this.pos += length;
    return bytes;
  }

  /** Skips a field this decoder does not know. */
  skip(key: FieldKey): void {
    switch (key.wireType) {
      case WireType.varint:
        this.varint64();
        return;
      case WireType.fixed64:
        this.advance(8);
        return;
      case WireType.lengthDelimited:
        this.advance(this.length());
        return;
      case WireType.fixed32:
        this.advance(4);
        return;
      default:
        throw new ProtobufDecodeError(`field ${key.field}: unsupported wire type ${key.wireType}`);
    }
  }

  private expect(key: FieldKey, wireType: WireType): void {
    if (key.wireType !== wireType) throw new ProtobufDecodeError(`field ${key.field}: wire type ${key.wireType}, expected ${wireType}`);
  }

  private length(): number {
    const length = this.varint64();
    if (length > BigInt(this.buf.length - this.pos)) throw new ProtobufDecodeError(`length ${length} at byte ${this.pos} runs past the message's end`);
    return Number(length);
  }

  private advance(count: number): void {
    if (this.pos + count > this.buf.length) throw new ProtobufDecodeError(`field runs past the message's end at byte ${this.pos}`);
    this.pos += count;
  }

  private varint64(): bigint {
    // Small values (every tag, length and most numbers) without BigInt arithmetic per byte.
    let low = 0;
    let shift = 0;
    for (let i = 0; i < 4; i++) {
      const b = this.readByte();
      low += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return BigInt(low);
      shift += 7;
    }
    let value = BigInt(low);
    for (let i = 4; i < 10; i++) {
      const b = this.readByte();
      value |= BigInt(b & 0x7f) << BigInt(shift);
      if (b < 0x80) return BigInt.asUintN(64, value);
      shift += 7;
    }
    throw new ProtobufDecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  private readByte(): number {
    if (this.pos >= this.buf.length) throw new ProtobufDecodeError(`message ends inside a varint at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }
}
