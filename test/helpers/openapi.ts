/**
 * An independent checker for Kubernetes CRD schemas, written from the apiextensions.k8s.io/v1 rules
 * rather than from src/api/structural.ts, so that the two cannot share a mistake.
 *
 * - {@link structuralProblems}: is an `openAPIV3Schema` a valid *structural* schema?
 * - {@link openApiErrors}: does a value pass the schema as the API server checks it, and would any
 *   of its fields be pruned?
 * @module
 */

/** An OpenAPI v3 schema node, as JSON. */
export type SchemaNode = { readonly [key: string]: unknown };

/** The keys of apiextensions.k8s.io/v1 JSONSchemaProps; anything else is rejected or dropped by the API server. */
const JSON_SCHEMA_PROPS_KEYS = new Set([
  "description",
  "type",
  "format",
  "title",
  "default",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "multipleOf",
  "enum",
  "maxProperties",
  "minProperties",
  "required",
  "items",
  "allOf",
  "oneOf",
  "anyOf",
  "not",
  "properties",
  "additionalProperties",
  "externalDocs",
  "example",
  "nullable",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-int-or-string",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-list-type",
  "x-kubernetes-map-type",
  "x-kubernetes-validations",
]);

/** JSON Schema keys that v1 CRDs forbid outright. */
const FORBIDDEN_KEYS = new Set(["$ref", "$schema", "id", "$id", "definitions", "patternProperties", "dependencies", "additionalItems"]);

const TYPES = new Set(["object", "array", "string", "integer", "number", "boolean"]);
const JUNCTORS = ["allOf", "anyOf", "oneOf", "not"] as const;

/** Keys that may appear in the branches of an int-or-string node's junctors. */
const INT_OR_STRING_BRANCH_KEYS = new Set(["type", "anyOf", "allOf", "oneOf", "pattern", "format", "minimum", "maximum", "minLength", "maxLength", "enum"]);

/** Restrictions on `metadata.name` / `metadata.generateName`, the only ones a root schema may place on metadata. */
const METADATA_RESTRICTION_KEYS = new Set(["type", "description", "pattern", "maxLength", "minLength", "format", "enum"]);

const isNode = (value: unknown): value is SchemaNode => typeof value === "object" && value !== null && !Array.isArray(value);
const own = (object: object, key: string): boolean => Object.hasOwn(object, key);
const child = (path: string, key: string) => `${path}.${/^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key)}`;

/**
 * The problems that keep `schema` (a CRD's `openAPIV3Schema`) from being a valid structural schema,
 * each as `<json path>: <problem>`, where the path starts at `$` (the schema root). Empty when valid.
 *
 * Checks: a `type` on every node (unless `x-kubernetes-int-or-string` or
 * `x-kubernetes-preserve-unknown-fields`); no `$ref` or other forbidden keywords, no keys that
 * JSONSchemaProps does not have (TypeBox leftovers such as `x-eventbus-format`); no
 * `additionalProperties: false`, nor `properties` with `additionalProperties`; `items` on every array;
 * junctors (`anyOf`, …) only in int-or-string nodes, with `integer`/`string` branches; `default`s
 * valid against their node and not pruned; at the root, `metadata` limited to `type: object` and
 * restrictions of `name` / `generateName`.
 *
 * The junctor rule is stricter than Kubernetes (which allows value validations in junctors
 * anywhere): the EventBus schema has no reason to use them elsewhere.
 */
export function structuralProblems(schema: unknown): string[] {
  const problems: string[] = [];
  if (!isNode(schema)) return ["$: the schema must be an object"];
  if (schema.type !== "object") problems.push(`$: the root must have type: object, got ${JSON.stringify(schema.type)}`);
  checkNode(schema, "$", problems, { root: true });
  return problems;
}

