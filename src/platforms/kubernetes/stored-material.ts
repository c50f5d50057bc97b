/**
 * A managed bus's secret material kept in its server Secret, so that the controller generates it
 * once and reads it back on every later reconcile (credentials are never rotated behind the
 * clients' backs, and the encryption key of the store never changes). The credentials go in
 * under {@link MATERIAL_KEY}; the certificates are the server Secret's own PEM keys (Argo's
 * names). The CA's private key is not kept: nothing needs it once the certificates are issued.
 * Neither `credentials.json` nor Argo's `auth` is mounted into the pods (the StatefulSet projects
 * only the keys the servers read). A bus taken over from Argo Events is marked in
 * `credentials.json` ({@link MATERIAL_ORIGIN_FIELD}), and its Secret keeps Argo's values.
 */
import { EventBusError, jetStreamObjectNames, stanObjectNames, type ResolvedEventBus } from "../../api/index.js";
import { checkCredentials, CREDENTIAL_FIELDS, type Credentials } from "../../secrets/index.js";
import { KubeErrorCode } from "./errors.js";
import { LEGACY_TLS_KEYS, ServerSecretKey } from "./jetstream-objects.js";
import type { KubeResource } from "./kube-client.js";
import type { ArgoMaterial, KubeMaterial } from "./material.js";
import type { KubeObject } from "./objects.js";

/** The server Secret's key that holds the bus's credentials (JSON, the secrets area's `credentials.json`). */
export const MATERIAL_KEY = "credentials.json";

/** The Secret that keeps a bus's material: the JetStream server Secret, or the STAN server Secret (token auth). Undefined when the bus has none. */
export function materialSecretName(bus: ResolvedEventBus): string | undefined {
  if (bus.spec.mode === "jetstream") return jetStreamObjectNames(bus.name).serverSecret;
  if (bus.spec.mode === "nats.native" && bus.spec.auth === "token") return stanObjectNames(bus.name).serverSecret;
  return undefined;
}

/** The value of {@link MATERIAL_ORIGIN_FIELD} in `credentials.json` for a bus taken over from Argo Events. */
export const ARGO_ORIGIN = "argo-events";
/** The field of `credentials.json` that says where the material came from; absent for material eventbus made. */
export const MATERIAL_ORIGIN_FIELD = "takenOverFrom";

// Argo's `RandomString` alphabet, or the literal `$JS_KEY`: what a quoted `key: "$JS_KEY"` in
// Argo's nats.conf gives as the store's key (nats-server does not expand a variable in quotes).
const ARGO_ENCRYPTION_KEY = /^(?:[A-Za-z0-9]+|\$JS_KEY)$/;

/** The rendered objects with the material added to the server Secret's `data`. */
export function withStoredMaterial(objects: readonly KubeObject[], secretName: string | undefined, secrets: KubeMaterial): KubeObject[] {
  if (secretName === undefined) return [...objects];
  return objects.map((o) => {
    if (o.kind !== "Secret" || o.metadata.name !== secretName) return o;
    const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
    const data = {
      ...(o["data"] as Record<string, string> | undefined),
      [MATERIAL_KEY]: base64(credentialsJson(secrets)),
      ...(secrets.argo && { [ARGO_CLIENT_AUTH_KEY]: base64(secrets.argo.clientAuth) }),
    };
    return { ...o, data };
  });
}

/** Why stored material could not be read back. Names the Secret and key, never a value. */
export class StoredMaterialError extends EventBusError {
  override readonly name = "StoredMaterialError";
  readonly code = KubeErrorCode.storedMaterial;

  constructor(
    readonly secret: string,
    readonly problem: string,
  ) {
    super(`Secret ${secret}: ${problem}`);
  }
}

/**
 * The material kept in a server Secret, or undefined when it holds none (a Secret made by
 * someone else, e.g. Argo Events' controller). The TLS PEMs are read under Argo's key names, or
 * under the file names earlier eventbus versions used.
 * @throws {@link StoredMaterialError} when the material is there but unusable
 */
