/**
 * The container images of a bus's pods, per server version: the built-in table (one entry per
 * nats-server and nats-streaming-server version of the versions table, `src/versions/versions.json`),
 * and an override file
 * shaped like Argo Events' controller config (`controller-config.yaml`, or the whole
 * `argo-events-controller-config` ConfigMap):
 *
 * ```yaml
 * eventBus:
 *   jetstream:
 *     versions:
 *       - version: 2.10.29
 *         natsImage: registry.example.com/nats:2.10.29
 *         metricsExporterImage: registry.example.com/prometheus-nats-exporter:0.16.0
 *         configReloaderImage: registry.example.com/nats-server-config-reloader:0.14.1
 *         startCommand: /nats-server
 *   nats:
 *     versions:
 *       - version: 0.25.6
 *         natsStreamingImage: registry.example.com/nats-streaming:0.25.6
 *         metricsExporterImage: registry.example.com/prometheus-nats-exporter:0.16.0
 * ```
 *
 * A section the file has replaces that section of the built-in table (as Argo's controller config
 * is the whole table); a section it lacks keeps the built-in one.
 */
import { parseDocument } from "yaml";

import { ARGO_JETSTREAM_VERSIONS, resolveJetStreamVersion, resolveStanVersion, versionsTable, type ResolvedVersion } from "../../versions/index.js";
import { InvalidImagesFileError, UnknownImageVersionError, type ImagesFileIssue } from "./errors.js";

/** The nats-server config reloader of the built-in table (a sidecar that sends the server a reload signal). */
export const DEFAULT_CONFIG_RELOADER_IMAGE = "natsio/nats-server-config-reloader:0.14.1";
/** The Prometheus exporter of the built-in table (a sidecar that reads the monitor port). */
export const DEFAULT_METRICS_EXPORTER_IMAGE = "natsio/prometheus-nats-exporter:0.16.0";
/** The nats-server executable of the official `nats:<version>` images. */
export const DEFAULT_NATS_START_COMMAND = "/nats-server";
/** The nats-streaming-server executable of the official `nats-streaming:<version>` images. */
export const DEFAULT_STAN_START_COMMAND = "/nats-streaming-server";
/** Where the built-in table comes from, in messages. */
export const BUILT_IN_SOURCE = "built-in";

/** The images of a managed JetStream bus's pods, for one nats-server version. */
export interface JetStreamImages {
  /** The version name the entry is listed under (a server version, or an alias such as `latest`). */
  readonly version: string;
  readonly natsImage: string;
  readonly metricsExporterImage: string;
  readonly configReloaderImage: string;
  /** The nats-server executable in `natsImage`. */
  readonly startCommand: string;
}

/** The images of a managed NATS Streaming bus's pods, for one nats-streaming-server version. */
export interface StanImages {
  readonly version: string;
  readonly natsStreamingImage: string;
  readonly metricsExporterImage: string;
  /** The nats-streaming-server executable in `natsStreamingImage`. @default DEFAULT_STAN_START_COMMAND */
  readonly startCommand: string;
}

/** The images table: entries in lookup order, and where they came from. */
export interface ImagesTable {
  readonly jetstream: readonly JetStreamImages[];
  readonly stan: readonly StanImages[];
  /** `built-in`, or the file (and section) the entries were read from. */
  readonly source: string;
}

/**
 * The entries of Argo Events' default controller config (argoproj/argo-events
 * manifests/base/controller-manager/controller-config.yaml), with Argo's images, so that a manifest
 * naming one of them runs what it runs under Argo Events.
 */
function argoDefaultImages(): JetStreamImages[] {
  const older = { metricsExporterImage: "natsio/prometheus-nats-exporter:0.9.1", configReloaderImage: "natsio/nats-server-config-reloader:0.7.0" };
  const newer = { metricsExporterImage: "natsio/prometheus-nats-exporter:0.14.0", configReloaderImage: "natsio/nats-server-config-reloader:0.14.0" };
  return ARGO_JETSTREAM_VERSIONS.map((version) => ({
    version,
    natsImage: `nats:${version}`,
    ...(version.startsWith("2.10.") ? newer : older),
    // Argo's alpine images have nats-server on the PATH, not at the root.
    startCommand: version.endsWith("-alpine") ? "nats-server" : DEFAULT_NATS_START_COMMAND,
  }));
}

