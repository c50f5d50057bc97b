import { Option } from "commander";

import { formatIssue, type ResolvedEventBus } from "../api/index.js";
import {
  busMaterial,
  defaultImages,
  hasObjects,
  isKubeError,
  materialDir,
  MaterialOrigin,
  parseImagesFile,
  renderBusObjects,
  toJsonList,
  toYamlDocuments,
  type ImagesTable,
  type KubeObject,
} from "../platforms/kubernetes/index.js";
import { isSecretsError } from "../secrets/index.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { plural, readInput, type Io } from "./io.js";
import { documentHeading, loadAndValidate, warningLines } from "./manifests.js";

/** The namespace of a bus whose manifest and `--namespace` name none. */
export const DEFAULT_NAMESPACE = "default";

export interface RenderCommandOptions {
  file: string;
  /** Overrides nothing: it must agree with `metadata.namespace` when both are set. */
  namespace?: string;
  output: "yaml" | "json";
  /** An images file (Argo's controller config shape). */
  images?: string;
  /** A directory of saved secret material, one subdirectory per bus: `<dir>/<namespace>/<name>`. */
  secretsDir?: string;
  /** A cluster DNS domain new certificates also name (`<svc>.<ns>.svc.<domain>`). */
  clusterDomain?: string;
}

// A DNS-1123 subdomain, as a cluster domain is (kubelet's --cluster-domain).
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Reads `--cluster-domain DOMAIN`: a DNS-1123 subdomain (`cluster.local`, `k8s.example.com`).
 * @throws {@link CliError} naming the flag and what is allowed (exit 2)
 */
export function parseClusterDomain(value: string): string {
  const domain = value.endsWith(".") ? value.slice(0, -1) : value;
  if (!DNS_SUBDOMAIN.test(domain)) {
    throw new CliError(`--cluster-domain ${JSON.stringify(value)}: must be a DNS domain (lowercase letters, digits, '-' and '.', such as cluster.local)`);
  }
  return domain;
}

/** The `--cluster-domain DOMAIN` option of `eventbus render` and `eventbus controller`. */
export function clusterDomainOption(description: string): Option {
  return new Option("--cluster-domain <domain>", description).argParser(parseClusterDomain);
}

/**
 * `eventbus render`: the Kubernetes objects of each managed bus of a manifest, like `helm template`.
 * Exit 2 (nothing printed on stdout) for an invalid manifest, images file, namespace or saved
 * material. Notes go to stderr; no secret value does.
 */
export async function renderCommand(options: RenderCommandOptions, io: Io): Promise<ExitCode> {
  const results = await loadAndValidate(options.file, io);
  if (!results.every((r) => r.result.ok)) {
    for (const entry of results) {
      if (!entry.result.ok) io.stderr(documentHeading(entry, results.length) + entry.result.issues.map((i) => `${formatIssue(i)}\n`).join(""));
    }
    const count = results.reduce((n, r) => n + r.result.issues.length, 0);
    io.stderr(`${plural(count, "issue")} found; nothing was rendered\n`);
    return ExitCode.invalid;
  }
  for (const entry of results) io.stderr(warningLines(entry, results.length));
  const images = options.images === undefined ? defaultImages() : await readImages(options.images, io);

  const objects: KubeObject[] = [];
  const notes: string[] = [];
  for (const { document, result } of results) {
    if (!result.ok) continue;
    const bus = result.bus;
    if (!hasObjects(bus)) {
      notes.push(
        `${document.label}: spec.${bus.spec.mode} is an external bus; there are no objects to render (the controller only connects to it and writes status.config)`,
      );
      continue;
    }
    const namespace = namespaceOf(bus, document.label, options.namespace);
    const dir = options.secretsDir === undefined ? undefined : materialDir(options.secretsDir, namespace, bus.name);
    try {
      const material = await busMaterial(bus, namespace, dir, options.clusterDomain === undefined ? {} : { clusterDomain: options.clusterDomain });
      objects.push(...renderBusObjects(bus, { namespace, images, secrets: material.secrets }));
      if (material.origin === MaterialOrigin.generated) {
        notes.push(
          `${document.label}: new credentials${needsCertificates(bus) ? " and certificates" : ""} were generated; each render makes others (keep them with --secrets-dir DIR)`,
        );
      } else if (material.origin === MaterialOrigin.saved) {
        notes.push(`${document.label}: new secret material saved in ${material.dir}; later renders with --secrets-dir reuse it`);
      }
    } catch (error) {
      if (isKubeError(error) || isSecretsError(error)) throw new CliError(`${document.label}: ${error.message}`, ExitCode.invalid, { cause: error });
      throw error;
    }
  }
  if (objects.length > 0 || options.output === "json") io.stdout(options.output === "json" ? toJsonList(objects) : toYamlDocuments(objects));
  for (const note of notes) io.stderr(`note: ${note}\n`);
  return ExitCode.ok;
}

async function readImages(file: string, io: Io): Promise<ImagesTable> {
  const text = await readInput(file, io);
  try {
    return parseImagesFile(text, file === "-" ? "<stdin>" : file);
  } catch (error) {
    if (isKubeError(error)) throw new CliError(error.message, ExitCode.invalid, { cause: error });
    throw error;
  }
}

// A DNS-1123 label, as Kubernetes requires of a namespace.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function namespaceOf(bus: ResolvedEventBus, label: string, flag: string | undefined): string {
  if (flag !== undefined && !NAMESPACE.test(flag)) {
    throw new CliError(`--namespace ${JSON.stringify(flag)}: must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)`);
  }
  if (flag !== undefined && bus.namespace !== undefined && flag !== bus.namespace) {
    throw new CliError(`${label}: metadata.namespace is ${JSON.stringify(bus.namespace)} but --namespace is ${JSON.stringify(flag)}; they must agree`);
  }
  return flag ?? bus.namespace ?? DEFAULT_NAMESPACE;
}

function needsCertificates(bus: ResolvedEventBus): boolean {
  return bus.spec.mode === "jetstream" && bus.spec.tls;
}
