/** `eventbus list`: the local buses and whether they run. */
import type { Command } from "commander";
import { busStatus, eventbusHome, listBuses, type BusReport } from "../platforms/local/index.js";
import { formatData, outputOption, table, type Io } from "./io.js";
import { localState } from "./local-view.js";

type Output = "text" | "json" | "yaml";

/** Adds `list`. */
export function addListCommand(program: Command, io: Io): void {
  program
    .command("list")
    .description("the local buses and whether they run")
    .addOption(outputOption())
    .action(async (opts: { output: Output }) => {
      const reports = await Promise.all((await listBuses()).map((name) => busStatus(name).catch(() => undefined)));
      const rows = reports.filter((r): r is BusReport => r !== undefined);
      if (opts.output !== "text") {
        io.stdout(
          formatData(
            rows.map((r) => ({
              name: r.name,
              status: localState(r),
              running: r.running,
              supervised: r.supervised,
              healthy: r.healthy,
              problems: r.problems,
              replicas: r.replicas,
              version: r.version,
              persistent: r.persistent,
            })),
            opts.output,
          ),
        );
        return;
      }
      if (rows.length === 0) {
        io.stdout(`no local buses in ${eventbusHome()}\n`);
        return;
      }
      io.stdout(
        table(
          ["NAME", "STATUS", "REPLICAS", "VERSION", "STORAGE", "PROBLEMS"],
          rows.map((r) => [r.name, localState(r), String(r.replicas), r.version ?? "", r.persistent ? "persistent" : "ephemeral", String(r.problems.length)]),
        ),
      );
    });
}