function checkNode(node: SchemaNode, path: string, problems: string[], at: { root?: boolean } = {}): void {
  const add = (problem: string): void => void problems.push(`${path}: ${problem}`);
  for (const key of Object.keys(node)) {
    if (FORBIDDEN_KEYS.has(key)) add(`${key} is not allowed in a v1 CRD schema`);
    else if (!JSON_SCHEMA_PROPS_KEYS.has(key)) add(`unknown schema keyword ${JSON.stringify(key)}`);
  }

  const intOrString = node["x-kubernetes-int-or-string"];
  const preserve = node["x-kubernetes-preserve-unknown-fields"];
  if (intOrString !== undefined && intOrString !== true) add("x-kubernetes-int-or-string must be true or absent");
  if (preserve !== undefined && preserve !== true) add("x-kubernetes-preserve-unknown-fields must be true or absent");
  const type = node.type;
  if (type === undefined) {
    if (intOrString !== true && preserve !== true) add("has no type (and is neither int-or-string nor preserve-unknown-fields)");
  } else if (typeof type !== "string" || !TYPES.has(type)) {
    add(`type must be one of ${[...TYPES].join(", ")}, got ${JSON.stringify(type)}`);
  }
  if (intOrString === true && type !== undefined) add("an int-or-string node must not set type");
  if (node.nullable !== undefined && typeof node.nullable !== "boolean") add("nullable must be a boolean");
  if (node.uniqueItems === true) add("uniqueItems: true is not allowed in a v1 CRD schema");

  // Objects: properties, or a map (additionalProperties as a schema), never both, never false.
  const properties = node.properties;
  const additional = node.additionalProperties;
  if (additional === false) add("additionalProperties: false is not allowed (unknown fields are pruned instead)");
  if (properties !== undefined && additional !== undefined) add("properties and additionalProperties are mutually exclusive");
  if (additional === true && preserve !== true) add("additionalProperties: true is not allowed; use x-kubernetes-preserve-unknown-fields");
  if ((properties !== undefined || additional !== undefined) && type !== undefined && type !== "object") {
    add(`properties / additionalProperties need type: object, got ${JSON.stringify(type)}`);
  }
  if (properties !== undefined) {
    if (!isNode(properties)) add("properties must be an object");
    else {
      for (const [name, sub] of Object.entries(properties)) {
        const subPath = child(`${path}.properties`, name);
        if (!isNode(sub)) {
          problems.push(`${subPath}: must be a schema object`);
          continue;
        }
        if (at.root && name === "metadata") checkRootMetadata(sub, subPath, problems);
        else checkNode(sub, subPath, problems);
      }
    }
  }
  if (isNode(additional)) checkNode(additional, `${path}.additionalProperties`, problems);
  if (node.required !== undefined) {
    if (!Array.isArray(node.required) || node.required.some((r) => typeof r !== "string")) add("required must be a list of strings");
    else if (isNode(properties)) {
      for (const name of node.required as string[]) if (!own(properties, name)) add(`required field ${JSON.stringify(name)} is not in properties`);
    }
  }

  // Arrays: one items schema.
  if (type === "array") {
    if (node.items === undefined) add("an array must have items");
    else if (!isNode(node.items)) add("items must be one schema object (not a list)");
  }
  if (node.items !== undefined && type !== undefined && type !== "array") add(`items needs type: array, got ${JSON.stringify(type)}`);
  if (isNode(node.items)) checkNode(node.items, `${path}.items`, problems);

  // Junctors: only the int-or-string pattern.
  for (const junctor of JUNCTORS) {
    const branches = node[junctor];
    if (branches === undefined) continue;
    if (intOrString !== true) {
      add(`${junctor} is only allowed in an x-kubernetes-int-or-string node`);
      continue;
    }
    const list = junctor === "not" ? [branches] : branches;
    if (!Array.isArray(list)) {
      add(`${junctor} must be a list`);
      continue;
    }
    list.forEach((branch, i) => checkIntOrStringBranch(branch, `${path}.${junctor}[${i}]`, problems));
  }

  if (node.enum !== undefined) {
    if (!Array.isArray(node.enum)) add("enum must be a list");
    else {
      node.enum.forEach((value, i) => {
        for (const error of openApiErrors({ ...node, enum: undefined, default: undefined }, value, { resourceRoot: false })) {
          add(`enum[${i}] does not match its own node: ${error}`);
        }
      });
    }
  }
  if (own(node, "default")) {
    for (const error of openApiErrors(node, node.default, { resourceRoot: false })) add(`default is not valid against its node: ${error}`);
  }
}

