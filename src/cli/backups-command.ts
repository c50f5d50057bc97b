/**
 * Directories of backups: `eventbus backups` lists them, `eventbus backup --into-dir` writes one
 * and keeps the newest `--keep` (the Kubernetes CronJob's command), `eventbus restore --latest`
 * takes the newest.
 */
import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { backupIntoDir, listBackups, parseArchiveFileName, type StoredBackup } from "../backup/index.js";
import { busPaths, eventbusHome, DEFAULT_BUS_NAME, type BusPaths } from "../platforms/local/index.js";
import { openClient, type ConnectionChoice } from "./connection-flags.js";
import { CliError } from "./errors.js";
import { formatData, humanBytes, outputOption, plural, table, type Io } from "./io.js";
import { packageVersion } from "./version.js";

/** `--keep` of `backup --into-dir`, as `spec.jetstream.backup.keep` defaults. */
export const DEFAULT_KEEP = 7;

/** A whole number flag of 1 or more. */
export function wholeNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} ${JSON.stringify(value)}: must be a whole number of 1 or more`);
    return n;
  };
}

interface IntoDirFlags {
  readonly keep?: number;
  readonly name?: string;
  readonly stream: readonly string[];
  readonly allStreams: boolean;
  readonly outputFormat: "text" | "json";
}

/** `backup --into-dir DIR`: a new archive named by the time, verified, then the older ones beyond `--keep` removed. */
export async function intoDirCommand(dir: string, choice: ConnectionChoice, opts: IntoDirFlags, io: Io): Promise<void> {
  const name = opts.name ?? choice.localBus;
  if (name === undefined) throw new CliError("--name: give the name of the archives (the bus's name) with --into-dir for a bus given by --server or --config");
  if (parseArchiveFileName(`${name}-20000101T000000Z.evbak`)?.name !== name)
    throw new CliError(`--name ${JSON.stringify(name)}: must be lower-case letters, digits and '-' (a bus name)`);
  await checkDir(dir, "--into-dir");
  await using client = await openClient(choice, io);
  const result = await backupIntoDir(client.nc, {
    dir,
    name,
    keep: opts.keep ?? DEFAULT_KEEP,
    ...(opts.allStreams ? { allStreams: true } : { streams: opts.stream.length > 0 ? opts.stream : ["default"] }),
    sourceLabel: choice.label,
    eventbusVersion: packageVersion(),
    connectToServer: (server: string) => client.connectToServer(server),
  });
  if (opts.outputFormat === "json") {
    io.stdout(formatData(result, "json"));
    return;
  }
  const messages = result.streams.reduce((sum, s) => sum + s.messages, 0);
  io.stdout(
    `backed up ${plural(result.streams.length, "stream")} (${plural(messages, "message")}) to ${result.path}: verified, sha256 ${result.sha256}, in ${(result.durationMillis / 1000).toFixed(2)} s\n`,
  );
  if (result.removed.length > 0) io.stdout(`removed ${result.removed.join(", ")} (keeping the newest ${opts.keep ?? DEFAULT_KEEP})\n`);
}

/** A directory that exists. */
async function checkDir(dir: string, flag: string): Promise<void> {
  const found = await stat(dir).catch(() => undefined);
  if (!found?.isDirectory()) throw new CliError(`${flag} ${dir}: no such directory`);
}

/** The backups directory of a local bus (which must exist), or `dir`. */
async function backupsDir(bus: string | undefined, dir: string | undefined): Promise<{ dir: string; name?: string }> {
  if (dir !== undefined) {
    await checkDir(dir, "--dir");
    return { dir };
  }
  const name = bus ?? DEFAULT_BUS_NAME;
  let paths: BusPaths;
  try {
    paths = busPaths(eventbusHome(), name);
  } catch (error) {
    throw new CliError((error as Error).message, undefined, { cause: error });
  }
  if (!(await stat(paths.dir).catch(() => undefined)))
    throw new CliError(`no local bus named ${name} (looked in ${paths.dir}); give --dir DIR for another directory of backups`);
  return { dir: paths.backups, name };
}

async function backupsOf(bus: string | undefined, dir: string | undefined): Promise<{ where: string; backups: StoredBackup[] }> {
  const found = await backupsDir(bus, dir);
  const exists = await stat(found.dir).catch(() => undefined);
  return { where: found.dir, backups: exists ? await listBackups(found.dir, found.name) : [] };
}

/**
 * The newest verified archive for `restore --latest`: of the local bus, or of `--dir`.
 * @throws {@link CliError} (exit 2) when there is none
 */
export async function latestArchive(bus: string | undefined, dir: string | undefined, remote: boolean, io: Io): Promise<string> {
  if (dir === undefined && remote) throw new CliError("--latest: give --dir DIR (a directory of backups) with --server or --config");
  const { where, backups } = await backupsOf(bus, dir);
  const newest = backups.find((b) => b.verified);
  if (newest === undefined)
    throw new CliError(
      `--latest: no backup in ${where}${backups.length > 0 ? ` that verifies (${plural(backups.length, "file")} do not)` : ""}; nothing was changed`,
    );
  const skipped = backups.slice(0, backups.indexOf(newest));
  for (const b of skipped) io.stderr(`skipping ${b.file}: ${b.problem ?? "not verified"}\n`);
  io.stderr(`latest backup: ${newest.file} (taken ${newest.takenAt}, ${plural(newest.streams.length, "stream")}, ${plural(newest.messages, "message")})\n`);
  return newest.path;
}

/** Adds `backups`. */
export function addBackupsCommand(program: Command, io: Io): void {
  program
    .command("backups")
    .description("list a local bus's scheduled backups (or those of --dir), newest first, each verified")
    .argument("[bus]", `a local bus (default: ${DEFAULT_BUS_NAME})`)
    .option("--dir <dir>", "a directory of backups instead (e.g. a mounted backup volume)")
    .addOption(outputOption(["text", "json"]))
    .action(async (bus: string | undefined, opts: { dir?: string; output: "text" | "json" }) => {
      if (bus !== undefined && opts.dir !== undefined) throw new CliError("give BUS or --dir, not both");
      const { where, backups } = await backupsOf(bus, opts.dir);
      if (opts.output === "json") {
        io.stdout(formatData({ dir: where, backups }, "json"));
        return;
      }
      if (backups.length === 0) {
        io.stdout(`no backups in ${where}\n`);
        return;
      }
      io.stdout(`${plural(backups.length, "backup")} in ${where}\n`);
      const rows = backups.map((b) => [
        b.takenAt,
        b.file,
        humanBytes(b.bytes),
        b.verified ? b.streams.join(",") : "-",
        b.verified ? String(b.messages) : "-",
        b.verified ? "verified" : `invalid: ${b.problem ?? ""}`,
      ]);
      io.stdout(table(["TAKEN", "FILE", "SIZE", "STREAMS", "MESSAGES", "STATE"], rows));
    });
}
