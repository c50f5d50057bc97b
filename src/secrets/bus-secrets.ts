/** The whole set of secrets of one managed bus: credentials, and optionally its TLS material. */
import {
  CertificateUsage,
  createCertificateAuthority,
  DEFAULT_CA_VALIDITY_DAYS,
  DEFAULT_CERTIFICATE_VALIDITY_DAYS,
  issueCertificate,
  MAX_COMMON_NAME_LENGTH,
  type CertificateAndKey,
} from "./certificates.js";
import { generateCredentials, type Credentials } from "./credentials.js";
import { InvalidCertificateRequestError } from "./errors.js";

/** The TLS material of a bus: one CA, and a certificate for each kind of listener. */
export interface BusTls {
  /** Trusted by clients (`tls.caFile`) and by the servers for client and peer certificates. */
  readonly ca: CertificateAndKey;
  /** The client listener's certificate: usage `server`. */
  readonly server: CertificateAndKey;
  /**
   * The cluster (route) listener's certificate: usage `server-and-client`, because each server
   * both accepts and dials routes and the peers verify each other (mutual TLS).
   */
  readonly route: CertificateAndKey;
}

/** The secrets of a bus. */
export interface BusSecrets {
  readonly credentials: Credentials;
  /** Present when the bus runs with TLS. */
  readonly tls?: BusTls;
}

/** Options of {@link generateBusSecrets}. */
export interface BusSecretsOptions {
  readonly tls: boolean;
  /**
   * The names clients and peers reach the servers by: `localhost` for a local bus; the Service
   * names for Kubernetes (`plan.tlsNames`). Wildcards (`*.svc-name.ns.svc`) cover each pod.
   */
  readonly dnsNames: readonly string[];
  /** `127.0.0.1` and `::1` for a local bus; usually none on Kubernetes. */
  readonly ipAddresses: readonly string[];
  /** The CN of the server certificates; the CA is named `<commonName> CA`. */
  readonly commonName: string;
  /** @default DEFAULT_CA_VALIDITY_DAYS (3650) */
  readonly caValidityDays?: number;
  /** @default DEFAULT_CERTIFICATE_VALIDITY_DAYS (825) */
  readonly certificateValidityDays?: number;
}

/**
 * Fresh credentials and, when `tls` is set, a fresh CA with a `server` certificate for the client
 * listener and a `server-and-client` certificate for the route listener, both for the same names.
 * @throws {@link InvalidCertificateRequestError} for a bad name, address or validity
 */
export async function generateBusSecrets(options: BusSecretsOptions): Promise<BusSecrets> {
  const credentials = generateCredentials();
  if (!options.tls) return { credentials };
  // Checked before the CA is made, which would otherwise carry the name " CA".
  if (options.commonName.trim() === "") throw new InvalidCertificateRequestError("commonName", "must not be empty");
  const names = {
    commonName: options.commonName,
    dnsNames: options.dnsNames,
    ipAddresses: options.ipAddresses,
    validityDays: options.certificateValidityDays ?? DEFAULT_CERTIFICATE_VALIDITY_DAYS,
  };
  const ca = await createCertificateAuthority({
    commonName: caCommonName(options.commonName),
    validityDays: options.caValidityDays ?? DEFAULT_CA_VALIDITY_DAYS,
  });
  const [server, route] = await Promise.all([
    issueCertificate(ca, { ...names, usage: CertificateUsage.Server }),
    issueCertificate(ca, { ...names, usage: CertificateUsage.ServerAndClient }),
  ]);
  return { credentials, tls: { ca, server, route } };
}

const CA_SUFFIX = " CA";

/** `<commonName> CA`, the common name shortened so that the whole stays within the CN limit. */
function caCommonName(commonName: string): string {
  return `${commonName.slice(0, MAX_COMMON_NAME_LENGTH - CA_SUFFIX.length)}${CA_SUFFIX}`;
}
