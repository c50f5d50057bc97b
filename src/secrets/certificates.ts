/**
 * TLS material with `@peculiar/x509` on node's WebCrypto: a CA, and certificates it issues for
 * servers (client and route listeners) and clients. ECDSA P-256 keys, SHA-256 signatures, PEM
 * output (certificates as `CERTIFICATE`, keys as PKCS#8 `PRIVATE KEY`, which nats-server,
 * node and Go all read).
 */
// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata polyfill
// loaded before the library's first use.
import "reflect-metadata";

import { createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from "node:crypto";
import { isIP } from "node:net";

import * as x509 from "@peculiar/x509";

import { InvalidCertificateAuthorityError, InvalidCertificateRequestError, InvalidPemError, PemKind } from "./errors.js";

/** How long a CA is valid unless asked otherwise. */
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
/** How long an issued certificate is valid unless asked otherwise. */
export const DEFAULT_CERTIFICATE_VALIDITY_DAYS = 825;
/** The longest validity accepted, in days (100 years). */
export const MAX_VALIDITY_DAYS = 36_500;
/** `notBefore` lies this far in the past, so that a peer whose clock is slightly behind accepts a fresh certificate. */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60 * 1000;
/** The upper bound of a common name (X.520 `ub-common-name`). */
export const MAX_COMMON_NAME_LENGTH = 64;
/** Random bytes in a serial number (the top bit is cleared so that it stays positive). */
export const SERIAL_NUMBER_BYTES = 16;

const DAY_MS = 24 * 60 * 60 * 1000;
const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
const PRIVATE_KEY_TAG = "PRIVATE KEY";
const crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** What a certificate may be used for: a TLS server, a TLS client, or both (route listeners dial and accept). */
export const CertificateUsage = {
  Server: "server",
  Client: "client",
  ServerAndClient: "server-and-client",
} as const;

/** One of the {@link CertificateUsage} values. */
export type CertificateUsage = (typeof CertificateUsage)[keyof typeof CertificateUsage];

/** The extended key usages this module sets, by name. */
export const ExtendedKeyUsage = {
  ServerAuth: "serverAuth",
  ClientAuth: "clientAuth",
} as const;

/** One of the {@link ExtendedKeyUsage} values. */
export type ExtendedKeyUsage = (typeof ExtendedKeyUsage)[keyof typeof ExtendedKeyUsage];

const EKU_OIDS: Readonly<Record<ExtendedKeyUsage, string>> = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
};

/** A certificate and its private key, both PEM. The key is secret. */
export interface CertificateAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Options of {@link createCertificateAuthority}. */
export interface CertificateAuthorityOptions {
  /** The CA's subject CN, at most {@link MAX_COMMON_NAME_LENGTH} characters. */
  readonly commonName: string;
  /** @default DEFAULT_CA_VALIDITY_DAYS (3650) */
  readonly validityDays?: number;
}

/** Options of {@link issueCertificate}. */
export interface CertificateOptions {
  /** The subject CN, at most {@link MAX_COMMON_NAME_LENGTH} characters. Verifiers match the SANs, not this. */
  readonly commonName: string;
  /** DNS SANs; a leading `*.` label makes a wildcard. @default [] */
  readonly dnsNames?: readonly string[];
  /** IP SANs, IPv4 or IPv6. @default [] */
  readonly ipAddresses?: readonly string[];
  /** Server certificates need at least one DNS or IP SAN. */
  readonly usage: CertificateUsage;
  /** @default DEFAULT_CERTIFICATE_VALIDITY_DAYS (825) */
  readonly validityDays?: number;
}

/** What {@link certificateInfo} reads from a certificate. */
export interface CertificateInfo {
  /** The subject DN in RFC 4514 form, e.g. `CN=localhost`. */
  readonly subject: string;
  readonly issuer: string;
  readonly dnsNames: readonly string[];
  /** IPv6 addresses in their compressed form (`::1`). */
  readonly ipAddresses: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Whether basicConstraints says CA. */
  readonly isCa: boolean;
  /** Lowercase hex. */
  readonly serialNumber: string;
  /** The extended key usages among {@link ExtendedKeyUsage}; empty when the extension is absent. */
  readonly extendedKeyUsages: readonly ExtendedKeyUsage[];
}

