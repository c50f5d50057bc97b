/**
 * A managed bus's secret material kept in its server Secret, so that the controller generates it
 * once and reads it back on every later reconcile (credentials are never rotated behind the
 * clients' backs, and the encryption key of the store never changes). The credentials go in
 * under {@link MATERIAL_KEY}; the certificates are the server Secret's own PEM keys. The CA's
 * private key is not kept: nothing needs it once the certificates are issued, and the Secret is
 * mounted into the pods.
 */
import { jetStreamObjectNames, stanObjectNames, type ResolvedEventBus } from "../../api/index.js";
import { checkCredentials, CREDENTIAL_FIELDS, type BusSecrets, type Credentials } from "../../secrets/index.js";
import { ServerSecretKey } from "./jetstream-objects.js";
import type { KubeResource } from "./kube-client.js";
import type { KubeObject } from "./objects.js";

/** The server Secret's key that holds the bus's credentials (JSON, the secrets area's `credentials.json`). */
export const MATERIAL_KEY = "credentials.json";

/** The Secret that keeps a bus's material: the JetStream server Secret, or the STAN server Secret (token auth). Undefined when the bus has none. */
export function materialSecretName(bus: ResolvedEventBus): string | undefined {
  if (bus.spec.mode === "jetstream") return jetStreamObjectNames(bus.name).serverSecret;
  if (bus.spec.mode === "nats.native" && bus.spec.auth === "token") return stanObjectNames(bus.name).serverSecret;
  return undefined;
}

/** The rendered objects with the material added to the server Secret's `data`. */
export function withStoredMaterial(objects: readonly KubeObject[], secretName: string | undefined, secrets: BusSecrets): KubeObject[] {
  if (secretName === undefined) return [...objects];
  return objects.map((o) => {
    if (o.kind !== "Secret" || o.metadata.name !== secretName) return o;
    const data = { ...(o["data"] as Record<string, string> | undefined), [MATERIAL_KEY]: Buffer.from(credentialsJson(secrets.credentials), "utf8").toString("base64") };
    return { ...o, data };
  });
}

/** Why stored material could not be read back. Names the Secret and key, never a value. */
export class StoredMaterialError extends Error {
  override readonly name = "StoredMaterialError";
  readonly code = "KUBE_STORED_MATERIAL";

  constructor(
    readonly secret: string,
    readonly problem: string,
  ) {
    super(`Secret ${secret}: ${problem}`);
  }
}

/**
 * The material kept in a server Secret, or undefined when it holds none (a Secret made by
 * someone else, e.g. Argo Events' controller).
 * @throws {@link StoredMaterialError} when the material is there but unusable
 */
export function readStoredMaterial(secret: KubeResource, wantTls: boolean): BusSecrets | undefined {
  const name = secret.metadata.name;
  const data = (secret["data"] ?? {}) as Record<string, string>;
  const text = (key: string) => (data[key] === undefined ? undefined : Buffer.from(data[key], "base64").toString("utf8"));
  const json = text(MATERIAL_KEY);
  if (json === undefined) return undefined;
  let credentials: Credentials;
  try {
    credentials = checkCredentials(JSON.parse(json), MATERIAL_KEY);
  } catch (err) {
    // Neither JSON.parse's message nor the field check's may quote a value.
    throw new StoredMaterialError(name, `${MATERIAL_KEY} is not valid${err instanceof Error && "field" in err ? ` (${String((err as { field: unknown }).field)})` : ""}`);
  }
  if (!wantTls) return { credentials };
  const pems = {
    ca: text(ServerSecretKey.caCert),
    serverCert: text(ServerSecretKey.serverCert),
    serverKey: text(ServerSecretKey.serverKey),
    routeCert: text(ServerSecretKey.clusterCert),
    routeKey: text(ServerSecretKey.clusterKey),
  };
  const missing = Object.entries(pems).filter(([, v]) => v === undefined);
  if (missing.length > 0) throw new StoredMaterialError(name, `the bus has TLS but the Secret lacks ${missing.map(([k]) => k).join(", ")}`);
  return {
    credentials,
    tls: {
      // The CA key is not kept (see the module comment); the renderer reads only the CA certificate.
      ca: { certPem: pems.ca!, keyPem: "" },
      server: { certPem: pems.serverCert!, keyPem: pems.serverKey! },
      route: { certPem: pems.routeCert!, keyPem: pems.routeKey! },
    },
  };
}

function credentialsJson(credentials: Credentials): string {
  return `${JSON.stringify(Object.fromEntries(CREDENTIAL_FIELDS.map((f) => [f, credentials[f]])), null, 2)}\n`;
}
