import { FORMAT_KEYWORD } from "./schema-builders.js";
import { EVENTBUS_KIND, EventBusSpecSchema, EventBusStatusSchema } from "./schema.js";

/** The group, version and names under which the EventBus resource is served (as Argo Events). */
export const EVENTBUS_GROUP = "argoproj.io";
export const EVENTBUS_VERSION = "v1alpha1";
export const EVENTBUS_PLURAL = "eventbus";
export const EVENTBUS_SHORT_NAMES = ["eb"] as const;

type JsonObject = { [key: string]: JsonValue };
type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/**
 * Turns the EventBus schema into a structural OpenAPI v3 schema: every level typed, no
 * `additionalProperties: false` (the API server prunes unknown fields instead), maps as
 * `additionalProperties`, free-form objects as `x-kubernetes-preserve-unknown-fields`.
 */
export function toStructuralSchema(schema: unknown): JsonObject {
  const source = schema as Record<string, unknown>;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === FORMAT_KEYWORD || key === "$id" || key === "additionalProperties" || key === "properties" || key === "items" || key === "anyOf") continue;
    out[key] = value as JsonValue;
  }
  if (Array.isArray(source.anyOf)) out.anyOf = source.anyOf.map((s) => toStructuralSchema(s));
  if (source.items) out.items = toStructuralSchema(source.items);
  if (source.properties) {
    const properties: JsonObject = {};
    for (const [name, child] of Object.entries(source.properties as Record<string, unknown>)) properties[name] = toStructuralSchema(child);
    out.properties = properties;
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
