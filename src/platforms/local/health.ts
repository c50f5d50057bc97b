/**
 * When a started or changed bus counts as up: a server answering `/healthz` is not yet a cluster,
 * so `up` also waits for one JetStream meta leader that every server sees and, with several
 * servers, for every server to be a peer of the meta group. A new cluster whose group formed
 * without a server is reported apart ({@link IncompleteMetaGroupError}): it can be started again
 * from scratch, where an established one can only be waited for.
 */
import { EventBusError } from "../../api/index.js";
import { readMetaGroup } from "../../observe/jsz.js";
import type { JetStreamPlan, StanPlan } from "../../plan/index.js";
import { liveControl, supervisorStatus } from "./control-client.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import type { BusPaths } from "./home.js";
import { inRaftCluster, jsz, metaLeader, poll, stanServerz } from "./monitor.js";
import { logTail } from "./supervisor.js";

/** How many times a starting server may exit before `up` gives up on it. */
const CRASHES_BEFORE_GIVING_UP = 3;

/** How long the servers of a new cluster may take to all become peers of its JetStream meta group. */
export const META_JOIN_GRACE_MS = 10_000;
/** How many times a new cluster is started from scratch when its meta group forms without a server. */
export const MAX_COLD_STARTS = 3;

/** The JetStream meta group formed without some of the bus's servers. */
export class IncompleteMetaGroupError extends EventBusError {
  override readonly name = "IncompleteMetaGroupError";
  readonly code = LocalErrorCode.unhealthy;
  constructor(readonly missing: readonly string[]) {
    super(`the JetStream meta group formed without ${missing.join(", ")}`);
  }
}

/**
 * Waits for every server to answer `/healthz` and, with several servers, for a JetStream meta
 * leader and every server in its meta group (for at most `metaJoinMs`).
 * @throws {@link IncompleteMetaGroupError} when the meta group formed without a server
 * @throws {@link LocalPlatformError} `INTERRUPTED` once `signal` aborts, else `UNHEALTHY` with {@link clusterDiagnostics}
 */
export async function waitHealthy(
  paths: BusPaths,
  plan: JetStreamPlan | StanPlan,
  timeoutMs: number,
  progress: (line: string) => void,
  metaJoinMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const reported = new Set<string>();
  const failWhen = () => (signal?.aborted ? new LocalPlatformError(LocalErrorCode.interrupted, "interrupted") : undefined);
  try {
    await poll(
      "every server to be healthy",
      async () => {
        const control = await liveControl(paths);
        if (!control) throw new LocalPlatformError(LocalErrorCode.notRunning, "the supervisor is not running");
        const status = await supervisorStatus(control);
        for (const server of status.servers) {
          // A server that keeps exiting will not come up by waiting longer.
          if (server.phase !== "healthy" && server.restarts >= CRASHES_BEFORE_GIVING_UP) {
            throw new LocalPlatformError(LocalErrorCode.serverFailed, `${server.name} exited ${server.restarts + 1} times while starting`);
          }
          if (server.phase === "healthy" && !reported.has(server.name)) {
            reported.add(server.name);
            progress(`  ${server.name} healthy (${reported.size}/${plan.replicas}, client port ${server.ports.client})`);
          }
        }
        return status.servers.length === plan.replicas && status.servers.every((s) => s.phase === "healthy") ? true : undefined;
      },
      { timeoutMs, intervalMs: 25, failWhen },
    );
    if (plan.kind === "stan") {
      const leader = await poll("a NATS Streaming raft leader that every server follows", () => stanLeader(plan), { timeoutMs, intervalMs: 50, failWhen });
      progress(`  NATS Streaming raft leader: ${leader}`);
      return;
    }
    const leader = await poll(
      "a JetStream meta leader",
      // Every server must see the same leader: then the whole cluster is in one meta group.
      async () => {
        const seen = await Promise.all(plan.servers.map((s) => metaLeader(s.ports.monitor, plan.replicas)));
        return seen[0] !== undefined && seen.every((l) => l === seen[0]) ? seen[0] : undefined;
      },
      { timeoutMs, intervalMs: 25, failWhen },
    );
    if (plan.replicas > 1) {
      progress(`  JetStream meta leader: ${leader}`);
      await ensureMetaMembership(plan, metaJoinMs);
    }
  } catch (error) {
    if (error instanceof IncompleteMetaGroupError) throw error;
    if (signal?.aborted) throw new LocalPlatformError(LocalErrorCode.interrupted, "interrupted", { cause: error });
    throw new LocalPlatformError(LocalErrorCode.unhealthy, `bus ${plan.busName} did not become healthy: ${(error as Error).message}`, {
      cause: error,
      detail: plan.kind === "stan" ? await stanDiagnostics(paths, plan) : await clusterDiagnostics(paths, plan),
    });
  }
}