export function readStoredMaterial(secret: KubeResource, wantTls: boolean): KubeMaterial | undefined {
  const name = secret.metadata.name;
  const text = secretText(secret);
  const json = text(MATERIAL_KEY);
  if (json === undefined) return undefined;
  const { credentials, fromArgo } = parseCredentials(name, json);
  const argo = fromArgo ? readArgoKeys(name, text) : undefined;
  if (!wantTls) return { credentials, ...(argo && { argo }) };
  const pem = (key: string) => text(key) ?? (LEGACY_TLS_KEYS[key] === undefined ? undefined : text(LEGACY_TLS_KEYS[key]));
  const pems = {
    [ServerSecretKey.caCert]: pem(ServerSecretKey.caCert),
    [ServerSecretKey.serverCert]: pem(ServerSecretKey.serverCert),
    [ServerSecretKey.serverKey]: pem(ServerSecretKey.serverKey),
    [ServerSecretKey.clusterCert]: pem(ServerSecretKey.clusterCert),
    [ServerSecretKey.clusterKey]: pem(ServerSecretKey.clusterKey),
  };
  const missing = Object.entries(pems).filter(([, v]) => v === undefined);
  if (missing.length > 0) throw new StoredMaterialError(name, `the bus has TLS but the Secret lacks ${missing.map(([k]) => k).join(", ")}`);
  return {
    credentials,
    tls: {
      // The CA key is not kept (see the module comment); the renderer reads only the CA certificate.
      ca: { certPem: pems[ServerSecretKey.caCert]!, keyPem: "" },
      server: { certPem: pems[ServerSecretKey.serverCert]!, keyPem: pems[ServerSecretKey.serverKey]! },
      route: { certPem: pems[ServerSecretKey.clusterCert]!, keyPem: pems[ServerSecretKey.clusterKey]! },
    },
    ...(argo && { argo }),
  };
}

/** The UTF-8 text of a Secret's key, or undefined when the key is absent. */
export function secretText(secret: KubeResource): (key: string) => string | undefined {
  const data = (secret["data"] ?? {}) as Record<string, string>;
  return (key) => (data[key] === undefined ? undefined : Buffer.from(data[key], "base64").toString("utf8"));
}

/**
 * `credentials.json` checked as the secrets area checks it, except that the encryption key of a
 * bus taken over from Argo is Argo's (letters and digits, or the literal `$JS_KEY`), not hex.
 */
function parseCredentials(secret: string, json: string): { credentials: Credentials; fromArgo: boolean } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // JSON.parse's message may quote the text.
    throw new StoredMaterialError(secret, `${MATERIAL_KEY} is not valid JSON`);
  }
  const record = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const fromArgo = record[MATERIAL_ORIGIN_FIELD] === ARGO_ORIGIN;
  const key = record["encryptionKey"];
  if (fromArgo && (typeof key !== "string" || !ARGO_ENCRYPTION_KEY.test(key))) {
    throw new StoredMaterialError(secret, `${MATERIAL_KEY} is not valid (encryptionKey: must be letters and digits, or $JS_KEY)`);
  }
  try {
    // The hex placeholder stands in for Argo's key, checked above, during the common check.
    const checked = checkCredentials(fromArgo ? { ...record, encryptionKey: "0" } : record, MATERIAL_KEY);
    return { credentials: fromArgo ? { ...checked, encryptionKey: key as string } : checked, fromArgo };
  } catch (err) {
    // The field check's message never quotes a value; name only the field.
    throw new StoredMaterialError(
      secret,
      `${MATERIAL_KEY} is not valid${err instanceof Error && "field" in err ? ` (${String((err as { field: unknown }).field)})` : ""}`,
    );
  }
}

/** Argo's keys of a taken-over bus's server Secret, and the copy of its client auth text kept next to them. */
function readArgoKeys(secret: string, text: (key: string) => string | undefined): ArgoMaterial {
  const auth = text(ServerSecretKey.auth);
  const encryption = text(ServerSecretKey.encryptionKey);
  const clusterCaPem = text(ServerSecretKey.clusterCaCert);
  const clientAuth = text(ARGO_CLIENT_AUTH_KEY);
  const missing = [
    [ServerSecretKey.auth, auth],
    [ServerSecretKey.encryptionKey, encryption],
    [ServerSecretKey.clusterCaCert, clusterCaPem],
    [ARGO_CLIENT_AUTH_KEY, clientAuth],
  ].filter(([, v]) => v === undefined);
  if (missing.length > 0)
    throw new StoredMaterialError(secret, `the bus was taken over from Argo Events but the Secret lacks ${missing.map(([k]) => k).join(", ")}`);
  return { auth: auth!, encryption: encryption!, clusterCaPem: clusterCaPem!, clientAuth: clientAuth! };
}

/** The server Secret's key that keeps Argo's client auth text of a taken-over bus. */
export const ARGO_CLIENT_AUTH_KEY = "argo-client-auth";

function credentialsJson(secrets: KubeMaterial): string {
  const c = secrets.credentials;
  const fields: Record<string, string> = Object.fromEntries(CREDENTIAL_FIELDS.map((f) => [f, c[f]]));
  if (secrets.argo !== undefined) fields[MATERIAL_ORIGIN_FIELD] = ARGO_ORIGIN;
  return `${JSON.stringify(fields, null, 2)}\n`;
}
