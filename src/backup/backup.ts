/**
 * Backup: streams taken with the JetStream snapshot API and written into one archive.
 *
 * The protocol (nats-server `server/jetstream_api.go`, `jsStreamSnapshotRequest` and
 * `streamSnapshot`; the client side as nats-io/jsm.go `snapshot.go` `SnapshotToDirectory` does it):
 * a request to `$JS.API.STREAM.SNAPSHOT.<stream>` names a deliver subject; the stream's leader
 * answers with the stream's config and its state as the snapshot began, then sends the snapshot
 * (an s2-compressed tar of the stream's message blocks and its consumers' state) in chunks to the
 * deliver subject, each with a reply subject that counts the chunk back as acknowledged — the
 * server holds back while more than its window is unacknowledged, so a slow destination slows the
 * server instead of filling memory — and ends with an empty message. The server takes the
 * snapshot under its store's lock: messages can be appended while it runs, none removed, so the
 * archive holds every message of the stream as it began (and may hold ones appended to the last
 * block while it was read), with no gap.
 */
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type ConsumerInfo } from "@nats-io/jetstream";
import type { Writable } from "node:stream";
import { BackupError, BackupErrorCode } from "./errors.js";
import { ArchiveWriter, ARCHIVE_FORMAT, ARCHIVE_VERSION, type ConsumerRecord, type SnapshotState, type StreamHeader, type StreamTotals } from "./format.js";
import { apiRequest, JS_API } from "./jetstream-api.js";

/** The chunk size asked of the server (its default is 128 KiB too; each chunk is one NATS message). */
const SNAPSHOT_CHUNK_BYTES = 128 * 1024;
/** Received snapshot bytes held in memory (not yet taken by the output) beyond which chunks are acknowledged only once written. */
const SNAPSHOT_BUFFER_BYTES = 64 * 1024 * 1024;
/** How long a snapshot may send nothing before it counts as failed. */
const SNAPSHOT_IDLE_MILLIS = 30_000;

/** What {@link backupStreams} backs up and how it reports. */
export interface BackupOptions {
  /** Stream names. @default ["default"] */
  readonly streams?: readonly string[];
  /** Every stream of the account (Argo sensors' `KV_*` buckets too); overrides `streams`. */
  readonly allStreams?: boolean;
  /** The bus as the manifest names it: a local bus name or URLs, never credentials. */
  readonly sourceLabel: string;
  /** The eventbus version written into the manifest. */
  readonly eventbusVersion: string;
  /** Called as chunks arrive. */
  readonly onProgress?: (progress: BackupProgress) => void;
  /**
   * Opens a connection to the named server (see `EventBusClient.connectToServer`). Given, each
   * stream's snapshot is read from its leader's server directly: through another server the
   * snapshot crosses a route, and costs that server a copy of every byte.
   */
  readonly connectToServer?: (serverName: string) => Promise<NatsConnection | undefined>;
}

/** Where a backup is. */
export interface BackupProgress {
  readonly stream: string;
  /** Snapshot bytes (compressed) received for this stream. */
  readonly bytes: number;
  /** The stream's size and messages as the snapshot began (uncompressed). */
  readonly streamBytes: number;
  readonly streamMessages: number;
  readonly elapsedMillis: number;
  /** True on the last report of a stream. */
  readonly done: boolean;
}

/** What a backup wrote. */
export interface BackupResult {
  readonly streams: readonly StreamTotals[];
  /** Archive bytes written. */
  readonly bytes: number;
  /** SHA-256 (hex) of the archive, as in its trailer. */
  readonly sha256: string;
  readonly durationMillis: number;
}

/** The snapshot API's direct answer. */
interface SnapshotAnswer {
  readonly config: StreamHeader["config"];
  readonly state: SnapshotState;
}

/**
 * Writes an archive of the streams to `out` (not ended: the caller closes it). Streams are taken
 * one after the other, each consistent in itself.
 * @throws {@link BackupError} `BACKUP_NO_SUCH_STREAM` before anything is written when a named stream
 *   is missing, `BACKUP_SNAPSHOT_FAILED` when the bus cannot take or send a snapshot
 */
