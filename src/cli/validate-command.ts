import { formatIssue, withDefaults, type DocumentResult } from "../api/index.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, plural, type Io, type OutputFormat } from "./io.js";
import { documentHeading, loadAndValidate, warningLines } from "./manifests.js";

export interface ValidateCommandOptions {
  file: string;
  output: OutputFormat;
  /** Print each valid manifest with every default written out. */
  defaults: boolean;
  /** Warnings are issues: a manifest with one is invalid. */
  strict?: boolean;
}

/** A document whose warnings count as issues (`--strict`). */
function strictly(entry: DocumentResult): DocumentResult {
  const { result } = entry;
  if (result.warnings.length === 0) return entry;
  return { ...entry, result: { ok: false, issues: [...result.issues, ...result.warnings], warnings: [] } };
}

/** `eventbus validate`: exit 0 when every document is valid, 2 otherwise; issues as `path: message`. */
export async function validateCommand(options: ValidateCommandOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadAndValidate(options.file, io);
  const results = options.strict ? loaded.map(strictly) : loaded;
  const valid = results.every((r) => r.result.ok);
  if (options.output !== "text") {
    const data = results.map(({ document, result }) => ({
      document: document.index,
      name: document.label,
      valid: result.ok,
      issues: result.issues,
      warnings: result.warnings,
      ...(result.ok && options.defaults && { manifest: withDefaults(result.bus) }),
    }));
    io.stdout(formatData(data, options.output));
    return valid ? ExitCode.ok : ExitCode.invalid;
  }
  for (const entry of results) {
    const { document, result } = entry;
    io.stderr(warningLines(entry, results.length));
    if (result.ok) {
      if (options.defaults) io.stdout((results.length > 1 ? "---\n" : "") + formatData(withDefaults(result.bus), "yaml"));
      else io.stdout(`${document.label}: valid (${result.bus.spec.mode})\n`);
    } else {
      io.stderr(documentHeading(entry, results.length) + result.issues.map((i) => `${formatIssue(i)}\n`).join(""));
    }
  }
  if (!valid) {
    const count = results.reduce((n, r) => n + r.result.issues.length, 0);
    io.stderr(`${plural(count, "issue")} found; nothing was applied\n`);
  }
  return valid ? ExitCode.ok : ExitCode.invalid;
}
