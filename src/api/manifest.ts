import { parseAllDocuments } from "yaml";
import { ManifestReadError } from "./errors.js";
import { validate, type ValidateOptions, type ValidationResult } from "./validate.js";

/** One document of a YAML stream. */
export interface ManifestDocument {
  /** 1-based position in the stream, counting only non-empty documents. */
  readonly index: number;
  readonly value: unknown;
  /** `EventBus/<name>` when the document names itself, for messages. */
  readonly label: string;
}

/**
 * Reads a multi-document YAML (or JSON) text. Empty documents are skipped; a syntax error anywhere
 * fails the whole text with its line, so that nothing is applied from a half-read file.
 */
export function readManifests(text: string, source: string): ManifestDocument[] {
  const documents = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, logLevel: "silent" });
  const list = Array.isArray(documents) ? documents : [documents];
  const out: ManifestDocument[] = [];
  for (const doc of list) {
    const error = doc.errors[0] ?? doc.warnings[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      // Only the first line of the message: the rest quotes the source, which may hold a secret.
      const reason = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      throw new ManifestReadError(`${source}${line ? `:${line}` : ""}: not valid YAML: ${reason}`, source);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // An alias without its anchor, or too many aliases.
      if (!(err instanceof Error)) throw err;
      throw new ManifestReadError(`${source}: not valid YAML: ${err.message.split("\n")[0]}`, source);
    }
    if (value === null || value === undefined) continue;
    out.push({ index: out.length + 1, value, label: labelOf(value, out.length + 1) });
  }
  if (out.length === 0) throw new ManifestReadError(`${source}: no documents found`, source);
  return out;
}

/** A document and the outcome of validating it. */
export interface DocumentResult {
  readonly document: ManifestDocument;
  readonly result: ValidationResult;
}

/** Reads and validates every document of a text. */
export function validateManifests(text: string, source: string, options: ValidateOptions = {}): DocumentResult[] {
  return readManifests(text, source).map((document) => ({ document, result: validate(document.value, options) }));
}

function labelOf(value: unknown, index: number): string {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const v = value as { kind?: unknown; metadata?: { name?: unknown } };
    const kind = typeof v.kind === "string" ? v.kind : "document";
    const name = typeof v.metadata?.name === "string" ? v.metadata.name : undefined;
    return name ? `${kind}/${name}` : `${kind} #${index}`;
  }
  return `document #${index}`;
}
