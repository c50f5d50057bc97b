/**
 * The supervisor's Prometheus endpoint: `GET /metrics` on 127.0.0.1, without auth (Prometheus
 * scrapes it), rendered from a snapshot of the bus. Snapshots are shared for a second, so frequent
 * scrapes do not hammer the servers, and a scrape answers within about 3 s whatever the bus does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { EventBusClient } from "../../client/index.js";
import type { BusSnapshot } from "../../observe/index.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import { listenOnFreePort } from "./ports.js";
import type { Supervisor } from "./supervisor.js";

/** How long a snapshot is served again to later scrapes. */
export const METRICS_CACHE_MILLIS = 1000;
/** How long connecting and the full snapshot may take before the servers alone are reported. */
const FULL_SNAPSHOT_DEADLINE_MILLIS = 2300;
/** The deadline of each monitoring request of the full snapshot, and of the fallback's. */
const MONITOR_TIMEOUT_MILLIS = 1000;
const FALLBACK_MONITOR_TIMEOUT_MILLIS = 250;
const CONNECT_TIMEOUT_MILLIS = 1000;

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  readonly bus: string;
  readonly home: string;
  /** The port to listen on; a free one when it is taken or not given. */
  readonly port?: number;
  /** Called when the port asked for was taken and another one is used. */
  readonly onWarning?: (message: string) => void;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and closes the connection to the bus. */
  close(): Promise<void>;
}

/**
 * The client, the snapshot and the bus's status, loaded at the first scrape: the supervisor runs as
 * long as its bus, and one that nobody scrapes never needs them.
 */
let scrapeModules: Promise<[typeof import("../../client/index.js"), typeof import("../../observe/index.js"), typeof import("./bus-status.js")]> | undefined;
const loadScrapeModules = () => (scrapeModules ??= Promise.all([import("../../client/index.js"), import("../../observe/index.js"), import("./bus-status.js")]));

/** The NATS Streaming snapshot and its metrics, loaded at the first scrape of a STAN bus. */
let stanModules: Promise<[typeof import("../../observe/stan.js"), typeof import("../../observe/stan-metrics.js")]> | undefined;
const loadStanModules = () => (stanModules ??= Promise.all([import("../../observe/stan.js"), import("../../observe/stan-metrics.js")]));

