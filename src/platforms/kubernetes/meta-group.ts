/**
 * Servers scaled away removed from the JetStream meta group. When a StatefulSet scales down, its
 * highest pods go, but nats-server keeps their peers in the meta group for good, offline: a bus
 * scaled 5 → 3 keeps a group of 5 whose quorum is 3, so losing any one of its 3 servers stops
 * every stream's and consumer's assignment (seen on a kubelet: cluster size 5, js-3 and js-4
 * offline, two minutes after the scale-down). The local platform removes such a server itself
 * (platforms/local/scaling.ts); here the controller does it once the StatefulSet has scaled: it
 * reads the meta group from the pods' monitoring endpoints (plain HTTP on the pod addresses, as
 * the kubelet's probes) and sends `$JS.API.SERVER.REMOVE` (nats-server `jetstream_api.go`,
 * `jsLeaderServerRemoveRequest`: system account only, `{"peer": <server name>}`) for each offline
 * peer named as one of the bus's pods beyond its replicas, as the system user.
 *
 * The other way round, a server can be Ready and not in the group: nats-server 2.10.29 left one
 * server out of a cold start's meta group in some starts on a kubelet (4 of 9, then 1 of 5; cluster
 * size 2, "no suitable peers for placement" for an R3 stream), and deleting that server's pod had it
 * join at once (the one time it was tried by hand). {@link checkMetaGroup} finds such servers, and
 * the controller deletes their pods.
 */
import { connect as natsConnect, type ConnectionOptions } from "@nats-io/transport-node";

import { readMetaGroup } from "../../observe/index.js";
import type { BusSecrets } from "../../secrets/index.js";
import type { KubeResource } from "./kube-client.js";
import { LabelKey } from "./objects.js";
import type { ReconcileContext } from "./reconcile-context.js";
import { Resources } from "./resources.js";

/** nats-server's default ports, as the rendered pods use them. */
const MONITOR_PORT = 8222;
const CLIENT_PORT = 4222;
const REQUEST_TIMEOUT_MILLIS = 5_000;

interface Pod extends KubeResource {
  status?: { podIP?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

/** What {@link removeScaledDownPeers} needs of the bus. */
export interface ScaledBus {
  readonly namespace: string;
  readonly busName: string;
  /** The StatefulSet's name: its pods are `<statefulSet>-<ordinal>`, and so are the servers. */
  readonly statefulSet: string;
  readonly replicas: number;
  readonly secrets: BusSecrets;
  /** A DNS name the servers' certificate holds (the Service's, from `status.config`), checked against it. */
  readonly tlsName?: string;
}

/** What {@link checkMetaGroup} found: the servers scaled away it removed, and the Ready pods whose server is not in the group. */
export interface MetaGroupCheck {
  readonly removed: readonly string[];
  /** Ready pods whose server the meta group's leader does not count as a peer, with how long each has been Ready. */
  readonly outside: readonly { readonly pod: string; readonly uid: string; readonly readyForMillis: number }[];
}

/**
 * Reads the meta group of a JetStream bus whose pods are all Ready: removes the offline peers of
 * pods beyond its replicas, and reports the Ready pods whose server is not a peer. Nothing is
 * asked of the servers unless every pod is Ready, and nothing is sent unless such a peer is there.
 * @throws when a server refuses a removal or cannot be reached
 */
export async function checkMetaGroup(ctx: ReconcileContext, bus: ScaledBus): Promise<MetaGroupCheck> {
  const none: MetaGroupCheck = { removed: [], outside: [] };
  const pods = (await ctx.client.list<Pod>(Resources.pod, { namespace: bus.namespace, labelSelector: `${LabelKey.eventBusName}=${bus.busName}` })).items;
  const readySince = (p: Pod) => p.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
  const ready = pods.filter((p) => p.status?.podIP && readySince(p));
  if (ready.length !== bus.replicas || pods.length !== bus.replicas) return none;
  const meta = await readMetaGroup(ready.map((p) => ({ name: p.metadata.name, url: `http://${p.status!.podIP}:${MONITOR_PORT}` })));
  if (meta.leader === undefined) return none;
  const peers = new Set(meta.peers.map((p) => p.name));
  const now = Date.now();
  const outside = ready
    .filter((p) => !peers.has(p.metadata.name))
    .map((p) => ({
      pod: p.metadata.name,
      uid: p.metadata.uid as string,
      readyForMillis: now - Date.parse(readySince(p)?.lastTransitionTime ?? new Date(now).toISOString()),
    }));
  const ordinal = (name: string) => (name.startsWith(`${bus.statefulSet}-`) ? Number(name.slice(bus.statefulSet.length + 1)) : Number.NaN);
  const stale = meta.peers.filter((p) => p.offline && Number.isInteger(ordinal(p.name)) && ordinal(p.name) >= bus.replicas).map((p) => p.name);
  return { removed: stale.length === 0 ? [] : await removePeers(ready, bus, stale), outside };
}

/** Sends `$JS.API.SERVER.REMOVE` for each peer, as the bus's system user. */
async function removePeers(ready: readonly Pod[], bus: ScaledBus, stale: readonly string[]): Promise<string[]> {
  const tls = bus.secrets.tls;
  const options: ConnectionOptions = {
    servers: ready.map((p) => `${tls ? "tls" : "nats"}://${p.status!.podIP}:${CLIENT_PORT}`),
    user: bus.secrets.credentials.systemUser,
    pass: bus.secrets.credentials.systemPassword,
    name: "eventbus-controller",
    reconnect: false,
    timeout: REQUEST_TIMEOUT_MILLIS,
    // The certificate names the Service, not the pod address: verified against that name (Node's
    // tls.connect checks `servername`; nats.js passes these options through).
    ...(tls && { tls: { ca: tls.ca.certPem, ...(bus.tlsName !== undefined && { servername: bus.tlsName }) } as ConnectionOptions["tls"] }),
  };
  const nc = await natsConnect(options);
  try {
    const removed: string[] = [];
    for (const peer of stale) {
      const reply = await nc.request("$JS.API.SERVER.REMOVE", JSON.stringify({ peer }), { timeout: REQUEST_TIMEOUT_MILLIS });
      const answer = reply.json<{ success?: boolean; error?: { description?: string } }>();
      if (!answer.success) throw new Error(`removing peer ${peer}: ${answer.error?.description ?? "refused"}`);
      removed.push(peer);
    }
    return removed;
  } finally {
    await nc.close();
  }
}
