/**
 * The watch loop (an informer): list, remember the resourceVersion, watch from it; on 410 Gone
 * list again; on any other failure wait (capped exponential backoff, injectable delay) and watch
 * again from the last version seen. Keeps a cache of the objects and calls handlers on each change.
 */
import { backoffDelay, sleep, type BackoffPolicy } from "../../client/index.js";
import { WatchEventType, type KubeClient, type KubeResource, type Selection } from "./kube-client.js";
import { isGone } from "./kube-errors.js";
import type { ResourceType } from "./resources.js";

/** Waits `millis`, or less when `signal` aborts. Injectable so that tests never sleep. */
export type Delay = (millis: number, signal: AbortSignal) => Promise<void>;

/** The real {@link Delay}: the client's {@link sleep}. */
export const realDelay: Delay = sleep;

/** The default backoff of a failed list or watch: 250 ms doubling to 30 s, plus up to 20% jitter. */
export const DEFAULT_WATCH_BACKOFF: BackoffPolicy = { initialMillis: 250, maxMillis: 30_000, jitter: 0.2 };

/** The server ends each watch after a random time in this range (seconds), as client-go asks. */
const WATCH_TIMEOUT_SECONDS = [300, 600] as const;

/** Handlers of an informer's changes. `old` is the cached object before the change. */
export interface InformerHandlers<T extends KubeResource> {
  onAdd?(object: T): void;
  onUpdate?(object: T, old: T): void;
  onDelete?(object: T): void;
}

/** What an informer reports about its loop, for logs. */
export interface InformerLogEntry {
  readonly resource: string;
  readonly event: "listed" | "watch-ended" | "relist" | "error";
  readonly message: string;
  readonly retryInMillis?: number;
}

/** Options of {@link Informer}. */
export interface InformerOptions<T extends KubeResource> extends Selection, InformerHandlers<T> {
  /** @default {@link DEFAULT_WATCH_BACKOFF} */
  readonly backoff?: BackoffPolicy;
  /** @default {@link realDelay} */
  readonly delay?: Delay;
  readonly log?: (entry: InformerLogEntry) => void;
  /** Seconds each watch request may last before the server ends it. @default random 300–600 */
  readonly watchTimeoutSeconds?: number;
}

/** The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(object: { readonly metadata: { readonly name: string; readonly namespace?: string } }): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}

/** A list-and-watch loop over one resource type and selection, with a cache of its objects. */
export class Informer<T extends KubeResource = KubeResource> {
  private readonly store = new Map<string, T>();
  private stopped = false;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private lastVersion: string | undefined;
  private syncedOnce = false;
  private readonly syncWaiters: (() => void)[] = [];
  private readonly delay: Delay;
  private readonly backoff: BackoffPolicy;

  constructor(
    private readonly client: KubeClient,
    readonly resource: ResourceType,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.delay = options.delay ?? realDelay;
    this.backoff = options.backoff ?? DEFAULT_WATCH_BACKOFF;
  }

  /** Whether the first list has filled the cache. */
  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves once the first list has filled the cache. */
  synced(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Starts the loop (once). */
  start(): void {
    this.running ??= this.loop();
  }

  /** Stops the loop: aborts the request in flight and waits until the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    await this.running;
  }

  /** The cached object. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.store.values()];
  }

  /**
   * Puts an object the controller just wrote into the cache, so that the next reconcile sees it
   * before its watch event arrives. Ignored when the cache already has a newer version.
   */
  remember(object: T): void {
    const key = objectKey(object);
    const cached = this.store.get(key);
    if (cached !== undefined && !isNewer(object, cached)) return;
    this.store.set(key, object);
  }

  /** Removes an object the controller just deleted from the cache. */
  forget(namespace: string | undefined, name: string): void {
    this.store.delete(namespace ? `${namespace}/${name}` : name);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.abort = new AbortController();
      const signal = this.abort.signal;
      try {
        if (this.lastVersion === undefined) {
          const list = await this.client.list<T>(this.resource, this.selection(), { signal });
          this.replace(list.items);
          this.lastVersion = list.resourceVersion;
          this.log("listed", `${list.items.length} objects at resourceVersion ${list.resourceVersion}`);
          if (!this.syncedOnce) {
            this.syncedOnce = true;
            for (const resolve of this.syncWaiters.splice(0)) resolve();
          }
        }
        const timeoutSeconds = this.options.watchTimeoutSeconds ?? randomBetween(...WATCH_TIMEOUT_SECONDS);
        for await (const event of this.client.watch<T>(
          this.resource,
          { ...this.selection(), resourceVersion: this.lastVersion, timeoutSeconds, allowBookmarks: true },
          { signal },
        )) {
          failures = 0;
          const version = event.object.metadata.resourceVersion;
          if (event.type !== WatchEventType.bookmark) this.apply(event.type, event.object);
          if (version !== undefined) this.lastVersion = version;
        }
        this.log("watch-ended", `watch ended at resourceVersion ${this.lastVersion}`);
      } catch (err) {
        if (this.stopped) break;
        if (isGone(err)) {
          // The version is older than the server keeps: the cache may have missed changes.
          this.lastVersion = undefined;
          this.log("relist", "resourceVersion expired (410 Gone); listing again");
          continue;
        }
        const wait = backoffDelay(this.backoff, failures++);
        this.log("error", err instanceof Error ? err.message : String(err), wait);
        await this.delay(wait, signal);
      }
    }
  }

  private selection(): Selection {
    const { namespace, labelSelector, fieldSelector } = this.options;
    return {
      ...(namespace !== undefined && { namespace }),
      ...(labelSelector !== undefined && { labelSelector }),
      ...(fieldSelector !== undefined && { fieldSelector }),
    };
  }

  private apply(type: Exclude<WatchEventType, "ERROR" | "BOOKMARK">, object: T): void {
    const key = objectKey(object);
    const old = this.store.get(key);
    if (type === WatchEventType.deleted) {
      this.store.delete(key);
      this.options.onDelete?.(old ?? object);
      return;
    }
    // Already cached (remembered after a write, or unchanged in a relist): nothing happened.
    if (old !== undefined && !isNewer(object, old)) return;
    this.store.set(key, object);
    if (old === undefined) this.options.onAdd?.(object);
    else this.options.onUpdate?.(object, old);
  }

  /** The cache after a list: objects gone since are deleted, the others added or updated. */
  private replace(items: readonly T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(objectKey(item));
      this.apply(WatchEventType.modified, item);
    }
    for (const [key, old] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.options.onDelete?.(old);
    }
  }

  private log(event: InformerLogEntry["event"], message: string, retryInMillis?: number): void {
    this.options.log?.({ resource: this.resource.plural, event, message, ...(retryInMillis !== undefined && { retryInMillis }) });
  }
}

/** Whether `a` is a later version of the same object than `b` (resourceVersions are etcd revisions). */
function isNewer(a: KubeResource, b: KubeResource): boolean {
  if (a.metadata.uid !== b.metadata.uid) return true;
  const va = Number(a.metadata.resourceVersion);
  const vb = Number(b.metadata.resourceVersion);
  // resourceVersions are opaque by contract; compare as numbers only when both are.
  if (!Number.isFinite(va) || !Number.isFinite(vb)) return a.metadata.resourceVersion !== b.metadata.resourceVersion;
  return va > vb;
}

function randomBetween(min: number, max: number): number {
  return Math.floor(min + Math.random() * (max - min));
}
