/**
 * The Kubernetes platform: the objects of a bus (Secrets, ConfigMap, headless Service,
 * StatefulSet, PodDisruptionBudget) from the same plan and configs the local platform runs, the
 * container images per server version, and deterministic YAML/JSON text of the objects.
 * @module
 */
export { renderBusObjects, hasObjects, type RenderObjectsOptions } from "./render.js";
export {
  BUILT_IN_SOURCE,
  CONTROLLER_CONFIG_KEY,
  DEFAULT_CONFIG_RELOADER_IMAGE,
  DEFAULT_METRICS_EXPORTER_IMAGE,
  DEFAULT_NATS_START_COMMAND,
  DEFAULT_STAN_START_COMMAND,
  defaultImages,
  jetStreamImages,
  parseImagesFile,
  stanImages,
  type ImagesTable,
  type JetStreamImages,
  type StanImages,
} from "./images.js";
export {
  ENCRYPTION_KEY_ENV,
  JETSTREAM_CONFIG_DIR,
  JETSTREAM_STORE_DIR,
  PID_FILE,
  podConfigKey,
  podSecretsKey,
  ServerSecretKey,
} from "./jetstream-objects.js";
export { STAN_CONFIG_DIR, STAN_DATA_DIR, STAN_LOG_DIR, STAN_SECRETS_KEY, STAN_STORE_DIR, stanPodConfig } from "./stan-objects.js";
export { renderStanConfig, renderStanSecrets, STAN_TOKEN_VARIABLE, type StanServerConfig } from "./stan-config.js";
export {
  busLabels,
  CONTROLLER_LABEL_VALUE,
  LabelKey,
  METRICS_PORT,
  PDB_MIN_REPLICAS,
  TERMINATION_GRACE_PERIOD_SECONDS,
  type KubeObject,
  type ObjectMeta,
  type OwnerRef,
} from "./objects.js";
export { canonical, toJsonList, toYamlDocuments } from "./yaml-output.js";
export { busMaterial, generateBusMaterial, materialDir, MaterialOrigin, type BusMaterial } from "./material.js";
export {
  InvalidImagesFileError,
  isKubeError,
  KubeErrorCode,
  MaterialMismatchError,
  UnknownImageVersionError,
  type ImagesFileIssue,
  type KubeError,
} from "./errors.js";
