/**
 * natsconf — pure: renders nats-server config text from a plan. Every value is typed and quoted
 * through one function; no user string reaches the file unescaped, and no secret value reaches the
 * config text (secrets go to a separate, included file).
 * @module
 */
export {
  renderJetStreamConfig,
  CONFIG_FILE_NAME,
  MIN_LAME_DUCK_DURATION,
  SECRETS_FILE_NAME,
  SECRET_VARIABLES,
  TLS_HANDSHAKE_TIMEOUT,
  type RenderedConfig,
  type RenderOptions,
} from "./jetstream.js";
export { quoteString } from "./values.js";
export {
  InvalidValueError,
  isNatsConfError,
  MaterialMismatchError,
  NatsConfErrorCode,
  UnknownServerError,
  UnsafeValueError,
  type NatsConfError,
} from "./errors.js";
