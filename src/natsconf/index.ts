/**
 * natsconf — pure: renders nats-server (JetStream) and nats-streaming-server (STAN) config text
 * from a plan. Every value is typed and quoted through one function; no user string reaches the
 * file unescaped, and no secret value reaches the config text (secrets go to a separate, included
 * file).
 * @module
 */
export { renderJetStreamConfig, CONFIG_FILE_NAME, MIN_LAME_DUCK_DURATION, TLS_HANDSHAKE_TIMEOUT, type RenderedConfig } from "./jetstream.js";
export { renderStanConfig, type RenderedStanConfig } from "./stan.js";
export { SECRETS_FILE_NAME, SECRET_VARIABLES, type RenderOptions } from "./secrets-file.js";
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
