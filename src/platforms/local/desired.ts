/**
 * What `up` is about to apply, settled before anything is written: an invalid manifest, a refused
 * change, a missing binary, a scale-down that could not remove its peers, all stop `up` here and
 * leave the bus as it was. It reads (the applied manifest, the state file, the supervisor, free
 * ports, the bus's secrets) and writes nothing, so that the apply point comes after every refusal.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  argoCompatibility,
  EventBusValidationError,
  formatIssue,
  ManifestReadError,
  readManifests,
  validate,
  validateUpdate,
  type ResolvedEventBus,
  type ResolvedJetStream,
  type ResolvedStan,
} from "../../api/index.js";
import { renderJetStreamConfig, renderStanConfig } from "../../natsconf/index.js";
import { credentialMaterial, planJetStream, planStan, type JetStreamPlan, type ServerMaterial, type ServerPorts, type StanPlan } from "../../plan/index.js";
import { busTlsFiles, generateBusSecrets, loadBusSecrets, type BusSecrets } from "../../secrets/index.js";
import { findNatsServer, findStreamingServer } from "../../tools/index.js";
import { acceptedJetStreamVersions, resolveJetStreamVersion, resolveStanVersion } from "../../versions/index.js";
import { appliedBus } from "./applied.js";
import { localConnection, type LocalConnection } from "./connect.js";
import { liveControl, supervisorStatus } from "./control-client.js";
import { DEFAULT_BUS_NAME } from "./default-bus.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import type { BusPaths } from "./home.js";
import { orphanPid } from "./orphans.js";
import { allocateMetricsPort, allocatePorts } from "./ports.js";
import { readState, type BackupState, type BusKind, type ControlFile, type LocalState, type ServerState } from "./state-file.js";

/** `created`: first start; `started`: an existing bus was started; `updated`: a change was applied; `unchanged`: nothing to do. */
export type UpAction = "created" | "started" | "updated" | "unchanged";

/** The managed buses `up` runs on this machine: JetStream, and legacy NATS Streaming. */
export type LocalSpec = ResolvedJetStream | ResolvedStan;

/** A manifest's one managed EventBus (JetStream or NATS Streaming), validated, with its warnings passed to `progress`. */
export function readLocalBus(
  manifest: { readonly text: string; readonly source: string },
  progress: (line: string) => void,
): { bus: ResolvedEventBus; spec: LocalSpec } {
  const { text, source } = manifest;
  const documents = readManifests(text, source);
  if (documents.length !== 1) {
    throw new ManifestReadError(`${source}: holds ${documents.length} documents; eventbus up takes one EventBus`, source);
  }
  const result = validate(documents[0]!.value, { jetstreamVersions: acceptedJetStreamVersions() });
  if (!result.ok) throw new EventBusValidationError(result.issues);
  const bus = result.bus;
  for (const warning of [...result.warnings.map(formatIssue), ...argoCompatibility(bus).map((f) => `${f.path}: ${f.message}`)]) progress(`warning: ${warning}`);
  if (bus.spec.mode === "jetstream") {
    const version = resolveJetStreamVersion(bus.spec.version);
    if (version.substitute) {
      progress(
        `warning: spec.jetstream.version: ${version.name} (an Argo Events version) is not installed here; nats-server ${version.serverVersion}, the nearest installed, runs in its place (on Kubernetes the nats:${version.name} image runs, as in Argo Events)`,
      );
    }
  }
  const spec = bus.spec;
  if (spec.mode !== "jetstream" && spec.mode !== "nats.native") {
    throw new LocalPlatformError(
      LocalErrorCode.notJetStream,
      `eventbus up runs managed buses (spec.jetstream, or spec.nats.native for NATS Streaming); ${spec.mode} is an external bus that runs elsewhere: connect to it with the client's connection flags`,
    );
  }
  return { bus, spec };
}

/** A server's config file, and the secrets file it includes (none for a NATS Streaming bus without a token). */
export interface ServerConfigText {
  readonly config: string;
  readonly secrets?: string | undefined;
}

