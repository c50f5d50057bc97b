import { DEFAULT_MAX_FILE_STORE, DEFAULT_MAX_MEMORY_STORE } from "./defaults.js";
import { Duration } from "./duration.js";
import { canonicalKey, parseEmbeddedMapping } from "./embedded-yaml.js";
import { IssueCode, type Issues, type Path } from "./issues.js";
import type { Quantity } from "./quantity.js";
import { Size } from "./size.js";
import { describe } from "./structural.js";
import { didYouMean } from "./suggest.js";
import { ValueParseError } from "./value-error.js";

/** The store limits a bus may set; everything else in nats.conf is eventbus's to write. */
export const SETTINGS_KEYS = ["max_memory_store", "max_file_store"] as const;

/** How a passed-through setting is typed and written. */
export type ServerSettingKind = "string" | "size" | "integer" | "duration";

/**
 * The other keys of nats-server's `jetstream {}` block that `settings` passes through (Argo Events
 * pastes `settings` into that block; argoproj/argo-events
 * pkg/reconciler/eventbus/installer/assets/jetstream/nats-cluster.conf): the ones every nats-server
 * version eventbus runs accepts (server/opts.go, parseJetStream, 2.10 and 2.11), each typed.
 */
export const PASSED_SETTINGS: Readonly<Record<string, ServerSettingKind>> = {
  domain: "string",
  unique_tag: "string",
  max_outstanding_catchup: "size",
  request_queue_limit: "integer",
  sync_interval: "duration",
};

/** nats-server's other spellings of the store limits. */
const SETTING_ALIASES: Readonly<Record<string, (typeof SETTINGS_KEYS)[number]>> = {
  max_mem_store: "max_memory_store",
  max_mem: "max_memory_store",
  max_file: "max_file_store",
};

/** Keys of the `jetstream {}` block eventbus writes itself, and why. */
const SET_BY_EVENTBUS: Readonly<Record<string, string>> = {
  store_dir: "the store directory is the bus's data dir (on Kubernetes, the volume)",
  store: "the store directory is the bus's data dir (on Kubernetes, the volume)",
  storedir: "the store directory is the bus's data dir (on Kubernetes, the volume)",
  key: "eventbus encrypts the store with a key it keeps in the bus's secrets",
  ek: "eventbus encrypts the store with a key it keeps in the bus's secrets",
  encryption_key: "eventbus encrypts the store with a key it keeps in the bus's secrets",
  prev_key: "eventbus encrypts the store with a key it keeps in the bus's secrets",
  cipher: "eventbus encrypts the store with a key it keeps in the bus's secrets",
  enable: "JetStream is always on for a JetStream bus",
  enabled: "JetStream is always on for a JetStream bus",
};

/** Keys only newer nats-server versions accept (eventbus passes through what all of its versions accept). */
const NEWER_SERVER_SETTINGS = ["max_buffered_size", "max_buffered_msgs", "strict", "meta_compact", "info_queue_limit"];

/** A passed-through `jetstream {}` setting, checked and typed. */
export interface ServerSetting {
  readonly key: string;
  readonly kind: ServerSettingKind;
  /** Bytes for a size, a whole number for an integer, Go duration text (or `always`) for a duration. */
  readonly value: string | number;
}

/** Parsed `spec.jetstream.settings`. */
export interface ServerSettings {
  /** JetStream memory store limit; -1 lets the server choose. */
  readonly maxMemoryStore: Size;
  /** JetStream file store limit; -1 for the disk's size. */
  readonly maxFileStore: Size;
  /** The other `jetstream {}` settings, in the order written. */
  readonly passed: readonly ServerSetting[];
}

/**
 * Parses `settings` text. With persistence, a defaulted `max_file_store` is capped at the volume
 * size (the 1TB default would promise more than the disk holds); an explicit one must fit in it.
 */
