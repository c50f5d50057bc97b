import { LineCounter, parseAllDocuments } from "yaml";
import { ManifestReadError } from "./errors.js";
import { validate, type ValidateOptions, type ValidationResult } from "./validate.js";
import { firstDuplicateKey } from "./yaml-keys.js";

/**
 * The largest manifest text read, in bytes: the Kubernetes API server's limit on a request body
 * (3 MiB), so nothing larger could be applied there either.
 */
export const MAX_MANIFEST_BYTES = 3 * 1024 * 1024;
const MIB = 1024 * 1024;

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
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_MANIFEST_BYTES) {
    throw new ManifestReadError(
      `${source}: is ${bytes} bytes (${(bytes / MIB).toFixed(1)} MiB); a manifest may be at most ${MAX_MANIFEST_BYTES} bytes (3 MiB, the Kubernetes API's request limit)`,
      source,
    );
  }
  // The parser's own duplicate-key check is quadratic in a mapping's keys; firstDuplicateKey is linear.
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: true, logLevel: "silent", lineCounter });
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
    const duplicate = firstDuplicateKey(doc);
    if (duplicate) {
      const line = duplicate.range ? lineCounter.linePos(duplicate.range[0]).line : 0;
      throw new ManifestReadError(`${source}${line ? `:${line}` : ""}: not valid YAML: Map keys must be unique`, source);
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
