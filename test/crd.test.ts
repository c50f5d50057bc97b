import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { parse, parseAllDocuments } from "yaml";

import { eventBusCrd, validate, withDefaults } from "../src/api/index.js";
import type { Io } from "../src/cli/io.js";
import { runCli } from "../src/cli/program.js";
import { openApiErrors, structuralProblems, type SchemaNode } from "./helpers/openapi.js";

const EXAMPLES_DIR = fileURLToPath(new URL("../examples/", import.meta.url));

type Json = Record<string, unknown>;

/** The one version of the CRD, typed loosely for assertions. */
function crdVersion(crd: Json = eventBusCrd()): Json {
  const versions = (crd.spec as Json).versions as Json[];
  assert.equal(versions.length, 1);
  return versions[0]!;
}

function openApiSchema(crd: Json = eventBusCrd()): SchemaNode {
  return (crdVersion(crd).schema as Json).openAPIV3Schema as SchemaNode;
}

/** Every document of every example file, with its origin for messages. */
function exampleDocuments(): { origin: string; value: unknown }[] {
  const files = readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort();
  assert.ok(files.length > 0, "no examples found");
  const out: { origin: string; value: unknown }[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(join(EXAMPLES_DIR, file), "utf8"));
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      assert.deepEqual(doc.errors, [], `${file} document ${i + 1} does not parse`);
      const value = doc.toJS();
      if (value !== null && value !== undefined) out.push({ origin: `${file}#${i + 1}`, value });
    });
  }
  return out;
}

/** An `Io` that collects what a command writes. */
function collectingIo(): Io & { out: () => string; err: () => string } {
  let stdout = "";
  let stderr = "";
  return {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => "",
    out: () => stdout,
    err: () => stderr,
  };
}

/** Follows `properties` down a schema: `node(schema, "spec", "jetstream")`. */
function node(schema: SchemaNode, ...names: string[]): Json {
  let at: Json = schema as Json;
  for (const name of names) {
    const next = (at.properties as Json | undefined)?.[name] ?? (name === "items" ? at.items : undefined);
    assert.ok(next, `no schema node ${names.join(".")}`);
    at = next as Json;
  }
  return at;
}

test("crd - names the EventBus resource of argoproj.io as Argo Events does", () => {
  const crd = eventBusCrd();
  assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
  assert.equal(crd.kind, "CustomResourceDefinition");
  assert.deepEqual(crd.metadata, { name: "eventbus.argoproj.io" });
  const spec = crd.spec as Json;
  assert.equal(spec.group, "argoproj.io");
  assert.equal(spec.scope, "Namespaced");
  assert.deepEqual(spec.names, {
    kind: "EventBus",
    listKind: "EventBusList",
    plural: "eventbus",
    singular: "eventbus",
    shortNames: ["eb"],
  });
});

test("crd - serves and stores v1alpha1 with a status subresource", () => {
  const version = crdVersion();
  assert.equal(version.name, "v1alpha1");
  assert.equal(version.served, true);
  assert.equal(version.storage, true);
  assert.deepEqual(version.subresources, { status: {} });
});

test("crd - printer columns show phase, version, replicas, conditions and age", () => {
  const columns = crdVersion().additionalPrinterColumns as { name: string; type: string; jsonPath: string }[];
  assert.deepEqual(
    columns.map((c) => [c.name, c.type, c.jsonPath]),
    [
      ["Phase", "string", ".status.phase"],
      ["Version", "string", ".spec.jetstream.version"],
      ["Replicas", "integer", ".spec.jetstream.replicas"],
      ["Configured", "string", '.status.conditions[?(@.type=="Configured")].status'],
      ["Deployed", "string", '.status.conditions[?(@.type=="Deployed")].status'],
      ["Age", "date", ".metadata.creationTimestamp"],
    ],
  );
  // Every column's path points at a field the schema knows (a typo would show an empty column).
  const schema = openApiSchema();
  for (const column of columns.filter((c) => c.jsonPath.startsWith(".spec."))) {
    const names = column.jsonPath.slice(1).split(".");
    const leaf = node(schema, ...names);
    assert.equal(leaf.type, column.type, column.jsonPath);
  }
});

