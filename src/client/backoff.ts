/**
 * Time, waits and capped exponential backoff: the one place for them. The client connects,
 * reconnects and retries publishes with jitter (many clients losing the same server at once spread
 * their retries instead of arriving together); the Kubernetes watch loop and work queue and the
 * local supervisor's restarts use the same policy and formula; everything that waits takes a
 * {@link Clock} or a {@link Delay}, so that tests never sleep.
 */

/** Time and timers, injectable for tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, millis: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. Its timers never keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, millis) => {
    const timer = setTimeout(fn, millis);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Waits `millis`, or less when `signal` aborts. */
export type Delay = (millis: number, signal?: AbortSignal) => Promise<void>;

/** A backoff policy. */
export interface BackoffPolicy {
  /** The first delay. @default 250 (ms) */
  readonly initialMillis: number;
  /** No delay is longer than this (before jitter). @default 10000 (ms) */
  readonly maxMillis: number;
  /** Each delay is stretched by a random fraction up to this. @default 0.25 */
  readonly jitter: number;
}

/** The default reconnect and connect backoff: 250 ms doubling to 10 s, plus up to 25% jitter. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMillis: 250, maxMillis: 10_000, jitter: 0.25 };

/**
 * The delay before retry number `attempt` (0 for the first retry): `initialMillis × 2^attempt`,
 * capped at `maxMillis`, stretched by up to `jitter`. `random` is injectable for tests.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMillis, policy.initialMillis * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 + policy.jitter * random()));
}

/**
 * The delay nats.js waits before dialling a server again, for its `reconnectDelayHandler`. nats.js
 * asks for it on every turn of its dial loop without saying which attempt it is on, so the delay
 * grows with the time since the connection was lost: a server is dialled again after about as long
 * as the client has already been disconnected, which doubles the interval from one attempt to the
 * next, up to the cap. The jitter factor is drawn once per disconnection, so the loop's repeated
 * calls agree on one delay.
 */
export class ReconnectDelay {
  private disconnectedAt = 0;
  private factor = 1;

  constructor(
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Call when the connection is lost. */
  disconnected(): void {
    this.disconnectedAt = this.now();
    this.factor = 1 + this.policy.jitter * this.random();
  }

  /** The current delay between two dials of the same server. */
  delay(): number {
    const elapsed = this.disconnectedAt === 0 ? 0 : this.now() - this.disconnectedAt;
    const base = Math.min(this.policy.maxMillis, Math.max(this.policy.initialMillis, elapsed));
    return Math.round(base * this.factor);
  }
}

/** The real {@link Delay}: resolves after `millis`, or at once when `signal` aborts. */
export const sleep: Delay = (millis, signal) => {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, millis);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
};
