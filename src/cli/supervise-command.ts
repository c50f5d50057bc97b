/** `eventbus supervise` (hidden): the supervisor process of a local bus, started by `up`. */
import type { Command } from "commander";
// Only the supervisor's own modules: it runs as long as its bus, so what it loads it keeps.
import { runSupervisorDaemon } from "../platforms/local/daemon.js";
import { busPaths, eventbusHome } from "../platforms/local/home.js";

/** Adds `supervise`. */
export function addSuperviseCommand(program: Command): void {
  program
    .command("supervise", { hidden: true })
    .description("run the supervisor of a local bus (started by eventbus up)")
    .argument("<name>", "the bus")
    .action(async (name: string) => {
      const paths = busPaths(eventbusHome(), name);
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      const daemon = await runSupervisorDaemon(paths, { onEvent: (e) => log(`${e.level} ${e.server ?? "supervisor"}: ${e.message}`) });
      await daemon.done;
    });
}
