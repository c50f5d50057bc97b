/**
 * The commands that read manifests and talk to Kubernetes: validate, lint, crd, render,
 * controller and install.
 */
import { Option, type Command } from "commander";
import { LintProfile } from "../api/index.js";
import { controllerCommand, type ControllerCommandOptions } from "./controller-command.js";
import { crdCommand } from "./crd-command.js";
import { CliError } from "./errors.js";
import type { ExitCode } from "./exit-codes.js";
import { installCommand, type InstallCommandOptions } from "./install-command.js";
import { outputOption, type Io } from "./io.js";
import { lintCommand } from "./lint-command.js";
import { clusterDomainOption, renderCommand } from "./render-command.js";
import { validateCommand } from "./validate-command.js";

/** Adds validate, lint, crd and render, then controller and install. Each action stores its exit code in `result`. */
export function addCoreCommands(program: Command, io: Io, result: { code: ExitCode }): void {
  program
    .command("validate")
    .description("validate EventBus manifests (multi-document YAML); exit 0 valid, 2 invalid")
    .requiredOption("-f, --filename <file>", "manifest file, or - for standard input")
    .addOption(outputOption(["text", "json", "yaml"], "text"))
    .option("--defaults", "print each valid manifest with every default written out", false)
    .option("--strict", "refuse warnings too (unknown fields, what Argo Events reads another way than it is written): exit 2", false)
    .action(async (opts: { filename: string; output: "text" | "json" | "yaml"; defaults: boolean; strict: boolean }) => {
      result.code = await validateCommand({ file: opts.filename, output: opts.output, defaults: opts.defaults, strict: opts.strict }, io);
    });

  program
    .command("lint")
    .description("check EventBus manifests for production readiness; exit 1 on an error-level finding")
    .requiredOption("-f, --filename <file>", "manifest file, or - for standard input")
    .addOption(new Option("--profile <profile>", "rule profile").choices(Object.values(LintProfile)).default(LintProfile.production))
    .addOption(outputOption(["text", "json", "yaml"], "text"))
    .action(async (opts: { filename: string; profile: LintProfile; output: "text" | "json" | "yaml" }) => {
      result.code = await lintCommand({ file: opts.filename, profile: opts.profile, output: opts.output }, io);
    });

  program
    .command("crd")
    .description("print the EventBus CustomResourceDefinition (apply with kubectl apply -f -)")
    .addOption(outputOption(["yaml", "json"], "yaml"))
    .action((opts: { output: "yaml" | "json" }) => {
      result.code = crdCommand(opts, io);
    });

  program
    .command("render")
    .description("print the Kubernetes objects of each managed bus (like helm template); exit 2 on invalid input")
    .requiredOption("-f, --filename <file>", "manifest file, or - for standard input")
    .option("-n, --namespace <namespace>", "namespace of the objects (default: metadata.namespace, else default)")
    .addOption(outputOption(["yaml", "json"], "yaml"))
    .option("--images <file>", "images per version, shaped like Argo Events' controller config (eventBus.jetstream.versions)")
    .option("--secrets-dir <dir>", "keep each bus's credentials and certificates in <dir>/<namespace>/<name> (created 0700 when missing), so renders repeat")
    .addOption(clusterDomainOption("certificates also name <svc>.<ns>.svc.<domain> (default: cluster.local only)"))
    .action(async (opts: { filename: string; namespace?: string; output: "yaml" | "json"; images?: string; secretsDir?: string; clusterDomain?: string }) => {
      result.code = await renderCommand(
        {
          file: opts.filename,
          namespace: opts.namespace,
          output: opts.output,
          images: opts.images,
          secretsDir: opts.secretsDir,
          clusterDomain: opts.clusterDomain,
        },
        io,
      );
    });

  addKubernetesCommands(program, io, result);
}

/** A whole positive number flag. */
function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`${flag} ${JSON.stringify(value)}: must be a whole number from 0 to 65535`);
    return n;
  };
}

/** `eventbus controller` and `eventbus install`. */
function addKubernetesCommands(program: Command, io: Io, result: { code: ExitCode }): void {
  program
    .command("controller")
    .description("run the EventBus controller against a Kubernetes cluster until SIGINT or SIGTERM")
    .option("-n, --namespace <namespace>", "reconcile EventBuses of this namespace only (default: all namespaces)")
    .option(
      "--all",
      "reconcile every EventBus, not only those annotated eventbus.argoproj.io/controller: eventbus (for clusters without Argo Events' EventBus controller)",
    )
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, else in-cluster, else ~/.kube/config)")
    .option("--context <name>", "kubeconfig context (default: its current-context)")
    .option("--health-port <port>", "serve /healthz, /readyz and /metrics on this port", positiveInt("--health-port"))
    .option("--images <file>", "images per version, shaped like Argo Events' controller config (eventBus.jetstream.versions)")
    .option("--eventbus-image <image>", "the image scheduled backup CronJobs run (install passes the controller's own; default eventbus-controller:latest)")
    .option("--workers <n>", "EventBuses reconciled at once (default 4)", positiveInt("--workers"))
    .option("--no-leader-elect", "reconcile without holding the Lease (only when one controller runs)")
    .option("--lease-namespace <namespace>", "namespace of the leader election Lease (default: $POD_NAMESPACE, the context's namespace, else default)")
    .addOption(new Option("--log-format <format>", "log line format on stderr").choices(["text", "json"]).default("text"))
    .addOption(clusterDomainOption("status.config URLs name <svc>.<ns>.svc.<domain>, new certificates name it too (default: <svc>.<ns>.svc, as Argo Events)"))
    .action(async (opts: ControllerCommandOptions) => {
      result.code = await controllerCommand(opts, io);
    });

  program
    .command("install")
    .description("print the CRD, RBAC and controller Deployment (kubectl apply -f -), or --apply them")
    .option("-n, --namespace <namespace>", "namespace of the controller", "argo-events")
    .option("--image <image>", "controller image", "eventbus-controller:latest")
    .option("--watch-namespace <namespace>", "reconcile EventBuses of this namespace only (a Role instead of a ClusterRole)")
    .option("--replicas <n>", "controller replicas (leader election picks one)", positiveInt("--replicas"))
    .option("--all", "the controller reconciles every EventBus, not only annotated ones (clusters without Argo Events' EventBus controller)")
    .addOption(outputOption(["yaml", "json"], "yaml"))
    .option("--apply", "apply the objects by server-side apply with the kubeconfig's credentials", false)
    .option("--kubeconfig <file>", "kubeconfig file for --apply")
    .option("--context <name>", "kubeconfig context for --apply")
    .action(async (opts: InstallCommandOptions) => {
      result.code = await installCommand(opts, io);
    });
}
