/**
 * Reading a nats-server's monitoring endpoints (`/varz`, `/jsz`, `/healthz`) over HTTP. With
 * `node:http` rather than `fetch`: the supervisor polls these for as long as its bus runs, and
 * `fetch` (undici) grew a process by 14 MB resident after 50 requests where `http.request` grew
 * it by 4.6 MB.
 */
import { request } from "node:http";

/** How long a probe of a monitoring endpoint waits for its answer. */
export const PROBE_TIMEOUT_MS = 1500;

/** An HTTP answer: its status and its body. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * GETs `url` (plain HTTP): the answer, or undefined when it cannot be reached or does not answer
 * in `timeoutMs` (the whole exchange, body included).
 */
export function httpGet(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<HttpAnswer | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: HttpAnswer | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    // The global agent keeps connections alive (node 19+), as fetch did: a supervisor polling a
    // starting server ten times a second reuses one connection instead of opening ten.
    const req = request(url, { method: "GET", headers: { accept: "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.once("error", () => done(undefined));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(undefined);
    }, timeoutMs);
    req.once("error", () => done(undefined));
    req.end();
  });
}

/** A monitoring endpoint's JSON, or undefined when it does not answer 200 with JSON within the deadline. */
export async function getJson<T>(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<T | undefined> {
  const answer = await httpGet(url, timeoutMs);
  if (answer === undefined || answer.status !== 200) return undefined;
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    return undefined;
  }
}

/** What a server's `/healthz` said: ok, or the error it gave (nats-server answers 503 with `{"status","error"}`). */
export interface Healthz {
  readonly ok: boolean;
  /** The HTTP status. */
  readonly status: number;
  readonly error?: string;
}

/** A server's `/healthz` (at `url`, the monitor's base URL), or undefined when it does not answer within the deadline. */
export async function readHealthz(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Healthz | undefined> {
  const answer = await httpGet(`${url}/healthz`, timeoutMs);
  if (answer === undefined) return undefined;
  let error: unknown;
  try {
    error = (JSON.parse(answer.body) as { error?: unknown }).error;
  } catch {
    error = undefined;
  }
  return { ok: answer.status === 200, status: answer.status, ...(typeof error === "string" && { error }) };
}
