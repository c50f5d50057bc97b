/**
 * The secrets file a server's config includes: each secret value defined once as a variable
 * (`EVENTBUS_TOKEN: "…"`), which the config refers to as `$EVENTBUS_TOKEN`, so that the config
 * itself holds no secret and can be a ConfigMap.
 */
import type { SecretValue } from "../plan/index.js";
import { InvalidValueError } from "./errors.js";
import { quoteString, variable } from "./values.js";
import { ConfWriter } from "./writer.js";

/** The variables the secrets file defines, by what they hold. */
export const SECRET_VARIABLES = {
  jetStreamPassword: "EVENTBUS_JS_PASSWORD",
  systemPassword: "EVENTBUS_SYS_PASSWORD",
  token: "EVENTBUS_TOKEN",
  routePassword: "EVENTBUS_ROUTE_PASSWORD",
  routes: "EVENTBUS_ROUTES",
  encryptionKey: "EVENTBUS_JETSTREAM_KEY",
} as const;

/** The secrets file's name, next to the config file unless {@link RenderOptions.secretsInclude} says otherwise. */
export const SECRETS_FILE_NAME = "nats-secrets.conf";

/** Options of {@link renderJetStreamConfig} and {@link renderStanConfig}. */
export interface RenderOptions {
  /**
   * The secrets file as the `include` names it: a path relative to the config file's directory
   * (nats-server joins even an absolute include path to that directory).
   * @default SECRETS_FILE_NAME
   */
  readonly secretsInclude?: string;
}

/** The include path of the secrets file. @throws {@link InvalidValueError} for an absolute or empty path */
export function secretsIncludePath(options: RenderOptions): string {
  const path = options.secretsInclude ?? SECRETS_FILE_NAME;
  if (path.startsWith("/") || path.trim() === "") {
    // nats-server joins every include path to the including file's directory, absolute or not.
    throw new InvalidValueError("include", "the secrets include must be a path relative to the config file's directory");
  }
  return path;
}

const RESERVED_VARIABLES: ReadonlySet<string> = new Set(Object.values(SECRET_VARIABLES));

/** Collects the secrets file's variables in the order the config refers to them. */
export class SecretsFile {
  private readonly definitions: string[] = [];

  /** Whether the file defines nothing (every secret, if any, is an environment variable). */
  get empty(): boolean {
    return this.definitions.length === 0;
  }

  /** `$NAME` for a secret: a variable this file defines, or the environment variable it names. */
  reference(secret: SecretValue, name: string, path: string): string {
    if ("env" in secret) {
      if (RESERVED_VARIABLES.has(secret.env)) {
        throw new InvalidValueError(path, `the environment variable ${secret.env} has the name of a variable of the secrets file, which would hide it`);
      }
      return variable(secret.env, path);
    }
    return this.define(name, quoteString(secret.value, path));
  }

  /** Defines `name` with a rendered value and returns the reference to it. */
  define(name: string, rendered: string): string {
    this.definitions.push(`${name}: ${rendered}`);
    return variable(name, name);
  }

  /**
   * The file: the header's lines as comments, `emptyNote` as one more when nothing is defined, then
   * the definitions.
   */
  render(header: readonly string[], emptyNote?: string): string {
    const conf = new ConfWriter();
    for (const line of header) conf.comment(line);
    if (this.empty && emptyNote !== undefined) conf.comment(emptyNote);
    return `${conf.toString()}${this.definitions.map((d) => `${d}\n`).join("")}`;
  }
}