function checkIntOrStringBranch(branch: unknown, path: string, problems: string[]): void {
  if (!isNode(branch)) {
    problems.push(`${path}: must be a schema object`);
    return;
  }
  for (const key of Object.keys(branch)) {
    if (!INT_OR_STRING_BRANCH_KEYS.has(key)) problems.push(`${path}: ${key} is not allowed in a junctor branch`);
  }
  if (branch.type !== undefined && branch.type !== "integer" && branch.type !== "string") {
    problems.push(`${path}: an int-or-string branch may only have type integer or string, got ${JSON.stringify(branch.type)}`);
  }
  for (const junctor of ["anyOf", "allOf", "oneOf"] as const) {
    const nested = branch[junctor];
    if (nested === undefined) continue;
    if (!Array.isArray(nested)) problems.push(`${path}.${junctor}: must be a list`);
    else nested.forEach((b, i) => checkIntOrStringBranch(b, `${path}.${junctor}[${i}]`, problems));
  }
}

function checkRootMetadata(node: SchemaNode, path: string, problems: string[]): void {
  for (const key of Object.keys(node)) {
    if (key !== "type" && key !== "description" && key !== "properties") {
      problems.push(`${path}: only type: object and restrictions of name and generateName are allowed on metadata, got ${key}`);
    }
  }
  if (node.type !== "object") problems.push(`${path}: metadata must have type: object, got ${JSON.stringify(node.type)}`);
  if (node.properties === undefined) return;
  if (!isNode(node.properties)) {
    problems.push(`${path}.properties: must be an object`);
    return;
  }
  for (const [name, sub] of Object.entries(node.properties)) {
    const subPath = child(`${path}.properties`, name);
    if (name !== "name" && name !== "generateName") {
      problems.push(`${subPath}: only name and generateName may be restricted under metadata`);
      continue;
    }
    if (!isNode(sub)) {
      problems.push(`${subPath}: must be a schema object`);
      continue;
    }
    if (sub.type !== "string") problems.push(`${subPath}: must have type: string`);
    for (const key of Object.keys(sub)) {
      if (!METADATA_RESTRICTION_KEYS.has(key)) problems.push(`${subPath}: ${key} is not a restriction allowed on metadata.${name}`);
    }
  }
}

/** Options of {@link openApiErrors}. */
export interface OpenApiOptions {
  /**
   * The value is a whole custom resource: `apiVersion`, `kind` and `metadata` at its root are the
   * API server's (ObjectMeta), never pruned by the schema.
   * @default true
   */
  resourceRoot?: boolean;
}

/** The suffix of the entries of {@link openApiErrors} that report pruned fields. */
export const PRUNED = "would be pruned";

/**
 * Checks `value` against an OpenAPI v3 schema as the Kubernetes API server does, for the subset a
 * structural CRD uses: `type`, `properties`, `required`, `additionalProperties` (a schema), `items`,
 * `enum`, `minimum` / `maximum`, `minLength` / `maxLength` / `pattern`, `minItems` / `maxItems`,
 * `nullable`, `x-kubernetes-int-or-string` and `x-kubernetes-preserve-unknown-fields`.
 *
 * Each entry is `<path>: <problem>` (the path is `(root)` or `spec.jetstream.replicas`). Fields the
 * API server would silently drop (unknown fields, `null` in a non-nullable field) are reported as
 * `<path>: would be pruned` so that tests can assert that nothing is lost.
 */
export function openApiErrors(schema: unknown, value: unknown, options: OpenApiOptions = {}): string[] {
  const errors: string[] = [];
  if (!isNode(schema)) return ["(root): the schema must be an object"];
  validateValue(schema, value, [], errors, options.resourceRoot ?? true);
  return errors;
}

/** Only the pruned-field entries of {@link openApiErrors}. */
export function prunedFields(schema: unknown, value: unknown, options: OpenApiOptions = {}): string[] {
  return openApiErrors(schema, value, options).filter((e) => e.endsWith(PRUNED) || e.includes(`${PRUNED} (`));
}

type Segment = string | number;

