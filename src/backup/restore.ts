/**
 * Restore: a verified archive's streams put back with the JetStream restore API, with the same
 * sequences, times, headers and consumers' state.
 *
 * The protocol (nats-server `server/jetstream_api.go`, `jsStreamRestoreRequest` and
 * `processStreamRestore`; the client side as nats-io/jsm.go `snapshot.go`
 * `RestoreSnapshotFromDirectory` does it): a request to `$JS.API.STREAM.RESTORE.<stream>` with the
 * stream's config and state is answered with a deliver subject; each chunk of the snapshot is sent
 * there as a request, answered empty (or with an error); an empty message ends it, and only then
 * does the server unpack the staged snapshot into a stream and answer with its info. Chunks not
 * followed by that end are discarded by the server after 5 s. The server refuses a restore into
 * an existing stream's name, and the name is part of the stream's identity (no stream can be
 * renamed), so replacing a stream means deleting it first: see {@link restoreStreams}.
 */
import { mkdtemp, rm, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager, type ConsumerInfo, type MsgRequest, type StreamInfo } from "@nats-io/jetstream";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { backupStreams, isNotFound } from "./backup.js";
import { BackupError, BackupErrorCode } from "./errors.js";
import { sectionChunks, verifyArchive, type ArchiveContents, type StreamCounts, type StreamSection } from "./format.js";
import { apiErrorText, apiRequest, isUnanswered, JS_API, parseApiAnswer, requestFailure } from "./jetstream-api.js";

/** Chunks sent to the server are at most this large (and below the server's `max_payload`). */
const RESTORE_CHUNK_BYTES = 512 * 1024;
/** Chunks sent before the first of them is answered. */
const RESTORE_CHUNKS_IN_FLIGHT = 4;
/** How long one chunk may wait for the server's answer. */
const CHUNK_TIMEOUT_MILLIS = 30_000;
/** How long the server may take to unpack the staged snapshot into a stream. */
const FINISH_TIMEOUT_MILLIS = 10 * 60_000;
/** How long a restored stream may take to have a leader and all its consumers. */
const READY_TIMEOUT_MILLIS = 60_000;
/** The first pause between two looks at a restored stream, doubled up to {@link READY_POLL_MAX_MILLIS}: a stream is most often whole at once, or within milliseconds. */
const READY_POLL_FIRST_MILLIS = 10;
const READY_POLL_MAX_MILLIS = 250;

/** How {@link restoreStreams} restores. */
export interface RestoreOptions {
  /** Replace streams that hold messages or consumers. @default false */
  readonly replace?: boolean;
  /** The target bus's servers: each stream's replicas become min(its replicas, this). */
  readonly targetServers: number;
  /** How messages name the archive. */
  readonly what?: string;
  /** Where safety copies of replaced streams are kept while a restore runs. @default the OS temp dir */
  readonly tempDir?: string;
  /** Called as chunks are sent. */
  readonly onProgress?: (progress: RestoreProgress) => void;
  /** Called with each step (deleting, restoring, putting back) as it begins. */
  readonly onStep?: (line: string) => void;
}

/** Where a restore is. */
export interface RestoreProgress {
  readonly stream: string;
  readonly bytes: number;
  readonly totalBytes: number;
  readonly elapsedMillis: number;
}

/** A restored stream, as the target holds it after the restore. */
export interface RestoredStream extends StreamCounts {
  readonly replicas: number;
  /** The stream held messages or consumers, which were replaced. */
  readonly replaced: boolean;
}

/**
 * Restores every stream of a verified archive.
 *
 * Before anything is changed, every stream the archive holds is looked up on the target: one that
 * holds messages or consumers is refused unless `replace`. An existing stream (even an empty one,
 * such as `eventbus up` creates) is then, one stream at a time: backed up into a safety archive in
 * a temp dir (0600) and that archive verified; deleted; the archive's stream restored and checked
 * (a leader, every consumer, at least the archived messages up to the archived last sequence). If
 * any of that fails, the partly restored stream is deleted and the safety archive restored, so the
 * target holds its old events, sequences and consumers again; if even that fails, the safety
 * archive is kept and the error names it. Between the delete and the end of the restore the stream
 * does not exist: publishers see no stream and retry (eventbus's publisher for up to 120 s).
 * @throws {@link BackupError} `BACKUP_TARGET_NOT_EMPTY` (nothing changed), `BACKUP_RESTORE_FAILED`
 */
