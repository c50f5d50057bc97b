import {
  DEFAULT_ACCESS_MODE,
  DEFAULT_BACKUP_KEEP,
  DEFAULT_JETSTREAM_AUTH,
  DEFAULT_JETSTREAM_VOLUME_SIZE,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_REPLICAS,
  DEFAULT_STAN,
  DEFAULT_STAN_VOLUME_SIZE,
  DEFAULT_TLS_ENABLED,
  MAX_PAYLOAD_LIMIT_BYTES,
} from "./defaults.js";
import { Duration } from "./duration.js";
import { IssueCode, Issues, type Issue, type Path } from "./issues.js";
import { CronSchedule } from "./cron.js";
import { BusMode, type PodTemplate, type ResolvedBackup, type ResolvedEventBus, type ResolvedPersistence, type ResolvedSpec } from "./model.js";
import { longestObjectName, maxBusNameLength, MAX_OBJECT_NAME_LENGTH } from "./names.js";
import { parseNatsUrls, type NatsServerUrl } from "./nats-url.js";
import { Quantity } from "./quantity.js";
import { EVENTBUS_API_VERSION, EVENTBUS_KIND, EventBusSchema, type EventBus } from "./schema.js";
import { parseSettings } from "./settings.js";
import { Size } from "./size.js";
import { parseStreamConfig } from "./stream-config.js";
import { checkStructure, describe } from "./structural.js";
import { ValueParseError, quote } from "./value-error.js";
import { checkStartArgs } from "./start-args.js";
import { checkResources } from "./resources.js";

/** Options of {@link validate}. */
export interface ValidateOptions {
  /**
   * The names `spec.jetstream.version` may take (the versions table). When omitted, any non-empty
   * version is accepted and the platform checks it.
   */
  jetstreamVersions?: readonly string[];
}

/** The outcome of {@link validate}: a resolved bus, or every issue found. */
export type ValidationResult =
  | { readonly ok: true; readonly bus: ResolvedEventBus; readonly issues: readonly []; readonly warnings: readonly Issue[] }
  | { readonly ok: false; readonly issues: readonly Issue[]; readonly warnings: readonly Issue[] };

type Obj = Record<string, unknown>;

/**
 * Validates an EventBus document (as parsed from YAML or JSON) and applies the defaults. Collects
 * every issue, each with its field path; never throws on any input.
 */
export function validate(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const issues = new Issues();
  if (!isObj(input)) {
    issues.add([], `an EventBus must be a mapping, got ${describe(input)}`, IssueCode.invalidType);
    return { ok: false, issues: issues.list, warnings: issues.warnings };
  }
  // Another kind of object is named in one line, not reported field by field.
  if (typeof input.kind === "string" && input.kind !== EVENTBUS_KIND) {
    issues.add(["kind"], `must be ${EVENTBUS_KIND}, got ${quote(input.kind)}`);
    return { ok: false, issues: issues.list, warnings: issues.warnings };
  }
  const fullSpec = isObj(input.spec) ? input.spec : undefined;
  // Of several modes, Argo Events runs one and ignores the others: so does eventbus, and says so.
  const spec = fullSpec && argoModeOnly(fullSpec, issues);
  // Argo Events' Kafka mode is named rather than reported as an unknown field.
  const { kafka, ...specWithoutKafka } = spec ?? {};
  checkStructure(EventBusSchema, spec ? { ...input, spec: specWithoutKafka } : input, [], issues);
  if (kafka !== undefined && kafka !== null) {
    issues.add(
      ["spec", "kafka"],
      "Kafka event buses are not supported by eventbus (Argo Events runs them; eventbus leaves them to it); use jetstream",
      IssueCode.unsupported,
    );
  }
  checkTypeMeta(input, issues);
  const metadata = isObj(input.metadata) ? input.metadata : {};
  const name = typeof metadata.name === "string" ? metadata.name : undefined;
  if (isObj(input.metadata) && name === undefined && metadata.name == null) issues.add(["metadata", "name"], "is required", IssueCode.required);

  // Every mode that is set is checked, so that one run reports all issues even when several are set.
  const modes = spec ? detectModes(spec, issues) : [];
  const resolvedModes = modes.map((mode) => {
    if (name !== undefined) checkNameLength(name, mode, issues);
    return resolveMode(spec!, mode, issues, options);
  });
  const resolved = modes.length === 1 ? resolvedModes[0] : undefined;

  if (!issues.empty || resolved === undefined || name === undefined) return { ok: false, issues: issues.list, warnings: issues.warnings };
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : undefined;
  return {
    ok: true,
    issues: [],
    warnings: issues.warnings,
    bus: { name, ...(namespace !== undefined && { namespace }), manifest: input as unknown as EventBus, spec: resolved },
  };
}

