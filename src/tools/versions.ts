/**
 * The pinned versions table (`versions.json`): which binaries are built, and which
 * `spec.jetstream.version` names map to which nats-server.
 */
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

import { InvalidVersionsTableError, UnknownVersionError, VersionKind } from "./errors.js";
import rawTable from "./versions.json" with { type: "json" };

/** The command that runs a JetStream server. */
export const NATS_SERVER = "nats-server";
/** The command that runs a (legacy) NATS Streaming server. */
export const NATS_STREAMING_SERVER = "nats-streaming-server";
/** The NATS command-line client. */
export const NATS_CLI = "nats";
/** The Kubernetes API server that the Kubernetes tests run. */
export const KUBE_APISERVER = "kube-apiserver";
/** The etcd that {@link KUBE_APISERVER} stores into. */
export const ETCD = "etcd";

/**
 * The installer's groups of binaries: `nats` (nats-server, nats, nats-streaming-server: a minute or
 * two to build) and `kube` (kube-apiserver and etcd for the Kubernetes tests: far longer).
 */
export const ToolGroup = {
  Nats: "nats",
  Kube: "kube",
} as const;

/** One of the {@link ToolGroup} values. */
export type ToolGroup = (typeof ToolGroup)[keyof typeof ToolGroup];

const PinnedBinarySchema = Type.Object(
  {
    /** Name of the executable that `go install` produces. */
    command: Type.String({ pattern: "^[a-z][a-z0-9-]*$" }),
    /** Go package path given to `go install`. */
    module: Type.String({ minLength: 1 }),
    /** Go module version, with the leading `v`. */
    version: Type.String({ pattern: "^v[0-9]+\\.[0-9]+\\.[0-9]+$" }),
    /** The installer group; `nats` when absent. */
    group: Type.Optional(Type.Union([Type.Literal(ToolGroup.Nats), Type.Literal(ToolGroup.Kube)])),
    /**
     * A Go module of this repository (a path relative to its root) that pins the binary and its
     * dependencies; the installer then runs `go build <module>` there instead of `go install
     * <module>@<version>` (which refuses modules whose go.mod has replace directives).
     */
    goModuleDir: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9/_-]*$" })),
    /** `-ldflags` of the build, e.g. `-s -w` and the `-X` flags that stamp a version. @default [] */
    ldflags: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  },
  { additionalProperties: false },
);

/** The schema of `versions.json`. */
export const VersionsTableSchema = Type.Object(
  {
    /** The oldest Go toolchain that builds every pinned binary (the newest `go` line of their go.mod files). */
    goMinimum: Type.String({ pattern: "^[0-9]+\\.[0-9]+(\\.[0-9]+)?$" }),
    /** Pinned binaries keyed `<command>@<version without v>`; the first of each command is its default. */
    binaries: Type.Record(Type.String(), PinnedBinarySchema),
    /** `spec.jetstream.version` name → nats-server version. */
    jetstreamVersions: Type.Record(Type.String(), Type.String()),
    /** NATS Streaming version name → nats-streaming-server version. */
    stanVersions: Type.Record(Type.String(), Type.String()),
  },
  { additionalProperties: false },
);

/** The contents of `versions.json`. */
export type VersionsTable = Static<typeof VersionsTableSchema>;

/** One binary that the installer builds with `go install`. */
export interface PinnedBinary {
  /** `<command>@<version>`, e.g. `nats-server@2.10.29`; also the name of its cache directory. */
  readonly id: string;
  /** Executable name, e.g. `nats-server`. */
  readonly command: string;
  /** Version without the leading `v`, e.g. `2.10.29`. */
  readonly version: string;
  /** Go package path given to `go install`. */
  readonly module: string;
  /** Go module version, e.g. `v2.10.29`. */
  readonly moduleVersion: string;
  /** Whether this is the command's default version, the one that the unversioned `<command>` runs. */
  readonly isDefault: boolean;
  /** The installer group it belongs to. */
  readonly group: ToolGroup;
  /** The Go module of this repository that it is built in, relative to the repository root, if any. */
  readonly goModuleDir: string | undefined;
  /** `-ldflags` words of its build; empty for none. */
  readonly ldflags: readonly string[];
}

/** A version name resolved through a versions table. */
export interface ResolvedVersion {
  /** The name as written, e.g. `latest` or `2.10`. */
  readonly name: string;
  /** The exact server version it names, e.g. `2.10.29`. */
  readonly serverVersion: string;
  /**
   * Set for a version of Argo Events' default controller config that is not installed here: the
   * installed server that runs in its place.
   */
  readonly substitute?: true;
}

/**
 * The nats-server versions Argo Events' default controller config lists
 * (argoproj/argo-events manifests/base/controller-manager/controller-config.yaml), which manifests
 * written for Argo name. Kubernetes runs their images as Argo does (see the images table); none of
 * them is installed here, so locally the nearest installed nats-server runs in their place.
 */
export const ARGO_JETSTREAM_VERSIONS = ["2.8.1", "2.8.1-alpine", "2.8.2", "2.8.2-alpine", "2.9.1", "2.9.12", "2.9.16", "2.10.10"] as const;

/**
 * Every problem of a versions table, each as `path: message`; empty when the table is usable.
 * Checks the schema, that binary keys are `<command>@<version>`, that every version name targets a
 * pinned server, that `latest` exists and is the default server, and that no nats-server is unused.
 */
