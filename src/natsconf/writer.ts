/** A small writer of nats-server config text: entries, blocks, comments and includes, two-space indented. */
import { InvalidValueError } from "./errors.js";
import { assertSafeText, key } from "./values.js";

/** Builds config text line by line; values must already be rendered by the functions of `values.ts`. */
export class ConfWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  /** The current indentation. */
  get indent(): string {
    return "  ".repeat(this.depth);
  }

  /** `# text`; the text must be one line. */
  comment(text: string): this {
    assertSafeText(text, "comment");
    this.lines.push(`${this.indent}# ${text}`);
    return this;
  }

  blank(): this {
    this.lines.push("");
    return this;
  }

  /** `name: value`. */
  entry(name: string, value: string): this {
    this.lines.push(`${this.indent}${key(name)}: ${value}`);
    return this;
  }

  /** `name {`, indenting what follows until {@link close}. */
  open(name: string): this {
    this.lines.push(`${this.indent}${key(name)} {`);
    this.depth += 1;
    return this;
  }

  close(): this {
    this.depth -= 1;
    this.lines.push(`${this.indent}}`);
    return this;
  }

  /**
   * `include "path"`. nats reads an include path up to the next `"` without escapes, so a path with
   * `"` cannot be written; it resolves against the including file's directory.
   */
  include(path: string): this {
    assertSafeText(path, "include");
    if (path.includes('"')) throw new InvalidValueError("include", "an include path cannot contain '\"'");
    this.lines.push(`${this.indent}include "${path}"`);
    return this;
  }

  toString(): string {
    if (this.depth !== 0) throw new Error(`BUG: config text has ${this.depth} unclosed blocks`);
    return `${this.lines.join("\n")}\n`;
  }
}

/** `{ k1: v1, k2: v2 }` on one line, from already rendered values. */
export function inlineMap(entries: readonly (readonly [string, string])[]): string {
  return `{ ${entries.map(([k, v]) => `${key(k)}: ${v}`).join(", ")} }`;
}

/** `[v1, v2]` on one line, from already rendered values. */
export function inlineArray(values: readonly string[]): string {
  return `[${values.join(", ")}]`;
}
