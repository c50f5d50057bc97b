/** Reading a nats-server's monitoring endpoints (`/varz`, `/jsz`, `/healthz`) over HTTP. */

/** How long a probe of a monitoring endpoint waits for its answer. */
export const PROBE_TIMEOUT_MS = 1500;

/** A monitoring endpoint's JSON, or undefined when it does not answer 200 within the deadline. */
export async function getJson<T>(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<T | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return (await response.json()) as T;
  } catch {
    return undefined;
  }
}

/** What a server's `/healthz` said: ok, or the error it gave (nats-server answers 503 with `{"status","error"}`). */
export interface Healthz {
  readonly ok: boolean;
  readonly error?: string;
}

/** A server's `/healthz`, or undefined when it does not answer within the deadline. */
export async function readHealthz(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Healthz | undefined> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
    return { ok: response.ok, ...(typeof body?.error === "string" && { error: body.error }) };
  } catch {
    return undefined;
  }
}
