/**
 * tools — the installer of the pinned external binaries (nats-server, nats-streaming-server, the
 * nats CLI, kube-apiserver and etcd for the Kubernetes tests, and what a single-node Kubernetes
 * runs: kubelet, containerd, runc, the CNI plugins, CoreDNS): which are pinned and in which group,
 * where they are installed, finding them, and installing them. Which server a version name runs is
 * the versions table's (src/versions).
 * @module
 */
export {
  BuildFailedError,
  GoUnavailableError,
  INSTALL_HINT,
  NODE_INSTALL_HINT,
  InvalidBinariesTableError,
  isToolsError,
  MissingBinaryError,
  ToolsErrorCode,
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
export { cachedBinaryPath, linkNames, projectRoot, sharedCacheDir, toolLinkDir, TOOLS_DIR_ENV, toolsBinDir, toolsDir } from "./paths.js";
export {
  binariesTable,
  BinariesTableSchema,
  checkBinariesTable,
  ETCD,
  goMinimumVersion,
  KUBE_APISERVER,
  NATS_CLI,
  NATS_SERVER,
  NATS_STREAMING_SERVER,
  pinnedBinaries,
  pinnedBinary,
  ToolGroup,
  type BinariesTable,
  type PinnedBinary,
} from "./binaries.js";
