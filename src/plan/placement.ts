/**
 * Where the servers of a managed bus run and how they reach each other, the same for every mode:
 * their addresses and ports from a placement, the interface they bind to, and route retries.
 */
import { InvalidPlacementError } from "./errors.js";
import { DEFAULT_PORTS, type Placement, type ServerPlan, type ServerPorts } from "./types.js";

/** The address local servers listen on and are reached at, unless the placement names another. */
export const LOCAL_HOST = "127.0.0.1";
/** The interface a server binds to in a pod: every interface, so the Service reaches it. */
export const POD_LISTEN_HOST = "0.0.0.0";
/** Route attempts before a server gives up on a peer (Argo Events: 120). */
export const ROUTE_CONNECT_RETRIES = 120;

const MAX_PORT = 65_535;

/** Where one server is reached: its host and listeners. */
export interface ServerAddress {
  readonly host: string;
  readonly ports: ServerPorts;
}

/**
 * The address of each of `replicas` servers, in server order: locally the placement's host and
 * ports; on Kubernetes each pod's DNS name under the headless Service, with the default ports.
 * @param names - the StatefulSet and its headless Service, which name the pods
 * @throws {@link InvalidPlacementError} when the local ports do not fit (count ≠ replicas, out of range, reused)
 */
export function serverAddresses(
  busName: string,
  replicas: number,
  placement: Placement,
  names: { readonly statefulSet: string; readonly service: string },
): ServerAddress[] {
  return placement.platform === "local" ? localAddresses(busName, replicas, placement) : podAddresses(replicas, placement.namespace, names);
}

/**
 * The servers of a bus at `addresses`, named `<statefulSet>-<index>` (the pod names on Kubernetes),
 * each with a route to every server of the bus as `<scheme>://host:port`, itself included (the
 * servers skip the route to themselves); one server has no routes.
 */
export function serversAt(addresses: readonly ServerAddress[], statefulSet: string, routeScheme: "nats-route" | "nats"): ServerPlan[] {
  return addresses.map(({ host, ports }, index) => ({
    index,
    name: `${statefulSet}-${index}`,
    host,
    ports,
    routes: addresses.length === 1 ? [] : addresses.map((peer) => `${routeScheme}://${hostPort(peer.host, peer.ports.cluster)}`),
  }));
}

/** The interface listeners bind to: the local host, or every interface in a pod. */
export function listenHost(placement: Placement): string {
  return placement.platform === "local" ? (placement.host ?? LOCAL_HOST) : POD_LISTEN_HOST;
}

function localAddresses(busName: string, replicas: number, placement: Extract<Placement, { platform: "local" }>): ServerAddress[] {
  const host = placement.host ?? LOCAL_HOST;
  if (host.trim() === "") throw new InvalidPlacementError(busName, "the host must not be empty");
  if (placement.ports.length !== replicas) {
    throw new InvalidPlacementError(busName, `the bus has ${replicas} replicas but the placement names ports for ${placement.ports.length} servers`);
  }
  const seen = new Map<number, string>();
  placement.ports.forEach((ports, index) => {
    for (const listener of ["client", "cluster", "monitor"] as const) {
      const port = ports[listener];
      const where = `server ${index} ${listener} port`;
      if (!Number.isInteger(port) || port < 1 || port > MAX_PORT) {
        throw new InvalidPlacementError(busName, `${where} must be an integer from 1 to ${MAX_PORT}, got ${port}`);
      }
      const previous = seen.get(port);
      if (previous !== undefined) throw new InvalidPlacementError(busName, `${where} ${port} is also the ${previous}`);
      seen.set(port, where);
    }
  });
  return placement.ports.map((ports) => ({ host, ports: { client: ports.client, cluster: ports.cluster, monitor: ports.monitor } }));
}

function podAddresses(replicas: number, namespace: string, names: { readonly statefulSet: string; readonly service: string }): ServerAddress[] {
  const ports = { client: DEFAULT_PORTS.client, cluster: DEFAULT_PORTS.cluster, monitor: DEFAULT_PORTS.monitor };
  return Array.from({ length: replicas }, (_, index) => ({
    // The pod's name under the headless Service: <statefulset>-<i>.<service>.<namespace>.svc
    host: `${names.statefulSet}-${index}.${names.service}.${namespace}.svc`,
    ports,
  }));
}

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
