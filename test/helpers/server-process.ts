/**
 * Starting a NATS-family server on random ports: `-p -1 -m -1 --ports_file_dir <dir>`, then
 * waiting for the ports file (and an optional ready line) while racing the process's early exit.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

import { spawnProcess, waitFor, type ExitInfo, type ManagedProcess } from "./process.js";

/** The ports file a NATS server writes into `--ports_file_dir`: URLs per listener. */
export interface PortsFile {
  readonly nats: readonly string[];
  readonly monitoring?: readonly string[];
  readonly cluster?: readonly string[];
  readonly websocket?: readonly string[];
  readonly leafnodes?: readonly string[];
  readonly mqtt?: readonly string[];
}

/** A server process with its own temp dir; disposing stops it and removes the dir. */
export interface ServerProcess extends AsyncDisposable {
  readonly pid: number;
  /** The temp dir that holds the ports file, config and stores; removed on stop. */
  readonly dir: string;
  readonly ports: PortsFile;
  /** First client URL, e.g. `nats://127.0.0.1:41234`. */
  readonly clientUrl: string;
  /** First monitoring URL, e.g. `http://127.0.0.1:41235`. */
  readonly monitorUrl: string;
  readonly process: ManagedProcess;
  /** The server's log so far (it logs to stderr). */
  logs(): string;
  /** Stops the server (SIGINT, SIGKILL after 10s), awaits its exit, removes its dir. Idempotent. */
  stop(): Promise<ExitInfo>;
}

/** Options of {@link startServerProcess}. */
export interface StartServerOptions {
  /** Absolute path of the server binary. */
  readonly binary: string;
  /** Builds the arguments; the harness's own come first so that these override them. */
  readonly args: (dir: string) => readonly string[];
  /** Prefix of the temp dir's name. */
  readonly dirPrefix: string;
  /** Files to write into the temp dir before the start, by name (e.g. a config file). */
  readonly files?: Readonly<Record<string, string>>;
  /** A log line that means ready, awaited after the ports file. */
  readonly readyLine?: string;
  /** @default 15_000 */
  readonly readyTimeoutMs?: number;
}

/** Starts a server on random loopback ports; see the module doc. */
export async function startServerProcess(options: StartServerOptions): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), options.dirPrefix));
  const name = basename(options.binary);
  let proc: ManagedProcess | undefined;
  try {
    for (const [file, text] of Object.entries(options.files ?? {})) await writeFile(join(dir, file), text);
    const harnessArgs = ["-a", "127.0.0.1", "-p", "-1", "-m", "-1", "--ports_file_dir", dir];
    proc = await spawnProcess(options.binary, [...harnessArgs, ...options.args(dir)], { cwd: dir });
    const started = proc;
    const failWhen = started.exited.then((exit): never => {
      throw new Error(`${name} exited (${describeExit(exit)}) before it was ready:\n${started.output()}`);
    });
    const timeoutMs = options.readyTimeoutMs ?? 15_000;
    const ports = await waitFor(`${name} ports file in ${dir}`, () => readPortsFile(dir), { timeoutMs, failWhen });
    const readyLine = options.readyLine;
    if (readyLine !== undefined) {
      await waitFor(`${name} to log "${readyLine}"`, () => (started.output().includes(readyLine) ? true : undefined), {
        timeoutMs,
        failWhen,
      });
    }
    const clientUrl = ports.nats[0];
    const monitorUrl = ports.monitoring?.[0];
    if (clientUrl === undefined || monitorUrl === undefined) {
      throw new Error(`${name} ports file lacks a client or monitoring URL: ${JSON.stringify(ports)}`);
    }
    let stopping: Promise<ExitInfo> | undefined;
    const stop = () => {
      stopping ??= started.stop().finally(() => rm(dir, { recursive: true, force: true }));
      return stopping;
    };
    return {
      pid: started.pid,
      dir,
      ports,
      clientUrl,
      monitorUrl,
      process: started,
      logs: () => started.output(),
      stop,
      [Symbol.asyncDispose]: async () => {
        await stop();
      },
    };
  } catch (err) {
    await proc?.stop({ signal: "SIGKILL" });
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function readPortsFile(dir: string): Promise<PortsFile | undefined> {
  const file = (await readdir(dir)).find((f) => f.endsWith(".ports"));
  if (file === undefined) return undefined;
  try {
    return JSON.parse(await readFile(join(dir, file), "utf8")) as PortsFile;
  } catch {
    return undefined; // still being written
  }
}

function describeExit(exit: ExitInfo): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}
