/**
 * plan — pure: a validated EventBus and a placement → the platform-neutral plan that both
 * platforms run (servers, names, ports, routes, auth, TLS names, storage, stream, object names),
 * for a managed JetStream bus and for a managed NATS Streaming bus. No I/O.
 * @module
 */
export { planJetStream, CLUSTER_DOMAIN, LAME_DUCK, LOCAL_TLS_NAMES } from "./jetstream.js";
export { planStan } from "./stan.js";
export { hostPort, LOCAL_HOST, POD_LISTEN_HOST, ROUTE_CONNECT_RETRIES } from "./placement.js";
export { InvalidPlacementError, isPlanError, PlanErrorCode, WrongModeError, type PlanError } from "./errors.js";
export { DEFAULT_PORTS } from "./types.js";
export { credentialMaterial, stanCredentialMaterial } from "./material.js";
export type { JetStreamPlan, Placement, SecretValue, ServerMaterial, ServerPlan, ServerPorts, StanPlan, StanServerMaterial } from "./types.js";
