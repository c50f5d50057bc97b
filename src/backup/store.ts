/**
 * A directory of backups: archives named by the UTC time they were taken
 * (`<name>-YYYYMMDDTHHMMSSZ.evbak`), each written beside its name, verified, then renamed, with the
 * newest `keep` kept. The local supervisor writes a bus's scheduled backups into its state dir this
 * way, and `eventbus backup --into-dir` (a Kubernetes CronJob) into a volume claim.
 */
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { backupStreams, type BackupOptions, type BackupResult } from "./backup.js";
import { verifyArchive } from "./format.js";

/** The file name extension of archives. */
export const ARCHIVE_EXTENSION = ".evbak";

const NAME_PATTERN = /^(?<name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)-(?<time>\d{8}T\d{6}Z)(?:-(?<n>\d+))?\.evbak$/;

/** `<name>-20261130T070000Z.evbak` for a backup begun at `at` (UTC, to the second). */
export function archiveFileName(name: string, at: Date, n = 0): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  return `${name}-${stamp}${n > 0 ? `-${n}` : ""}${ARCHIVE_EXTENSION}`;
}

/** A file of a backup directory whose name is an archive's: its name part and time. */
export interface ArchiveFileName {
  readonly file: string;
  readonly name: string;
  /** When the backup began (ISO 8601, UTC, to the second). */
  readonly takenAt: string;
  /** A second backup in the same second gets `-1`, `-2`, …. */
  readonly n: number;
}

/** The name part and time of an archive's file name; undefined for another file. */
export function parseArchiveFileName(file: string): ArchiveFileName | undefined {
  const m = NAME_PATTERN.exec(file)?.groups;
  if (!m) return undefined;
  const t = m.time!;
  const takenAt = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}Z`;
  if (Number.isNaN(Date.parse(takenAt))) return undefined;
  return { file, name: m.name!, takenAt, n: Number(m.n ?? 0) };
}

/** Newest first: by time, then by the same-second counter. */
function newestFirst(a: ArchiveFileName, b: ArchiveFileName): number {
  return a.takenAt === b.takenAt ? b.n - a.n : a.takenAt < b.takenAt ? 1 : -1;
}

/** The archive files of `dir` (of the name `name` only, when given), newest first. */
export async function archiveFiles(dir: string, name?: string): Promise<ArchiveFileName[]> {
  const files = await readdir(dir);
  return files
    .map(parseArchiveFileName)
    .filter((f): f is ArchiveFileName => f !== undefined && (name === undefined || f.name === name))
    .sort(newestFirst);
}

/** One backup of a directory, as `eventbus backups` lists it. */
export interface StoredBackup extends ArchiveFileName {
  readonly path: string;
  readonly bytes: number;
  /** The whole archive verified (its digests match, its trailer is there). */
  readonly verified: boolean;
  /** Why it is not usable, when it is not verified. */
  readonly problem?: string;
  readonly streams: readonly string[];
  /** The messages of its streams, as their snapshots began. */
  readonly messages: number;
  readonly sha256?: string;
  /** The bus as the archive's manifest names it. */
  readonly source?: string;
}

/**
 * The backups of `dir`, newest first, each read through and verified (its streams and messages from
 * its manifest and summary); a file that does not verify is listed with its problem.
 */
export async function listBackups(dir: string, name?: string): Promise<StoredBackup[]> {
  const out: StoredBackup[] = [];
  for (const f of await archiveFiles(dir, name)) {
    const path = join(dir, f.file);
    const bytes = (await stat(path)).size;
    try {
      const contents = await verifyArchive(path, f.file);
      out.push({
        ...f,
        path,
        bytes,
        verified: true,
        streams: contents.summary.streams.map((s) => s.name),
        messages: contents.summary.streams.reduce((sum, s) => sum + s.messages, 0),
        sha256: contents.sha256,
        source: contents.manifest.source.label,
      });
    } catch (error) {
      out.push({ ...f, path, bytes, verified: false, problem: error instanceof Error ? error.message : String(error), streams: [], messages: 0 });
    }
  }
  return out;
}

/** What {@link backupIntoDir} writes and keeps. */
export interface DirBackupOptions extends BackupOptions {
  readonly dir: string;
  /** The name part of the file names (the bus's name). */
  readonly name: string;
  /** How many of this name's archives are kept, the new one included. */
  readonly keep: number;
  /** When the backup begins. @default new Date() */
  readonly now?: Date;
}

/** What {@link backupIntoDir} did. */
export interface DirBackupResult extends BackupResult {
  readonly path: string;
  readonly file: string;
  /** The older archives removed to keep `keep`. */
  readonly removed: readonly string[];
}

/**
 * Takes a backup into `dir`: written (0600) beside its final name, verified, renamed; only then are
 * the older archives of the same name beyond `keep` removed. A failed backup leaves the directory
 * as it was.
 */
export async function backupIntoDir(nc: NatsConnection, options: DirBackupOptions): Promise<DirBackupResult> {
  if (!Number.isInteger(options.keep) || options.keep < 1) throw new RangeError(`keep must be 1 or more, got ${options.keep}`);
  const now = options.now ?? new Date();
  const existing = new Set(await readdir(options.dir));
  let file = archiveFileName(options.name, now);
  for (let n = 1; existing.has(file); n++) file = archiveFileName(options.name, now, n);
  const path = join(options.dir, file);
  const partial = join(options.dir, `.${file}.partial-${process.pid}`);
  const handle = await open(partial, "wx", 0o600);
  const out = handle.createWriteStream();
  let result: BackupResult;
  try {
    result = await backupStreams(nc, out, options);
    await new Promise<void>((resolve, reject) => {
      out.once("error", reject);
      out.end(() => resolve());
    });
    await verifyArchive(partial, file);
    await rename(partial, path);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  const removed: string[] = [];
  for (const old of (await archiveFiles(options.dir, options.name)).slice(options.keep)) {
    await rm(join(options.dir, old.file), { force: true });
    removed.push(old.file);
  }
  return { ...result, path, file, removed };
}
