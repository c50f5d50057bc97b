/**
 * The connection flags of the client commands (`publish`, `subscribe`, `stream`): which bus, with
 * which credentials and TLS files, and how long the first connection may take.
 */
import type { Command } from "commander";
import { Duration, parseNatsUrls, ValueParseError } from "../api/index.js";
import {
  connect,
  BusKind,
  EVENTBUS_CONFIG_ENV,
  InvalidAuthFileError,
  InvalidConfigError,
  parseEventBusConfig,
  type BusConfig,
  type BusTarget,
  type ClientTlsOptions,
  type EventBusClient,
} from "../client/index.js";
import { DEFAULT_BUS_NAME } from "../platforms/local/index.js";
import { CliError } from "./errors.js";
import { readInput, type Io } from "./io.js";

/** The connection flags as commander parses them. */
export interface ConnectionFlags {
  readonly server?: string;
  readonly creds?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly tlsInsecure?: boolean;
  readonly config?: string;
  readonly timeout: string;
}

/** The default of `--timeout`. */
const DEFAULT_CONNECT_TIMEOUT = "30s";

/** Where a client command connects, resolved from its flags. */
export interface ConnectionChoice {
  readonly target: BusTarget;
  readonly tls?: ClientTlsOptions;
  readonly timeoutMillis: number;
  /** What progress lines call the bus: `local bus default`, or its URLs. */
  readonly label: string;
  /** The local bus name, when the target is a local bus. */
  readonly localBus?: string;
  /** The `--creds` file, named in errors about it. */
  readonly credsFile?: string;
}

/** Adds `[BUS]` (described as the command reads it) and the connection flags to a client command. */
export function addConnectionFlags(
  command: Command,
  busDescription = `a local bus (default: $${EVENTBUS_CONFIG_ENV} when set, else the local bus ${DEFAULT_BUS_NAME})`,
): Command {
  return command
    .argument("[bus]", busDescription)
    .option("--server <urls>", "nats:// or tls:// URLs of any bus, comma-separated (instead of BUS)")
    .option("--config <json|@file>", `Argo's status.config JSON, or its base64 (as in ${EVENTBUS_CONFIG_ENV}), or @FILE holding it (instead of BUS)`)
    .option("--creds <file>", "auth file: Argo's auth.yaml (username/password or token), a plain token, or a NATS .creds file")
    .option("--ca <file>", "CA bundle (PEM) that signed the servers' certificates")
    .option("--cert <file>", "client certificate (PEM), with --key")
    .option("--key <file>", "key of --cert (PEM)")
    .option("--tls-insecure", "do not verify the servers' certificates (tests only)")
    .option("--timeout <duration>", "how long to keep trying the first connection, e.g. 30s or 500ms", DEFAULT_CONNECT_TIMEOUT);
}

/**
 * Resolves the flags to one target: `BUS`, `--server` or `--config`; with none of them,
 * `$EVENTBUS_CONFIG` when set, else the local bus `default`.
 * @throws {@link CliError} (exit 2) for flags that cannot go together or values that cannot work
 */