function resolveMode(spec: Obj, mode: BusMode, issues: Issues, options: ValidateOptions): ResolvedSpec | undefined {
  const nats = isObj(spec.nats) ? spec.nats : {};
  switch (mode) {
    case BusMode.jetstream:
      return isObj(spec.jetstream) ? resolveJetStream(spec.jetstream, ["spec", "jetstream"], issues, options) : undefined;
    case BusMode.natsNative:
      return isObj(nats.native) ? resolveStan(nats.native, ["spec", "nats", "native"], issues) : undefined;
    case BusMode.natsExotic:
      return isObj(nats.exotic) ? resolveStanExotic(nats.exotic, ["spec", "nats", "exotic"], issues) : undefined;
    case BusMode.jetstreamExotic:
      return isObj(spec.jetstreamExotic) ? resolveJetStreamExotic(spec.jetstreamExotic, ["spec", "jetstreamExotic"], issues) : undefined;
  }
}

function checkTypeMeta(input: Obj, issues: Issues): void {
  if (typeof input.apiVersion === "string" && input.apiVersion !== EVENTBUS_API_VERSION) {
    issues.add(["apiVersion"], `must be ${EVENTBUS_API_VERSION}, got ${quote(input.apiVersion)}`);
  }
}

const MODE_LIST = "jetstream, nats.native, nats.exotic or jetstreamExotic";

/**
 * The modes in the order Argo Events' controller picks one (argoproj/argo-events
 * pkg/reconciler/eventbus/installer/installer.go, getInstaller): `nats`, then `jetstream`, then
 * `kafka`, then `jetstreamExotic`.
 */
const ARGO_MODE_ORDER = ["nats", "jetstream", "kafka", "jetstreamExotic"] as const;

/**
 * The spec with only the mode Argo Events would run when several are set (Argo's validation accepts
 * that), and a warning naming what is ignored. `nats` with both `native` and `exotic` stays as it is:
 * Argo refuses that, and so does the mode check.
 */
function argoModeOnly(spec: Obj, issues: Issues): Obj {
  const present = ARGO_MODE_ORDER.filter((key) => isSet(spec[key]));
  if (present.length < 2) return spec;
  const [chosen, ...ignored] = present;
  issues.warn(
    ["spec"],
    `${present.join(" and ")} are all set; Argo Events runs ${chosen} (it looks for ${ARGO_MODE_ORDER.join(", then ")}) and ignores ${ignored.join(" and ")}, and so does eventbus: remove ${ignored.length === 1 ? "it" : "them"}`,
    IssueCode.conflict,
  );
  const kept: Obj = { ...spec };
  for (const key of ignored) delete kept[key];
  return kept;
}

