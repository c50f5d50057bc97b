/**
 * The one way values enter nats-server config text. Strings are double-quoted with `\` and `"`
 * escaped, which is all nats' lexer interprets inside double quotes (no `$VAR`, `include` or `}`
 * is special there); a character that could end the value or the line is refused, never escaped.
 */
import type { Duration } from "../api/index.js";
import { InvalidValueError, UnsafeValueError } from "./errors.js";

// C0 and C1 controls (with \n, \r, \t and NUL), DEL, the Unicode line and paragraph separators, and
// lone UTF-16 surrogates (they cannot be written as UTF-8).
const UNSAFE_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What nats-server reads as a variable name after `$`, and a portable environment variable name. */
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Throws {@link UnsafeValueError} when `text` holds a character that may not appear in a config
 * line; the error names the character's code point and offset, never the text.
 * @param path - the config key, for the error
 */
export function assertSafeText(text: string, path: string): void {
  const match = UNSAFE_CHARACTER.exec(text);
  if (match !== null) {
    const codePoint = match[0].codePointAt(0) ?? 0;
    const name = `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
    throw new UnsafeValueError(path, `must not contain control characters, line breaks or lone surrogates (found ${name} at offset ${match.index})`);
  }
}

/** A string as one double-quoted nats config value. @throws {@link UnsafeValueError} */
export function quoteString(value: string, path: string): string {
  assertSafeText(value, path);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** An integer value. @throws {@link InvalidValueError} for a fraction, NaN or an unsafe integer */
export function integer(value: number, path: string): string {
  if (!Number.isSafeInteger(value)) throw new InvalidValueError(path, `must be an integer, got ${value}`);
  return String(value);
}

/** A duration as a quoted Go duration string (`"30s"`, `"1h30m"`, `"100ms"`). */
export function duration(value: Duration, path: string): string {
  return quoteString(value.format(), path);
}

/** A boolean value. */
export function boolean(value: boolean): string {
  return value ? "true" : "false";
}

/** A reference to a config variable or environment variable, `$NAME`. @throws {@link InvalidValueError} */
export function variable(name: string, path: string): string {
  if (!VARIABLE.test(name))
    throw new InvalidValueError(path, `a variable name must be letters, digits and '_', not starting with a digit, got ${JSON.stringify(name.slice(0, 64))}`);
  return `$${name}`;
}

/** An array of already rendered values, one per line. */
export function array(values: readonly string[], indent: string): string {
  if (values.length === 0) return "[]";
  return `[\n${values.map((v) => `${indent}  ${v}`).join("\n")}\n${indent}]`;
}

/** Checks a key that eventbus writes; keys never come from users. */
export function key(name: string): string {
  if (!KEY.test(name)) throw new InvalidValueError(name, "is not a plain config key");
  return name;
}
