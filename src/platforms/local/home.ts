import { mkdir, open, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
// Only the names module: the supervisor loads this, and the API index brings the schema and YAML.
import { busNameProblem } from "../../api/names.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

/** The environment variable that moves the state of every local bus. */
export const EVENTBUS_HOME_ENV = "EVENTBUS_HOME";

/** `$EVENTBUS_HOME`, or `~/.eventbus`. */
export function eventbusHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[EVENTBUS_HOME_ENV];
  return fromEnv && fromEnv !== "" ? resolve(fromEnv) : join(homedir(), ".eventbus");
}

/** Where everything of one local bus lives. */
export interface BusPaths {
  /** The bus's name. */
  readonly name: string;
  /** The eventbus home the bus lives under. */
  readonly home: string;
  readonly dir: string;
  /** The applied manifest, as the user wrote it. */
  readonly manifest: string;
  /** The plan the servers run. */
  readonly plan: string;
  /** Ports, generation and versions, kept across restarts. */
  readonly state: string;
  /** The supervisor's control address and token (0600). */
  readonly control: string;
  readonly supervisorLog: string;
  /** Held while an `up` or `down` changes the bus. */
  readonly lock: string;
  /** Credentials and TLS material (0700; files 0600). */
  readonly secrets: string;
  /** Argo Events' auth file for clients (0600). */
  readonly authFile: string;
  /** The bus's status, the shape both platforms give (conditions, phase, `config`), for clients and scripts. */
  readonly status: string;
  readonly serversDir: string;
  /** The bus's scheduled backups (`<name>-<UTC time>.evbak`), written by its supervisor. */
  readonly backups: string;
  serverDir(index: number): string;
  serverConfig(index: number): string;
  serverSecretsConfig(index: number): string;
  serverData(index: number): string;
  serverLog(index: number): string;
  serverPid(index: number): string;
}

/**
 * The layout of a bus's state dir under `home`. The name must be one `eventbus up` accepts as a
 * JetStream bus's `metadata.name`, so that the state dir is always `<home>/buses/<name>`: a name
 * such as `../../x` never reaches the file system.
 * @throws {@link LocalPlatformError} `INVALID_BUS_NAME` for any other name
 */
export function busPaths(home: string, name: string): BusPaths {
  const problem = busNameProblem(name);
  if (problem !== undefined) throw new LocalPlatformError(LocalErrorCode.invalidName, `bus name ${JSON.stringify(shorten(name))}: ${problem}`);
  const dir = join(home, "buses", name);
  const serversDir = join(dir, "servers");
  const serverDir = (i: number) => join(serversDir, String(i));
  return {
    name,
    home,
    dir,
    manifest: join(dir, "manifest.yaml"),
    plan: join(dir, "plan.json"),
    state: join(dir, "state.json"),
    control: join(dir, "control.json"),
    supervisorLog: join(dir, "supervisor.log"),
    lock: join(dir, "lock"),
    secrets: join(dir, "secrets"),
    authFile: join(dir, "secrets", "auth.yaml"),
    status: join(dir, "status.json"),
    serversDir,
    backups: join(dir, "backups"),
    serverDir,
    serverConfig: (i) => join(serverDir(i), "nats.conf"),
    serverSecretsConfig: (i) => join(serverDir(i), "nats-secrets.conf"),
    serverData: (i) => join(serverDir(i), "data"),
    serverLog: (i) => join(serverDir(i), "server.log"),
    serverPid: (i) => join(serverDir(i), "nats-server.pid"),
  };
}

/** Whether `dir` is a bus's state dir: a direct child of `<home>/buses`, after resolving `.` and `..`. */
export function isBusDir(home: string, dir: string): boolean {
  const resolved = resolve(dir);
  return dirname(resolved) === resolve(home, "buses") && busNameProblem(basename(resolved)) === undefined;
}

/**
 * Creates a bus's state dir (0700) and checks that it is writable. Each missing parent is made
 * one at a time, so that a path under a file system that refuses new directories (`/proc`, `/sys`)
 * fails at once: Node's recursive `mkdir` retries such a path forever.
 * @throws {@link LocalPlatformError} `STATE_DIR_UNUSABLE` naming the dir and the reason
 */
export async function prepareBusDir(paths: BusPaths): Promise<void> {
  try {
    await makeDirs(paths.dir, 0o700);
    const probe = join(paths.dir, ".write-test");
    await (await open(probe, "w", 0o600)).close();
    await rm(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new LocalPlatformError(LocalErrorCode.stateDir, `state dir ${paths.dir} is not writable (${code}); set EVENTBUS_HOME to a writable directory`, {
      cause: error,
    });
  }
}

/** `mkdir -p` that makes each missing directory once, from the deepest existing one down. */
async function makeDirs(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const found = await stat(at).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
      return undefined;
    });
    if (found !== undefined) {
      if (!found.isDirectory()) throw Object.assign(new Error(`${at} is not a directory`), { code: "ENOTDIR" });
      break;
    }
    if (dirname(at) === at) break; // the root is missing: mkdir below reports it
    missing.push(at);
  }
  for (const path of missing.reverse()) {
    await mkdir(path, { mode }).catch(async (error: NodeJS.ErrnoException) => {
      // Made meanwhile by another process: fine when it is a directory.
      if (error.code === "EEXIST" && (await stat(path)).isDirectory()) return;
      throw error;
    });
  }
}

/** A name cut short for a message, so a hostile argument cannot flood the terminal. */
function shorten(name: string): string {
  return name.length > 64 ? `${name.slice(0, 61)}...` : name;
}