function formatValuePath(path: readonly Segment[]): string {
  if (path.length === 0) return "(root)";
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value) as object | null;
    return proto === Object.prototype || proto === null ? "object" : `object of class ${(proto.constructor as { name?: string } | undefined)?.name ?? "?"}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return `non-finite number ${value}`;
  return typeof value;
}

function validateValue(schema: SchemaNode, value: unknown, path: readonly Segment[], errors: string[], resourceRoot: boolean): void {
  const at = formatValuePath(path);
  const add = (problem: string): void => void errors.push(`${at}: ${problem}`);
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;

  if (value === undefined) return; // absent (JSON drops it)
  if (value === null) {
    if (schema.nullable === true || (preserve && schema.type === undefined)) return;
    add(`${PRUNED} (null in a field that is not nullable)`);
    return;
  }
  const kind = kindOf(value);
  if (kind.startsWith("object of class") || kind.startsWith("non-finite") || ["bigint", "symbol", "function"].includes(kind)) {
    add(`is not a JSON value (${kind})`);
    return;
  }

  if (schema["x-kubernetes-int-or-string"] === true) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) add(`must be an integer or a string, got ${kind}`);
    return;
  }

  switch (schema.type) {
    case "string":
      if (typeof value !== "string") return add(`must be a string, got ${kind}`);
      if (typeof schema.minLength === "number" && value.length < schema.minLength) add(`must be at least ${schema.minLength} characters`);
      if (typeof schema.maxLength === "number" && value.length > schema.maxLength) add(`must be at most ${schema.maxLength} characters`);
      if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) add(`must match ${schema.pattern}`);
      break;
    case "integer":
    case "number":
      if (typeof value !== "number" || (schema.type === "integer" && !Number.isInteger(value)))
        return add(`must be ${schema.type === "integer" ? "an integer" : "a number"}, got ${kind}`);
      if (typeof schema.minimum === "number" && (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum))
        add(`must be >= ${schema.minimum}, got ${value}`);
      if (typeof schema.maximum === "number" && (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum))
        add(`must be <= ${schema.maximum}, got ${value}`);
      break;
    case "boolean":
      if (typeof value !== "boolean") return add(`must be a boolean, got ${kind}`);
      break;
    case "array":
      if (!Array.isArray(value)) return add(`must be an array, got ${kind}`);
      if (typeof schema.minItems === "number" && value.length < schema.minItems) add(`must have at least ${schema.minItems} items`);
      if (typeof schema.maxItems === "number" && value.length > schema.maxItems) add(`must have at most ${schema.maxItems} items`);
      if (isNode(schema.items)) value.forEach((item, i) => validateValue(schema.items as SchemaNode, item, [...path, i], errors, false));
      break;
    case "object":
      if (kind !== "object") return add(`must be an object, got ${kind}`);
      validateObject(schema, value as Record<string, unknown>, path, errors, resourceRoot);
      break;
    case undefined:
      if (!preserve) return add("the schema node has no type");
      // Untyped and preserved: any value; known properties of an object are still checked.
      if (kind === "object") validateObject(schema, value as Record<string, unknown>, path, errors, resourceRoot);
      return;
    default:
      return add(`the schema node has an unknown type ${JSON.stringify(schema.type)}`);
  }

  if (Array.isArray(schema.enum) && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    add(`must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(value)}`);
  }
}

function validateObject(schema: SchemaNode, value: Record<string, unknown>, path: readonly Segment[], errors: string[], resourceRoot: boolean): void {
  const properties = isNode(schema.properties) ? schema.properties : {};
  const additional = schema.additionalProperties;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  for (const [key, fieldValue] of Object.entries(value)) {
    const fieldPath = [...path, key];
    // ObjectMeta and the type meta belong to the API server, whatever the schema says of them.
    if (resourceRoot && (key === "apiVersion" || key === "kind" || key === "metadata")) {
      if (key === "metadata" && (typeof fieldValue !== "object" || fieldValue === null || Array.isArray(fieldValue))) {
        errors.push(`${formatValuePath(fieldPath)}: must be an object`);
      } else if (key !== "metadata" && typeof fieldValue !== "string") {
        errors.push(`${formatValuePath(fieldPath)}: must be a string`);
      }
      continue;
    }
    if (own(properties, key) && isNode(properties[key])) validateValue(properties[key] as SchemaNode, fieldValue, fieldPath, errors, false);
    else if (isNode(additional)) validateValue(additional, fieldValue, fieldPath, errors, false);
    else if (preserve || additional === true) continue;
    else if (fieldValue !== undefined) errors.push(`${formatValuePath(fieldPath)}: ${PRUNED}`);
  }
  if (Array.isArray(schema.required)) {
    for (const key of schema.required) {
      if (typeof key === "string" && (!own(value, key) || value[key] === undefined || value[key] === null)) {
        errors.push(`${formatValuePath([...path, key])}: is required`);
      }
    }
  }
}
