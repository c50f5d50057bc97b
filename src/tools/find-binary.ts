/** Finding an installed binary by command and version. */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

import { resolveJetStreamVersion, resolveStanVersion } from "../versions/index.js";
import { NATS_SERVER, NATS_STREAMING_SERVER, pinnedBinaries, pinnedBinary, ToolGroup } from "./binaries.js";
import { MissingBinaryError, NODE_INSTALL_HINT } from "./errors.js";
import { toolLinkDir, toolsBinDir } from "./paths.js";

/**
 * The absolute path of an executable `command`.
 *
 * With a `version` (e.g. `2.11.17`, a leading `v` is ignored) it looks for
 * `<toolsDir>/bin/<command>-<version>`, then, when that version is the command's pinned default,
 * `<toolsDir>/bin/<command>`. `$PATH` is not searched for a versioned lookup, since the version of
 * a binary found there is unknown.
 *
 * Without a `version` it looks for `<toolsDir>/bin/<command>`, then `<command>` on `$PATH`.
 *
 * A command whose binaries.json entry names another `linkDir` (the CNI plugins: `cni/bin`) is
 * looked for there instead of in `<toolsDir>/bin`.
 *
 * @throws {@link MissingBinaryError} naming the paths searched and the install hint
 */
export function findBinary(command: string, version?: string): string {
  const pinned = pinnedBinaries().filter((b) => b.command === command);
  // A command linked elsewhere (the CNI plugins, in cni/bin) is looked for there.
  const bin = pinned[0] === undefined ? toolsBinDir() : toolLinkDir(pinned[0]);
  const wanted = version?.replace(/^v/, "");
  const searched: string[] = [];
  const candidates: string[] = [];
  if (wanted === undefined) {
    candidates.push(join(bin, command));
  } else {
    candidates.push(join(bin, `${command}-${wanted}`));
    if (pinnedBinary(command)?.version === wanted) candidates.push(join(bin, command));
  }
  for (const path of candidates) {
    searched.push(path);
    if (isExecutableFile(path)) return path;
  }
  if (wanted === undefined) {
    searched.push("$PATH");
    const onPath = lookPath(command);
    if (onPath !== undefined) return onPath;
  }
  let detail: string | undefined;
  if (wanted !== undefined && pinned.length > 0 && !pinned.some((b) => b.version === wanted)) {
    detail = `${wanted} is not pinned (pinned: ${pinned.map((b) => b.version).join(", ")}; see src/tools/binaries.json)`;
  } else if (pinned.some((b) => b.group === ToolGroup.Node)) {
    // `make tools` leaves the node group out: its hint alone would not install it.
    detail = `it is in the ${ToolGroup.Node} group, which \`make tools\` does not build: ${NODE_INSTALL_HINT}`;
  }
  throw new MissingBinaryError(command, wanted, searched, detail);
}

/**
 * The nats-server binary for a `spec.jetstream.version` name.
 * @param versionName - an entry of the JetStream versions table
 * @default versionName "latest"
 * @throws {@link UnknownVersionError} or {@link MissingBinaryError}
 */
export function findNatsServer(versionName = "latest"): string {
  return findBinary(NATS_SERVER, resolveJetStreamVersion(versionName).serverVersion);
}

/**
 * The nats-streaming-server binary for a NATS Streaming version name.
 * @param versionName - an entry of the NATS Streaming versions table
 * @default versionName "latest"
 * @throws {@link UnknownVersionError} or {@link MissingBinaryError}
 */
export function findStreamingServer(versionName = "latest"): string {
  return findBinary(NATS_STREAMING_SERVER, resolveStanVersion(versionName).serverVersion);
}

/** The first executable `command` on `$PATH`, or `undefined`. */
export function lookPath(command: string, path = process.env["PATH"] ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    // An empty or relative $PATH entry would make the result depend on the cwd.
    if (dir === "" || !isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    // statSync follows links, so a dangling link into a deleted cache counts as missing.
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
