import { parse } from "yaml";
import { IssueCode, type Issues, type Path } from "./issues.js";
import { describe } from "./structural.js";

/**
 * Parses YAML text held in a string field (`settings`, `streamConfig`) into a flat mapping.
 * Reports an issue at `path` and returns undefined when it is not one.
 */
export function parseEmbeddedMapping(text: string, path: Path, issues: Issues): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = parse(text, { prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    issues.add(path, `must be YAML "key: value" lines: ${reason}`);
    return undefined;
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    issues.add(path, `must be YAML "key: value" lines, got ${describe(value)}`, IssueCode.invalidType);
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** Matches a key to a known name regardless of case, as Argo Events' config reader does. */
export function canonicalKey<K extends string>(key: string, known: readonly K[]): K | undefined {
  const lower = key.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower);
}
