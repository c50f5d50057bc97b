// The eventbus client: Argo Events' wire format, consumer names, connection config and auth file.
export {
  ARGO_STREAM_NAME,
  CLOUDEVENTS_SPEC_VERSION,
  DataField,
  DEFAULT_DATA_CONTENT_TYPE,
  decodeEvent,
  encodeEvent,
  eventJson,
  eventSubject,
  formatEventTime,
  isJsonContentType,
  MSG_ID_HEADER,
  newEventId,
  type ArgoEvent,
  type EncodedEvent,
  type EncodeOptions,
  type EventInput,
  type MessageHeaders,
} from "./wire.js";
export { checkSubjectToken } from "./subject-token.js";
export { durableName, fnv32a, isArgoDurableName, type DurableNameParts } from "./consumer-names.js";
export {
  BusKind,
  busConfigFromObject,
  EVENTBUS_CONFIG_ENV,
  parseEventBusConfig,
  StanAuthStrategy,
  type BusConfig,
  type JetStreamBusConfig,
  type SecretRef,
  type StanBusConfig,
} from "./config.js";
export { parseAuthFile, type AuthCredentials } from "./auth-file.js";
export { connect, EventBusClient, ConnectionState, DEFAULT_CONNECT_TIMEOUT_MILLIS, type ConnectOptions, type ConnectProgress } from "./connection.js";
export {
  ARGO_AUTH_FILE,
  resolveTarget,
  type ArgoConfigTarget,
  type BusTarget,
  type ClientTlsOptions,
  type StatusTarget,
  type ResolvedTarget,
  type ServersTarget,
} from "./connect-options.js";
export { backoffDelay, DEFAULT_BACKOFF, ReconnectDelay, sleep, systemClock, type BackoffPolicy, type Clock, type Delay } from "./backoff.js";
export {
  DEFAULT_ACK_TIMEOUT_MILLIS,
  DEFAULT_IN_PROCESS_SETTLE_MILLIS,
  DEFAULT_PUBLISH_WINDOW,
  EventPublisher,
  publishEvent,
  type PublishAck,
  type PublisherOptions,
  type PublishOptions,
  type PublishResult,
  type PublishWait,
} from "./publisher.js";
export { isPublishFailed, JetStreamErrorCode, PublishFailedError, PublishFailureReason } from "./publish-errors.js";
export {
  DEFAULT_ACK_WAIT_MILLIS,
  DEFAULT_BATCH,
  EventSubscription,
  subscribe,
  type ReceivedEvent,
  type StartPosition,
  type SubscribeOptions,
} from "./subscription.js";
export {
  ackedByAll,
  ARGO_STREAM_SUBJECTS,
  applyStreamConfig,
  ensureStream,
  IMMUTABLE_STREAM_FIELDS,
  streamInfo,
  type RecreateChoice,
  type RecreateOutcome,
  type StreamOutcome,
  type StreamSummary,
  type StreamTarget,
} from "./stream-admin.js";
export {
  BusError,
  PayloadTooLargeError,
  ClientErrorCode,
  InvalidAuthFileError,
  InvalidConfigError,
  InvalidEventError,
  InvalidSubjectTokenError,
  isClientError,
  type ClientError,
  type ConfigIssue,
} from "./errors.js";
