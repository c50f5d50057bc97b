/**
 * What the console's API serves and its page reads: every bus it watches, each as the same view
 * `eventbus status` prints ({@link StatusView}), with what the page marks and draws. Types only:
 * the page imports them too.
 */
import type { StatusView } from "../view/index.js";

/** How the console reaches a bus. */
export const BusKind = { local: "local", remote: "remote", kube: "kube" } as const;
export type BusKind = (typeof BusKind)[keyof typeof BusKind];

/** One reading of a bus for the charts. */
export interface Sample {
  /** When it was taken (RFC 3339). */
  readonly at: string;
  /** Events published per second into the stream since the reading before (absent until there is one). */
  readonly publishRate?: number;
  /** The stream's events and bytes. */
  readonly messages?: number;
  readonly bytes?: number;
  /** Each consumer's pending (not yet delivered) events, by consumer name. */
  readonly pending: Readonly<Record<string, number>>;
}

/** One bus as the console shows it. */
export interface ConsoleBus {
  /** Stable and URL-safe: `local.<name>`, `kube.<namespace>.<name>`, `remote.<n>`. */
  readonly id: string;
  /** What the bus is called in the list: its name, `<namespace>/<name>`, or its URL. */
  readonly label: string;
  readonly kind: BusKind;
  /** When the view was drawn (RFC 3339). */
  readonly takenAt: string;
  readonly healthy: boolean;
  /** The same facts and words as `eventbus status`. */
  readonly view: StatusView;
  /** The stream's retention in the line `eventbus status` prints, when the view has a retention outlook. */
  readonly retentionLine?: string;
  /** Names the problems point at: each row of these is marked. */
  readonly flagged: { readonly servers: readonly string[]; readonly consumers: readonly string[] };
  /** The readings of the last minutes, oldest first, for the charts. */
  readonly history: readonly Sample[];
  /** Whether the event browser can read this bus's stream (it has a JetStream connection). */
  readonly browsable: boolean;
  /** Why the bus could not be read at all, when it could not (its view then says only that). */
  readonly error?: string;
}

/** Everything the console shows, pushed to every viewer each interval. */
export interface ConsoleState {
  /** The eventbus version serving the page. */
  readonly version: string;
  /** Milliseconds between two readings. */
  readonly intervalMillis: number;
  readonly buses: readonly ConsoleBus[];
}

/** An event's data, decoded as its content type says: JSON, text, or (neither) base64. */
export type EventData =
  | { readonly kind: "json"; readonly value: unknown }
  | { readonly kind: "text"; readonly value: string; readonly truncated?: boolean }
  | { readonly kind: "base64"; readonly value: string; readonly truncated?: boolean }
  | { readonly kind: "none" };

/** One event of the stream, as the event browser lists it. */
export interface BrowsedEvent {
  /** Its stream sequence. */
  readonly seq: number;
  /** The NATS subject it was published on (`default.<source>.<event>`). */
  readonly subject: string;
  /** When the stream stored it (RFC 3339). */
  readonly stored: string;
  /** Its size in bytes, body only. */
  readonly size: number;
  /** Its `Nats-Msg-Id` header. */
  readonly msgId?: string;
  /** The CloudEvent's attributes, when the body is one. */
  readonly cloudEvent?: {
    readonly id: string;
    readonly source: string;
    readonly type: string;
    readonly subject?: string;
    readonly time?: string;
    readonly datacontenttype?: string;
    readonly specversion: string;
  };
  readonly data: EventData;
  /** Why the body is not shown as a CloudEvent, when it is not one. */
  readonly notCloudEvent?: string;
}

/** What the event browser reads: the last events of a subject, newest first. */
export interface BrowsedEvents {
  readonly bus: string;
  readonly stream: string;
  /** The subject filter (`default.>`, `default.webhook.*`, `default.webhook.example`). */
  readonly subject: string;
  /** The stream's last sequence when read. */
  readonly lastSeq: number;
  readonly events: readonly BrowsedEvent[];
}
