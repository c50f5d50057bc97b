import { DEFAULT_MAX_FILE_STORE, DEFAULT_MAX_MEMORY_STORE } from "./defaults.js";
import { canonicalKey, parseEmbeddedMapping } from "./embedded-yaml.js";
import { IssueCode, type Issues, type Path } from "./issues.js";
import type { Quantity } from "./quantity.js";
import { Size } from "./size.js";
import { describe } from "./structural.js";
import { didYouMean } from "./suggest.js";
import { ValueParseError } from "./value-error.js";

/** The nats-server settings a bus may set; everything else in nats.conf is eventbus's to write. */
export const SETTINGS_KEYS = ["max_memory_store", "max_file_store"] as const;

/** Parsed `spec.jetstream.settings`. */
export interface ServerSettings {
  /** JetStream memory store limit; -1 lets the server choose. */
  readonly maxMemoryStore: Size;
  /** JetStream file store limit; -1 for the disk's size. */
  readonly maxFileStore: Size;
}

/**
 * Parses `settings` text. With persistence, a defaulted `max_file_store` is capped at the volume
 * size (the 1TB default would promise more than the disk holds); an explicit one must fit in it.
 */
export function parseSettings(
  text: string | undefined,
  path: Path,
  issues: Issues,
  volume: Quantity | undefined,
): ServerSettings | undefined {
  const volumeBytes = volume?.bytes;
  const raw = text === undefined ? {} : parseEmbeddedMapping(text, path, issues);
  if (raw === undefined) return undefined;
  const before = issues.list.length;
  const values: Partial<Record<(typeof SETTINGS_KEYS)[number], Size>> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = canonicalKey(key, SETTINGS_KEYS);
    if (name === undefined) {
      issues.add([...path, key], `setting is not allowed (only ${SETTINGS_KEYS.join(" and ")} reach nats.conf)${didYouMean(key, SETTINGS_KEYS)}`, IssueCode.unknownField);
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
      issues.add(
        [...path, "max_file_store"],
        `must fit in the volume (persistence.volumeSize ${volume}), got ${maxFileStore}`,
        IssueCode.conflict,
      );
      return undefined;
    }
  }
  if (issues.list.length > before) return undefined;
  return {
    maxMemoryStore: values.max_memory_store ?? Size.parse(DEFAULT_MAX_MEMORY_STORE, { allowUnlimited: true }),
    maxFileStore,
  };
}

/** Renders settings as the YAML text a manifest holds. */
export function formatSettings(settings: ServerSettings): string {
  return `max_memory_store: ${settings.maxMemoryStore}\nmax_file_store: ${settings.maxFileStore}\n`;
}