/** The built-in table: the official images of every pinned server version, then Argo Events' defaults. */
export function defaultImages(): ImagesTable {
  const table = versionsTable();
  const unique = (versions: Record<string, string>) => [...new Set(Object.values(versions))];
  const pinned = unique(table.jetstreamVersions);
  return {
    jetstream: [
      ...pinned.map((version) => ({
        version,
        natsImage: `nats:${version}`,
        metricsExporterImage: DEFAULT_METRICS_EXPORTER_IMAGE,
        configReloaderImage: DEFAULT_CONFIG_RELOADER_IMAGE,
        startCommand: DEFAULT_NATS_START_COMMAND,
      })),
      ...argoDefaultImages().filter((e) => !pinned.includes(e.version)),
    ],
    stan: unique(table.stanVersions).map((version) => ({
      version,
      natsStreamingImage: `nats-streaming:${version}`,
      metricsExporterImage: DEFAULT_METRICS_EXPORTER_IMAGE,
      startCommand: DEFAULT_STAN_START_COMMAND,
    })),
    source: BUILT_IN_SOURCE,
  };
}

/**
 * The images for a `spec.jetstream.version` name: the entry listed under that name, else the first
 * entry whose version resolves (through the versions table's aliases: `latest`, `2.10`, …) to the
 * same nats-server version.
 * @throws {@link UnknownImageVersionError} naming the versions the table has
 */
export function jetStreamImages(table: ImagesTable, versionName: string): JetStreamImages {
  return lookup(table.jetstream, versionName, resolveJetStreamVersion, "spec.jetstream.version", table.source);
}

/**
 * The images of a NATS Streaming bus. `spec.nats.native` names no version, so this is the entry for
 * the streaming versions table's `latest` (the pinned nats-streaming-server).
 * @throws {@link UnknownImageVersionError} naming the versions the table has
 */
export function stanImages(table: ImagesTable, versionName = "latest"): StanImages {
  return lookup(table.stan, versionName, resolveStanVersion, "spec.nats.native (NATS Streaming version)", table.source);
}

function lookup<T extends { readonly version: string }>(
  entries: readonly T[],
  name: string,
  resolve: (name: string) => ResolvedVersion,
  field: string,
  source: string,
): T {
  const exact = entries.find((e) => e.version === name);
  if (exact !== undefined) return exact;
  const server = tryResolve(resolve, name);
  const same = server === undefined ? undefined : entries.find((e) => e.version === server || tryResolve(resolve, e.version) === server);
  if (same !== undefined) return same;
  throw new UnknownImageVersionError(
    field,
    name,
    server,
    entries.map((e) => e.version),
    source,
  );
}

