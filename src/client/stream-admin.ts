/**
 * The bus's stream (`default`): read its state, and apply a `streamConfig` with the same merge over
 * Argo's defaults and the same validation as an EventBus manifest. Fields JetStream cannot change on
 * a live stream are refused before anything is sent.
 */
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type StreamConfig as JsStreamConfig, type StreamInfo } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

import { Duration, EventBusValidationError, Issues, parseStreamConfig, type StreamConfig } from "../api/index.js";
import { isBackupError, recreateStream, type RecreateStep } from "../backup/index.js";
import { BusError, ClientErrorCode } from "./errors.js";
import { ARGO_STREAM_NAME } from "./wire.js";

/** The desired stream: name, subjects and the merged stream config. */
export interface StreamTarget {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly config: StreamConfig;
}

/** What applying a stream config did (or, in a dry run, would do). */
export interface StreamOutcome {
  readonly action: "created" | "updated" | "unchanged" | "recreated";
  /** Fields changed on a live stream, as `field: old → new`. */
  readonly changes: readonly string[];
  /** When recreated: the fields JetStream cannot change on a live stream, and what was restored. */
  readonly recreated?: RecreateOutcome;
}

/** What `recreate` did (or, in a dry run, would back up and restore). */
export interface RecreateOutcome {
  /** The fields that needed the recreate, as `field: old → new`. */
  readonly fields: readonly string[];
  readonly events: number;
  readonly consumers: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The archive of the stream as it was (absent in a dry run). */
  readonly archive?: string;
  /**
   * Events that every consumer had acked (sequences `firstSeq..upTo`), which the new retention
   * (interest or work queue) removes once the consumers are back, as JetStream does.
   */
  readonly removedByRetention?: { readonly events: number; readonly upTo: number };
}

/** How {@link ensureStream} treats fields JetStream cannot change on a live stream. */
export interface RecreateChoice {
  /** Where the archive is kept. @default a new directory in the OS temp dir */
  readonly archiveDir?: string;
  /** Called with each step of the recreate. */
  readonly onStep?: (step: RecreateStep, line: string) => void | Promise<void>;
}

/** The fields JetStream refuses to change on a live stream. */
export const IMMUTABLE_STREAM_FIELDS = { retention: "retention", storage: "storage" } as const;

/** Argo Events' subjects of the stream `default`. */
export const ARGO_STREAM_SUBJECTS = [`${ARGO_STREAM_NAME}.*.*`] as const;

const NANOS_PER_MILLI = 1_000_000;

/** A stream's config, state and replicas, in the units of an EventBus's `streamConfig`. */
export interface StreamSummary {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly storage: string;
  readonly config: {
    readonly maxMsgs: number;
    readonly maxAge: string;
    readonly maxBytes: number;
    readonly replicas: number;
    readonly duplicates: string;
    readonly retention: string;
    readonly discard: string;
  };
  readonly state: {
    readonly messages: number;
    readonly bytes: number;
    readonly firstSeq: number;
    readonly lastSeq: number;
    readonly firstTime?: string;
    readonly lastTime?: string;
    readonly consumers: number;
    readonly subjects: number;
  };
  readonly cluster?: {
    readonly leader?: string;
    readonly replicas: readonly {
      readonly name: string;
      readonly current: boolean;
      readonly lagMessages: number;
      readonly activeMillis: number;
      readonly offline: boolean;
    }[];
  };
}

/** The stream's config and state. @throws {@link BusError} `CLIENT_STREAM_FAILED` when it does not exist or JetStream does not answer */
export async function streamInfo(nc: NatsConnection, name: string = ARGO_STREAM_NAME): Promise<StreamSummary> {
  const jsm = await jetstreamManager(nc).catch((err: unknown) => {
    throw streamError(name, err);
  });
  const info = await jsm.streams.info(name, { subjects_filter: ">" }).catch((err: unknown) => {
    throw streamError(name, err);
  });
  return summarize(info);
}

/**
 * Parses a `streamConfig` text (`maxAge: 72h` …), merges it over Argo's defaults, validates it as a
 * manifest's, and applies it to the stream: created when missing, updated when different.
 * @param serverReplicas - the bus's servers, when known: stream replicas cannot exceed them
 * @throws {@link EventBusValidationError} with each issue at `streamConfig.<key>`
 * @throws {@link BusError} `CLIENT_STREAM_FAILED` when JetStream refuses or cannot change a field
 */
