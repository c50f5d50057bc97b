/** `eventbus console` run as a user runs it: a separate process, its address read from its first line of output. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess, waitFor, type ManagedProcess } from "./process.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A running console. */
export interface TestConsole extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** The access token, when it was started with a non-loopback --listen. */
  readonly token?: string;
  /** The bus ids it watched when it started. */
  readonly buses: readonly string[];
  readonly process: ManagedProcess;
  /** GET (or another method) of a path, with the Host header of its URL unless given. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** Starts `eventbus console --port 0 -o json <args>` in `home` and waits for its address. */
export async function startTestConsole(home: string, args: readonly string[] = []): Promise<TestConsole> {
  const proc = await spawnProcess(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), "console", "--port", "0", "-o", "json", ...args], {
    cwd: root,
    env: { ...process.env, EVENTBUS_HOME: home },
  });
  try {
    const first = await waitFor(
      "the console's address",
      () => {
        const line = proc
          .output()
          .split("\n")
          .find((l) => l.startsWith("{"));
        return line === undefined ? undefined : (JSON.parse(line) as { url: string; token?: string; buses: string[] });
      },
      {
        timeoutMs: 60_000,
        failWhen: proc.exited.then((e) => Promise.reject(new Error(`eventbus console exited (${e.code ?? e.signal}):\n${proc.output()}`))),
      },
    );
    const url = first.url;
    return {
      url,
      ...(first.token !== undefined && { token: first.token }),
      buses: first.buses,
      process: proc,
      fetch: (path, init) => fetch(new URL(path, url), init),
      [Symbol.asyncDispose]: async () => {
        await proc.stop({ signal: "SIGTERM" });
      },
    };
  } catch (error) {
    await proc.stop({ signal: "SIGKILL" });
    throw error;
  }
}
