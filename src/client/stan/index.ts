// The NATS Streaming (STAN) client: connect, publish and subscribe over a nats.js connection, as
// nats-io/stan.go does, and Argo Events' use of it (the namespace channel, a sensor's subscription).
export {
  connectStan,
  DEFAULT_ACK_PREFIX,
  DEFAULT_DISCOVER_PREFIX,
  DEFAULT_MAX_PUB_ACKS_IN_FLIGHT,
  DEFAULT_PING_INTERVAL_SECONDS,
  DEFAULT_PING_MAX_OUT,
  DEFAULT_PUB_ACK_TIMEOUT_MILLIS,
  DEFAULT_STAN_CONNECT_TIMEOUT_MILLIS,
  isValidChannel,
  StanConnection,
  type StanConnectOptions,
  type StanPubAck,
} from "./connection.js";
export {
  DEFAULT_ACK_WAIT_SECONDS,
  DEFAULT_MAX_IN_FLIGHT,
  StanSubscription,
  type StanMessage,
  type StanStartAt,
  type StanSubscribeOptions,
} from "./subscription.js";
export { isStanError, StanError, StanFailureReason } from "./errors.js";
export { ARGO_STAN_PINGS, argoSensorSubscribeOptions, argoStanChannel, argoStanSensorGroup, type ArgoStanTrigger } from "./argo.js";
export { PROTOCOL_ONE, StartPosition } from "./protocol.js";
