import { ManifestReadError, validateManifests, type DocumentResult } from "../api/index.js";
import { knownJetStreamVersions } from "../tools/index.js";
import { CliError } from "./exit-codes.js";
import { readInput, type Io } from "./io.js";

/** Reads `-f FILE|-` and validates each document against the installed versions table. */
export async function loadAndValidate(file: string, io: Io): Promise<DocumentResult[]> {
  const text = await readInput(file, io);
  try {
    return validateManifests(text, file === "-" ? "<stdin>" : file, { jetstreamVersions: knownJetStreamVersions() });
  } catch (error) {
    if (error instanceof ManifestReadError) throw new CliError(error.message, undefined, { cause: error });
    throw error;
  }
}

/** The heading of a document's lines when a file holds several. */
export function documentHeading(result: DocumentResult, count: number): string {
  return count > 1 ? `${result.document.label} (document ${result.document.index}):\n` : "";
}
