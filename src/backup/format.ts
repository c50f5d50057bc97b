/**
 * The eventbus archive: one self-describing file for one or more streams, written as it is made so
 * that it can go to standard output and on to any object store.
 *
 * ```
 * preamble  "EVBUSBAK" (8 bytes) · format version (uint16 BE) · 0 (uint16)
 * frames    type (uint8) · payload length (uint32 BE) · payload
 *   1 manifest       JSON {@link ArchiveManifest}: what, from where, when, versions
 *   per stream:
 *   2 stream header  JSON {@link StreamHeader}: config and state of the snapshot, the consumers
 *   3 chunk          bytes of the JetStream snapshot (nats-server's s2-compressed tar), in order
 *   4 stream end     JSON {@link StreamEnd}: the snapshot's byte count and SHA-256
 *   5 summary        JSON {@link ArchiveSummary}: counts per stream, duration
 * 255 trailer        the SHA-256 (32 bytes) of every byte before this frame
 * ```
 *
 * A file without its trailer is truncated; a digest that does not match is corruption; a version
 * other than {@link ARCHIVE_VERSION} is refused.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Writable } from "node:stream";
import { BackupError, BackupErrorCode } from "./errors.js";

/** The first 8 bytes of every archive. */
export const ARCHIVE_MAGIC = Buffer.from("EVBUSBAK", "ascii");
/** The format version this eventbus writes and reads. */
export const ARCHIVE_VERSION = 1;
/** The name in {@link ArchiveManifest.format}. */
export const ARCHIVE_FORMAT = "eventbus-backup";

const PREAMBLE_BYTES = ARCHIVE_MAGIC.length + 4;
const FRAME_HEADER_BYTES = 5;
const DIGEST_BYTES = 32;
/** How much the archive's output may hold unwritten before the writer waits for it. */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
/** No frame is larger: a larger length can only be a damaged length field. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Frame types. */
export const FrameType = { manifest: 1, streamHeader: 2, chunk: 3, streamEnd: 4, summary: 5, trailer: 255 } as const;
/** One of the {@link FrameType} values. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** What an archive holds, from where, and when (the first frame). */
export interface ArchiveManifest {
  readonly format: typeof ARCHIVE_FORMAT;
  readonly version: number;
  /** When the backup began (RFC 3339). */
  readonly createdAt: string;
  /** The eventbus version that wrote it. */
  readonly eventbusVersion: string;
  /** The bus it was taken from: a label (a local bus name or URLs, never credentials) and the server that answered. */
  readonly source: { readonly label: string; readonly serverName?: string; readonly serverVersion?: string; readonly cluster?: string };
  /** The streams, in the order of their sections. */
  readonly streams: readonly string[];
}

/** A consumer as it was listed when the backup began (its state in the snapshot is at least this far). */
export interface ConsumerRecord {
  readonly name: string;
  readonly durable: boolean;
  readonly filterSubject?: string;
  readonly delivered: { readonly consumerSeq: number; readonly streamSeq: number };
  readonly ackFloor: { readonly consumerSeq: number; readonly streamSeq: number };
  readonly numPending: number;
  readonly numAckPending: number;
}

/** The state of a stream as the snapshot began (nats-server's `StreamState`, in its JSON). */
export interface SnapshotState {
  readonly messages: number;
  readonly bytes: number;
  readonly first_seq: number;
  readonly first_ts?: string;
  readonly last_seq: number;
  readonly last_ts?: string;
  readonly consumer_count: number;
  readonly [key: string]: unknown;
}

/** A stream's section header. */
export interface StreamHeader {
  readonly name: string;
  /** The stream config the server returned with the snapshot (its JSON, as the restore request takes it). */
  readonly config: Record<string, unknown> & { readonly name: string; readonly num_replicas?: number };
  readonly state: SnapshotState;
  readonly consumers: readonly ConsumerRecord[];
}

/** A stream's section end. */
export interface StreamEnd {
  readonly name: string;
  /** Snapshot bytes in the section's chunks. */
  readonly bytes: number;
  readonly chunks: number;
  /** SHA-256 (hex) of the snapshot bytes. */
  readonly sha256: string;
}

