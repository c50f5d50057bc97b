/**
 * plan — pure: a validated EventBus and a placement → the platform-neutral plan that both
 * platforms run (servers, names, ports, routes, auth, TLS names, storage, stream, object names).
 * No I/O.
 * @module
 */
export { planJetStream, hostPort, CLUSTER_DOMAIN, LAME_DUCK, LOCAL_HOST, LOCAL_TLS_NAMES, POD_LISTEN_HOST, ROUTE_CONNECT_RETRIES } from "./jetstream.js";
export { InvalidPlacementError, isPlanError, PlanErrorCode, WrongModeError, type PlanError } from "./errors.js";
export { DEFAULT_PORTS } from "./types.js";
export { credentialMaterial } from "./material.js";
export type { JetStreamPlan, Placement, SecretValue, ServerMaterial, ServerPlan, ServerPorts } from "./types.js";
