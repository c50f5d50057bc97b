import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { watch } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";

import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";

import type { ServerMaterial } from "../src/plan/index.js";
import {
  argoAuthFile,
  BusSecretFile,
  busTlsFiles,
  certificateInfo,
  type CertificateUsage,
  checkCredentials,
  CLIENT_AUTH_SECRET_KEY,
  clientAuthSecretData,
  CLOCK_SKEW_ALLOWANCE_MS,
  createCertificateAuthority,
  CREDENTIAL_FIELDS,
  DEFAULT_CA_VALIDITY_DAYS,
  DEFAULT_CERTIFICATE_VALIDITY_DAYS,
  ensureSecretDir,
  generateBusSecrets,
  generateCredentials,
  InvalidCertificateAuthorityError,
  InvalidCertificateRequestError,
  InvalidCredentialsError,
  InvalidPemError,
  InvalidSecretFileError,
  isSecretsError,
  issueCertificate,
  keyMatchesCertificate,
  loadBusSecrets,
  MissingSecretFileError,
  saveBusSecrets,
  SecretDirError,
  SecretsErrorCode,
  SecretWriteError,
  UnreadableSecretFileError,
  writeSecretFile,
  type BusSecrets,
  type CertificateAndKey,
  type Credentials,
} from "../src/secrets/index.js";
import { freePort, startNatsServer, waitFor, type NatsServer } from "./helpers/index.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const LOCAL_NAMES = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] } as const;

/** A temp dir removed when disposed. */
async function tempDir(prefix = "eventbus-secrets-"): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** Runs `fn` with the process umask set to `mask`, restoring it afterwards. */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** The base64 body of a PEM (what must never appear in an error). */
const pemBody = (pem: string) =>
  pem
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("-----"))
    .join("");

/** Asserts that `err` is an error of this area and that no secret appears in anything it prints. */
function assertNoLeak(err: unknown, secrets: readonly string[]): void {
  assert.ok(isSecretsError(err), `expected a secrets error, got ${String(err)}`);
  const texts = [String(err), (err as Error).message, inspect(err, { depth: 10 }), JSON.stringify(err)];
  for (const secret of secrets) {
    for (const text of texts) assert.ok(!text.includes(secret), `${(err as Error).name} leaks a secret: ${text}`);
  }
}

