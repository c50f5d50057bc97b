import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

/** One server as the supervisor runs it. */
export const ServerStateSchema = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  name: Type.String(),
  /** The nats-server version and the binary that runs it. */
  serverVersion: Type.String(),
  binary: Type.String(),
  /** Extra command-line flags (`spec.jetstream.startArgs`). */
  args: Type.Array(Type.String()),
  config: Type.String(),
  data: Type.String(),
  log: Type.String(),
  pidFile: Type.String(),
  ports: Type.Object({ client: Type.Integer(), cluster: Type.Integer(), monitor: Type.Integer() }),
  /** A digest of the config, secrets and binary: a change means the server must restart. */
  digest: Type.String(),
});
export type ServerState = Static<typeof ServerStateSchema>;

/** The local state file of a bus: what the supervisor must run. One schema, checked on every read. */
export const LocalStateSchema = Type.Object({
  version: Type.Literal(1),
  name: Type.String(),
  /** Increases with every applied change; the supervisor reports the generation it runs. */
  generation: Type.Integer({ minimum: 1 }),
  /** Whether the store survives restarts; without persistence it is wiped before each start. */
  persistent: Type.Boolean(),
  lameDuckMillis: Type.Integer({ minimum: 0 }),
  /** Where the supervisor serves the bus's Prometheus `/metrics` (kept across restarts while free). */
  metricsPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  servers: Type.Array(ServerStateSchema),
  /** False until the bus's first `up` completed (its stream ready): such a bus may be cold-started again. */
  established: Type.Optional(Type.Boolean()),
});
export type LocalState = Static<typeof LocalStateSchema>;

/** The supervisor's control endpoint, written by the supervisor when it listens. */
export const ControlFileSchema = Type.Object({
  pid: Type.Integer(),
  port: Type.Integer(),
  token: Type.String(),
  /** The port the supervisor serves `/metrics` on (without auth), when it does. */
  metricsPort: Type.Optional(Type.Integer()),
  startedAt: Type.String(),
});
export type ControlFile = Static<typeof ControlFileSchema>;

/**
 * What the supervisor started a server with, beside the server's config (`running.json`): a later
 * supervisor that adopts the server knows from it which configuration the server runs.
 */
export const ServerRecordSchema = Type.Object({
  pid: Type.Integer({ minimum: 1 }),
  /** The {@link ServerState} digest of the configuration the process was started with. */
  digest: Type.String(),
  startedAt: Type.String(),
});
export type ServerRecord = Static<typeof ServerRecordSchema>;

/** The record of the server whose config file is `config`. */
function serverRecordPath(config: string): string {
  return join(dirname(config), "running.json");
}

/** Reads and checks a JSON file against its schema; undefined when the file does not exist. */
export async function readJsonFile<T>(path: string, schema: Parameters<typeof Value.Check>[0]): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const value: unknown = JSON.parse(text);
  if (!Value.Check(schema, value)) {
    const first = [...Value.Errors(schema, value)][0];
    throw new LocalPlatformError(LocalErrorCode.invalidState, `${path}: not a valid state file (${first?.path ?? ""} ${first?.message ?? ""})`);
  }
  return value as T;
}

/** Writes a file atomically (temp file + rename) with mode 0600. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, data, { mode: 0o600 });
  await rename(temp, path);
}

export const readState = (path: string) => readJsonFile<LocalState>(path, LocalStateSchema);
export const readControl = (path: string) => readJsonFile<ControlFile>(path, ControlFileSchema);
export const readServerRecord = (config: string) => readJsonFile<ServerRecord>(serverRecordPath(config), ServerRecordSchema);
export const writeServerRecord = (config: string, record: ServerRecord) => writeFileAtomic(serverRecordPath(config), `${JSON.stringify(record)}\n`);