/** The bus as `up` is about to run it, and what it takes to get there from what runs now. */
export interface DesiredBus {
  readonly bus: ResolvedEventBus;
  readonly plan: JetStreamPlan | StanPlan;
  /** What `up` does; `updated` exactly when a supervisor runs the bus. */
  readonly action: UpAction;
  /** The generation of the new state, before a scale-down adds its own step. */
  readonly generation: number;
  /** The running bus's supervisor, if there is one. */
  readonly control: ControlFile | undefined;
  readonly previousState: LocalState | undefined;
  /** How many servers a supervisor that exited left running, for a new supervisor to adopt. */
  readonly adopting: number;
  /** Whether an earlier `up` of this bus completed; a bus that never came up may be cold-started again. */
  readonly established: boolean;
  /** The bus's secrets; `newSecrets` when this `up` generated them. */
  readonly secrets: BusSecrets;
  readonly newSecrets: boolean;
  /** Each server's rendered config (and its secrets include, when it has one), by server index. */
  readonly rendered: readonly ServerConfigText[];
  readonly servers: readonly ServerState[];
  /** The running servers that a scale-down stops and removes as peers. */
  readonly removing: readonly ServerState[];
  readonly serverVersion: string;
  readonly persistent: boolean;
  readonly metricsPort: number;
  /** The manifest as the state dir keeps it. */
  readonly manifestText: string;
  readonly connection: LocalConnection;
}

/**
 * The desired bus: the change refused by {@link validateUpdate} or by a scale-down without the
 * system account, the ports, the plan, the rendered configs, and the action that applies them.
 */
export async function desiredBus(bus: ResolvedEventBus, spec: LocalSpec, paths: BusPaths): Promise<DesiredBus> {
  const applied = await appliedBus(paths);
  const previousText = applied?.text;
  const previousBus = applied?.bus;
  if (previousBus) {
    const issues = validateUpdate(previousBus, bus);
    if (issues.length > 0) throw new EventBusValidationError(issues);
  }
  const previousState = await readState(paths.state);
  const control = await liveControl(paths);
  // Servers a supervisor that exited left running keep serving on their ports; the new supervisor adopts them.
  const orphans = control === undefined ? await Promise.all((previousState?.servers ?? []).map((s) => orphanPid(s))) : [];
  const adopting = orphans.filter((pid) => pid !== undefined).length;
  const ports = await allocatePorts(spec.replicas, {
    previous: previousState?.servers.map((s) => s.ports),
    preferDefaultClientPort: bus.name === DEFAULT_BUS_NAME && previousState === undefined,
    stillOurs: (index) => control !== undefined || orphans[index] !== undefined,
  });
  const metricsPort = await allocateMetricsPort({
    previous: previousState?.metricsPort,
    stillOurs: control !== undefined,
    avoid: new Set(ports.flatMap((p) => [p.client, p.cluster, p.monitor])),
  });
  const { plan, secrets, rendered, serverVersion, binary, args, configFlag } =
    spec.mode === "jetstream" ? await jetStreamServers(bus, spec, ports, paths, previousBus) : await stanServers(bus, ports, paths, previousBus);
  if (plan.kind === "stan" && previousState !== undefined && previousState.servers.length !== plan.servers.length) {
    throw new LocalPlatformError(
      LocalErrorCode.immutableChange,
      `spec.nats.native.replicas: NATS Streaming fixes its raft peers when the cluster is made, so bus ${bus.name} cannot go from ${previousState.servers.length} to ${plan.servers.length} servers; back up its messages, \`eventbus down ${bus.name} --purge\` and up again`,
    );
  }
  const servers: ServerState[] = plan.servers.map((server) => ({
    index: server.index,
    name: server.name,
    serverVersion,
    binary,
    args: [...args],
    ...(configFlag !== undefined && { configFlag }),
    config: paths.serverConfig(server.index),
    data: paths.serverData(server.index),
    log: paths.serverLog(server.index),
    pidFile: paths.serverPid(server.index),
    ports: server.ports,
    digest: digest(rendered[server.index]!.config, rendered[server.index]!.secrets ?? "", binary, serverVersion, ...args),
  }));
  // Scaling down removes the peers from the JetStream cluster, which takes the system account.
  const removing = control !== undefined ? (previousState?.servers ?? []).filter((s) => s.index >= servers.length) : [];
  if (removing.length > 0 && plan.auth !== "basic") {
    throw new LocalPlatformError(
      LocalErrorCode.immutableChange,
      `scaling bus ${bus.name} down from ${previousState!.servers.length} to ${servers.length} servers needs auth basic (the system account removes the peers from the JetStream cluster); with auth ${plan.auth}, back up, \`eventbus down --purge\` and up again`,
    );
  }
  const persistent = spec.persistence !== undefined;
  const manifestText = stringify(bus.manifest, { lineWidth: 0 });
  const sameServers =
    previousState !== undefined &&
    previousState.persistent === persistent &&
    JSON.stringify(previousState.servers) === JSON.stringify(servers) &&
    previousText === manifestText;
  const connection = localConnection(plan, secrets.credentials, secrets.tls ? busTlsFiles(paths.secrets).client.caFile : undefined);
  // A bus whose first `up` did not complete (interrupted, failed) is still new: it may be cold-started again.
  const established = previousState !== undefined && previousState.established !== false;
  let action: UpAction = control !== undefined ? "updated" : established ? "started" : "created";
  if (sameServers && control !== undefined) {
    const status = await supervisorStatus(control);
    if (status.generation === previousState.generation && status.servers.every((s) => s.phase === "healthy")) action = "unchanged";
  }
  return {
    bus,
    plan,
    action,
    generation: (previousState?.generation ?? 0) + (sameServers ? 0 : 1),
    control,
    previousState,
    adopting,
    established,
    secrets,
    newSecrets: !previousBus,
    rendered,
    servers,
    removing,
    serverVersion,
    persistent,
    metricsPort,
    manifestText,
    connection,
  };
}

