/**
 * A bus's secrets on disk: one directory (mode 0700) of files (mode 0600), the layout the local
 * platform's servers read their TLS files from.
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";

import type { BusSecrets, BusTls } from "./bus-secrets.js";
import { keyMatchesCertificate } from "./certificates.js";
import { checkCredentials, CREDENTIAL_FIELDS, type Credentials } from "./credentials.js";
import { errnoCode, InvalidCredentialsError, InvalidPemError, InvalidSecretFileError, MissingSecretFileError, UnreadableSecretFileError } from "./errors.js";
import { ensureSecretDir, writeSecretFile } from "./secret-files.js";

/** The file names of a bus's secrets directory. */
export const BusSecretFile = {
  Credentials: "credentials.json",
  CaCert: "ca.pem",
  CaKey: "ca-key.pem",
  ServerCert: "server-cert.pem",
  ServerKey: "server-key.pem",
  RouteCert: "route-cert.pem",
  RouteKey: "route-key.pem",
} as const;

/** One of the {@link BusSecretFile} values. */
export type BusSecretFile = (typeof BusSecretFile)[keyof typeof BusSecretFile];

/** Where each PEM of {@link BusTls} is stored. */
const TLS_FILES = [
  { part: "ca", cert: BusSecretFile.CaCert, key: BusSecretFile.CaKey },
  { part: "server", cert: BusSecretFile.ServerCert, key: BusSecretFile.ServerKey },
  { part: "route", cert: BusSecretFile.RouteCert, key: BusSecretFile.RouteKey },
] as const satisfies readonly { part: keyof BusTls; cert: BusSecretFile; key: BusSecretFile }[];

/** The PEM files of one TLS listener, as a nats-server `tls {}` block names them. */
export interface ListenerTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** The TLS files of a bus's client and cluster listeners; the shape of the plan's `ServerMaterial.tls`. */
export interface BusTlsFiles {
  readonly client: ListenerTlsFiles;
  readonly cluster: ListenerTlsFiles;
}

/** The paths of the TLS files {@link saveBusSecrets} writes into `dir`, per listener. */
export function busTlsFiles(dir: string): BusTlsFiles {
  const caFile = join(dir, BusSecretFile.CaCert);
  return {
    client: { certFile: join(dir, BusSecretFile.ServerCert), keyFile: join(dir, BusSecretFile.ServerKey), caFile },
    cluster: { certFile: join(dir, BusSecretFile.RouteCert), keyFile: join(dir, BusSecretFile.RouteKey), caFile },
  };
}

/**
 * Writes `secrets` into `dir` (created, or fixed, with mode 0700): `credentials.json`, and with TLS
 * `ca.pem`, `ca-key.pem`, `server-cert.pem`, `server-key.pem`, `route-cert.pem`, `route-key.pem`,
 * each atomically with mode 0600. Without TLS, TLS files left from an earlier save are removed, so
 * that {@link loadBusSecrets} returns what was saved. The credentials file is written last.
 * @throws {@link SecretDirError} or {@link SecretWriteError}
 */
export async function saveBusSecrets(dir: string, secrets: BusSecrets): Promise<void> {
  await ensureSecretDir(dir);
  for (const { part, cert, key } of TLS_FILES) {
    const material = secrets.tls?.[part];
    if (material === undefined) {
      await rm(join(dir, cert), { force: true });
      await rm(join(dir, key), { force: true });
    } else {
      await writeSecretFile(join(dir, cert), material.certPem);
      await writeSecretFile(join(dir, key), material.keyPem);
    }
  }
  await writeSecretFile(join(dir, BusSecretFile.Credentials), credentialsJson(secrets.credentials));
}

/**
 * Reads what {@link saveBusSecrets} wrote. TLS material is present when any TLS file is; then all
 * six must be, each key must belong to its certificate.
 * @throws {@link MissingSecretFileError}, {@link UnreadableSecretFileError} or
 *   {@link InvalidSecretFileError}, each naming the file (never its content)
 */
export async function loadBusSecrets(dir: string): Promise<BusSecrets> {
  const credentialsFile = join(dir, BusSecretFile.Credentials);
  const credentials = parseCredentials(credentialsFile, await readSecretFile(credentialsFile));

  const texts = new Map<BusSecretFile, string | undefined>();
  for (const { cert, key } of TLS_FILES) {
    for (const name of [cert, key]) texts.set(name, await readSecretFile(join(dir, name), { optional: true }));
  }
  const present = [...texts.values()].some((text) => text !== undefined);
  if (!present) return { credentials };

  const tls: Partial<Record<keyof BusTls, { certPem: string; keyPem: string }>> = {};
  for (const { part, cert, key } of TLS_FILES) {
    const certPem = texts.get(cert);
    const keyPem = texts.get(key);
    if (certPem === undefined) throw new MissingSecretFileError(join(dir, cert));
    if (keyPem === undefined) throw new MissingSecretFileError(join(dir, key));
    let matches: boolean;
    try {
      matches = keyMatchesCertificate(certPem, keyPem, { cert: join(dir, cert), key: join(dir, key) });
    } catch (err) {
      if (err instanceof InvalidPemError) throw new InvalidSecretFileError(err.source, `not a PEM ${err.kind}`);
      throw err;
    }
    if (!matches) throw new InvalidSecretFileError(join(dir, key), `not the private key of ${cert}`);
    tls[part] = { certPem, keyPem };
  }
  return { credentials, tls: tls as BusTls };
}

/** `credentials.json`: the fields in a stable order, two-space indented, with a final newline. */
function credentialsJson(credentials: Credentials): string {
  const ordered = Object.fromEntries(CREDENTIAL_FIELDS.map((field) => [field, credentials[field]]));
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function parseCredentials(file: string, text: string): Credentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse quotes the text around the fault, which may be a password; keep neither message nor cause.
    throw new InvalidSecretFileError(file, "not valid JSON");
  }
  try {
    return checkCredentials(value, "credentials");
  } catch (err) {
    if (err instanceof InvalidCredentialsError) throw new InvalidSecretFileError(file, `${err.field}: ${err.problem}`);
    throw err;
  }
}

async function readSecretFile(file: string): Promise<string>;
async function readSecretFile(file: string, options: { optional: true }): Promise<string | undefined>;
async function readSecretFile(file: string, options: { optional?: boolean } = {}): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT") {
      if (options.optional === true) return undefined;
      throw new MissingSecretFileError(file, { cause: err });
    }
    throw new UnreadableSecretFileError(file, code ?? "unknown error", { cause: err });
  }
}
