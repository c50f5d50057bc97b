/**
 * versions — the versions table: which nats-server a `spec.jetstream.version` name runs (`latest`,
 * `2.10`, exact versions, and Argo Events' default names), and which nats-streaming-server a NATS
 * Streaming version name runs. Data of its own: the installer (src/tools) pins a binary for each
 * server version it names, the Kubernetes platform an image; it imports neither.
 * @module
 */
export {
  InvalidVersionsTableError,
  isVersionsError,
  UnknownVersionError,
  VersionKind,
  VersionsErrorCode,
  type VersionsError,
} from "./errors.js";
export {
  acceptedJetStreamVersions,
  ARGO_JETSTREAM_VERSIONS,
  knownJetStreamVersions,
  knownStanVersions,
  resolveJetStreamVersion,
  resolveStanVersion,
  type ResolvedVersion,
} from "./resolve.js";
export { checkVersionsTable, versionsTable, VersionsTableSchema, type VersionsTable } from "./table.js";
