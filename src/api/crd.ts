import { FieldFormat, FORMAT_KEYWORD } from "./schema-builders.js";
import { EVENTBUS_KIND, EventBusSpecSchema, EventBusStatusSchema } from "./schema.js";

/** The group, version and names under which the EventBus resource is served (as Argo Events). */
export const EVENTBUS_GROUP = "argoproj.io";
export const EVENTBUS_VERSION = "v1alpha1";
export const EVENTBUS_PLURAL = "eventbus";
export const EVENTBUS_SHORT_NAMES = ["eb"] as const;

type JsonObject = { [key: string]: JsonValue };
type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/**
 * Keywords of the EventBus schema the CRD leaves out. Argo Events' CRD keeps `spec` and `status`
 * as written (`x-kubernetes-preserve-unknown-fields`, no other rule), so the API server must not
 * refuse, default or change what Argo's accepts: value rules (enums, ranges, required fields) are
 * eventbus's validation's, reported in the bus's `Configured` condition with the field path, and a
 * `default` would be written into stored buses when they are read.
 */
const NOT_IN_CRD = new Set([
  FORMAT_KEYWORD,
  "$id",
  "additionalProperties",
  "properties",
  "items",
  "anyOf",
  "enum",
  "minimum",
  "maximum",
  "required",
  "default",
]);

/**
 * Turns the EventBus schema into a structural OpenAPI v3 schema that keeps every object Argo
 * Events' CRD keeps: every level typed (for `kubectl explain` and the printer columns), every node
 * `nullable`, every object with `x-kubernetes-preserve-unknown-fields` (no field is pruned, as
 * none is by Argo's CRD: fields of other Argo versions such as `antiAffinity`, `spec.kafka`, future
 * ones), maps as `additionalProperties`, no value rules (see {@link NOT_IN_CRD}).
 */
export function toStructuralSchema(schema: unknown): JsonObject {
  return structural(schema, false);
}

/** One node; a branch of `anyOf` (int-or-string) takes no `nullable`, which the API server refuses there. */
function structural(schema: unknown, branch: boolean): JsonObject {
  const source = schema as Record<string, unknown>;
  if (source[FORMAT_KEYWORD] === FieldFormat.quantity && source["x-kubernetes-int-or-string"] === true) {
    // A quantity may be any JSON number (`cpu: 0.5`, as Kubernetes and Argo's CRD take it), which
    // int-or-string refuses: the node keeps any value, and the validation parses it.
    return { ...(typeof source.description === "string" && { description: source.description }), nullable: true, "x-kubernetes-preserve-unknown-fields": true };
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(source)) {
    if (NOT_IN_CRD.has(key)) continue;
    out[key] = value as JsonValue;
  }
  if (!branch) out.nullable = true;
  if (Array.isArray(source.anyOf)) out.anyOf = source.anyOf.map((s) => structural(s, true));
  if (source.items) out.items = toStructuralSchema(source.items);
  if (source.properties) {
    const properties: JsonObject = {};
    for (const [name, child] of Object.entries(source.properties as Record<string, unknown>)) properties[name] = toStructuralSchema(child);
    out.properties = properties;
    out["x-kubernetes-preserve-unknown-fields"] = true;
  }
  if (typeof source.additionalProperties === "object") out.additionalProperties = toStructuralSchema(source.additionalProperties);
  else if (source.additionalProperties === true) out["x-kubernetes-preserve-unknown-fields"] = true;
  if (out.type === undefined && out["x-kubernetes-int-or-string"] === undefined && out["x-kubernetes-preserve-unknown-fields"] === undefined) {
    out["x-kubernetes-preserve-unknown-fields"] = true; // an untyped field (any value) stays as written
  }
  return out;
}

const condition = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;

/** The EventBus CustomResourceDefinition (apiextensions.k8s.io/v1), with a structural schema. */
export function eventBusCrd(): JsonObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${EVENTBUS_PLURAL}.${EVENTBUS_GROUP}` },
    spec: {
      group: EVENTBUS_GROUP,
      names: {
        kind: EVENTBUS_KIND,
        listKind: `${EVENTBUS_KIND}List`,
        plural: EVENTBUS_PLURAL,
        singular: EVENTBUS_PLURAL,
        shortNames: [...EVENTBUS_SHORT_NAMES],
      },
      scope: "Namespaced",
      versions: [
        {
          name: EVENTBUS_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Phase", type: "string", jsonPath: ".status.phase" },
            { name: "Version", type: "string", jsonPath: ".spec.jetstream.version" },
            { name: "Replicas", type: "integer", jsonPath: ".spec.jetstream.replicas" },
            { name: "Configured", type: "string", jsonPath: condition("Configured") },
            { name: "Deployed", type: "string", jsonPath: condition("Deployed") },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: "EventBus: the message transport of an event-driven platform, a NATS JetStream or NATS Streaming cluster.",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toStructuralSchema(EventBusSpecSchema),
                status: toStructuralSchema(EventBusStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}
