/**
 * The servers of a bus seen through its system account: every server answers
 * `$SYS.REQ.SERVER.PING.{VARZ,JSZ,HEALTHZ}`, so no monitoring endpoint is needed. A server that is
 * down does not answer; the meta group's peers name it, so it is still listed, as unreachable.
 */
import type { NatsConnection } from "@nats-io/transport-node";

import { SystemAccountError } from "./errors.js";
import { metaGroupOf, type Jsz } from "./jsz.js";
import { serverFromMonitoring, snapshotMeta, type BusSnapshot, type ServerSnapshot, type Varz } from "./snapshot.js";

/** What one server answers to a `$SYS.REQ.SERVER.PING.*` request. */
interface Reply<T> {
  readonly server: { readonly name: string };
  readonly data?: T;
  readonly error?: { readonly description?: string };
}

/** Asks every server of the bus, collecting the answers that arrive within `timeoutMillis`. */
async function ping<T>(nc: NatsConnection, what: "VARZ" | "JSZ" | "HEALTHZ", timeoutMillis: number): Promise<Map<string, Reply<T>>> {
  const replies = new Map<string, Reply<T>>();
  try {
    const iterator = await nc.requestMany(`$SYS.REQ.SERVER.PING.${what}`, "", { maxWait: timeoutMillis, strategy: "timer" });
    for await (const msg of iterator) {
      const reply = msg.json<Reply<T>>();
      if (reply?.server?.name) replies.set(reply.server.name, reply);
    }
  } catch (error) {
    const text = String((error as Error).message ?? error);
    if (/permissions|no responders|503/i.test(text)) {
      throw new SystemAccountError(`the connection is not in the bus's system account (${text}); give its credentials with --system-creds`, { cause: error });
    }
    throw error;
  }
  return replies;
}

/**
 * The servers and meta group of the bus `nc` reaches as a system account user.
 * @throws {@link SystemAccountError} when the connection's user may not ask the servers
 */
export async function systemServers(nc: NatsConnection, timeoutMillis: number): Promise<Pick<BusSnapshot, "servers" | "jetstream">> {
  const [varz, jsz, healthz] = await Promise.all([
    ping<Varz>(nc, "VARZ", timeoutMillis),
    ping<Jsz>(nc, "JSZ", timeoutMillis),
    ping<{ status?: string }>(nc, "HEALTHZ", timeoutMillis),
  ]);
  if (varz.size === 0)
    throw new SystemAccountError("no server answered the system account's requests; give the bus's system account credentials with --system-creds");
  return serversFromAnswers(
    new Map([...varz].flatMap(([name, r]) => (r.data ? [[name, r.data] as const] : []))),
    new Map([...jsz].flatMap(([name, r]) => (r.data ? [[name, r.data] as const] : []))),
    new Set([...healthz].filter(([, r]) => r.data?.status === "ok").map(([name]) => name)),
  );
}

/**
 * The servers and meta group from what each server answered (`/varz`, `/jsz`, `/healthz`), by
 * server name, however they were asked (system account, a proxy). The meta leader's view names
 * every peer, including those that are down and did not answer: they are listed as unreachable.
 */
export function serversFromAnswers(
  varz: ReadonlyMap<string, Varz>,
  jsz: ReadonlyMap<string, Jsz>,
  healthy: ReadonlySet<string>,
): Pick<BusSnapshot, "servers" | "jetstream"> {
  const views = [...jsz.values()].map((j) => j.meta_cluster).filter((v) => v !== undefined);
  const meta = views.find((v) => v.leader !== undefined && jsz.get(v.leader)?.meta_cluster === v) ?? views.find((v) => v.leader !== undefined);
  const names = new Set([...varz.keys(), ...(meta?.leader ? [meta.leader] : []), ...(meta?.replicas ?? []).map((r) => r.name)]);
  const servers = [...names].sort().map((name): ServerSnapshot => {
    const v = varz.get(name);
    if (v === undefined) return { name, reachable: false, healthy: false };
    return serverFromMonitoring(name, healthy.has(name), v, jsz.get(name));
  });
  return { servers, jetstream: snapshotMeta(metaGroupOf(meta)) };
}
