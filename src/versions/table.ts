/**
 * The versions table (`versions.json`): which server version each version name runs, for
 * `spec.jetstream.version` (nats-server) and for NATS Streaming (nats-streaming-server). Locally a
 * server version is a pinned binary (src/tools), on Kubernetes a container image
 * (src/platforms/kubernetes/images.ts).
 */
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

import { InvalidVersionsTableError } from "./errors.js";
import rawTable from "./versions.json" with { type: "json" };

/** A server version, e.g. `2.10.29`. */
const ServerVersion = Type.String({ pattern: "^[0-9]+\\.[0-9]+\\.[0-9]+$" });

/** The schema of `versions.json`. */
export const VersionsTableSchema = Type.Object(
  {
    /** `spec.jetstream.version` name → nats-server version. */
    jetstreamVersions: Type.Record(Type.String(), ServerVersion),
    /** NATS Streaming version name → nats-streaming-server version. */
    stanVersions: Type.Record(Type.String(), ServerVersion),
  },
  { additionalProperties: false },
);

/** The contents of `versions.json`. */
export type VersionsTable = Static<typeof VersionsTableSchema>;

/**
 * Every problem of a versions table, each as `path: message`; empty when the table is usable.
 * Checks the schema and that each table has a `latest` entry. That a server version is pinned (and
 * built) is the installer's check, `checkBinariesTable` of src/tools.
 */
export function checkVersionsTable(raw: unknown): string[] {
  if (!Value.Check(VersionsTableSchema, raw)) {
    return [...Value.Errors(VersionsTableSchema, raw)].map((e) => `${e.path || "/"}: ${e.message}`);
  }
  const issues: string[] = [];
  for (const field of ["jetstreamVersions", "stanVersions"] as const) {
    if (!Object.hasOwn(raw[field], "latest")) issues.push(`${field}: must have a "latest" entry`);
  }
  return issues;
}

function load(raw: unknown): VersionsTable {
  const issues = checkVersionsTable(raw);
  if (issues.length > 0) throw new InvalidVersionsTableError(issues);
  return raw as VersionsTable;
}

const TABLE: VersionsTable = load(rawTable);

/** The validated contents of `versions.json`. */
export function versionsTable(): VersionsTable {
  return TABLE;
}
