/**
 * The console's one reader of the buses: every interval it draws each bus once (its source's
 * frame: the same view `eventbus status` prints), keeps the last minutes of readings for the
 * charts, and hands the same serialized state to every viewer. Viewers never cause readings, so
 * ten open tabs cost what one does.
 */
import { retentionLine, type FrameSource, type StatusView } from "../view/index.js";
import type { BusKind, ConsoleBus, ConsoleState, Sample } from "./model.js";

/** How long the first round waits for the buses' first readings before the console serves. */
const FIRST_READING_MILLIS = 15_000;

/** A bus the console can watch: how to open its source, once. */
export interface BusEntry {
  readonly id: string;
  readonly label: string;
  readonly kind: BusKind;
  open(): FrameSource;
}

/** Lists the buses to watch now; called every {@link HubOptions.discoverMillis}. */
export type Discover = () => Promise<readonly BusEntry[]>;

/** Options of {@link ConsoleHub}. */
export interface HubOptions {
  /** Between two readings of each bus. @default 2000 (ms) */
  readonly intervalMillis?: number;
  /** How much of the past the charts show. @default 300000 (ms: 5 minutes) */
  readonly historyMillis?: number;
  /** Between two listings of the buses (local buses started or removed, EventBuses created or deleted). @default 5000 (ms) */
  readonly discoverMillis?: number;
  /** The eventbus version, shown on the page. */
  readonly version: string;
}

/** One bus being watched: its source, its last drawing and its readings. */
interface Watched {
  readonly entry: BusEntry;
  readonly source: FrameSource;
  latest?: ConsoleBus;
  history: Sample[];
  reading?: Promise<void>;
}

/** A viewer: given each state as an SSE `state` event, serialized once for all. */
export type Viewer = (chunk: string) => void;

