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

import { readHealthz, readMetaGroup } from "../../observe/index.js";
import { DEFAULT_PORTS } from "../../plan/index.js";
import type { BusSecrets } from "../../secrets/index.js";
import { SERVER_CONTAINER } from "./jetstream-objects.js";
import type { KubeClient, KubeResource } from "./kube-client.js";
import { LabelKey, type ServerPortName } from "./objects.js";
import { Resources } from "./resources.js";

const REQUEST_TIMEOUT_MILLIS = 5_000;

interface Pod extends KubeResource {
  spec?: { containers?: { name: string; ports?: { name?: string; containerPort: number }[] }[] };
  status?: {
    podIP?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    containerStatuses?: { name: string; state?: { running?: { startedAt?: string } } }[];
  };
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

/** A pod whose server the meta group goes without: how long it has been so, and what shows it. */
export interface OutsidePod {
  readonly pod: string;
  readonly uid: string;
  /** How long the pod has been Ready (a Ready pod not a peer), or its server container running (a pod never Ready). */
  readonly forMillis: number;
  /** What shows it, for the Event: the leader's peers, or the server's own `/healthz` error. */
  readonly evidence: string;
  readonly ready: boolean;
}

/** What {@link checkMetaGroup} found: the servers scaled away it removed, the pods whose server is not in the group, and how many pods are not Ready. */
export interface MetaGroupCheck {
  readonly removed: readonly string[];
  readonly outside: readonly OutsidePod[];
  readonly unready: number;
}

/** The `/healthz` errors of a server cut off from the meta group (nats-server 2.10/2.11 `monitor.go`, `healthz`). */
const CUT_OFF_ERRORS = ["JetStream has not established contact with a meta leader", "JetStream is not current with the meta leader"];

/**
 * Reads the meta group of a JetStream bus with a quorum of Ready pods. It reports the pods whose
 * server is not in the group: a Ready pod the leader does not count as a peer, and a pod never
 * Ready whose server says it has no contact with the meta leader (seen once with 2.10.29: the
 * server ran 4 minutes and never passed its startup probe while the other two were a group). When
 * every pod is Ready, it also removes the offline peers of pods beyond the replicas. Nothing is
 * asked of the servers without a quorum of Ready pods, and nothing is sent to them unless such a
 * peer is there.
 * @throws when a server refuses a removal or cannot be reached
 */
export async function checkMetaGroup(client: KubeClient, bus: ScaledBus): Promise<MetaGroupCheck> {
  const pods = (await client.list<Pod>(Resources.pod, { namespace: bus.namespace, labelSelector: `${LabelKey.eventBusName}=${bus.busName}` })).items;
  const readySince = (p: Pod) => p.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
  const ready = pods.filter((p) => p.status?.podIP && readySince(p));
  const unready = pods.filter((p) => !readySince(p));
  const none: MetaGroupCheck = { removed: [], outside: [], unready: unready.length };
  if (ready.length < Math.floor(bus.replicas / 2) + 1 || pods.length !== bus.replicas) return none;
  const monitorOf = (p: Pod) => `http://${p.status!.podIP}:${serverPort(p, "monitor")}`;
  const meta = await readMetaGroup(ready.map((p) => ({ name: p.metadata.name, url: monitorOf(p) })));
  if (meta.leader === undefined) return none;
  const peers = new Set(meta.peers.map((p) => p.name));
  const now = Date.now();
  const since = (at: string | undefined) => now - Date.parse(at ?? new Date(now).toISOString());
  const outside: OutsidePod[] = ready
    .filter((p) => !peers.has(p.metadata.name))
    .map((p) => ({
      pod: p.metadata.name,
      uid: p.metadata.uid as string,
      forMillis: since(readySince(p)?.lastTransitionTime),
      evidence: `the meta leader ${meta.leader} does not count it as a peer`,
      ready: true,
    }));
  for (const p of unready) {
    const startedAt = p.status?.containerStatuses?.find((c) => c.name === SERVER_CONTAINER)?.state?.running?.startedAt;
    if (!p.status?.podIP || startedAt === undefined) continue;
    const error = (await readHealthz(monitorOf(p)))?.error;
    if (error === undefined || !CUT_OFF_ERRORS.includes(error)) continue;
    outside.push({ pod: p.metadata.name, uid: p.metadata.uid as string, forMillis: since(startedAt), evidence: `its /healthz says "${error}"`, ready: false });
  }
  if (unready.length > 0) return { ...none, outside };
  const ordinal = (name: string) => (name.startsWith(`${bus.statefulSet}-`) ? Number(name.slice(bus.statefulSet.length + 1)) : Number.NaN);
  const stale = meta.peers.filter((p) => p.offline && Number.isInteger(ordinal(p.name)) && ordinal(p.name) >= bus.replicas).map((p) => p.name);
  return { removed: stale.length === 0 ? [] : await removePeers(ready, bus, stale), outside, unready: 0 };
}

/** A port of a pod's server container, as its spec declares it (the rendered pods: nats-server's defaults). */
function serverPort(pod: Pod, name: ServerPortName): number {
  const declared = pod.spec?.containers?.find((c) => c.name === SERVER_CONTAINER)?.ports?.find((p) => p.name === name)?.containerPort;
  return declared ?? DEFAULT_PORTS[name];
}

/** Sends `$JS.API.SERVER.REMOVE` for each peer, as the bus's system user. */
async function removePeers(ready: readonly Pod[], bus: ScaledBus, stale: readonly string[]): Promise<string[]> {
  const tls = bus.secrets.tls;
  const options: ConnectionOptions = {
    servers: ready.map((p) => `${tls ? "tls" : "nats"}://${p.status!.podIP}:${serverPort(p, "client")}`),
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
