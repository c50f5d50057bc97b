/**
 * `eventbus backup` and `eventbus restore`: a bus's streams into one verified archive (a file, or
 * standard output for any object store's CLI), and back into any bus.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, open, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Writable } from "node:stream";
import { type Command, Option } from "commander";
import {
  backupStreams,
  BackupError,
  BackupErrorCode,
  RESTORE_KEEP_BYTES,
  restoreStreams,
  verifyArchive,
  type ArchiveContents,
  type BackupProgress,
  type BackupResult,
  type RestoredStream,
  type RestoreProgress,
} from "../backup/index.js";
import type { EventBusClient } from "../client/index.js";
import { busCredentials } from "../platforms/local/index.js";
import { addConnectionFlags, connectionChoice, openClient, type ConnectionChoice, type ConnectionFlags } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, humanBytes, plural, processIo, table, type Io } from "./io.js";
import { packageVersion } from "./version.js";
import { addBackupsCommand, DEFAULT_KEEP, intoDirCommand, latestArchive, wholeNumber } from "./backups-command.js";

/** How often progress is printed on a terminal. */
const PROGRESS_INTERVAL_MILLIS = 1_000;

type SummaryFormat = "text" | "json";

interface BackupFlags extends ConnectionFlags {
  readonly output?: string;
  readonly intoDir?: string;
  readonly keep?: number;
  readonly name?: string;
  readonly stream: readonly string[];
  readonly allStreams: boolean;
  readonly outputFormat: SummaryFormat;
}

interface RestoreFlags extends ConnectionFlags {
  readonly filename?: string;
  readonly latest: boolean;
  readonly dir?: string;
  readonly replace: boolean;
  readonly dryRun: boolean;
  readonly outputFormat: SummaryFormat;
}

const summaryOption = () => new Option("--output-format <format>", "format of the summary").choices(["text", "json"]).default("text");

/** Adds `backup` and `restore`. */
export function addBackupCommands(program: Command, io: Io): void {
  addConnectionFlags(
    program
      .command("backup")
      .description("write the bus's stream (default), or every stream, with its consumers into one archive; - for standard output")
      .option("-o, --output <file|->", "the archive file, or - for standard output (pipe it to an object store)")
      .option("--into-dir <dir>", "write <name>-<UTC time>.evbak into DIR (instead of -o), verify it, and keep the newest --keep")
      .option("--keep <n>", "with --into-dir: how many archives of this name to keep", wholeNumber("--keep"), DEFAULT_KEEP)
      .option("--name <name>", "with --into-dir: the name in the file names (default: the local bus's name)")
      .option(
        "--stream <name>",
        "a stream to back up (repeat for several; default: default)",
        (value: string, all: string[]) => [...all, value],
        [] as string[],
      )
      .option("--all-streams", "every stream of the account, Argo sensors' KV_* buckets too", false)
      .addOption(summaryOption()),
  ).action((bus: string | undefined, opts: BackupFlags) => withBackupErrors(() => backupCommand(bus, opts, io)));

  addConnectionFlags(
    program
      .command("restore")
      .description("verify an archive, then restore its streams with the same sequences and consumers")
      .option("-f, --filename <file|->", "the archive file, or - for standard input")
      .option("--latest", "the newest verified backup of the local bus (its scheduled backups), or of --dir", false)
      .option("--dir <dir>", "with --latest: a directory of backups (e.g. a mounted volume)")
      .option("--replace", "replace streams that hold events or consumers (a failed restore puts them back)", false)
      .option("--dry-run", "verify the archive and say what it holds; change nothing, connect to nothing", false)
      .addOption(summaryOption()),
  ).action((bus: string | undefined, opts: RestoreFlags) => withBackupErrors(() => restoreCommand(bus, opts, io)));

  addBackupsCommand(program, io);
}

