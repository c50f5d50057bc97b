import { jetstreamManager, type StreamInfo } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ensureStream, sleep, type StreamOutcome, type StreamTarget } from "../../client/index.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

export type { StreamOutcome, StreamTarget };

/** Whether an error is JetStream not being ready yet (no stream leader, no responders, a timeout). */
export function isTransient(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /timeout|no responders|503|leader|not ready|unavailable|temporarily|insufficient resources|no suitable peers/i.test(text);
}

/** How long a stream with a leader and a quorum of current replicas waits for the rest to be current. */
const ALL_CURRENT_GRACE_MILLIS = 30_000;

/**
 * {@link ensureStream}, retried while JetStream is not ready (after a restart a stream elects its
 * leader after the meta group does), then waits until the stream has a leader and current replicas.
 * A stream whose leader and a quorum of replicas are current serves publishers: a replica still
 * catching up after {@link ALL_CURRENT_GRACE_MILLIS} more is reported through `onNote` and left to
 * catch up in the background. A failure names what the stream looked like last.
 * @throws {@link LocalPlatformError} `INTERRUPTED` once `signal` aborts
 */
export async function ensureStreamReady(
  nc: NatsConnection,
  target: StreamTarget,
  timeoutMillis: number,
  signal?: AbortSignal,
  onNote?: (line: string) => void,
): Promise<StreamOutcome> {
  const deadline = Date.now() + timeoutMillis;
  let outcome: StreamOutcome | undefined;
  let last = "no answer from JetStream";
  let quorumSince: number | undefined;
  for (;;) {
    if (signal?.aborted) throw new LocalPlatformError(LocalErrorCode.interrupted, "interrupted");
    try {
      outcome ??= await ensureStream(nc, target);
      const info = await (await jetstreamManager(nc)).streams.info(target.name);
      if (target.config.replicas === 1) return outcome;
      const leader = info.cluster?.leader;
      const replicas = info.cluster?.replicas ?? [];
      const behind = replicas.filter((r) => !r.current);
      last = clusterText(info);
      const whole = Boolean(leader) && replicas.length === target.config.replicas - 1;
      if (whole && behind.length === 0) return outcome;
      const withQuorum = whole && target.config.replicas - behind.length >= Math.floor(target.config.replicas / 2) + 1;
      // The grace counts from the first quorum under a leader, and starts again only when the
      // stream loses its leader, not whenever one look finds a replica behind (a CI run after a
      // full store: up timed out at 120 s with a leader and a quorum at its last look).
      if (!leader) quorumSince = undefined;
      else if (withQuorum) quorumSince ??= Date.now();
      if (withQuorum && quorumSince !== undefined && Date.now() - quorumSince >= ALL_CURRENT_GRACE_MILLIS) {
        onNote?.(`stream ${target.name}: ${last}; it serves with a quorum, the rest catch up in the background`);
        return outcome;
      }
    } catch (error) {
      if (!isTransient(error) || Date.now() > deadline) throw error;
      last = (error as Error).message;
    }
    if (Date.now() > deadline)
      throw new LocalPlatformError(
        LocalErrorCode.stream,
        `stream ${target.name} has no leader with current replicas after ${timeoutMillis}ms (last seen: ${last})`,
      );
    await sleep(25);
  }
}

/**
 * Waits until stream `name` has a leader and every replica current, none on a server of `gone`,
 * when the `staying` servers can hold all its replicas
 * (during a scale-down, after a server was stopped and removed as a peer: its replica is placed on
 * a server that stays and caught up there). Gives up quietly after `timeoutMillis`, with a line
 * through `onNote`: the final readiness check of `up` decides.
 */
export async function waitStreamPlaced(
  nc: NatsConnection,
  name: string,
  gone: readonly string[],
  staying: number,
  timeoutMillis: number,
  onNote: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  let last = "no answer";
  while (Date.now() < deadline) {
    const info = await (await jetstreamManager(nc)).streams.info(name).catch((error: unknown) => {
      last = (error as Error).message;
      return undefined;
    });
    if (info !== undefined) {
      const leader = info.cluster?.leader;
      const replicas = info.cluster?.replicas ?? [];
      // More replicas than servers that stay (a scale-down below the stream's replicas, which up
      // then lowers): a leader on a server that stays is all there can be.
      const placed = info.config.num_replicas > staying || replicas.every((r) => r.current && !gone.includes(r.name));
      if (info.config.num_replicas === 1 || (leader && !gone.includes(leader) && placed)) return;
      last = clusterText(info);
    }
    await sleep(100);
  }
  onNote(`  stream ${name} not yet placed on the remaining servers after ${timeoutMillis / 1000} s (${last}); going on`);
}

/** `leader a, replicas b, c (not current, lag 154), d (offline)`: a stream's group as its info shows it. */
function clusterText(info: StreamInfo): string {
  const replicas = (info.cluster?.replicas ?? []).map((r) => `${r.name}${r.offline ? " (offline)" : r.current ? "" : ` (not current, lag ${r.lag ?? 0})`}`);
  return `leader ${info.cluster?.leader || "none"}, replicas ${replicas.join(", ") || "none"}`;
}