/** The server version a name runs here; undefined for an unknown name, or one only run locally in another's place. */
function tryResolve(resolve: (name: string) => ResolvedVersion, name: string): string | undefined {
  try {
    const resolved = resolve(name);
    return resolved.substitute ? undefined : resolved.serverVersion;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The override file.

/** The key of Argo's controller ConfigMap that holds the controller config. */
export const CONTROLLER_CONFIG_KEY = "controller-config.yaml";

const JETSTREAM_FIELDS = ["version", "natsImage", "metricsExporterImage", "configReloaderImage", "startCommand"] as const;
const STAN_FIELDS = ["version", "natsStreamingImage", "metricsExporterImage", "startCommand"] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses an images file: Argo's `controller-config.yaml` (`eventBus.jetstream.versions`,
 * `eventBus.nats.versions`), or a ConfigMap holding it under `data."controller-config.yaml"`.
 * Other keys of the controller config (`settings`, `streamConfig`, …) are ignored; unknown fields
 * of a version entry are not.
 * @param source - the file's name, for messages
 * @param base - the table whose sections the file does not have are kept @default defaultImages()
 * @throws {@link InvalidImagesFileError} with every issue and its field path
 */
export function parseImagesFile(text: string, source: string, base: ImagesTable = defaultImages()): ImagesTable {
  let root = parseYaml(text, source);
  let where = source;
  if (isObj(root) && root["kind"] === "ConfigMap") {
    const data = root["data"];
    const inner = isObj(data) ? data[CONTROLLER_CONFIG_KEY] : undefined;
    if (typeof inner !== "string") {
      throw new InvalidImagesFileError(source, [
        { path: `data.${CONTROLLER_CONFIG_KEY}`, message: "missing: a ConfigMap images file must hold Argo's controller config under this key" },
      ]);
    }
    where = `${source} (data.${CONTROLLER_CONFIG_KEY})`;
    root = parseYaml(inner, where);
  }

  const issues: ImagesFileIssue[] = [];
  if (!isObj(root)) throw new InvalidImagesFileError(where, [{ path: "(root)", message: `must be a mapping, got ${kindOf(root)}` }]);
  const eventBus = root["eventBus"];
  if (!isObj(eventBus)) {
    throw new InvalidImagesFileError(where, [{ path: "eventBus", message: eventBus === undefined ? "missing" : `must be a mapping, got ${kindOf(eventBus)}` }]);
  }
  if (eventBus["jetstream"] === undefined && eventBus["nats"] === undefined) {
    throw new InvalidImagesFileError(where, [{ path: "eventBus", message: "must have jetstream.versions or nats.versions" }]);
  }
  const jetstream = section(eventBus, "jetstream", issues, (entry, path) => jetStreamEntry(entry, path, issues));
  const stan = section(eventBus, "nats", issues, (entry, path) => stanEntry(entry, path, issues));
  if (issues.length > 0) throw new InvalidImagesFileError(where, issues);
  return { jetstream: jetstream ?? base.jetstream, stan: stan ?? base.stan, source: where };
}

function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, logLevel: "silent" });
  const error = doc.errors[0] ?? doc.warnings[0];
  if (error !== undefined) {
    const line = error.linePos?.[0]?.line;
    const reason = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new InvalidImagesFileError(source, [{ path: line === undefined ? "(file)" : `line ${line}`, message: `not valid YAML: ${reason}` }]);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias without its anchor, or too many aliases.
    if (!(err instanceof Error)) throw err;
    throw new InvalidImagesFileError(source, [{ path: "(file)", message: `not valid YAML: ${err.message.split("\n")[0]}` }]);
  }
}

/** Parses `eventBus.<key>.versions`; undefined when the section is absent. */
function section<T extends { readonly version: string }>(
  eventBus: Obj,
  key: string,
  issues: ImagesFileIssue[],
  parse: (entry: Obj, path: string) => T | undefined,
): T[] | undefined {
  const value = eventBus[key];
  const path = `eventBus.${key}`;
  if (value === undefined) return undefined;
  if (!isObj(value)) {
    issues.push({ path, message: `must be a mapping, got ${kindOf(value)}` });
    return undefined;
  }
  const versions = value["versions"];
  if (versions === undefined) {
    issues.push({ path: `${path}.versions`, message: "missing" });
    return undefined;
  }
  if (!Array.isArray(versions)) {
    issues.push({ path: `${path}.versions`, message: `must be a list, got ${kindOf(versions)}` });
    return undefined;
  }
  if (versions.length === 0) issues.push({ path: `${path}.versions`, message: "must list at least one version" });
  const out: T[] = [];
  const seen = new Map<string, number>();
  versions.forEach((entry: unknown, i) => {
    const entryPath = `${path}.versions[${i}]`;
    if (!isObj(entry)) {
      issues.push({ path: entryPath, message: `must be a mapping, got ${kindOf(entry)}` });
      return;
    }
    const parsed = parse(entry, entryPath);
    if (parsed === undefined) return;
    const first = seen.get(parsed.version);
    if (first !== undefined) {
      issues.push({ path: `${entryPath}.version`, message: `${JSON.stringify(parsed.version)} is already listed at versions[${first}]` });
      return;
    }
    seen.set(parsed.version, i);
    out.push(parsed);
  });
  return out;
}

