import { applyObjects, installBundle, KubeClient, loadKubeConnection, toJsonList, toYamlDocuments } from "../platforms/kubernetes/index.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { Io } from "./io.js";

/** Options of `eventbus install`. */
export interface InstallCommandOptions {
  namespace: string;
  image: string;
  watchNamespace?: string;
  replicas?: number;
  /** The controller reconciles every EventBus (`controller --all`). */
  all?: boolean;
  output: "yaml" | "json";
  apply: boolean;
  kubeconfig?: string;
  context?: string;
}

// A DNS-1123 label, as Kubernetes requires of a namespace.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `eventbus install`: prints the CRD, Namespace, ServiceAccount, RBAC and controller Deployment;
 * with `--apply` applies them (server-side apply, field manager `eventbus-controller`) with the
 * kubeconfig's credentials and prints one line per object, as `kubectl apply --server-side` does.
 */
export async function installCommand(options: InstallCommandOptions, io: Io): Promise<ExitCode> {
  for (const [flag, value] of [
    ["--namespace", options.namespace],
    ["--watch-namespace", options.watchNamespace],
  ] as const) {
    if (value !== undefined && !NAMESPACE.test(value))
      throw new CliError(`${flag} ${JSON.stringify(value)}: must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)`);
  }
  if (options.image.trim() === "" || /\s/.test(options.image))
    throw new CliError(`--image ${JSON.stringify(options.image)}: must be an image reference such as registry.example.com/eventbus:0.1.0`);
  const objects = installBundle({
    namespace: options.namespace,
    image: options.image,
    ...(options.watchNamespace !== undefined && { watchNamespace: options.watchNamespace }),
    ...(options.replicas !== undefined && { replicas: options.replicas }),
    ...(options.all === true && { all: true }),
  });
  if (!options.apply) {
    io.stdout(options.output === "json" ? toJsonList(objects) : toYamlDocuments(objects));
    return ExitCode.ok;
  }
  const client = new KubeClient(loadKubeConnection(options));
  try {
    await applyObjects(client, objects, (line) => io.stdout(`${line}\n`));
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.failed, { cause: err });
  } finally {
    client.close();
  }
  return ExitCode.ok;
}
