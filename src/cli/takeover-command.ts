import type { Command } from "commander";

import {
  defaultImages,
  KubeClient,
  loadKubeConnection,
  OWNERSHIP_ANNOTATION,
  OWNERSHIP_VALUE,
  parseImagesFile,
  takeover,
  TakeoverRefusedError,
  type TakeoverResult,
} from "../platforms/kubernetes/index.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { outputOption, readInput, type Io } from "./io.js";

/** Options of `eventbus takeover`. */
export interface TakeoverCommandOptions {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  images?: string;
  dryRun: boolean;
  output: "text" | "json";
}

/**
 * `eventbus takeover NAME`: hands an EventBus that Argo Events' controller deployed to eventbus,
 * with its data and clients (see `takeover` in the Kubernetes platform). A takeover that cannot
 * be done safely exits 1 with one `path: message` line per problem and changes nothing.
 */
export async function takeoverCommand(name: string, options: TakeoverCommandOptions, io: Io): Promise<ExitCode> {
  const connection = loadKubeConnection(options);
  const namespace = options.namespace ?? connection.namespace ?? "default";
  const images =
    options.images === undefined ? defaultImages() : parseImagesFile(await readInput(options.images, io), options.images === "-" ? "<stdin>" : options.images);
  const client = new KubeClient(connection);
  let result: TakeoverResult;
  try {
    result = await takeover({ client, namespace, name, images, dryRun: options.dryRun });
  } catch (err) {
    if (err instanceof TakeoverRefusedError) throw new CliError(err.message, ExitCode.failed, { cause: err });
    throw err;
  } finally {
    client.close();
  }
  if (options.output === "json") {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return ExitCode.ok;
  }
  const lines = [
    `${result.dryRun ? "would take over" : "took over"} EventBus ${result.bus} (material from ${result.material === "argo-secrets" ? "Argo's Secrets" : "an earlier takeover"})`,
    ...result.objects.map((o) => `  ${o.kind}/${o.name} ${result.dryRun ? "checked (server dry run)" : "applied"}`),
    `  store: ${result.storeDir} on the same volume; encryption key: ${result.encryptionKey === "secret" ? "Argo's Secret key encryption" : 'the literal "$JS_KEY" of Argo\'s quoted config'}`,
    `  StatefulSet uid ${result.statefulSetUid}: updated in place`,
    result.dryRun ? "  nothing was changed" : `  annotated ${OWNERSHIP_ANNOTATION}: ${OWNERSHIP_VALUE}; eventbus's controller reconciles it now`,
  ];
  io.stdout(`${lines.join("\n")}\n`);
  return ExitCode.ok;
}

/** Adds `eventbus takeover` to the program. */
export function addTakeoverCommand(program: Command, io: Io, result: { code: ExitCode }): void {
  program
    .command("takeover")
    .description("hand an EventBus deployed by Argo Events' controller to eventbus, keeping its data, credentials, TLS and encryption key")
    .argument("<name>", "the EventBus")
    .option("-n, --namespace <namespace>", "the EventBus's namespace (default: the context's namespace, else default)")
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, else in-cluster, else ~/.kube/config)")
    .option("--context <name>", "kubeconfig context (default: its current-context)")
    .option("--images <file>", "images per version, as for `eventbus controller`")
    .option("--dry-run", "check and render, and send every write as a server-side dry run: nothing is changed", false)
    .addOption(outputOption(["text", "json"]))
    .action(async (name: string, opts: TakeoverCommandOptions) => {
      if (name.trim() === "") throw new CliError("NAME: must be an EventBus name");
      result.code = await takeoverCommand(name, opts, io);
    });
}
