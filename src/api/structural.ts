import { Duration } from "./duration.js";
import { IssueCode, type Issues, type Path } from "./issues.js";
import { dns1123LabelProblem } from "./names.js";
import { Quantity } from "./quantity.js";
import { FORMAT_KEYWORD, FieldFormat } from "./schema-builders.js";
import { Size } from "./size.js";
import { didYouMean, hint } from "./suggest.js";
import { ValueParseError, quote } from "./value-error.js";

/** The subset of JSON Schema that the EventBus schema uses. */
interface Schema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  /** `int32` narrows an integer to Kubernetes' 32-bit range. */
  format?: string;
  anyOf?: Schema[];
  "x-kubernetes-int-or-string"?: boolean;
  [FORMAT_KEYWORD]?: FieldFormat;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Checks `value` against `schema` and reports every mismatch: wrong types, unknown fields (with a
 * hint), missing required fields, enum and range violations, and unparsable formatted strings.
 * `null` counts as absent, as the Kubernetes API server prunes it.
 */
export function checkStructure(schema: unknown, value: unknown, path: Path, issues: Issues): void {
  check(schema as Schema, value, path, issues);
}

function check(schema: Schema, value: unknown, path: Path, issues: Issues): void {
  if (value === null || value === undefined) return;
  if (schema["x-kubernetes-int-or-string"]) {
    if (typeof value === "number" && Number.isInteger(value)) return;
    // A quantity may be any number (`cpu: 0.5`), as Kubernetes reads it.
    if (typeof value === "number" && schema[FORMAT_KEYWORD] === FieldFormat.quantity) return checkFormat(schema, String(value), path, issues);
    if (typeof value !== "string") return issues.add(path, `must be an integer or a string, got ${describe(value)}`, IssueCode.invalidType);
    return checkFormat(schema, value, path, issues);
  }
  switch (schema.type) {
    case "object":
      return checkObject(schema, value, path, issues);
    case "array":
      if (!Array.isArray(value)) return issues.add(path, `must be a list, got ${describe(value)}`, IssueCode.invalidType);
      value.forEach((item, i) => schema.items && check(schema.items, item, [...path, i], issues));
      return;
    case "string":
      if (typeof value !== "string") {
        const quoteHint = typeof value === "number" || typeof value === "boolean" ? `; quote it if you mean the text` : "";
        return issues.add(path, `must be a string, got ${describe(value)}${quoteHint}`, IssueCode.invalidType);
      }
      if (schema.enum && !schema.enum.includes(value)) {
        const allowed = schema.enum.map((v) => JSON.stringify(v)).join(", ");
        return issues.add(path, `must be one of ${allowed}, got ${quote(value)}${didYouMean(value, schema.enum as string[])}`);
      }
      return checkFormat(schema, value, path, issues);
    case "integer":
    case "number":
      if (typeof value !== "number" || (schema.type === "integer" && !Number.isInteger(value))) {
        return issues.add(path, `must be ${schema.type === "integer" ? "an integer" : "a number"}, got ${describe(value)}`, IssueCode.invalidType);
      }
      if (schema.minimum !== undefined && value < schema.minimum) return issues.add(path, `must be >= ${schema.minimum}, got ${value}`);
      if (schema.maximum !== undefined && value > schema.maximum) return issues.add(path, `must be <= ${schema.maximum}, got ${value}`);
      if (schema.type === "integer") checkIntegerRange(schema, value, path, issues);
      return;
    case "boolean":
      if (typeof value !== "boolean") return issues.add(path, `must be true or false, got ${describe(value)}`, IssueCode.invalidType);
      return;
    default:
      return; // untyped: any value (status, creationTimestamp)
  }
}

function checkObject(schema: Schema, value: unknown, path: Path, issues: Issues): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return issues.add(path, `must be a mapping, got ${describe(value)}`, IssueCode.invalidType);
  }
  const record = value as Record<string, unknown>;
  const known = Object.keys(schema.properties ?? {});
  for (const [key, child] of Object.entries(record)) {
    const property = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    if (property) check(property, child, [...path, key], issues);
    else if (typeof schema.additionalProperties === "object") check(schema.additionalProperties, child, [...path, key], issues);
    // Argo Events decodes specs into Go structs, which drop unknown fields: accepted, as kubectl's
    // default field validation accepts them, with a warning (`validate --strict` refuses them).
    else if (schema.additionalProperties === false)
      issues.warn([...path, key], `unknown field${hint(key, known)}; ignored, as Argo Events ignores it`, IssueCode.unknownField);
  }
  for (const key of schema.required ?? []) {
    if (record[key] === undefined || record[key] === null) issues.add([...path, key], "is required", IssueCode.required);
  }
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 } as const;

/**
 * An integer must survive the trip through JSON to the Go side: Kubernetes' int32 where the schema
 * says so, else int64 — and a JavaScript number is exact only up to 2^53 - 1, so a larger one
 * (`1e300`, `9223372036854775808`) would reach the API server or a server rounded or as `1e+300`,
 * which Go's JSON decoder refuses.
 */
function checkIntegerRange(schema: Schema, value: number, path: Path, issues: Issues): void {
  const int32 = schema.format === "int32";
  const min = Math.max(schema.minimum ?? -Infinity, int32 ? INT32.min : Number.MIN_SAFE_INTEGER);
  const max = Math.min(schema.maximum ?? Infinity, int32 ? INT32.max : Number.MAX_SAFE_INTEGER);
  if (value < min || value > max) issues.add(path, `must be a whole number from ${min} to ${max}, got ${value}`);
}

function checkFormat(schema: Schema, value: string, path: Path, issues: Issues): void {
  const format = schema[FORMAT_KEYWORD];
  if (format === undefined) return;
  try {
    FORMAT_CHECKS[format](value);
  } catch (error) {
    if (!(error instanceof ValueParseError)) throw error;
    issues.add(path, error.message);
  }
}

const FORMAT_CHECKS: Record<FieldFormat, (value: string) => void> = {
  duration: (v) => Duration.parse(v),
  size: (v) => Size.parse(v),
  "size-or-unlimited": (v) => Size.parse(v, { allowUnlimited: true }),
  quantity: (v) => Quantity.parse(v),
  "dns1123-label": (v) => {
    const problem = dns1123LabelProblem(v);
    if (problem !== undefined) throw new ValueParseError(`${problem}, got ${quote(v)}`);
  },
  "dns1123-subdomain": (v) => {
    if (v.length > 253 || !DNS1123_SUBDOMAIN.test(v)) {
      throw new ValueParseError(`must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.'), got ${quote(v)}`);
    }
  },
  // Checked with their context (server replicas, volume size) by the semantic rules.
  "nats-urls": () => {},
  settings: () => {},
  "stream-config": () => {},
};

/** Describes a value's type for a message, with the value when it is short. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return `string ${quote(value)}`;
    case "number":
      return `number ${value}`;
    case "boolean":
      return `boolean ${value}`;
    case "object":
      return "a mapping";
    default:
      return typeof value;
  }
}
