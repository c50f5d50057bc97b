import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type StreamConfig as JsStreamConfig } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { StreamConfig } from "../../api/index.js";

/** The desired stream: name, subjects and the merged stream config. */
export interface StreamTarget {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly config: StreamConfig;
}

/** What ensuring the stream did. */
export interface StreamOutcome {
  readonly action: "created" | "updated" | "unchanged";
  /** Fields changed on a live stream, as `field: old → new`. */
  readonly changes: readonly string[];
}

const NANOS_PER_MILLI = 1_000_000;

function desiredConfig(target: StreamTarget): Partial<JsStreamConfig> {
  const c = target.config;
  return {
    name: target.name,
    subjects: [...target.subjects],
    retention: c.retention as JsStreamConfig["retention"],
    discard: c.discard as JsStreamConfig["discard"],
    max_msgs: c.maxMsgs,
    max_bytes: c.maxBytes,
    max_age: Math.round(c.maxAge.millis * NANOS_PER_MILLI),
    duplicate_window: Math.round(c.duplicates.millis * NANOS_PER_MILLI),
    num_replicas: c.replicas,
    storage: "file" as JsStreamConfig["storage"],
  };
}

/** The fields JetStream refuses to change on a live stream, with why. */
export const IMMUTABLE_STREAM_FIELDS = { retention: "retention", storage: "storage" } as const;

/**
 * Creates the stream, or updates a live one to the desired config. Fields JetStream cannot change
 * on a live stream are refused before anything is sent, naming them.
 */
export async function ensureStream(nc: NatsConnection, target: StreamTarget): Promise<StreamOutcome> {
  const jsm = await jetstreamManager(nc);
  const desired = desiredConfig(target);
  let current: JsStreamConfig;
  try {
    current = (await jsm.streams.info(target.name)).config;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
      await jsm.streams.add(desired as JsStreamConfig);
      return { action: "created", changes: [] };
    }
    throw error;
  }
  const changes: string[] = [];
  const refused: string[] = [];
  for (const [key, value] of Object.entries(desired) as [keyof JsStreamConfig, unknown][]) {
    const before = current[key];
    if (JSON.stringify(before) === JSON.stringify(value)) continue;
    const line = `${key}: ${JSON.stringify(before)} → ${JSON.stringify(value)}`;
    if (key in IMMUTABLE_STREAM_FIELDS) refused.push(line);
    else changes.push(line);
  }
  if (refused.length > 0) {
    throw new Error(`stream ${target.name}: JetStream cannot change ${refused.join(", ")} on a live stream; back it up, delete it and let eventbus recreate it`);
  }
  if (changes.length === 0) return { action: "unchanged", changes };
  await jsm.streams.update(target.name, { ...current, ...desired } as JsStreamConfig);
  return { action: "updated", changes };
}

/** Whether an error is JetStream not being ready yet (no stream leader, no responders, a timeout). */
export function isTransient(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /timeout|no responders|503|leader|not ready|unavailable|temporarily|insufficient resources|no suitable peers/i.test(text);
}

/**
 * {@link ensureStream}, retried while JetStream is not ready (after a restart a stream elects its
 * leader after the meta group does), then waits until the stream has a leader and current replicas.
 */
export async function ensureStreamReady(nc: NatsConnection, target: StreamTarget, timeoutMillis: number): Promise<StreamOutcome> {
  const deadline = Date.now() + timeoutMillis;
  let outcome: StreamOutcome | undefined;
  for (;;) {
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
