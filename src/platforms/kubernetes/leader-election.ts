/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's: a candidate takes the lease
 * when it is free or its holder has not renewed it within the lease duration (timed by this
 * process's clock from when it last saw the lease change, so clock skew does not matter), renews
 * it every retry period, and steps down when it could not renew within the renew deadline.
 * Writes use the lease's resourceVersion, so two candidates never both win.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";

import type { KubeClient, KubeResource } from "./kube-client.js";
import { isConflict } from "./kube-errors.js";
import { Resources } from "./resources.js";
import { realDelay, type Delay } from "./watch.js";

/** The Lease's name (Argo Events' controller uses the same). */
export const LEASE_NAME = "eventbus-controller";

/** Timings of leader election, as client-go's defaults. */
export const DEFAULT_LEADER_ELECTION = {
  /** How long a lease holds without renewal. */
  leaseDurationMillis: 15_000,
  /** The leader steps down when it could not renew for this long. */
  renewDeadlineMillis: 10_000,
  /** How often candidates try, and the leader renews. */
  retryPeriodMillis: 2_000,
} as const;

/** Options of {@link LeaderElector}. */
export interface LeaderElectionOptions {
  /** The Lease's namespace (the controller's). */
  readonly namespace: string;
  /** @default {@link LEASE_NAME} */
  readonly name?: string;
  /** This candidate's identity. @default `<hostname>_<random>` */
  readonly identity?: string;
  /** @default 15000; whole seconds are written to the Lease (at least 1) */
  readonly leaseDurationMillis?: number;
  /** @default 10000 */
  readonly renewDeadlineMillis?: number;
  /** @default 2000 */
  readonly retryPeriodMillis?: number;
  /** @default {@link realDelay} */
  readonly delay?: Delay;
  /** @default Date.now */
  readonly now?: () => number;
  readonly onStartedLeading?: () => void;
  readonly onStoppedLeading?: () => void;
  /** Called when the holder seen changes (including to this candidate). */
  readonly onNewLeader?: (identity: string) => void;
  readonly log?: (message: string) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease extends KubeResource {
  readonly spec?: LeaseSpec;
}

/** A default identity: the host name (the pod's name in a pod) and a random suffix. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString("hex")}`;
}

/** Competes for a Lease and says when this process leads. */
export class LeaderElector {
  readonly identity: string;
  private leading = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private observed: { record: string; at: number; lease: Lease } | undefined;
  private lastHolder: string | undefined;
  private readonly name: string;
  private readonly leaseMillis: number;
  private readonly renewDeadline: number;
  private readonly retryPeriod: number;
  private readonly delay: Delay;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
  ) {
    this.identity = options.identity ?? defaultIdentity();
    this.name = options.name ?? LEASE_NAME;
    this.leaseMillis = options.leaseDurationMillis ?? DEFAULT_LEADER_ELECTION.leaseDurationMillis;
    this.renewDeadline = options.renewDeadlineMillis ?? DEFAULT_LEADER_ELECTION.renewDeadlineMillis;
    this.retryPeriod = options.retryPeriodMillis ?? DEFAULT_LEADER_ELECTION.retryPeriodMillis;
    if (!(this.leaseMillis > this.renewDeadline && this.renewDeadline > this.retryPeriod)) {
      throw new RangeError("leader election: the lease duration must be longer than the renew deadline, and that longer than the retry period");
    }
    this.delay = options.delay ?? realDelay;
    this.now = options.now ?? Date.now;
  }

  /** Whether this process holds the lease now. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen, if any. */
  get leader(): string | undefined {
    return this.lastHolder;
  }

  /** Starts competing (once); runs until {@link stop}. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Stops competing; a leader gives the lease up so that another candidate takes it at once. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running;
    if (this.leading) {
      this.setLeading(false);
      if (options.release ?? true) await this.release().catch((err: unknown) => this.log(`could not release the lease: ${String(err)}`));
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // Acquire: try every retry period until this candidate holds the lease.
      while (!this.stopped && !(await this.tryAcquireOrRenew())) await this.delay(jittered(this.retryPeriod), this.abort.signal);
      if (this.stopped) return;
      this.setLeading(true);
      // Renew: every retry period; step down when no renewal succeeded within the deadline.
      let lastRenew = this.now();
      while (!this.stopped) {
        await this.delay(this.retryPeriod, this.abort.signal);
        if (this.stopped) return;
        if (await this.tryAcquireOrRenew()) {
          lastRenew = this.now();
        } else if (this.now() - lastRenew >= this.renewDeadline || this.lastHolder !== this.identity) {
          this.log(`lost the lease ${this.options.namespace}/${this.name}`);
          this.setLeading(false);
          break;
        }
      }
    }
  }

  /** One attempt: create the lease, take it when free or expired, or renew it when held. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const desired = (transitions: number, acquireTime: string | undefined): LeaseSpec => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.leaseMillis / 1000)),
      acquireTime: acquireTime ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    });
    try {
      const lease = await this.client.get<Lease>(Resources.lease, this.options.namespace, this.name, { signal: this.abort.signal });
      if (lease === undefined) {
        const created = await this.client.create<Lease>(Resources.lease, this.options.namespace, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.name, namespace: this.options.namespace },
          spec: desired(0, undefined),
        });
        this.observe(created, now);
        return true;
      }
      this.observe(lease, now);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      const held = holder !== "" && holder !== this.identity;
      const durationMillis = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (held && this.observed !== undefined && this.observed.at + durationMillis > now) return false;
      const transitions = (spec.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1);
      const updated = await this.client.replace<Lease>(Resources.lease, this.options.namespace, this.name, {
        ...lease,
        spec: desired(transitions, holder === this.identity ? spec.acquireTime : undefined),
      });
      this.observe(updated, now);
      return true;
    } catch (err) {
      if (!isConflict(err) && !this.stopped) this.log(`lease ${this.options.namespace}/${this.name}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  }

  /** Gives the lease up: no holder, a one-second duration. */
  private async release(): Promise<void> {
    const lease = await this.client.get<Lease>(Resources.lease, this.options.namespace, this.name);
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const now = microTime(this.now());
    await this.client.replace(Resources.lease, this.options.namespace, this.name, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
    });
  }

  /** Remembers when the lease record last changed, by this process's clock. */
  private observe(lease: Lease, now: number): void {
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ""}|${spec.renewTime ?? ""}|${spec.leaseTransitions ?? 0}`;
    if (this.observed?.record !== record) this.observed = { record, at: now, lease };
    const holder = spec.holderIdentity ?? "";
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder !== "") this.options.onNewLeader?.(holder);
    }
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    if (leading) this.options.onStartedLeading?.();
    else this.options.onStoppedLeading?.();
  }

  private log(message: string): void {
    this.options.log?.(message);
  }
}

/** A Kubernetes MicroTime: RFC 3339 with six fractional digits. */
export function microTime(millis: number): string {
  return new Date(millis).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function jittered(millis: number): number {
  return Math.round(millis * (1 + 0.2 * Math.random()));
}
