// The frame of a benchmark that runs one local bus: a temp EVENTBUS_HOME, the bus started in it,
// and its teardown on every path (done, failed, Ctrl-C or SIGTERM). Used by bench/backup.ts and
// bench/publish.ts.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { busCredentials } from "../src/platforms/local/index.js";
import { startTestBus, type TestBus } from "../test/helpers/local-bus.js";

/** A started bus and how its first server is reached: the URL, basic-auth credentials and CA every client of a benchmark uses. */
export interface BenchBus {
  readonly bus: TestBus;
  readonly server: string;
  readonly user: string;
  readonly password: string;
  readonly caFile: string;
}

/** What a benchmark's main gets from {@link runWithBus}. */
export interface BenchBusRun {
  /** The temp EVENTBUS_HOME, removed at teardown. */
  readonly home: string;
  /** Aborted when the run is torn down. */
  readonly signal: AbortSignal;
  /** Starts the bus (a basic-auth, TLS manifest) in {@link home}, saying so on stderr; it is stopped at teardown. */
  startBus(manifest: string): Promise<BenchBus>;
  /** Runs `close` at teardown, before the bus is stopped (connections, clients). */
  onTeardown(close: () => Promise<unknown>): void;
}

/**
 * Runs `main` with a bus of its own and always takes it down: what was registered with
 * `onTeardown` first, then the bus (one still starting is waited for, then stopped; its dispose
 * kills what is left), then the home. A failure sets exit code 1 and is printed on stderr, except
 * after Ctrl-C (the runs then fail because their connections are closed: that is no news); a
 * signal exits 130 (SIGINT) or 143 (SIGTERM) once the bus is down.
 */
export async function runWithBus(name: string, main: (run: BenchBusRun) => Promise<void>): Promise<void> {
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const home = await mkdtemp(join(tmpdir(), `eventbus-bench-${name}-`));
  let bus: Promise<TestBus> | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  const aborter = new AbortController();
  let tornDown: Promise<void> | undefined;
  let interrupted = false;

  const teardown = (): Promise<void> => {
    tornDown ??= (async () => {
      aborter.abort();
      for (const close of closers.splice(0)) await close().catch(() => undefined);
      if (bus) await bus.then((b) => b[Symbol.asyncDispose]()).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    })();
    return tornDown;
  };

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      interrupted = true;
      progress(`\n${signal}: taking the bus down`);
      void teardown().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }

  try {
    await main({
      home,
      signal: aborter.signal,
      startBus: async (manifest) => {
        progress(`starting a 3-replica bus (TLS, basic auth, file storage) in ${home}`);
        const started = await (bus = startTestBus(manifest, { home }));
        const creds = await busCredentials(started.name, { home, showSecrets: true });
        return { bus: started, server: creds.urls[0]!, user: creds.user!, password: creds.password!, caFile: creds.caFile! };
      },
      onTeardown: (close) => void closers.push(close),
    });
  } catch (err) {
    process.exitCode = 1;
    if (!interrupted) progress(`bench:${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await teardown();
  }
}
