/**
 * Argo Events' bus connection config: an EventBus's `status.config`, handed to event source and
 * sensor pods as the `EVENTBUS_CONFIG` environment variable (base64 of the JSON).
 */
import { parseNatsUrls, ValueParseError } from "../api/index.js";
import { InvalidConfigError, type ConfigIssue } from "./errors.js";

/** The name of the environment variable Argo Events passes the bus config in. */
export const EVENTBUS_CONFIG_ENV = "EVENTBUS_CONFIG";

/** The kinds of bus a config connects to. */
export const BusKind = {
  jetstream: "jetstream",
  /** NATS Streaming (legacy). */
  stan: "stan",
} as const;
/** One of the {@link BusKind} values. */
export type BusKind = (typeof BusKind)[keyof typeof BusKind];

/** How a STAN bus authenticates (Argo's `AuthStrategy`). */
export const StanAuthStrategy = { none: "none", token: "token", basic: "basic" } as const;
/** One of the {@link StanAuthStrategy} values. */
export type StanAuthStrategy = (typeof StanAuthStrategy)[keyof typeof StanAuthStrategy];

/** A reference to a key of a Kubernetes Secret (never the secret itself). */
export interface SecretRef {
  readonly name: string;
  readonly key: string;
  readonly optional?: boolean;
}

/** A JetStream bus's connection config. */
export interface JetStreamBusConfig {
  readonly kind: typeof BusKind.jetstream;
  /** The `url` field as written (comma-separated). */
  readonly url: string;
  /** Each server as `scheme://host:port`. */
  readonly urls: readonly string[];
  /** The client auth Secret; present when the bus needs credentials (the auth file). */
  readonly accessSecret?: SecretRef;
  /** The stream settings as YAML text (`maxAge: 72h` …); empty when none. */
  readonly streamConfig: string;
}

/** A NATS Streaming bus's connection config. */
export interface StanBusConfig {
  readonly kind: typeof BusKind.stan;
  readonly url: string;
  readonly urls: readonly string[];
  readonly clusterId: string;
  /** @default "none" */
  readonly auth: StanAuthStrategy;
  readonly accessSecret?: SecretRef;
}

/** A parsed bus connection config. */
export type BusConfig = JetStreamBusConfig | StanBusConfig;

/**
 * Parses `EVENTBUS_CONFIG`: the JSON text of a `status.config`, or its base64 (as Argo sets the variable).
 * @throws {@link InvalidConfigError} with every issue, each at its field path
 */
export function parseEventBusConfig(text: string): BusConfig {
  const trimmed = text.trim();
  let json = trimmed;
  if (!trimmed.startsWith("{")) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
      throw new InvalidConfigError([{ path: EVENTBUS_CONFIG_ENV, message: "must be JSON or base64-encoded JSON (an EventBus status.config)" }]);
    }
    json = Buffer.from(trimmed, "base64").toString("utf8");
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // The parser's message quotes the text; the position is enough.
    throw new InvalidConfigError([{ path: EVENTBUS_CONFIG_ENV, message: "is not valid JSON" }]);
  }
  return busConfigFromObject(value);
}

/**
 * Reads a `status.config` object (`{jetstream: {url, accessSecret, streamConfig}}` or
 * `{nats: {url, clusterID, auth, accessSecret}}`). Exactly one of them must be set.
 * @throws {@link InvalidConfigError} with every issue, each at its field path
 */
export function busConfigFromObject(value: unknown): BusConfig {
  const issues: ConfigIssue[] = [];
  if (!isObject(value)) throw new InvalidConfigError([{ path: "(config)", message: "must be an object with jetstream or nats" }]);
  const present = (["jetstream", "nats", "kafka"] as const).filter((k) => value[k] !== undefined && value[k] !== null);
  if (present.includes("kafka")) issues.push({ path: "kafka", message: "Kafka buses are not supported; use jetstream or nats" });
  const natsLike = present.filter((k) => k !== "kafka");
  if (natsLike.length === 0 && !present.includes("kafka")) issues.push({ path: "(config)", message: "must set jetstream or nats" });
  if (natsLike.length > 1) issues.push({ path: "(config)", message: "must set only one of jetstream and nats" });
  if (issues.length > 0) throw new InvalidConfigError(issues);

  const kind = natsLike[0]!;
  const section = value[kind];
  if (!isObject(section)) throw new InvalidConfigError([{ path: kind, message: "must be an object" }]);
  const url = readUrls(section, kind, issues);
  const accessSecret = readSecretRef(section.accessSecret, `${kind}.accessSecret`, issues);

  if (kind === "jetstream") {
    const streamConfig = section.streamConfig ?? "";
    if (typeof streamConfig !== "string") issues.push({ path: "jetstream.streamConfig", message: "must be a string (YAML text)" });
    if (issues.length > 0) throw new InvalidConfigError(issues);
    return { kind: BusKind.jetstream, url: url!.text, urls: url!.urls, ...(accessSecret && { accessSecret }), streamConfig: streamConfig as string };
  }

  const clusterId = section.clusterID;
  if (clusterId === undefined || clusterId === null) issues.push({ path: "nats.clusterID", message: "missing: a NATS Streaming bus needs its cluster ID" });
  else if (typeof clusterId !== "string" || clusterId === "") issues.push({ path: "nats.clusterID", message: "must be a non-empty string" });
  const auth = section.auth ?? StanAuthStrategy.none;
  const strategies = Object.values(StanAuthStrategy) as string[];
  if (typeof auth !== "string" || !strategies.includes(auth)) issues.push({ path: "nats.auth", message: `must be one of ${strategies.join(", ")}` });
  if (issues.length > 0) throw new InvalidConfigError(issues);
  return {
    kind: BusKind.stan,
    url: url!.text,
    urls: url!.urls,
    clusterId: clusterId as string,
    auth: auth as StanAuthStrategy,
    ...(accessSecret && { accessSecret }),
  };
}

function readUrls(section: Record<string, unknown>, kind: string, issues: ConfigIssue[]): { text: string; urls: string[] } | undefined {
  const text = section.url;
  if (text === undefined || text === null || text === "") {
    issues.push({ path: `${kind}.url`, message: "missing: one or more nats:// URLs separated by commas" });
    return undefined;
  }
  if (typeof text !== "string") {
    issues.push({ path: `${kind}.url`, message: "must be a string" });
    return undefined;
  }
  try {
    return { text, urls: parseNatsUrls(text).map((u) => u.url) };
  } catch (err) {
    if (!(err instanceof ValueParseError)) throw err;
    // parseNatsUrls never repeats credentials found in a URL.
    issues.push({ path: `${kind}.url`, message: err.message });
    return undefined;
  }
}

function readSecretRef(value: unknown, path: string, issues: ConfigIssue[]): SecretRef | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    issues.push({ path, message: "must be an object with name and key" });
    return undefined;
  }
  const before = issues.length;
  for (const field of ["name", "key"] as const) {
    const v = value[field];
    if (typeof v !== "string" || v === "") issues.push({ path: `${path}.${field}`, message: v === undefined ? "missing" : "must be a non-empty string" });
  }
  if (value.optional !== undefined && typeof value.optional !== "boolean") issues.push({ path: `${path}.optional`, message: "must be true or false" });
  if (issues.length > before) return undefined;
  return { name: value.name as string, key: value.key as string, ...(value.optional !== undefined && { optional: value.optional as boolean }) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