export async function connectionChoice(
  bus: string | undefined,
  flags: ConnectionFlags,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConnectionChoice> {
  const timeoutMillis = parseTimeout(flags.timeout);
  const given = [bus !== undefined && `BUS (${bus})`, flags.server !== undefined && "--server", flags.config !== undefined && "--config"].filter(
    (g): g is string => g !== false,
  );
  if (given.length > 1) throw new CliError(`give only one of BUS (a local bus name), --server and --config; got ${given.join(" and ")}`);
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw new CliError(flags.cert === undefined ? "--key: needs --cert" : "--cert: needs --key");
  const tls = tlsOptions(flags);
  const envConfig = env[EVENTBUS_CONFIG_ENV];
  const creds = flags.creds !== undefined ? { authFile: flags.creds } : {};

  if (flags.server !== undefined) {
    const urls = natsUrlsFlag("--server", flags.server);
    return { target: { servers: urls, ...creds }, ...(tls && { tls }), timeoutMillis, label: urls.join(","), credsFile: flags.creds };
  }
  const configText = flags.config !== undefined ? await configFlag(flags.config, io) : bus === undefined && envConfig ? envConfig : undefined;
  if (configText !== undefined) {
    const config = parseConfig(configText, flags.config !== undefined);
    return { target: { config, ...creds }, ...(tls && { tls }), timeoutMillis, label: config.url, credsFile: flags.creds };
  }

  // A local bus: its own credentials and CA come from its state dir.
  const local = bus ?? DEFAULT_BUS_NAME;
  const foreign = (["creds", "ca", "cert", "key", "tlsInsecure"] as const).find((f) => flags[f] !== undefined);
  if (foreign !== undefined) {
    const flag = `--${foreign === "tlsInsecure" ? "tls-insecure" : foreign}`;
    throw new CliError(`${flag}: a local bus (${local}) is reached with its own credentials and CA; use ${flag} with --server or --config`);
  }
  // The local platform gives the bus's status, the same contract as a Kubernetes bus's: loaded
  // only here, so that commands given --server or --config do not load the local platform.
  const { localBusStatus } = await import("../platforms/local/bus-status.js");
  return { target: { status: await localBusStatus(local) }, timeoutMillis, label: `local bus ${local}`, localBus: local };
}

/** The NATS Streaming (STAN) flags of `publish` and `subscribe`. */
export interface StanFlags {
  /** `--cluster-id`: with `--server`, selects NATS Streaming. */
  readonly clusterId?: string;
  /** `--channel`: the STAN channel, Argo Events' `eventbus-<namespace>`. */
  readonly channel?: string;
}

/** The channel of a local NATS Streaming bus: Argo's `eventbus-<namespace>` for the namespace `default`, as a local bus has none. */
export const DEFAULT_LOCAL_STAN_CHANNEL = "eventbus-default";

/** Adds `--cluster-id` and `--channel` (NATS Streaming buses) to `publish` or `subscribe`. */
export function addStanFlags(command: Command): Command {
  return command
    .option(
      "--cluster-id <id>",
      "with --server: the bus is NATS Streaming (STAN) with this cluster ID (eventbus-<bus name> for an Argo Events bus); a local STAN bus or --config names its own",
    )
    .option(
      "--channel <name>",
      `NATS Streaming only: the channel, Argo Events' eventbus-<namespace> (default: $EVENTBUS_SUBJECT when set, as in Argo's pods; else for a local bus, which has no namespace, ${DEFAULT_LOCAL_STAN_CHANNEL}; required otherwise)`,
    );
}

/**
 * Whether the command talks NATS Streaming: `--cluster-id` was given, or the local bus's status or
 * the `--config` is a NATS Streaming config (Argo's `status.config.nats`).
 * @throws {@link CliError} (exit 2) for `--channel` with a JetStream bus
 */
export function stanSelected(choice: ConnectionChoice, flags: StanFlags): boolean {
  const { target } = choice;
  const stan =
    flags.clusterId !== undefined ||
    ("status" in target && target.status.config?.nats !== undefined) ||
    ("config" in target && typeof target.config !== "string" && target.config.kind === BusKind.stan);
  if (!stan && flags.channel !== undefined) {
    throw new CliError(
      `--channel: names a NATS Streaming channel, and ${choice.label} is a JetStream bus (its subjects are default.<source>.<event>); for a NATS Streaming bus give --cluster-id with --server`,
    );
  }
  return stan;
}

/**
 * A NATS Streaming bus given by `--server --cluster-id` or a `--config` with Argo's `nats` block,
 * read from the servers' monitoring endpoints (`status`, `console`): its label and cluster ID, or
 * undefined for any other bus.
 * @throws {@link CliError} (exit 2) without `--monitor`, which is how its channels are read
 */
export function stanStatusTarget(
  choice: ConnectionChoice,
  clusterIdFlag: string | undefined,
  monitors: readonly string[],
): { clusterId: string | undefined } | undefined {
  if (choice.localBus !== undefined || !stanSelected(choice, { clusterId: clusterIdFlag })) return undefined;
  if (monitors.length === 0) {
    throw new CliError(
      "a NATS Streaming bus is read from its servers' monitoring endpoints (it has no request that lists channels): give --monitor http://host:8222,… with --cluster-id",
    );
  }
  const { target } = choice;
  const fromConfig = "config" in target && typeof target.config !== "string" && target.config.kind === BusKind.stan ? target.config.clusterId : undefined;
  return { clusterId: clusterIdFlag ?? fromConfig };
}

/**
 * Connects, printing a line on stderr for each failed attempt that will be retried. An auth file
 * that cannot be read as credentials is reported against `--creds`.
 */
export async function openClient(choice: ConnectionChoice, io: Io): Promise<EventBusClient> {
  try {
    return await connect({
      ...choice.target,
      ...(choice.tls && { tls: choice.tls }),
      timeoutMillis: choice.timeoutMillis,
      onProgress: (p) =>
        io.stderr(`waiting for ${choice.label}: ${p.reason} (attempt ${p.attempt}, retrying in ${Duration.fromMillis(p.retryInMillis).format()})\n`),
    });
  } catch (error) {
    if (error instanceof InvalidAuthFileError && choice.credsFile !== undefined)
      throw new CliError(`--creds ${choice.credsFile}: ${error.message}`, undefined, { cause: error });
    throw error;
  }
}

/** The URLs of a flag's comma-separated `nats://` (or `tls://`) list; one that does not parse is a {@link CliError} naming `flag`. */
export function natsUrlsFlag(flag: string, text: string): string[] {
  try {
    return parseNatsUrls(text).map((u) => u.url);
  } catch (error) {
    if (!(error instanceof ValueParseError)) throw error;
    throw new CliError(`${flag}: ${error.message}`);
  }
}

/** Parses a `--timeout`-like duration flag: Go duration text, more than zero. */
export function positiveDuration(flag: string, text: string): Duration {
  let duration: Duration;
  try {
    duration = Duration.parse(text);
  } catch (error) {
    if (!(error instanceof ValueParseError)) throw error;
    throw new CliError(`${flag}: ${error.message}`);
  }
  if (duration.isZero()) throw new CliError(`${flag}: must be longer than 0, got ${JSON.stringify(text)}`);
  return duration;
}

function parseTimeout(text: string): number {
  return positiveDuration("--timeout", text).millis;
}

function tlsOptions(flags: ConnectionFlags): ClientTlsOptions | undefined {
  const tls: ClientTlsOptions = {
    ...(flags.ca !== undefined && { caFile: flags.ca }),
    ...(flags.cert !== undefined && { certFile: flags.cert }),
    ...(flags.key !== undefined && { keyFile: flags.key }),
    ...(flags.tlsInsecure === true && { insecure: true }),
  };
  return Object.keys(tls).length > 0 ? tls : undefined;
}

/** Parses the config; issues about the text as a whole name `--config` when the flag gave it. */
function parseConfig(text: string, fromFlag: boolean): BusConfig {
  try {
    return parseEventBusConfig(text);
  } catch (error) {
    if (!(error instanceof InvalidConfigError) || !fromFlag) throw error;
    throw new InvalidConfigError(error.issues.map((i) => (i.path === EVENTBUS_CONFIG_ENV ? { ...i, path: "--config" } : i)));
  }
}

/** `--config`: the JSON (or base64) text itself, or `@FILE` (`@-` for standard input). */
async function configFlag(value: string, io: Io): Promise<string> {
  if (!value.startsWith("@")) return value;
  const file = value.slice(1);
  if (file === "") throw new CliError("--config: name a file after @, or - for standard input");
  return readInput(file, io);
}