/** Exactly one mode must be set; Argo Events silently picks one when several are. Returns those set. */
function detectModes(spec: Obj, issues: Issues): BusMode[] {
  const nats = isObj(spec.nats) ? spec.nats : {};
  const present = [
    isSet(spec.jetstream) && BusMode.jetstream,
    isSet(nats.native) && BusMode.natsNative,
    isSet(nats.exotic) && BusMode.natsExotic,
    isSet(spec.jetstreamExotic) && BusMode.jetstreamExotic,
  ].filter((m): m is BusMode => m !== false);
  if (isSet(nats.native) && isSet(nats.exotic)) {
    issues.add(["spec", "nats"], "native and exotic are exclusive; set one of them", IssueCode.conflict);
  } else if (isObj(spec.nats) && !isSet(nats.native) && !isSet(nats.exotic)) {
    issues.add(["spec", "nats"], "must set native or exotic", IssueCode.required);
  }
  const groups = [isSet(spec.jetstream), isObj(spec.nats), isSet(spec.jetstreamExotic)].filter(Boolean).length;
  if (groups === 0 && !isSet(spec.kafka)) issues.add(["spec"], `must set exactly one of ${MODE_LIST}`, IssueCode.required);
  if (groups > 1) issues.add(["spec"], `must set exactly one of ${MODE_LIST}, got ${present.join(" and ")}`, IssueCode.conflict);
  return present;
}

function checkNameLength(name: string, mode: BusMode, issues: Issues): void {
  const managed = mode === BusMode.jetstream ? "jetstream" : mode === BusMode.natsNative ? "stan" : undefined;
  if (managed === undefined) return; // the 63-character label check of the schema covers external buses
  const limit = maxBusNameLength(managed);
  if (name.length > limit) {
    issues.add(
      ["metadata", "name"],
      `must be at most ${limit} characters so that the object name ${quote(longestObjectName("<name>", managed))} stays within ${MAX_OBJECT_NAME_LENGTH}, got ${name.length}`,
    );
  }
}

function resolveJetStream(js: Obj, path: Path, issues: Issues, options: ValidateOptions): ResolvedSpec | undefined {
  const version = str(js.version);
  if (version === undefined && js.version == null) {
    const known = options.jetstreamVersions ? `; known versions: ${options.jetstreamVersions.join(", ")}` : "";
    issues.add([...path, "version"], `is required${known}`, IssueCode.required);
  } else if (version !== undefined) {
    if (version.trim() === "") issues.add([...path, "version"], "must not be empty");
    else if (options.jetstreamVersions && !options.jetstreamVersions.includes(version)) {
      issues.add([...path, "version"], `must be one of the known versions ${options.jetstreamVersions.join(", ")}, got ${quote(version)}`);
    }
  }
  const replicas = int(js.replicas) ?? DEFAULT_REPLICAS;
  if (replicas !== 1 && replicas < 3) issues.add([...path, "replicas"], `must be 1 or >= 3, got ${replicas}`);
  const persistence = resolvePersistence(js.persistence, [...path, "persistence"], issues, DEFAULT_JETSTREAM_VOLUME_SIZE);
  const settings = parseSettings(str(js.settings), [...path, "settings"], issues, persistence?.volumeSize);
  const maxPayload = parsePayload(js.maxPayload, [...path, "maxPayload"], issues);
  const validReplicas = replicas === 1 || replicas >= 3 ? replicas : undefined;
  const streamConfig = parseStreamConfig(
    str(js.streamConfig),
    [...path, "streamConfig"],
    issues,
    validReplicas === undefined ? {} : { serverReplicas: validReplicas },
  );
  const startArgs = Array.isArray(js.startArgs) ? js.startArgs.filter((a): a is string => typeof a === "string") : [];
  checkStartArgs(startArgs, [...path, "startArgs"], issues);
  const pod = podTemplate(js, path, issues);
  const auth = (str(js.auth) ?? DEFAULT_JETSTREAM_AUTH) as "basic" | "token" | "none";
  const tls = isObj(js.tls) && typeof js.tls.enabled === "boolean" ? js.tls.enabled : DEFAULT_TLS_ENABLED;
  const backup = isObj(js.backup) ? resolveBackup(js.backup, [...path, "backup"], issues) : undefined;
  if (!settings || !maxPayload || !streamConfig || version === undefined) return undefined;
  return {
    mode: BusMode.jetstream,
    version,
    replicas,
    auth,
    tls,
    ...(persistence && { persistence }),
    settings,
    maxPayload,
    streamConfig,
    startArgs,
    pod: { ...pod, ...(isObj(js.reloaderContainerTemplate) && { reloaderContainerTemplate: js.reloaderContainerTemplate }) },
    ...(backup && { backup }),
  };
}