/** Reads the buses on a timer and serves the state to the viewers. */
export class ConsoleHub {
  private readonly watched = new Map<string, Watched>();
  private readonly viewers = new Set<Viewer>();
  private readonly intervalMillis: number;
  private readonly historyMillis: number;
  private readonly discoverMillis: number;
  private state: ConsoleState;
  private chunk: string;
  private timer: NodeJS.Timeout | undefined;
  private lastDiscovery = 0;
  private stopped = false;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly discover: Discover,
    private readonly options: HubOptions,
  ) {
    this.intervalMillis = options.intervalMillis ?? 2000;
    this.historyMillis = options.historyMillis ?? 300_000;
    this.discoverMillis = options.discoverMillis ?? 5000;
    this.state = { version: options.version, intervalMillis: this.intervalMillis, buses: [] };
    this.chunk = sseChunk(this.state);
  }

  /** Reads every bus once (the first state a viewer gets is complete: a first reading also measures the rates, over a second), then every interval. */
  async start(): Promise<void> {
    await this.tick(FIRST_READING_MILLIS);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule());
    }, this.intervalMillis);
  }

  /** The state now, as JSON. */
  current(): ConsoleState {
    return this.state;
  }

  /** The source of a watched bus, for the event browser. */
  source(id: string): FrameSource | undefined {
    return this.watched.get(id)?.source;
  }

  /** Adds a viewer: it gets the state now and each new one; the function returned removes it. */
  watch(viewer: Viewer): () => void {
    this.viewers.add(viewer);
    viewer(this.chunk);
    return () => this.viewers.delete(viewer);
  }

  /** How many viewers are connected. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  /**
   * One round: the buses listed again when due, each bus not still busy with its last reading read
   * again, and the state pushed once this round's readings are in or the interval has passed (a
   * bus that hangs shows its last drawing until it answers).
   */
  private async tick(waitMillis = this.intervalMillis): Promise<void> {
    if (Date.now() - this.lastDiscovery >= this.discoverMillis) await this.rediscover();
    const started = [...this.watched.values()].filter((w) => w.reading === undefined).map((w) => (w.reading = this.read(w)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(started), new Promise((resolve) => (timer = setTimeout(resolve, waitMillis)))]);
    clearTimeout(timer);
    if (this.stopped) return;
    this.publish();
  }

  private async rediscover(): Promise<void> {
    this.lastDiscovery = Date.now();
    let entries: readonly BusEntry[];
    try {
      entries = await this.discover();
    } catch {
      // The listing failed (the API server did not answer): the buses known stay until it answers.
      return;
    }
    const ids = new Set(entries.map((e) => e.id));
    for (const [id, w] of this.watched) {
      if (ids.has(id)) continue;
      this.watched.delete(id);
      void w.source.close().catch(() => undefined);
    }
    for (const entry of entries) if (!this.watched.has(entry.id)) this.watched.set(entry.id, { entry, source: entry.open(), history: [] });
  }

  private async read(w: Watched): Promise<void> {
    const { id, label, kind } = w.entry;
    try {
      const frame = await w.source.frame();
      const takenAt = frame.snapshot?.takenAt ?? new Date().toISOString();
      const stream = frame.snapshot && !("error" in frame.snapshot.stream) ? frame.snapshot.stream.state : undefined;
      const sample: Sample = {
        at: takenAt,
        ...(frame.snapshot?.retention?.publishRate !== undefined && { publishRate: frame.snapshot.retention.publishRate }),
        ...(stream && { messages: stream.messages, bytes: stream.bytes }),
        pending: Object.fromEntries(frame.view.consumers.map((c) => [c.name, c.pending])),
      };
      w.history = [...w.history.filter((s) => Date.parse(takenAt) - Date.parse(s.at) < this.historyMillis), sample];
      w.latest = {
        id,
        label,
        kind,
        takenAt,
        healthy: frame.healthy,
        view: frame.view,
        ...(frame.view.retention && { retentionLine: retentionLine(frame.view.retention) }),
        flagged: flagged(frame.view),
        history: w.history,
        browsable: w.source.client() !== undefined,
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      w.latest = {
        id,
        label,
        kind,
        takenAt: new Date().toISOString(),
        healthy: false,
        view: unreadable(label, message),
        flagged: { servers: [], consumers: [] },
        history: w.history,
        browsable: false,
        error: message,
      };
    } finally {
      w.reading = undefined;
    }
  }

  private publish(): void {
    const buses = [...this.watched.values()].flatMap((w) => (w.latest ? [w.latest] : [])).sort(byKindThenLabel);
    this.state = { version: this.options.version, intervalMillis: this.intervalMillis, buses };
    this.chunk = sseChunk(this.state);
    for (const viewer of this.viewers) viewer(this.chunk);
  }

  /** Stops reading and closes every source; viewers are left to the server to end. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking?.catch(() => undefined);
    await Promise.all([...this.watched.values()].map((w) => w.reading?.catch(() => undefined)));
    await Promise.all([...this.watched.values()].map((w) => w.source.close().catch(() => undefined)));
    this.watched.clear();
  }
}

const KIND_ORDER: Readonly<Record<BusKind, number>> = { local: 0, remote: 1, kube: 2 };

function byKindThenLabel(a: ConsoleBus, b: ConsoleBus): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.label.localeCompare(b.label);
}

/** The state as one Server-Sent Event. */
function sseChunk(state: ConsoleState): string {
  return `event: state\ndata: ${JSON.stringify(state)}\n\n`;
}

/** The servers and consumers the view's problems name, and the servers not healthy. */
export function flagged(view: StatusView): ConsoleBus["flagged"] {
  const named = (prefixes: readonly string[], name: string) =>
    view.problems.some((p) => prefixes.some((prefix) => p.includes(`${prefix} ${name} `) || p.includes(`${prefix} ${name}:`)));
  return {
    servers: view.servers.filter((s) => s.state !== "healthy" || named(["server", "peer", "replica"], s.name)).map((s) => s.name),
    consumers: view.consumers.filter((c) => named(["consumer"], c.name)).map((c) => c.name),
  };
}

/** The view of a bus that could not be read: its name and why. */
function unreadable(label: string, message: string): StatusView {
  return { headline: `bus ${label}: cannot be read`, problems: [message], notes: [], servers: [], streams: [], consumers: [] };
}