export async function applyStreamConfig(
  nc: NatsConnection,
  text: string,
  options: { readonly serverReplicas?: number; readonly dryRun?: boolean; readonly name?: string; readonly recreate?: RecreateChoice } = {},
): Promise<StreamOutcome & { readonly config: StreamConfig }> {
  const target = argoStreamTarget(text, options);
  const config = target.config;
  const outcome = await ensureStream(nc, target, {
    dryRun: options.dryRun ?? false,
    ...(options.recreate !== undefined && { recreate: options.recreate }),
  }).catch((err: unknown) => {
    throw err instanceof BusError || isBackupError(err) ? err : streamError(target.name, err);
  });
  return { ...outcome, config };
}

/**
 * The stream a `streamConfig` text asks for: parsed, merged over Argo's defaults and validated as a
 * manifest's, on Argo's subjects.
 * @throws {@link EventBusValidationError} with each issue at `streamConfig.<key>`
 */
function argoStreamTarget(text: string, options: { readonly serverReplicas?: number; readonly name?: string } = {}): StreamTarget {
  const issues = new Issues();
  const config = parseStreamConfig(text, ["streamConfig"], issues, { ...(options.serverReplicas !== undefined && { serverReplicas: options.serverReplicas }) });
  if (config === undefined) throw new EventBusValidationError(issues.list);
  return { name: options.name ?? ARGO_STREAM_NAME, subjects: ARGO_STREAM_SUBJECTS, config };
}

/**
 * Creates Argo's stream `default` from a bus's `streamConfig` when it does not exist, and leaves an
 * existing stream as it is: what Argo Events' event sources and sensors do before they publish or
 * subscribe (argo-events `pkg/eventbus/jetstream/base/jetstream.go`, `CreateStream`: `StreamInfo`,
 * then `AddStream` with the streamConfig when the stream is not found).
 * @returns `created`, or `exists` when it was there (or another client created it meanwhile)
 * @throws {@link EventBusValidationError} for a `streamConfig` that is not valid
 * @throws {@link BusError} `CLIENT_STREAM_FAILED` when JetStream refuses the stream
 */
export async function createStreamIfMissing(nc: NatsConnection, text: string): Promise<"created" | "exists"> {
  const target = argoStreamTarget(text);
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(target.name);
    return "exists";
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw streamError(target.name, error);
  }
  try {
    await jsm.streams.add(desiredConfig(target) as JsStreamConfig);
    return "created";
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE) return "exists";
    throw streamError(target.name, error);
  }
}

/** JetStream's `stream name already in use with a different configuration` (err_code 10058). */
const STREAM_NAME_IN_USE = 10058;

/**
 * Creates the stream, or updates a live one to the desired config (unless `dryRun`). Fields
 * JetStream cannot change on a live stream are refused before anything is sent, naming them —
 * unless `recreate`: then the stream is backed up, deleted and restored with the desired config
 * (see `recreateStream`), with its events, sequences and consumers.
 */
