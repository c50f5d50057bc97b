/**
 * Where the views of a bus come from, one drawing at a time: a local bus (its supervisor's report
 * and, while it runs, a snapshot through its own credentials), any bus through an open client (a
 * snapshot; its servers through their monitoring endpoints or the system account), and an
 * EventBus in Kubernetes (its status as the controller wrote it). `eventbus status` prints the
 * frames; `eventbus console` serves them.
 */
import type { BusStatus } from "../api/index.js";
import { connect, sleep, type DurableNameParts, type EventBusClient } from "../client/index.js";
import {
  PENDING_GROWTH_SNAPSHOTS,
  retentionSample,
  snapshotBus,
  systemServers,
  type BusSnapshot,
  type MonitorEndpoint,
  type RetentionSample,
} from "../observe/index.js";
import { podServers, Resources, type KubeClient, type KubeResource } from "../platforms/kubernetes/index.js";
import { busStatus, localBusStatus } from "../platforms/local/index.js";
import { readStanBus, type StanMonitor } from "../observe/stan.js";
import { kubeView, metaSummary, serverRow, snapshotView, stanView, type FrameSource } from "../view/index.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { localView } from "./local-view.js";

/** How long a first drawing waits between its two readings of the stream, to measure the publish and read rates. */
export const RATE_SAMPLE_MILLIS = 1000;

/** The reading a first drawing measures its rates from: taken, then {@link RATE_SAMPLE_MILLIS} waited. Later drawings measure from the one before. */
async function firstRateBase(client: EventBusClient, history: readonly BusSnapshot[]): Promise<RetentionSample | undefined> {
  if (history.length > 0) return undefined;
  const sample = await retentionSample(client);
  if ("error" in sample.stream) return undefined;
  await sleep(RATE_SAMPLE_MILLIS);
  return sample;
}

/** Keeps the snapshots that consumers' pending is compared across. */
function remember(history: BusSnapshot[], snapshot: BusSnapshot): BusSnapshot {
  history.push(snapshot);
  if (history.length >= PENDING_GROWTH_SNAPSHOTS) history.shift();
  return snapshot;
}

/** Options of {@link localSource}. */
export interface LocalSourceOptions {
  /** Sensor dependencies whose Argo durable consumers are named. */
  readonly dependencies?: readonly DurableNameParts[];
  /** The eventbus home the bus lives in. @default $EVENTBUS_HOME, else ./.eventbus */
  readonly home?: string;
  /** How long a snapshot waits for the JetStream API. @default the snapshot's (3 s) */
  readonly jetstreamTimeoutMillis?: number;
}