test("crd - the openAPIV3Schema is structural", () => {
  assert.deepEqual(structuralProblems(openApiSchema()), []);
});

test("crd - with the status subresource, the root schema holds only what the API server allows there", () => {
  const schema = openApiSchema();
  const allowed = new Set(["type", "description", "properties", "required", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-validations"]);
  assert.deepEqual(
    Object.keys(schema).filter((k) => !allowed.has(k)),
    [],
  );
  assert.deepEqual(Object.keys(schema.properties as Json).sort(), ["apiVersion", "kind", "metadata", "spec", "status"]);
  assert.deepEqual(schema.required, ["spec"]);
});

test("crd - the schema describes every mode and the eventbus extensions", () => {
  const schema = openApiSchema();
  assert.deepEqual(Object.keys(node(schema, "spec").properties as Json).sort(), ["jetstream", "jetstreamExotic", "nats"]);
  assert.deepEqual(Object.keys(node(schema, "spec", "nats").properties as Json).sort(), ["exotic", "native"]);
  assert.equal(node(schema, "spec", "jetstream", "auth").type, "string");
  // Value rules are eventbus's validation's, not the API server's (Argo's CRD has none).
  assert.equal(node(schema, "spec", "jetstream", "auth").enum, undefined);
  assert.equal(node(schema, "spec", "jetstream", "replicas").default, undefined);
  assert.equal(node(schema, "spec", "jetstream", "tls", "enabled").type, "boolean");
  assert.equal(node(schema, "spec", "jetstream", "replicas").type, "integer");
  // Value types are plain strings in the CRD; eventbus parses them, the API server does not.
  assert.deepEqual(node(schema, "spec", "jetstream", "persistence", "volumeSize").type, "string");
  // Maps are additionalProperties; resources take any value (`cpu: 0.5` as Kubernetes does), parsed by the validation.
  assert.deepEqual(node(schema, "spec", "jetstream", "nodeSelector").additionalProperties, { type: "string", nullable: true });
  const limits = node(schema, "spec", "jetstream", "containerTemplate", "resources", "limits");
  assert.deepEqual(limits.additionalProperties, { nullable: true, "x-kubernetes-preserve-unknown-fields": true });
  // Free-form status fields are preserved, not pruned.
  assert.equal(node(schema, "status")["x-kubernetes-preserve-unknown-fields"], true);
});

test("crd - no TypeBox leftovers in the JSON (format keyword, $id, additionalProperties: false)", () => {
  const text = JSON.stringify(eventBusCrd());
  assert.ok(!text.includes("x-eventbus-format"), "x-eventbus-format leaked into the CRD");
  assert.ok(!text.includes('"$id"'), "$id leaked into the CRD");
  assert.ok(!text.includes('"additionalProperties":false'), "additionalProperties: false leaked into the CRD");
});

test("crd - the structural checker reports broken copies of the schema", () => {
  // GIVEN one deliberate breakage per rule, applied to a fresh copy of the real schema
  const breakages: { name: string; expect: RegExp; apply: (s: Json) => void }[] = [
    {
      name: "a type deleted deep inside",
      expect: /\$\.properties\.spec\.properties\.jetstream\.properties\.tls\.properties\.enabled: has no type/,
      apply: (s) => void delete node(s, "spec", "jetstream", "tls", "enabled").type,
    },
    {
      name: "additionalProperties: false",
      expect: /jetstream: additionalProperties: false is not allowed/,
      apply: (s) => void (node(s, "spec", "jetstream").additionalProperties = false),
    },
    {
      name: "properties beside a map",
      expect: /nodeSelector: properties and additionalProperties are mutually exclusive/,
      apply: (s) => void (node(s, "spec", "jetstream", "nodeSelector").properties = { a: { type: "string" } }),
    },
    {
      name: "a $ref",
      expect: /persistence: \$ref is not allowed/,
      apply: (s) => void (node(s, "spec", "jetstream", "persistence").$ref = "#/definitions/Persistence"),
    },
    {
      name: "an array without items",
      expect: /tolerations: an array must have items/,
      apply: (s) => void delete node(s, "spec", "jetstream", "tolerations").items,
    },
    {
      name: "a TypeBox format keyword",
      expect: /maxPayload: unknown schema keyword "x-eventbus-format"/,
      apply: (s) => void (node(s, "spec", "jetstream", "maxPayload")["x-eventbus-format"] = "size"),
    },
    {
      name: "anyOf outside int-or-string",
      expect: /replicas: anyOf is only allowed in an x-kubernetes-int-or-string node/,
      apply: (s) => void (node(s, "spec", "jetstream", "replicas").anyOf = [{ type: "integer" }, { type: "string" }]),
    },
    {
      name: "an object branch in int-or-string",
      expect: /anyOf\[1\]: an int-or-string branch may only have type integer or string/,
      apply: (s) =>
        void (node(s, "spec", "jetstream", "containerTemplate", "resources", "limits").additionalProperties = {
          "x-kubernetes-int-or-string": true,
          anyOf: [{ type: "integer" }, { type: "object" }],
        }),
    },
    {
      name: "type on an int-or-string node",
      expect: /int-or-string node must not set type/,
      apply: (s) =>
        void (node(s, "spec", "jetstream", "containerTemplate", "resources", "limits").additionalProperties = {
          "x-kubernetes-int-or-string": true,
          type: "string",
        }),
    },
    {
      name: "a default of the wrong type",
      expect: /replicas: default is not valid against its node: \(root\): must be an integer/,
      apply: (s) => void (node(s, "spec", "jetstream", "replicas").default = "three"),
    },
    {
      name: "a default outside the enum",
      expect: /auth: default is not valid against its node/,
      apply: (s) => void Object.assign(node(s, "spec", "jetstream", "auth"), { enum: ["basic"], default: "kerberos" }),
    },
    {
      name: "a default with a field that would be pruned",
      expect: /tls: default is not valid against its node: bogus: would be pruned/,
      apply: (s) => {
        const tls = node(s, "spec", "jetstream", "tls");
        delete tls["x-kubernetes-preserve-unknown-fields"];
        tls.default = { bogus: true };
      },
    },
    {
      name: "metadata with fields beyond name",
      expect: /metadata\.properties\.labels: only name and generateName/,
      apply: (s) => void (node(s, "metadata").properties = { labels: { type: "object" } }),
    },
    { name: "metadata without type", expect: /\$\.properties\.metadata: metadata must have type: object/, apply: (s) => void delete node(s, "metadata").type },
    {
      name: "preserve-unknown-fields: false",
      expect: /status: x-kubernetes-preserve-unknown-fields must be true or absent/,
      apply: (s) => void (node(s, "status")["x-kubernetes-preserve-unknown-fields"] = false),
    },
    {
      name: "a required field that is not a property",
      expect: /accessSecret: required field "nope" is not in properties/,
      apply: (s) => void (node(s, "spec", "jetstreamExotic", "accessSecret").required = ["name", "nope"]),
    },
  ];
  for (const breakage of breakages) {
    const broken = structuredClone(openApiSchema()) as Json;
    // WHEN the copy is broken
    breakage.apply(broken);
    // THEN the checker reports it, at the broken node
    const problems = structuralProblems(broken);
    assert.ok(problems.length > 0, `${breakage.name}: not reported`);
    assert.ok(
      problems.some((p) => breakage.expect.test(p)),
      `${breakage.name}: expected ${breakage.expect}, got\n${problems.join("\n")}`,
    );
  }
});

test("crd - the value checker: only a wrong type is refused; enums, required and unknown fields are kept (as Argo's CRD keeps them)", () => {
  const schema = openApiSchema();
  const bus = (jetstream: unknown) => ({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name: "a", labels: { x: "y" } },
    spec: { jetstream },
  });
  assert.deepEqual(openApiErrors(schema, bus({ version: "2.10" })), []);
  assert.deepEqual(openApiErrors(schema, bus({ replicas: "3" })), ["spec.jetstream.replicas: must be an integer, got string"]);
  // eventbus's validation refuses these, in the bus's Configured condition; the API server stores them.
  assert.deepEqual(openApiErrors(schema, bus({ auth: "kerberos" })), []);
  assert.deepEqual(openApiErrors(schema, bus({ replcas: 3, tls: { enabled: true, future: { x: 1 } } })), []);
  assert.deepEqual(openApiErrors(schema, bus({ version: null })), []);
  assert.deepEqual(openApiErrors(schema, bus({ tolerations: [{ operator: "Sometimes", effect: "" }] })), []);
  assert.deepEqual(openApiErrors(schema, bus({ containerTemplate: { resources: { limits: { cpu: 0.5, memory: "1Gi" } } } })), []);
  assert.deepEqual(openApiErrors(schema, { ...bus({}), spec: { jetstreamExotic: { accessSecret: { name: "s" } } } }), []);
  assert.deepEqual(openApiErrors(schema, { ...bus({}), spec: { kafka: { url: "kafka:9092", topic: "t" } } }), []);
  assert.deepEqual(openApiErrors(schema, { metadata: { name: "a" } }), ["spec: is required"]);
  // A value type that leaked into a manifest is not JSON.
  assert.deepEqual(openApiErrors(schema, bus({ maxPayload: new Date(0) })), ["spec.jetstream.maxPayload: is not a JSON value (object of class Date)"]);
  // Status is free-form below its known fields.
  assert.deepEqual(openApiErrors(schema, { ...bus({}), status: { phase: "Running", anything: { goes: [1] } } }), []);
});

test("crd - every example is accepted by the CRD schema with nothing pruned", () => {
  const schema = openApiSchema();
  const documents = exampleDocuments();
  assert.ok(documents.length >= 5, `expected the five examples, got ${documents.length}`);
  for (const { origin, value } of documents) {
    assert.deepEqual(openApiErrors(schema, value), [], origin);
  }
});

test("crd - every example with its defaults written out is accepted with nothing pruned", () => {
  const schema = openApiSchema();
  for (const { origin, value } of exampleDocuments()) {
    const result = validate(value);
    assert.ok(result.ok, `${origin}: ${JSON.stringify(result.issues)}`);
    const withAll = withDefaults(result.bus);
    assert.deepEqual(openApiErrors(schema, withAll), [], `${origin} (withDefaults)`);
    // And what kubectl would send: the JSON form.
    assert.deepEqual(openApiErrors(schema, JSON.parse(JSON.stringify(withAll))), [], `${origin} (withDefaults, as JSON)`);
  }
});

test("crd - is deterministic: two calls give byte-identical JSON", () => {
  assert.equal(JSON.stringify(eventBusCrd()), JSON.stringify(eventBusCrd()));
  // Mutating one result does not leak into the next.
  const first = eventBusCrd();
  ((first.spec as Json).names as Json).shortNames = ["changed"];
  assert.deepEqual(((eventBusCrd().spec as Json).names as Json).shortNames, ["eb"]);
});

test("crd - `eventbus crd -o json` prints the CRD", async () => {
  const io = collectingIo();
  const code = await runCli(["crd", "-o", "json"], io);
  assert.equal(code, 0, io.err());
  assert.equal(io.err(), "");
  assert.deepEqual(JSON.parse(io.out()), eventBusCrd());
  assert.equal(io.out(), `${JSON.stringify(eventBusCrd(), null, 2)}\n`);
});

test("crd - `eventbus crd` prints YAML (the default) that parses back to the CRD", async () => {
  const io = collectingIo();
  const code = await runCli(["crd"], io);
  assert.equal(code, 0, io.err());
  assert.equal(io.err(), "");
  assert.deepEqual(parse(io.out()), eventBusCrd());
  const explicit = collectingIo();
  assert.equal(await runCli(["crd", "-o", "yaml"], explicit), 0);
  assert.equal(explicit.out(), io.out());
});
