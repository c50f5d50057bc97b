/**
 * Argo Events' client auth file, mounted at `/etc/eventbus/auth/auth.yaml` in event source and sensor
 * pods: `username: <u>\npassword: <p>` (basic), `token: "<t>"` (token), or a NATS credentials file
 * (JWT and NKey seed, which Argo recognises by its markers). A plain token string is accepted too.
 */
import { parse, YAMLParseError } from "yaml";

import { InvalidAuthFileError } from "./errors.js";

/** Credentials read from an auth file. Print with care: they hold secrets. */
export type AuthCredentials =
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  | { readonly kind: "token"; readonly token: string }
  /** A NATS credentials file (`.creds`), kept as text. */
  | { readonly kind: "creds"; readonly creds: string };

const CREDS_MARKERS = ["BEGIN NATS USER JWT", "BEGIN USER NKEY SEED"] as const;
const CONTROL = /\p{Cc}/u;

/**
 * Parses the text of an Argo auth file. Error messages name the field, never a value.
 * @throws {@link InvalidAuthFileError}
 */
export function parseAuthFile(text: string): AuthCredentials {
  if (CREDS_MARKERS.every((m) => text.includes(m))) return { kind: "creds", creds: text };
  if (text.trim() === "") throw new InvalidAuthFileError("auth file", "is empty");

  let doc: unknown;
  try {
    // failsafe: every scalar stays the string as written (a token 0123 is not the number 83).
    doc = parse(text, { schema: "failsafe", prettyErrors: false });
  } catch (err) {
    const line = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : "";
    throw new InvalidAuthFileError("auth file", `is not valid YAML${line}`);
  }

  if (typeof doc === "string") {
    const token = doc.trim();
    if (token === "" || /\s/.test(token)) throw new InvalidAuthFileError("token", "a plain token must be one word on one line");
    return { kind: "token", token };
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new InvalidAuthFileError("auth file", "must hold username and password, or token");
  }
  const fields = doc as Record<string, unknown>;
  const has = (k: string) => fields[k] !== undefined && fields[k] !== null && fields[k] !== "";
  if (has("token") && (has("username") || has("password"))) {
    throw new InvalidAuthFileError("auth file", "holds both a token and username/password; keep one");
  }
  if (has("token")) return { kind: "token", token: secretField(fields, "token") };
  if (has("username") || has("password")) {
    return { kind: "basic", username: secretField(fields, "username"), password: secretField(fields, "password") };
  }
  throw new InvalidAuthFileError("auth file", "must hold username and password, or token");
}

function secretField(fields: Record<string, unknown>, field: string): string {
  const value = fields[field];
  if (value === undefined || value === null || value === "") throw new InvalidAuthFileError(field, "missing");
  if (typeof value !== "string") throw new InvalidAuthFileError(field, "must be a string");
  if (CONTROL.test(value)) throw new InvalidAuthFileError(field, "must not contain control characters");
  return value;
}
