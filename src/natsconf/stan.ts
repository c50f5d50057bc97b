/**
 * Rendering the nats-streaming-server config of one server of a NATS Streaming (STAN) plan: the
 * embedded NATS server's listeners and cluster, and the `streaming {}` block (cluster ID, file
 * store, store limits, raft peers and timeouts). One file holds both, read with `-sc FILE`.
 *
 * As with JetStream, no secret value is in the config: with token auth it includes a secrets file
 * that defines `EVENTBUS_TOKEN`, and refers to it as `$EVENTBUS_TOKEN`. The secrets file names no
 * server, so every server of a bus can include the same one.
 */
import { hostPort, type StanPlan, type StanServerMaterial } from "../plan/index.js";
import { InvalidValueError, MaterialMismatchError, UnknownServerError } from "./errors.js";
import { SECRET_VARIABLES, SecretsFile, secretsIncludePath, type RenderOptions } from "./secrets-file.js";
import { duration, integer, quoteString } from "./values.js";
import { ConfWriter, inlineArray } from "./writer.js";

/** The two texts of one STAN server's config. */
export interface RenderedStanConfig {
  /** The config file; no secret value is in it. */
  readonly config: string;
  /** The included secrets file, when the config includes one (a token given as a value). */
  readonly secrets?: string;
}

/** The only store eventbus runs STAN with: the file store, on the data volume or in the state dir. */
const STORE_TYPE = "file";

/**
 * Renders the nats-streaming-server config of server `serverIndex` of a STAN plan. Pure and
 * deterministic: the same input always gives byte-identical text.
 *
 * @throws {@link UnknownServerError}, {@link MaterialMismatchError} when the material's token does
 *   not fit the plan's auth, {@link UnsafeValueError} for a string with a control character or line
 *   break, {@link InvalidValueError} for a value nats-streaming-server would refuse
 */
export function renderStanConfig(plan: StanPlan, serverIndex: number, material: StanServerMaterial, options: RenderOptions = {}): RenderedStanConfig {
  const server = plan.servers[serverIndex];
  if (!Number.isInteger(serverIndex) || server === undefined) throw new UnknownServerError(serverIndex, plan.servers.length);
  checkMaterial(plan, material);
  const clustered = plan.servers.length > 1;
  if (material.storeDir.trim() === "") throw new InvalidValueError("streaming.dir", "must not be empty");
  if (clustered && material.logDir.trim() === "") throw new InvalidValueError("streaming.cluster.log_path", "must not be empty");

  // The token is referred to before the include is written: the include is there only when the file defines it.
  const secrets = new SecretsFile();
  const token = material.token === undefined ? undefined : secrets.reference(material.token, SECRET_VARIABLES.token, "authorization.token");
  const conf = new ConfWriter()
    .comment(`nats-streaming-server config of ${JSON.stringify(server.name)}, NATS Streaming EventBus ${JSON.stringify(plan.busName)}.`)
    .comment("Rendered by eventbus. Secret values are not in this file.");
  if (!secrets.empty) conf.include(secretsIncludePath(options));
  conf
    .blank()
    .entry("listen", quoteString(hostPort(plan.listenHost, server.ports.client), "listen"))
    .entry("http", quoteString(hostPort(plan.listenHost, server.ports.monitor), "http"))
    .entry("max_payload", integer(plan.maxPayloadBytes, "max_payload"));
  if (token !== undefined) conf.blank().open("authorization").entry("token", token).close();
  if (clustered) {
    conf
      .blank()
      .open("cluster")
      .entry("name", quoteString(plan.clusterName, "cluster.name"))
      .entry("listen", quoteString(hostPort(plan.listenHost, server.ports.cluster), "cluster.listen"))
      // The address peers are told to reach this server at: its name, not a pod IP that changes.
      .entry("advertise", quoteString(hostPort(server.host, server.ports.cluster), "cluster.advertise"))
      .entry("routes", inlineArray(server.routes.map((url, i) => quoteString(url, `cluster.routes[${i}]`))))
      .entry("connect_retries", integer(plan.connectRetries, "cluster.connect_retries"))
      .close();
  }

  const { limits, raft } = plan;
  conf
    .blank()
    .open("streaming")
    .entry("id", quoteString(plan.clusterId, "streaming.id"))
    .entry("store", quoteString(STORE_TYPE, "streaming.store"))
    .entry("dir", quoteString(material.storeDir, "streaming.dir"))
    .open("store_limits")
    .entry("max_age", duration(limits.maxAge, "streaming.store_limits.max_age"))
    .entry("max_msgs", integer(limits.maxMsgs, "streaming.store_limits.max_msgs"))
    .entry("max_bytes", integer(limits.maxBytes, "streaming.store_limits.max_bytes"))
    .entry("max_subs", integer(limits.maxSubs, "streaming.store_limits.max_subs"))
    .close();
  if (clustered) {
    conf
      .open("cluster")
      .entry("node_id", quoteString(server.name, "streaming.cluster.node_id"))
      .entry("peers", inlineArray(plan.servers.map((peer, i) => quoteString(peer.name, `streaming.cluster.peers[${i}]`))))
      .entry("log_path", quoteString(material.logDir, "streaming.cluster.log_path"))
      .entry("raft_heartbeat_timeout", duration(raft.heartbeatTimeout, "streaming.cluster.raft_heartbeat_timeout"))
      .entry("raft_election_timeout", duration(raft.electionTimeout, "streaming.cluster.raft_election_timeout"))
      .entry("raft_lease_timeout", duration(raft.leaseTimeout, "streaming.cluster.raft_lease_timeout"))
      .entry("raft_commit_timeout", duration(raft.commitTimeout, "streaming.cluster.raft_commit_timeout"))
      .close();
  }
  conf.close();

  if (secrets.empty) return { config: conf.toString() };
  return {
    config: conf.toString(),
    secrets: secrets.render(["The client token of a NATS Streaming EventBus, included by its servers' configs. Keep it private."]),
  };
}

function checkMaterial(plan: StanPlan, material: StanServerMaterial): void {
  if (plan.auth === "token" && material.token === undefined) throw new MaterialMismatchError("token", "the plan's auth is token but the material has no token");
  if (plan.auth !== "token" && material.token !== undefined)
    throw new MaterialMismatchError("token", `the material has a token but the plan's auth is ${plan.auth}`);
}
