/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it throws
 * on anything Prometheus would reject or that hides a mistake (a malformed line, a sample without
 * a `# TYPE`, a family declared twice or split, a series given twice, a bad escape).
 */

/** One sample line. */
export interface ParsedSample {
  /** The sample's name (a histogram's samples end in `_bucket`, `_sum`, `_count`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One family: its `# TYPE`, its `# HELP` (when given) and its samples in order. */
export interface ParsedFamily {
  readonly name: string;
  readonly type: string;
  readonly help?: string;
  readonly samples: readonly ParsedSample[];
}

/** A malformed exposition, with the line it is on (1-based). */
export class ExpositionError extends Error {
  override readonly name = "ExpositionError";
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SUFFIXES: Record<string, readonly string[]> = { histogram: ["_bucket", "_sum", "_count"], summary: ["_sum", "_count"] };

/** Parses the text into its families, by name, in the order they appear. */
export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, { name: string; type: string; help?: string; samples: ParsedSample[] }>();
  const helps = new Map<string, string>();
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  else if (text !== "") throw new ExpositionError(lines.length, "the text does not end with a newline");
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) {
        if (/^#\s*(HELP|TYPE)\b/.test(line)) throw new ExpositionError(n, `malformed ${line.slice(0, 40)}`);
        return; // another comment
      }
      const [, kind, name, rest = ""] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new ExpositionError(n, `bad metric name ${JSON.stringify(name)}`);
      if (kind === "HELP") {
        if (helps.has(name)) throw new ExpositionError(n, `a second HELP for ${name}`);
        helps.set(name, unescapeHelp(rest, n));
        const family = families.get(name);
        if (family) family.help = helps.get(name)!;
        return;
      }
      if (!TYPES.has(rest)) throw new ExpositionError(n, `unknown type ${JSON.stringify(rest)} of ${name}`);
      if (families.has(name)) throw new ExpositionError(n, `family ${name} is declared twice`);
      if (current !== undefined) closed.add(current);
      families.set(name, { name, type: rest, ...(helps.has(name) && { help: helps.get(name)! }), samples: [] });
      current = name;
      return;
    }
    const sample = parseSample(line, n);
    const family = familyOf(sample.name, families);
    if (!family) throw new ExpositionError(n, `sample ${sample.name} has no # TYPE before it`);
    if (closed.has(family.name) || current !== family.name)
      throw new ExpositionError(n, `sample ${sample.name} is apart from the rest of family ${family.name}`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (series.has(key)) throw new ExpositionError(n, `series ${sample.name}${JSON.stringify(sample.labels)} is given twice`);
    series.add(key);
    family.samples.push(sample);
  });
  return families;
}

function familyOf<T extends { name: string; type: string }>(sampleName: string, families: Map<string, T>): T | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  for (const [name, family] of families) {
    if ((SUFFIXES[family.type] ?? []).some((suffix) => sampleName === `${name}${suffix}`)) return family;
  }
  return undefined;
}

function parseSample(line: string, n: number): ParsedSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new ExpositionError(n, `malformed line ${JSON.stringify(line.slice(0, 60))}`);
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === "{") {
    pos++;
    while (line[pos] !== "}") {
      const labelMatch = /^([^=]*)="/.exec(line.slice(pos));
      if (!labelMatch || !LABEL_NAME.test(labelMatch[1]!)) throw new ExpositionError(n, `malformed label at column ${pos + 1}`);
      const labelName = labelMatch[1]!;
      if (labelName in labels) throw new ExpositionError(n, `label ${labelName} given twice`);
      pos += labelMatch[0].length;
      let value = "";
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw new ExpositionError(n, `unterminated value of label ${labelName}`);
        pos++;
        if (c === '"') break;
        if (c === "\\") {
          const e = line[pos++];
          if (e === "\\") value += "\\";
          else if (e === '"') value += '"';
          else if (e === "n") value += "\n";
          else throw new ExpositionError(n, `bad escape \\${e ?? ""} in label ${labelName}`);
        } else value += c;
      }
      labels[labelName] = value;
      if (line[pos] === ",") pos++;
      else if (line[pos] !== "}") throw new ExpositionError(n, `expected , or } after label ${labelName}`);
    }
    pos++;
  }
  const rest = line.slice(pos);
  const m = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!m) throw new ExpositionError(n, `malformed value ${JSON.stringify(rest)}`);
  return { name, labels, value: parseValue(m[1]!, n) };
}

function parseValue(text: string, n: number): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(n, `bad value ${JSON.stringify(text)}`);
  return Number(text);
}

function unescapeHelp(text: string, n: number): string {
  return text.replace(/\\(.?)/g, (_, e: string) => {
    if (e === "\\") return "\\";
    if (e === "n") return "\n";
    throw new ExpositionError(n, `bad escape \\${e} in HELP`);
  });
}

/** The value of the one sample of `name` whose labels include `labels`; throws when there is not exactly one. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const found = [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}`);
  return found[0]!.value;
}
