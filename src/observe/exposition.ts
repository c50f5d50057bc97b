/**
 * The Prometheus text exposition format, version 0.0.4: label escaping, sample values and whole
 * families. No dependency: the format is small. Both the local supervisor and the controller
 * write it with these functions.
 */
import type { MetricFamily } from "./metrics-catalog.js";

/** The content type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label names to values, in the order they are written. */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a family. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/** A label value with `\`, newline and `"` escaped. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

/** `{a="1",b="2"}`, or the empty string without labels. */
export function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

/** A sample value as the format writes it: `NaN`, `+Inf` and `-Inf` for the special ones. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** A help text with `\` and newline escaped, as a `# HELP` line needs. */
export function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** The `# HELP` and `# TYPE` lines of a family and one line per sample (no trailing newline). */
export function renderFamily(family: Pick<MetricFamily, "name" | "type" | "help">, samples: readonly Sample[]): string {
  const lines = [`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`];
  for (const s of samples) lines.push(`${family.name}${labelText(s.labels)} ${formatValue(s.value)}`);
  return lines.join("\n");
}
