import { formatIssue, lint, type Finding, type LintProfile, type Severity } from "../api/index.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, plural, table, type Io, type OutputFormat } from "./io.js";
import { documentHeading, loadAndValidate, warningFindings } from "./manifests.js";

export interface LintCommandOptions {
  file: string;
  profile: LintProfile;
  output: OutputFormat;
}

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
const bySeverity = (a: Finding, b: Finding) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];

/**
 * `eventbus lint`: production-readiness findings of each valid document. Exit 2 when a document is
 * invalid (its issues are printed), 1 when an error-level finding exists, 0 otherwise.
 */
export async function lintCommand(options: LintCommandOptions, io: Io): Promise<ExitCode> {
  const results = await loadAndValidate(options.file, io);
  const reports = results.map((entry) => ({
    entry,
    findings: entry.result.ok ? [...warningFindings(entry), ...lint(entry.result.bus, options.profile)].sort(bySeverity) : [],
  }));
  const invalid = results.some((r) => !r.result.ok);
  const errors = reports.some((r) => r.findings.some((f) => f.severity === "error"));
  if (options.output !== "text") {
    const data = reports.map(({ entry, findings }) => ({
      document: entry.document.index,
      name: entry.document.label,
      profile: options.profile,
      valid: entry.result.ok,
      issues: entry.result.issues,
      findings,
    }));
    io.stdout(formatData(data, options.output));
  } else {
    for (const { entry, findings } of reports) {
      if (!entry.result.ok) {
        io.stderr(documentHeading(entry, results.length) + entry.result.issues.map((i) => `${formatIssue(i)}\n`).join(""));
        continue;
      }
      if (findings.length > 0) {
        io.stdout(
          table(
            ["SEVERITY", "RULE", "PATH", "MESSAGE"],
            findings.map((f) => [f.severity, f.rule, f.path, f.message]),
          ),
        );
      }
      const count = (s: string) => findings.filter((f) => f.severity === s).length;
      const summary =
        findings.length === 0 ? "no findings" : `${plural(count("error"), "error")}, ${plural(count("warning"), "warning")}, ${count("info")} info`;
      io.stdout(`${entry.document.label}: ${summary} (profile ${options.profile})\n`);
    }
  }
  return invalid ? ExitCode.invalid : errors ? ExitCode.failed : ExitCode.ok;
}
