/**
 * The auth texts Argo Events clients read: the file mounted at {@link ARGO_AUTH_FILE_PATH} in event
 * source and sensor pods, and the client Secret the controller writes (DESIGN.md §3).
 */
import { checkCredentials, type Credentials } from "./credentials.js";

/** Where Argo Events mounts a bus's client auth in event source and sensor pods. */
export const ARGO_AUTH_FILE_PATH = "/etc/eventbus/auth/auth.yaml";

/** The key of the client auth text in the client Secret (`eventbus-<n>-js-client-auth`, `eventbus-<n>-client`). */
export const CLIENT_AUTH_SECRET_KEY = "client-auth";

/** How clients authenticate: user and password (JetStream), or a token (STAN, or JetStream with token auth). */
export const ClientAuthMode = {
  Basic: "basic",
  Token: "token",
} as const;

/** One of the {@link ClientAuthMode} values. */
export type ClientAuthMode = (typeof ClientAuthMode)[keyof typeof ClientAuthMode];

/**
 * The YAML Argo Events clients read from `/etc/eventbus/auth/auth.yaml`: `username: <u>\npassword: <p>\n`
 * for basic auth, `token: "<t>"\n` for token auth. Secret: write it with {@link writeSecretFile}.
 * @throws {@link InvalidCredentialsError} when a value holds characters that would need YAML quoting
 */
export function argoAuthFile(credentials: Credentials, mode: ClientAuthMode): string {
  return `${clientAuthText(credentials, mode)}\n`;
}

/**
 * The data of a bus's client Secret, byte for byte what Argo Events' controller writes:
 * `{ "client-auth": "username: <u>\npassword: <p>" }` (no final newline) for basic auth, or
 * `{ "client-auth": "token: \"<t>\"" }` for token auth. The Secret's name is the plan's
 * `objects.clientAuthSecret` (JetStream) or `clientSecret` (STAN).
 * @throws {@link InvalidCredentialsError} when a value holds characters that would need YAML quoting
 */
export function clientAuthSecretData(credentials: Credentials, mode: ClientAuthMode): { readonly [CLIENT_AUTH_SECRET_KEY]: string } {
  return { [CLIENT_AUTH_SECRET_KEY]: clientAuthText(credentials, mode) };
}

function clientAuthText(credentials: Credentials, mode: ClientAuthMode): string {
  // Plain YAML scalars are safe only for the checked alphabet.
  const { user, password, token } = checkCredentials(credentials);
  switch (mode) {
    case ClientAuthMode.Basic:
      return `username: ${user}\npassword: ${password}`;
    case ClientAuthMode.Token:
      return `token: "${token}"`;
    default:
      throw new TypeError(`unknown client auth mode ${JSON.stringify(mode satisfies never)}`);
  }
}
