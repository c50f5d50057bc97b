/**
 * The pinned binaries (`binaries.json`): which external binaries the installer builds, in which
 * group, from which Go module; one nats-server for each server version that the versions table
 * (src/versions) names, and one nats-streaming-server for each of its NATS Streaming versions;
 * and, in group `node`, what a single-node Kubernetes runs.
 */
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

import { versionsTable, type VersionsTable } from "../versions/index.js";
import { InvalidBinariesTableError } from "./errors.js";
import rawTable from "./binaries.json" with { type: "json" };

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
 * The installer's groups of binaries: `bus` (the nats-server that `latest` names: all that a local
 * JetStream bus needs by default, what `make up` builds), `nats` (the other NATS binaries: nats-server
 * versions for upgrades, the nats CLI, nats-streaming-server; a few minutes to build with `bus`),
 * `kube` (kube-apiserver and etcd for the Kubernetes tests: far longer) and `node` (kubelet,
 * kube-controller-manager, kube-scheduler, containerd, runc, the CNI plugins and CoreDNS of a
 * single-node Kubernetes: longer still, and neither `make tools` nor the test suite builds it).
 */
export const ToolGroup = {
  Bus: "bus",
  Nats: "nats",
  Kube: "kube",
  Node: "node",
} as const;

/** One of the {@link ToolGroup} values. */
export type ToolGroup = (typeof ToolGroup)[keyof typeof ToolGroup];

/** Where a binary's links go, relative to the tools dir, unless binaries.json says otherwise. */
const DEFAULT_LINK_DIR = "bin";

const PinnedBinarySchema = Type.Object(
  {
    /** Name of the executable that `go install` produces. */
    command: Type.String({ pattern: "^[a-z][a-z0-9-]*$" }),
    /** Go package path given to `go install`. */
    module: Type.String({ minLength: 1 }),
    /** Go module version, with the leading `v`. */
    version: Type.String({ pattern: "^v[0-9]+\\.[0-9]+\\.[0-9]+$" }),
    /** The installer group; `nats` when absent. */
    group: Type.Optional(Type.Union([Type.Literal(ToolGroup.Bus), Type.Literal(ToolGroup.Nats), Type.Literal(ToolGroup.Kube), Type.Literal(ToolGroup.Node)])),
    /**
     * A Go module of this repository (a path relative to its root) that pins the binary and its
     * dependencies; the installer then runs `go build <module>` there instead of `go install
     * <module>@<version>` (which refuses modules whose go.mod has replace directives).
     */
    goModuleDir: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9/_-]*$" })),
    /** `-ldflags` of the build, e.g. `-s -w` and the `-X` flags that stamp a version. @default [] */
    ldflags: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** Go build tags (`-tags`), e.g. runc's `seccomp`. @default [] */
    tags: Type.Optional(Type.Array(Type.String({ pattern: "^[a-z0-9_.]+$" }))),
    /**
     * `CGO_ENABLED` of the build: `true` where upstream builds with cgo (kubelet) or the binary is
     * broken without it (runc's nsenter), `false` for a static one; absent, go decides (cgo on when
     * it finds a C compiler).
     */
    cgo: Type.Optional(Type.Boolean()),
    /** What the build needs from the machine besides Go (a C compiler, C headers); named when the build fails. */
    buildNeeds: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * The directory of its links, relative to the tools dir; e.g. `cni/bin` for the CNI plugins,
     * whose generic names (`bridge`, `loopback`) must stay off `$PATH` and which kubelet and
     * containerd look for in one directory of their own. @default "bin"
     */
    linkDir: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$" })),
  },
  { additionalProperties: false },
);

/** The schema of `binaries.json`. */
export const BinariesTableSchema = Type.Object(
  {
    /** The oldest Go toolchain that builds every pinned binary (the newest `go` line of their go.mod files). */
    goMinimum: Type.String({ pattern: "^[0-9]+\\.[0-9]+(\\.[0-9]+)?$" }),
    /** Pinned binaries keyed `<command>@<version without v>`; the first of each command is its default. */
    binaries: Type.Record(Type.String(), PinnedBinarySchema),
  },
  { additionalProperties: false },
);

