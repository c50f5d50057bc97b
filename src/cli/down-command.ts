/** `eventbus down`: stop a local bus; its data is kept unless `--purge --yes`. */
import type { Command } from "commander";
import { DEFAULT_BUS_NAME, downBus } from "../platforms/local/index.js";
import { CliError } from "./errors.js";
import type { Io } from "./io.js";

/** Adds `down`. */
export function addDownCommand(program: Command, io: Io): void {
  program
    .command("down")
    .description("stop a local bus (servers leave in lame-duck mode); data is kept unless --purge")
    .argument("[name]", "the bus", DEFAULT_BUS_NAME)
    .option("--purge", "also delete the bus's data, credentials and certificates", false)
    .option("--yes", "confirm --purge", false)
    .action(async (name: string, opts: { purge: boolean; yes: boolean }) => {
      if (opts.purge && !opts.yes) throw new CliError(`--purge deletes every message, credential and certificate of bus ${name}; add --yes to confirm`);
      const down = await downBus(name, { purge: opts.purge, onProgress: (line) => io.stderr(`${line}\n`) });
      io.stdout(`bus ${name} ${down.stopped ? "stopped" : "was not running"}${down.purged ? "; its data was deleted" : "; its data is kept"}\n`);
    });
}
