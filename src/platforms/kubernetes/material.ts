/**
 * The secret material of a bus for its Kubernetes objects: fresh from the CSPRNG, or kept in a
 * directory (mode 0700, files 0600, the secrets area's layout) so that rendering again gives the
 * same objects.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";

import { jetStreamObjectNames, stanObjectNames, type ResolvedEventBus } from "../../api/index.js";
import { planJetStream } from "../../plan/index.js";
import { BusSecretFile, generateBusSecrets, loadBusSecrets, saveBusSecrets, type BusSecrets } from "../../secrets/index.js";
import { SecretMaterialMismatchError } from "./errors.js";

/**
 * What the server Secret of a bus made by Argo Events' controller held, kept byte for byte after a
 * takeover (`eventbus takeover`), so that Argo's controller can take the bus back: it finds its
 * Secrets and their keys as it wrote them and makes no new ones.
 */
export interface ArgoMaterial {
  /** Argo's server auth config (key `auth`): the `js` and `sys` accounts and the client TLS block. */
  readonly auth: string;
  /** Argo's `encryption` value: what its pods' `JS_KEY` holds (not always the store's key, see {@link Credentials.encryptionKey}). */
  readonly encryption: string;
  /** The CA of the route certificates (key `cluster-ca-cert`); Argo's differs from the client CA. */
  readonly clusterCaPem: string;
  /** The client Secret's `client-auth` text, as Argo's clients read it. */
  readonly clientAuth: string;
}

/**
 * A bus's secret material on Kubernetes: credentials, TLS, and for a bus taken over from Argo
 * Events what its Secrets held. With {@link argo} the servers keep Argo's store directory
 * (`/data/jetstream/store`) and its certificates, whose names are Argo's, not the plan's.
 */
export interface KubeMaterial extends BusSecrets {
  readonly argo?: ArgoMaterial;
}

/** Where a bus's material came from. */
export const MaterialOrigin = {
  /** Made now and kept nowhere: each render has other credentials. */
  generated: "generated",
  /** Made now and saved into the directory. */
  saved: "saved",
  /** Read from the directory. */
  loaded: "loaded",
} as const;

/** One of the {@link MaterialOrigin} values. */
export type MaterialOrigin = (typeof MaterialOrigin)[keyof typeof MaterialOrigin];

/** A bus's material and where it came from. */
export interface BusMaterial {
  readonly secrets: BusSecrets;
  readonly origin: MaterialOrigin;
  /** The directory it was read from or saved into. */
  readonly dir?: string;
}

/** The directory of one bus's material under a `--secrets-dir` root: `<root>/<namespace>/<name>`. */
export function materialDir(root: string, namespace: string, busName: string): string {
  return join(root, namespace, busName);
}

/** Options of {@link generateBusMaterial} and {@link busMaterial}. */
export interface MaterialOptions {
  /** A cluster DNS domain the certificates also name (`<svc>.<ns>.svc.<domain>`). @default only cluster.local */
  readonly clusterDomain?: string;
}

/**
 * Fresh material for a managed bus in `namespace`: credentials and, for a JetStream bus with TLS,
 * a CA with certificates for the bus's Service names in that namespace.
 */
export async function generateBusMaterial(bus: ResolvedEventBus, namespace: string, options: MaterialOptions = {}): Promise<BusSecrets> {
  if (bus.spec.mode === "jetstream") {
    const plan = planJetStream(bus, {
      platform: "kubernetes",
      namespace,
      ...(options.clusterDomain !== undefined && { clusterDomain: options.clusterDomain }),
    });
    return generateBusSecrets({ tls: plan.tls, dnsNames: plan.tlsNames.dnsNames, ipAddresses: plan.tlsNames.ipAddresses, commonName: plan.clusterName });
  }
  const commonName = bus.spec.mode === "nats.native" ? stanObjectNames(bus.name).statefulSet : jetStreamObjectNames(bus.name).statefulSet;
  return generateBusSecrets({ tls: false, dnsNames: [], ipAddresses: [], commonName });
}

/**
 * The bus's material: without `dir`, fresh; with `dir`, what is saved there, or, when nothing is
 * yet, fresh material that is then saved there (the directory is created with mode 0700).
 * @throws secrets errors for an unreadable or invalid saved file (naming the file, never its
 *   content), {@link SecretMaterialMismatchError} when the bus needs TLS and the saved material has none
 */
export async function busMaterial(bus: ResolvedEventBus, namespace: string, dir?: string, options: MaterialOptions = {}): Promise<BusMaterial> {
  if (dir === undefined) return { secrets: await generateBusMaterial(bus, namespace, options), origin: MaterialOrigin.generated };
  if (!(await isMissing(join(dir, BusSecretFile.Credentials)))) {
    const secrets = await loadBusSecrets(dir);
    if (bus.spec.mode === "jetstream" && bus.spec.tls && secrets.tls === undefined) {
      throw new SecretMaterialMismatchError(
        "tls",
        `EventBus ${JSON.stringify(bus.name)} has TLS but ${dir} holds no certificates; remove the directory to make new material`,
      );
    }
    return { secrets, origin: MaterialOrigin.loaded, dir };
  }
  const secrets = await generateBusMaterial(bus, namespace, options);
  await saveBusSecrets(dir, secrets);
  return { secrets, origin: MaterialOrigin.saved, dir };
}

/** Whether nothing is at `path`; any other failure is left to the read, which reports it by file. */
async function isMissing(path: string): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}
