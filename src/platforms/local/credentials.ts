import { readFile } from "node:fs/promises";
import { formatStreamConfig } from "../../api/index.js";
import { busTlsFiles, CLIENT_AUTH_SECRET_KEY, loadBusSecrets } from "../../secrets/index.js";
import type { JetStreamPlan, StanPlan } from "../../plan/index.js";
import type { StatusConfig } from "../../api/index.js";
import { appliedBus } from "./applied.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import { busPaths, eventbusHome } from "./home.js";

/** How clients connect to a local bus; secrets only when asked for. */
export interface BusCredentials {
  readonly name: string;
  readonly urls: readonly string[];
  readonly auth: "basic" | "token" | "none";
  readonly user?: string;
  /** Present only with `showSecrets`. */
  readonly password?: string;
  /** Present only with `showSecrets`. */
  readonly token?: string;
  readonly caFile?: string;
  /** Argo Events' auth file (`username`/`password` or `token`), mode 0600. */
  readonly authFile?: string;
  /** Each server's monitoring endpoint (`http://127.0.0.1:<port>`), in server order. */
  readonly monitors: readonly string[];
  /** The cluster ID a NATS Streaming client connects with; a JetStream bus has none. */
  readonly clusterId?: string;
  /**
   * What Argo Events puts in an EventBus's `status.config`, for `EVENTBUS_CONFIG`: `jetstream`
   * (url, accessSecret, streamConfig) for a JetStream bus, `nats` (url, clusterID, auth,
   * accessSecret) for NATS Streaming (argoproj/argo-events pkg/apis/eventbus/v1alpha1 `NATSConfig`).
   */
  readonly statusConfig: StatusConfig;
}

/** The connection details of a local bus, from its state dir. */
export async function busCredentials(name: string, options: { home?: string; showSecrets?: boolean } = {}): Promise<BusCredentials> {
  const paths = busPaths(options.home ?? eventbusHome(), name);
  const planText = await readFile(paths.plan, "utf8").catch(() => undefined);
  if (planText === undefined) throw new LocalPlatformError(LocalErrorCode.notFound, `no local bus named ${name} (looked in ${paths.dir})`);
  const plan = JSON.parse(planText) as JetStreamPlan | StanPlan;
  const secrets = await loadBusSecrets(paths.secrets);
  const urls = plan.servers.map((s) => `nats://${plan.listenHost}:${s.ports.client}`);
  const c = secrets.credentials;
  const accessSecret = { name: plan.kind === "stan" ? plan.objects.clientSecret : plan.objects.clientAuthSecret, key: CLIENT_AUTH_SECRET_KEY };
  let statusConfig: StatusConfig;
  if (plan.kind === "stan") {
    statusConfig = { nats: { url: urls.join(","), clusterID: plan.clusterId, auth: plan.auth, ...(plan.auth === "token" && { accessSecret }) } };
  } else {
    const applied = await appliedBus(paths).catch(() => undefined);
    const stream = applied?.bus.spec.mode === "jetstream" ? applied.bus.spec.streamConfig : undefined;
    statusConfig = {
      jetstream: { url: urls.join(","), ...(plan.auth !== "none" && { accessSecret }), streamConfig: stream ? formatStreamConfig(stream) : "" },
    };
  }
  const tls = plan.kind === "jetstream" && plan.tls;
  return {
    name,
    urls,
    auth: plan.auth,
    ...(plan.auth === "basic" && { user: c.user }),
    ...(options.showSecrets && plan.auth === "basic" && { password: c.password }),
    ...(options.showSecrets && plan.auth === "token" && { token: c.token }),
    ...(tls && { caFile: busTlsFiles(paths.secrets).client.caFile }),
    ...(plan.auth !== "none" && { authFile: paths.authFile }),
    ...(plan.kind === "stan" && { clusterId: plan.clusterId }),
    monitors: plan.servers.map((s) => `http://${plan.listenHost}:${s.ports.monitor}`),
    statusConfig,
  };
}