/** `backup`: a schedule that parses, a positive number kept, a volume size that parses. */
function resolveBackup(backup: Obj, path: Path, issues: Issues): ResolvedBackup | undefined {
  const text = str(backup.schedule);
  let schedule: CronSchedule | undefined;
  if (backup.schedule == null) issues.add([...path, "schedule"], 'is required (a cron schedule such as "0 * * * *", or @hourly)', IssueCode.required);
  else if (text !== undefined) {
    try {
      schedule = CronSchedule.parse(text);
      schedule.next(new Date());
    } catch (error) {
      if (!(error instanceof ValueParseError)) throw error;
      issues.add([...path, "schedule"], error.message);
    }
  }
  const keep = int(backup.keep) ?? DEFAULT_BACKUP_KEEP;
  if (keep < 1) issues.add([...path, "keep"], `must be 1 or more, got ${keep}`);
  const volumeSize = backup.volumeSize == null ? undefined : parseValue(backup.volumeSize, "", [...path, "volumeSize"], issues, Quantity.parse);
  if (!schedule || keep < 1 || (backup.volumeSize != null && !volumeSize)) return undefined;
  const storageClassName = str(backup.storageClassName);
  return { schedule, keep, ...(volumeSize && { volumeSize }), ...(storageClassName !== undefined && { storageClassName }) };
}

function resolveStan(stan: Obj, path: Path, issues: Issues): ResolvedSpec | undefined {
  let replicas = int(stan.replicas) ?? DEFAULT_REPLICAS;
  if (replicas < 3) {
    // argoproj/argo-events pkg/reconciler/eventbus/installer/nats.go raises it to 3.
    issues.warn([...path, "replicas"], `${replicas} is raised to 3, as Argo Events does: a NATS Streaming cluster needs 3 servers for a quorum; write 3`);
    replicas = 3;
  }
  const auth = checkStanAuth(stan, path, issues);
  const persistence = resolvePersistence(stan.persistence, [...path, "persistence"], issues, DEFAULT_STAN_VOLUME_SIZE);
  const maxAge = parseValue(stan.maxAge, DEFAULT_STAN.maxAge, [...path, "maxAge"], issues, Duration.parse);
  const maxBytes = parseValue(stan.maxBytes, DEFAULT_STAN.maxBytes, [...path, "maxBytes"], issues, (t) => Size.parse(t));
  const maxPayload = parsePayload(stan.maxPayload, [...path, "maxPayload"], issues);
  const raft = {
    heartbeatTimeout: parseValue(stan.raftHeartbeatTimeout, DEFAULT_STAN.raftHeartbeatTimeout, [...path, "raftHeartbeatTimeout"], issues, Duration.parse),
    electionTimeout: parseValue(stan.raftElectionTimeout, DEFAULT_STAN.raftElectionTimeout, [...path, "raftElectionTimeout"], issues, Duration.parse),
    leaseTimeout: parseValue(stan.raftLeaseTimeout, DEFAULT_STAN.raftLeaseTimeout, [...path, "raftLeaseTimeout"], issues, Duration.parse),
    commitTimeout: parseValue(stan.raftCommitTimeout, DEFAULT_STAN.raftCommitTimeout, [...path, "raftCommitTimeout"], issues, Duration.parse),
  };
  checkRaftTimeouts(raft, path, issues);
  const pod = podTemplate(stan, path, issues);
  if (!maxAge || !maxBytes || !maxPayload || !raft.heartbeatTimeout || !raft.electionTimeout || !raft.leaseTimeout || !raft.commitTimeout || !auth) {
    return undefined;
  }
  return {
    mode: BusMode.natsNative,
    replicas,
    auth,
    ...(persistence && { persistence }),
    maxAge,
    maxMsgs: int(stan.maxMsgs) ?? DEFAULT_STAN.maxMsgs,
    maxBytes,
    maxSubs: int(stan.maxSubs) ?? DEFAULT_STAN.maxSubs,
    maxPayload,
    raft: raft as { heartbeatTimeout: Duration; electionTimeout: Duration; leaseTimeout: Duration; commitTimeout: Duration },
    pod,
  };
}

