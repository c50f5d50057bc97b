/**
 * A real nats-server for tests, on random loopback ports, in its own temp dir:
 *
 * ```ts
 * await using srv = await startNatsServer({ args: ["-js"] });
 * // srv.clientUrl, srv.monitorUrl
 * ```
 */
import { join } from "node:path";

import { findBinary, NATS_SERVER } from "../../src/tools/index.js";
import { resolveJetStreamVersion } from "../../src/versions/index.js";
import { startServerProcess, type ServerProcess } from "./server-process.js";

const CONFIG_FILE = "nats-server.conf";

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** An entry of the JetStream versions table, e.g. `latest`, `2.11` or `2.10.29`. @default "latest" */
  readonly version?: string;
  /**
   * Extra arguments, after the harness's own (`-a 127.0.0.1 -p -1 -m -1 --ports_file_dir <dir>
   * -sd <dir>/jetstream`), so they override them; e.g. `["-js"]`.
   */
  readonly args?: readonly string[];
  /** Config file text, written to `<dir>/nats-server.conf` and passed with `-c`; flags override it. */
  readonly config?: string;
  /** @default 15_000 */
  readonly readyTimeoutMs?: number;
}

/** A running nats-server. */
export interface NatsServer extends ServerProcess {
  /** The exact nats-server version running, e.g. `2.10.29`. */
  readonly serverVersion: string;
}

/**
 * Starts a nats-server of a pinned version and resolves once it has written its ports file.
 * JetStream, if enabled, stores under the server's temp dir, never in a shared place.
 * @throws {@link UnknownVersionError} for a version not in the table, {@link MissingBinaryError}
 *   (with the install hint) when it is not installed, or an error with the server's output when it
 *   exits before it is ready
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const { serverVersion } = resolveJetStreamVersion(options.version ?? "latest");
  const binary = findBinary(NATS_SERVER, serverVersion);
  const server = await startServerProcess({
    binary,
    dirPrefix: `eventbus-nats-${serverVersion}-`,
    readyTimeoutMs: options.readyTimeoutMs,
    args: (dir) => {
      const args = ["-sd", join(dir, "jetstream")];
      if (options.config !== undefined) args.push("-c", join(dir, CONFIG_FILE));
      return [...args, ...(options.args ?? [])];
    },
    files: options.config !== undefined ? { [CONFIG_FILE]: options.config } : {},
  });
  return Object.assign(server, { serverVersion });
}
