/**
 * The controller's HTTP endpoints for the kubelet and Prometheus: `/healthz` (the process runs),
 * `/readyz` (the caches have listed once) and `/metrics` (Prometheus text).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { PROMETHEUS_CONTENT_TYPE } from "./metrics.js";

/** What the endpoints read. */
export interface HealthSource {
  readonly hasSynced: boolean;
  readonly isLeader: boolean;
  renderMetrics(): string;
}

/** A running health server. */
export interface HealthServer extends AsyncDisposable {
  /** The port it listens on (the one asked for, or the one the OS chose for 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the endpoints on `port` (0: any free port) of `host`. */
export async function startHealthServer(source: HealthSource, options: { port: number; host?: string }): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz" || path === "/livez") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ready = source.hasSynced;
      res
        .writeHead(ready ? 200 : 503, { "content-type": "text/plain" })
        .end(ready ? `ok (${source.isLeader ? "leader" : "standby"})\n` : "caches not synced\n");
    } else if (path === "/metrics") {
      res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE }).end(source.renderMetrics());
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { port: (server.address() as AddressInfo).port, close, [Symbol.asyncDispose]: close };
}
