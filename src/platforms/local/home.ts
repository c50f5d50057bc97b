import { homedir } from "node:os";
import { join, resolve } from "node:path";

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
  readonly serversDir: string;
  serverDir(index: number): string;
  serverConfig(index: number): string;
  serverSecretsConfig(index: number): string;
  serverData(index: number): string;
  serverLog(index: number): string;
  serverPid(index: number): string;
}

/** The layout of a bus's state dir under `home`. */
export function busPaths(home: string, name: string): BusPaths {
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
    serversDir,
    serverDir,
    serverConfig: (i) => join(serverDir(i), "nats.conf"),
    serverSecretsConfig: (i) => join(serverDir(i), "nats-secrets.conf"),
    serverData: (i) => join(serverDir(i), "data"),
    serverLog: (i) => join(serverDir(i), "server.log"),
    serverPid: (i) => join(serverDir(i), "nats-server.pid"),
  };
}
