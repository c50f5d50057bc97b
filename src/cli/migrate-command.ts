/**
 * `eventbus migrate`: copies the events of a NATS Streaming channel into the JetStream stream
 * `default` of a JetStream bus, on Argo's JetStream subjects, so that an installation can move off
 * NATS Streaming. Progress goes to stderr, the summary to stdout.
 */
import { readFile } from "node:fs/promises";
import { connect as natsConnect, credsAuthenticator, type ConnectionOptions } from "@nats-io/transport-node";
import type { Command } from "commander";
import { Duration } from "../api/index.js";
import { InvalidAuthFileError, parseAuthFile, type EventBusClient } from "../client/index.js";
import { argoStanChannel, isValidChannel } from "../client/stan/index.js";
import { migrateStanToJetStream, type MigrateFrom, type MigrateProgress, type MigrateSummary } from "../migrate/index.js";
import { connectionChoice, natsUrlsFlag, openClient, positiveDuration, type ConnectionFlags } from "./connection-flags.js";
import { wholeNumber } from "./client-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { outputOption, processIo, type Io } from "./io.js";

/** The channel copied unless `--channel` says otherwise: Argo's channel for the namespace `default`. */
export const DEFAULT_MIGRATE_CHANNEL = argoStanChannel("default");
const DEFAULT_CONNECT_TIMEOUT = "30s";
const MigrateOutput = { text: "text", json: "json" } as const;
type MigrateOutput = (typeof MigrateOutput)[keyof typeof MigrateOutput];
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

interface MigrateFlags {
  readonly from?: string;
  readonly fromServer?: string;
  readonly fromClusterId?: string;
  readonly fromCreds?: string;
  readonly to?: string;
  readonly toServer?: string;
  readonly toCreds?: string;
  readonly toCa?: string;
  readonly channel: string;
  readonly fromSeq?: string;
  readonly since?: string;
  readonly window?: string;
  readonly timeout: string;
  readonly output: MigrateOutput;
}

/** Adds the command. */
export function addMigrateCommand(program: Command, io: Io, result: { code: ExitCode }): void {
  program
    .command("migrate")
    .description(
      "copy the events of a NATS Streaming channel into the JetStream stream default of a JetStream bus, each on default.<source>.<event> " +
        "with its body unchanged and Nats-Msg-Id = its event id (a second run inside the stream's duplicates window copies nothing again)",
    )
    .option("--from <bus>", "the local NATS Streaming bus to read")
    .option("--from-server <urls>", "nats:// URLs of a NATS Streaming bus (instead of --from), with --from-cluster-id")
    .option("--from-cluster-id <id>", "its cluster ID (Argo's status.config.nats.clusterID)")
    .option("--from-creds <file>", "its auth file: Argo's auth.yaml (username/password or token), a plain token, or a .creds file")
    .option("--to <bus>", "the local JetStream bus to copy into")
    .option("--to-server <urls>", "nats:// or tls:// URLs of a JetStream bus (instead of --to)")
    .option("--to-creds <file>", "its auth file, as --from-creds")
    .option("--to-ca <file>", "CA bundle (PEM) that signed its servers' certificates")
    .option(
      "--channel <name>",
      "the channel: Argo's channel of a namespace is eventbus-<namespace>; a local bus has no namespace, so the default is that of the namespace default",
      DEFAULT_MIGRATE_CHANNEL,
    )
    .option("--from-seq <n>", "start at this channel sequence (default: the channel's first message)")
    .option("--since <time>", "start at the first message received at or after an RFC 3339 time, or a duration ago such as 2h")
    .option("--window <n>", "publishes awaiting the stream's ack, at most; 1 keeps the stream's order even when a publish is retried")
    .option("--timeout <duration>", "how long to keep trying each bus's first connection", DEFAULT_CONNECT_TIMEOUT)
    .addOption(outputOption([MigrateOutput.text, MigrateOutput.json]))
    .addHelpText(
      "after",
      [
        "",
        "The copy ends at the channel's last message when the run starts, read from the server (a subscription",
        "from its last received message). Nothing is left on the NATS Streaming server: the subscriptions are",
        "not durable and are removed at the end. A second run stores nothing twice only within the stream's",
        "duplicates window (Argo's default: 300s); to go on later, start after the last sequence read (--from-seq).",
        "Exit 0 when every message was copied or was already there; 1 when a message was refused (not a",
        "CloudEvent) or not stored, or the run stopped early; 2 for bad flags; 130 when interrupted.",
        "",
      ].join("\n"),
    )
    .action(async (opts: MigrateFlags) => {
      result.code = await migrateCommand(opts, io);
    });
}

/** Every flag checked before anything is connected: a bad flag copies nothing. */
interface Plan {
  readonly from: { readonly localBus: string } | { readonly urls: string[]; readonly clusterId: string; readonly credsFile?: string };
  readonly to: { readonly localBus: string } | { readonly urls: string; readonly credsFile?: string; readonly caFile?: string };
  readonly start?: MigrateFrom;
  readonly window?: number;
  readonly timeoutMillis: number;
}

