/**
 * The nats-streaming-server config of one server of a managed NATS Streaming (STAN) bus: the
 * embedded NATS server's listeners and cluster, and the `streaming {}` block (cluster ID, file
 * store, store limits, raft peers and timeouts). One file holds both, read with `-sc FILE`.
 *
 * Like the JetStream config, no secret value is in it: with token auth it includes a secrets file
 * that defines `EVENTBUS_TOKEN`, and refers to it as `$EVENTBUS_TOKEN`. Every string is quoted by
 * natsconf's `quoteString`, so no user string reaches the file unescaped.
 */
import type { Duration } from "../../api/index.js";
import { quoteString, SECRET_VARIABLES } from "../../natsconf/index.js";

/** Everything one server's config says; the Kubernetes renderer fills it for a pod, tests for a process. */
export interface StanServerConfig {
  /** The bus's name, for the header comment. */
  readonly busName: string;
  /** `eventbus-<bus>`: the cluster ID clients connect with. */
  readonly clusterId: string;
  /** This server's raft node ID (its pod name). */
  readonly nodeId: string;
  /** The node IDs of every server of the bus, in server order, itself included. */
  readonly peers: readonly string[];
  /** The NATS cluster's name (the StatefulSet's name): servers with another name refuse the route. */
  readonly clusterName: string;
  /** The interface listeners bind to. */
  readonly listenHost: string;
  readonly ports: { readonly client: number; readonly cluster: number; readonly monitor: number };
  /** `host:port` peers reach this server's cluster listener at. */
  readonly advertise?: string;
  /** `nats://host:port` of every server's cluster listener, itself included. */
  readonly routes: readonly string[];
  /** How many times a route is retried before a server gives up on a peer. */
  readonly connectRetries: number;
  /** The file store's directory. */
  readonly storeDir: string;
  /** The raft log's directory (clustered only). */
  readonly logPath: string;
  readonly maxPayloadBytes: number;
  readonly limits: { readonly maxAge: Duration; readonly maxMsgs: number; readonly maxBytes: number; readonly maxSubs: number };
  readonly raft: { readonly heartbeatTimeout: Duration; readonly electionTimeout: Duration; readonly leaseTimeout: Duration; readonly commitTimeout: Duration };
  /** The secrets file that defines `EVENTBUS_TOKEN`, relative to the config's directory, when clients need a token. */
  readonly tokenInclude?: string;
}

/** The variable the secrets file of a token-auth STAN bus defines. */
export const STAN_TOKEN_VARIABLE = SECRET_VARIABLES.token;

/**
 * Renders one server's nats-streaming-server config. Pure and deterministic.
 * @throws `UnsafeValueError` (natsconf) for a string with a control character or line break,
 *   `RangeError` for a value that is not a whole number
 */
export function renderStanConfig(c: StanServerConfig): string {
  const lines: string[] = [];
  let depth = 0;
  const indent = () => "  ".repeat(depth);
  const line = (text: string) => lines.push(`${indent()}${text}`);
  const entry = (key: string, value: string) => line(`${key}: ${value}`);
  const open = (key: string) => {
    line(`${key} {`);
    depth++;
  };
  const close = () => {
    depth--;
    line("}");
  };
  const str = (value: string, path: string) => quoteString(value, path);
  const int = (value: number, path: string) => {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${path} must be a whole number, got ${value}`);
    return String(value);
  };
  const dur = (value: Duration, path: string) => quoteString(value.format(), path);
  const list = (values: readonly string[], path: string) => `[${values.map((v, i) => str(v, `${path}[${i}]`)).join(", ")}]`;
  const hostPort = (host: string, port: number) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

  // The header holds only names eventbus made (checked DNS labels), written through the quoter's check.
  line(`# nats-streaming-server config of ${quoteString(c.nodeId, "node_id")}, NATS Streaming EventBus ${quoteString(c.busName, "bus")}.`);
  line("# Rendered by eventbus. Secret values are not in this file.");
  if (c.tokenInclude !== undefined) {
    if (c.tokenInclude.startsWith("/") || c.tokenInclude.includes('"') || c.tokenInclude.trim() === "") {
      throw new RangeError("the token include must be a plain path relative to the config's directory");
    }
    quoteString(c.tokenInclude, "include");
    line(`include "${c.tokenInclude}"`);
  }
  lines.push("");
  entry("listen", str(hostPort(c.listenHost, c.ports.client), "listen"));
  entry("http", str(hostPort(c.listenHost, c.ports.monitor), "http"));
  entry("max_payload", int(c.maxPayloadBytes, "max_payload"));
  if (c.tokenInclude !== undefined) {
    lines.push("");
    open("authorization");
    entry("token", `$${STAN_TOKEN_VARIABLE}`);
    close();
  }
  const clustered = c.peers.length > 1;
  if (clustered) {
    lines.push("");
    open("cluster");
    entry("name", str(c.clusterName, "cluster.name"));
    entry("listen", str(hostPort(c.listenHost, c.ports.cluster), "cluster.listen"));
    if (c.advertise !== undefined) entry("advertise", str(c.advertise, "cluster.advertise"));
    entry("routes", list(c.routes, "cluster.routes"));
    entry("connect_retries", int(c.connectRetries, "cluster.connect_retries"));
    close();
  }
  lines.push("");
  open("streaming");
  entry("id", str(c.clusterId, "streaming.id"));
  entry("store", str("file", "streaming.store"));
  entry("dir", str(c.storeDir, "streaming.dir"));
  open("store_limits");
  entry("max_age", dur(c.limits.maxAge, "streaming.store_limits.max_age"));
  entry("max_msgs", int(c.limits.maxMsgs, "streaming.store_limits.max_msgs"));
  entry("max_bytes", int(c.limits.maxBytes, "streaming.store_limits.max_bytes"));
  entry("max_subs", int(c.limits.maxSubs, "streaming.store_limits.max_subs"));
  close();
  if (clustered) {
    open("cluster");
    entry("node_id", str(c.nodeId, "streaming.cluster.node_id"));
    entry("peers", list(c.peers, "streaming.cluster.peers"));
    entry("log_path", str(c.logPath, "streaming.cluster.log_path"));
    entry("raft_heartbeat_timeout", dur(c.raft.heartbeatTimeout, "streaming.cluster.raft_heartbeat_timeout"));
    entry("raft_election_timeout", dur(c.raft.electionTimeout, "streaming.cluster.raft_election_timeout"));
    entry("raft_lease_timeout", dur(c.raft.leaseTimeout, "streaming.cluster.raft_lease_timeout"));
    entry("raft_commit_timeout", dur(c.raft.commitTimeout, "streaming.cluster.raft_commit_timeout"));
    close();
  }
  close();
  return `${lines.join("\n")}\n`;
}

/** The secrets file of a token-auth STAN bus: `EVENTBUS_TOKEN: "<token>"`. Secret: never log it. */
export function renderStanSecrets(token: string): string {
  return `# The client token of a NATS Streaming EventBus, included by its servers' configs. Keep it private.\n${STAN_TOKEN_VARIABLE}: ${quoteString(token, STAN_TOKEN_VARIABLE)}\n`;
}