// The limits hashicorp/raft (under NATS Streaming) checks at start-up, reported here instead.
function checkRaftTimeouts(raft: Record<string, Duration | undefined>, path: Path, issues: Issues): void {
  const { heartbeatTimeout: hb, electionTimeout: election, leaseTimeout: lease, commitTimeout: commit } = raft;
  const minimum = (d: Duration | undefined, key: string, ms: number) => {
    if (d && d.millis < ms) issues.add([...path, key], `must be at least ${ms}ms, got ${d}`);
  };
  minimum(hb, "raftHeartbeatTimeout", 5);
  minimum(election, "raftElectionTimeout", 5);
  minimum(lease, "raftLeaseTimeout", 5);
  minimum(commit, "raftCommitTimeout", 1);
  if (hb && lease && lease.compare(hb) > 0) {
    issues.add([...path, "raftLeaseTimeout"], `must not be longer than raftHeartbeatTimeout (${hb}), got ${lease}`, IssueCode.conflict);
  }
  if (hb && election && election.compare(hb) < 0) {
    issues.add([...path, "raftElectionTimeout"], `must be at least raftHeartbeatTimeout (${hb}), got ${election}`, IssueCode.conflict);
  }
}

function checkStanAuth(obj: Obj, path: Path, issues: Issues): "none" | "token" | undefined {
  const auth = str(obj.auth) ?? "none";
  if (auth === "basic") {
    issues.add([...path, "auth"], "basic is not supported by NATS Streaming; use token or none", IssueCode.unsupported);
    return undefined;
  }
  return auth === "token" ? "token" : "none";
}

function resolveStanExotic(exotic: Obj, path: Path, issues: Issues): ResolvedSpec | undefined {
  const urls = requiredUrls(exotic, path, issues);
  const clusterID = str(exotic.clusterID);
  if (exotic.clusterID == null) issues.add([...path, "clusterID"], "is required", IssueCode.required);
  else if (clusterID !== undefined && !/^[A-Za-z0-9_-]+$/.test(clusterID)) {
    issues.add([...path, "clusterID"], `must be letters, digits, '-' and '_' only, got ${quote(clusterID)}`);
  }
  const auth = checkStanAuth(exotic, path, issues);
  if (auth === "token" && exotic.accessSecret == null) {
    issues.add([...path, "accessSecret"], "is required when auth is token", IssueCode.required);
  }
  if (!urls || clusterID === undefined || !auth) return undefined;
  return {
    mode: BusMode.natsExotic,
    urls,
    clusterID,
    auth,
    ...(isObj(exotic.accessSecret) && { accessSecret: exotic.accessSecret as never }),
  };
}

function resolveJetStreamExotic(exotic: Obj, path: Path, issues: Issues): ResolvedSpec | undefined {
  const urls = requiredUrls(exotic, path, issues);
  const streamConfig = parseStreamConfig(str(exotic.streamConfig), [...path, "streamConfig"], issues);
  let tls: Extract<ResolvedSpec, { mode: "jetstreamExotic" }>["tls"];
  if (isObj(exotic.tls)) {
    const t = exotic.tls;
    if (isSet(t.clientCertSecret) !== isSet(t.clientKeySecret)) {
      const missing = isSet(t.clientCertSecret) ? "clientKeySecret" : "clientCertSecret";
      issues.add([...path, "tls", missing], "is required when the other half of the client certificate is set", IssueCode.conflict);
    }
    tls = {
      ...(isObj(t.caCertSecret) && { caCertSecret: t.caCertSecret as never }),
      ...(isObj(t.clientCertSecret) && { clientCertSecret: t.clientCertSecret as never }),
      ...(isObj(t.clientKeySecret) && { clientKeySecret: t.clientKeySecret as never }),
      insecureSkipVerify: t.insecureSkipVerify === true,
    };
  }
  if (!urls || !streamConfig) return undefined;
  return {
    mode: BusMode.jetstreamExotic,
    urls,
    streamConfig,
    ...(isObj(exotic.accessSecret) && { accessSecret: exotic.accessSecret as never }),
    ...(tls && { tls }),
  };
}

