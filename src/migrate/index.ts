// Migrations between buses: a NATS Streaming channel copied into the JetStream stream `default`.
export {
  DEFAULT_END_PROBE_MILLIS,
  DEFAULT_IDLE_MILLIS,
  DEFAULT_MIGRATE_WINDOW,
  MAX_LISTED,
  migrateStanToJetStream,
  PROGRESS_EVERY_MESSAGES,
  PROGRESS_INTERVAL_MILLIS,
  TARGET_STREAM,
  type MigrateCounts,
  type MigrateFrom,
  type MigrateIssue,
  type MigrateOptions,
  type MigrateProgress,
  type MigrateSummary,
} from "./migrate.js";
