/**
 * A real nats-streaming-server (legacy STAN) for tests, on random loopback ports, in its own temp dir:
 *
 * ```ts
 * await using stan = await startStreamingServer();
 * // stan.clientUrl, stan.monitorUrl, stan.clusterId
 * ```
 */
import { join } from "node:path";

import { findBinary, NATS_STREAMING_SERVER } from "../../src/tools/index.js";
import { resolveStanVersion } from "../../src/versions/index.js";
import { startServerProcess, type ServerProcess } from "./server-process.js";

/** The log line after which a streaming server accepts STAN clients. */
export const STREAMING_READY_LINE = "Streaming Server is ready";

/** Where a streaming server keeps its messages. */
export const StreamingStore = {
  Memory: "memory",
  File: "file",
} as const;

/** One of the {@link StreamingStore} values. */
export type StreamingStore = (typeof StreamingStore)[keyof typeof StreamingStore];

/** Options of {@link startStreamingServer}. */
export interface StreamingServerOptions {
  /** An entry of the NATS Streaming versions table. @default "latest" */
  readonly version?: string;
  /** @default "test-cluster" */
  readonly clusterId?: string;
  /** `file` stores under `<dir>/store`. @default "memory" */
  readonly store?: StreamingStore;
  /** Extra arguments, after the harness's own, so they override them. */
  readonly args?: readonly string[];
  /** @default 15_000 */
  readonly readyTimeoutMs?: number;
}

/** A running nats-streaming-server. */
export interface StreamingServer extends ServerProcess {
  readonly serverVersion: string;
  readonly clusterId: string;
}

/**
 * Starts a nats-streaming-server of a pinned version and resolves once it logs that it is ready.
 * @throws {@link UnknownVersionError}, {@link MissingBinaryError} (with the install hint), or an
 *   error with the server's output when it exits before it is ready
 */
export async function startStreamingServer(options: StreamingServerOptions = {}): Promise<StreamingServer> {
  const { serverVersion } = resolveStanVersion(options.version ?? "latest");
  const binary = findBinary(NATS_STREAMING_SERVER, serverVersion);
  const clusterId = options.clusterId ?? "test-cluster";
  const store = options.store ?? StreamingStore.Memory;
  const server = await startServerProcess({
    binary,
    dirPrefix: `eventbus-stan-${serverVersion}-`,
    readyLine: STREAMING_READY_LINE,
    readyTimeoutMs: options.readyTimeoutMs,
    args: (dir) => ["-cid", clusterId, "-store", store, ...(store === StreamingStore.File ? ["-dir", join(dir, "store")] : []), ...(options.args ?? [])],
  });
  return Object.assign(server, { serverVersion, clusterId });
}