/** The error `promise` rejects with (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("expected a rejection");
}

/** The error `fn` throws (fails if it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail("expected an error");
}

// ------------------------------------------------------------------------------------------------

describe("secrets - credentials", () => {
  it("two generations differ in every secret field and share the fixed user names", () => {
    const a = generateCredentials();
    const b = generateCredentials();
    assert.deepEqual(Object.keys(a).sort(), [...CREDENTIAL_FIELDS].sort());
    for (const field of ["password", "systemPassword", "token", "routePassword", "encryptionKey"] as const) {
      assert.notEqual(a[field], b[field], field);
    }
    assert.deepEqual([a.user, a.systemUser, a.routeUser], ["eventbus", "sys", "route"]);
    assert.deepEqual([b.user, b.systemUser, b.routeUser], ["eventbus", "sys", "route"]);
    // Within one set, no two secrets are equal either.
    const values = [a.password, a.systemPassword, a.token, a.routePassword, a.encryptionKey];
    assert.equal(new Set(values).size, values.length);
  });

  it("no password or token begins with '-', which natscli reads as a flag (`--password -x…`: expected argument)", () => {
    // 2,000 sets hold 8,000 secrets; one in 64 base64url draws begins with "-", so without the
    // redraw about 125 would.
    for (let i = 0; i < 2000; i++) {
      const c = generateCredentials();
      for (const field of ["password", "systemPassword", "token", "routePassword"] as const)
        assert.ok(!c[field].startsWith("-"), `${field} ${c[field].slice(0, 1)}…`);
    }
  });

  it("passwords and tokens are 32 random bytes in base64url without padding, the key 32 bytes in hex", () => {
    for (let i = 0; i < 50; i++) {
      const c = generateCredentials();
      for (const field of ["password", "systemPassword", "token", "routePassword"] as const) {
        assert.match(c[field], /^[A-Za-z0-9_-]{43}$/, field);
        assert.equal(Buffer.from(c[field], "base64url").length, 32, field);
        // URL-safe: nothing to escape in nats://user:password@host.
        assert.equal(encodeURIComponent(c[field]), c[field], field);
      }
      assert.match(c.encryptionKey, /^[0-9a-f]{64}$/);
      assert.deepEqual(checkCredentials(c), c);
    }
  });

  it("checkCredentials names the bad field and never its value", () => {
    const c = generateCredentials();
    const secret = `${c.password}+/=`;
    const err = thrown(() => checkCredentials({ ...c, password: secret }));
    assert.ok(err instanceof InvalidCredentialsError);
    assert.equal(err.code, SecretsErrorCode.invalidCredentials);
    assert.equal(err.field, "credentials.password");
    assertNoLeak(err, [secret, c.password]);

    const missing = thrown(() => checkCredentials({ ...c, token: undefined }));
    assert.ok(missing instanceof InvalidCredentialsError);
    assert.equal(missing.field, "credentials.token");
    const hexErr = thrown(() => checkCredentials({ ...c, encryptionKey: c.encryptionKey.toUpperCase() }));
    assert.ok(hexErr instanceof InvalidCredentialsError);
    assertNoLeak(hexErr, [c.encryptionKey, c.encryptionKey.toUpperCase()]);
  });

  it("argoAuthFile and the client Secret data are Argo Events' exact texts", () => {
    const c = generateCredentials();
    assert.equal(argoAuthFile(c, "basic"), `username: eventbus\npassword: ${c.password}\n`);
    assert.equal(argoAuthFile(c, "token"), `token: "${c.token}"\n`);
    assert.deepEqual(clientAuthSecretData(c, "basic"), { "client-auth": `username: eventbus\npassword: ${c.password}` });
    assert.deepEqual(clientAuthSecretData(c, "token"), { [CLIENT_AUTH_SECRET_KEY]: `token: "${c.token}"` });

    const unsafe = { ...c, password: `${c.password}\nadmin: true` };
    const err = thrown(() => argoAuthFile(unsafe, "basic"));
    assert.ok(err instanceof InvalidCredentialsError);
    assertNoLeak(err, [c.password]);
  });
});

// ------------------------------------------------------------------------------------------------

describe("secrets - certificates", () => {
  let ca: CertificateAndKey;
  let otherCa: CertificateAndKey;
  let server: CertificateAndKey;
  /** Issued by the other CA for the same names. */
  let stranger: CertificateAndKey;

  before(async () => {
    [ca, otherCa] = await Promise.all([
      createCertificateAuthority({ commonName: "eventbus test CA" }),
      createCertificateAuthority({ commonName: "another CA", validityDays: 30 }),
    ]);
    [server, stranger] = await Promise.all([
      issueCertificate(ca, { commonName: "eventbus-local", ...LOCAL_NAMES, usage: "server" }),
      issueCertificate(otherCa, { commonName: "eventbus-local", ...LOCAL_NAMES, usage: "server" }),
    ]);
  });

  it("a CA is self-signed with CA:TRUE, keyCertSign/cRLSign, a subject key id and the asked validity", () => {
    const info = certificateInfo(ca.certPem);
    assert.equal(info.subject, "CN=eventbus test CA");
    assert.equal(info.issuer, info.subject);
    assert.equal(info.isCa, true);
    assert.deepEqual(info.dnsNames, []);
    assert.deepEqual(info.extendedKeyUsages, []);
    assert.equal(info.notAfter.getTime() - info.notBefore.getTime(), DEFAULT_CA_VALIDITY_DAYS * DAY_MS + CLOCK_SKEW_ALLOWANCE_MS);
    assert.ok(info.notBefore.getTime() <= Date.now() && info.notBefore.getTime() >= Date.now() - CLOCK_SKEW_ALLOWANCE_MS - 60_000);

    const shortLived = certificateInfo(otherCa.certPem);
    assert.equal(shortLived.notAfter.getTime() - shortLived.notBefore.getTime(), 30 * DAY_MS + CLOCK_SKEW_ALLOWANCE_MS);

    const x = new X509Certificate(ca.certPem);
    assert.equal(x.ca, true);
    assert.ok(x.verify(x.publicKey), "self-signed");
    assert.ok(x.checkIssued(x));
    assert.ok(keyMatchesCertificate(ca.certPem, ca.keyPem));
    assert.ok(ca.keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n"));
    const key = createPrivateKey(ca.keyPem);
    assert.equal(key.asymmetricKeyType, "ec");
    assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const text = x.toString();
    assert.ok(x.fingerprint256.length > 0 && text.includes("BEGIN CERTIFICATE"));
  });

  it("a server certificate carries its SANs, usage and validity, and verifies against its CA only", () => {
    const info = certificateInfo(server.certPem);
    assert.deepEqual(info, {
      subject: "CN=eventbus-local",
      issuer: "CN=eventbus test CA",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1", "::1"],
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      isCa: false,
      serialNumber: info.serialNumber,
      extendedKeyUsages: ["serverAuth"],
    });
    assert.equal(info.notAfter.getTime() - info.notBefore.getTime(), DEFAULT_CERTIFICATE_VALIDITY_DAYS * DAY_MS + CLOCK_SKEW_ALLOWANCE_MS);

    const cert = new X509Certificate(server.certPem);
    const caCert = new X509Certificate(ca.certPem);
    const foreign = new X509Certificate(otherCa.certPem);
    assert.equal(cert.verify(caCert.publicKey), true);
    assert.equal(cert.checkIssued(caCert), true);
    assert.equal(cert.verify(foreign.publicKey), false);
    assert.equal(cert.checkIssued(foreign), false);
    assert.equal(cert.ca, false);
    assert.equal(cert.checkHost("localhost"), "localhost");
    assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(cert.checkIP("::1"), "::1");
    assert.equal(cert.checkHost("example.com"), undefined);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    assert.ok(keyMatchesCertificate(server.certPem, server.keyPem));
    assert.equal(keyMatchesCertificate(server.certPem, ca.keyPem), false);
    assert.deepEqual(createPublicKey(server.keyPem).export({ type: "spki", format: "der" }), cert.publicKey.export({ type: "spki", format: "der" }));

    // A certificate of another CA does not verify against this one.
    const strangerCert = new X509Certificate(stranger.certPem);
    assert.equal(strangerCert.verify(caCert.publicKey), false);
    assert.equal(strangerCert.checkIssued(caCert), false);
    assert.equal(strangerCert.verify(foreign.publicKey), true);
  });

  it("usages client and server-and-client set clientAuth, and a client certificate may have no SANs", async () => {
    const client = await issueCertificate(ca, { commonName: "sensor", usage: "client" });
    const both = await issueCertificate(ca, { commonName: "route", dnsNames: ["*.eventbus-default-js-svc.argo.svc"], usage: "server-and-client" });
    assert.deepEqual(certificateInfo(client.certPem).extendedKeyUsages, ["clientAuth"]);
    assert.deepEqual(certificateInfo(client.certPem).dnsNames, []);
    assert.deepEqual(new X509Certificate(client.certPem).keyUsage, ["1.3.6.1.5.5.7.3.2"]);
    assert.deepEqual(certificateInfo(both.certPem).extendedKeyUsages, ["serverAuth", "clientAuth"]);
    assert.deepEqual(certificateInfo(both.certPem).dnsNames, ["*.eventbus-default-js-svc.argo.svc"]);
    assert.equal(new X509Certificate(both.certPem).checkHost("eventbus-default-js-0.eventbus-default-js-svc.argo.svc"), "*.eventbus-default-js-svc.argo.svc");
    assert.equal(new X509Certificate(both.certPem).checkHost("a.b.eventbus-default-js-svc.argo.svc"), undefined);
  });

  it("serial numbers are random, positive and 16 bytes; names are deduplicated", async () => {
    const certs = await Promise.all(
      Array.from({ length: 5 }, () =>
        issueCertificate(ca, { commonName: "x", dnsNames: ["a.example", "a.example"], ipAddresses: ["10.0.0.1", "10.0.0.1"], usage: "server" }),
      ),
    );
    const serials = certs.map((c) => certificateInfo(c.certPem).serialNumber);
    assert.equal(new Set(serials).size, serials.length);
    for (const serial of serials) {
      assert.match(serial, /^[4-7][0-9a-f]{31}$/);
      assert.equal(new X509Certificate(certs[0]!.certPem).serialNumber.length, 32);
    }
    assert.deepEqual(certificateInfo(certs[0]!.certPem).dnsNames, ["a.example"]);
    assert.deepEqual(certificateInfo(certs[0]!.certPem).ipAddresses, ["10.0.0.1"]);
  });

  it("bad requests are refused with InvalidCertificateRequestError naming the field", async () => {
    const cases: { options: Parameters<typeof issueCertificate>[1]; field: string }[] = [
      { options: { commonName: "x", ipAddresses: ["127.0.0.1", "localhost"], usage: "server" }, field: "ipAddresses[1]" },
      { options: { commonName: "x", dnsNames: ["bad_name.example"], usage: "server" }, field: "dnsNames[0]" },
      { options: { commonName: "x", dnsNames: ["a..b"], usage: "server" }, field: "dnsNames[0]" },
      { options: { commonName: "x", dnsNames: ["*"], usage: "server" }, field: "dnsNames[0]" },
      { options: { commonName: "x", dnsNames: ["a.*.b"], usage: "server" }, field: "dnsNames[0]" },
      { options: { commonName: "x", usage: "server" }, field: "dnsNames" },
      { options: { commonName: "x", usage: "server-and-client" }, field: "dnsNames" },
      { options: { commonName: "", dnsNames: ["localhost"], usage: "server" }, field: "commonName" },
      { options: { commonName: "x".repeat(65), dnsNames: ["localhost"], usage: "server" }, field: "commonName" },
      { options: { commonName: "x", dnsNames: ["localhost"], usage: "server", validityDays: 0 }, field: "validityDays" },
      { options: { commonName: "x", dnsNames: ["localhost"], usage: "server", validityDays: 1.5 }, field: "validityDays" },
      { options: { commonName: "x", dnsNames: ["localhost"], usage: "peer" as CertificateUsage }, field: "usage" },
    ];
    for (const { options, field } of cases) {
      const err = await rejection(issueCertificate(ca, options));
      assert.ok(err instanceof InvalidCertificateRequestError, `${JSON.stringify(options)}: ${String(err)}`);
      assert.equal(err.code, SecretsErrorCode.invalidCertificateRequest);
      assert.equal(err.field, field, JSON.stringify(options));
    }
    const caErr = await rejection(createCertificateAuthority({ commonName: "ca", validityDays: -1 }));
    assert.ok(caErr instanceof InvalidCertificateRequestError);
    assert.equal(caErr.field, "validityDays");
  });

  it("only a CA with its own key can sign, and errors never quote the key", async () => {
    const notCa = await rejection(issueCertificate(server, { commonName: "x", dnsNames: ["localhost"], usage: "server" }));
    assert.ok(notCa instanceof InvalidCertificateAuthorityError);
    assertNoLeak(notCa, [pemBody(server.keyPem)]);

    const wrongKey = await rejection(
      issueCertificate({ certPem: ca.certPem, keyPem: otherCa.keyPem }, { commonName: "x", dnsNames: ["localhost"], usage: "server" }),
    );
    assert.ok(wrongKey instanceof InvalidCertificateAuthorityError);
    assertNoLeak(wrongKey, [pemBody(otherCa.keyPem), pemBody(ca.keyPem)]);

    const c = generateCredentials();
    const bogusKey = `-----BEGIN PRIVATE KEY-----\n${c.password}\n-----END PRIVATE KEY-----\n`;
    const badPem = await rejection(issueCertificate({ certPem: ca.certPem, keyPem: bogusKey }, { commonName: "x", dnsNames: ["localhost"], usage: "server" }));
    assert.ok(badPem instanceof InvalidPemError);
    assert.equal(badPem.source, "ca.keyPem");
    assertNoLeak(badPem, [c.password]);

    const swapped = await rejection(issueCertificate({ certPem: ca.keyPem, keyPem: ca.keyPem }, { commonName: "x", dnsNames: ["localhost"], usage: "server" }));
    assert.ok(swapped instanceof InvalidPemError);
    assertNoLeak(swapped, [pemBody(ca.keyPem)]);
  });

  it("certificateInfo refuses a key or garbage without quoting it", () => {
    const err = thrown(() => certificateInfo(server.keyPem));
    assert.ok(err instanceof InvalidPemError);
    assert.equal(err.code, SecretsErrorCode.invalidPem);
    assertNoLeak(err, [pemBody(server.keyPem)]);
    const secret = generateCredentials().token;
    const garbled = thrown(() => certificateInfo(`-----BEGIN CERTIFICATE-----\n${secret}\n-----END CERTIFICATE-----\n`, "ca.pem"));
    assert.ok(garbled instanceof InvalidPemError);
    assert.equal(garbled.source, "ca.pem");
    assertNoLeak(garbled, [secret]);
  });

  it("generateBusSecrets makes a CA, a server and a route certificate for the names (timed), or credentials only", async (t) => {
    const started = performance.now();
    const secrets = await generateBusSecrets({ tls: true, ...LOCAL_NAMES, commonName: "eventbus-default" });
    const elapsed = performance.now() - started;
    t.diagnostic(`CA + 2 certificates + credentials generated in ${elapsed.toFixed(1)} ms`);
    assert.ok(secrets.tls !== undefined);
    const { ca: busCa, server: busServer, route } = secrets.tls;
    assert.equal(certificateInfo(busCa.certPem).subject, "CN=eventbus-default CA");
    for (const [cert, usages] of [
      [busServer, ["serverAuth"]],
      [route, ["serverAuth", "clientAuth"]],
    ] as const) {
      const info = certificateInfo(cert.certPem);
      assert.equal(info.subject, "CN=eventbus-default");
      assert.equal(info.issuer, "CN=eventbus-default CA");
      assert.deepEqual(info.dnsNames, ["localhost"]);
      assert.deepEqual(info.ipAddresses, ["127.0.0.1", "::1"]);
      assert.deepEqual(info.extendedKeyUsages, usages);
      assert.ok(new X509Certificate(cert.certPem).checkIssued(new X509Certificate(busCa.certPem)));
      assert.ok(keyMatchesCertificate(cert.certPem, cert.keyPem));
    }
    assert.notEqual(busServer.keyPem, route.keyPem);

    const long = await generateBusSecrets({ tls: true, dnsNames: ["a.example"], ipAddresses: [], commonName: "n".repeat(64) });
    assert.equal(certificateInfo(long.tls!.ca.certPem).subject, `CN=${"n".repeat(61)} CA`);

    const plain = await generateBusSecrets({ tls: false, dnsNames: [], ipAddresses: [], commonName: "unused" });
    assert.equal(plain.tls, undefined);
    assert.deepEqual(checkCredentials(plain.credentials), plain.credentials);
    await assert.rejects(generateBusSecrets({ tls: true, ...LOCAL_NAMES, commonName: " " }), InvalidCertificateRequestError);
  });
});