/** Serves the bus's metrics; the supervisor gives the servers and their restart counts. */
export async function startMetricsServer(supervisor: Supervisor, options: MetricsServerOptions): Promise<MetricsServer> {
  let closed = false;
  let connecting: Promise<EventBusClient> | undefined;
  let cached: { promise: Promise<string>; doneAt?: number } | undefined;

  /** The daemon's one connection to its bus, made on the first scrape and again after it closed. */
  const client = (): Promise<EventBusClient> => {
    if (connecting) return connecting;
    const attempt: Promise<EventBusClient> = loadScrapeModules()
      .then(async ([{ connect, ConnectionState }, , { localBusStatus }]) => {
        const status = await localBusStatus(options.bus, { home: options.home });
        const c = await connect({ status, name: "eventbus-supervisor-metrics", timeoutMillis: CONNECT_TIMEOUT_MILLIS });
        c.onStateChange((state) => {
          if (state === ConnectionState.closed && connecting === attempt) connecting = undefined;
        });
        return c;
      })
      .catch((error: unknown) => {
        if (connecting === attempt) connecting = undefined;
        throw error;
      });
    connecting = attempt;
    return attempt;
  };

  const snapshot = async (): Promise<BusSnapshot> => {
    const [, { snapshotBus }] = await loadScrapeModules();
    const monitors = supervisor.status().servers.map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.ports.monitor}` }));
    let why = `the bus did not answer within ${FULL_SNAPSHOT_DEADLINE_MILLIS}ms`;
    const full = (async () => {
      let c: EventBusClient | undefined;
      try {
        if (!closed) c = await client();
      } catch (error) {
        why = `cannot connect to the bus: ${(error as Error).message}`;
        return undefined;
      }
      return snapshotBus(c, { monitors, timeoutMillis: MONITOR_TIMEOUT_MILLIS, noClientError: "the supervisor is stopping" });
    })().catch(() => undefined);
    const result = await withDeadline(full, FULL_SNAPSHOT_DEADLINE_MILLIS);
    // Without the bus's answer, the servers are still reported, and the bus is not ready.
    return result ?? snapshotBus(undefined, { monitors, timeoutMillis: FALLBACK_MONITOR_TIMEOUT_MILLIS, noClientError: why });
  };

  /** A NATS Streaming bus: its snapshot from the servers' monitoring endpoints (there is no JetStream to ask). */
  const renderStan = async (): Promise<string> => {
    const [{ readStanBus }, { renderStanMetrics }] = await loadStanModules();
    const started = performance.now();
    const status = supervisor.status();
    const taken = await readStanBus(
      status.servers.map((s) => ({ name: s.name, monitorUrl: `http://127.0.0.1:${s.ports.monitor}` })),
      { timeoutMillis: MONITOR_TIMEOUT_MILLIS },
    );
    const restarts = Object.fromEntries(status.servers.map((s) => [s.name, s.restarts]));
    return renderStanMetrics(options.bus, taken, { restarts, durationSeconds: Math.round(performance.now() - started) / 1000 });
  };

  const render = async (): Promise<string> => {
    if (supervisor.kind === "stan") return renderStan();
    const [, { renderBusMetrics }] = await loadScrapeModules();
    const started = performance.now();
    const taken = await snapshot();
    const status = supervisor.status();
    const restarts = Object.fromEntries(status.servers.map((s) => [s.name, s.restarts]));
    const last = status.backups;
    const backups = {
      ...(last?.lastSuccessAt !== undefined && { lastSuccessSeconds: Date.parse(last.lastSuccessAt) / 1000 }),
      ...(last?.lastRun !== undefined && { lastRunFailed: !last.lastRun.ok }),
    };
    return renderBusMetrics(options.bus, taken, { restarts, durationSeconds: Math.round(performance.now() - started) / 1000, backups });
  };

  /** The text of a fresh snapshot, shared by the scrapes that come while it is taken and for a second after. */
  const scrape = (): Promise<string> => {
    if (cached && (cached.doneAt === undefined || Date.now() - cached.doneAt < METRICS_CACHE_MILLIS)) return cached.promise;
    const entry: { promise: Promise<string>; doneAt?: number } = { promise: render() };
    entry.promise.then(
      () => (entry.doneAt = Date.now()),
      () => (entry.doneAt = 0),
    );
    cached = entry;
    return entry.promise;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      const text = await scrape();
      const [, { PROMETHEUS_CONTENT_TYPE }] = await loadScrapeModules();
      res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE }).end(text);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`${(error as Error).message}\n`);
    });
  });
  const port = await listenMetrics(server, options);
  return {
    port,
    close: async () => {
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const c = await connecting?.catch(() => undefined);
      connecting = undefined;
      await c?.close().catch(() => undefined);
    },
  };
}

/** Listens on the port asked for, or on a free one when it is taken. */
async function listenMetrics(server: Server, options: MetricsServerOptions): Promise<number> {
  const listen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const onError = () => resolve(false);
      server.once("error", onError);
      server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
        server.off("error", onError);
        resolve(true);
      });
    });
  if (options.port !== undefined) {
    if (await listen(options.port)) return (server.address() as AddressInfo).port;
    options.onWarning?.(`metrics port ${options.port} is taken; serving /metrics on another port`);
  }
  for (let attempt = 0; ; attempt++) {
    const probe = await listenOnFreePort("127.0.0.1");
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    if (await listen(port)) return port;
    if (attempt >= 10) throw new LocalPlatformError(LocalErrorCode.portTaken, "cannot listen for /metrics on 127.0.0.1");
  }
}

/** The value of `work`, or undefined when it takes longer than `millis`. */
async function withDeadline<T>(work: Promise<T>, millis: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), millis)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
