/** `eventbus credentials`: how clients connect to a local bus. */
import type { Command } from "commander";
import { busCredentials, DEFAULT_BUS_NAME } from "../platforms/local/index.js";
import { formatData, outputOption, type Io } from "./io.js";

type Output = "text" | "json" | "yaml";

/** Adds `credentials`. */
export function addCredentialsCommand(program: Command, io: Io): void {
  program
    .command("credentials")
    .description("how clients connect to a local bus: URLs, CA, user; secrets only with --show-secrets")
    .argument("[name]", "the bus", DEFAULT_BUS_NAME)
    .option("--show-secrets", "include the password or token", false)
    .addOption(outputOption())
    .action(async (name: string, opts: { showSecrets: boolean; output: Output }) => {
      const creds = await busCredentials(name, { showSecrets: opts.showSecrets });
      if (opts.output !== "text") {
        io.stdout(formatData(creds, opts.output));
        return;
      }
      const hidden = "(hidden; add --show-secrets)";
      io.stdout(
        [
          `urls:       ${creds.urls.join(",")}`,
          `auth:       ${creds.auth}`,
          ...(creds.user !== undefined ? [`user:       ${creds.user}`, `password:   ${creds.password ?? hidden}`] : []),
          ...(creds.auth === "token" ? [`token:      ${creds.token ?? hidden}`] : []),
          ...(creds.caFile !== undefined ? [`ca file:    ${creds.caFile}`] : []),
          ...(creds.authFile !== undefined ? [`auth file:  ${creds.authFile} (Argo Events format)`] : []),
          `EVENTBUS_CONFIG=${JSON.stringify(creds.statusConfig)}`,
          "",
        ].join("\n"),
      );
    });
}
