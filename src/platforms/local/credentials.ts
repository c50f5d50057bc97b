import { readFile } from "node:fs/promises";
import { formatStreamConfig } from "../../api/index.js";
import { busTlsFiles, CLIENT_AUTH_SECRET_KEY, loadBusSecrets } from "../../secrets/index.js";
import type { JetStreamPlan } from "../../plan/index.js";
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
  /** What Argo Events puts in an EventBus's `status.config`, for `EVENTBUS_CONFIG`. */
  readonly statusConfig: {
    readonly jetstream: { readonly url: string; readonly accessSecret?: { readonly name: string; readonly key: string }; readonly streamConfig: string };
  };
}

/** The connection details of a local bus, from its state dir. */
export async function busCredentials(name: string, options: { home?: string; showSecrets?: boolean } = {}): Promise<BusCredentials> {
  const paths = busPaths(options.home ?? eventbusHome(), name);
  const planText = await readFile(paths.plan, "utf8").catch(() => undefined);
  if (planText === undefined) throw new LocalPlatformError(LocalErrorCode.notFound, `no local bus named ${name} (looked in ${paths.dir})`);
  const plan = JSON.parse(planText) as JetStreamPlan;
  const secrets = await loadBusSecrets(paths.secrets);
  const applied = await appliedBus(paths).catch(() => undefined);
  const stream = applied?.bus.spec.mode === "jetstream" ? applied.bus.spec.streamConfig : undefined;
  const urls = plan.servers.map((s) => `nats://${plan.listenHost}:${s.ports.client}`);
  const c = secrets.credentials;
  const streamConfig = stream ? formatStreamConfig(stream) : "";
  return {
    name,
    urls,
    auth: plan.auth,
    ...(plan.auth === "basic" && { user: c.user }),
    ...(options.showSecrets && plan.auth === "basic" && { password: c.password }),
    ...(options.showSecrets && plan.auth === "token" && { token: c.token }),
    ...(plan.tls && { caFile: busTlsFiles(paths.secrets).client.caFile }),
    ...(plan.auth !== "none" && { authFile: paths.authFile }),
    monitors: plan.servers.map((s) => `http://${plan.listenHost}:${s.ports.monitor}`),
    statusConfig: {
      jetstream: {
        url: urls.join(","),
        ...(plan.auth !== "none" && { accessSecret: { name: plan.objects.clientAuthSecret, key: CLIENT_AUTH_SECRET_KEY } }),
        streamConfig,
      },
    },
  };
}