/** Totals, written after the last stream. */
export interface ArchiveSummary {
  readonly completedAt: string;
  readonly durationMillis: number;
  readonly streams: readonly StreamTotals[];
}

/** A stream's name and counts. */
export interface StreamCounts {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly consumers: number;
}

/** One stream's counts in an archive (its state as the snapshot began). */
export interface StreamTotals extends StreamCounts {
  /** The snapshot's (compressed) bytes in the archive. */
  readonly snapshotBytes: number;
}

/** A stream's section as a verified archive knows it. */
export interface StreamSection {
  readonly header: StreamHeader;
  readonly end: StreamEnd;
  /** Where the section's header frame begins, and where its end frame ends (exclusive), in the file. */
  readonly start: number;
  readonly stop: number;
  /** The snapshot's bytes as verified, when the archive was small enough to keep them (see {@link VerifyOptions.keepBytes}). */
  readonly chunks?: readonly Buffer[];
}

/** What `eventbus restore` keeps in memory of an archive it verified (a larger one is read again). */
export const RESTORE_KEEP_BYTES = 64 * 1024 * 1024;

/** How {@link verifyArchive} reads. */
export interface VerifyOptions {
  /**
   * Keep the snapshot bytes of an archive up to this size in memory, so that a restore sends what
   * was verified without reading and checking the file again. @default 0 (never)
   */
  readonly keepBytes?: number;
}

/** A verified archive. */
export interface ArchiveContents {
  readonly manifest: ArchiveManifest;
  readonly streams: readonly StreamSection[];
  readonly summary: ArchiveSummary;
  /** The archive's size in bytes. */
  readonly bytes: number;
  /** The SHA-256 (hex) in its trailer. */
  readonly sha256: string;
}

/**
 * Writes an archive to a stream as it is made, waiting when the destination is slow (so that the
 * snapshot's flow control reaches the server). Call {@link finish} last: without it the archive has
 * no trailer and is refused as truncated.
 */
export class ArchiveWriter {
  private readonly hash = createHash("sha256");
  private streamHash: Hash | undefined;
  private streamBytes = 0;
  private streamChunks = 0;
  private streamName = "";
  private written = 0;
  private failure: Error | undefined;

  constructor(private readonly out: Writable) {
    // A destination that fails (a full disk, a closed pipe) fails the next write, not the process.
    out.on("error", (error: Error) => {
      this.failure ??= error;
    });
  }

  /** Bytes handed to the output that it has not written yet. */
  get backlog(): number {
    return this.out.writableLength;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.written;
  }

  /** The preamble and the manifest. */
  async start(manifest: ArchiveManifest): Promise<void> {
    const preamble = Buffer.alloc(PREAMBLE_BYTES);
    ARCHIVE_MAGIC.copy(preamble);
    preamble.writeUInt16BE(ARCHIVE_VERSION, ARCHIVE_MAGIC.length);
    await this.write(preamble);
    await this.frame(FrameType.manifest, json(manifest));
  }

  /** Opens a stream's section. */
  async beginStream(header: StreamHeader): Promise<void> {
    this.streamHash = createHash("sha256");
    this.streamBytes = 0;
    this.streamChunks = 0;
    this.streamName = header.name;
    await this.frame(FrameType.streamHeader, json(header));
  }

  /**
   * One chunk of the open stream's snapshot. The bytes are handed to the output as they are, not
   * copied (a copy of every chunk was a tenth of a backup's time): the caller must not change them
   * afterwards. A NATS message's data qualifies: nats.js gives each message bytes of its own.
   */
  async chunk(bytes: Uint8Array): Promise<void> {
    if (this.streamHash === undefined) throw new Error("ArchiveWriter.chunk: no stream section is open");
    for (let at = 0; at < bytes.length; at += MAX_FRAME_BYTES) {
      const end = Math.min(bytes.length, at + MAX_FRAME_BYTES);
      const part = Buffer.from(bytes.buffer, bytes.byteOffset + at, end - at);
      this.streamHash.update(part);
      this.streamBytes += part.length;
      this.streamChunks++;
      await this.frame(FrameType.chunk, part);
    }
  }

