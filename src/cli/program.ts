/**
 * The CLI's command tree. Each area's commands are registered from their own module, loaded only
 * when one of its commands runs (or for help), so that `eventbus --version` or `eventbus validate`
 * does not load the client, the platforms and the backup code.
 */
import { Command, CommanderError } from "commander";
import { ExitCode } from "./exit-codes.js";
import { processIo, type Io } from "./process-io.js";
import { packageVersion } from "./version.js";

export { packageVersion } from "./version.js";

type Register = (program: Command, io: Io, result: { code: ExitCode }) => void;

/** The modules that add commands, in the order of `eventbus --help`, and the commands each adds. */
const AREAS: readonly { readonly commands: readonly string[]; readonly load: () => Promise<Register> }[] = [
  { commands: ["validate", "lint", "crd", "render", "controller", "install"], load: async () => (await import("./core-commands.js")).addCoreCommands },
  { commands: ["takeover"], load: async () => (await import("./takeover-command.js")).addTakeoverCommand },
  { commands: ["up"], load: async () => (await import("./up-command.js")).addUpCommand },
  { commands: ["down"], load: async () => (await import("./down-command.js")).addDownCommand },
  { commands: ["list"], load: async () => (await import("./list-command.js")).addListCommand },
  { commands: ["logs"], load: async () => (await import("./logs-command.js")).addLogsCommand },
  { commands: ["credentials"], load: async () => (await import("./credentials-command.js")).addCredentialsCommand },
  { commands: ["supervise"], load: async () => (await import("./supervise-command.js")).addSuperviseCommand },
  { commands: ["status"], load: async () => (await import("./status-command.js")).addStatusCommand },
  { commands: ["console"], load: async () => (await import("./console-command.js")).addConsoleCommand },
  { commands: ["publish"], load: async () => (await import("./publish-command.js")).addPublishCommand },
  { commands: ["subscribe"], load: async () => (await import("./subscribe-command.js")).addSubscribeCommand },
  { commands: ["stream"], load: async () => (await import("./stream-command.js")).addStreamCommand },
  { commands: ["migrate"], load: async () => (await import("./migrate-command.js")).addMigrateCommand },
  { commands: ["backup", "restore", "backups"], load: async () => (await import("./backup-command.js")).addBackupCommands },
];

/**
 * Builds the command tree with the areas `argv` needs: the one of its command, none for
 * `--version` alone, every area otherwise (help, an unknown command and its suggestions).
 */
async function buildProgram(argv: readonly string[], io: Io, result: { code: ExitCode }): Promise<Command> {
  const program = new Command("eventbus")
    .description("Argo Events EventBus on NATS: validate, lint and run event buses, locally and on Kubernetes")
    .version(packageVersion(), "-V, --version", "print the eventbus version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  const name = argv.find((a) => !a.startsWith("-"));
  const versionOnly = name === undefined && argv.length > 0 && argv.every((a) => a === "-V" || a === "--version");
  const own = AREAS.find((a) => name !== undefined && a.commands.includes(name));
  const areas = versionOnly ? [] : own !== undefined ? [own] : AREAS;
  for (const register of await Promise.all(areas.map((a) => a.load()))) register(program, io, result);
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. Never exits itself. */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<ExitCode> {
  const result: { code: ExitCode } = { code: ExitCode.ok };
  const program = await buildProgram(argv, io, result);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return result.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      const done = error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help";
      return done ? ExitCode.ok : ExitCode.invalid;
    }
    const { reportError } = await import("./report-error.js");
    return reportError(error, io);
  }
}
