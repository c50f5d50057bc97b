/** What the client commands (publish, subscribe, stream) share: output formats and number flags. */
import { outputOption as commonOutputOption } from "./io.js";
import { CliError } from "./errors.js";

/** Output formats of the client commands. */
export const ClientOutput = { table: "table", json: "json", yaml: "yaml" } as const;
/** One of the {@link ClientOutput} values. */
export type ClientOutput = (typeof ClientOutput)[keyof typeof ClientOutput];

export const outputOption = (formats: readonly ClientOutput[]) => commonOutputOption(formats, ClientOutput.table);
export const utf8 = new TextEncoder();
export const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function wholeNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new CliError(`${flag}: must be a whole number >= 1, got ${JSON.stringify(text)}`);
  return n;
}

export function positiveNumber(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) throw new CliError(`${flag}: must be a number > 0, got ${JSON.stringify(text)}`);
  return n;
}
