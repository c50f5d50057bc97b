import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { JetStreamPlan, StanPlan } from "../../plan/index.js";
import type { Credentials } from "../../secrets/index.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

/** How a client reaches a local bus: URLs, CA file and the credentials of its auth mode. */
export interface LocalConnection {
  readonly urls: readonly string[];
  readonly caFile?: string;
  readonly auth:
    | { readonly mode: "basic"; readonly user: string; readonly password: string }
    | { readonly mode: "token"; readonly token: string }
    | { readonly mode: "none" };
}

/** The connection details of a local bus from its plan and credentials. */
export function localConnection(plan: JetStreamPlan | StanPlan, credentials: Credentials, caFile: string | undefined): LocalConnection {
  const urls = plan.servers.map((s) => `nats://${plan.listenHost}:${s.ports.client}`);
  const auth: LocalConnection["auth"] =
    plan.auth === "basic"
      ? { mode: "basic", user: credentials.user, password: credentials.password }
      : plan.auth === "token"
        ? { mode: "token", token: credentials.token }
        : { mode: "none" };
  return { urls, ...(plan.kind === "jetstream" && plan.tls && caFile !== undefined && { caFile }), auth };
}

/** Connects to a local bus with its own credentials, verifying its certificate with its CA. */
export function connectLocal(connection: LocalConnection, name = "eventbus"): Promise<NatsConnection> {
  const auth = connection.auth;
  return connect({
    servers: [...connection.urls],
    name,
    timeout: 5000,
    ...(auth.mode === "basic" && { user: auth.user, pass: auth.password }),
    ...(auth.mode === "token" && { token: auth.token }),
    ...(connection.caFile !== undefined && { tls: { caFile: connection.caFile } }),
  });
}

/**
 * Runs `work` on a connection to a local bus, named `name`, and closes it; a failure that is not
 * already a {@link LocalPlatformError} becomes one with code {@link LocalErrorCode.stream}, naming
 * the URLs when it could not connect.
 */
export async function withConnection<T>(connection: LocalConnection, name: string, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connectLocal(connection, name);
    return await work(nc);
  } catch (error) {
    if (error instanceof LocalPlatformError) throw error;
    const what = nc === undefined ? `cannot connect to ${connection.urls.join(",")}: ` : "";
    throw new LocalPlatformError(LocalErrorCode.stream, `${what}${(error as Error).message}`, { cause: error });
  } finally {
    await nc?.close();
  }
}