export async function ensureStream(
  nc: NatsConnection,
  target: StreamTarget,
  options: { readonly dryRun?: boolean; readonly recreate?: RecreateChoice } = {},
): Promise<StreamOutcome> {
  const jsm = await jetstreamManager(nc);
  const desired = desiredConfig(target);
  let current: JsStreamConfig;
  let state: StreamInfo["state"];
  try {
    ({ config: current, state } = await jsm.streams.info(target.name));
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
      if (!options.dryRun) await jsm.streams.add(desired as JsStreamConfig);
      return { action: "created", changes: [] };
    }
    throw error;
  }
  const changes: string[] = [];
  const refused: string[] = [];
  const fields: string[] = [];
  for (const [key, value] of Object.entries(desired) as [keyof JsStreamConfig, unknown][]) {
    const before = current[key];
    if (JSON.stringify(before) === JSON.stringify(value)) continue;
    const line = `${key}: ${JSON.stringify(before)} → ${JSON.stringify(value)}`;
    if (key in IMMUTABLE_STREAM_FIELDS) {
      refused.push(line);
      fields.push(`${key}: ${String(before)} → ${String(value)}`);
    } else changes.push(line);
  }
  if (refused.length > 0 && options.recreate === undefined) {
    throw new BusError(
      ClientErrorCode.stream,
      `stream ${target.name}: JetStream cannot change ${refused.join(", ")} on a live stream; apply with --recreate (eventbus stream apply --recreate) to back it up, recreate it with the new config and restore its events and consumers`,
    );
  }
  if (refused.length > 0) {
    const floors: number[] = [];
    for await (const c of jsm.consumers.list(target.name)) floors.push(c.ack_floor.stream_seq);
    const removed = desired.retention === "limits" ? undefined : ackedByAll(floors, state);
    if (removed !== undefined && floors.length === 0 && removed.events > 0) {
      throw new BusError(
        ClientErrorCode.stream,
        `stream ${target.name}: it has no consumers, so under ${String(desired.retention)} retention the server would remove all its ${state.messages} events; nothing was changed; create the sensors' consumers first`,
      );
    }
    const removedByRetention = removed !== undefined && removed.events > 0 ? { removedByRetention: removed } : {};
    if (options.dryRun) {
      return {
        action: "recreated",
        changes,
        recreated: {
          fields,
          events: state.messages,
          consumers: state.consumer_count,
          firstSeq: state.first_seq,
          lastSeq: state.last_seq,
          ...removedByRetention,
        },
      };
    }
    const config = { ...current, ...desired } as unknown as Record<string, unknown> & { name: string };
    const done = await recreateStream(nc, {
      config,
      ...(options.recreate?.archiveDir !== undefined && { archiveDir: options.recreate.archiveDir }),
      ...(options.recreate?.onStep !== undefined && { onStep: options.recreate.onStep }),
    });
    return {
      action: "recreated",
      changes,
      recreated: {
        fields,
        events: done.messages,
        consumers: done.consumers,
        firstSeq: done.firstSeq,
        lastSeq: done.lastSeq,
        archive: done.archive,
        ...removedByRetention,
      },
    };
  }
  if (changes.length === 0) return { action: "unchanged", changes };
  if (!options.dryRun) await jsm.streams.update(target.name, { ...current, ...desired } as JsStreamConfig);
  return { action: "updated", changes };
}

/**
 * The events every consumer has acked: those up to the lowest ack floor (every event when there is
 * no consumer). Counted as a gapless range, so a stream with deleted events inside it has fewer.
 */
export function ackedByAll(
  ackFloors: readonly number[],
  state: { readonly messages: number; readonly first_seq: number; readonly last_seq: number },
): { readonly events: number; readonly upTo: number } {
  if (state.messages === 0) return { events: 0, upTo: 0 };
  const upTo = ackFloors.length === 0 ? state.last_seq : Math.min(state.last_seq, ...ackFloors);
  return { events: Math.min(state.messages, Math.max(0, upTo - state.first_seq + 1)), upTo };
}

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

function summarize(info: StreamInfo): StreamSummary {
  const c = info.config;
  const s = info.state;
  const nanos = (n: number) => Duration.fromNanos(BigInt(n)).format();
  const time = (t: string | undefined) => (t === undefined || t.startsWith("0001-") ? undefined : t);
  const firstTime = time(s.first_ts);
  const lastTime = time(s.last_ts);
  return {
    name: c.name,
    subjects: c.subjects ?? [],
    storage: String(c.storage),
    config: {
      maxMsgs: c.max_msgs,
      maxAge: nanos(c.max_age),
      maxBytes: c.max_bytes,
      replicas: c.num_replicas,
      duplicates: nanos(c.duplicate_window ?? 0),
      retention: String(c.retention),
      discard: String(c.discard),
    },
    state: {
      messages: s.messages,
      bytes: s.bytes,
      firstSeq: s.first_seq,
      lastSeq: s.last_seq,
      ...(firstTime !== undefined && { firstTime }),
      ...(lastTime !== undefined && { lastTime }),
      consumers: s.consumer_count,
      subjects: s.num_subjects ?? 0,
    },
    ...(info.cluster && {
      cluster: {
        ...(info.cluster.leader !== undefined && { leader: info.cluster.leader }),
        replicas: (info.cluster.replicas ?? []).map((r) => ({
          name: r.name,
          current: r.current,
          lagMessages: r.lag ?? 0,
          activeMillis: Math.round((r.active ?? 0) / NANOS_PER_MILLI),
          offline: r.offline ?? false,
        })),
      },
    }),
  };
}

function streamError(name: string, err: unknown): BusError {
  if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
    return new BusError(
      ClientErrorCode.stream,
      `stream ${name} does not exist on this bus; apply a stream config (eventbus stream apply) or start the bus with eventbus up`,
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BusError(ClientErrorCode.stream, `stream ${name}: ${message}`, { cause: err });
}
