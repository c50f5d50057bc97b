import { argoCompatibility, formatIssue, ManifestReadError, validateManifests, type DocumentResult, type Finding } from "../api/index.js";
import { acceptedJetStreamVersions } from "../versions/index.js";
import { CliError } from "./errors.js";
import { readInput, type Io } from "./io.js";

/** Reads `-f FILE|-` and validates each document against the installed versions table. */
export async function loadAndValidate(file: string, io: Io): Promise<DocumentResult[]> {
  const text = await readInput(file, io);
  try {
    return validateManifests(text, file === "-" ? "<stdin>" : file, { jetstreamVersions: acceptedJetStreamVersions() });
  } catch (error) {
    if (error instanceof ManifestReadError) throw new CliError(error.message, undefined, { cause: error });
    throw error;
  }
}

/** The heading of a document's lines when a file holds several. */
export function documentHeading(result: DocumentResult, count: number): string {
  return count > 1 ? `${result.document.label} (document ${result.document.index}):\n` : "";
}

/** The rule of a lint finding that reports a validation warning. */
export const MANIFEST_WARNING_RULE = "accepted-with-warning";

/** A document's validation warnings as lint findings (severity warning in every profile). */
export function warningFindings(result: DocumentResult): Finding[] {
  return result.result.warnings.map((w) => ({ rule: MANIFEST_WARNING_RULE, severity: "warning", path: w.path, message: w.message }));
}

/**
 * The warnings to print on stderr for a document before acting on it: what the manifest means
 * other than it says (its validation warnings), and, for a valid bus, what keeps Argo Events' own
 * pods from using it. One `warning: path: message` line each.
 */
export function warningLines(result: DocumentResult, count: number): string {
  const lines = [
    ...result.result.warnings.map((w) => formatIssue(w)),
    ...(result.result.ok ? argoCompatibility(result.result.bus).map((f) => `${f.path}: ${f.message}`) : []),
  ];
  return lines.length === 0 ? "" : documentHeading(result, count) + lines.map((l) => `warning: ${l}\n`).join("");
}