function planOf(opts: MigrateFlags, now: number = Date.now()): Plan {
  if (opts.from !== undefined && opts.fromServer !== undefined) throw new CliError("--from and --from-server: give one of them");
  if (opts.from === undefined && opts.fromServer === undefined)
    throw new CliError("--from: name the NATS Streaming bus to read (a local bus), or give --from-server");
  if (opts.from !== undefined && (opts.fromClusterId !== undefined || opts.fromCreds !== undefined)) {
    const flag = opts.fromClusterId !== undefined ? "--from-cluster-id" : "--from-creds";
    throw new CliError(`${flag}: a local bus (${opts.from}) is reached with its own cluster ID and credentials; use ${flag} with --from-server`);
  }
  if (opts.fromServer !== undefined && opts.fromClusterId === undefined) throw new CliError("--from-cluster-id: needed with --from-server");
  if (opts.to !== undefined && opts.toServer !== undefined) throw new CliError("--to and --to-server: give one of them");
  if (opts.to === undefined && opts.toServer === undefined) throw new CliError("--to: name the JetStream bus to copy into (a local bus), or give --to-server");
  if (opts.to !== undefined && (opts.toCreds !== undefined || opts.toCa !== undefined)) {
    const flag = opts.toCreds !== undefined ? "--to-creds" : "--to-ca";
    throw new CliError(`${flag}: a local bus (${opts.to}) is reached with its own credentials and CA; use ${flag} with --to-server`);
  }
  if (!isValidChannel(opts.channel)) throw new CliError(`--channel: not a NATS Streaming channel name, got ${JSON.stringify(opts.channel)}`);
  if (opts.fromSeq !== undefined && opts.since !== undefined) throw new CliError("--from-seq and --since: give one of them");
  const start: MigrateFrom | undefined =
    opts.fromSeq !== undefined
      ? { sequence: wholeNumber("--from-seq", opts.fromSeq) }
      : opts.since !== undefined
        ? { time: sinceTime(opts.since, now) }
        : undefined;
  const window = opts.window === undefined ? undefined : wholeNumber("--window", opts.window);
  const timeoutMillis = positiveDuration("--timeout", opts.timeout).millis;
  let from: Plan["from"];
  if (opts.from !== undefined) from = { localBus: opts.from };
  else {
    const clusterId = opts.fromClusterId!;
    if (clusterId === "" || /[\s*>]/.test(clusterId)) throw new CliError(`--from-cluster-id: not a cluster ID, got ${JSON.stringify(clusterId)}`);
    from = { urls: natsUrlsFlag("--from-server", opts.fromServer!), clusterId, ...(opts.fromCreds !== undefined && { credsFile: opts.fromCreds }) };
  }
  let to: Plan["to"];
  if (opts.to !== undefined) to = { localBus: opts.to };
  else {
    natsUrlsFlag("--to-server", opts.toServer!);
    to = { urls: opts.toServer!, ...(opts.toCreds !== undefined && { credsFile: opts.toCreds }), ...(opts.toCa !== undefined && { caFile: opts.toCa }) };
  }
  return { from, to, ...(start !== undefined && { start }), ...(window !== undefined && { window }), timeoutMillis };
}

async function migrateCommand(opts: MigrateFlags, io: Io): Promise<ExitCode> {
  const plan = planOf(opts);
  const stanSide = await stanTarget(plan);
  await using client = await jetstreamClient(plan, opts, io);
  const nc = await natsConnect({ ...stanSide.options, timeout: plan.timeoutMillis }).catch((cause: unknown) => {
    throw new CliError(`${stanSide.label}: cannot connect: ${cause instanceof Error ? cause.message : String(cause)}`, ExitCode.failed, { cause });
  });
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  if (io === processIo) {
    process.once("SIGINT", interrupt);
    process.once("SIGTERM", interrupt);
  }
  let summary: MigrateSummary;
  try {
    io.stderr(`copying channel ${opts.channel} of ${stanSide.label} into stream default of ${client.target.description}\n`);
    summary = await migrateStanToJetStream({
      stan: { nc, clusterId: stanSide.clusterId, channel: opts.channel },
      jetstream: client,
      ...(plan.start !== undefined && { from: plan.start }),
      ...(plan.window !== undefined && { window: plan.window }),
      onProgress: (p) => io.stderr(`${progressLine(p)}\n`),
      signal: stop.signal,
    });
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    await nc.close().catch(() => undefined);
  }

  if (opts.output === MigrateOutput.json) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  else io.stdout(summaryText(summary));
  const problems = [
    summary.refused > 0 &&
      `${summary.refused} refused (sequence ${summary.refusals.map((r) => r.sequence).join(", ")}${summary.refused > summary.refusals.length ? ", …" : ""})`,
    summary.failed > 0 &&
      `${summary.failed} not stored (sequence ${summary.failures.map((r) => r.sequence).join(", ")}${summary.failed > summary.failures.length ? ", …" : ""})`,
    summary.stoppedEarly !== undefined && `stopped early: ${summary.stoppedEarly}`,
  ].filter((p): p is string => p !== false);
  if (problems.length === 0) return ExitCode.ok;
  io.stderr(`eventbus: migrate: ${problems.join("; ")}\n`);
  return stop.signal.aborted ? ExitCode.interrupted : ExitCode.failed;
}

