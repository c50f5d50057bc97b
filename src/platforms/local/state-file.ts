import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

// The supervisor reads these files for as long as its bus runs, so they are checked by the few
// lines below rather than by the schema library (which alone made a sixth of its memory).

/** What is wrong with `value` at `path`, or undefined when it has the shape. */
type Shape = (value: unknown, path: string) => string | undefined;

const integer =
  (minimum = Number.MIN_SAFE_INTEGER, maximum = Number.MAX_SAFE_INTEGER): Shape =>
  (v, path) =>
    Number.isInteger(v) && (v as number) >= minimum && (v as number) <= maximum ? undefined : `${path}: must be an integer from ${minimum} to ${maximum}`;
const string: Shape = (v, path) => (typeof v === "string" ? undefined : `${path}: must be a string`);
const boolean: Shape = (v, path) => (typeof v === "boolean" ? undefined : `${path}: must be a boolean`);
const literal =
  (expected: unknown): Shape =>
  (v, path) =>
    v === expected ? undefined : `${path}: must be ${JSON.stringify(expected)}`;
const array =
  (item: Shape): Shape =>
  (v, path) => {
    if (!Array.isArray(v)) return `${path}: must be an array`;
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i], `${path}/${i}`);
      if (problem) return problem;
    }
    return undefined;
  };
const nullable =
  (shape: Shape): Shape =>
  (v, path) =>
    v === null ? undefined : shape(v, path);
/** An object with `required` and `optional` properties (others are allowed, as a newer version may write them). */
const object =
  (required: Record<string, Shape>, optional: Record<string, Shape> = {}): Shape =>
  (v, path) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return `${path}: must be an object`;
    const o = v as Record<string, unknown>;
    for (const [key, shape] of Object.entries(required)) {
      if (!(key in o)) return `${path}/${key}: missing`;
      const problem = shape(o[key], `${path}/${key}`);
      if (problem) return problem;
    }
    for (const [key, shape] of Object.entries(optional)) {
      const problem = o[key] === undefined ? undefined : shape(o[key], `${path}/${key}`);
      if (problem) return problem;
    }
    return undefined;
  };

/** One server as the supervisor runs it. */
export interface ServerState {
  index: number;
  name: string;
  /** The nats-server version and the binary that runs it. */
  serverVersion: string;
  binary: string;
  /** Extra command-line flags (`spec.jetstream.startArgs`). */
  args: string[];
  /** The flag the config is given with: `-c` for nats-server (absent), `-sc` for nats-streaming-server. */
  configFlag?: "-sc" | undefined;
  config: string;
  data: string;
  log: string;
  pidFile: string;
  ports: { client: number; cluster: number; monitor: number };
  /** A digest of the config, secrets and binary: a change means the server must restart. */
  digest: string;
}

const serverStateShape = object(
  {
    index: integer(0),
    name: string,
    serverVersion: string,
    binary: string,
    args: array(string),
    config: string,
    data: string,
    log: string,
    pidFile: string,
    ports: object({ client: integer(), cluster: integer(), monitor: integer() }),
    digest: string,
  },
  { configFlag: literal("-sc") },
);

/** What a local bus runs: JetStream (nats-server), or legacy NATS Streaming (nats-streaming-server). */
export type BusKind = "jetstream" | "stan";

/** The scheduled backups of a bus, as its supervisor takes them. */
export interface BackupState {
  /** The cron expression, as `spec.jetstream.backup.schedule` resolved it. */
  schedule: string;
  keep: number;
}

/** The local state file of a bus: what the supervisor must run. One shape, checked on every read. */
export interface LocalState {
  version: 1;
  name: string;
  /** @default "jetstream" (a state file written before NATS Streaming ran locally has no kind) */
  kind?: BusKind | undefined;
  /** Increases with every applied change; the supervisor reports the generation it runs. */
  generation: number;
  /** Whether the store survives restarts; without persistence it is wiped before each start. */
  persistent: boolean;
  lameDuckMillis: number;
  /** Where the supervisor serves the bus's Prometheus `/metrics` (kept across restarts while free). */
  metricsPort?: number | undefined;
  servers: ServerState[];
  /** False until the bus's first `up` completed (its stream ready): such a bus may be cold-started again. */
  established?: boolean;
  /**
   * The scheduled backups, or null for none; absent in a state file written before it was kept
   * here (the supervisor then reads the applied manifest).
   */
  backup?: BackupState | null;
}

const localStateShape = object(
  {
    version: literal(1),
    name: string,
    generation: integer(1),
    persistent: boolean,
    lameDuckMillis: integer(0),
    servers: array(serverStateShape),
  },
  {
    kind: (v, path) => (v === "jetstream" || v === "stan" ? undefined : `${path}: must be "jetstream" or "stan"`),
    metricsPort: integer(1, 65535),
    established: boolean,
    backup: nullable(object({ schedule: string, keep: integer(1) })),
  },
);

/** The supervisor's control endpoint, written by the supervisor when it listens. */
export interface ControlFile {
  pid: number;
  port: number;
  token: string;
  /** The port the supervisor serves `/metrics` on (without auth), when it does. */
  metricsPort?: number | undefined;
  startedAt: string;
}

const controlFileShape = object({ pid: integer(), port: integer(), token: string, startedAt: string }, { metricsPort: integer() });

/**
 * What the supervisor started a server with, beside the server's config (`running.json`): a later
 * supervisor that adopts the server knows from it which configuration the server runs.
 */
export interface ServerRecord {
  pid: number;
  /** The {@link ServerState} digest of the configuration the process was started with. */
  digest: string;
  startedAt: string;
}

const serverRecordShape = object({ pid: integer(1), digest: string, startedAt: string });

/** The record of the server whose config file is `config`. */
function serverRecordPath(config: string): string {
  return join(dirname(config), "running.json");
}

/** Reads and checks a JSON file against its shape; undefined when the file does not exist. */
async function readJsonFile<T>(path: string, shape: Shape): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const value: unknown = JSON.parse(text);
  const problem = shape(value, "");
  if (problem !== undefined) throw new LocalPlatformError(LocalErrorCode.invalidState, `${path}: not a valid state file (${problem})`);
  return value as T;
}

/** Writes a file atomically (temp file + rename) with mode 0600. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, data, { mode: 0o600 });
  await rename(temp, path);
}

export const readState = (path: string) => readJsonFile<LocalState>(path, localStateShape);
export const readControl = (path: string) => readJsonFile<ControlFile>(path, controlFileShape);
export const readServerRecord = (config: string) => readJsonFile<ServerRecord>(serverRecordPath(config), serverRecordShape);
export const writeServerRecord = (config: string, record: ServerRecord) => writeFileAtomic(serverRecordPath(config), `${JSON.stringify(record)}\n`);
