/** Planning a managed JetStream bus: names, addresses, routes, TLS names, storage and stream. */
import { defaults, Duration, jetStreamObjectNames, type ResolvedEventBus } from "../api/index.js";
import { resolveJetStreamVersion } from "../versions/index.js";
import { WrongModeError } from "./errors.js";
import { listenHost, ROUTE_CONNECT_RETRIES, serverAddresses, serversAt } from "./placement.js";
import type { JetStreamPlan, Placement } from "./types.js";

/** The cluster domain of Kubernetes Service DNS names. */
export const CLUSTER_DOMAIN = "cluster.local";

/**
 * How long a stopping server takes to move its clients away, per platform. nats-server refuses a
 * `lame_duck_duration` under 30s, so locally the duration is that minimum too; a local stop is still
 * quick, because after the grace period the server closes its clients at most a second apart and
 * exits when none is left.
 */
export const LAME_DUCK = {
  local: { duration: "30s", gracePeriod: "2s" },
  /** Argo Events' values. */
  kubernetes: { duration: "30s", gracePeriod: "10s" },
} as const;

/** Names the server certificates of a local bus carry. */
export const LOCAL_TLS_NAMES = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] } as const;

/**
 * Plans a managed JetStream bus on a platform: the same plan runs as local processes and as a
 * StatefulSet. Pure and deterministic: the same bus and placement always give a deep-equal plan.
 *
 * @param bus - a validated bus (`validate(manifest).bus`) in `jetstream` mode
 * @param placement - where its servers run; a local placement names one set of ports per replica
 * @throws {@link WrongModeError} when the bus is not a managed JetStream bus,
 *   {@link InvalidPlacementError} when the local ports do not fit (count ≠ replicas, out of range, reused),
 *   `UnknownVersionError` (versions) when `spec.jetstream.version` is not in the versions table
 */
export function planJetStream(bus: ResolvedEventBus, placement: Placement): JetStreamPlan {
  const spec = bus.spec;
  if (spec.mode !== "jetstream") throw new WrongModeError(bus.name, "jetstream", spec.mode);
  const objects = jetStreamObjectNames(bus.name);
  const version = resolveJetStreamVersion(spec.version);
  const addresses = serverAddresses(bus.name, spec.replicas, placement, objects);
  // Every server routes to every server of the bus, itself too: nats-server sizes a cold-starting
  // JetStream meta group by its route count, so leaving itself out makes a 3-server cluster expect
  // 2 peers and sometimes bootstrap without the third.
  const servers = serversAt(addresses, objects.statefulSet, "nats-route");
  const namespace = placement.platform === "kubernetes" ? placement.namespace : bus.namespace;
  const lameDuck = LAME_DUCK[placement.platform];
  const persistence = spec.persistence;
  return {
    kind: "jetstream",
    busName: bus.name,
    ...(namespace !== undefined && { namespace }),
    platform: placement.platform,
    version: { name: version.name, server: version.serverVersion },
    clusterName: objects.statefulSet,
    replicas: spec.replicas,
    servers,
    listenHost: listenHost(placement),
    auth: spec.auth,
    tls: spec.tls,
    tlsNames: placement.platform === "local" ? localTlsNames() : serviceTlsNames(objects.service, placement.namespace, placement.clusterDomain),
    storage: {
      // Locally the store lives in the state dir, which outlives the processes.
      persistent: placement.platform === "local" || persistence !== undefined,
      maxMemoryStoreBytes: spec.settings.maxMemoryStore.bytes,
      maxFileStoreBytes: spec.settings.maxFileStore.bytes,
      passedSettings: spec.settings.passed,
      ...(persistence && {
        volumeSize: persistence.volumeSize,
        ...(persistence.storageClassName !== undefined && { storageClassName: persistence.storageClassName }),
        accessMode: persistence.accessMode,
      }),
    },
    maxPayloadBytes: spec.maxPayload.bytes,
    lameDuckDuration: Duration.parse(lameDuck.duration),
    lameDuckGracePeriod: Duration.parse(lameDuck.gracePeriod),
    connectRetries: ROUTE_CONNECT_RETRIES,
    accounts: { jetstream: "js", system: "sys" },
    stream: { name: defaults.DEFAULT_STREAM_NAME, subjects: [...defaults.DEFAULT_STREAM_SUBJECTS], config: spec.streamConfig },
    objects,
    startArgs: [...spec.startArgs],
  };
}

function localTlsNames(): JetStreamPlan["tlsNames"] {
  return { dnsNames: [...LOCAL_TLS_NAMES.dnsNames], ipAddresses: [...LOCAL_TLS_NAMES.ipAddresses] };
}

/**
 * The Service's DNS names, short and long (in `cluster.local` and in `clusterDomain`), and the
 * wildcard forms that cover each pod's name under it.
 */
function serviceTlsNames(service: string, namespace: string, clusterDomain?: string): JetStreamPlan["tlsNames"] {
  const domains = clusterDomain === undefined || clusterDomain === CLUSTER_DOMAIN ? [CLUSTER_DOMAIN] : [CLUSTER_DOMAIN, clusterDomain];
  const forms = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, ...domains.map((d) => `${service}.${namespace}.svc.${d}`)];
  return { dnsNames: [...forms, ...forms.map((name) => `*.${name}`), "localhost"], ipAddresses: ["127.0.0.1"] };
}