export function checkVersionsTable(raw: unknown): string[] {
  if (!Value.Check(VersionsTableSchema, raw)) {
    return [...Value.Errors(VersionsTableSchema, raw)].map((e) => `${e.path || "/"}: ${e.message}`);
  }
  const issues: string[] = [];
  const defaults = new Map<string, string>();
  for (const [key, b] of Object.entries(raw.binaries)) {
    const expected = `${b.command}@${b.version.slice(1)}`;
    if (key !== expected) issues.push(`binaries.${key}: key must be ${JSON.stringify(expected)}`);
    if (!defaults.has(b.command)) defaults.set(b.command, b.version.slice(1));
  }
  const tables = [
    ["jetstreamVersions", raw.jetstreamVersions, NATS_SERVER],
    ["stanVersions", raw.stanVersions, NATS_STREAMING_SERVER],
  ] as const;
  for (const [field, table, command] of tables) {
    for (const [name, target] of Object.entries(table)) {
      if (raw.binaries[`${command}@${target}`] === undefined) {
        issues.push(`${field}.${name}: ${target} is not a pinned ${command} (no binaries."${command}@${target}")`);
      }
    }
    const latest = table["latest"];
    if (latest === undefined) {
      issues.push(`${field}: must have a "latest" entry`);
    } else if (defaults.has(command) && defaults.get(command) !== latest) {
      issues.push(`${field}.latest: must be the first ${command} listed in binaries (${defaults.get(command)}), got ${latest}`);
    }
  }
  const named = new Set(Object.values(raw.jetstreamVersions));
  for (const [key, b] of Object.entries(raw.binaries)) {
    if (b.command === NATS_SERVER && !named.has(b.version.slice(1))) {
      issues.push(`binaries.${key}: no jetstreamVersions entry names it`);
    }
  }
  return issues;
}

function load(raw: unknown): VersionsTable {
  const issues = checkVersionsTable(raw);
  if (issues.length > 0) throw new InvalidVersionsTableError(issues);
  return raw as VersionsTable;
}

const TABLE: VersionsTable = load(rawTable);

const BINARIES: readonly PinnedBinary[] = (() => {
  const seen = new Set<string>();
  return Object.entries(TABLE.binaries).map(([id, b]) => {
    const isDefault = !seen.has(b.command);
    seen.add(b.command);
    return {
      id,
      command: b.command,
      version: b.version.slice(1),
      module: b.module,
      moduleVersion: b.version,
      isDefault,
      group: b.group ?? ToolGroup.Nats,
      goModuleDir: b.goModuleDir,
      ldflags: b.ldflags ?? [],
    };
  });
})();

/** The validated contents of `versions.json`. */
export function versionsTable(): VersionsTable {
  return TABLE;
}

/** Every pinned binary, in the order of `versions.json`; only those of `groups` when given. */
export function pinnedBinaries(groups?: readonly ToolGroup[]): readonly PinnedBinary[] {
  return groups === undefined ? BINARIES : BINARIES.filter((b) => groups.includes(b.group));
}

/**
 * The pinned binary for a command and version (without `v`), or the command's default version
 * when `version` is omitted; `undefined` when that is not pinned.
 */
export function pinnedBinary(command: string, version?: string): PinnedBinary | undefined {
  return BINARIES.find((b) => b.command === command && (version === undefined ? b.isDefault : b.version === version));
}

/** The oldest Go toolchain (e.g. `1.26.0`) that builds every pinned binary. */
export function goMinimumVersion(): string {
  return TABLE.goMinimum;
}

/** The names of the installed versions table, in table order (`latest` first). */
export function knownJetStreamVersions(): string[] {
  return Object.keys(TABLE.jetstreamVersions);
}

/** The names that `spec.jetstream.version` accepts: the table's, then Argo Events' default ones. */
export function acceptedJetStreamVersions(): string[] {
  return [...knownJetStreamVersions(), ...ARGO_JETSTREAM_VERSIONS.filter((v) => !Object.hasOwn(TABLE.jetstreamVersions, v))];
}

/**
 * The nats-server version that a `spec.jetstream.version` name runs.
 * @throws {@link UnknownVersionError} listing the known names
 * @example `resolveJetStreamVersion("latest")` → `{ name: "latest", serverVersion: "2.10.29" }`
 */
export function resolveJetStreamVersion(name: string): ResolvedVersion {
  if (!Object.hasOwn(TABLE.jetstreamVersions, name) && (ARGO_JETSTREAM_VERSIONS as readonly string[]).includes(name)) {
    return { name, serverVersion: nearestInstalled(name), substitute: true };
  }
  return resolve(VersionKind.JetStream, TABLE.jetstreamVersions, name);
}

/** The installed nats-server of the same minor version, else the oldest newer one, else the newest. */
function nearestInstalled(name: string): string {
  const wanted = numbers(name);
  const installed = [...new Set(Object.values(TABLE.jetstreamVersions))].sort((a, b) => compareNumbers(numbers(a), numbers(b)));
  const sameMinor = installed.filter((v) => numbers(v)[0] === wanted[0] && numbers(v)[1] === wanted[1]);
  return sameMinor.at(-1) ?? installed.find((v) => compareNumbers(numbers(v), wanted) > 0) ?? installed.at(-1)!;
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
  return Object.keys(TABLE.stanVersions);
}

/**
 * The nats-streaming-server version that a NATS Streaming version name runs.
 * @throws {@link UnknownVersionError} listing the known names
 */
export function resolveStanVersion(name: string): ResolvedVersion {
  return resolve(VersionKind.Stan, TABLE.stanVersions, name);
}

function resolve(kind: VersionKind, table: Record<string, string>, name: string): ResolvedVersion {
  const serverVersion = Object.hasOwn(table, name) ? table[name] : undefined;
  if (serverVersion === undefined) throw new UnknownVersionError(kind, name, Object.keys(table));
  return { name, serverVersion };
}
