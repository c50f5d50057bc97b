/**
 * Kubernetes Events (core/v1) about EventBuses, as `kubectl describe` shows them. The same event
 * (object, reason, message) is written once per {@link EVENT_REPEAT_WINDOW_MS}, so that a failure
 * retried with backoff does not write an Event each time.
 */
import { kubeTime } from "../../api/index.js";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

import { FIELD_MANAGER, type KubeClient, type KubeResource } from "./kube-client.js";
import { Resources } from "./resources.js";

/** The two types of Events. */
export const EventType = { normal: "Normal", warning: "Warning" } as const;
/** One of the {@link EventType} values. */
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Reasons of the controller's Events. */
export const EventReason = {
  applied: "Applied",
  invalidSpec: "InvalidSpec",
  immutableFieldChanged: "ImmutableFieldChanged",
  applyFailed: "ApplyFailed",
  renderFailed: "RenderFailed",
  materialGenerated: "MaterialGenerated",
  materialRegenerated: "MaterialRegenerated",
  ready: "Ready",
  /** Fewer servers ready than all: degraded while a quorum is, not working below. */
  serversNotReady: "ServersNotReady",
  connected: "Connected",
  connectionFailed: "ConnectionFailed",
  streamUpdated: "StreamUpdated",
  deletionBlocked: "DeletionBlocked",
  deleted: "Deleted",
  volumesKept: "VolumesKept",
  volumesDeleted: "VolumesDeleted",
  /** Servers scaled away, removed from the JetStream meta group. */
  peersRemoved: "PeersRemoved",
  peerRemovalFailed: "PeerRemovalFailed",
  /** A Ready server outside the JetStream meta group: its pod deleted so that it joins. */
  metaGroupRejoin: "MetaGroupRejoin",
} as const;

/** An identical Event is not written again within this window. */
export const EVENT_REPEAT_WINDOW_MS = 10 * 60_000;
const MAX_REMEMBERED = 10_000;

/** Writes Events; never throws (an Event that cannot be written is logged). */
export class EventRecorder {
  private readonly recent = new Map<string, number>();
  private readonly host = hostname();

  constructor(
    private readonly client: KubeClient,
    private readonly options: { readonly now?: () => number; readonly log?: (message: string) => void } = {},
  ) {}

  /** Writes an Event about `object` unless the same one was written within the repeat window. */
  async record(object: KubeResource, type: EventType, reason: string, message: string): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    const meta = object.metadata;
    const key = `${meta.uid ?? `${meta.namespace}/${meta.name}`}|${type}|${reason}|${message}`;
    const last = this.recent.get(key);
    if (last !== undefined && now - last < EVENT_REPEAT_WINDOW_MS) return;
    this.recent.set(key, now);
    if (this.recent.size > MAX_REMEMBERED) this.recent.delete(this.recent.keys().next().value as string);
    const time = kubeTime(now);
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${meta.name}.${now.toString(16)}${randomBytes(2).toString("hex")}`, namespace: meta.namespace ?? "default" },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      // The API server refuses messages over 1 kB.
      message: message.length > 1000 ? `${message.slice(0, 997)}...` : message,
      source: { component: FIELD_MANAGER, host: this.host },
      reportingComponent: FIELD_MANAGER,
      reportingInstance: this.host,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    try {
      await this.client.create(Resources.event, event.metadata.namespace, event);
    } catch (err) {
      this.options.log?.(`could not write Event ${reason} for ${meta.namespace}/${meta.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