function jetStreamEntry(entry: Obj, path: string, issues: ImagesFileIssue[]): JetStreamImages | undefined {
  unknownFields(entry, JETSTREAM_FIELDS, path, issues);
  const version = versionField(entry, path, issues);
  const natsImage = imageField(entry, "natsImage", path, issues);
  const metricsExporterImage = imageField(entry, "metricsExporterImage", path, issues);
  const configReloaderImage = imageField(entry, "configReloaderImage", path, issues);
  const startCommand = commandField(entry, path, issues, undefined);
  if (
    version === undefined ||
    natsImage === undefined ||
    metricsExporterImage === undefined ||
    configReloaderImage === undefined ||
    startCommand === undefined
  ) {
    return undefined;
  }
  return { version, natsImage, metricsExporterImage, configReloaderImage, startCommand };
}

function stanEntry(entry: Obj, path: string, issues: ImagesFileIssue[]): StanImages | undefined {
  unknownFields(entry, STAN_FIELDS, path, issues);
  const version = versionField(entry, path, issues);
  const natsStreamingImage = imageField(entry, "natsStreamingImage", path, issues);
  const metricsExporterImage = imageField(entry, "metricsExporterImage", path, issues);
  // Argo's NATS Streaming entries have no start command; the official image's is the default.
  const startCommand = commandField(entry, path, issues, DEFAULT_STAN_START_COMMAND);
  if (version === undefined || natsStreamingImage === undefined || metricsExporterImage === undefined || startCommand === undefined) return undefined;
  return { version, natsStreamingImage, metricsExporterImage, startCommand };
}

function unknownFields(entry: Obj, known: readonly string[], path: string, issues: ImagesFileIssue[]): void {
  for (const key of Object.keys(entry)) {
    if (!known.includes(key)) issues.push({ path: `${path}.${key}`, message: `unknown field; expected ${known.join(", ")}` });
  }
}

function versionField(entry: Obj, path: string, issues: ImagesFileIssue[]): string | undefined {
  const value = entry["version"];
  if (value === undefined || value === null) {
    issues.push({ path: `${path}.version`, message: "missing" });
    return undefined;
  }
  if (typeof value === "number") {
    issues.push({ path: `${path}.version`, message: `must be a string, got the number ${value}; quote it ("2.10" unquoted is the number 2.1)` });
    return undefined;
  }
  if (typeof value !== "string" || value.trim() === "") {
    issues.push({ path: `${path}.version`, message: `must be a non-empty string, got ${kindOf(value)}` });
    return undefined;
  }
  return value;
}

// An image reference: no whitespace or control characters; the registry decides the rest.
const IMAGE = /^[^\s\u0000-\u001f\u007f]+$/;

function imageField(entry: Obj, key: string, path: string, issues: ImagesFileIssue[]): string | undefined {
  const value = entry[key];
  if (value === undefined || value === null) {
    issues.push({ path: `${path}.${key}`, message: "missing" });
    return undefined;
  }
  if (typeof value !== "string" || !IMAGE.test(value)) {
    issues.push({ path: `${path}.${key}`, message: `must be an image reference such as nats:2.10.29, got ${describe(value)}` });
    return undefined;
  }
  return value;
}

function commandField(entry: Obj, path: string, issues: ImagesFileIssue[], fallback: string | undefined): string | undefined {
  const value = entry["startCommand"];
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    issues.push({ path: `${path}.startCommand`, message: "missing" });
    return undefined;
  }
  if (typeof value !== "string" || !IMAGE.test(value)) {
    issues.push({ path: `${path}.startCommand`, message: `must be the server's executable, such as /nats-server, got ${describe(value)}` });
    return undefined;
  }
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : kindOf(value);
}