export async function backupStreams(nc: NatsConnection, out: Writable, options: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const names = options.allStreams ? await allStreamNames(nc) : [...(options.streams ?? ["default"])];
  const consumers = new Map<string, ConsumerRecord[]>();
  const leaders = new Map<string, string>();
  const missing: string[] = [];
  const jsm = await jetstreamManager(nc);
  // Listing a stream's consumers is also the check that it exists (a missing one answers "stream
  // not found"): one request per stream, all at once, before anything is written.
  await Promise.all(
    names.map(async (name) => {
      try {
        const [info, list] = await Promise.all([options.connectToServer ? jsm.streams.info(name) : undefined, listConsumers(nc, name)]);
        consumers.set(name, list.map(consumerRecord));
        const leader = info?.cluster?.leader;
        if (leader !== undefined && leader !== "") leaders.set(name, leader);
      } catch (error) {
        if (isNotFound(error)) missing.push(name);
        else
          throw new BackupError(BackupErrorCode.snapshotFailed, `stream ${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }),
  );
  if (missing.length > 0) {
    const have = await allStreamNames(nc);
    throw new BackupError(
      BackupErrorCode.noSuchStream,
      `no stream ${missing.sort().join(", ")} on this bus (it has: ${have.length > 0 ? have.join(", ") : "no streams"}); nothing was written`,
    );
  }

  const writer = new ArchiveWriter(out);
  const info = nc.info;
  await writer.start({
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    createdAt: new Date(started).toISOString(),
    eventbusVersion: options.eventbusVersion,
    source: {
      label: options.sourceLabel,
      ...(info?.server_name !== undefined && { serverName: info.server_name }),
      ...(info?.version !== undefined && { serverVersion: info.version }),
      ...(info?.cluster !== undefined && { cluster: info.cluster }),
    },
    streams: names,
  });
  const totals: StreamTotals[] = [];
  for (const name of names) {
    const leader = leaders.get(name);
    const direct = leader !== undefined ? await options.connectToServer?.(leader).catch(() => undefined) : undefined;
    try {
      totals.push(await snapshotStream(direct ?? nc, writer, name, consumers.get(name) ?? [], options));
    } finally {
      await direct?.close().catch(() => undefined);
    }
  }
  const durationMillis = Date.now() - started;
  const sha256 = await writer.finish({ completedAt: new Date().toISOString(), durationMillis, streams: totals });
  return { streams: totals, bytes: writer.bytes, sha256, durationMillis };
}

/**
 * One stream's section: header, snapshot chunks as the server sends them, end.
 *
 * Flow control: nats-server (2.10, `streamSnapshot`) sends while less than 8 MiB is unacknowledged
 * and then waits for an acknowledgement for at most 2 s before it ends the snapshot with "408 No
 * Flow Response". A destination that stalls for longer (an object-store upload behind `-o -` takes
 * seconds per part) would end the backup. So each chunk is acknowledged as it arrives, as
 * nats-io/jsm.go's `createSnapshot` does, while what is held in memory (received, not yet taken by
 * the output) is below {@link SNAPSHOT_BUFFER_BYTES}; beyond that a chunk is acknowledged once it
 * is written, and the server's pace follows the destination's.
 */
async function snapshotStream(
  nc: NatsConnection,
  writer: ArchiveWriter,
  name: string,
  consumers: readonly ConsumerRecord[],
  options: BackupOptions,
): Promise<StreamTotals> {
  const started = Date.now();
  const inbox = createInbox();
  const queue: { readonly m: Msg; readonly acked: boolean }[] = [];
  let held = 0;
  let wake: (() => void) | undefined;
  let subscriptionError: Error | undefined;
  // Subscribed before asking: the server sends the first chunk right after its answer.
  const sub = nc.subscribe(inbox, {
    callback: (error, m) => {
      if (error) subscriptionError ??= error;
      else {
        const ackNow = m.data.length > 0 && m.reply !== undefined && m.reply !== "" && held + writer.backlog < SNAPSHOT_BUFFER_BYTES;
        if (ackNow) m.respond();
        held += m.data.length;
        queue.push({ m, acked: ackNow });
      }
      wake?.();
    },
  });
  /** The next message, or undefined when the server sent nothing for {@link SNAPSHOT_IDLE_MILLIS}. */
  const next = async () => {
    if (queue.length === 0 && subscriptionError === undefined) {
      await new Promise<void>((resolve) => {
        const idle = setTimeout(resolve, SNAPSHOT_IDLE_MILLIS);
        wake = () => {
          clearTimeout(idle);
          resolve();
        };
      });
      wake = undefined;
    }
    if (subscriptionError !== undefined) {
      throw new BackupError(BackupErrorCode.snapshotFailed, `snapshot of stream ${name}: ${subscriptionError.message}; the archive is incomplete, try again`, {
        cause: subscriptionError,
      });
    }
    return queue.shift();
  };
  try {
    const answer = await apiRequest<SnapshotAnswer>(
      nc,
      `${JS_API}.STREAM.SNAPSHOT.${name}`,
      { deliver_subject: inbox, no_consumers: false, chunk_size: SNAPSHOT_CHUNK_BYTES, jsck: false },
      BackupErrorCode.snapshotFailed,
      `snapshot of stream ${name}`,
    );
    await writer.beginStream({ name, config: answer.config, state: answer.state, consumers });
    let bytes = 0;
    const report = (done: boolean) =>
      options.onProgress?.({
        stream: name,
        bytes,
        streamBytes: answer.state.bytes,
        streamMessages: answer.state.messages,
        elapsedMillis: Date.now() - started,
        done,
      });
    for (;;) {
      const item = await next();
      if (item === undefined) {
        throw new BackupError(
          BackupErrorCode.snapshotFailed,
          `snapshot of stream ${name}: the server sent nothing for ${SNAPSHOT_IDLE_MILLIS / 1000} s after ${bytes} bytes; the archive is incomplete, try again`,
        );
      }
      const { m, acked } = item;
      if (m.data.length === 0) {
        snapshotEndError(m, name);
        break;
      }
      await writer.chunk(m.data);
      held -= m.data.length;
      bytes += m.data.length;
      if (!acked && m.reply) m.respond();
      report(false);
    }
    await writer.endStream();
    report(true);
    const state = answer.state;
    return {
      name,
      messages: state.messages,
      bytes: state.bytes,
      firstSeq: state.first_seq,
      lastSeq: state.last_seq,
      consumers: state.consumer_count,
      snapshotBytes: bytes,
    };
  } finally {
    sub.unsubscribe();
  }
}

/** The end of a snapshot may carry an error status (a server that failed while reading its store). */
function snapshotEndError(m: Msg, name: string): void {
  const headers = m.headers;
  if (headers !== undefined && headers.code >= 400) {
    throw new BackupError(
      BackupErrorCode.snapshotFailed,
      `snapshot of stream ${name}: the server ended it with ${headers.code} ${headers.description}; the archive is incomplete, try again`,
    );
  }
}

/** Every stream name of the account, sorted. */
export async function allStreamNames(nc: NatsConnection): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const names: string[] = [];
  for await (const name of jsm.streams.names()) names.push(name);
  return names.sort();
}

/** The consumers of a stream, as its info lists them. */
export async function listConsumers(nc: NatsConnection, stream: string): Promise<ConsumerInfo[]> {
  const jsm = await jetstreamManager(nc);
  const list: ConsumerInfo[] = [];
  for await (const info of jsm.consumers.list(stream)) list.push(info);
  return list.sort((a, b) => a.name.localeCompare(b.name));
}

function consumerRecord(info: ConsumerInfo): ConsumerRecord {
  const filter = info.config.filter_subject;
  return {
    name: info.name,
    durable: info.config.durable_name !== undefined,
    ...(filter !== undefined && filter !== "" && { filterSubject: filter }),
    delivered: { consumerSeq: info.delivered.consumer_seq, streamSeq: info.delivered.stream_seq },
    ackFloor: { consumerSeq: info.ack_floor.consumer_seq, streamSeq: info.ack_floor.stream_seq },
    numPending: info.num_pending,
    numAckPending: info.num_ack_pending,
  };
}

/** A JetStream "stream not found". */
export function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}
