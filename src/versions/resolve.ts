/** Resolving a version name through the versions table to the server version it runs. */
import { UnknownVersionError, VersionKind } from "./errors.js";
import { versionsTable } from "./table.js";

/** A version name resolved through a versions table. */
export interface ResolvedVersion {
  /** The name as written, e.g. `latest` or `2.10`. */
  readonly name: string;
  /** The exact server version it names, e.g. `2.10.29`. */
  readonly serverVersion: string;
  /**
   * Set for a version of Argo Events' default controller config that the table lacks: the table's
   * server version that runs in its place where only the table's versions exist (the local platform).
   */
  readonly substitute?: true;
}

/**
 * The nats-server versions Argo Events' default controller config lists
 * (argoproj/argo-events manifests/base/controller-manager/controller-config.yaml), which manifests
 * written for Argo name. Kubernetes runs their images as Argo does (see the images table); none of
 * them is in the versions table, so locally the nearest version of the table runs in their place.
 */
export const ARGO_JETSTREAM_VERSIONS = ["2.8.1", "2.8.1-alpine", "2.8.2", "2.8.2-alpine", "2.9.1", "2.9.12", "2.9.16", "2.10.10"] as const;

/** The names of the JetStream versions table, in table order (`latest` first). */
export function knownJetStreamVersions(): string[] {
  return Object.keys(versionsTable().jetstreamVersions);
}

/** The names that `spec.jetstream.version` accepts: the table's, then Argo Events' default ones. */
export function acceptedJetStreamVersions(): string[] {
  const table = versionsTable().jetstreamVersions;
  return [...knownJetStreamVersions(), ...ARGO_JETSTREAM_VERSIONS.filter((v) => !Object.hasOwn(table, v))];
}

/**
 * The nats-server version that a `spec.jetstream.version` name runs.
 * @throws {@link UnknownVersionError} listing the known names
 * @example `resolveJetStreamVersion("latest")` → `{ name: "latest", serverVersion: "2.10.29" }`
 */
export function resolveJetStreamVersion(name: string): ResolvedVersion {
  const table = versionsTable().jetstreamVersions;
  if (!Object.hasOwn(table, name) && (ARGO_JETSTREAM_VERSIONS as readonly string[]).includes(name)) {
    return { name, serverVersion: nearestInTable(table, name), substitute: true };
  }
  return resolve(VersionKind.JetStream, table, name);
}

/** The table's nats-server of the same minor version, else the oldest newer one, else the newest. */
function nearestInTable(table: Record<string, string>, name: string): string {
  const wanted = numbers(name);
  const servers = [...new Set(Object.values(table))].sort((a, b) => compareNumbers(numbers(a), numbers(b)));
  const sameMinor = servers.filter((v) => numbers(v)[0] === wanted[0] && numbers(v)[1] === wanted[1]);
  return sameMinor.at(-1) ?? servers.find((v) => compareNumbers(numbers(v), wanted) > 0) ?? servers.at(-1)!;
}

function numbers(version: string): number[] {
  return version.split("-")[0]!.split(".").map(Number);
}

function compareNumbers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The NATS Streaming version names known, in table order (`latest` first). */
export function knownStanVersions(): string[] {
  return Object.keys(versionsTable().stanVersions);
}

/**
 * The nats-streaming-server version that a NATS Streaming version name runs.
 * @throws {@link UnknownVersionError} listing the known names
 */
export function resolveStanVersion(name: string): ResolvedVersion {
  return resolve(VersionKind.Stan, versionsTable().stanVersions, name);
}

function resolve(kind: VersionKind, table: Record<string, string>, name: string): ResolvedVersion {
  const serverVersion = Object.hasOwn(table, name) ? table[name] : undefined;
  if (serverVersion === undefined) throw new UnknownVersionError(kind, name, Object.keys(table));
  return { name, serverVersion };
}
