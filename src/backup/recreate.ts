/**
 * Recreate: a stream given a config JetStream cannot apply to it while it lives (its retention
 * policy, its storage type), by backup, delete and restore under the new config.
 *
 * The JetStream restore request carries a config, and the server makes that config the restored
 * stream's identity (nats-server `server/stream.go` `RestoreStream`: the snapshot's own config is
 * read only to check the name; the stream is added with the request's, after `checkStreamCfg`).
 * So the snapshot's message blocks and its consumers' state come back byte for byte — sequences,
 * times, headers, ack floors, redeliveries — under the new retention, and no message is published
 * again. The server checks the new config and every restored consumer against each other (a work
 * queue refuses overlapping consumers, for one): when it refuses, the old stream is put back from
 * the same archive.
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { backupStreams, isNotFound } from "./backup.js";
import { BackupError, BackupErrorCode } from "./errors.js";
import { verifyArchive, type StreamCounts } from "./format.js";
import { putBack, restoreSection } from "./restore.js";

/** While a stream is recreated its subjects are this prefix and its name: no event reaches it. */
const FENCE_SUBJECT_PREFIX = "_EVENTBUS_RECREATING";

/** How {@link recreateStream} recreates. */
export interface RecreateOptions {
  /** The stream's new JetStream config (its JSON, as the stream create API takes it); its name must be the stream's. */
  readonly config: Record<string, unknown> & { readonly name: string };
  /** Where the archive is written (a file 0600, kept). @default a new directory in the OS temp dir */
  readonly archiveDir?: string;
  /** The eventbus version written into the archive's manifest. @default "recreate" */
  readonly eventbusVersion?: string;
  /**
   * Called with each step as it begins, and awaited; "backed-up" comes after the archive is
   * verified and before the stream is checked for events that arrived meanwhile.
   */
  readonly onStep?: (step: RecreateStep, line: string) => void | Promise<void>;
}

/** The steps of a recreate, as {@link RecreateOptions.onStep} reports them. */
export const RecreateStep = {
  backingUp: "backing-up",
  backedUp: "backed-up",
  fencing: "fencing",
  deleting: "deleting",
  restoring: "restoring",
  puttingBack: "putting-back",
} as const;
/** One of the {@link RecreateStep} values. */
export type RecreateStep = (typeof RecreateStep)[keyof typeof RecreateStep];

/** A recreated stream: its counts after the restore, and the archive that holds it as it was. */
export interface RecreatedStream extends StreamCounts {
  /** The verified archive of the stream as it was before, kept. */
  readonly archive: string;
}

/**
 * Backs the stream up (with its consumers) into a verified archive, checks that no event arrived
 * since (its last sequence is the archived one), deletes it, and restores the archive under the
 * new config; the restored stream must hold the archived sequences and every consumer.
 *
 * Between the delete and the end of the restore the stream does not exist: publishers see no
 * stream and retry (eventbus's publisher for up to 120 s).
 * @throws {@link BackupError} `BACKUP_STREAM_CHANGED` when an event arrived during the backup
 *   (nothing was changed), `BACKUP_NO_SUCH_STREAM`, `BACKUP_SNAPSHOT_FAILED` (nothing was
 *   changed), `BACKUP_RESTORE_FAILED` (the old stream was put back from the archive, or the
 *   message names the archive when even that failed)
 */
export async function recreateStream(nc: NatsConnection, options: RecreateOptions): Promise<RecreatedStream> {
  const name = options.config.name;
  const step = async (s: RecreateStep, line: string) => options.onStep?.(s, line);
  const dir = options.archiveDir ?? (await mkdtemp(join(tmpdir(), "eventbus-recreate-")));
  const archive = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.evbak`);
  let keep = false;
  try {
    await step(RecreateStep.backingUp, `backing up stream ${name} into ${archive}`);
    const file = await open(archive, "wx", 0o600);
    const out = file.createWriteStream();
    try {
      await backupStreams(nc, out, {
        streams: [name],
        sourceLabel: `stream ${name} before it was recreated`,
        eventbusVersion: options.eventbusVersion ?? "recreate",
      });
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    const contents = await verifyArchive(archive, `archive of stream ${name}`);
    const section = contents.streams[0]!;
    const archived = section.header.state;
    await step(
      RecreateStep.backedUp,
      `stream ${name} backed up: ${archived.messages} events (${archived.first_seq}..${archived.last_seq}), ${section.header.consumers.length} consumers`,
    );

    const jsm = await jetstreamManager(nc);
    // Fenced: the stream takes no more events (its subjects moved to one nobody publishes on), so
    // none can be stored between the check below and the delete; publishers see no stream and
    // retry, as they do while it is recreated. Unfenced if the check refuses.
    const live = await jsm.streams.info(name);
    await step(RecreateStep.fencing, `stream ${name}: taking no more events while it is recreated`);
    await jsm.streams.update(name, { ...live.config, subjects: [`${FENCE_SUBJECT_PREFIX}.${name}`] });
    const now = await jsm.streams.info(name).catch(async (error: unknown) => {
      await jsm.streams.update(name, live.config);
      throw error;
    });
    if (now.state.last_seq !== archived.last_seq) {
      await jsm.streams.update(name, live.config);
      throw new BackupError(
        BackupErrorCode.streamChanged,
        `stream ${name}: ${plural(now.state.last_seq - archived.last_seq, "event")} ${now.state.last_seq - archived.last_seq === 1 ? "was" : "were"} published while it was backed up (last sequence ${archived.last_seq} then, ${now.state.last_seq} now); nothing was changed; try again when no event source publishes`,
      );
    }
    keep = true;

    await step(RecreateStep.deleting, `deleting stream ${name}`);
    await jsm.streams.delete(name);
    try {
      await step(RecreateStep.restoring, `restoring stream ${name} with the new config`);
      const restored = await restoreSection(nc, archive, section, archive, { targetServers: Number.MAX_SAFE_INTEGER }, options.config);
      const info = await jsm.streams.info(name);
      for (const key of ["retention", "storage"] as const) {
        if (options.config[key] !== undefined && info.config[key] !== options.config[key]) {
          throw new BackupError(
            BackupErrorCode.restoreFailed,
            `restore of stream ${name}: the server restored it with ${key} ${info.config[key]}, not ${String(options.config[key])}`,
          );
        }
      }
      return { ...restored, archive };
    } catch (error) {
      await step(RecreateStep.puttingBack, `recreating stream ${name} failed; putting the old stream back from ${archive}`);
      try {
        const back = await putBack(nc, archive, section, archive, { targetServers: Number.MAX_SAFE_INTEGER }, section.header.config);
        throw failed(
          error,
          `the old stream was put back (${back.messages} events, last sequence ${back.lastSeq}, ${back.consumers} consumers); its archive is kept in ${archive}`,
        );
      } catch (putBack) {
        if (putBack instanceof BackupError && putBack.cause === error) throw putBack;
        throw failed(
          error,
          `putting the old stream back failed too (${reason(putBack)}); its events are kept in ${archive}: restore them with eventbus restore -f ${archive} --replace`,
        );
      }
    }
  } catch (error) {
    if (isNotFound(error)) throw new BackupError(BackupErrorCode.noSuchStream, `no stream ${name} on this bus; nothing was changed`, { cause: error });
    throw error;
  } finally {
    if (!keep) await rm(archive, { force: true });
    if (!keep && options.archiveDir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function failed(error: unknown, state: string): BackupError {
  return new BackupError(BackupErrorCode.restoreFailed, `${reason(error)}; ${state}`, { cause: error });
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
