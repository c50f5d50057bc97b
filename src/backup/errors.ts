/**
 * Errors of backup and restore. Each carries a stable {@link BackupErrorCode}; messages name what is
 * wrong and what to do, and never hold credentials or event data.
 */
import { EventBusError } from "../api/index.js";

/** Stable codes of the backup errors. */
export const BackupErrorCode = {
  /** The file is not an eventbus archive (no magic). */
  notArchive: "BACKUP_NOT_ARCHIVE",
  /** An archive of a format version this eventbus cannot read. */
  unsupportedVersion: "BACKUP_UNSUPPORTED_VERSION",
  /** The archive ends before its trailer: a backup that did not finish, or a cut copy. */
  truncated: "BACKUP_TRUNCATED",
  /** A checksum does not match, or a frame cannot be what it says: the bytes changed. */
  corrupt: "BACKUP_CORRUPT",
  /** The bus could not take or send a snapshot. */
  snapshotFailed: "BACKUP_SNAPSHOT_FAILED",
  /** The target holds a stream that restore would overwrite, and `replace` was not asked. */
  targetNotEmpty: "BACKUP_TARGET_NOT_EMPTY",
  /** The bus refused or failed the restore. */
  restoreFailed: "BACKUP_RESTORE_FAILED",
  /** Events arrived while a stream was backed up to be recreated; nothing was changed. */
  streamChanged: "BACKUP_STREAM_CHANGED",
  /** Streams named for a backup that the bus does not have. */
  noSuchStream: "BACKUP_NO_SUCH_STREAM",
} as const;
/** One of the {@link BackupErrorCode} values. */
export type BackupErrorCode = (typeof BackupErrorCode)[keyof typeof BackupErrorCode];

/** A failed backup or restore, or an archive that cannot be used. */
export class BackupError extends EventBusError {
  override readonly name = "BackupError";

  constructor(
    readonly code: BackupErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** True for an archive refused before anything on a bus was touched (bad input). */
  get isArchiveError(): boolean {
    return (
      this.code === BackupErrorCode.notArchive ||
      this.code === BackupErrorCode.unsupportedVersion ||
      this.code === BackupErrorCode.truncated ||
      this.code === BackupErrorCode.corrupt
    );
  }
}

/** True for a {@link BackupError}. */
export function isBackupError(error: unknown): error is BackupError {
  return error instanceof BackupError;
}
