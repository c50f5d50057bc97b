import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { formatIssue, lint, LINT_RULES, validate, type ResolvedEventBus } from "../src/api/index.js";

function resolved(input: unknown): ResolvedEventBus {
  const result = validate(input);
  assert.ok(result.ok, result.issues.map(formatIssue).join("\n"));
  return result.bus;
}

function example(name: string): ResolvedEventBus {
  return resolved(parse(readFileSync(new URL(`../examples/${name}.yaml`, import.meta.url), "utf8")));
}

const rules = (bus: ResolvedEventBus, profile: "production" | "development") => lint(bus, profile).map((f) => `${f.severity} ${f.rule} ${f.path}`);

test("lint - the production example has no findings in the production profile", () => {
  assert.deepEqual(lint(example("production"), "production"), []);
});

test("lint - the development example fails production for replicas, persistence and auth", () => {
  assert.deepEqual(rules(example("development"), "production"), [
    "error replicas-min spec.jetstream.replicas",
    "error persistence-missing spec.jetstream.persistence",
    "error auth-none spec.jetstream.auth",
    "warning resources-missing spec.jetstream.containerTemplate.resources.requests",
  ]);
});

test("lint - the development profile is quiet: no errors for a development bus", () => {
  const findings = lint(example("development"), "development");
  assert.ok(
    findings.every((f) => f.severity !== "error"),
    JSON.stringify(findings),
  );
  assert.deepEqual(
    findings.map((f) => f.rule),
    ["persistence-missing", "auth-none"],
  );
});

test("lint - stream and version hazards are named with their paths", () => {
  const bus = resolved({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name: "x" },
    spec: {
      jetstream: {
        version: "latest",
        replicas: 4,
        persistence: { volumeSize: "10Gi" },
        settings: "max_file_store: -1",
        maxPayload: "16MB",
        streamConfig: "replicas: 1\nduplicates: 30s\nmaxAge: 0\nmaxMsgs: -1\nmaxBytes: -1\nretention: workqueue\n",
      },
    },
  });
  assert.deepEqual(rules(bus, "production"), [
    "error version-latest spec.jetstream.version",
    "error stream-replicas-single spec.jetstream.streamConfig.replicas",
    "warning retention-unbounded spec.jetstream.streamConfig",
    "warning duplicates-window-short spec.jetstream.streamConfig.duplicates",
    "warning retention-workqueue spec.jetstream.streamConfig.retention",
    "warning file-store-unbounded spec.jetstream.settings.max_file_store",
    "warning resources-missing spec.jetstream.containerTemplate.resources.requests",
    "warning anti-affinity-missing spec.jetstream.affinity",
    "warning max-payload-large spec.jetstream.maxPayload",
    "info replicas-even spec.jetstream.replicas",
  ]);
});

test("lint - external buses: skipped verification is an error, plain text a warning", () => {
  const skip = resolved({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name: "x" },
    spec: { jetstreamExotic: { url: "tls://a:4222", tls: { insecureSkipVerify: true } } },
  });
  assert.deepEqual(rules(skip, "production"), ["error tls-verify-skipped spec.jetstreamExotic.tls.insecureSkipVerify"]);
  const plain = resolved({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: "x" }, spec: { jetstreamExotic: { url: "nats://a" } } });
  assert.deepEqual(rules(plain, "production"), ["warning plaintext-external spec.jetstreamExotic.url"]);
});

test("lint - a 3-server bus on nats-server 2.10 is warned of its failover duplicates in production; 2.11 and a 1-server bus are not", () => {
  const bus = (version: string, replicas: number) =>
    resolved({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "x" },
      spec: { jetstream: { version, replicas, persistence: { volumeSize: "10Gi" }, streamConfig: "maxBytes: 8GB" } },
    });
  const findings = (version: string, replicas = 3) => lint(bus(version, replicas), "production").filter((f) => f.rule === "version-2.10-failover");
  for (const version of ["2.10", "2.10.29"]) {
    assert.deepEqual(
      findings(version).map((f) => `${f.severity} ${f.path} ${f.message}`),
      [
        `warning spec.jetstream.version "${version}" runs nats-server 2.10, whose new stream leader can store a retried publish a second time, and which can hang deleting a restored stream; use "2.11"`,
      ],
    );
  }
  assert.deepEqual(findings("2.11"), []);
  assert.deepEqual(findings("2.10", 1), [], "a single server has no leader change");
  assert.deepEqual(
    lint(bus("2.10", 3), "development").filter((f) => f.rule === "version-2.10-failover"),
    [],
  );
});

test("lint - a stream allowed to outgrow the file store is flagged", () => {
  const bus = resolved({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name: "x" },
    spec: { jetstream: { version: "2.10", persistence: { volumeSize: "10Gi" }, streamConfig: "maxBytes: 20GB" } },
  });
  assert.deepEqual(lint(bus, "development"), [
    {
      rule: "stream-exceeds-store",
      severity: "info",
      path: "spec.jetstream.streamConfig.maxBytes",
      message:
        "20GB is not below max_file_store (10GB): when the store is full, JetStream refuses every event and the stream has no leader until max_file_store is raised; set maxBytes below max_file_store, with room for consumers and sensors' KV buckets",
    },
  ]);
});

test("lint - a persistent bus whose stream has no maxBytes can outgrow its store; a bounded one cannot", () => {
  const spec = (streamConfig: string) =>
    resolved({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "x" },
      spec: { jetstream: { version: "2.10", persistence: { volumeSize: "10Gi" }, streamConfig } },
    });
  assert.deepEqual(lint(spec("maxAge: 72h"), "development"), [
    {
      rule: "stream-exceeds-store",
      severity: "info",
      path: "spec.jetstream.streamConfig.maxBytes",
      message:
        "not set: the stream is bounded only by maxMsgs and maxAge and can outgrow max_file_store (10GB); when the store is full, JetStream refuses every event and the stream has no leader until max_file_store is raised; set maxBytes below max_file_store, with room for consumers and sensors' KV buckets",
    },
  ]);
  assert.deepEqual(lint(spec("maxBytes: 8GB"), "development"), []);
  assert.deepEqual(
    lint(spec("maxBytes: 10GB"), "development").map((f) => f.rule),
    ["stream-exceeds-store"],
  );
});

test("lint - STAN is flagged as end-of-life", () => {
  assert.ok(rules(example("stan"), "production").includes("warning stan-deprecated spec.nats.native"));
});

test("lint - every rule has a unique id and a description", () => {
  const ids = LINT_RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const rule of LINT_RULES) assert.ok(rule.description.length > 10, rule.id);
});
