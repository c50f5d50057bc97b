/**
 * The credentials of a bus, from the operating system's CSPRNG, in alphabets that need no
 * escaping in a URL (`nats://user:password@host`), a nats-server config or an Argo auth file.
 */
import { randomBytes } from "node:crypto";

import { InvalidCredentialsError } from "./errors.js";

/** The user JetStream clients (event sources, sensors) log in as. */
export const JETSTREAM_USER = "eventbus";
/** The user of the system account (monitoring, `$SYS` requests). */
export const SYSTEM_USER = "sys";
/** The user servers present to each other on the cluster (route) listener. */
export const ROUTE_USER = "route";

/** Random bytes in each password and token (encoded as 43 base64url characters). */
export const SECRET_BYTES = 32;
/** Random bytes of the JetStream encryption-at-rest key (encoded as 64 hex characters). */
export const ENCRYPTION_KEY_BYTES = 32;

/** The characters a user name, password or token may hold: base64url without padding. */
export const CREDENTIAL_ALPHABET = /^[A-Za-z0-9_-]+$/;
/** The encryption key: lowercase hex. */
export const ENCRYPTION_KEY_ALPHABET = /^[0-9a-f]+$/;

/**
 * Everything a managed bus needs to authenticate clients, its system account and its peers, and
 * to encrypt its store. Secret values: never log them, never put them in an error message.
 */
export interface Credentials {
  /** @default "eventbus" */
  readonly user: string;
  /** base64url, {@link SECRET_BYTES} random bytes. */
  readonly password: string;
  /** @default "sys" */
  readonly systemUser: string;
  readonly systemPassword: string;
  /** For buses with `auth: token` (STAN, or a JetStream bus configured so). */
  readonly token: string;
  /** @default "route" */
  readonly routeUser: string;
  readonly routePassword: string;
  /** JetStream encryption at rest: {@link ENCRYPTION_KEY_BYTES} random bytes as lowercase hex. */
  readonly encryptionKey: string;
}

/** The fields of {@link Credentials}, in a stable order (the order of `credentials.json`). */
export const CREDENTIAL_FIELDS = [
  "user",
  "password",
  "systemUser",
  "systemPassword",
  "token",
  "routeUser",
  "routePassword",
  "encryptionKey",
] as const satisfies readonly (keyof Credentials)[];

/**
 * A fresh random secret: `bytes` bytes from the CSPRNG as base64url without padding, drawn again
 * while it begins with "-": command-line tools such as natscli read `--password -x…` as two flags
 * (one draw in 64 is redrawn; the secret keeps its length and alphabet).
 */
export function randomSecret(bytes: number = SECRET_BYTES): string {
  for (;;) {
    const secret = randomBytes(bytes).toString("base64url");
    if (!secret.startsWith("-")) return secret;
  }
}

/** Fresh credentials: every password, the token and the encryption key are new random values. */
export function generateCredentials(): Credentials {
  return {
    user: JETSTREAM_USER,
    password: randomSecret(),
    systemUser: SYSTEM_USER,
    systemPassword: randomSecret(),
    token: randomSecret(),
    routeUser: ROUTE_USER,
    routePassword: randomSecret(),
    encryptionKey: randomBytes(ENCRYPTION_KEY_BYTES).toString("hex"),
  };
}

/**
 * Checks that `value` has every field of {@link Credentials} as a non-empty string in its alphabet,
 * and returns just those fields (extra keys are dropped).
 * @param source - what the value came from, prefixed to the field in errors (e.g. a file name)
 * @throws {@link InvalidCredentialsError} naming the first bad field, never its value
 */
export function checkCredentials(value: unknown, source = "credentials"): Credentials {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidCredentialsError(source, "must be an object");
  }
  const record = value as Record<string, unknown>;
  const out: Partial<Record<keyof Credentials, string>> = {};
  for (const field of CREDENTIAL_FIELDS) {
    const v = record[field];
    if (typeof v !== "string" || v === "") throw new InvalidCredentialsError(`${source}.${field}`, "must be a non-empty string");
    const alphabet = field === "encryptionKey" ? ENCRYPTION_KEY_ALPHABET : CREDENTIAL_ALPHABET;
    if (!alphabet.test(v)) {
      const allowed = field === "encryptionKey" ? "lowercase hex digits" : "letters, digits, '-' and '_'";
      throw new InvalidCredentialsError(`${source}.${field}`, `may only hold ${allowed}`);
    }
    out[field] = v;
  }
  return out as Credentials;
}