  /** Closes the open stream's section; returns its end record. */
  async endStream(): Promise<StreamEnd> {
    if (this.streamHash === undefined) throw new Error("ArchiveWriter.endStream: no stream section is open");
    const end: StreamEnd = { name: this.streamName, bytes: this.streamBytes, chunks: this.streamChunks, sha256: this.streamHash.digest("hex") };
    this.streamHash = undefined;
    await this.frame(FrameType.streamEnd, json(end));
    return end;
  }

  /** The summary and the trailer; returns the archive's SHA-256 (hex). */
  async finish(summary: ArchiveSummary): Promise<string> {
    await this.frame(FrameType.summary, json(summary));
    const digest = this.hash.digest();
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt8(FrameType.trailer, 0);
    header.writeUInt32BE(DIGEST_BYTES, 1);
    await this.write(Buffer.concat([header, digest]), false);
    return digest.toString("hex");
  }

  private async frame(type: FrameType, payload: Uint8Array): Promise<void> {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt8(type, 0);
    header.writeUInt32BE(payload.length, 1);
    await this.write(header);
    await this.write(payload);
  }

  private async write(bytes: Uint8Array, hashed = true): Promise<void> {
    if (this.failure) throw new BackupError(BackupErrorCode.snapshotFailed, `cannot write the archive: ${this.failure.message}`, { cause: this.failure });
    if (hashed) this.hash.update(bytes);
    this.written += bytes.length;
    // Waiting only beyond a few MiB held by the output: a file stream's own mark (16 KiB) would
    // make every snapshot chunk wait for a disk write before it is acknowledged.
    if (this.out.write(bytes) || this.out.writableLength < WRITE_BUFFER_BYTES) return;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        this.out.off("drain", onDrain);
        this.out.off("error", done);
        this.out.off("close", onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new Error("the output was closed before the archive was written"));
      this.out.once("drain", onDrain);
      this.out.once("error", done);
      this.out.once("close", onClose);
    });
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

/** One frame as read, with where it begins in the file. */
interface Frame {
  readonly type: number;
  readonly payload: Buffer;
  readonly offset: number;
  readonly end: number;
}

/** Reads exact byte counts from a chunked source; `undefined` at a clean end, an error mid-read. */
class ByteReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;
  offset: number;

  constructor(source: AsyncIterable<Buffer>, start = 0) {
    this.iterator = source[Symbol.asyncIterator]();
    this.offset = start;
  }

  /** Exactly `n` bytes, or fewer when the source ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.pendingBytes < n && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) this.ended = true;
      else {
        this.pending.push(next.value);
        this.pendingBytes += next.value.length;
      }
    }
    const want = Math.min(n, this.pendingBytes);
    const first = this.pending[0];
    let taken: Buffer;
    if (first !== undefined && first.length >= want) {
      // Within the first buffer (most reads): a view, no copy.
      taken = first.subarray(0, want);
      if (first.length > want) this.pending[0] = first.subarray(want);
      else this.pending.shift();
    } else {
      // Across buffers: only the bytes asked for are copied; the rest stays a view of the last one.
      taken = Buffer.allocUnsafe(want);
      let at = 0;
      while (at < want) {
        const head = this.pending[0]!;
        const part = Math.min(head.length, want - at);
        head.copy(taken, at, 0, part);
        at += part;
        if (part < head.length) this.pending[0] = head.subarray(part);
        else this.pending.shift();
      }
    }
    this.pendingBytes -= want;
    this.offset += want;
    return taken;
  }
}

/** Frames from `reader` until its end; a frame cut short is reported as truncation. */
async function* frames(reader: ByteReader, hash: Hash | undefined, what: string): AsyncGenerator<Frame> {
  for (;;) {
    const offset = reader.offset;
    const header = await reader.read(FRAME_HEADER_BYTES);
    if (header.length === 0) return;
    if (header.length < FRAME_HEADER_BYTES) throw truncated(what, offset);
    const type = header.readUInt8(0);
    const length = header.readUInt32BE(1);
    if (!Object.values(FrameType).includes(type as FrameType)) throw corrupt(what, `an unknown frame type ${type} at byte ${offset}`);
    if (length > MAX_FRAME_BYTES) throw corrupt(what, `a frame of ${length} bytes at byte ${offset}, larger than any eventbus writes`);
    const payload = await reader.read(length);
    if (payload.length < length) throw truncated(what, offset);
    if (type !== FrameType.trailer) {
      hash?.update(header);
      hash?.update(payload);
    }
    yield { type, payload, offset, end: reader.offset };
  }
}

