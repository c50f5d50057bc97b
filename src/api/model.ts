import type { CronSchedule } from "./cron.js";
import type { Duration } from "./duration.js";
import type { NatsServerUrl } from "./nats-url.js";
import type { Quantity } from "./quantity.js";
import type { ContainerTemplateSpec, EventBus, JetStreamAuth, NativeStrategy, SecretKeySelector } from "./schema.js";
import type { ServerSettings } from "./settings.js";
import type { Size } from "./size.js";
import type { StreamConfig } from "./stream-config.js";

/** The four kinds of EventBus, named by their spec keys. */
export const BusMode = {
  jetstream: "jetstream",
  natsNative: "nats.native",
  natsExotic: "nats.exotic",
  jetstreamExotic: "jetstreamExotic",
} as const;
export type BusMode = (typeof BusMode)[keyof typeof BusMode];

/** Persistence after defaults: what each server's volume is. */
export interface ResolvedPersistence {
  readonly storageClassName?: string;
  readonly accessMode: "ReadWriteOnce" | "ReadWriteMany" | "ReadWriteOncePod";
  readonly volumeSize: Quantity;
}

/** Where and how the pods of a managed bus run; passed through to Kubernetes as written. */
export type PodTemplate = Pick<
  NativeStrategy,
  | "containerTemplate"
  | "metricsContainerTemplate"
  | "metadata"
  | "nodeSelector"
  | "tolerations"
  | "securityContext"
  | "imagePullSecrets"
  | "priorityClassName"
  | "priority"
  | "affinity"
  | "serviceAccountName"
> & { reloaderContainerTemplate?: ContainerTemplateSpec };

/** A managed JetStream bus with every default applied and every value parsed. */
export interface ResolvedJetStream {
  readonly mode: typeof BusMode.jetstream;
  /** The version name as written (an entry of the versions table). */
  readonly version: string;
  readonly replicas: number;
  readonly auth: JetStreamAuth;
  readonly tls: boolean;
  readonly persistence?: ResolvedPersistence;
  readonly settings: ServerSettings;
  readonly maxPayload: Size;
  readonly streamConfig: StreamConfig;
  readonly startArgs: readonly string[];
  readonly pod: PodTemplate;
  /** Scheduled backups (an eventbus extension). */
  readonly backup?: ResolvedBackup;
}

/** `spec.jetstream.backup` after defaults. */
export interface ResolvedBackup {
  readonly schedule: CronSchedule;
  /** How many backups are kept, newest first. */
  readonly keep: number;
  /** On Kubernetes: the backups' volume claim. */
  readonly volumeSize?: Quantity;
  readonly storageClassName?: string;
}

/** A managed NATS Streaming bus with every default applied and every value parsed. */
export interface ResolvedStan {
  readonly mode: typeof BusMode.natsNative;
  readonly replicas: number;
  readonly auth: "none" | "token";
  readonly persistence?: ResolvedPersistence;
  readonly maxAge: Duration;
  readonly maxMsgs: number;
  readonly maxBytes: Size;
  readonly maxSubs: number;
  readonly maxPayload: Size;
  readonly raft: { readonly heartbeatTimeout: Duration; readonly electionTimeout: Duration; readonly leaseTimeout: Duration; readonly commitTimeout: Duration };
  readonly pod: PodTemplate;
}

/** An external JetStream cluster. */
export interface ResolvedJetStreamExotic {
  readonly mode: typeof BusMode.jetstreamExotic;
  readonly urls: readonly NatsServerUrl[];
  readonly accessSecret?: SecretKeySelector;
  readonly streamConfig: StreamConfig;
  readonly tls?: {
    readonly caCertSecret?: SecretKeySelector;
    readonly clientCertSecret?: SecretKeySelector;
    readonly clientKeySecret?: SecretKeySelector;
    readonly insecureSkipVerify: boolean;
  };
}

/** An external NATS Streaming cluster. */
export interface ResolvedStanExotic {
  readonly mode: typeof BusMode.natsExotic;
  readonly urls: readonly NatsServerUrl[];
  readonly clusterID: string;
  readonly auth: "none" | "token";
  readonly accessSecret?: SecretKeySelector;
}

export type ResolvedSpec = ResolvedJetStream | ResolvedStan | ResolvedJetStreamExotic | ResolvedStanExotic;

/** A valid EventBus: the manifest as written, and the spec with defaults applied and values parsed. */
export interface ResolvedEventBus {
  readonly name: string;
  readonly namespace?: string;
  readonly manifest: EventBus;
  readonly spec: ResolvedSpec;
}
