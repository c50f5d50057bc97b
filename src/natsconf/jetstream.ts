/**
 * Rendering the nats-server config of one server of a JetStream plan, split in two texts: `config`
 * holds no secret value and `secrets` holds nothing else. `config` begins with an `include` of the
 * secrets file, which defines each secret as a variable (`EVENTBUS_JS_PASSWORD: "…"`); `config`
 * refers to it as `$EVENTBUS_JS_PASSWORD`. On Kubernetes `config` is a ConfigMap and `secrets` a
 * Secret; locally both are files of mode 0600.
 *
 * Why variables in one top-level include: nats-server resolves an `include` path against the
 * including file's directory, and an included file must be a whole config of its own, so each
 * placement (inside `cluster {}`, inside `authorization {}`) would need a file of its own; it cannot
 * include inside an array. Outgoing routes authenticate only with the credentials in their URLs
 * (not with `cluster.authorization`), so with route authorization the route URLs are secrets too.
 */
import { Duration, type ServerSetting } from "../api/index.js";
import { hostPort, type JetStreamPlan, type SecretValue, type ServerMaterial, type ServerPlan } from "../plan/index.js";
import { InvalidValueError, MaterialMismatchError, UnknownServerError } from "./errors.js";
import { SECRET_VARIABLES, SecretsFile, secretsIncludePath, type RenderOptions } from "./secrets-file.js";
import { array, boolean, duration, integer, quoteString } from "./values.js";
import { ConfWriter, inlineMap } from "./writer.js";

/** The config file's name on both platforms. */
export const CONFIG_FILE_NAME = "nats.conf";
/** How long a TLS handshake on the client and route listeners may take. */
export const TLS_HANDSHAKE_TIMEOUT = Duration.parse("5s");
/** The shortest `lame_duck_duration` nats-server accepts. */
export const MIN_LAME_DUCK_DURATION = Duration.parse("30s");

/** The two texts of one server's config. */
export interface RenderedConfig {
  /** The config file; no secret value is in it. */
  readonly config: string;
  /** The included secrets file: variable definitions only. */
  readonly secrets: string;
}

/**
 * Renders the nats-server config of server `serverIndex` of a plan. Pure and deterministic: the
 * same input always gives byte-identical text.
 *
 * @throws {@link UnknownServerError}, {@link MaterialMismatchError} when the material lacks TLS
 *   files or credentials the plan needs (or has ones it does not use), {@link UnsafeValueError} for
 *   a string with a control character or line break, {@link InvalidValueError} for a value
 *   nats-server would refuse
 */
