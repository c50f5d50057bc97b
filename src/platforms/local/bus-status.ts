/**
 * A local bus's status in the one shape both platforms give (api/status.ts): conditions and a
 * phase, `config` as Argo Events' `status.config` (what `EVENTBUS_CONFIG` holds), and `access`,
 * the files and monitoring endpoints of this machine. `up` writes it into the state dir's
 * `status.json` when the bus is ready and `down` when it stops; readers get `config` and `access`
 * from the plan every time, so a status file from an older `up` never points at old ports.
 */
import { readFile } from "node:fs/promises";

import { ConditionReason, ConditionType, mergeConditions, phaseOf, type BusStatus, type Condition, type DesiredCondition } from "../../api/index.js";
import type { JetStreamPlan } from "../../plan/index.js";
import { busCredentials } from "./credentials.js";
import { busPaths, eventbusHome, type BusPaths } from "./home.js";
import { writeFileAtomic } from "./state-file.js";

/**
 * The status of the local bus `name`: the conditions `up`/`down` wrote last (none for a bus that
 * no `up` of this version finished), with `config` and `access` from its plan.
 * @throws {@link LocalPlatformError} `NOT_FOUND` when there is no such bus
 */
export async function localBusStatus(name: string, options: { readonly home?: string } = {}): Promise<BusStatus> {
  const paths = busPaths(options.home ?? eventbusHome(), name);
  const reach = await reachOf(paths);
  const written = await readWritten(paths);
  return {
    ...(written?.phase !== undefined && { phase: written.phase }),
    ...(written?.message !== undefined && { message: written.message }),
    ...(written?.conditions !== undefined && { conditions: written.conditions }),
    ...reach,
  };
}

/** How a client reaches the bus, from its plan: Argo's `status.config`, and the files and monitors of this machine. */
async function reachOf(paths: BusPaths): Promise<Required<Pick<BusStatus, "config" | "access">>> {
  const creds = await busCredentials(paths.name, { home: paths.home });
  // busCredentials read the plan: it is there.
  const plan = JSON.parse(await readFile(paths.plan, "utf8")) as JetStreamPlan;
  return {
    config: creds.statusConfig,
    access: {
      description: `local bus ${paths.name}`,
      ...(creds.authFile !== undefined && { authFile: creds.authFile }),
      ...(creds.caFile !== undefined && { caFile: creds.caFile }),
      monitors: plan.servers.map((server, i) => ({ name: server.name, url: creds.monitors[i]! })),
    },
  };
}

/** Writes `status.json` after `up` made the bus ready: every condition True. */
export async function writeReadyStatus(paths: BusPaths, replicas: number): Promise<void> {
  await writeConditions(paths, await readWritten(paths), [
    { type: ConditionType.configured, status: "True", reason: ConditionReason.succeeded },
    { type: ConditionType.deployed, status: "True", reason: ConditionReason.succeeded },
    { type: ConditionType.ready, status: "True", reason: ConditionReason.allServersReady, message: `${replicas}/${replicas} servers ready` },
  ]);
}

/**
 * Writes `status.json` after `down` stopped the bus: `Ready` False, so Argo-style readers wait.
 * A bus without a status file (no `up` finished) keeps having none.
 */
export async function writeStoppedStatus(paths: BusPaths): Promise<void> {
  const before = await readWritten(paths);
  if (before === undefined) return;
  await writeConditions(paths, before, [
    { type: ConditionType.ready, status: "False", reason: ConditionReason.stopped, message: "stopped by eventbus down; eventbus up starts it" },
  ]);
}

/** Sets `desired` over the conditions written `before` (their transition times kept), with the bus's reach. */
async function writeConditions(paths: BusPaths, before: Awaited<ReturnType<typeof readWritten>>, desired: readonly DesiredCondition[]): Promise<void> {
  const conditions = mergeConditions(before?.conditions, desired, Date.now());
  const status: BusStatus = { phase: phaseOf(conditions), conditions, ...(await reachOf(paths)) };
  await writeFileAtomic(paths.status, `${JSON.stringify(status, null, 2)}\n`);
}

/** The status file's phase and conditions; undefined when there is none or it cannot be read as one. */
async function readWritten(paths: BusPaths): Promise<(Pick<BusStatus, "phase" | "message"> & { conditions?: Condition[] }) | undefined> {
  const text = await readFile(paths.status, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as BusStatus;
    if (typeof parsed !== "object" || parsed === null || (parsed.conditions !== undefined && !Array.isArray(parsed.conditions))) return undefined;
    return {
      ...(typeof parsed.phase === "string" && { phase: parsed.phase }),
      ...(typeof parsed.message === "string" && { message: parsed.message }),
      ...(parsed.conditions !== undefined && { conditions: [...parsed.conditions] }),
    };
  } catch {
    return undefined;
  }
}
