/**
 * An EventBus's `status`, as Argo Events writes it and more: conditions (`Configured`, `Deployed`,
 * and `Ready` for managed buses or `Connected` for external JetStream), `observedGeneration`,
 * a `phase` for the printer column, and `config`, the connection clients use (Argo's
 * `EVENTBUS_CONFIG`). Pure: the controller decides, these functions shape.
 *
 * Argo Events deploys an EventSource or a Sensor only when every condition of its bus is True
 * (`Status.IsReady()`). So no condition is False while the bus is usable: a managed bus with a
 * quorum of its servers ready is `Ready=True` (the missing ones in the message, `phase: Degraded`
 * and `message`), and an external bus the controller cannot reach has no `Connected` condition
 * (the controller is not on the pods' path to it), only `phase: Degraded`, `message` and an Event.
 */
import {
  ConditionReason,
  ConditionType,
  formatStreamConfig,
  jetStreamObjectNames,
  stanObjectNames,
  type BusStatus,
  type DesiredCondition,
  type ResolvedEventBus,
  type StatusConfig,
} from "../../api/index.js";
import { DEFAULT_PORTS } from "../../plan/index.js";
import { CLIENT_AUTH_SECRET_KEY } from "../../secrets/index.js";

/** Options of {@link statusConfig}. */
export interface StatusConfigOptions {
  /**
   * The cluster's DNS domain: URLs name `<svc>.<ns>.svc.<domain>`. Without it they name
   * `<svc>.<ns>.svc`, as Argo Events writes them, which every cluster's DNS search path resolves.
   */
  readonly clusterDomain?: string;
}

/** The in-cluster DNS name and client port of a bus's Service: `nats://<svc>.<ns>.svc[.<domain>]:4222`. */
export function serviceUrl(service: string, namespace: string, options: StatusConfigOptions = {}): string {
  const domain = options.clusterDomain === undefined ? "" : `.${options.clusterDomain}`;
  return `nats://${service}.${namespace}.svc${domain}:${DEFAULT_PORTS.client}`;
}

/**
 * `status.config` of a valid bus in `namespace`, as Argo Events writes it:
 * - managed JetStream: `jetstream: {url, accessSecret: {name: eventbus-<n>-js-client-auth, key: client-auth}, streamConfig}`
 *   (no accessSecret with `auth: none`), `streamConfig` the merged YAML text;
 * - managed STAN: `nats: {url, clusterID: eventbus-<n>, auth, accessSecret: {name: eventbus-<n>-client, key: client-auth}}`
 *   (Argo's STAN URL is `nats://<svc>:4222`, relative to the namespace; the namespaced form names
 *   the same Service for the pods of the bus's namespace, and works from others too);
 * - external buses: their spec as written (Argo copies it), external JetStream with the merged `streamConfig`.
 */
export function statusConfig(bus: ResolvedEventBus, namespace: string, options: StatusConfigOptions = {}): StatusConfig {
  const spec = bus.spec;
  switch (spec.mode) {
    case "jetstream": {
      const names = jetStreamObjectNames(bus.name);
      return {
        jetstream: {
          url: serviceUrl(names.service, namespace, options),
          ...(spec.auth !== "none" && { accessSecret: { name: names.clientAuthSecret, key: CLIENT_AUTH_SECRET_KEY } }),
          streamConfig: formatStreamConfig(spec.streamConfig),
        },
      };
    }
    case "nats.native": {
      const names = stanObjectNames(bus.name);
      return {
        nats: {
          url: serviceUrl(names.service, namespace, options),
          clusterID: names.clusterID,
          auth: spec.auth,
          ...(spec.auth === "token" && { accessSecret: { name: names.clientSecret, key: CLIENT_AUTH_SECRET_KEY } }),
        },
      };
    }
    case "jetstreamExotic": {
      const written = bus.manifest.spec.jetstreamExotic ?? {};
      return { jetstream: { ...written, url: written.url ?? "", streamConfig: formatStreamConfig(spec.streamConfig) } };
    }
    case "nats.exotic": {
      const written = bus.manifest.spec.nats?.exotic ?? {};
      return { nats: { ...written, url: written.url ?? "", auth: spec.auth } };
    }
  }
}

/** How many servers of a bus of `replicas` must be ready for it to work: a majority (the Raft quorum of JetStream and NATS Streaming). */
export function quorumOf(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}

/** The `Ready` condition of a managed bus, and why it is degraded when it works without every server. */
export interface Readiness {
  readonly condition: DesiredCondition;
  /** Set when a quorum is ready, not all. */
  readonly degraded?: string;
}

/**
 * `Ready` from the ready servers (the StatefulSet's `readyReplicas`): True from a quorum on, since
 * the bus then stores and delivers events (reason `AllServersReady`, or `QuorumReady` with the
 * missing servers in `degraded`); False (`ServersNotReady`) below a quorum, when it cannot.
 */
export function readiness(ready: number, replicas: number): Readiness {
  const counted = `${ready}/${replicas} servers ready`;
  if (ready >= replicas) return { condition: { type: ConditionType.ready, status: "True", reason: ConditionReason.allServersReady, message: counted } };
  const quorum = quorumOf(replicas);
  if (ready >= quorum) {
    const missing = replicas - ready;
    return {
      condition: { type: ConditionType.ready, status: "True", reason: ConditionReason.quorumReady, message: `${counted} (a quorum is ${quorum})` },
      degraded: `${missing} of ${replicas} servers not ready; the bus works while ${quorum} are`,
    };
  }
  return { condition: { type: ConditionType.ready, status: "False", reason: ConditionReason.serversNotReady, message: `${counted} (a quorum is ${quorum})` } };
}

/** Whether two statuses are the same (the order of keys does not matter; of conditions it does). */
export function sameStatus(a: BusStatus | undefined, b: BusStatus | undefined): boolean {
  return stableJson(a ?? {}) === stableJson(b ?? {});
}

/** JSON with object keys sorted, undefined dropped: equal values give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}
