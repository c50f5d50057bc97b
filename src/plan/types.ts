import type { Duration, Quantity, ServerSetting, StreamConfig } from "../api/index.js";
import type { jetStreamObjectNames, stanObjectNames } from "../api/index.js";

/** The ports a server listens on (JetStream and NATS Streaming alike), as Argo Events' pods expose them. */
export const DEFAULT_PORTS = { client: 4222, cluster: 6222, monitor: 8222, metrics: 7777 } as const;

/** The listeners of one server. */
export interface ServerPorts {
  readonly client: number;
  readonly cluster: number;
  readonly monitor: number;
}

/** Where the servers of a bus run: this machine, or pods of a StatefulSet. */
export type Placement =
  | {
      readonly platform: "local";
      /** One entry per server, in server order; kept across restarts so that routes stay stable. */
      readonly ports: readonly ServerPorts[];
      /** @default "127.0.0.1" */
      readonly host?: string;
    }
  | {
      readonly platform: "kubernetes";
      readonly namespace: string;
      /** A cluster DNS domain the certificates also name (`<svc>.<ns>.svc.<domain>`), besides `cluster.local`. */
      readonly clusterDomain?: string;
    };

/** One server of a bus. */
export interface ServerPlan {
  readonly index: number;
  /**
   * `<statefulset>-<index>` (`eventbus-<bus>-js-<index>`, `eventbus-<bus>-stan-<index>`): the
   * server_name or raft node ID, the pod name on Kubernetes.
   */
  readonly name: string;
  /** The address peers and clients reach it at: 127.0.0.1 locally, the pod's DNS name on Kubernetes. */
  readonly host: string;
  readonly ports: ServerPorts;
  /**
   * The route URL of every server of the bus, itself included, in server order: `nats-route://host:port`
   * for JetStream, `nats://host:port` for NATS Streaming (as Argo Events writes them); none for one server.
   */
  readonly routes: readonly string[];
}

/** The platform-neutral plan of a managed JetStream bus; both platforms run exactly this. */
export interface JetStreamPlan {
  readonly kind: "jetstream";
  readonly busName: string;
  readonly namespace?: string;
  readonly platform: Placement["platform"];
  /** The version name of the manifest and the nats-server version it runs. */
  readonly version: { readonly name: string; readonly server: string };
  /** The cluster's name: the StatefulSet's name, `eventbus-<bus>-js`. */
  readonly clusterName: string;
  readonly replicas: number;
  readonly servers: readonly ServerPlan[];
  /** The interface listeners bind to: 127.0.0.1 locally, 0.0.0.0 in a pod. */
  readonly listenHost: string;
  readonly auth: "basic" | "token" | "none";
  readonly tls: boolean;
  /** Names the server certificates must carry. */
  readonly tlsNames: { readonly dnsNames: readonly string[]; readonly ipAddresses: readonly string[] };
  readonly storage: {
    /** Whether the store survives a restart (a volume claim, or the state dir). */
    readonly persistent: boolean;
    readonly maxMemoryStoreBytes: number;
    /** -1 for no limit. */
    readonly maxFileStoreBytes: number;
    /** The other `jetstream {}` settings of `spec.jetstream.settings`, checked and typed. */
    readonly passedSettings: readonly ServerSetting[];
    readonly volumeSize?: Quantity;
    readonly storageClassName?: string;
    readonly accessMode?: string;
  };
  readonly maxPayloadBytes: number;
  /** How long a stopping server takes to move its clients away. */
  readonly lameDuckDuration: Duration;
  readonly lameDuckGracePeriod: Duration;
  /** How many times a route is retried before a server gives up on a peer. */
  readonly connectRetries: number;
  /** The names of the accounts: JetStream users live in `js`, the system account is `sys` (basic auth). */
  readonly accounts: { readonly jetstream: "js"; readonly system: "sys" };
  /** The stream every event source publishes into. */
  readonly stream: { readonly name: string; readonly subjects: readonly string[]; readonly config: StreamConfig };
  readonly objects: ReturnType<typeof jetStreamObjectNames>;
  readonly startArgs: readonly string[];
}

/** The platform-neutral plan of a managed NATS Streaming (STAN) bus; both platforms can run exactly this. */
export interface StanPlan {
  readonly kind: "stan";
  readonly busName: string;
  readonly namespace?: string;
  readonly platform: Placement["platform"];
  /** `eventbus-<bus>`: the cluster ID clients connect with. */
  readonly clusterId: string;
  /** The NATS cluster's name: the StatefulSet's name, `eventbus-<bus>-stan`; servers with another name refuse the route. */
  readonly clusterName: string;
  readonly replicas: number;
  /** Each server's name is its raft node ID; the names of all of them are the raft peers. */
  readonly servers: readonly ServerPlan[];
  /** The interface listeners bind to: 127.0.0.1 locally, 0.0.0.0 in a pod. */
  readonly listenHost: string;
  readonly auth: "token" | "none";
  readonly storage: {
    /** Whether the file store and raft log survive a restart (a volume claim, or the state dir). */
    readonly persistent: boolean;
    readonly volumeSize?: Quantity;
    readonly storageClassName?: string;
    readonly accessMode?: string;
  };
  /** The store limits of every channel; 0 for no limit. */
  readonly limits: { readonly maxAge: Duration; readonly maxMsgs: number; readonly maxBytes: number; readonly maxSubs: number };
  readonly raft: { readonly heartbeatTimeout: Duration; readonly electionTimeout: Duration; readonly leaseTimeout: Duration; readonly commitTimeout: Duration };
  readonly maxPayloadBytes: number;
  /** How many times a route is retried before a server gives up on a peer. */
  readonly connectRetries: number;
  readonly objects: ReturnType<typeof stanObjectNames>;
}

/** A secret value written into a config file, or a reference to an environment variable holding it. */
export type SecretValue = { readonly value: string } | { readonly env: string };

/** What a server's config needs beyond the plan: paths on its platform and secret values. */
export interface ServerMaterial {
  /** The JetStream store directory. */
  readonly storeDir: string;
  /** PEM files of the client and route listeners, when the plan has TLS. */
  readonly tls?: {
    readonly client: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
    readonly cluster: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
  };
  /** Per auth mode: basic needs user and system credentials; token needs the token. */
  readonly auth?:
    | { readonly mode: "basic"; readonly user: string; readonly password: SecretValue; readonly systemUser: string; readonly systemPassword: SecretValue }
    | { readonly mode: "token"; readonly token: SecretValue };
  /** Route credentials, so that only the bus's own servers can join its cluster. */
  readonly routeAuth?: { readonly user: string; readonly password: SecretValue };
  /** JetStream encryption-at-rest key. */
  readonly encryptionKey?: SecretValue;
  /** Where the server writes its pid and ports files (local platform), if anywhere. */
  readonly pidFile?: string;
}

/** What a NATS Streaming server's config needs beyond the plan: paths on its platform and the token. */
export interface StanServerMaterial {
  /** The file store's directory. */
  readonly storeDir: string;
  /** The raft log's directory (a clustered bus). */
  readonly logDir: string;
  /** The clients' token, when the plan's auth is token. */
  readonly token?: SecretValue;
}
