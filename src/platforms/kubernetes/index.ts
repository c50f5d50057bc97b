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
  ARGO_STORE_DIR,
  argoServerAuth,
  JETSTREAM_CONFIG_DIR,
  JETSTREAM_DATA_DIR,
  JETSTREAM_STORE_DIR,
  TLS_FILES,
  PID_FILE,
  podConfigKey,
  podSecretsKey,
  ServerSecretKey,
} from "./jetstream-objects.js";
export { STAN_CONFIG_DIR, STAN_DATA_DIR, STAN_LOG_DIR, STAN_SECRETS_KEY, STAN_STORE_DIR, stanPodMaterial } from "./stan-objects.js";
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
export {
  busMaterial,
  generateBusMaterial,
  materialDir,
  MaterialOrigin,
  type ArgoMaterial,
  type BusMaterial,
  type KubeMaterial,
  type MaterialOptions,
} from "./material.js";
export {
  ARGO_CONFIG_KEY,
  ARGO_DEPLOYED_REASON,
  ARGO_SERVER_SECRET_KEYS,
  ARGO_SPEC_HASH_ANNOTATION,
  foreignStatefulSet,
  immutableDifferences,
  isOurs,
  isOwnedBus,
  LITERAL_JS_KEY,
  OWNERSHIP_ANNOTATION,
  OWNERSHIP_VALUE,
  parseArgoAuth,
  takeover,
  TakeoverRefusedError,
  type TakeoverOptions,
  type TakeoverProblem,
  type TakeoverResult,
} from "./takeover.js";
export {
  InvalidImagesFileError,
  isKubeError,
  KubeErrorCode,
  SecretMaterialMismatchError,
  UnknownImageVersionError,
  type ImagesFileIssue,
  type KubeError,
  type KubeRenderErrorCode,
} from "./errors.js";
// The controller: a small REST client, the watch loop, the work queue, leader election, the reconcile, status and install bundle.
export { loadKubeConnection, fromKubeconfig, inCluster, IN_CLUSTER_DIR, type KubeConnection, type LoadKubeConnectionOptions } from "./kube-config.js";
export {
  DEFAULT_REQUEST_TIMEOUT_MS,
  FIELD_MANAGER,
  KubeClient,
  WatchEventType,
  type KubeClientOptions,
  type KubeList,
  type KubeMetadata,
  type KubeResource,
  type OwnerReference,
  type RequestRecord,
  type Selection,
  type WatchEvent,
} from "./kube-client.js";
export { podServers, POD_MONITOR_PORT } from "./pod-monitoring.js";
export {
  isConflict,
  isGone,
  isNotFound,
  KubeApiError,
  KubeApiErrorCode,
  KubeConfigError,
  KubeExecPluginError,
  KubeTransportError,
  StatusReason,
} from "./kube-errors.js";
export {
  DEFAULT_EXEC_TIMEOUT_MS,
  DEFAULT_INTERACTIVE_EXEC_TIMEOUT_MS,
  EXEC_CLUSTER_EXTENSION,
  EXEC_INFO_ENV,
  ExecApiVersion,
  ExecCredentials,
  ExecCredentialSource,
  execCredentialSource,
  ExecInteractiveMode,
  type ExecCluster,
  type ExecRuntime,
  type KubeExecConfig,
} from "./kube-exec.js";
export { apiVersionOf, resourceOf, resourcePath, Resources, type ResourceType } from "./resources.js";
export {
  DEFAULT_WATCH_BACKOFF,
  Informer,
  objectKey,
  realDelay,
  type Delay,
  type InformerHandlers,
  type InformerLogEntry,
  type InformerOptions,
} from "./watch.js";
export { systemClock, WorkQueue, type Clock, type WorkQueueOptions } from "./work-queue.js";
export { DEFAULT_LEADER_ELECTION, defaultIdentity, LEASE_NAME, LeaderElector, microTime, type LeaderElectionOptions } from "./leader-election.js";
export {
  quorumOf,
  readiness,
  sameStatus,
  serviceUrl,
  statusConfig,
  type Readiness,
  type StatusConfigOptions,
} from "./status.js";
export {
  ARGO_CLIENT_AUTH_KEY,
  ARGO_ORIGIN,
  MATERIAL_KEY,
  MATERIAL_ORIGIN_FIELD,
  materialSecretName,
  readStoredMaterial,
  StoredMaterialError,
  withStoredMaterial,
} from "./stored-material.js";
export { EventReason, EventRecorder, EventType } from "./events.js";
export { checkMetaGroup, type MetaGroupCheck, type OutsidePod, type ScaledBus } from "./meta-group.js";
export { Counter, Gauge, Histogram, MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "./metrics.js";
export {
  Annotation,
  BusReconciler,
  controlledBy,
  FINALIZER,
  isKafkaBus,
  isSubset,
  manifestOf,
  OWNED_TYPES,
  ownerKey,
  type EventBusObject,
  type ReconcileResult,
} from "./reconcile.js";
export { Controller, WRITE_VERBS, type ControllerLogEntry, type ControllerMetrics, type ControllerOptions } from "./controller.js";
export { startHealthServer, type HealthServer, type HealthSource } from "./health-server.js";
export {
  applyObjects,
  CONTROLLER_HEALTH_PORT,
  CONTROLLER_NAME,
  controllerRules,
  DEFAULT_CONTROLLER_IMAGE,
  DEFAULT_INSTALL_NAMESPACE,
  installBundle,
  leaseRules,
  type InstallOptions,
} from "./install.js";
