import { ValueParseError, quote } from "./value-error.js";

const BINARY: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Readonly<Record<string, number>> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

// Kubernetes' quantity grammar: a signed decimal number, then a binary suffix, a decimal suffix or an exponent.
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/**
 * A Kubernetes resource quantity (`20Gi`, `10G`, `500Mi`, `1.5Gi`, `100m`, `1e3`), as the API server
 * accepts it. Parsed once; immutable.
 */
export class Quantity {
  private constructor(
    /** The amount in base units (bytes for storage, cores for CPU). */
    readonly value: number,
    /** The text as written, kept for round trips and Kubernetes objects. */
    readonly text: string,
  ) {}

  /** Parses a quantity; a YAML number is read as its decimal text. Throws `ValueParseError`. */
  static parse(input: string | number): Quantity {
    const text = String(input).trim();
    const match = QUANTITY.exec(text);
    if (!match) {
      throw new ValueParseError(
        `must be a Kubernetes quantity such as 20Gi, 500Mi or 10G (suffixes Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E), got ${quote(input)}`,
      );
    }
    const number = Number(match[1]);
    const suffix = match[2] ?? "";
    const multiplier = BINARY[suffix] ?? DECIMAL[suffix] ?? 10 ** Number(suffix.slice(1));
    const value = number * multiplier;
    if (!Number.isFinite(value)) throw new ValueParseError(`is too large, got ${quote(input)}`);
    return new Quantity(value, text);
  }

  /** Whole bytes, rounded up as Kubernetes rounds storage requests. */
  get bytes(): number {
    return Math.ceil(this.value);
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.text;
  }
}