export async function restoreStreams(nc: NatsConnection, path: string, archive: ArchiveContents, options: RestoreOptions): Promise<RestoredStream[]> {
  const what = options.what ?? path;
  const jsm = await jetstreamManager(nc);
  const existing = new Map<string, StreamInfo>();
  const occupied: string[] = [];
  for (const section of archive.streams) {
    const info = await jsm.streams.info(section.header.name).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw new BackupError(
        BackupErrorCode.restoreFailed,
        `stream ${section.header.name}: cannot read it on the target: ${error instanceof Error ? error.message : String(error)}; nothing was changed`,
        { cause: error },
      );
    });
    if (info === undefined) continue;
    existing.set(section.header.name, info);
    if (holdsData(info)) occupied.push(`${info.config.name} (${info.state.messages} messages, ${info.state.consumer_count} consumers)`);
  }
  if (occupied.length > 0 && !options.replace) {
    throw new BackupError(
      BackupErrorCode.targetNotEmpty,
      `the target already has stream ${occupied.join(", ")}; nothing was changed; restore with --replace to replace it (its events are kept aside and put back if the restore fails)`,
    );
  }

  const restored: RestoredStream[] = [];
  for (const section of archive.streams) {
    const current = existing.get(section.header.name);
    restored.push(current === undefined ? await restoreNew(nc, path, section, what, options) : await replaceStream(nc, path, section, current, what, options));
  }
  return restored;
}

function holdsData(info: StreamInfo): boolean {
  return info.state.messages > 0 || info.state.consumer_count > 0;
}

/** A stream the target does not have: restored; a part left by a failure is deleted. */
async function restoreNew(nc: NatsConnection, path: string, section: StreamSection, what: string, options: RestoreOptions): Promise<RestoredStream> {
  const name = section.header.name;
  try {
    options.onStep?.(`restoring stream ${name}`);
    return { ...(await restoreSection(nc, path, section, what, options)), replaced: false };
  } catch (error) {
    await deleteIfPresent(nc, name);
    throw failed(error, "the target has no such stream, as before");
  }
}