/** The STAN side's NATS connection options, cluster ID and label. */
async function stanTarget(plan: Plan): Promise<{ options: ConnectionOptions; clusterId: string; label: string }> {
  if ("localBus" in plan.from) {
    const name = plan.from.localBus;
    const { busCredentials } = await import("../platforms/local/index.js");
    const creds = await busCredentials(name, { showSecrets: true });
    if (creds.clusterId === undefined) throw new CliError(`--from: the local bus ${name} is a JetStream bus, not NATS Streaming`);
    return {
      options: {
        servers: [...creds.urls],
        ...(creds.auth === "basic" && { user: creds.user!, pass: creds.password! }),
        ...(creds.auth === "token" && { token: creds.token! }),
        ...(creds.caFile !== undefined && { tls: { caFile: creds.caFile } }),
      },
      clusterId: creds.clusterId,
      label: `local bus ${name}`,
    };
  }
  const { urls, clusterId, credsFile } = plan.from;
  let auth: ConnectionOptions = {};
  if (credsFile !== undefined) {
    const text = await readFile(credsFile, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`--from-creds ${credsFile}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
    });
    try {
      const parsed = parseAuthFile(text);
      auth =
        parsed.kind === "basic"
          ? { user: parsed.username, pass: parsed.password }
          : parsed.kind === "token"
            ? { token: parsed.token }
            : { authenticator: credsAuthenticator(new TextEncoder().encode(parsed.creds)) };
    } catch (error) {
      if (error instanceof InvalidAuthFileError) throw new CliError(`--from-creds ${credsFile}: ${error.message}`, ExitCode.invalid, { cause: error });
      throw error;
    }
  }
  return { options: { servers: urls, ...auth }, clusterId, label: urls.join(",") };
}

/** The JetStream side, through the client commands' connection code; its flag names carry the `--to-` prefix. */
async function jetstreamClient(plan: Plan, opts: MigrateFlags, io: Io): Promise<EventBusClient> {
  if ("localBus" in plan.to) {
    const { busCredentials } = await import("../platforms/local/index.js");
    const creds = await busCredentials(plan.to.localBus);
    if (creds.clusterId !== undefined) throw new CliError(`--to: the local bus ${plan.to.localBus} is a NATS Streaming bus, not JetStream`);
  }
  const flags: ConnectionFlags =
    "localBus" in plan.to
      ? { timeout: opts.timeout }
      : {
          server: plan.to.urls,
          timeout: opts.timeout,
          ...(plan.to.credsFile !== undefined && { creds: plan.to.credsFile }),
          ...(plan.to.caFile && { ca: plan.to.caFile }),
        };
  try {
    const choice = await connectionChoice("localBus" in plan.to ? plan.to.localBus : undefined, flags, io, {});
    return await openClient(choice, io);
  } catch (error) {
    if (error instanceof CliError) throw new CliError(error.message.replace(/--(server|creds|ca)\b/g, "--to-$1"), error.exitCode, { cause: error });
    throw error;
  }
}

/** `--since`: an RFC 3339 time, or a duration ago. */
function sinceTime(text: string, now: number): Date {
  if (RFC3339.test(text) && Number.isFinite(Date.parse(text))) return new Date(text);
  try {
    return new Date(now - Duration.parse(text).millis);
  } catch {
    throw new CliError(`--since: must be an RFC 3339 time or a duration ago such as 2h, got ${JSON.stringify(text)}`);
  }
}

function progressLine(p: MigrateProgress): string {
  return `migrate: sequence ${p.sequence}/${p.lastSequence}: ${p.copied} copied, ${p.skipped} already there, ${p.refused} refused, ${p.failed} failed`;
}

function summaryText(s: MigrateSummary): string {
  const range = s.firstSequence === undefined ? "no message" : `sequences ${s.firstSequence}..${s.lastRead}`;
  const lines = [
    `channel ${s.channel} (last sequence ${s.lastSequence} at the start) into stream ${s.stream}: read ${s.read} (${range}) in ${(s.elapsedMillis / 1000).toFixed(2)} s, ${s.eventsPerSecond} events/s`,
    `  copied:  ${s.copied}`,
    `  skipped: ${s.skipped} (already in the stream)`,
    `  refused: ${s.refused}`,
    ...s.refusals.map((r) => `    sequence ${r.sequence}: ${r.reason}`),
    `  failed:  ${s.failed}`,
    ...s.failures.map((r) => `    sequence ${r.sequence}: ${r.reason}`),
    ...(s.outOfOrder > 0 ? [`  out of order: ${s.outOfOrder} events stored after later ones (a retried publish); use --window 1 for a strict order`] : []),
    ...(s.stoppedEarly !== undefined ? [`  stopped early: ${s.stoppedEarly}`] : []),
    ...(s.lastRead !== undefined
      ? [`a run again within the stream's duplicates window (${s.duplicatesWindow}) stores nothing twice; after it, go on with --from-seq ${s.lastRead + 1}`]
      : []),
  ];
  return `${lines.join("\n")}\n`;
}
