/**
 * TLS material on node's crypto: a CA, and certificates it issues for servers (client and route
 * listeners) and clients. ECDSA P-256 keys, SHA-256 signatures, PEM output (certificates as
 * `CERTIFICATE`, keys as PKCS#8 `PRIVATE KEY`, which nats-server, node and Go all read). The
 * certificates are written as DER by hand (der.ts, RFC 5280's few fields and extensions) and
 * signed with `crypto.sign`; node's X509Certificate parses them, and what it does not expose is
 * read from the DER. A library for this took 20–27 ms of CPU per bus's three certificates, the
 * most of the controller's time with 100 buses.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCallback,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";

import {
  bitString,
  booleanTrue,
  children,
  explicit,
  implicit,
  octetString,
  oid,
  readElement,
  readOid,
  readTime,
  sequence,
  set,
  smallInteger,
  Tag,
  time,
  tlv,
  unsignedInteger,
  utf8String,
  type Element,
} from "./der.js";
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
const generateKeyPair = promisify(generateKeyPairCallback);

/** The object identifiers this module writes and reads (RFC 5280, RFC 5758, X.520). */
const Oid = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

/** The short names of RFC 4514 §3 (and the usual others) for a DN's attributes. */
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "E",
};

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
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
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
  const keys = await generateKeyPair("ec", { namedCurve: "P-256" });
  const spki = keys.publicKey.export({ type: "spki", format: "der" });
  const subject = nameOf(commonName);
  const certificate = signedCertificate(
    {
      subject,
      issuer: subject,
      validity,
      spki,
      extensions: [
        extension(Oid.basicConstraints, true, sequence(booleanTrue(), smallInteger(0))),
        // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000_0110, the last bit unused.
        extension(Oid.keyUsage, true, tlv(Tag.bitString, Buffer.from([1, 0x06]))),
        extension(Oid.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
      ],
    },
    keys.privateKey,
  );
  return { certPem: certificatePem(certificate), keyPem: privateKeyPem(keys.privateKey) };
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
  const authority = loadAuthority(ca);
  const keys = await generateKeyPair("ec", { namedCurve: "P-256" });
  const spki = keys.publicKey.export({ type: "spki", format: "der" });

  const names = [...dnsNames.map((name) => implicit(2, Buffer.from(name, "ascii"))), ...ipAddresses.map((address) => implicit(7, ipBytes(address)))];
  const extensions = [
    extension(Oid.basicConstraints, true, sequence()),
    // digitalSignature (bit 0): 0b1000_0000, seven bits unused.
    extension(Oid.keyUsage, true, tlv(Tag.bitString, Buffer.from([7, 0x80]))),
    extension(Oid.extKeyUsage, false, sequence(...usages.map((usage) => oid(EKU_OIDS[usage])))),
    extension(Oid.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
    extension(Oid.authorityKeyIdentifier, false, sequence(implicit(0, authority.keyId))),
  ];
  if (names.length > 0) extensions.push(extension(Oid.subjectAltName, false, sequence(...names)));

  const certificate = signedCertificate(
    // The issuer's DN exactly as encoded in the CA, so that chain builders match it byte for byte.
    { subject: nameOf(commonName), issuer: authority.subject, validity, spki, extensions },
    authority.signingKey,
  );
  return { certPem: certificatePem(certificate), keyPem: privateKeyPem(keys.privateKey) };
}

/**
 * Reads the facts status and lint need from a PEM certificate (the first one, if `pem` holds a chain).
 * @throws {@link InvalidPemError} when `pem` is not a certificate (its text is never quoted)
 */
export function certificateInfo(pem: string, source = "certificate"): CertificateInfo {
  const cert = parseCertificate(pem, source);
  const san = cert.extensions.get(Oid.subjectAltName);
  const names = san === undefined ? [] : children(readElement(san).content);
  const eku = cert.extensions.get(Oid.extKeyUsage);
  const ekuOids = new Set(eku === undefined ? [] : children(readElement(eku).content).map((e) => readOid(e.content)));
  return {
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    // GeneralName [2] dNSName and [7] iPAddress, IMPLICIT (RFC 5280 §4.2.1.6).
    dnsNames: names.filter((n) => n.tag === 0x82).map((n) => n.content.toString("ascii")),
    ipAddresses: names.filter((n) => n.tag === 0x87).map((n) => ipText(n.content)),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: cert.node.ca,
    serialNumber: cert.serial.toString("hex"),
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
  return cert.spki.equals(publicKey);
}

// ---------------------------------------------------------------------------------------------

/** A certificate as node parsed it, with what node does not expose read from its DER. */
interface ParsedCertificate {
  readonly node: X509Certificate;
  readonly serial: Buffer;
  /** The subject and issuer Names, DER. */
  readonly subject: Element;
  readonly issuer: Element;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The SubjectPublicKeyInfo, DER. */
  readonly spki: Buffer;
  /** Each extension's value (the content of its extnValue OCTET STRING), by OID. */
  readonly extensions: ReadonlyMap<string, Buffer>;
}

interface Authority {
  readonly subject: Buffer;
  readonly signingKey: KeyObject;
  /** The key identifier issued certificates name as their authority key identifier. */
  readonly keyId: Buffer;
}

function loadAuthority(ca: CertificateAndKey): Authority {
  const cert = parseCertificate(ca.certPem, "ca.certPem");
  const keyObject = parsePrivateKey(ca.keyPem, "ca.keyPem");
  if (!cert.node.ca) {
    throw new InvalidCertificateAuthorityError(`${distinguishedName(cert.subject)} is not a CA certificate (basicConstraints CA is not set)`);
  }
  const details = keyObject.asymmetricKeyDetails;
  if (keyObject.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1") {
    throw new InvalidCertificateAuthorityError("the CA key must be an ECDSA P-256 key");
  }
  const publicKey = createPublicKey(keyObject).export({ type: "spki", format: "der" });
  if (!cert.spki.equals(publicKey)) {
    throw new InvalidCertificateAuthorityError(`the CA key is not the key of ${distinguishedName(cert.subject)}`);
  }
  const ski = cert.extensions.get(Oid.subjectKeyIdentifier);
  const keyId = ski === undefined ? keyIdentifier(cert.spki) : readElement(ski).content;
  return { subject: cert.subject.encoded, signingKey: keyObject, keyId };
}

function parseCertificate(pem: string, source: string): ParsedCertificate {
  if (typeof pem !== "string" || !pem.includes("-----BEGIN CERTIFICATE-----")) throw new InvalidPemError(PemKind.Certificate, source);
  try {
    const node = new X509Certificate(pem);
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } (RFC 5280 §4.1)
    const tbs = children(readElement(node.raw).content)[0]!;
    const fields = children(tbs.content);
    // TBSCertificate ::= SEQUENCE { [0] version DEFAULT v1, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, …, [3] extensions }
    const at = fields[0]?.tag === 0xa0 ? 1 : 0;
    const [serial, , issuer, validity, subject, spki] = fields.slice(at);
    const [notBefore, notAfter] = children(validity!.content);
    const extensions = new Map<string, Buffer>();
    const extensionsField = fields.find((f) => f.tag === 0xa3);
    if (extensionsField !== undefined) {
      for (const ext of children(readElement(extensionsField.content).content)) {
        const parts = children(ext.content);
        extensions.set(readOid(parts[0]!.content), parts[parts.length - 1]!.content);
      }
    }
    return {
      node,
      serial: serial!.content,
      issuer: issuer!,
      subject: subject!,
      notBefore: readTime(notBefore!),
      notAfter: readTime(notAfter!),
      spki: spki!.encoded,
      extensions,
    };
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

/** What a certificate of ours is made of, before it is signed. */
interface CertificateFields {
  readonly subject: Buffer;
  readonly issuer: Buffer;
  readonly validity: { readonly notBefore: Date; readonly notAfter: Date };
  readonly spki: Buffer;
  readonly extensions: readonly Buffer[];
}

/** A v3 certificate with a fresh random serial, signed with ECDSA and SHA-256 by `key`, DER. */
function signedCertificate(fields: CertificateFields, key: KeyObject): Buffer {
  const algorithm = sequence(oid(Oid.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(randomSerialNumber()),
    algorithm,
    fields.issuer,
    sequence(time(fields.validity.notBefore), time(fields.validity.notAfter)),
    fields.subject,
    fields.spki,
    explicit(3, sequence(...fields.extensions)),
  );
  return sequence(tbs, algorithm, bitString(sign("sha256", tbs, { key, dsaEncoding: "der" })));
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [booleanTrue()] : []), octetString(value));
}

/** A Name of one RDN: the common name, as a UTF8String. */
function nameOf(commonName: string): Buffer {
  return sequence(set(sequence(oid(Oid.commonName), utf8String(commonName))));
}

/** RFC 5280 §4.2.1.2 method 1: the SHA-1 of the subjectPublicKey BIT STRING's bits. */
function keyIdentifier(spki: Buffer): Buffer {
  const bits = children(readElement(spki).content)[1]!.content.subarray(1);
  return createHash("sha1").update(bits).digest();
}

/** A Name in RFC 4514's string form: the RDNs last to first, `type=value`, with the special characters escaped. */
function distinguishedName(name: Element): string {
  return children(name.content)
    .reverse()
    .map((rdn) =>
      children(rdn.content)
        .map((attribute) => {
          const [type, value] = children(attribute.content);
          const id = readOid(type!.content);
          return `${ATTRIBUTE_NAMES[id] ?? id}=${escapeDnValue(value!.content.toString("utf8"))}`;
        })
        .join("+"),
    )
    .join(", ");
}

function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, "\\ ");
}

/** An IP SAN's bytes (4 for IPv4, 16 for IPv6). */
function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split(".").map(Number));
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const groups = (text: string | undefined): number[] => {
    if (text === undefined || text === "") return [];
    return text.split(":").flatMap((part) => {
      if (!part.includes(".")) return [Number.parseInt(part, 16)];
      const [a, b, c, d] = part.split(".").map(Number);
      return [(a! << 8) | b!, (c! << 8) | d!];
    });
  };
  const front = groups(head);
  const back = groups(tail);
  const all = tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  return bytes;
}

/** An IP SAN's text: dotted IPv4, or IPv6 with its longest run of zero groups compressed (RFC 5952). */
function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

function certificatePem(der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----`;
}

function privateKeyPem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

/** A positive serial of {@link SERIAL_NUMBER_BYTES} CSPRNG bytes, as hex, without a leading zero byte. */
function randomSerialNumber(): Buffer {
  const bytes = randomBytes(SERIAL_NUMBER_BYTES);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes;
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