function requiredUrls(obj: Obj, path: Path, issues: Issues): NatsServerUrl[] | undefined {
  if (obj.url == null) {
    issues.add([...path, "url"], "is required", IssueCode.required);
    return undefined;
  }
  const text = str(obj.url);
  return text === undefined ? undefined : parseValue(text, text, [...path, "url"], issues, parseNatsUrls);
}

function resolvePersistence(value: unknown, path: Path, issues: Issues, defaultSize: string): ResolvedPersistence | undefined {
  if (!isObj(value)) return undefined;
  const accessMode = str(value.accessMode) ?? DEFAULT_ACCESS_MODE;
  if (accessMode === "ReadOnlyMany") {
    issues.add([...path, "accessMode"], "ReadOnlyMany cannot hold a server's store; use ReadWriteOnce");
  }
  const volumeSize = parseValue(value.volumeSize, defaultSize, [...path, "volumeSize"], issues, Quantity.parse);
  if (volumeSize && volumeSize.bytes < 1024 * 1024) {
    issues.add([...path, "volumeSize"], `must be at least 1Mi, got ${volumeSize}`);
    return undefined;
  }
  if (!volumeSize || accessMode === "ReadOnlyMany") return undefined;
  const storageClassName = str(value.storageClassName);
  return {
    ...(storageClassName !== undefined && { storageClassName }),
    accessMode: accessMode as ResolvedPersistence["accessMode"],
    volumeSize,
  };
}

function parsePayload(value: unknown, path: Path, issues: Issues): Size | undefined {
  const size = parseValue(value, DEFAULT_MAX_PAYLOAD, path, issues, (t) => Size.parse(t));
  if (size && (size.bytes < 1 || size.bytes > MAX_PAYLOAD_LIMIT_BYTES)) {
    issues.add(path, `must be between 1 byte and 64MB (nats-server's limit), got ${size}`);
    return undefined;
  }
  return size;
}

function podTemplate(obj: Obj, path: Path, issues: Issues): PodTemplate {
  if (isSet(obj.antiAffinity)) {
    issues.warn([...path, "antiAffinity"], "is deprecated and ignored, as Argo Events ignores it; spread the servers with affinity.podAntiAffinity");
  }
  for (const key of ["containerTemplate", "metricsContainerTemplate", "reloaderContainerTemplate"]) {
    const template = obj[key];
    if (isObj(template) && isObj(template.resources)) checkResources(template.resources, [...path, key, "resources"], issues);
  }
  const keys = [
    "containerTemplate",
    "metricsContainerTemplate",
    "metadata",
    "nodeSelector",
    "tolerations",
    "securityContext",
    "imagePullSecrets",
    "priorityClassName",
    "priority",
    "affinity",
    "serviceAccountName",
  ] as const;
  const pod: Record<string, unknown> = {};
  for (const key of keys) if (obj[key] != null) pod[key] = obj[key];
  return pod as PodTemplate;
}

/**
 * Parses a formatted field, or its default when absent. The structural pass already reported a
 * wrong type or bad text at `path`, so this only returns undefined then, without a second issue.
 */
function parseValue<T>(value: unknown, fallback: string, path: Path, issues: Issues, parse: (text: string) => T): T | undefined {
  if (value != null && typeof value !== "string") return undefined;
  try {
    return parse(value ?? fallback);
  } catch (error) {
    if (!(error instanceof ValueParseError)) throw error;
    if (!issues.hasAt(path)) issues.add(path, error.message);
    return undefined;
  }
}

function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) ? value : undefined;
}