// ------------------------------------------------------------------------------------------------

describe("secrets - a real nats-server accepts the material", () => {
  let dir: { path: string } & AsyncDisposable;
  let secrets: BusSecrets & { tls: NonNullable<BusSecrets["tls"]> };
  let other: BusSecrets & { tls: NonNullable<BusSecrets["tls"]> };
  let otherDir: { path: string } & AsyncDisposable;
  let clientCert: CertificateAndKey;
  let foreignClientCert: CertificateAndKey;

  before(async () => {
    dir = await tempDir();
    otherDir = await tempDir();
    const [mine, theirs] = await Promise.all([
      generateBusSecrets({ tls: true, ...LOCAL_NAMES, commonName: "eventbus-local" }),
      generateBusSecrets({ tls: true, ...LOCAL_NAMES, commonName: "impostor" }),
    ]);
    assert.ok(mine.tls !== undefined && theirs.tls !== undefined);
    secrets = { ...mine, tls: mine.tls };
    other = { ...theirs, tls: theirs.tls };
    await saveBusSecrets(dir.path, secrets);
    await saveBusSecrets(otherDir.path, other);
    clientCert = await issueCertificate(secrets.tls.ca, { commonName: "sensor", usage: "client" });
    foreignClientCert = await issueCertificate(other.tls.ca, { commonName: "sensor", usage: "client" });
  });

  after(async () => {
    await dir[Symbol.asyncDispose]();
    await otherDir[Symbol.asyncDispose]();
  });

  /** A nats-server whose client listener uses the bus's server certificate; `verify` asks for client certificates. */
  function startTlsServer(options: { verify?: boolean } = {}): Promise<NatsServer> {
    const files = busTlsFiles(dir.path).client;
    const verify = options.verify === true ? "\n  verify: true" : "";
    return startNatsServer({
      config: `tls {\n  cert_file: ${JSON.stringify(files.certFile)}\n  key_file: ${JSON.stringify(files.keyFile)}\n  ca_file: ${JSON.stringify(files.caFile)}\n  timeout: 2${verify}\n}\n`,
    });
  }

  const port = (server: NatsServer) => new URL(server.clientUrl).port;

  /** Connects once (no retries); resolves to the connection or the error. */
  async function tryConnect(options: NodeConnectionOptions): Promise<NatsConnection | Error> {
    try {
      return await connect({ reconnect: false, timeout: 5_000, ...options });
    } catch (err) {
      return err as Error;
    }
  }

  async function assertPublishes(nc: NatsConnection | Error): Promise<void> {
    assert.ok(!(nc instanceof Error), `expected a connection, got ${String(nc)}`);
    try {
      const sub = nc.subscribe("secrets.test", { max: 1 });
      nc.publish("secrets.test", "hello");
      await nc.flush();
      for await (const msg of sub) assert.equal(msg.string(), "hello");
    } finally {
      await nc.close();
    }
  }

  function assertRefused(result: NatsConnection | Error, code: RegExp): asserts result is Error {
    if (!(result instanceof Error)) {
      void result.close();
      assert.fail("expected the connection to be refused");
    }
    assert.match(String((result as { code?: unknown }).code), code, String(result));
  }

  it("a client trusting the CA connects over TLS (by IP and by name) and publishes", async () => {
    await using server = await startTlsServer();
    assert.match(server.clientUrl, /^tls:\/\//);
    const caFile = busTlsFiles(dir.path).client.caFile;
    await assertPublishes(await tryConnect({ servers: `tls://127.0.0.1:${port(server)}`, tls: { caFile } }));
    await assertPublishes(await tryConnect({ servers: `nats://localhost:${port(server)}`, tls: { caFile } }));
    await assertPublishes(await tryConnect({ servers: `127.0.0.1:${port(server)}`, tls: { ca: secrets.tls.ca.certPem } }));
  });

  it("a client without the CA, or trusting another CA, is refused with a certificate verification error", async () => {
    await using server = await startTlsServer();
    const servers = `tls://127.0.0.1:${port(server)}`;
    for (const tls of [{}, undefined, { caFile: busTlsFiles(otherDir.path).client.caFile }]) {
      const result = await tryConnect({ servers, ...(tls === undefined ? {} : { tls }) });
      assertRefused(result, /^UNABLE_TO_VERIFY_LEAF_SIGNATURE$/);
      assert.match(result.message, /unable to verify the first certificate/);
    }
  });

  it("a plaintext client is refused; nats.js itself never falls back to plaintext", async () => {
    await using server = await startTlsServer();
    // GIVEN a raw TCP client that ignores tls_required WHEN it sends CONNECT and PING in the clear
    const received = await new Promise<string>((resolve, reject) => {
      const socket = createConnection(Number(port(server)), "127.0.0.1");
      let text = "";
      let sent = false;
      socket.setTimeout(10_000, () => socket.destroy(new Error("timed out waiting for the server to close")));
      socket.on("data", (chunk) => {
        text += chunk.toString("utf8");
        if (!sent && text.includes("\r\n")) {
          sent = true;
          socket.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
    });
    // THEN the server announced TLS, never answered PONG, and closed the connection
    assert.match(received, /^INFO \{.*"tls_required":true/);
    assert.ok(!received.includes("PONG"), received);
    await waitFor("the server to log the refused handshake", () => (/first record does not look like a TLS handshake/.test(server.logs()) ? true : undefined));

    // nats.js upgrades to TLS whenever the server requires it, even with tls: null ("no TLS"),
    // where 3.4 fails before the handshake on a destructuring of the null options.
    const nullTls = await tryConnect({ servers: `nats://127.0.0.1:${port(server)}`, tls: null });
    assert.ok(nullTls instanceof Error, "a tls: null client must not connect");
    assert.match(nullTls.message, /Cannot destructure property 'certFile'/);
  });

  it("mutual TLS: a client certificate from the CA is accepted; none, another CA's or a server-only one is refused", async () => {
    await using server = await startTlsServer({ verify: true });
    const servers = `tls://127.0.0.1:${port(server)}`;
    const caFile = busTlsFiles(dir.path).client.caFile;

    await assertPublishes(await tryConnect({ servers, tls: { caFile, cert: clientCert.certPem, key: clientCert.keyPem } }));
    // The route certificate (server-and-client) is a valid client certificate too.
    const routeFiles = busTlsFiles(dir.path).cluster;
    await assertPublishes(await tryConnect({ servers, tls: { caFile, certFile: routeFiles.certFile, keyFile: routeFiles.keyFile } }));

    // With TLS 1.3 the client's side of the handshake is done before the server checks the client
    // certificate, so the client sees the server's alert or, when the reset wins, ECONNRESET; the
    // server's log says why.
    const rejected = /^(ERR_SSL_[\w/]+|ECONNRESET)$/;
    assertRefused(await tryConnect({ servers, tls: { caFile } }), rejected);
    await waitFor("log: no client certificate", () => (server.logs().includes("client didn't provide a certificate") ? true : undefined));

    assertRefused(await tryConnect({ servers, tls: { caFile, cert: foreignClientCert.certPem, key: foreignClientCert.keyPem } }), rejected);
    await waitFor("log: unknown authority", () => (server.logs().includes("certificate signed by unknown authority") ? true : undefined));

    // A certificate with only serverAuth is no client certificate (extKeyUsage is enforced).
    assertRefused(await tryConnect({ servers, tls: { caFile, cert: secrets.tls.server.certPem, key: secrets.tls.server.keyPem } }), rejected);
    await waitFor("log: incompatible key usage", () => (server.logs().includes("incompatible key usage") ? true : undefined));
  });

  it("route listeners: two servers form a cluster over mutual TLS; a peer with another CA's certificate cannot join", async () => {
    const [portA, portB, portC] = await Promise.all([freePort(), freePort(), freePort()]);
    const config = (secretDir: string, own: number, peer: number) => {
      const { client, cluster } = busTlsFiles(secretDir);
      const block = (f: typeof client, verify: boolean) =>
        `tls {\n  cert_file: ${JSON.stringify(f.certFile)}\n  key_file: ${JSON.stringify(f.keyFile)}\n  ca_file: ${JSON.stringify(f.caFile)}\n  timeout: 2${verify ? "\n  verify: true" : ""}\n}`;
      return [
        `server_name: "s-${own}"`,
        block(client, false),
        `cluster {\n  name: "secrets-test"\n  listen: "127.0.0.1:${own}"\n  routes: ["nats-route://127.0.0.1:${peer}"]\n${block(cluster, true)}\n}`,
        "",
      ].join("\n");
    };
    const routez = async (server: NatsServer) =>
      (await (await fetch(`${server.monitorUrl}/routez`)).json()) as { num_routes: number; routes: { remote_name?: string }[] };

    // GIVEN two servers with the bus's route certificate, each routing to the other
    await using a = await startNatsServer({ config: config(dir.path, portA, portB) });
    await using b = await startNatsServer({ config: config(dir.path, portB, portA) });
    // THEN they connect over TLS routes
    await waitFor("a route between a and b", async () => ((await routez(a)).num_routes > 0 && (await routez(b)).num_routes > 0 ? true : undefined));
    // AND a message published on b reaches a subscriber on a
    const caFile = busTlsFiles(dir.path).client.caFile;
    const onA = await connect({ servers: a.clientUrl, tls: { caFile }, reconnect: false });
    const onB = await connect({ servers: b.clientUrl, tls: { caFile }, reconnect: false });
    try {
      const sub = onA.subscribe("across.routes", { max: 1 });
      await onA.flush();
      await waitFor(
        "the subscription to reach b",
        async () => {
          onB.publish("across.routes", "over tls routes");
          await onB.flush();
          return sub.getReceived() > 0 ? true : undefined;
        },
        { intervalMs: 50 },
      );
    } finally {
      await onA.close();
      await onB.close();
    }

    // GIVEN a third server with another CA's route certificate WHEN it tries to join through a
    await using c = await startNatsServer({ config: config(otherDir.path, portC, portA) });
    // THEN both sides refuse the handshake and a keeps only b as a peer
    await waitFor("c to refuse a's certificate", () =>
      /TLS route handshake error: .*certificate signed by unknown authority/.test(c.logs()) ? true : undefined,
    );
    await waitFor("a to refuse c's certificate", () => (/TLS route handshake error/.test(a.logs()) ? true : undefined));
    assert.deepEqual(new Set((await routez(a)).routes.map((r) => r.remote_name)), new Set([`s-${portB}`]));
    assert.equal((await routez(c)).num_routes, 0);
  });
});

// ------------------------------------------------------------------------------------------------

describe("secrets - files", () => {
  let secrets: BusSecrets;
  before(async () => {
    secrets = await generateBusSecrets({ tls: true, ...LOCAL_NAMES, commonName: "eventbus-files" });
  });

  it("ensureSecretDir creates mode 0700 even with umask 0, and fixes an existing directory", async () => {
    await using tmp = await tempDir();
    const created = join(tmp.path, "a", "b");
    await withUmask(0, () => ensureSecretDir(created));
    assert.equal(await modeOf(created), 0o700);

    const existing = join(tmp.path, "existing");
    await mkdir(existing);
    await chmod(existing, 0o777);
    assert.equal(await withUmask(0, () => ensureSecretDir(existing)), existing);
    assert.equal(await modeOf(existing), 0o700);

    await writeFile(join(tmp.path, "file"), "");
    const err = await rejection(ensureSecretDir(join(tmp.path, "file")));
    assert.ok(err instanceof SecretDirError);
    assert.equal(err.code, SecretsErrorCode.secretDirUnusable);
    assert.equal(err.dir, join(tmp.path, "file"));
  });

  it("writeSecretFile writes mode 0600 whatever the umask, rewriting keeps 0600, and leaves no temp file", async () => {
    await using tmp = await tempDir();
    const file = join(tmp.path, "secret");
    for (const mask of [0, 0o022, 0o277]) {
      await withUmask(mask, () => writeSecretFile(file, `umask ${mask.toString(8)}`));
      assert.equal(await modeOf(file), 0o600, `umask ${mask.toString(8)}`);
      assert.equal(await readFile(file, "utf8"), `umask ${mask.toString(8)}`);
    }
    // Someone widened it; a rewrite replaces the file with a 0600 one.
    await chmod(file, 0o644);
    await withUmask(0, () => writeSecretFile(file, new Uint8Array([1, 2, 3])));
    assert.equal(await modeOf(file), 0o600);
    assert.deepEqual(await readFile(file), Buffer.from([1, 2, 3]));
    assert.deepEqual(await readdir(tmp.path), ["secret"]);
  });

  it("writeSecretFile never shows a file with a wider mode to a directory watcher", async () => {
    await using tmp = await tempDir();
    const seen = new Map<string, number>();
    const watcher = watch(tmp.path, async (_event, name) => {
      if (name === null) return;
      try {
        const mode = (await lstat(join(tmp.path, name))).mode & 0o777;
        seen.set(`${name}:${mode.toString(8)}`, mode);
      } catch {
        // renamed away already
      }
    });
    try {
      await withUmask(0, async () => {
        for (let i = 0; i < 40; i++) await writeSecretFile(join(tmp.path, `s${i % 4}`), generateCredentials().password);
      });
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      watcher.close();
    }
    assert.ok(seen.size > 0, "the watcher saw no file");
    for (const [key, mode] of seen) assert.equal(mode, 0o600, key);
  });

  it("writeSecretFile into a missing directory fails with SecretWriteError naming the file, not the data", async () => {
    await using tmp = await tempDir();
    const file = join(tmp.path, "missing", "secret");
    const secret = generateCredentials().password;
    const err = await rejection(writeSecretFile(file, secret));
    assert.ok(err instanceof SecretWriteError);
    assert.equal(err.code, SecretsErrorCode.secretFileWriteFailed);
    assert.equal(err.file, file);
    assert.equal(err.reason, "ENOENT");
    assertNoLeak(err, [secret]);
  });

  it("saveBusSecrets writes every file with mode 0600 in a 0700 dir and loadBusSecrets round-trips them byte for byte", async () => {
    await using tmp = await tempDir();
    const dir = join(tmp.path, "bus");
    await withUmask(0, () => saveBusSecrets(dir, secrets));
    assert.equal(await modeOf(dir), 0o700);
    assert.deepEqual((await readdir(dir)).sort(), Object.values(BusSecretFile).sort());
    for (const name of await readdir(dir)) assert.equal(await modeOf(join(dir, name)), 0o600, name);

    const tls = secrets.tls!;
    const expected: Record<string, string> = {
      [BusSecretFile.CaCert]: tls.ca.certPem,
      [BusSecretFile.CaKey]: tls.ca.keyPem,
      [BusSecretFile.ServerCert]: tls.server.certPem,
      [BusSecretFile.ServerKey]: tls.server.keyPem,
      [BusSecretFile.RouteCert]: tls.route.certPem,
      [BusSecretFile.RouteKey]: tls.route.keyPem,
    };
    for (const [name, text] of Object.entries(expected)) assert.deepEqual(await readFile(join(dir, name)), Buffer.from(text, "utf8"), name);
    assert.deepEqual(JSON.parse(await readFile(join(dir, BusSecretFile.Credentials), "utf8")), secrets.credentials);

    const loaded = await loadBusSecrets(dir);
    assert.deepEqual(loaded, secrets);
    // Saving what was loaded reproduces the same bytes.
    const again = join(tmp.path, "again");
    await saveBusSecrets(again, loaded);
    for (const name of Object.values(BusSecretFile)) assert.deepEqual(await readFile(join(again, name)), await readFile(join(dir, name)), name);

    // The paths a server config names are the saved files; the shape is the plan's.
    const files: ServerMaterial["tls"] = busTlsFiles(dir);
    assert.equal(await readFile(files!.client.certFile, "utf8"), tls.server.certPem);
    assert.equal(await readFile(files!.cluster.keyFile, "utf8"), tls.route.keyPem);
  });

  it("saving without TLS writes only credentials.json and removes TLS files of an earlier save", async () => {
    await using tmp = await tempDir();
    await saveBusSecrets(tmp.path, secrets);
    const plain: BusSecrets = { credentials: generateCredentials() };
    await saveBusSecrets(tmp.path, plain);
    assert.deepEqual(await readdir(tmp.path), [BusSecretFile.Credentials]);
    assert.deepEqual(await loadBusSecrets(tmp.path), plain);
  });

  it("a missing file gives MissingSecretFileError naming the file", async () => {
    await using tmp = await tempDir();
    const empty = await rejection(loadBusSecrets(tmp.path));
    assert.ok(empty instanceof MissingSecretFileError);
    assert.equal(empty.file, join(tmp.path, BusSecretFile.Credentials));
    assert.equal(empty.code, SecretsErrorCode.secretFileMissing);

    await saveBusSecrets(tmp.path, secrets);
    await rm(join(tmp.path, BusSecretFile.ServerKey));
    const err = await rejection(loadBusSecrets(tmp.path));
    assert.ok(err instanceof MissingSecretFileError);
    assert.equal(err.file, join(tmp.path, BusSecretFile.ServerKey));
    assert.match(err.message, /server-key\.pem does not exist/);
    assertNoLeak(err, [pemBody(secrets.tls!.server.certPem), secrets.credentials.password]);
  });

  it("an unreadable file gives UnreadableSecretFileError naming the file and the reason", async () => {
    await using tmp = await tempDir();
    await saveBusSecrets(tmp.path, secrets);
    await rm(join(tmp.path, BusSecretFile.RouteCert));
    await mkdir(join(tmp.path, BusSecretFile.RouteCert));
    const err = await rejection(loadBusSecrets(tmp.path));
    assert.ok(err instanceof UnreadableSecretFileError);
    assert.equal(err.file, join(tmp.path, BusSecretFile.RouteCert));
    assert.equal(err.reason, "EISDIR");
    assert.equal(err.code, SecretsErrorCode.secretFileUnreadable);
  });

  it("corrupt credentials, a non-PEM file or a key of another certificate give InvalidSecretFileError without content", async () => {
    await using tmp = await tempDir();
    const c = secrets.credentials;
    const credentialsFile = join(tmp.path, BusSecretFile.Credentials);
    const allSecrets = [c.password, c.systemPassword, c.token, c.routePassword, c.encryptionKey];

    await saveBusSecrets(tmp.path, secrets);
    // Truncated JSON: JSON.parse would quote the text around the fault.
    await writeSecretFile(credentialsFile, `{"user":"eventbus","password":"${c.password}" "token":`);
    const truncated = await rejection(loadBusSecrets(tmp.path));
    assert.ok(truncated instanceof InvalidSecretFileError);
    assert.equal(truncated.file, credentialsFile);
    assertNoLeak(truncated, allSecrets);

    const edited: Credentials = { ...c, routePassword: `${c.routePassword}"$x` };
    await writeSecretFile(credentialsFile, JSON.stringify(edited));
    const badField = await rejection(loadBusSecrets(tmp.path));
    assert.ok(badField instanceof InvalidSecretFileError);
    assert.match(badField.message, /credentials\.routePassword/);
    assertNoLeak(badField, [...allSecrets, edited.routePassword]);

    await saveBusSecrets(tmp.path, secrets);
    await writeSecretFile(join(tmp.path, BusSecretFile.CaKey), `-----BEGIN PRIVATE KEY-----\n${c.token}\n-----END PRIVATE KEY-----\n`);
    const notPem = await rejection(loadBusSecrets(tmp.path));
    assert.ok(notPem instanceof InvalidSecretFileError);
    assert.equal(notPem.file, join(tmp.path, BusSecretFile.CaKey));
    assertNoLeak(notPem, allSecrets);

    await saveBusSecrets(tmp.path, secrets);
    await writeSecretFile(join(tmp.path, BusSecretFile.RouteKey), secrets.tls!.server.keyPem);
    const mismatch = await rejection(loadBusSecrets(tmp.path));
    assert.ok(mismatch instanceof InvalidSecretFileError);
    assert.equal(mismatch.file, join(tmp.path, BusSecretFile.RouteKey));
    assert.match(mismatch.message, /not the private key of route-cert\.pem/);
    assertNoLeak(mismatch, [pemBody(secrets.tls!.server.keyPem), pemBody(secrets.tls!.route.keyPem)]);
  });
});
