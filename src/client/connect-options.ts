/**
 * Where a client connects: a local bus by name, an Argo Events `status.config` (`EVENTBUS_CONFIG`)
 * with Argo's auth file, or explicit server URLs. Each is resolved to the same {@link ResolvedTarget}.
 */
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";

import { parseNatsUrls, ValueParseError, type BusStatus } from "../api/index.js";
import { parseAuthFile, type AuthCredentials } from "./auth-file.js";
import { BusKind, parseEventBusConfig, type BusConfig } from "./config.js";
import { BusError, ClientErrorCode } from "./errors.js";

/** Where Argo Events mounts a bus's client credentials in event source and sensor pods. */
export const ARGO_AUTH_FILE = "/etc/eventbus/auth/auth.yaml";

const STAN_UNSUPPORTED = "nats: NATS Streaming (STAN) buses are not supported by this client; it speaks JetStream (spec.jetstream or spec.jetstreamExotic)";

/** TLS settings of a connection. The server's certificate is always verified unless `insecure` is set. */
export interface ClientTlsOptions {
  /** The CA bundle (PEM) that signed the servers' certificates. @default the system's CAs */
  readonly caFile?: string;
  /** A client certificate (PEM), for buses that verify clients. */
  readonly certFile?: string;
  /** The key of {@link certFile} (PEM). */
  readonly keyFile?: string;
  /** Skips verification of the server's certificate. For tests only: anyone can then read the traffic. @default false */
  readonly insecure?: boolean;
}

/**
 * A bus by its status, as a platform gives it (api/status.ts): `config.jetstream` for the URLs,
 * and, from the local platform, `access` for the auth file, the CA and the monitoring endpoints.
 */
export interface StatusTarget {
  readonly status: BusStatus;
}

/** A bus described by Argo Events' `status.config` (the `EVENTBUS_CONFIG` environment variable). */
export interface ArgoConfigTarget {
  /** The JSON text (or its base64, as Argo sets the variable), or the parsed config. */
  readonly config: string | BusConfig;
  /** Credentials; else read from {@link authFile}. */
  readonly auth?: AuthCredentials;
  /** Argo's auth file. @default "/etc/eventbus/auth/auth.yaml" when the config names an access secret */
  readonly authFile?: string;
}

/** Any bus, by URLs. */
export interface ServersTarget {
  /** `nats://host:port` URLs, as a list or comma-separated. */
  readonly servers: string | readonly string[];
  readonly auth?: AuthCredentials;
  /** An auth file (`username`/`password`, `token`, a plain token, or a NATS `.creds` file). */
  readonly authFile?: string;
}

/** Which bus to connect to. */
export type BusTarget = StatusTarget | ArgoConfigTarget | ServersTarget;

/** A target resolved to URLs, credentials and TLS. */
export interface ResolvedTarget {
  readonly servers: readonly string[];
  readonly auth?: AuthCredentials;
  readonly tls?: ClientTlsOptions;
  /** Whether TLS is required (a bus whose status names a CA, or `tls://` URLs). */
  readonly tlsRequired: boolean;
  /** What to call the bus in messages: `local bus default`, or its URLs (never credentials). */
  readonly description: string;
  /** The servers' monitoring endpoints, when the status names them (a local bus): a publisher reads why a stream has no leader there. */
  readonly monitors?: readonly string[];
  /** The bus's `streamConfig`, when its status or Argo config names one: the stream `default` is created from it when missing, as Argo's clients do. */
  readonly streamConfig?: string;
}

/**
 * Resolves a target to URLs, credentials and TLS files.
 * @throws {@link BusError} `CLIENT_INVALID_OPTIONS` for options that cannot work together or files that cannot be read
 * @throws {@link InvalidConfigError} / {@link InvalidAuthFileError} for a config or auth file that is not valid
 */
export async function resolveTarget(target: BusTarget, tls: ClientTlsOptions = {}): Promise<ResolvedTarget> {
  const kinds = (["status", "config", "servers"] as const).filter((k) => (target as unknown as Record<string, unknown>)[k] !== undefined);
  if (kinds.length !== 1) {
    throw new BusError(
      ClientErrorCode.invalidOptions,
      kinds.length === 0 ? "connect: name a bus: its status, an Argo status.config, or server URLs" : `connect: give only one of ${kinds.join(", ")}`,
    );
  }
  const resolved =
    "status" in target && target.status !== undefined
      ? await resolveStatus(target, tls)
      : "config" in target && target.config !== undefined
        ? await resolveConfig(target, tls)
        : await resolveServers(target as ServersTarget, tls);
  await checkTlsFiles(resolved.tls);
  return resolved;
}

