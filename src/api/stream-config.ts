import { DEFAULT_STREAM_CONFIG } from "./defaults.js";
import { Duration } from "./duration.js";
import { canonicalKey, parseEmbeddedMapping } from "./embedded-yaml.js";
import { IssueCode, type Issues, type Path } from "./issues.js";
import { Size } from "./size.js";
import { describe } from "./structural.js";
import { hint } from "./suggest.js";
import { ValueParseError, quote } from "./value-error.js";

/** JetStream retention policies, in the order of their numbers (0, 1, 2). */
export const RetentionPolicy = ["limits", "interest", "workqueue"] as const;
export type RetentionPolicy = (typeof RetentionPolicy)[number];

/** JetStream discard policies, in the order of their numbers (0, 1). */
export const DiscardPolicy = ["old", "new"] as const;
export type DiscardPolicy = (typeof DiscardPolicy)[number];

/** JetStream's limit on a stream's replicas. */
export const MAX_STREAM_REPLICAS = 5;

/**
 * The keys of a `streamConfig` that reach the stream: the ones Argo Events' JetStream drivers read
 * into `nats.StreamConfig` (argoproj/argo-events pkg/eventbus/jetstream/base/jetstream.go).
 */
export const STREAM_CONFIG_KEYS = ["maxMsgs", "maxAge", "maxBytes", "replicas", "duplicates", "retention", "discard"] as const;

/**
 * The other fields of nats.go's `StreamConfig`. Argo Events accepts them in a `streamConfig` (its
 * controller merges the text with viper) but its drivers never read them, so they do not reach the
 * stream; eventbus accepts them too, with a warning.
 */
const OTHER_NATS_STREAM_FIELDS = [
  "name",
  "description",
  "subjects",
  "maxConsumers",
  "maxMsgsPerSubject",
  "maxMsgSize",
  "storage",
  "noAck",
  "template",
  "discardNewPerSubject",
  "placement",
  "mirror",
  "sources",
  "sealed",
  "denyDelete",
  "denyPurge",
  "allowRollup",
  "compression",
  "firstSeq",
  "subjectTransform",
  "rePublish",
  "allowDirect",
  "mirrorDirect",
  "consumerLimits",
  "metadata",
  "allowMsgTTL",
  "subjectDeleteMarkerTTL",
] as const;
type StreamConfigKey = (typeof STREAM_CONFIG_KEYS)[number];

/** The stream's settings after `streamConfig` is merged over the defaults. */
export interface StreamConfig {
  /** Messages kept; -1 for no limit. */
  readonly maxMsgs: number;
  /** How long messages are kept; zero for no limit. */
  readonly maxAge: Duration;
  /** Bytes kept; -1 for no limit. */
  readonly maxBytes: number;
  readonly replicas: number;
  /** The window in which a repeated `Nats-Msg-Id` is dropped. */
  readonly duplicates: Duration;
  readonly retention: RetentionPolicy;
  readonly discard: DiscardPolicy;
}

/** What the stream config is checked against. */
export interface StreamConfigContext {
  /** Servers of a managed bus; stream replicas cannot exceed it. Unknown for an external bus. */
  serverReplicas?: number;
}

type FieldParser = (value: unknown, ctx: StreamConfigContext) => unknown;

const PARSERS: Record<StreamConfigKey, FieldParser> = {
  maxMsgs: (v) => limitNumber(v),
  maxBytes: (v) => {
    if (typeof v === "number") return limitNumber(v);
    if (typeof v !== "string") throw new ValueParseError(`must be a number of bytes or a size such as 1GB (-1 for no limit), got ${describe(v)}`);
    const size = Size.parse(v as string, { allowUnlimited: true });
    return size.bytes === 0 ? -1 : size.bytes;
  },
  maxAge: (v) => duration(v),
  duplicates: (v) => duration(v),
  replicas: (v, ctx) => {
    if (typeof v !== "number" || !Number.isInteger(v)) throw new ValueParseError(`must be an integer, got ${describe(v)}`);
    if (v < 1 || v > MAX_STREAM_REPLICAS) throw new ValueParseError(`must be between 1 and ${MAX_STREAM_REPLICAS}, got ${v}`);
    if (ctx.serverReplicas !== undefined && v > ctx.serverReplicas) {
      throw new ValueParseError(`must be <= the bus's ${ctx.serverReplicas} server replicas, got ${v}`);
    }
    return v;
  },
  retention: (v) => policy(v, RetentionPolicy),
  discard: (v) => policy(v, DiscardPolicy),
};

