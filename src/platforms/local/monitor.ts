/** Probes of a nats-server's monitoring port. */

import { sleep } from "../../client/backoff.js";
import { getJson, readHealthz } from "../../observe/http.js";
import { readJsz } from "../../observe/jsz.js";
import type { Varz } from "../../observe/snapshot.js";
import type { Serverz } from "../../observe/stan.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

export { getJson };

export type { Jsz } from "../../observe/jsz.js";

/** Whether `/healthz` answers 200: the server accepts clients and its JetStream assets are current. */
export async function isHealthy(monitorPort: number, host = "127.0.0.1"): Promise<boolean> {
  return (await readHealthz(`http://${host}:${monitorPort}`))?.ok === true;
}

/** A NATS Streaming server's `/streaming/serverz`, or undefined when it does not answer. */
export const stanServerz = (monitorPort: number, host = "127.0.0.1") => getJson<Serverz>(`http://${host}:${monitorPort}/streaming/serverz`);

/**
 * Whether a server's `/streaming/serverz` says it runs in the raft cluster, as a Leader or a
 * Follower (nats-streaming-server 0.25.6 `server/monitor.go`: `state` CLUSTERED and `role` the
 * hashicorp/raft state).
 */
export function inRaftCluster(view: Pick<Serverz, "state" | "role"> | undefined): boolean {
  return view?.state === "CLUSTERED" && (view.role === "Leader" || view.role === "Follower");
}

/**
 * Whether a NATS Streaming server of a cluster serves: `/healthz` answers 200 (its NATS server
 * accepts clients) and its streaming server runs in the raft cluster ({@link inRaftCluster}). Its
 * NATS server is up before its store is loaded and its raft node started, so `/healthz` alone
 * would let a rolling change stop the next server too soon.
 */
export async function isStanServing(monitorPort: number, host = "127.0.0.1"): Promise<boolean> {
  return (await isHealthy(monitorPort, host)) && inRaftCluster(await stanServerz(monitorPort, host));
}

/** Why `/healthz` is not ok, as the server says it ("JetStream stream 'js > default' is not current"), or undefined when it is. */
export async function healthzError(monitorPort: number, host = "127.0.0.1"): Promise<string | undefined> {
  const healthz = await readHealthz(`http://${host}:${monitorPort}`);
  if (healthz === undefined) return "no answer";
  if (healthz.ok) return undefined;
  return healthz.error ?? `status ${healthz.status}`;
}

export const jsz = (monitorPort: number, host = "127.0.0.1") => readJsz(`http://${host}:${monitorPort}`);
export const varz = (monitorPort: number, host = "127.0.0.1") => getJson<Varz>(`http://${host}:${monitorPort}/varz`);

/**
 * The JetStream meta leader as one server sees it. The meta group's reported `cluster_size` is not
 * waited for: nats-server sizes a cold-started group dynamically and may report fewer peers than
 * have joined (nats-io/nats-server#2657); the stream's own placement is checked later instead.
 */
export async function metaLeader(monitorPort: number, size: number): Promise<string | undefined> {
  const info = await jsz(monitorPort);
  if (size === 1) return info ? "self" : undefined;
  return info?.meta_cluster?.leader || undefined;
}

/** Polls `probe` every `intervalMs` until it returns a value, or throws `onTimeout()` after `timeoutMs`. */
export async function poll<T>(
  name: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; failWhen?: () => Error | undefined },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const failure = options.failWhen?.();
    if (failure) throw failure;
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new LocalPlatformError(LocalErrorCode.timedOut, `timed out after ${options.timeoutMs}ms waiting for ${name}`);
    await sleep(options.intervalMs ?? 50);
  }
}