/** TLS files that cannot be read fail at once, as bad input, not as a server that does not answer. */
async function checkTlsFiles(tls: ClientTlsOptions | undefined): Promise<void> {
  const files = [
    ["CA file", tls?.caFile],
    ["client certificate", tls?.certFile],
    ["client key", tls?.keyFile],
  ] as const;
  for (const [what, path] of files) {
    if (path === undefined) continue;
    try {
      await access(path, constants.R_OK);
    } catch (err) {
      throw new BusError(ClientErrorCode.invalidOptions, `TLS ${what} ${path} ${unreadable(err)}`);
    }
  }
}

function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" ? "does not exist" : code === "EACCES" ? "cannot be read (permission denied)" : `cannot be read (${code ?? "error"})`;
}

async function resolveStatus(target: StatusTarget, tls: ClientTlsOptions): Promise<ResolvedTarget> {
  const { config, access } = target.status;
  if (config?.jetstream === undefined) {
    throw new BusError(
      ClientErrorCode.invalidOptions,
      config?.nats !== undefined ? STAN_UNSUPPORTED : `${access?.description ?? "the bus"}: its status has no config.jetstream yet (not configured)`,
    );
  }
  const parsed = parseEventBusConfig(JSON.stringify(config));
  const auth = parsed.accessSecret === undefined ? undefined : await readAuthFile(access?.authFile ?? ARGO_AUTH_FILE);
  const caFile = tls.caFile ?? access?.caFile;
  const resolved = withTls(parsed.urls, auth, { ...tls, ...(caFile !== undefined && { caFile }) }, access?.description ?? parsed.url);
  return {
    ...resolved,
    ...(access?.monitors !== undefined && { monitors: access.monitors.map((m) => m.url) }),
    ...(parsed.kind === BusKind.jetstream && { streamConfig: parsed.streamConfig }),
  };
}

async function resolveConfig(target: ArgoConfigTarget, tls: ClientTlsOptions): Promise<ResolvedTarget> {
  const config = typeof target.config === "string" ? parseEventBusConfig(target.config) : target.config;
  if (config.kind !== BusKind.jetstream) {
    throw new BusError(ClientErrorCode.invalidOptions, STAN_UNSUPPORTED);
  }
  let auth = target.auth;
  if (auth === undefined) {
    const file = target.authFile ?? (config.accessSecret ? ARGO_AUTH_FILE : undefined);
    if (file !== undefined) {
      auth = await readAuthFile(
        file,
        config.accessSecret && target.authFile === undefined
          ? `jetstream.accessSecret: the bus needs credentials (Secret ${config.accessSecret.name}, key ${config.accessSecret.key}); pass an auth file`
          : undefined,
      );
    }
  }
  return { ...withTls(config.urls, auth, tls, config.url), streamConfig: config.streamConfig };
}

async function resolveServers(target: ServersTarget, tls: ClientTlsOptions): Promise<ResolvedTarget> {
  const text = typeof target.servers === "string" ? target.servers : target.servers.join(",");
  let urls: string[];
  try {
    urls = parseNatsUrls(text).map((u) => u.url);
  } catch (err) {
    if (!(err instanceof ValueParseError)) throw err;
    throw new BusError(ClientErrorCode.invalidOptions, `servers: ${err.message}`);
  }
  if (target.auth !== undefined && target.authFile !== undefined)
    throw new BusError(ClientErrorCode.invalidOptions, "connect: give auth or authFile, not both");
  const auth = target.auth ?? (target.authFile !== undefined ? await readAuthFile(target.authFile) : undefined);
  return withTls(urls, auth, tls, urls.join(","));
}

function withTls(servers: readonly string[], auth: AuthCredentials | undefined, tls: ClientTlsOptions, description: string): ResolvedTarget {
  const tlsRequired = servers.some((u) => u.startsWith("tls://")) || tls.caFile !== undefined || tls.certFile !== undefined;
  const hasTls = Object.values(tls).some((v) => v !== undefined && v !== false);
  return { servers, ...(auth && { auth }), ...(hasTls && { tls }), tlsRequired, description };
}

/** Reads an auth file. Errors name the file and field, never a value. */
async function readAuthFile(path: string, missingHint?: string): Promise<AuthCredentials> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const why = unreadable(err);
    throw new BusError(
      ClientErrorCode.invalidOptions,
      missingHint && (err as NodeJS.ErrnoException).code === "ENOENT" ? `${missingHint}; ${path} ${why}` : `auth file ${path} ${why}`,
    );
  }
  return parseAuthFile(text);
}
