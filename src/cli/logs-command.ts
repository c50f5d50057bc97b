/** `eventbus logs`: the supervisor's and servers' logs of a local bus. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { busPaths, DEFAULT_BUS_NAME, eventbusHome, followLogs, type BusPaths, type LogSource } from "../platforms/local/index.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { Io } from "./io.js";

/** Adds `logs`. */
export function addLogsCommand(program: Command, io: Io): void {
  program
    .command("logs")
    .description("the supervisor's and servers' logs of a local bus")
    .argument("[name]", "the bus", DEFAULT_BUS_NAME)
    .option("--server <index>", "only this server's log")
    .option("--tail <lines>", "lines per log", "50")
    .option("-f, --follow", "keep printing new lines until Ctrl-C", false)
    .action(async (name: string, opts: { server?: string; tail: string; follow: boolean }) => {
      const tail = Number(opts.tail);
      if (!Number.isInteger(tail) || tail < 0) throw new CliError(`--tail: must be a whole number of lines >= 0, got ${JSON.stringify(opts.tail)}`);
      const paths = busPaths(eventbusHome(), name);
      const logs = [
        ...(opts.server === undefined ? [{ label: "supervisor", file: paths.supervisorLog }] : []),
        ...(await serverLogs(paths)).filter((s) => opts.server === undefined || String(s.index) === opts.server),
      ];
      for (const { label, file } of logs) {
        const text = await readFile(file, "utf8").catch(() => "");
        const lines =
          tail === 0
            ? []
            : text
                .trimEnd()
                .split("\n")
                .filter((l) => l !== "")
                .slice(-tail);
        io.stdout(`==> ${label} (${file}) <==\n${lines.join("\n")}${lines.length ? "\n" : ""}`);
      }
      if (opts.follow) {
        const stop = new AbortController();
        process.once("SIGINT", () => stop.abort());
        await followLogs(logs, (label, line) => io.stdout(`${label} | ${line}\n`), stop.signal, { fromEnd: true });
      }
    });
}

/** The server logs of a bus, labelled with the servers' names. */
export async function serverLogs(paths: BusPaths): Promise<(LogSource & { index: number })[]> {
  const text = await readFile(paths.state, "utf8").catch(() => {
    throw new CliError(`no local bus named ${paths.name} (looked in ${paths.dir})`, ExitCode.failed);
  });
  const state = JSON.parse(text) as { servers: { index: number; name: string }[] };
  return state.servers.map((s) => ({ index: s.index, label: s.name, file: paths.serverLog(s.index) }));
}
