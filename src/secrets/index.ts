/**
 * secrets — credentials (CSPRNG, URL- and config-safe) and TLS material (a CA, server
 * certificates for the client and route listeners, client certificates) for a bus, and the files
 * that hold them (mode 0600 in a 0700 directory, replaced atomically).
 *
 * None of these functions logs, and no error they throw holds a secret value.
 * @module
 */
export { ARGO_AUTH_FILE_PATH, argoAuthFile, CLIENT_AUTH_SECRET_KEY, ClientAuthMode, clientAuthSecretData } from "./argo-auth.js";
export { BusSecretFile, busTlsFiles, loadBusSecrets, saveBusSecrets, type BusTlsFiles, type ListenerTlsFiles } from "./bus-secret-files.js";
export { generateBusSecrets, type BusSecrets, type BusSecretsOptions, type BusTls } from "./bus-secrets.js";
export {
  CertificateUsage,
  certificateInfo,
  CLOCK_SKEW_ALLOWANCE_MS,
  createCertificateAuthority,
  DEFAULT_CA_VALIDITY_DAYS,
  DEFAULT_CERTIFICATE_VALIDITY_DAYS,
  ExtendedKeyUsage,
  issueCertificate,
  keyMatchesCertificate,
  MAX_COMMON_NAME_LENGTH,
  MAX_VALIDITY_DAYS,
  type CertificateAndKey,
  type CertificateAuthorityOptions,
  type CertificateInfo,
  type CertificateOptions,
} from "./certificates.js";
export {
  checkCredentials,
  CREDENTIAL_ALPHABET,
  CREDENTIAL_FIELDS,
  ENCRYPTION_KEY_ALPHABET,
  ENCRYPTION_KEY_BYTES,
  generateCredentials,
  JETSTREAM_USER,
  randomSecret,
  ROUTE_USER,
  SECRET_BYTES,
  SYSTEM_USER,
  type Credentials,
} from "./credentials.js";
export {
  InvalidCertificateAuthorityError,
  InvalidCertificateRequestError,
  InvalidCredentialsError,
  InvalidPemError,
  InvalidSecretFileError,
  isSecretsError,
  MissingSecretFileError,
  PemKind,
  SecretDirError,
  SecretsErrorCode,
  SecretWriteError,
  UnreadableSecretFileError,
  type SecretsError,
} from "./errors.js";
export { ensureSecretDir, SECRET_DIR_MODE, SECRET_FILE_MODE, writeSecretFile } from "./secret-files.js";
