import { ValueParseError, quote } from "./value-error.js";

// nats-server's config parser: a bare letter is a power of 1000, a letter with B or i a power of 1024.
const MULTIPLIERS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1024,
  ki: 1024,
  kib: 1024,
  m: 1e6,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  p: 1e15,
  pb: 1024 ** 5,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
};

const SIZE = /^(-?\d+)\s*([a-zA-Z]*)$/;

/** Options for {@link Size.parse}. */
export interface SizeParseOptions {
  /** Accept `-1`, the NATS spelling of "no limit". @default false */
  allowUnlimited?: boolean;
}

/**
 * A number of bytes written as nats-server reads sizes: `1048576`, `1MB` (1024²), `1M` (1000²),
 * `1GB`, `1TB`, and `-1` for "no limit" where the field allows it. Parsed once; immutable.
 */
export class Size {
  private constructor(
    /** Bytes, or -1 for no limit. */
    readonly bytes: number,
    /** The text as written, kept for round trips. */
    readonly text: string,
  ) {}

  static readonly UNLIMITED_BYTES = -1;

  /** Parses a size from YAML text or a YAML number. Throws `ValueParseError` with what is allowed. */
  static parse(input: string | number, options: SizeParseOptions = {}): Size {
    const text = String(input).trim();
    const match = SIZE.exec(text);
    const unit = match?.[2]?.toLowerCase() ?? "";
    const multiplier = Object.hasOwn(MULTIPLIERS, unit) ? MULTIPLIERS[unit] : undefined;
    if (!match || multiplier === undefined || (typeof input === "number" && !Number.isInteger(input))) {
      const allowed = options.allowUnlimited ? ", or -1 for no limit" : "";
      throw new ValueParseError(
        `must be a whole number of bytes with an optional unit (KB, MB, GB, TB; K, M, G, T are powers of 1000)${allowed}, got ${quote(input)}`,
      );
    }
    const number = Number(match[1]);
    if (number < 0) {
      if (number === -1 && unit === "" && options.allowUnlimited) return new Size(-1, text);
      throw new ValueParseError(
        options.allowUnlimited ? `must be -1 (no limit) or a size >= 0, got ${quote(input)}` : `must not be negative, got ${quote(input)}`,
      );
    }
    const bytes = number * multiplier;
    if (!Number.isSafeInteger(bytes)) throw new ValueParseError(`is too large, got ${quote(input)}`);
    return new Size(bytes, text);
  }

  static fromBytes(bytes: number): Size {
    return new Size(bytes, formatBytes(bytes));
  }

  isUnlimited(): boolean {
    return this.bytes === Size.UNLIMITED_BYTES;
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.text;
  }
}

/** Formats bytes with the largest binary unit that divides them (`1TB`, `20GB`, `1536KB`). */
export function formatBytes(bytes: number): string {
  if (bytes < 0) return String(bytes);
  for (const [unit, size] of [
    ["TB", 1024 ** 4],
    ["GB", 1024 ** 3],
    ["MB", 1024 ** 2],
    ["KB", 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
