/**
 * The console's HTTP server: the page and its assets (served by eventbus itself, no CDN), the state
 * as JSON and as Server-Sent Events, and the event browser. Read-only: GET and HEAD only. On a
 * loopback address only requests naming it as their Host are served (a web page elsewhere cannot
 * reach the console through a DNS name it rebinds to 127.0.0.1); on any other address every request
 * needs the access token, given once as `?token=` (kept in a cookie) or as a bearer token.
 */
import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

import { ConsoleError, ConsoleErrorCode } from "./errors.js";
import { browseEvents, MAX_BROWSED_EVENTS } from "./events.js";
import type { ConsoleHub } from "./hub.js";
import { indexHtml } from "./page-html.js";
import { PAGE_STYLE } from "./page-style.js";

/** The cookie a token given as `?token=` is kept in. */
export const TOKEN_COOKIE = "eventbus_console";

/** How much a viewer may leave unread before states are no longer queued for it. */
const MAX_UNREAD_BYTES = 1024 * 1024;

/** Between two SSE comments that keep an idle connection open through proxies. */
const KEEPALIVE_MILLIS = 15_000;

/** Options of {@link startConsoleServer}. */
export interface ConsoleServerOptions {
  /** The address to listen on. @default "127.0.0.1" */
  readonly host?: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Required of every request when given. */
  readonly token?: string;
}

/** A running console server. */
export interface ConsoleServer extends AsyncDisposable {
  /** `http://host:port/` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Where the page's compiled modules are: beside this file in dist/, or in dist/ when running from source. */
function pageDir(): string {
  const here = import.meta.url;
  return fileURLToPath(new URL(here.endsWith(".ts") ? "../../dist/console/page/" : "./page/", here));
}

/** Security headers of every answer. */
const COMMON_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
} as const;

