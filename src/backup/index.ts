// Backup and restore of a bus's streams: one verified archive, the JetStream snapshot API.
export { backupStreams, allStreamNames, type BackupOptions, type BackupProgress, type BackupResult } from "./backup.js";
export { restoreStreams, targetConfig, type RestoredStream, type RestoreOptions, type RestoreProgress } from "./restore.js";
export { recreateStream, RecreateStep, type RecreatedStream, type RecreateOptions } from "./recreate.js";
export {
  ARCHIVE_FORMAT,
  ARCHIVE_MAGIC,
  ARCHIVE_VERSION,
  ArchiveWriter,
  FrameType,
  MAX_FRAME_BYTES,
  RESTORE_KEEP_BYTES,
  verifyArchive,
  type ArchiveContents,
  type ArchiveManifest,
  type ArchiveSummary,
  type ConsumerRecord,
  type SnapshotState,
  type StreamEnd,
  type StreamHeader,
  type StreamCounts,
  type StreamSection,
  type StreamTotals,
  type VerifyOptions,
} from "./format.js";
export { BackupError, BackupErrorCode, isBackupError } from "./errors.js";
export {
  ARCHIVE_EXTENSION,
  archiveFileName,
  archiveFiles,
  backupIntoDir,
  listBackups,
  parseArchiveFileName,
  type ArchiveFileName,
  type DirBackupOptions,
  type DirBackupResult,
  type StoredBackup,
} from "./store.js";