/**
 * Parses a `streamConfig` text, reports every bad key or value at `<path>.<key>`, and returns the
 * merged config, or undefined when an issue was found. Stream replicas default to the smaller of 3
 * and the bus's server replicas, so that a one-server bus works without a stream config.
 */
export function parseStreamConfig(text: string | undefined, path: Path, issues: Issues, ctx: StreamConfigContext = {}): StreamConfig | undefined {
  const before = issues.list.length;
  const raw = text === undefined ? {} : parseEmbeddedMapping(text, path, issues);
  if (raw === undefined) return undefined;
  const merged: Record<string, unknown> = {
    ...DEFAULT_STREAM_CONFIG,
    maxAge: Duration.parse(DEFAULT_STREAM_CONFIG.maxAge),
    duplicates: Duration.parse(DEFAULT_STREAM_CONFIG.duplicates),
    replicas: Math.min(DEFAULT_STREAM_CONFIG.replicas, ctx.serverReplicas ?? DEFAULT_STREAM_CONFIG.replicas),
  };
  for (const [key, value] of Object.entries(raw)) {
    const name = canonicalKey(key, STREAM_CONFIG_KEYS);
    if (name === undefined) {
      const read = `Argo Events' drivers read only ${STREAM_CONFIG_KEYS.join(", ")}`;
      if (canonicalKey(key, OTHER_NATS_STREAM_FIELDS) !== undefined)
        issues.warn([...path, key], `is ignored: ${read} into the stream, and so does eventbus`, IssueCode.unknownField);
      else issues.warn([...path, key], `unknown stream setting${hint(key, STREAM_CONFIG_KEYS)}; ignored, as Argo Events ignores it`, IssueCode.unknownField);
      continue;
    }
    argoReading(name, value, [...path, name], issues);
    try {
      merged[name] = PARSERS[name](value, ctx);
    } catch (error) {
      if (!(error instanceof ValueParseError)) throw error;
      issues.add([...path, name], error.message);
    }
  }
  const { maxAge, duplicates } = merged;
  if (maxAge instanceof Duration && duplicates instanceof Duration && !maxAge.isZero() && duplicates.compare(maxAge) > 0) {
    issues.add([...path, "duplicates"], `must not be longer than maxAge (${maxAge}), got ${duplicates}`, IssueCode.conflict);
  }
  return issues.list.length > before ? undefined : (merged as unknown as StreamConfig);
}

/**
 * Renders a stream config as Argo Events' controller writes it in `status.config.jetstream.streamConfig`:
 * it merges the texts with viper, which lowercases every key, and marshals the map, which sorts
 * them. Argo's event-source and sensor drivers decode this text with viper into a
 * `nats.StreamConfig` (`pkg/eventbus/jetstream/base/jetstream.go`), reading `retention` and
 * `discard` with `GetInt`, so the policies are written as their numbers (a word would be read as 0),
 * and `maxBytes`/`maxMsgs` with `GetInt64`, so they are whole numbers (a size such as `1GB` would
 * be read as 0), and the durations with `GetDuration`, which takes Go's `72h`/`5m0s` forms.
 */
export function formatStreamConfig(config: StreamConfig): string {
  const fields: Record<string, string | number> = {
    discard: DiscardPolicy.indexOf(config.discard),
    duplicates: config.duplicates.format(),
    maxage: config.maxAge.format(),
    maxbytes: config.maxBytes,
    maxmsgs: config.maxMsgs,
    replicas: config.replicas,
    retention: RetentionPolicy.indexOf(config.retention),
  };
  return `${Object.keys(fields)
    .sort()
    .map((key) => `${key}: ${fields[key]}`)
    .join("\n")}\n`;
}