export function renderJetStreamConfig(plan: JetStreamPlan, serverIndex: number, material: ServerMaterial, options: RenderOptions = {}): RenderedConfig {
  const server = plan.servers[serverIndex];
  if (!Number.isInteger(serverIndex) || server === undefined) throw new UnknownServerError(serverIndex, plan.servers.length);
  checkMaterial(plan, material);
  checkLameDuck(plan);
  if (material.storeDir.trim() === "") throw new InvalidValueError("jetstream.store_dir", "must not be empty");
  const secretsInclude = secretsIncludePath(options);

  const secrets = new SecretsFile();
  const clustered = plan.replicas > 1;
  const conf = new ConfWriter();
  const where = plan.namespace === undefined ? "" : ` in namespace ${JSON.stringify(plan.namespace)}`;
  conf
    .comment(
      `nats-server ${plan.version.server} config of ${server.name}, server ${server.index + 1} of ${plan.replicas} of EventBus ${JSON.stringify(plan.busName)}${where}.`,
    )
    .comment("Rendered by eventbus from the bus's plan. Secret values are not in this file: it refers to")
    .comment("them as $variables, which the included secrets file defines.")
    .include(secretsInclude)
    .blank()
    .entry("server_name", quoteString(server.name, "server_name"))
    .entry("listen", quoteString(hostPort(plan.listenHost, server.ports.client), "listen"))
    .entry("http", quoteString(hostPort(plan.listenHost, server.ports.monitor), "http"))
    .entry("max_payload", integer(plan.maxPayloadBytes, "max_payload"))
    .entry("lame_duck_duration", duration(plan.lameDuckDuration, "lame_duck_duration"))
    .entry("lame_duck_grace_period", duration(plan.lameDuckGracePeriod, "lame_duck_grace_period"));
  if (material.pidFile !== undefined) conf.entry("pid_file", quoteString(material.pidFile, "pid_file"));

  conf.blank().open("jetstream").entry("store_dir", quoteString(material.storeDir, "jetstream.store_dir"));
  if (plan.storage.maxMemoryStoreBytes !== -1) conf.entry("max_memory_store", integer(plan.storage.maxMemoryStoreBytes, "jetstream.max_memory_store"));
  if (plan.storage.maxFileStoreBytes !== -1) conf.entry("max_file_store", integer(plan.storage.maxFileStoreBytes, "jetstream.max_file_store"));
  for (const setting of plan.storage.passedSettings) conf.entry(setting.key, settingValue(setting));
  if (material.encryptionKey !== undefined) conf.entry("key", secrets.reference(material.encryptionKey, SECRET_VARIABLES.encryptionKey, "jetstream.key"));
  conf.close();

  if (material.tls !== undefined) {
    const { certFile, keyFile, caFile } = material.tls.client;
    conf
      .blank()
      .open("tls")
      .entry("cert_file", quoteString(certFile, "tls.cert_file"))
      .entry("key_file", quoteString(keyFile, "tls.key_file"))
      .entry("ca_file", quoteString(caFile, "tls.ca_file"))
      .entry("timeout", duration(TLS_HANDSHAKE_TIMEOUT, "tls.timeout"))
      .close();
  }

  renderAuth(conf, plan, material, secrets);
  if (clustered) renderCluster(conf, plan, server, material, secrets);

  const secretsHeader = [
    `Secret values of ${server.name} of EventBus ${JSON.stringify(plan.busName)}, included by its config, which refers`,
    "to each as a $variable. Keep this file private (mode 0600, or a Kubernetes Secret).",
  ];
  return { config: conf.toString(), secrets: secrets.render(secretsHeader, "This server has no secret values.") };
}

function renderAuth(conf: ConfWriter, plan: JetStreamPlan, material: ServerMaterial, secrets: SecretsFile): void {
  const auth = material.auth;
  if (auth === undefined) return;
  conf.blank();
  if (auth.mode === "token") {
    conf
      .open("authorization")
      .entry("token", secrets.reference(auth.token, SECRET_VARIABLES.token, "authorization.token"))
      .close();
    return;
  }
  const { jetstream: js, system: sys } = plan.accounts;
  const user = (name: string, password: SecretValue, variableName: string, path: string) =>
    inlineMap([
      ["user", quoteString(name, `${path}.user`)],
      ["password", secrets.reference(password, variableName, `${path}.password`)],
    ]);
  conf
    .open("accounts")
    .open(js)
    .entry("jetstream", quoteString("enabled", `accounts.${js}.jetstream`));
  conf.entry("users", array([user(auth.user, auth.password, SECRET_VARIABLES.jetStreamPassword, `accounts.${js}.users[0]`)], conf.indent));
  conf.close().open(sys);
  conf.entry("users", array([user(auth.systemUser, auth.systemPassword, SECRET_VARIABLES.systemPassword, `accounts.${sys}.users[0]`)], conf.indent));
  conf.close().close().entry("system_account", quoteString(sys, "system_account"));
}