async function backupCommand(bus: string | undefined, opts: BackupFlags, io: Io): Promise<void> {
  if (opts.allStreams && opts.stream.length > 0) throw new CliError("--stream: give streams by name or --all-streams, not both");
  if ((opts.output === undefined) === (opts.intoDir === undefined)) throw new CliError("give -o FILE|- or --into-dir DIR (one of them)");
  const toStdout = opts.output === "-";
  const choice = await connectionChoice(bus, opts, io);
  if (opts.intoDir !== undefined) return intoDirCommand(opts.intoDir, choice, opts, io);
  const output = opts.output!;
  await using client = await openClient(choice, io);
  const progress = terminalProgress(io);
  const options = {
    ...(opts.allStreams ? { allStreams: true } : { streams: opts.stream.length > 0 ? opts.stream : ["default"] }),
    sourceLabel: choice.label,
    eventbusVersion: packageVersion(),
    connectToServer: (name: string) => client.connectToServer(name),
    ...(progress && {
      onProgress: (p: BackupProgress) => progress(`backup ${p.stream}`, p.bytes, p.streamBytes, p.elapsedMillis, p.done, `${p.streamMessages} messages`, false),
    }),
  };
  let result: BackupResult;
  if (toStdout) {
    result = await backupStreams(client.nc, process.stdout, options);
  } else {
    // Written beside the file and renamed when complete: a failed backup never leaves a file by that name.
    const partial = join(dirname(output), `.${basename(output)}.partial-${process.pid}`);
    const file = await open(partial, "wx", 0o600).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(
        `--output ${output}: cannot write there (${error.code === "ENOENT" ? "no such directory" : error.code === "EACCES" ? "permission denied" : error.message})`,
        undefined,
        { cause: error },
      );
    });
    const out = file.createWriteStream();
    try {
      result = await backupStreams(client.nc, out, options);
      await closeWritable(out);
      await rename(partial, output);
    } catch (error) {
      out.destroy();
      await rm(partial, { force: true });
      throw error;
    }
  }
  // With the archive on standard output, the summary goes to standard error.
  const print = toStdout ? io.stderr : io.stdout;
  if (opts.outputFormat === "json") print(formatData({ output, ...result }, "json"));
  else print(backupSummary(output, result));
}

async function restoreCommand(bus: string | undefined, opts: RestoreFlags, io: Io): Promise<void> {
  if (opts.latest === (opts.filename !== undefined)) throw new CliError("give -f FILE|- or --latest (one of them)");
  if (opts.dir !== undefined && !opts.latest) throw new CliError("--dir: goes with --latest");
  const filename = opts.filename ?? (await latestArchive(bus, opts.dir, opts.server !== undefined || opts.config !== undefined, io));
  const fromStdin = filename === "-";
  const what = fromStdin ? "<stdin>" : filename;
  // Standard input is kept in a private temp file, so that the whole archive is verified first.
  const spill = fromStdin ? await spillStdin() : undefined;
  try {
    const path = spill?.path ?? filename;
    const contents = await verifyArchive(path, what, { keepBytes: RESTORE_KEEP_BYTES }).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new CliError(`${what}: no such file`);
      if (code === "EACCES" || code === "EISDIR") throw new CliError(`${what}: ${code === "EACCES" ? "permission denied" : "is a directory"}`);
      throw error;
    });
    if (opts.dryRun) {
      const print =
        opts.outputFormat === "json"
          ? formatData(
              { archive: what, verified: true, bytes: contents.bytes, sha256: contents.sha256, manifest: contents.manifest, summary: contents.summary },
              "json",
            )
          : archiveSummary(what, contents);
      io.stdout(print);
      return;
    }
    const choice = await connectionChoice(bus, opts, io);
    await using client = await openClient(choice, io);
    const targetServers = await serverCount(choice, client);
    const progress = terminalProgress(io);
    const started = Date.now();
    const restored = await restoreStreams(client.nc, path, contents, {
      ...(opts.replace && { replace: true }),
      targetServers,
      what,
      onStep: (line) => io.stderr(`${line}\n`),
      ...(progress && {
        onProgress: (p: RestoreProgress) => progress(`restore ${p.stream}`, p.bytes, p.totalBytes, p.elapsedMillis, p.bytes >= p.totalBytes, "", true),
      }),
    });
    const durationMillis = Date.now() - started;
    if (opts.outputFormat === "json")
      io.stdout(formatData({ archive: what, sha256: contents.sha256, targetServers, durationMillis, streams: restored }, "json"));
    else io.stdout(restoreSummary(what, restored, durationMillis, targetServers));
  } finally {
    if (spill) await rm(spill.dir, { recursive: true, force: true });
  }
}

/** A local bus's servers from its plan; another bus's from what its server announces (its cluster's client URLs). */
async function serverCount(choice: ConnectionChoice, client: EventBusClient): Promise<number> {
  if (choice.localBus !== undefined) return (await busCredentials(choice.localBus)).urls.length;
  return Math.max(1, client.nc.info?.connect_urls?.length ?? 1);
}

