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
export { durableName, fnv32a, type DurableNameParts } from "./consumer-names.js";
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
export {
  ClientErrorCode,
  InvalidAuthFileError,
  InvalidConfigError,
  InvalidEventError,
  InvalidSubjectTokenError,
  isClientError,
  type ClientError,
  type ConfigIssue,
} from "./errors.js";