/**
 * Creates a self-signed CA: basicConstraints `CA:TRUE, pathlen:0` (it signs leaf certificates
 * only), keyUsage `keyCertSign, cRLSign`, a subject key identifier, a random serial.
 * @throws {@link InvalidCertificateRequestError} for a bad common name or validity
 */
export async function createCertificateAuthority(options: CertificateAuthorityOptions): Promise<CertificateAndKey> {
  const commonName = checkCommonName(options.commonName);
  const validity = validityPeriod(options.validityDays ?? DEFAULT_CA_VALIDITY_DAYS);
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: [{ CN: [commonName] }],
      ...validity,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString("pem"), keyPem: await exportPrivateKey(keys.privateKey) };
}

/**
 * Issues a certificate signed by `ca`: SANs (DNS and IP), basicConstraints `CA:FALSE`, keyUsage
 * `digitalSignature`, extKeyUsage `serverAuth` and/or `clientAuth` per `usage`, subject and
 * authority key identifiers, a random serial. Duplicate names are dropped.
 * @throws {@link InvalidCertificateRequestError} for a bad name, address or validity;
 *   {@link InvalidPemError} when `ca` does not hold PEM; {@link InvalidCertificateAuthorityError}
 *   when `ca` is not a CA, has a key other than P-256, or its key is not its certificate's
 */