function truncated(what: string, offset: number): BackupError {
  return new BackupError(
    BackupErrorCode.truncated,
    `${what}: the archive ends in the middle of a frame at byte ${offset}: it is truncated (a backup that did not finish, or an incomplete copy); nothing was changed`,
  );
}

function corrupt(what: string, detail: string): BackupError {
  return new BackupError(BackupErrorCode.corrupt, `${what}: the archive is corrupted: ${detail}; nothing was changed`);
}

function parseJson<T>(what: string, frame: Frame, name: string): T {
  try {
    return JSON.parse(frame.payload.toString("utf8")) as T;
  } catch {
    throw corrupt(what, `the ${name} at byte ${frame.offset} is not JSON`);
  }
}

/** Opens a file as a chunked source, with a clear error when it cannot be read. */
function fileSource(path: string, start = 0, end?: number): AsyncIterable<Buffer> {
  return createReadStream(path, { start, ...(end !== undefined && { end: end - 1 }), highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
}

/**
 * Reads and checks a whole archive file: the preamble and version, every frame, each stream's
 * SHA-256 and the archive's. Nothing about a bus is needed or touched.
 * @param what - how messages name the archive (its file name, or `<stdin>`)
 * @throws {@link BackupError} `BACKUP_NOT_ARCHIVE`, `BACKUP_UNSUPPORTED_VERSION`, `BACKUP_TRUNCATED` or `BACKUP_CORRUPT`
 */
export async function verifyArchive(path: string, what: string = path, options: VerifyOptions = {}): Promise<ArchiveContents> {
  const keep = (options.keepBytes ?? 0) > 0 && (await stat(path)).size <= options.keepBytes!;
  const reader = new ByteReader(fileSource(path));
  const hash = createHash("sha256");
  const preamble = await reader.read(PREAMBLE_BYTES);
  if (preamble.length < ARCHIVE_MAGIC.length || !preamble.subarray(0, ARCHIVE_MAGIC.length).equals(ARCHIVE_MAGIC)) {
    throw new BackupError(
      BackupErrorCode.notArchive,
      `${what}: not an eventbus archive (it does not begin with ${ARCHIVE_MAGIC.toString("ascii")}); give a file written by eventbus backup`,
    );
  }
  if (preamble.length < PREAMBLE_BYTES) throw truncated(what, preamble.length);
  const version = preamble.readUInt16BE(ARCHIVE_MAGIC.length);
  if (version !== ARCHIVE_VERSION) {
    throw new BackupError(
      BackupErrorCode.unsupportedVersion,
      `${what}: archive format version ${version}; this eventbus reads version ${ARCHIVE_VERSION} only (use the eventbus release that wrote it); nothing was changed`,
    );
  }
  hash.update(preamble);

  let manifest: ArchiveManifest | undefined;
  let summary: ArchiveSummary | undefined;
  const streams: StreamSection[] = [];
  let open: { header: StreamHeader; start: number; bytes: number; chunks: number; kept: Buffer[] } | undefined;
  let trailer: { digest: string; offset: number } | undefined;

  for await (const frame of frames(reader, hash, what)) {
    const expect = (ok: boolean, name: string) => {
      if (!ok) throw corrupt(what, `a ${name} frame out of place at byte ${frame.offset}`);
    };
    switch (frame.type) {
      case FrameType.manifest:
        expect(manifest === undefined && frame.offset === PREAMBLE_BYTES, "manifest");
        manifest = parseJson<ArchiveManifest>(what, frame, "manifest");
        break;
      case FrameType.streamHeader:
        expect(manifest !== undefined && open === undefined && summary === undefined, "stream header");
        open = { header: parseJson<StreamHeader>(what, frame, "stream header"), start: frame.offset, bytes: 0, chunks: 0, kept: [] };
        break;
      case FrameType.chunk:
        expect(open !== undefined, "snapshot chunk");
        // The archive's digest covers these bytes: the stream's own (checked again as sectionChunks
        // reads them for a restore) is not computed twice here.
        open!.bytes += frame.payload.length;
        if (keep) open!.kept.push(frame.payload);
        open!.chunks++;
        break;
      case FrameType.streamEnd: {
        expect(open !== undefined, "stream end");
        const end = parseJson<StreamEnd>(what, frame, "stream end");
        if (end.name !== open!.header.name || end.bytes !== open!.bytes || !/^[0-9a-f]{64}$/.test(end.sha256)) {
          throw corrupt(what, `stream ${open!.header.name}: its snapshot's SHA-256 or size does not match the record at byte ${frame.offset}`);
        }
        streams.push({ header: open!.header, end, start: open!.start, stop: frame.end, ...(keep && { chunks: open!.kept }) });
        open = undefined;
        break;
      }
      case FrameType.summary:
        expect(manifest !== undefined && open === undefined && summary === undefined, "summary");
        summary = parseJson<ArchiveSummary>(what, frame, "summary");
        break;
      case FrameType.trailer:
        expect(summary !== undefined && frame.payload.length === DIGEST_BYTES, "trailer");
        trailer = { digest: frame.payload.toString("hex"), offset: frame.offset };
        break;
    }
    if (trailer !== undefined) break;
  }
  if (trailer !== undefined && (await reader.read(1)).length > 0) throw corrupt(what, `bytes after the trailer at byte ${reader.offset - 1}`);
  if (trailer === undefined) {
    throw new BackupError(
      BackupErrorCode.truncated,
      `${what}: the archive has no trailer after byte ${reader.offset}: it is truncated (a backup that did not finish, or an incomplete copy); nothing was changed`,
    );
  }
  const digest = hash.digest("hex");
  if (digest !== trailer.digest) throw corrupt(what, `its SHA-256 is ${digest}, the trailer says ${trailer.digest}`);
  if (manifest!.format !== ARCHIVE_FORMAT || manifest!.version !== ARCHIVE_VERSION) throw corrupt(what, "the manifest does not name this format");
  const names = streams.map((s) => s.header.name);
  if (JSON.stringify(names) !== JSON.stringify(manifest!.streams))
    throw corrupt(what, `the manifest names streams ${manifest!.streams.join(", ")}, the archive holds ${names.join(", ")}`);
  return { manifest: manifest!, streams, summary: summary!, bytes: reader.offset, sha256: digest };
}

/**
 * The snapshot bytes of one verified stream section, read again from the file and checked against
 * the section's SHA-256 as they are read: a file changed since it was verified fails before its
 * last chunk is given out.
 */
export async function* sectionChunks(path: string, section: StreamSection, what: string = path): AsyncGenerator<Buffer> {
  if (section.chunks !== undefined) {
    // Kept as verified: the archive's digest covered them, and memory does not change.
    yield* section.chunks;
    return;
  }
  const reader = new ByteReader(fileSource(path, section.start, section.stop), section.start);
  const hash = createHash("sha256");
  let pending: Buffer | undefined;
  for await (const frame of frames(reader, undefined, what)) {
    if (frame.type !== FrameType.chunk) continue;
    if (pending !== undefined) yield pending;
    hash.update(frame.payload);
    pending = frame.payload;
  }
  if (hash.digest("hex") !== section.end.sha256) throw corrupt(what, `stream ${section.header.name} changed since it was verified`);
  if (pending !== undefined) yield pending;
}