/** Runs a command; archive and backup failures become one line with their exit code. */
async function withBackupErrors(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    // A refused archive or a target that would be overwritten: nothing was changed (exit 2).
    const invalid = error.isArchiveError || error.code === BackupErrorCode.targetNotEmpty || error.code === BackupErrorCode.noSuchStream;
    throw new CliError(error.message, invalid ? ExitCode.invalid : ExitCode.failed, { cause: error });
  }
}

async function spillStdin(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), "eventbus-restore-stdin-"));
  const path = join(dir, "archive.evbak");
  try {
    await pipeline(process.stdin, createWriteStream(path, { flags: "wx", mode: 0o600 }));
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, path };
}

function closeWritable(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once("error", reject);
    out.end(() => resolve());
  });
}

type ProgressLine = (label: string, bytes: number, total: number, elapsedMillis: number, done: boolean, extra: string, exact: boolean) => void;

/**
 * Progress on standard error once a second, when it is a terminal: bytes, rate, and an estimate of
 * the time left. A backup's total is the stream's uncompressed size, larger than the s2-compressed
 * snapshot (not `exact`): its percentage is then a lower bound and its time left an upper bound.
 */
function terminalProgress(io: Io): ProgressLine | undefined {
  if (!(process.stderr.isTTY && io === processIo)) return undefined;
  let last = 0;
  return (label, bytes, total, elapsedMillis, done, extra, exact) => {
    const now = Date.now();
    if (!done && now - last < PROGRESS_INTERVAL_MILLIS) return;
    last = now;
    const rate = bytes / Math.max(elapsedMillis / 1000, 0.001);
    const left = total > bytes && rate > 0 ? ` ETA ${exact ? "" : "≤ "}${Math.ceil((total - bytes) / rate)} s,` : "";
    const percent = total > 0 ? ` (${exact ? "" : "≥ "}${Math.min(100, Math.round((bytes / total) * 100))}%)` : "";
    io.stderr(
      `${label}: ${humanBytes(bytes)} of ${humanBytes(total)}${percent},${left} ${humanBytes(rate)}/s${extra ? `, ${extra}` : ""}${done ? ", done" : ""}\n`,
    );
  };
}

function backupSummary(output: string, result: BackupResult): string {
  const where = output === "-" ? "standard output" : output;
  const head = `backed up ${plural(result.streams.length, "stream")} to ${where}: ${humanBytes(result.bytes)}, sha256 ${result.sha256}, in ${(result.durationMillis / 1000).toFixed(2)} s\n`;
  return (
    head +
    streamTable(
      result.streams.map((s) => [s.name, String(s.messages), String(s.firstSeq), String(s.lastSeq), String(s.consumers), humanBytes(s.snapshotBytes)]),
    )
  );
}

function archiveSummary(what: string, contents: ArchiveContents): string {
  const m = contents.manifest;
  const source = [m.source.label, m.source.serverName && `server ${m.source.serverName}`, m.source.serverVersion && `nats-server ${m.source.serverVersion}`]
    .filter(Boolean)
    .join(", ");
  const head = `${what}: verified (format version ${m.version}, ${humanBytes(contents.bytes)}, sha256 ${contents.sha256}); nothing was changed\n  taken ${m.createdAt} from ${source} by eventbus ${m.eventbusVersion}\n`;
  return (
    head +
    streamTable(
      contents.summary.streams.map((s) => [
        s.name,
        String(s.messages),
        String(s.firstSeq),
        String(s.lastSeq),
        String(s.consumers),
        humanBytes(s.snapshotBytes),
      ]),
    )
  );
}

function restoreSummary(what: string, restored: readonly RestoredStream[], durationMillis: number, targetServers: number): string {
  const head = `restored ${plural(restored.length, "stream")} from ${what} into a bus of ${plural(targetServers, "server")} in ${(durationMillis / 1000).toFixed(2)} s\n`;
  const rows = restored.map((s) => [
    s.name,
    String(s.messages),
    String(s.firstSeq),
    String(s.lastSeq),
    String(s.consumers),
    String(s.replicas),
    s.replaced ? "yes" : "no",
  ]);
  return head + table(["STREAM", "MESSAGES", "FIRST", "LAST", "CONSUMERS", "REPLICAS", "REPLACED"], rows);
}

function streamTable(rows: readonly string[][]): string {
  return table(["STREAM", "MESSAGES", "FIRST", "LAST", "CONSUMERS", "SNAPSHOT"], rows);
}