/** Safety copy, delete, restore; on failure the safety copy is put back. */
async function replaceStream(
  nc: NatsConnection,
  path: string,
  section: StreamSection,
  current: StreamInfo,
  what: string,
  options: RestoreOptions,
): Promise<RestoredStream> {
  const name = section.header.name;
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), "eventbus-restore-"));
  const safetyPath = join(dir, `${name}.safety.evbak`);
  let keepSafety = false;
  try {
    options.onStep?.(`keeping a safety copy of stream ${name} (${current.state.messages} messages)`);
    const file = await open(safetyPath, "wx", 0o600);
    const out = file.createWriteStream();
    try {
      await backupStreams(nc, out, { streams: [name], sourceLabel: `safety copy of ${name}`, eventbusVersion: "restore" });
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    const safety = await verifyArchive(safetyPath, `safety copy of stream ${name}`);
    const safetySection = safety.streams[0]!;

    options.onStep?.(`deleting stream ${name}`);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(name);
    try {
      options.onStep?.(`restoring stream ${name}`);
      return { ...(await restoreSection(nc, path, section, what, options)), replaced: holdsData(current) };
    } catch (error) {
      options.onStep?.(`restore of stream ${name} failed; putting the old stream back`);
      let back: Omit<RestoredStream, "replaced">;
      try {
        back = await putBack(nc, safetyPath, safetySection, safetyPath, { ...options, onProgress: undefined });
      } catch (putBack) {
        keepSafety = true;
        throw failed(
          error,
          `putting the old stream back failed too (${reason(putBack)}); its events are kept in ${safetyPath}: restore them with eventbus restore -f ${safetyPath} --replace`,
        );
      }
      throw failed(error, `the old stream was put back (${back.messages} messages, last sequence ${back.lastSeq}, ${back.consumers} consumers)`);
    }
  } finally {
    if (!keepSafety) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The restore protocol for one section, then a wait until the stream is whole. The stream takes
 * `config` when given (the server makes the request's config the restored stream's identity, see
 * nats-server `RestoreStream`), else the archived config as the target can take it.
 */
export async function restoreSection(
  nc: NatsConnection,
  path: string,
  section: StreamSection,
  what: string,
  options: Pick<RestoreOptions, "targetServers" | "onProgress">,
  config: Record<string, unknown> = targetConfig(section.header.config, options.targetServers),
): Promise<Omit<RestoredStream, "replaced">> {
  const name = section.header.name;
  const started = Date.now();
  const answer = await apiRequest<{ deliver_subject: string }>(
    nc,
    `${JS_API}.STREAM.RESTORE.${name}`,
    { config, state: section.header.state },
    BackupErrorCode.restoreFailed,
    `restore of stream ${name}`,
  );
  const maxChunk = Math.min(RESTORE_CHUNK_BYTES, Math.max(1024, (nc.info?.max_payload ?? RESTORE_CHUNK_BYTES) - 1024));
  let sent = 0;
  // A few chunks in flight: one connection delivers them in order, and the server stages each as
  // it comes, so waiting for every answer before the next chunk would only add round trips.
  const inFlight: Promise<unknown>[] = [];
  const settle = async (p: Promise<unknown>) => {
    await p;
    inFlight.splice(inFlight.indexOf(p), 1);
  };
  try {
    for await (const chunk of sectionChunks(path, section, what)) {
      for (let at = 0; at < chunk.length; at += maxChunk) {
        const part = chunk.subarray(at, at + maxChunk);
        if (inFlight.length >= RESTORE_CHUNKS_IN_FLIGHT) await settle(inFlight[0]!);
        const sending = sendChunk(nc, answer.deliver_subject, part, name, CHUNK_TIMEOUT_MILLIS).then(() => {
          sent += part.length;
          options.onProgress?.({ stream: name, bytes: sent, totalBytes: section.end.bytes, elapsedMillis: Date.now() - started });
        });
        inFlight.push(sending);
      }
    }
    while (inFlight.length > 0) await settle(inFlight[0]!);
  } finally {
    // After a failure, the chunks still in flight are not waited for; their errors are the same one.
    for (const p of inFlight) p.catch(() => undefined);
  }
  const done = await sendChunk(nc, answer.deliver_subject, new Uint8Array(0), name, FINISH_TIMEOUT_MILLIS);
  parseApiAnswer<unknown>(done, BackupErrorCode.restoreFailed, `restore of stream ${name}`);
  return waitUntilWhole(nc, section);
}

/** Sends one chunk and checks the server's answer (empty, or an error). */
async function sendChunk(nc: NatsConnection, subject: string, data: Uint8Array, name: string, timeoutMillis: number): Promise<Uint8Array> {
  let reply: Msg;
  try {
    reply = await nc.request(subject, data, { timeout: timeoutMillis });
  } catch (error) {
    throw new BackupError(BackupErrorCode.restoreFailed, `restore of stream ${name}: ${requestFailure(error, timeoutMillis)}`, { cause: error });
  }
  const text = new TextDecoder().decode(reply.data);
  if (data.length > 0 && reply.data.length > 0) {
    // Staging answers a chunk with nothing, or with an error: `-ERR '…'` or an API error's JSON.
    let detail = text;
    try {
      const parsed = JSON.parse(text) as { error?: { description?: string; err_code?: number } };
      if (parsed.error) detail = apiErrorText(parsed.error);
    } catch {
      // not JSON: the text as it is
    }
    throw new BackupError(BackupErrorCode.restoreFailed, `restore of stream ${name}: the server refused a chunk: ${detail.slice(0, 300)}`);
  }
  return reply.data;
}

/**
 * The archived config as the target can take it: replicas no more than the target's servers, and
 * without `placement`, which names the source's cluster or server tags.
 */
export function targetConfig(config: StreamSection["header"]["config"], targetServers: number): Record<string, unknown> {
  const { placement: _placement, ...rest } = config;
  const replicas = Math.max(1, Math.min(Number(config.num_replicas ?? 1) || 1, Math.max(1, targetServers)));
  return { ...rest, num_replicas: replicas };
}

/**
 * Waits until the restored stream answers with a leader and every archived consumer, and checks it
 * holds what the archive does: the archived first sequence, at least its messages, up to at least
 * its last sequence.
 */
async function waitUntilWhole(nc: NatsConnection, section: StreamSection): Promise<Omit<RestoredStream, "replaced">> {
  const name = section.header.name;
  const archived = section.header.state;
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + READY_TIMEOUT_MILLIS;
  let last = "no answer";
  for (let pause = READY_POLL_FIRST_MILLIS; ; pause = Math.min(pause * 2, READY_POLL_MAX_MILLIS)) {
    try {
      const info = await jsm.streams.info(name);
      const leader = info.cluster === undefined || info.cluster.leader !== undefined;
      const behind = (info.cluster?.replicas ?? []).filter((r) => !r.current).map((r) => r.name);
      if (leader && behind.length === 0 && info.state.consumer_count >= archived.consumer_count) {
        const s = info.state;
        if (s.last_seq < archived.last_seq || s.messages < archived.messages || (archived.messages > 0 && s.first_seq !== archived.first_seq)) {
          throw new BackupError(
            BackupErrorCode.restoreFailed,
            `restore of stream ${name}: the restored stream holds ${s.messages} messages ${s.first_seq}..${s.last_seq}, the archive ${archived.messages} messages ${archived.first_seq}..${archived.last_seq}`,
          );
        }
        if (info.cluster?.replicas?.length) await recountConsumers(nc, name, deadline);
        return {
          name,
          messages: s.messages,
          bytes: s.bytes,
          firstSeq: s.first_seq,
          lastSeq: s.last_seq,
          consumers: s.consumer_count,
          replicas: info.config.num_replicas,
        };
      }
      last = !leader
        ? "no leader"
        : behind.length > 0
          ? `replicas not current: ${behind.join(", ")}`
          : `${info.state.consumer_count} of ${archived.consumer_count} consumers`;
    } catch (error) {
      if (error instanceof BackupError) throw error;
      last = reason(error);
    }
    if (Date.now() > deadline) {
      throw new BackupError(
        BackupErrorCode.restoreFailed,
        `restore of stream ${name}: the stream was not whole within ${READY_TIMEOUT_MILLIS / 1000} s (${last})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** How long putting an old stream back goes on while the bus's JetStream API does not answer. */
const PUT_BACK_TIMEOUT_MILLIS = 60_000;

/**
 * Puts a stream back from an archive after a restore or recreate under the same name failed: the
 * half-restored stream deleted, then the archive's section restored. Right after a refused restore
 * the JetStream API can go unanswered for a moment ("no responders", seen in CI): the put-back is
 * tried again, each time from a deleted stream, for up to a minute.
 */
export async function putBack(
  nc: NatsConnection,
  path: string,
  section: StreamSection,
  what: string,
  options: Pick<RestoreOptions, "targetServers" | "onProgress">,
  config?: Record<string, unknown>,
): Promise<Omit<RestoredStream, "replaced">> {
  const deadline = Date.now() + PUT_BACK_TIMEOUT_MILLIS;
  for (;;) {
    try {
      await deleteIfPresent(nc, section.header.name);
      return await restoreSection(nc, path, section, what, options, config);
    } catch (error) {
      if (!isUnanswered(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** How long {@link deleteIfPresent} may take to see the stream gone. */
const DELETE_TIMEOUT_MILLIS = 60_000;

/**
 * Deletes the stream and waits until the bus no longer knows it; one that is not there is fine.
 * Right after a restore that the server refused halfway (a consumer it could not restore), the
 * delete request can go unanswered for seconds while the server removes what it had unpacked: it
 * is asked again until the stream is gone, and a restore under the same name starts only then.
 */
export async function deleteIfPresent(nc: NatsConnection, name: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + DELETE_TIMEOUT_MILLIS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await jsm.streams.delete(name);
    } catch (error) {
      if (!isNotFound(error)) last = error;
    }
    try {
      await jsm.streams.info(name);
    } catch (error) {
      if (isNotFound(error)) return;
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new BackupError(BackupErrorCode.restoreFailed, `stream ${name} could not be deleted within ${DELETE_TIMEOUT_MILLIS / 1000} s (${reason(last)})`, {
    cause: last,
  });
}

function failed(error: unknown, state: string): BackupError {
  return new BackupError(BackupErrorCode.restoreFailed, `${reason(error)}; ${state}`, { cause: error });
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Leader stepdowns of one consumer at most, until its pending count is plausible. */
const MAX_RECOUNTS = 8;
/** The pause before a consumer is stepped down again because its count was not plausible. */
const RECOUNT_PAUSE_MILLIS = 500;

/**
 * Has each replicated consumer of a restored stream elected again, once every replica of the
 * stream is current. A consumer counts its pending events when it becomes leader
 * (nats-server 2.10.29 `server/consumer.go`: `setLeader` calls `streamNumPending`) and recounts
 * later only when that count exceeds what the stream holds (`checkNumPending`): a consumer whose
 * leader was elected on a replica the restore had not yet reached counted 0 and kept reporting 0
 * pending with 180 events unread (an Argo sensor's backlog hidden from `status`). A leader stepdown
 * (`$JS.API.CONSUMER.LEADER.STEPDOWN.<stream>.<consumer>`) has a leader count again; the
 * consumers' delivered and ack floor are raft state and do not change. A replica reported current
 * by the stream's raft group can still be catching up the stream's messages (they come outside the
 * raft log, `processSnapshot`/`processCatchupMsg`), so a new leader's count is checked against the
 * stream ({@link pendingAtLeast}) and the consumer stepped down again while it is below.
 */
async function recountConsumers(nc: NatsConnection, stream: string, deadline: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for await (const consumer of jsm.consumers.list(stream)) {
    if ((consumer.cluster?.replicas ?? []).length === 0) continue;
    const what = `restore of stream ${stream}: consumer ${consumer.name}`;
    for (let round = 1; ; round++) {
      await apiRequest(nc, `${JS_API}.CONSUMER.LEADER.STEPDOWN.${stream}.${consumer.name}`, {}, BackupErrorCode.restoreFailed, `${what}: leader stepdown`);
      let info: ConsumerInfo | undefined;
      for (let pause = READY_POLL_FIRST_MILLIS; ; pause = Math.min(pause * 2, READY_POLL_MAX_MILLIS)) {
        info = await jsm.consumers.info(stream, consumer.name).catch(() => undefined);
        if (info?.cluster?.leader !== undefined) break;
        if (Date.now() > deadline) throw new BackupError(BackupErrorCode.restoreFailed, `${what} has no leader again within ${READY_TIMEOUT_MILLIS / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
      // A count still low after the last round is left: the events are there, only the count is off.
      if (info.num_pending >= (await pendingAtLeast(nc, info)) || round >= MAX_RECOUNTS || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, RECOUNT_PAUSE_MILLIS));
    }
  }
}

/**
 * The fewest events a consumer can have pending, read from the stream's leader: every event after
 * its delivered sequence when it takes all of a stream without gaps, else 1 when an event on its
 * filter follows its delivered sequence (`$JS.API.STREAM.MSG.GET` with `next_by_subj`, nats-server
 * 2.10.29 `server/jetstream_api.go` jsMsgGetRequest), else 0.
 */
async function pendingAtLeast(nc: NatsConnection, consumer: ConsumerInfo): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const { config, state } = await jsm.streams.info(consumer.stream_name);
  const from = Math.max(consumer.delivered.stream_seq, state.first_seq - 1);
  if (from >= state.last_seq) return 0;
  const filters = consumer.config.filter_subjects ?? (consumer.config.filter_subject ? [consumer.config.filter_subject] : []);
  const whole = filters.length === 0 || filters.includes(">") || (config.subjects ?? []).every((s) => filters.includes(s));
  if (whole && (state.num_deleted ?? 0) === 0) return state.last_seq - from;
  for (const filter of filters.length === 0 ? [">"] : filters) {
    const query = { seq: from + 1, next_by_subj: filter } as unknown as MsgRequest;
    const next = await jsm.streams.getMessage(consumer.stream_name, query).catch(() => null);
    if (next !== null) return 1;
  }
  return 0;
}
