import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { rm } from "node:fs/promises";
import type { BusPaths } from "./home.js";
import { startMetricsServer, type MetricsServer } from "./metrics-server.js";
import { readState, writeFileAtomic } from "./state-file.js";
import { Supervisor, type SupervisorEvent } from "./supervisor.js";

/** Options of {@link runSupervisorDaemon}. */
export interface DaemonOptions {
  /** Called with each event (the foreground mode prints them). */
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** Exit the process when stopped. @default true */
  readonly exitOnStop?: boolean;
}

/** A running supervisor with its control endpoint. */
export interface RunningDaemon {
  readonly supervisor: Supervisor;
  /** Resolves once the bus has been stopped (by `down`, a signal, or `stop()`). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the supervisor of one bus with a control endpoint on 127.0.0.1 (a random port and a bearer
 * token, written to the bus's control file with mode 0600). `GET /status` reports; `POST /apply`
 * applies the state file and streams progress as JSON lines; `POST /stop` stops the bus. Beside
 * it, `GET /metrics` on the state's metrics port serves the bus's Prometheus metrics without auth.
 */
export async function runSupervisorDaemon(paths: BusPaths, options: DaemonOptions = {}): Promise<RunningDaemon> {
  const token = randomBytes(24).toString("base64url");
  const subscribers = new Set<(event: SupervisorEvent) => void>();
  const supervisor = new Supervisor(paths, {
    onEvent: (event) => {
      options.onEvent?.(event);
      for (const subscriber of subscribers) subscriber(event);
    },
  });
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping: Promise<void> | undefined;
  let metrics: MetricsServer | undefined;

  const stop = () => {
    stopping ??= (async () => {
      // The metrics connection goes first, so that it does not chase the servers as they stop.
      await metrics?.close();
      await supervisor.stop();
      server.close();
      await rm(paths.control, { force: true });
      resolveDone();
      if (options.exitOnStop ?? true) setImmediate(() => process.exit(0));
    })();
    return stopping;
  };

  /** Streams events as JSON lines while `work` runs, then a final line with the outcome. */
  const stream = async (res: ServerResponse, work: () => Promise<void>) => {
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    const send = (event: SupervisorEvent) => res.write(`${JSON.stringify({ event })}\n`);
    subscribers.add(send);
    try {
      await work();
      res.end(`${JSON.stringify({ done: true, ok: true })}\n`);
    } catch (error) {
      res.end(`${JSON.stringify({ done: true, ok: false, error: (error as Error).message })}\n`);
    } finally {
      subscribers.delete(send);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const given = Buffer.from(req.headers.authorization ?? "");
    const expected = Buffer.from(`Bearer ${token}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.writeHead(401).end();
      return;
    }
    req.resume();
    if (req.method === "GET" && req.url === "/status") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(supervisor.status()));
    } else if (req.method === "POST" && req.url === "/apply") {
      await stream(res, () => supervisor.apply());
    } else if (req.method === "POST" && req.url === "/stop") {
      await stream(res, () => supervisor.stop());
      void stop();
    } else {
      res.writeHead(404).end();
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String((error as Error).message));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const state = await readState(paths.state);
  metrics = await startMetricsServer(supervisor, {
    bus: paths.name,
    home: paths.home,
    ...(state?.metricsPort !== undefined && { port: state.metricsPort }),
    onWarning: (message) => options.onEvent?.({ time: new Date().toISOString(), level: "warn", message }),
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop());

  await supervisor.start();
  await writeFileAtomic(paths.control, JSON.stringify({ pid: process.pid, port, token, metricsPort: metrics.port, startedAt: new Date().toISOString() }));
  return { supervisor, done, stop };
}
