import { readFile } from "node:fs/promises";
import { Option } from "commander";
import { stringify } from "yaml";
import { CliError } from "./errors.js";
import type { Io } from "./process-io.js";

export { processIo, type Io } from "./process-io.js";

/** Output formats of commands that print data. */
export const OutputFormat = { text: "text", json: "json", yaml: "yaml" } as const;
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];

/** `-o, --output <format>` with the formats a command prints, the first the default unless another is named. */
export function outputOption(formats: readonly string[] = Object.values(OutputFormat), fallback: string = formats[0]!, description = "output format"): Option {
  return new Option("-o, --output <format>", description).choices(formats).default(fallback);
}

/** Reads a file argument; `-` is standard input. A missing or unreadable file is one clear line. */
export async function readInput(file: string, io: Io): Promise<string> {
  if (file === "-") return io.stdin();
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (error as Error).message;
    throw new CliError(`${file}: ${reason}`, undefined, { cause: error });
  }
}

export { table } from "../view/index.js";

/** Data as JSON or YAML text; keys keep their order, so the output is deterministic. */
export function formatData(data: unknown, format: "json" | "yaml"): string {
  return format === "json" ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { lineWidth: 0 });
}

/** `1 error`, `2 warnings`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** A byte count as people read it: `512 B`, `1.5 MiB`. */
export function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
