/**
 * A work queue of keys, as client-go's: a key is queued at most once however often it is added;
 * a key being processed is not handed out again until it is done (if added meanwhile, it comes
 * back after); failed keys come back after a per-key capped exponential backoff; delayed adds.
 * The clock is injectable so that tests never sleep.
 */

import { backoffDelay, systemClock, type Clock } from "../../client/index.js";

export { systemClock, type Clock } from "../../client/index.js";

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** The first retry delay of a failing key. @default 250 (ms) */
  readonly baseDelayMillis?: number;
  /** No retry delay is longer. @default 60000 (ms) */
  readonly maxDelayMillis?: number;
  /** @default {@link systemClock} */
  readonly clock?: Clock;
}

/** A deduplicating, rate-limited queue of keys (`namespace/name`). */
export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys waiting to be processed (queued, or added while being processed). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Delayed adds: the key's timer and when it fires. */
  private readonly delayed = new Map<string, { handle: unknown; at: number }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly clock: Clock;
  private readonly baseDelay: number;
  private readonly maxDelay: number;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.baseDelay = options.baseDelayMillis ?? 250;
    this.maxDelay = options.maxDelayMillis ?? 60_000;
  }

  /** Keys waiting to be handed out. */
  get length(): number {
    return this.queue.length;
  }

  /** Keys handed out and not yet done. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting for a delayed add or a retry. */
  get waiting(): number {
    return this.delayed.size;
  }

  /** Queues a key now, unless it is already queued; a key being processed comes back once done. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Queues a key after `millis`; an earlier pending add of the same key wins. */
  addAfter(key: string, millis: number): void {
    if (this.shuttingDown) return;
    if (millis <= 0) return this.add(key);
    const at = this.clock.now() + millis;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      this.clock.clearTimeout(pending.handle);
    }
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, millis);
    this.delayed.set(key, { handle, at });
  }

  /** Queues a failed key after its backoff: base × 2^(failures so far), capped. Returns the delay. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = backoffDelay({ initialMillis: this.baseDelay, maxMillis: this.maxDelay, jitter: 0 }, failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** How often the key has failed since it last succeeded. */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resets a key's backoff (after it succeeded). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /**
   * The next key to process; waits for one. Resolves undefined once the queue shuts down. Call
   * {@link done} with the key when finished.
   */
  get(): Promise<string | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
  }

  /** Stops handing out keys: waiters get undefined, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.clock.clearTimeout(handle);
    this.delayed.clear();
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  private take(): string {
    const key = this.queue.shift() as string;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