/**
 * The raft leader of a NATS Streaming cluster once every server is in it (one Leader, the others
 * Followers), undefined until then. A STAN bus always has 3 servers or more (validate raises fewer, as Argo does).
 */
export async function stanLeader(plan: StanPlan): Promise<string | undefined> {
  const views = await Promise.all(plan.servers.map((s) => stanServerz(s.ports.monitor)));
  if (!views.every(inRaftCluster)) return undefined;
  const leaders = views.flatMap((v, i) => (v?.role === "Leader" ? [v.node_id ?? plan.servers[i]!.name] : []));
  return leaders.length === 1 ? leaders[0] : undefined;
}

/** Each NATS Streaming server's state and raft role and the end of its log, for an error's detail. */
async function stanDiagnostics(paths: BusPaths, plan: StanPlan): Promise<string> {
  const views = await Promise.all(
    plan.servers.map(async (s) => {
      const view = await stanServerz(s.ports.monitor);
      const seen = view ? `state ${view.state ?? "?"}${view.role ? `, raft ${view.role}` : ""}` : "no /streaming/serverz answer";
      return `${s.name} (${seen}):\n${await logTail(paths.serverLog(s.index), 8)}`;
    }),
  );
  return views.join("\n");
}

/**
 * Waits until every server is a peer of the JetStream meta group, as its leader reports it. When
 * servers start at the same moment, a slow one can miss the group's bootstrap: the leader then
 * shrinks the group to the servers it has heard from, and the late one never joins (nats-server
 * 2.10 sizes a cold-started group from the JetStream servers it has seen). That group cannot
 * place a stream on every server, so it is reported, for a new cluster to be started again.
 */
export async function ensureMetaMembership(plan: JetStreamPlan, timeoutMs: number): Promise<void> {
  let missing: string[] = [];
  try {
    await poll(
      "every server to be a JetStream meta group peer",
      async () => {
        const meta = await readMetaGroup(plan.servers.map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.ports.monitor}` })));
        if (meta.leader === undefined) return undefined;
        const peers = new Set(meta.peers.map((p) => p.name));
        missing = plan.servers.filter((s) => !peers.has(s.name)).map((s) => s.name);
        return missing.length === 0 ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (error) {
    if (missing.length > 0) throw new IncompleteMetaGroupError(missing);
    throw error;
  }
}

/** Each server's view of the JetStream meta group and the end of its log, for an error's detail. */
export async function clusterDiagnostics(paths: BusPaths, plan: JetStreamPlan): Promise<string> {
  const views = await Promise.all(
    plan.servers.map(async (s) => {
      const meta = (await jsz(s.ports.monitor))?.meta_cluster;
      const peers = (meta?.replicas ?? []).map((r) => `${r.name}${r.current ? "" : " (behind)"}${r.offline ? " (offline)" : ""}`).join(", ");
      const seen = meta
        ? `meta leader ${meta.leader || "(none)"}, cluster size ${meta.cluster_size ?? "?"}${peers ? `, peers ${peers}` : ""}`
        : "no /jsz answer";
      return `${s.name} (${seen}):\n${await logTail(paths.serverLog(s.index), 8)}`;
    }),
  );
  return views.join("\n");
}