function renderCluster(conf: ConfWriter, plan: JetStreamPlan, server: ServerPlan, material: ServerMaterial, secrets: SecretsFile): void {
  conf
    .blank()
    .open("cluster")
    .entry("name", quoteString(plan.clusterName, "cluster.name"))
    .entry("listen", quoteString(hostPort(plan.listenHost, server.ports.cluster), "cluster.listen"))
    // The address peers are told to reach this server at: its name, not a pod IP that no certificate names.
    .entry("advertise", quoteString(hostPort(server.host, server.ports.cluster), "cluster.advertise"));
  const routeAuth = material.routeAuth;
  if (routeAuth === undefined) {
    conf.entry(
      "routes",
      array(
        server.routes.map((url, i) => quoteString(url, `cluster.routes[${i}]`)),
        conf.indent,
      ),
    );
  } else {
    if (!("value" in routeAuth.password)) {
      throw new MaterialMismatchError(
        "routeAuth.password",
        "must be a value, not an environment variable: outgoing routes authenticate with the credentials in their URLs, which nats-server cannot assemble from a variable",
      );
    }
    if (routeAuth.user === "") throw new InvalidValueError("cluster.authorization.user", "must not be empty");
    conf
      .open("authorization")
      .entry("user", quoteString(routeAuth.user, "cluster.authorization.user"))
      .entry("password", secrets.reference(routeAuth.password, SECRET_VARIABLES.routePassword, "cluster.authorization.password"))
      .close();
    for (const url of server.routes) conf.comment(`route to ${url} (its URL with credentials is in the secrets file)`);
    const urls = server.routes.map((url, i) =>
      quoteString(withCredentials(url, routeAuth.user, routeAuth.password as { value: string }), `cluster.routes[${i}]`),
    );
    conf.entry("routes", secrets.define(SECRET_VARIABLES.routes, array(urls, "")));
  }
  conf.entry("connect_retries", integer(plan.connectRetries, "cluster.connect_retries"));
  if (material.tls !== undefined) {
    const { certFile, keyFile, caFile } = material.tls.cluster;
    conf
      .open("tls")
      .entry("cert_file", quoteString(certFile, "cluster.tls.cert_file"))
      .entry("key_file", quoteString(keyFile, "cluster.tls.key_file"))
      .entry("ca_file", quoteString(caFile, "cluster.tls.ca_file"))
      .entry("verify", boolean(true))
      .entry("timeout", duration(TLS_HANDSHAKE_TIMEOUT, "cluster.tls.timeout"))
      .close();
  }
  conf.close();
}

/** `nats-route://user:password@host:port`, both percent-encoded as a URL's user info. */
function withCredentials(url: string, user: string, password: { value: string }): string {
  const scheme = "nats-route://";
  if (!url.startsWith(scheme)) throw new InvalidValueError("cluster.routes", `a route URL must start with ${scheme}`);
  return `${scheme}${encodeURIComponent(user)}:${encodeURIComponent(password.value)}@${url.slice(scheme.length)}`;
}

function checkMaterial(plan: JetStreamPlan, material: ServerMaterial): void {
  if (plan.tls && material.tls === undefined) throw new MaterialMismatchError("tls", "the plan has TLS but the material has no certificate files");
  if (!plan.tls && material.tls !== undefined) throw new MaterialMismatchError("tls", "the material has certificate files but the plan has no TLS");
  const mode = material.auth?.mode ?? "none";
  if (mode !== plan.auth) throw new MaterialMismatchError("auth", `the plan's auth is ${plan.auth} but the material's is ${mode}`);
}

function checkLameDuck(plan: JetStreamPlan): void {
  if (plan.lameDuckDuration.compare(MIN_LAME_DUCK_DURATION) < 0) {
    throw new InvalidValueError(
      "lame_duck_duration",
      `must be at least ${MIN_LAME_DUCK_DURATION.format()} (nats-server's minimum), got ${plan.lameDuckDuration.format()}`,
    );
  }
  if (plan.lameDuckGracePeriod.compare(plan.lameDuckDuration) >= 0) {
    throw new InvalidValueError(
      "lame_duck_grace_period",
      `must be shorter than lame_duck_duration (${plan.lameDuckDuration.format()}), got ${plan.lameDuckGracePeriod.format()}`,
    );
  }
}

/** A passed-through `jetstream {}` setting, written as its kind is (strings and durations quoted). */
function settingValue(setting: ServerSetting): string {
  const path = `jetstream.${setting.key}`;
  switch (setting.kind) {
    case "size":
    case "integer":
      return integer(setting.value as number, path);
    case "string":
    case "duration":
      return quoteString(String(setting.value), path);
  }
}