/** The contents of `binaries.json`. */
export type BinariesTable = Static<typeof BinariesTableSchema>;

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
  /** Go build tags of its build; empty for none. */
  readonly tags: readonly string[];
  /** `CGO_ENABLED` of its build (`true` → 1, `false` → 0); `undefined` leaves it to go. */
  readonly cgo: boolean | undefined;
  /** What its build needs from the machine besides Go, if anything. */
  readonly buildNeeds: string | undefined;
  /** The directory of its links relative to the tools dir, e.g. `bin`. */
  readonly linkDir: string;
}

/**
 * Every problem of a binaries table, each as `path: message`; empty when the table is usable.
 * Checks the schema, that binary keys are `<command>@<version>`, that every server version the
 * versions table names is pinned, that `latest` is the default server and in group `bus` (what
 * `make up` builds), and that no nats-server is unused.
 * @param versions - the versions table the binaries serve @default versionsTable()
 */
export function checkBinariesTable(raw: unknown, versions: VersionsTable = versionsTable()): string[] {
  if (!Value.Check(BinariesTableSchema, raw)) {
    return [...Value.Errors(BinariesTableSchema, raw)].map((e) => `${e.path || "/"}: ${e.message}`);
  }
  const issues: string[] = [];
  const defaults = new Map<string, string>();
  for (const [key, b] of Object.entries(raw.binaries)) {
    const expected = `${b.command}@${b.version.slice(1)}`;
    if (key !== expected) issues.push(`binaries.${key}: key must be ${JSON.stringify(expected)}`);
    if (!defaults.has(b.command)) defaults.set(b.command, b.version.slice(1));
  }
  const tables = [
    ["jetstreamVersions", versions.jetstreamVersions, NATS_SERVER],
    ["stanVersions", versions.stanVersions, NATS_STREAMING_SERVER],
  ] as const;
  for (const [field, table, command] of tables) {
    for (const [name, target] of Object.entries(table)) {
      if (raw.binaries[`${command}@${target}`] === undefined) {
        issues.push(`${field}.${name}: ${target} is not a pinned ${command} (no binaries."${command}@${target}")`);
      }
    }
    const latest = table["latest"];
    if (latest !== undefined && defaults.has(command) && defaults.get(command) !== latest) {
      issues.push(`${field}.latest: must be the first ${command} listed in binaries (${defaults.get(command)}), got ${latest}`);
    }
  }
  const latestServer = raw.binaries[`${NATS_SERVER}@${versions.jetstreamVersions["latest"]}`];
  if (latestServer !== undefined && latestServer.group !== ToolGroup.Bus) {
    issues.push(`binaries.${NATS_SERVER}@${versions.jetstreamVersions["latest"]}: must be in group "${ToolGroup.Bus}" (jetstreamVersions.latest names it)`);
  }
  const named = new Set(Object.values(versions.jetstreamVersions));
  for (const [key, b] of Object.entries(raw.binaries)) {
    if (b.command === NATS_SERVER && !named.has(b.version.slice(1))) {
      issues.push(`binaries.${key}: no jetstreamVersions entry names it`);
    }
  }
  return issues;
}

function load(raw: unknown): BinariesTable {
  const issues = checkBinariesTable(raw);
  if (issues.length > 0) throw new InvalidBinariesTableError(issues);
  return raw as BinariesTable;
}

const TABLE: BinariesTable = load(rawTable);

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
      tags: b.tags ?? [],
      cgo: b.cgo,
      buildNeeds: b.buildNeeds,
      linkDir: b.linkDir ?? DEFAULT_LINK_DIR,
    };
  });
})();

/** The validated contents of `binaries.json`. */
export function binariesTable(): BinariesTable {
  return TABLE;
}

/** Every pinned binary, in the order of `binaries.json`; only those of `groups` when given. */
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
