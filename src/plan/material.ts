import type { Credentials } from "../secrets/index.js";
import type { JetStreamPlan, ServerMaterial, StanPlan, StanServerMaterial } from "./types.js";

/**
 * The credential part of a server's material, the same on every platform: the auth mode's users or
 * token, the route credentials of a cluster, and the encryption key, each as a value of the secrets
 * include.
 */
export function credentialMaterial(plan: JetStreamPlan, c: Credentials): Pick<ServerMaterial, "auth" | "routeAuth" | "encryptionKey"> {
  const auth: ServerMaterial["auth"] =
    plan.auth === "basic"
      ? { mode: "basic", user: c.user, password: { value: c.password }, systemUser: c.systemUser, systemPassword: { value: c.systemPassword } }
      : plan.auth === "token"
        ? { mode: "token", token: { value: c.token } }
        : undefined;
  return {
    ...(auth && { auth }),
    ...(plan.replicas > 1 && { routeAuth: { user: c.routeUser, password: { value: c.routePassword } } }),
    encryptionKey: { value: c.encryptionKey },
  };
}

/** The credential part of a NATS Streaming server's material: the token of a token-auth bus, as a value of the secrets include. */
export function stanCredentialMaterial(plan: StanPlan, c: Credentials): Pick<StanServerMaterial, "token"> {
  return plan.auth === "token" ? { token: { value: c.token } } : {};
}
