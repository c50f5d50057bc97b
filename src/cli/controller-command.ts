import { hostname } from "node:os";

import { Controller, defaultImages, loadKubeConnection, parseImagesFile, startHealthServer, type ControllerLogEntry } from "../platforms/kubernetes/index.js";
import { ExitCode } from "./exit-codes.js";
import { readInput, type Io } from "./io.js";

/** Options of `eventbus controller`. */
export interface ControllerCommandOptions {
  /** Reconcile EventBuses of this namespace only. */
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  /** The port of /healthz, /readyz and /metrics; none when undefined. */
  healthPort?: number;
  images?: string;
  /** The image of backup CronJobs (the controller's own, which `install` passes). */
  eventbusImage?: string;
  workers?: number;
  leaderElect: boolean;
  /** Where the Lease lives. @default POD_NAMESPACE, the kubeconfig context's namespace, else "default" */
  leaseNamespace?: string;
  logFormat: "json" | "text";
  /** The cluster's DNS domain in `status.config` URLs and new certificates; none: `<svc>.<ns>.svc`, as Argo Events. */
  clusterDomain?: string;
  /** Reconcile every EventBus, not only those annotated for eventbus (clusters without Argo Events' EventBus controller). */
  all?: boolean;
}

/**
 * `eventbus controller`: runs the EventBus controller until SIGINT or SIGTERM, logging one line
 * per event on stderr. Exit 2 for an unusable kubeconfig or images file (reported by runCli).
 */
export async function controllerCommand(options: ControllerCommandOptions, io: Io): Promise<ExitCode> {
  const connection = loadKubeConnection(options);
  const images =
    options.images === undefined ? defaultImages() : parseImagesFile(await readInput(options.images, io), options.images === "-" ? "<stdin>" : options.images);
  const log = (entry: ControllerLogEntry) => {
    if (entry.level === "debug") return;
    const line = options.logFormat === "json" ? JSON.stringify({ time: new Date().toISOString(), ...entry }) : textLine(entry);
    io.stderr(`${line}\n`);
  };
  const leaseNamespace = options.leaseNamespace ?? process.env["POD_NAMESPACE"] ?? connection.namespace ?? "default";
  const controller = new Controller({
    connection,
    ...(options.namespace !== undefined && { namespace: options.namespace }),
    images,
    ...(options.eventbusImage !== undefined && { eventbusImage: options.eventbusImage }),
    ...(options.all === true && { all: true }),
    ...(options.workers !== undefined && { workers: options.workers }),
    ...(options.clusterDomain !== undefined && { clusterDomain: options.clusterDomain }),
    leaderElection: options.leaderElect ? { namespace: leaseNamespace, identity: `${process.env["POD_NAME"] ?? hostname()}_${process.pid}` } : false,
    log,
  });
  const health = options.healthPort === undefined ? undefined : await startHealthServer(controller, { port: options.healthPort });
  const stopped = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  log({ level: "info", message: "connecting", server: connection.server, source: connection.source, ...(health && { healthPort: health.port }) });
  try {
    await Promise.race([controller.start(), stopped]);
    const signal = await stopped;
    log({ level: "info", message: `${signal}: stopping` });
  } finally {
    await controller.stop();
    await health?.close();
  }
  return ExitCode.ok;
}

function textLine(entry: ControllerLogEntry): string {
  const { level, message, ...fields } = entry;
  const rest = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(" ");
  return `${new Date().toISOString()} ${level.toUpperCase()} ${message}${rest ? ` ${rest}` : ""}`;
}
