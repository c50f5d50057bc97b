import { parseDocument } from "yaml";
import { IssueCode, type Issues, type Path } from "./issues.js";
import { describe } from "./structural.js";
import { firstDuplicateKey } from "./yaml-keys.js";

/**
 * Parses YAML text held in a string field (`settings`, `streamConfig`) into a flat mapping.
 * Reports an issue at `path` and returns undefined when it is not one.
 */
export function parseEmbeddedMapping(text: string, path: Path, issues: Issues): Record<string, unknown> | undefined {
  // Warnings (unknown tags, directives) are issues too, and nothing is logged to the process.
  // Duplicate keys are found by firstDuplicateKey in linear time; the parser's own check is quadratic.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false, logLevel: "silent" });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    issues.add(path, `must be YAML "key: value" lines: ${problem.message.split("\n")[0]}`);
    return undefined;
  }
  if (firstDuplicateKey(doc)) {
    issues.add(path, `must be YAML "key: value" lines: Map keys must be unique`);
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias without its anchor, or too many aliases: the text parses but has no value.
    if (!(error instanceof Error)) throw error;
    issues.add(path, `must be YAML "key: value" lines: ${error.message.split("\n")[0]}`);
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
