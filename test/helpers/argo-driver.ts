/**
 * What Argo Events' own code and nats.go read and check, written down from their sources so that a
 * test can hold eventbus's output against the counterpart, not against eventbus's own parser:
 *
 * - `argoStreamConfig`: how Argo Events' JetStream drivers turn `status.config.jetstream.streamConfig`
 *   into a `nats.StreamConfig` (argoproj/argo-events pkg/eventbus/jetstream/base/jetstream.go,
 *   `CreateStream`): viper reads the YAML (keys case-insensitive), `retention` and `discard` default
 *   to 0, and `GetInt`/`GetInt64`/`GetDuration` convert with spf13/cast, where a value that does not
 *   convert is 0.
 * - `natsGoStreamJson`: the JSON nats.go sends for that config (nats-io/nats.go jsm.go, `StreamConfig`
 *   with its policy enums marshalled as words).
 * - `natsGoPullBindError`: what nats.go's `PullSubscribe(subject, durable, AckExplicit(), DeliverNew())`,
 *   Argo's sensor call (argoproj/argo-events pkg/eventbus/jetstream/sensor/trigger_conn.go), refuses
 *   in an existing consumer (nats-io/nats.go js.go, `processConsInfo` and `checkConfig`).
 */
import { parse } from "yaml";

/** The seven fields Argo's drivers put in the stream, as Go values (durations in nanoseconds). */
export interface ArgoStreamConfig {
  readonly retention: number;
  readonly discard: number;
  readonly maxMsgs: number;
  readonly maxBytes: number;
  readonly maxAgeNanos: bigint;
  readonly replicas: number;
  readonly duplicatesNanos: bigint;
}

/**
 * Decodes a `streamConfig` text as Argo's drivers do.
 * @throws Error as `intToRetentionPolicy`/`intToDiscardPolicy` do for an out-of-range policy
 */
export function argoStreamConfig(text: string): ArgoStreamConfig {
  const raw = (parse(text) ?? {}) as Record<string, unknown>;
  // viper: keys are case-insensitive.
  const get = (key: string): unknown => Object.entries(raw).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
  const retention = castInt(get("retention") ?? 0);
  const discard = castInt(get("discard") ?? 0);
  if (retention < 0 || retention > 2) throw new Error(`invalid int for RetentionPolicy: ${retention}`);
  if (discard < 0 || discard > 1) throw new Error(`invalid int for DiscardPolicy: ${discard}`);
  return {
    retention,
    discard,
    maxMsgs: castInt(get("maxMsgs")),
    maxBytes: castInt(get("maxBytes")),
    maxAgeNanos: castDuration(get("maxAge")),
    replicas: castInt(get("replicas")),
    duplicatesNanos: castDuration(get("duplicates")),
  };
}

/** spf13/cast `ToInt64E`, errors read as 0 (viper's `GetInt64` drops them). */
function castInt(value: unknown): number {
  if (typeof value === "number") return Math.trunc(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    // cast trims a zero decimal (`"1.0"`) and parses with base 0 (`0x10`, `010`).
    const text = value.replace(/\.0*$/, "");
    if (/^[+-]?\d+$/.test(text)) return Number(text);
    if (/^[+-]?0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text, 16);
    return 0;
  }
  return 0;
}

/** spf13/cast `ToDurationE`: numbers are nanoseconds; a string with a unit goes through `time.ParseDuration`. */
function castDuration(value: unknown): bigint {
  if (typeof value === "number") return BigInt(Math.trunc(value));
  if (typeof value !== "string") return 0n;
  const text = /[nsuµmh]/.test(value) ? value : `${value}ns`;
  return goParseDuration(text) ?? 0n;
}

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's `time.ParseDuration`, in nanoseconds; undefined where Go returns an error. */
export function goParseDuration(text: string): bigint | undefined {
  if (text === "0") return 0n;
  const match = /^([+-]?)((?:\d*\.?\d*(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!match) return undefined;
  let total = 0n;
  for (const [, number, unit] of match[2]!.matchAll(/(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/g)) {
    if (number === "" || number === ".") return undefined;
    const [whole = "0", fraction = ""] = number!.split(".");
    const scale = UNIT_NANOS[unit!]!;
    total += BigInt(whole || "0") * scale + (fraction === "" ? 0n : (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length));
  }
  return match[1] === "-" ? -total : total;
}

const RETENTION = ["limits", "interest", "workqueue"] as const;
const DISCARD = ["old", "new"] as const;

/**
 * The stream config Argo's driver sends to JetStream (`AddStream`, or `UpdateStream` when the stream
 * exists), as nats.go marshals it: name `default`, subjects `default.*.*`, file storage, and the seven
 * decoded fields (the rest zero, which the server reads as its defaults).
 */
export function natsGoStreamJson(config: ArgoStreamConfig): Record<string, unknown> {
  return {
    name: "default",
    subjects: ["default.*.*"],
    retention: RETENTION[config.retention],
    max_consumers: 0,
    max_msgs: config.maxMsgs,
    max_bytes: config.maxBytes,
    discard: DISCARD[config.discard],
    max_age: Number(config.maxAgeNanos),
    max_msgs_per_subject: 0,
    max_msg_size: 0,
    storage: "file",
    num_replicas: config.replicas,
    duplicate_window: Number(config.duplicatesNanos),
  };
}

/** The parts of a consumer's info that nats.go's bind checks read. */
export interface ConsumerInfoLike {
  readonly config: {
    readonly durable_name?: string;
    readonly filter_subject?: string;
    readonly deliver_subject?: string;
    readonly deliver_policy: string;
    readonly ack_policy: string;
  };
}

/**
 * The error nats.go returns when Argo's sensor pull-subscribes `subject` with `durable` (options
 * `AckExplicit()`, `DeliverNew()`) and the consumer exists; undefined when it binds.
 */
export function natsGoPullBindError(info: ConsumerInfoLike, subject: string, durable: string): string | undefined {
  const c = info.config;
  if (c.filter_subject && subject !== c.filter_subject) return "nats: subject does not match consumer";
  if (c.deliver_subject) return "nats: cannot pull subscribe to push based consumer";
  if (c.durable_name !== durable) return `nats: configuration requests durable to be ${durable}, but consumer's value is ${c.durable_name}`;
  if (c.deliver_policy !== "new") return `nats: configuration requests deliver policy to be new, but consumer's value is ${c.deliver_policy}`;
  if (c.ack_policy !== "explicit") return `nats: configuration requests ack policy to be explicit, but consumer's value is ${c.ack_policy}`;
  return undefined;
}
