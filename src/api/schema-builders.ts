import { Type, type TSchema, type TUnsafe, type SchemaOptions } from "@sinclair/typebox";

/**
 * The keyword that marks a string field whose text is parsed by eventbus (a duration, a size, …).
 * Validation parses such fields; the CRD generator drops the keyword.
 */
export const FORMAT_KEYWORD = "x-eventbus-format";

/** The value types and embedded formats that string fields may carry. */
export const FieldFormat = {
  duration: "duration",
  size: "size",
  sizeOrUnlimited: "size-or-unlimited",
  quantity: "quantity",
  dns1123Label: "dns1123-label",
  dns1123Subdomain: "dns1123-subdomain",
  natsUrls: "nats-urls",
  settings: "settings",
  streamConfig: "stream-config",
} as const;
export type FieldFormat = (typeof FieldFormat)[keyof typeof FieldFormat];

/** A string with a parsed format. */
export function Formatted(format: FieldFormat, options: SchemaOptions = {}) {
  return Type.String({ ...options, [FORMAT_KEYWORD]: format });
}

/** A string that is one of a closed set, as `enum` (the form a structural CRD schema needs). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: "string", enum: [...values] });
}

/** A map with string keys and values of one schema, as `additionalProperties`. */
export function MapOf<T extends TSchema>(values: T, options: SchemaOptions = {}): TUnsafe<Record<string, T["static"]>> {
  return Type.Unsafe<Record<string, T["static"]>>({ ...options, type: "object", additionalProperties: values });
}

/** A Kubernetes int-or-string field (resource quantities, ports by name). */
export function IntOrString(options: SchemaOptions = {}): TUnsafe<string | number> {
  return Type.Unsafe<string | number>({
    ...options,
    "x-kubernetes-int-or-string": true,
    anyOf: [{ type: "integer" }, { type: "string" }],
  });
}

/** An object whose fields are all optional and no other field is allowed. */
export function Strict<T extends Record<string, TSchema>>(properties: T, options: SchemaOptions = {}) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}