/**
 * Renders a stream config as the YAML text a manifest holds, keys in a fixed order. The policies
 * are numbers with their names as comments, so that the text means the same to Argo Events'
 * controller, which reads a word as 0.
 */
export function formatStreamConfigForManifest(config: StreamConfig): string {
  return `${[
    `maxMsgs: ${config.maxMsgs}`,
    `maxAge: ${config.maxAge.format()}`,
    `maxBytes: ${config.maxBytes}`,
    `replicas: ${config.replicas}`,
    `duplicates: ${config.duplicates.format()}`,
    `retention: ${RetentionPolicy.indexOf(config.retention)} # ${config.retention}`,
    `discard: ${DiscardPolicy.indexOf(config.discard)} # ${config.discard}`,
  ].join("\n")}\n`;
}

/**
 * Warns where Argo Events' drivers read a value another way than eventbus: they decode the text with
 * viper and spf13/cast, which reads a word as the integer 0 (`GetInt`/`GetInt64`), so a policy name
 * becomes limits/old and a size such as `1GB` becomes 0, no limit.
 */
function argoReading(name: StreamConfigKey, value: unknown, path: Path, issues: Issues): void {
  if (typeof value !== "string") return;
  const names: readonly string[] | undefined = name === "retention" ? RetentionPolicy : name === "discard" ? DiscardPolicy : undefined;
  if (names !== undefined) {
    const index = names.indexOf(value.toLowerCase());
    if (index > 0) issues.warn(path, `Argo Events reads a word here as 0 (${names[0]}); write ${index} for ${names[index]}, which eventbus reads the same`);
  } else if (name === "maxBytes" || name === "maxMsgs") {
    let bytes: number | undefined;
    try {
      bytes = name === "maxBytes" ? Size.parse(value, { allowUnlimited: true }).bytes : undefined;
    } catch {
      return; // the parser reports it
    }
    if (bytes !== undefined && bytes > 0) issues.warn(path, `Argo Events reads a size here as 0 (no limit); write ${bytes}, which eventbus reads the same`);
  }
}

/**
 * JetStream's limits are Go int64s, sent as JSON numbers from JavaScript, which are exact only up
 * to 2^53 - 1: a larger number arrives rounded, or as `1e+300`, which the server refuses.
 */
function limitNumber(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new ValueParseError(`must be an integer (-1 for no limit), got ${describe(v)}`);
  if (v < -1) throw new ValueParseError(`must be -1 (no limit) or >= 0, got ${v}`);
  if (v > Number.MAX_SAFE_INTEGER) throw new ValueParseError(`must be a whole number from -1 to ${Number.MAX_SAFE_INTEGER}, got ${v}`);
  return v === 0 ? -1 : v;
}

/**
 * The longest stream duration: Go's int64 nanoseconds hold about 292 years, but the JSON number a
 * JavaScript client sends is a double, and the few nanoseconds below 2^63 round up to 2^63, which
 * overflows. Whole hours up to this are exact.
 */
const MAX_STREAM_DURATION = Duration.parse("2562047h");

function duration(v: unknown): Duration {
  if (v === 0) return Duration.parse("0");
  if (typeof v === "number") {
    throw new ValueParseError(`must be a duration with a unit such as 72h or 300s (a bare number would be read as nanoseconds), got ${v}`);
  }
  if (typeof v !== "string") throw new ValueParseError(`must be a duration such as 72h or 300s, got ${describe(v)}`);
  const parsed = Duration.parse(v);
  if (parsed.compare(MAX_STREAM_DURATION) > 0) throw new ValueParseError(`must be at most ${MAX_STREAM_DURATION.format()} (about 292 years), got ${quote(v)}`);
  return parsed;
}

function policy<T extends string>(v: unknown, names: readonly T[]): T {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < names.length) return names[v]!;
  if (typeof v === "string") {
    const name = canonicalKey(v, names);
    if (name !== undefined) return name;
  }
  const allowed = names.map((n, i) => `${i} or ${n}`).join(", ");
  throw new ValueParseError(`must be one of ${allowed}, got ${typeof v === "string" ? quote(v) : describe(v)}`);
}