/** The state file of the desired bus at `generation`. */
export function desiredState(desired: DesiredBus, generation: number): LocalState {
  const plan = desired.plan;
  return {
    version: 1,
    name: desired.bus.name,
    ...(plan.kind === "stan" && { kind: "stan" as BusKind }),
    generation,
    persistent: desired.persistent,
    lameDuckMillis: plan.kind === "jetstream" ? plan.lameDuckDuration.millis : 0,
    metricsPort: desired.metricsPort,
    servers: [...desired.servers],
    ...(!desired.established && { established: false }),
    backup: backupState(desired.bus),
  };
}

/** What a JetStream bus's servers run: its plan, secrets, configs and nats-server. */
async function jetStreamServers(bus: ResolvedEventBus, spec: ResolvedJetStream, ports: readonly ServerPorts[], paths: BusPaths, previousBus: unknown) {
  const serverVersion = resolveJetStreamVersion(spec.version).serverVersion;
  const binary = findNatsServer(spec.version);
  const plan = planJetStream(bus, { platform: "local", ports });
  const secrets: BusSecrets = previousBus
    ? await loadBusSecrets(paths.secrets)
    : await generateBusSecrets({ tls: plan.tls, dnsNames: plan.tlsNames.dnsNames, ipAddresses: plan.tlsNames.ipAddresses, commonName: plan.clusterName });
  const rendered: ServerConfigText[] = plan.servers.map((server) =>
    renderJetStreamConfig(plan, server.index, serverMaterial(plan, paths, secrets, server.index)),
  );
  return { plan, secrets, rendered, serverVersion, binary, args: plan.startArgs, configFlag: undefined };
}

/**
 * What a NATS Streaming bus's servers run: its plan, the token, configs (one file holds the NATS
 * listeners and the `streaming {}` block, read with `-sc` as Argo's pods do) and
 * nats-streaming-server. The file store and the raft log live in each server's data dir.
 */
async function stanServers(bus: ResolvedEventBus, ports: readonly ServerPorts[], paths: BusPaths, previousBus: unknown) {
  const serverVersion = resolveStanVersion("latest").serverVersion;
  const binary = findStreamingServer();
  const plan = planStan(bus, { platform: "local", ports });
  const secrets: BusSecrets = previousBus
    ? await loadBusSecrets(paths.secrets)
    : await generateBusSecrets({ tls: false, dnsNames: [], ipAddresses: [], commonName: plan.clusterName });
  const rendered: ServerConfigText[] = plan.servers.map((server) =>
    renderStanConfig(plan, server.index, {
      storeDir: join(paths.serverData(server.index), "store"),
      logDir: join(paths.serverData(server.index), "raft"),
      ...(plan.auth === "token" && { token: { value: secrets.credentials.token } }),
    }),
  );
  return { plan, secrets, rendered, serverVersion, binary, args: [] as readonly string[], configFlag: "-sc" as const };
}

/** The scheduled backups the supervisor takes, from the resolved manifest: null for none. */
function backupState(bus: DesiredBus["bus"]): BackupState | null {
  const backup = bus.spec.mode === "jetstream" ? bus.spec.backup : undefined;
  return backup === undefined ? null : { schedule: backup.schedule.toString(), keep: backup.keep };
}

function serverMaterial(plan: JetStreamPlan, paths: BusPaths, secrets: BusSecrets, index: number): ServerMaterial {
  return {
    storeDir: paths.serverData(index),
    ...(plan.tls && { tls: busTlsFiles(paths.secrets) }),
    ...credentialMaterial(plan, secrets.credentials),
    pidFile: paths.serverPid(index),
  };
}

function digest(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex").slice(0, 16);
}