const PAGE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Serves the console of `hub`. */
export async function startConsoleServer(hub: ConsoleHub, options: ConsoleServerOptions = {}): Promise<ConsoleServer> {
  const host = options.host ?? "127.0.0.1";
  const token = options.token;
  const assets = pageDir();
  const streams = new Set<ServerResponse>();
  let port = 0;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...COMMON_HEADERS, allow: "GET, HEAD", "content-type": "application/json" });
      res.end(JSON.stringify({ error: "the console is read-only: only GET and HEAD" }));
      return;
    }
    if (!allowedHost(req.headers.host, host, port)) {
      throw new ConsoleError(ConsoleErrorCode.badRequest, "Host header does not name this console");
    }
    const url = new URL(req.url ?? "/", "http://console");
    if (token !== undefined) {
      const given = url.pathname === "/" ? url.searchParams.get("token") : null;
      if (given !== null && same(given, token)) {
        // The token leaves the address bar (and the history) for a cookie only this site sends.
        res.writeHead(303, { ...COMMON_HEADERS, location: "/", "set-cookie": `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` });
        res.end();
        return;
      }
      if (!authorized(req, token)) {
        res.writeHead(401, { ...COMMON_HEADERS, "content-type": "application/json", "www-authenticate": "Bearer" });
        res.end(JSON.stringify({ error: "give the console's access token: open the address printed when it started (…/?token=…)" }));
        return;
      }
    }
    const path = url.pathname;
    if (path === "/") return send(res, 200, "text/html; charset=utf-8", indexHtml(), { "content-security-policy": PAGE_CSP });
    if (path === "/assets/style.css") return send(res, 200, "text/css; charset=utf-8", PAGE_STYLE);
    const asset = /^\/assets\/([a-z0-9][a-z0-9-]*\.js(?:\.map)?)$/.exec(path);
    if (asset) return sendAsset(res, asset[1]!);
    if (path === "/api/state") return sendJson(res, 200, hub.current());
    if (path === "/api/stream") return openStream(req, res);
    const events = /^\/api\/buses\/([^/]+)\/events$/.exec(path);
    if (events) return sendEvents(res, decodeURIComponent(events[1]!), url.searchParams);
    if (path === "/healthz") return send(res, 200, "text/plain; charset=utf-8", "ok\n");
    throw new ConsoleError(ConsoleErrorCode.notFound, `no such page: ${path}`);
  }

  async function sendAsset(res: ServerResponse, name: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(`${assets}${name}`);
    } catch {
      throw new ConsoleError(
        ConsoleErrorCode.notFound,
        name === "app.js" ? `the page's script is not built (${assets}${name}); run npm run build` : `no such asset: ${name}`,
      );
    }
    send(res, 200, name.endsWith(".map") ? "application/json" : "text/javascript; charset=utf-8", body);
  }

  async function sendEvents(res: ServerResponse, id: string, query: URLSearchParams): Promise<void> {
    const source = hub.source(id);
    if (source === undefined) throw new ConsoleError(ConsoleErrorCode.notFound, `no bus ${id} in this console`);
    const client = source.client();
    if (client === undefined) throw new ConsoleError(ConsoleErrorCode.unavailable, `bus ${id}: its stream cannot be read from here (not connected)`);
    const limitText = query.get("limit");
    const limit = limitText === null ? undefined : Number(limitText);
    if (limit !== undefined && !Number.isInteger(limit))
      throw new ConsoleError(ConsoleErrorCode.badRequest, `limit: must be an integer from 1 to ${MAX_BROWSED_EVENTS}, got ${JSON.stringify(limitText)}`);
    const subject = query.get("subject") ?? undefined;
    sendJson(res, 200, await browseEvents(client, id, { ...(subject !== undefined && { subject }), ...(limit !== undefined && { limit }) }));
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...COMMON_HEADERS, "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    if (req.method === "HEAD") return void res.end();
    res.write(`retry: 2000\n\n`);
    streams.add(res);
    // A viewer that does not read (a stalled tab) is skipped until it has taken what it was sent:
    // each state replaces the one before, so nothing is lost but memory is not spent on it.
    const unwatch = hub.watch((chunk) => {
      if (res.writableLength <= MAX_UNREAD_BYTES) res.write(chunk);
    });
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MILLIS);
    res.on("close", () => {
      clearInterval(keepalive);
      unwatch();
      streams.delete(res);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new ConsoleError(
          ConsoleErrorCode.listen,
          error.code === "EADDRINUSE"
            ? `${host}:${options.port ?? 0} is in use; give another --port (0 picks a free one)`
            : `cannot listen on ${host}:${options.port ?? 0}: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  const close = async () => {
    for (const res of streams) res.end();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://${shownHost}:${port}/`, port, close, [Symbol.asyncDispose]: close };
}

/** Whether a request's Host header names the console: any host when it listens on every address or is given a token, else its own address or localhost. */
function allowedHost(header: string | undefined, host: string, port: number): boolean {
  if (!isLoopback(host)) return true;
  if (header === undefined) return false;
  const names = ["127.0.0.1", "localhost", "[::1]", host.includes(":") ? `[${host}]` : host];
  return names.some((n) => header === `${n}:${port}` || (port === 80 && header === n));
}

/** Whether an address only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

function authorized(req: IncomingMessage, token: string): boolean {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  if (bearer !== undefined && same(bearer, token)) return true;
  const cookie = (req.headers.cookie ?? "")
    .split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${TOKEN_COOKIE}=`));
  return cookie !== undefined && same(cookie.slice(TOKEN_COOKIE.length + 1), token);
}

/** Compares in constant time. */
function same(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, "content-type": type, "cache-control": "no-store", ...headers });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, data: unknown): void {
  send(res, status, "application/json", JSON.stringify(data));
}

/** An error as `{ "error": message }`: a console error with its status, anything else (a bus that did not answer) as 502. */
function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) return void res.end();
  const status = error instanceof ConsoleError ? error.status : 502;
  sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
}
