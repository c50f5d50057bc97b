import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  acceptedJetStreamVersions,
  ARGO_JETSTREAM_VERSIONS,
  checkVersionsTable,
  isVersionsError,
  knownJetStreamVersions,
  knownStanVersions,
  resolveJetStreamVersion,
  resolveStanVersion,
  UnknownVersionError,
  versionsTable,
  VersionsErrorCode,
} from "../src/versions/index.js";

const versionsDir = fileURLToPath(new URL("../src/versions/", import.meta.url));

test("versions - the table is consistent and latest is nats-server 2.10.29", () => {
  assert.deepEqual(checkVersionsTable(versionsTable()), []);
  assert.deepEqual(resolveJetStreamVersion("latest"), { name: "latest", serverVersion: "2.10.29" });
  assert.deepEqual(resolveJetStreamVersion("2.11"), { name: "2.11", serverVersion: "2.11.17" });
  assert.deepEqual(resolveStanVersion("latest"), { name: "latest", serverVersion: "0.25.6" });
  assert.deepEqual(knownJetStreamVersions(), ["latest", "2.10", "2.10.29", "2.11", "2.11.17"]);
  assert.deepEqual(knownStanVersions(), ["latest", "0.25", "0.25.6"]);
  assert.deepEqual(acceptedJetStreamVersions(), [...knownJetStreamVersions(), ...ARGO_JETSTREAM_VERSIONS]);
});

test("versions - an inconsistent versions table is reported with every issue", () => {
  assert.deepEqual(checkVersionsTable({ jetstreamVersions: { "2.10": "2.10.29" }, stanVersions: {} }), [
    'jetstreamVersions: must have a "latest" entry',
    'stanVersions: must have a "latest" entry',
  ]);
  const schema = checkVersionsTable({ jetstreamVersions: { latest: "2.10" }, stanVersions: { latest: "0.25.6" }, binaries: {} });
  assert.ok(schema.length > 0, "a schema violation is an issue");
  assert.ok(
    schema.some((issue) => issue.startsWith("/jetstreamVersions/latest:")),
    schema.join("\n"),
  );
});

test("versions - an unknown JetStream version is an UnknownVersionError naming the known ones", () => {
  assert.throws(
    () => resolveJetStreamVersion("2.9"),
    (err: unknown) => {
      assert.ok(err instanceof UnknownVersionError);
      assert.ok(isVersionsError(err, VersionsErrorCode.unknownVersion));
      assert.equal(err.code, "UNKNOWN_VERSION");
      assert.equal(err.message, 'unknown JetStream version "2.9"; known versions: latest, 2.10, 2.10.29, 2.11, 2.11.17');
      return true;
    },
  );
  assert.throws(() => resolveStanVersion("0.24"), /^UnknownVersionError: unknown NATS Streaming version "0.24"; known versions: latest, 0.25, 0.25.6$/);
  // Inherited object keys are not versions.
  assert.throws(() => resolveJetStreamVersion("constructor"), UnknownVersionError);
});

test("versions - an Argo Events default version runs the table's nearest nats-server in its place", () => {
  assert.deepEqual(resolveJetStreamVersion("2.10.10"), { name: "2.10.10", serverVersion: "2.10.29", substitute: true });
  assert.deepEqual(resolveJetStreamVersion("2.9.16"), { name: "2.9.16", serverVersion: "2.10.29", substitute: true });
  assert.deepEqual(resolveJetStreamVersion("2.8.2-alpine"), { name: "2.8.2-alpine", serverVersion: "2.10.29", substitute: true });
});

test("versions - the folder imports nothing of the installer, the planner or the platforms", async () => {
  const files = (await readdir(versionsDir)).filter((f) => f.endsWith(".ts"));
  assert.ok(files.includes("index.ts"));
  for (const file of files) {
    const text = await readFile(join(versionsDir, file), "utf8");
    for (const [, from] of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)) {
      // api/ imports no other folder: its error base class is all versions/ takes from it.
      assert.ok(
        from!.startsWith("./") || !from!.startsWith(".") || from === "../api/index.js",
        `${file} imports ${from}: only its own files, api/ and packages`,
      );
    }
  }
});