/** A local bus: the supervisor's report, and a snapshot while it runs. */
export function localSource(name: string, options: LocalSourceOptions = {}): FrameSource {
  let client: EventBusClient | undefined;
  const history: BusSnapshot[] = [];
  const where = options.home === undefined ? {} : { home: options.home };
  return {
    async frame() {
      const report = await busStatus(name, where);
      let snapshot: BusSnapshot | undefined;
      let problems: string[] = [...report.problems];
      // A NATS Streaming bus has no JetStream to take a snapshot of: its report has the raft cluster.
      if (report.running && report.stan === undefined) {
        try {
          // The bus's status (its credentials and CA) only to connect; each drawing's monitors come
          // from the report it has just read.
          client ??= await connect({ status: await localBusStatus(name, where), timeoutMillis: 3000, name: "eventbus-status" });
          const rateBase = await firstRateBase(client, history);
          const monitors = report.servers.map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.ports.monitor}` }));
          snapshot = remember(
            history,
            await snapshotBus(client, {
              monitors,
              dependencies: options.dependencies ?? [],
              previous: history,
              ...(rateBase && { rateBase }),
              ...(options.jetstreamTimeoutMillis !== undefined && { jetstreamTimeoutMillis: options.jetstreamTimeoutMillis }),
            }),
          );
          // The snapshot says more of the same problem (why a stream has no leader): its line wins.
          const seen = snapshot.problems;
          problems = [...problems.filter((q) => !seen.some((p) => p.startsWith(q))), ...seen];
        } catch (error) {
          problems.push(`cannot connect to the bus: ${(error as Error).message}`);
        }
      }
      const healthy = !report.running || (report.healthy && problems.length === 0);
      return {
        view: localView(report, problems, snapshot),
        data: {
          ...report,
          problems,
          consumers: snapshot?.consumers ?? [],
          ...(snapshot?.retention && { retention: snapshot.retention }),
          ...(snapshot && { snapshot }),
        },
        healthy,
        ...(snapshot && { snapshot }),
      };
    },
    client: () => client,
    async close() {
      await client?.close();
    },
  };
}

/** Options of {@link remoteSource}. */
export interface RemoteSourceOptions {
  /** The servers' monitoring endpoints. */
  readonly monitors?: readonly MonitorEndpoint[];
  /** A connection as a user of the bus's system account: the servers are read with `$SYS` requests. It is closed with the source. */
  readonly system?: EventBusClient;
  readonly dependencies?: readonly DurableNameParts[];
  /** How long a snapshot waits for the JetStream API. @default the snapshot's (3 s) */
  readonly jetstreamTimeoutMillis?: number;
}

/** Any bus through an open client (closed with the source): a snapshot; its servers through `monitors` or the system account. */
export function remoteSource(label: string, client: EventBusClient, options: RemoteSourceOptions = {}): FrameSource {
  const monitors = options.monitors ?? [];
  const system = options.system;
  const servers = system && ((timeout: number) => systemServers(system.nc, timeout));
  const history: BusSnapshot[] = [];
  return {
    async frame() {
      const rateBase = await firstRateBase(client, history);
      const snapshot = remember(
        history,
        await snapshotBus(client, {
          monitors,
          dependencies: options.dependencies ?? [],
          previous: history,
          ...(servers && { servers }),
          ...(rateBase && { rateBase }),
          ...(options.jetstreamTimeoutMillis !== undefined && { jetstreamTimeoutMillis: options.jetstreamTimeoutMillis }),
        }),
      );
      const serversNote =
        snapshot.serversUnavailable ??
        (monitors.length === 0 && !servers
          ? "not shown: give the servers' monitoring endpoints with --monitor, or a system account user with --system-creds"
          : undefined);
      return {
        view: snapshotView(label, snapshot, serversNote),
        data: { bus: label, ...snapshot, ...(serversNote && { serversNote }) },
        healthy: snapshot.problems.length === 0,
        snapshot,
      };
    },
    client: () => client,
    async close() {
      await system?.close();
      await client.close();
    },
  };
}

/**
 * A NATS Streaming bus given by URL: read from its servers' monitoring endpoints (STAN has no
 * request that lists channels or subscriptions; `/streaming/*` does), the raft leader's view first.
 */
export function stanRemoteSource(label: string, monitors: readonly StanMonitor[], clusterId: string | undefined): FrameSource {
  return {
    async frame() {
      const snapshot = await readStanBus(monitors);
      const view = stanView(label, snapshot, clusterId);
      return { view, data: { bus: label, ...snapshot, problems: view.problems }, healthy: view.problems.length === 0 };
    },
    client: () => undefined,
    async close() {},
  };
}

/**
 * An EventBus in Kubernetes: its status as the controller wrote it, and for a managed JetStream bus
 * its servers and meta group from its pods' monitoring endpoints through the API server's pod
 * proxy (when the caller may not use it, a note says why instead). The client is not closed with it.
 */
export function kubeSource(kube: KubeClient, namespace: string, name: string, source: string): FrameSource {
  return {
    async frame() {
      const bus = await kube.get<KubeResource & { spec?: { jetstream?: { replicas?: number } }; status?: BusStatus }>(Resources.eventBus, namespace, name);
      if (bus === undefined) throw new CliError(`no EventBus ${name} in namespace ${namespace} (${source})`, ExitCode.failed);
      const jetstream = bus.spec?.jetstream;
      let pods: Parameters<typeof kubeView>[3];
      if (jetstream) {
        // Argo's (and eventbus's) JetStream pods: eventbus-<name>-js-<i>, 3 unless the spec says.
        const names = Array.from({ length: Math.max(1, jetstream.replicas ?? 3) }, (_, i) => `eventbus-${name}-js-${i}`);
        try {
          const seen = await podServers(kube, namespace, names);
          if (seen.missingPods.length === names.length) {
            pods = { servers: [], notes: [{ label: "servers", text: `none yet: no pod ${names[0]!.replace(/-0$/, "-*")} exists` }], problems: [] };
          } else {
            const servers = seen.servers.map(serverRow);
            pods = {
              servers,
              notes: [],
              problems: servers
                .filter((r) => r.state !== "healthy")
                .map((r) => `server ${r.name} is ${r.state === "down" ? "down (its pod's monitoring endpoint does not answer)" : "not healthy (/healthz)"}`),
              ...(seen.jetstream.peers.length > 0 && { jetstream: metaSummary(seen.jetstream) }),
            };
          }
        } catch (error) {
          pods = {
            servers: [],
            notes: [{ label: "servers", text: `not shown: ${(error as Error).message} (reading them needs get on pods/proxy)` }],
            problems: [],
          };
        }
      }
      const view = kubeView(namespace, name, bus.status, pods);
      const data = {
        namespace,
        name,
        phase: bus.status?.phase,
        problems: view.problems,
        conditions: view.conditions ?? [],
        config: bus.status?.config,
        ...(view.servers.length > 0 && { servers: view.servers }),
        ...(view.jetstream && { jetstream: view.jetstream }),
      };
      return { view, data, healthy: view.problems.length === 0 };
    },
    client: () => undefined,
    async close() {},
  };
}