export async function issueCertificate(ca: CertificateAndKey, options: CertificateOptions): Promise<CertificateAndKey> {
  const commonName = checkCommonName(options.commonName);
  const dnsNames = unique(options.dnsNames ?? []);
  const ipAddresses = unique(options.ipAddresses ?? []);
  dnsNames.forEach((name, i) => checkDnsName(name, `dnsNames[${i}]`));
  ipAddresses.forEach((address, i) => {
    if (isIP(address) === 0) throw new InvalidCertificateRequestError(`ipAddresses[${i}]`, `${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  });
  const usages = usagesOf(options.usage);
  if (usages.includes(ExtendedKeyUsage.ServerAuth) && dnsNames.length + ipAddresses.length === 0) {
    throw new InvalidCertificateRequestError("dnsNames", "a server certificate needs at least one DNS name or IP address");
  }
  const validity = validityPeriod(options.validityDays ?? DEFAULT_CERTIFICATE_VALIDITY_DAYS);
  const authority = await loadAuthority(ca);
  const keys = await generateKeyPair();

  const names: x509.JsonGeneralName[] = [
    ...dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...ipAddresses.map((value) => ({ type: "ip" as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(usages.map((usage) => EKU_OIDS[usage])),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    new x509.AuthorityKeyIdentifierExtension(authority.keyId),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));

  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: [{ CN: [commonName] }],
      // The issuer's DN exactly as encoded in the CA, so that chain builders match it byte for byte.
      issuer: authority.cert.subjectName,
      ...validity,
      publicKey: keys.publicKey,
      signingKey: authority.signingKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions,
    },
    crypto,
  );
  return { certPem: cert.toString("pem"), keyPem: await exportPrivateKey(keys.privateKey) };
}

/**
 * Reads the facts status and lint need from a PEM certificate (the first one, if `pem` holds a chain).
 * @throws {@link InvalidPemError} when `pem` is not a certificate (its text is never quoted)
 */
export function certificateInfo(pem: string, source = "certificate"): CertificateInfo {
  const cert = parseCertificate(pem, source);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const ekuOids = new Set((eku?.usages ?? []).map(String));
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    dnsNames: names.filter((n) => n.type === "dns").map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === "ip").map((n) => n.value),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca === true,
    serialNumber: cert.serialNumber.toLowerCase(),
    extendedKeyUsages: (Object.keys(EKU_OIDS) as ExtendedKeyUsage[]).filter((usage) => ekuOids.has(EKU_OIDS[usage])),
  };
}

/**
 * Whether `keyPem` is the private key of the certificate `certPem`.
 * @throws {@link InvalidPemError} when either text is not what it should be
 */
export function keyMatchesCertificate(certPem: string, keyPem: string, sources = { cert: "certificate", key: "private key" }): boolean {
  const cert = parseCertificate(certPem, sources.cert);
  const publicKey = createPublicKey(parsePrivateKey(keyPem, sources.key)).export({ type: "spki", format: "der" });
  return Buffer.from(cert.publicKey.rawData).equals(publicKey);
}

// ---------------------------------------------------------------------------------------------

interface Authority {
  readonly cert: x509.X509Certificate;
  readonly signingKey: CryptoKey;
  /** The key identifier issued certificates name as their authority key identifier. */
  readonly keyId: string;
}

async function loadAuthority(ca: CertificateAndKey): Promise<Authority> {
  const cert = parseCertificate(ca.certPem, "ca.certPem");
  const keyObject = parsePrivateKey(ca.keyPem, "ca.keyPem");
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
    throw new InvalidCertificateAuthorityError(`${cert.subject} is not a CA certificate (basicConstraints CA is not set)`);
  }
  const details = keyObject.asymmetricKeyDetails;
  if (keyObject.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1") {
    throw new InvalidCertificateAuthorityError("the CA key must be an ECDSA P-256 key");
  }
  const publicKey = createPublicKey(keyObject).export({ type: "spki", format: "der" });
  if (!Buffer.from(cert.publicKey.rawData).equals(publicKey)) {
    throw new InvalidCertificateAuthorityError(`the CA key is not the key of ${cert.subject}`);
  }
  const pkcs8 = keyObject.export({ type: "pkcs8", format: "der" });
  const signingKey = await crypto.subtle.importKey("pkcs8", pkcs8, KEY_ALGORITHM, false, ["sign"]);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? (await x509.SubjectKeyIdentifierExtension.create(cert.publicKey, false, crypto)).keyId;
  return { cert, signingKey, keyId };
}

function parseCertificate(pem: string, source: string): x509.X509Certificate {
  if (typeof pem !== "string" || !pem.includes("-----BEGIN CERTIFICATE-----")) throw new InvalidPemError(PemKind.Certificate, source);
  try {
    return new x509.X509Certificate(pem);
  } catch {
    // The parser's message may quote the input; the input may be a key pasted by mistake.
    throw new InvalidPemError(PemKind.Certificate, source);
  }
}

function parsePrivateKey(pem: string, source: string): KeyObject {
  if (typeof pem !== "string" || !/-----BEGIN (EC |)PRIVATE KEY-----/.test(pem)) throw new InvalidPemError(PemKind.PrivateKey, source);
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new InvalidPemError(PemKind.PrivateKey, source);
  }
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", key);
  return `${x509.PemConverter.encode(pkcs8, PRIVATE_KEY_TAG)}\n`;
}

/** A positive serial of {@link SERIAL_NUMBER_BYTES} CSPRNG bytes, as hex, without a leading zero byte. */
function randomSerialNumber(): string {
  const bytes = randomBytes(SERIAL_NUMBER_BYTES);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

function validityPeriod(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1 || days > MAX_VALIDITY_DAYS) {
    throw new InvalidCertificateRequestError("validityDays", `must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}, got ${String(days)}`);
  }
  // X.509 times have whole seconds.
  const now = Math.floor(Date.now() / 1000) * 1000;
  return { notBefore: new Date(now - CLOCK_SKEW_ALLOWANCE_MS), notAfter: new Date(now + days * DAY_MS) };
}

function checkCommonName(name: string): string {
  if (typeof name !== "string" || name.trim() === "") throw new InvalidCertificateRequestError("commonName", "must not be empty");
  if (name.length > MAX_COMMON_NAME_LENGTH) {
    throw new InvalidCertificateRequestError("commonName", `must be at most ${MAX_COMMON_NAME_LENGTH} characters, got ${name.length}`);
  }
  return name;
}

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function checkDnsName(name: string, field: string): void {
  const labels = typeof name === "string" ? name.split(".") : [];
  const valid = labels.length > 0 && name.length <= 253 && labels.every((label, i) => DNS_LABEL.test(label) || (i === 0 && label === "*" && labels.length > 1));
  if (!valid) throw new InvalidCertificateRequestError(field, `${JSON.stringify(name)} is not a DNS name`);
}

function usagesOf(usage: CertificateUsage): ExtendedKeyUsage[] {
  switch (usage) {
    case CertificateUsage.Server:
      return [ExtendedKeyUsage.ServerAuth];
    case CertificateUsage.Client:
      return [ExtendedKeyUsage.ClientAuth];
    case CertificateUsage.ServerAndClient:
      return [ExtendedKeyUsage.ServerAuth, ExtendedKeyUsage.ClientAuth];
    default:
      throw new InvalidCertificateRequestError("usage", `must be one of ${Object.values(CertificateUsage).join(", ")}, got ${JSON.stringify(usage)}`);
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
