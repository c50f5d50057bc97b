/**
 * tools — the pinned external binaries (nats-server, nats-streaming-server, the nats CLI, and
 * kube-apiserver and etcd for the Kubernetes tests):
 * the versions table that `spec.jetstream.version` names, where the binaries are installed,
 * finding them, and installing them.
 * @module
 */
export {
  BuildFailedError,
  GoUnavailableError,
  INSTALL_HINT,
  InvalidVersionsTableError,
  isToolsError,
  MissingBinaryError,
  ToolsErrorCode,
  UnknownVersionError,
  VersionKind,
  type ToolsError,
} from "./errors.js";
export { findBinary, findNatsServer, findStreamingServer, lookPath } from "./find-binary.js";
export { compareVersions, findGo, type GoToolchain } from "./go.js";
export {
  DEFAULT_BUILD_CONCURRENCY,
  inspectTools,
  installTools,
  isInstalled,
  type InstallOptions,
  type InstallResult,
  type ToolLink,
  type ToolState,
} from "./install.js";
export { cachedBinaryPath, linkNames, projectRoot, sharedCacheDir, TOOLS_DIR_ENV, toolsBinDir, toolsDir } from "./paths.js";
export {
  checkVersionsTable,
  ETCD,
  goMinimumVersion,
  KUBE_APISERVER,
  acceptedJetStreamVersions,
  ARGO_JETSTREAM_VERSIONS,
  knownJetStreamVersions,
  knownStanVersions,
  NATS_CLI,
  NATS_SERVER,
  NATS_STREAMING_SERVER,
  pinnedBinaries,
  pinnedBinary,
  resolveJetStreamVersion,
  resolveStanVersion,
  ToolGroup,
  versionsTable,
  VersionsTableSchema,
  type PinnedBinary,
  type ResolvedVersion,
  type VersionsTable,
} from "./versions.js";
