import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ensureStream, type StreamOutcome, type StreamTarget } from "../../client/index.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

export type { StreamOutcome, StreamTarget };

/** Whether an error is JetStream not being ready yet (no stream leader, no responders, a timeout). */
export function isTransient(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /timeout|no responders|503|leader|not ready|unavailable|temporarily|insufficient resources|no suitable peers/i.test(text);
}

/**
 * {@link ensureStream}, retried while JetStream is not ready (after a restart a stream elects its
 * leader after the meta group does), then waits until the stream has a leader and current replicas.
 * @throws {@link LocalPlatformError} `INTERRUPTED` once `signal` aborts
 */
export async function ensureStreamReady(nc: NatsConnection, target: StreamTarget, timeoutMillis: number, signal?: AbortSignal): Promise<StreamOutcome> {
  const deadline = Date.now() + timeoutMillis;
  let outcome: StreamOutcome | undefined;
  for (;;) {
    if (signal?.aborted) throw new LocalPlatformError(LocalErrorCode.interrupted, "interrupted");
    try {
      outcome ??= await ensureStream(nc, target);
      const info = await (await jetstreamManager(nc)).streams.info(target.name);
      const replicas = info.cluster?.replicas ?? [];
      if (target.config.replicas === 1 || (info.cluster?.leader && replicas.length === target.config.replicas - 1 && replicas.every((r) => r.current))) {
        return outcome;
      }
    } catch (error) {
      if (!isTransient(error) || Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`stream ${target.name} has no leader with current replicas after ${timeoutMillis}ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