export function parseSettings(text: string | undefined, path: Path, issues: Issues, volume: Quantity | undefined): ServerSettings | undefined {
  const volumeBytes = volume?.bytes;
  const raw = text === undefined ? {} : parseEmbeddedMapping(text, path, issues);
  if (raw === undefined) return undefined;
  const before = issues.list.length;
  const values: Partial<Record<(typeof SETTINGS_KEYS)[number], Size>> = {};
  const passed: ServerSetting[] = [];
  const known = [...SETTINGS_KEYS, ...Object.keys(PASSED_SETTINGS)];
  for (const [key, value] of Object.entries(raw)) {
    const lower = key.toLowerCase();
    const name = canonicalKey(key, SETTINGS_KEYS) ?? SETTING_ALIASES[lower];
    if (name === undefined) {
      const kind = PASSED_SETTINGS[lower];
      if (kind !== undefined) {
        const setting = passedSetting(lower, kind, value, [...path, key], issues);
        if (setting) passed.push(setting);
      } else if (SET_BY_EVENTBUS[lower] !== undefined) {
        issues.add([...path, key], `is set by eventbus: ${SET_BY_EVENTBUS[lower]}`, IssueCode.unsupported);
      } else if (NEWER_SERVER_SETTINGS.includes(lower)) {
        issues.add(
          [...path, key],
          `is not accepted by nats-server 2.10 (only by later versions), so it would stop the servers; allowed: ${known.join(", ")}`,
          IssueCode.unsupported,
        );
      } else {
        issues.add(
          [...path, key],
          `is not a nats-server JetStream setting eventbus passes through (nats-server refuses unknown ones); allowed: ${known.join(", ")}${didYouMean(key, known)}`,
          IssueCode.unknownField,
        );
      }
      continue;
    }
    try {
      if (typeof value !== "string" && typeof value !== "number") throw new ValueParseError(`must be a size such as 1TB, got ${describe(value)}`);
      values[name] = Size.parse(value, { allowUnlimited: true });
    } catch (error) {
      if (!(error instanceof ValueParseError)) throw error;
      issues.add([...path, name], error.message);
    }
  }
  let maxFileStore = values.max_file_store ?? Size.parse(DEFAULT_MAX_FILE_STORE);
  if (volumeBytes !== undefined) {
    if (values.max_file_store === undefined && maxFileStore.bytes > volumeBytes) {
      maxFileStore = Size.fromBytes(volumeBytes);
    } else if (values.max_file_store !== undefined && maxFileStore.bytes > volumeBytes) {
      issues.add([...path, "max_file_store"], `must fit in the volume (persistence.volumeSize ${volume}), got ${maxFileStore}`, IssueCode.conflict);
      return undefined;
    }
  }
  if (issues.list.length > before) return undefined;
  return {
    maxMemoryStore: values.max_memory_store ?? Size.parse(DEFAULT_MAX_MEMORY_STORE, { allowUnlimited: true }),
    maxFileStore,
    passed,
  };
}

// What nats' config lexer would read as the end of a value or a new line.
const UNQUOTABLE = /[\u0000-\u001f\u007f"\\]/;

function passedSetting(key: string, kind: ServerSettingKind, value: unknown, path: Path, issues: Issues): ServerSetting | undefined {
  try {
    switch (kind) {
      case "string":
        if (typeof value !== "string" || value.trim() === "") throw new ValueParseError(`must be a non-empty string, got ${describe(value)}`);
        if (UNQUOTABLE.test(value)) throw new ValueParseError("must not contain quotes, backslashes or control characters");
        return { key, kind, value };
      case "size": {
        if (typeof value !== "string" && typeof value !== "number") throw new ValueParseError(`must be a size such as 64MB, got ${describe(value)}`);
        return { key, kind, value: Size.parse(value).bytes };
      }
      case "integer":
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1)
          throw new ValueParseError(`must be a whole number >= 1, got ${describe(value)}`);
        return { key, kind, value };
      case "duration": {
        if (typeof value === "string" && value.toLowerCase() === "always") return { key, kind, value: "always" };
        if (typeof value !== "string") throw new ValueParseError(`must be a duration such as 2m, or always, got ${describe(value)}`);
        const parsed = Duration.parse(value);
        if (parsed.isZero()) throw new ValueParseError(`must be longer than 0, got ${value}`);
        return { key, kind, value: parsed.format() };
      }
    }
  } catch (error) {
    if (!(error instanceof ValueParseError)) throw error;
    issues.add(path, error.message);
    return undefined;
  }
}

/** Renders settings as the YAML text a manifest holds. */
export function formatSettings(settings: ServerSettings): string {
  const passed = settings.passed.map((s) => `${s.key}: ${s.kind === "size" ? Size.fromBytes(s.value as number) : s.value}\n`).join("");
  return `max_memory_store: ${settings.maxMemoryStore}\nmax_file_store: ${settings.maxFileStore}\n${passed}`;
}
