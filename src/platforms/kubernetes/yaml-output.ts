/**
 * Deterministic text of Kubernetes objects, as cdk8s writes them: at every level the keys
 * `apiVersion`, `kind`, `metadata` come first and the rest follow in code-point order; undefined
 * values are dropped; arrays keep their order. The same objects always give the same bytes.
 */
import { stringify } from "yaml";

import type { KubeObject } from "./objects.js";

const FIRST_KEYS = ["apiVersion", "kind", "metadata"] as const;

/** Orders two keys: {@link FIRST_KEYS} first, then by code point (never by locale). */
function compareKeys(a: string, b: string): number {
  const ia = (FIRST_KEYS as readonly string[]).indexOf(a);
  const ib = (FIRST_KEYS as readonly string[]).indexOf(b);
  if (ia !== -1 || ib !== -1) return (ia === -1 ? FIRST_KEYS.length : ia) - (ib === -1 ? FIRST_KEYS.length : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A deep copy of `value` with every object's keys in canonical order and undefined values dropped
 * (in arrays too). Only plain data is expected: objects, arrays, strings, numbers, booleans, null.
 */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(canonical);
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => compareKeys(a, b));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/**
 * One YAML document per object, separated by `---` lines. Written as YAML 1.1, which is how
 * kubectl reads YAML, so that strings such as `yes`, `on` or `0755` stay quoted strings there.
 */
export function toYamlDocuments(objects: readonly KubeObject[]): string {
  return objects.map((o) => stringify(canonical(o), { version: "1.1", lineWidth: 0 })).join("---\n");
}

/** A `v1` `List` of the objects as JSON, two-space indented, with a final newline. */
export function toJsonList(objects: readonly KubeObject[]): string {
  return `${JSON.stringify(canonical({ apiVersion: "v1", kind: "List", items: objects }), null, 2)}\n`;
}
