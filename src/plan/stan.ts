/** Planning a managed NATS Streaming (STAN) bus: names, addresses, routes, raft peers, store limits. */
import { stanObjectNames, type ResolvedEventBus } from "../api/index.js";
import { WrongModeError } from "./errors.js";
import { listenHost, ROUTE_CONNECT_RETRIES, serverAddresses, serversAt } from "./placement.js";
import type { Placement, StanPlan } from "./types.js";

/**
 * Plans a managed NATS Streaming bus on a platform. Pure and deterministic: the same bus and
 * placement always give a deep-equal plan. Paths (the file store, the raft log) are not in it:
 * they are each platform's, given to the renderer as material.
 *
 * @param bus - a validated bus (`validate(manifest).bus`) in `nats.native` mode
 * @param placement - where its servers run; a local placement names one set of ports per replica
 * @throws {@link WrongModeError} when the bus is not a managed NATS Streaming bus,
 *   {@link InvalidPlacementError} when the local ports do not fit (count ≠ replicas, out of range, reused)
 */
export function planStan(bus: ResolvedEventBus, placement: Placement): StanPlan {
  const spec = bus.spec;
  if (spec.mode !== "nats.native") throw new WrongModeError(bus.name, "nats.native", spec.mode);
  const objects = stanObjectNames(bus.name);
  const addresses = serverAddresses(bus.name, spec.replicas, placement, objects);
  // nats:// routes, as Argo Events' STAN configs write them.
  const servers = serversAt(addresses, objects.statefulSet, "nats");
  const namespace = placement.platform === "kubernetes" ? placement.namespace : bus.namespace;
  const persistence = spec.persistence;
  return {
    kind: "stan",
    busName: bus.name,
    ...(namespace !== undefined && { namespace }),
    platform: placement.platform,
    clusterId: objects.clusterID,
    clusterName: objects.statefulSet,
    replicas: spec.replicas,
    servers,
    listenHost: listenHost(placement),
    auth: spec.auth,
    storage: {
      // Locally the store lives in the state dir, which outlives the processes.
      persistent: placement.platform === "local" || persistence !== undefined,
      ...(persistence && {
        volumeSize: persistence.volumeSize,
        ...(persistence.storageClassName !== undefined && { storageClassName: persistence.storageClassName }),
        accessMode: persistence.accessMode,
      }),
    },
    limits: { maxAge: spec.maxAge, maxMsgs: spec.maxMsgs, maxBytes: spec.maxBytes.bytes, maxSubs: spec.maxSubs },
    raft: { ...spec.raft },
    maxPayloadBytes: spec.maxPayload.bytes,
    connectRetries: ROUTE_CONNECT_RETRIES,
    objects,
  };
}
