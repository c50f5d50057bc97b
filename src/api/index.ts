// The EventBus resource: schema, validation, defaults, lint, update rules and the CRD.
export { EVENTBUS_API_VERSION, EVENTBUS_KIND, EventBusSchema, JetStreamAuth, StanAuth } from "./schema.js";
export type { EventBus, EventBusSpec, JetStreamBus, NativeStrategy, NatsExotic, JetStreamExotic, SecretKeySelector } from "./schema.js";
export { BusMode } from "./model.js";
export { CronSchedule } from "./cron.js";
export type {
  PodTemplate,
  ResolvedEventBus,
  ResolvedJetStream,
  ResolvedJetStreamExotic,
  ResolvedBackup,
  ResolvedPersistence,
  ResolvedSpec,
  ResolvedStan,
  ResolvedStanExotic,
} from "./model.js";
export { validate, type ValidateOptions, type ValidationResult } from "./validate.js";
export { validateUpdate } from "./update.js";
export { withDefaults } from "./with-defaults.js";
export { argoCompatibility, lint, LINT_RULES, LintProfile, Severity, type Finding } from "./lint.js";
export { eventBusCrd, toStructuralSchema, EVENTBUS_GROUP, EVENTBUS_VERSION, EVENTBUS_PLURAL, EVENTBUS_SHORT_NAMES } from "./crd.js";
export { MAX_MANIFEST_BYTES, readManifests, validateManifests, type ManifestDocument, type DocumentResult } from "./manifest.js";
export { IssueCode, Issues, formatIssue, formatPath, type Issue } from "./issues.js";
export { EventBusError, EventBusValidationError, isEventBusError, ManifestReadError, ApiErrorCode } from "./errors.js";
export { Duration } from "./duration.js";
export { Size, formatBytes } from "./size.js";
export { Quantity } from "./quantity.js";
export { ValueParseError } from "./value-error.js";
export { parseNatsUrls, DEFAULT_NATS_CLIENT_PORT, type NatsServerUrl } from "./nats-url.js";
export {
  RetentionPolicy,
  DiscardPolicy,
  STREAM_CONFIG_KEYS,
  formatStreamConfig,
  formatStreamConfigForManifest,
  parseStreamConfig,
  type StreamConfig,
} from "./stream-config.js";
export { PASSED_SETTINGS, type ServerSetting, type ServerSettings } from "./settings.js";
export { ALLOWED_START_FLAGS } from "./start-args.js";
export { busNameProblem, jetStreamObjectNames, stanObjectNames, maxBusNameLength, MAX_OBJECT_NAME_LENGTH } from "./names.js";
export * as defaults from "./defaults.js";
export {
  argoIsReady,
  ConditionReason,
  ConditionType,
  kubeTime,
  mergeConditions,
  Phase,
  phaseOf,
  type BusAccess,
  type BusStatus,
  type Condition,
  type DesiredCondition,
  type JetStreamStatusConfig,
  type NatsStatusConfig,
  type SecretKeyRef,
  type StatusConfig,
} from "./status.js";
