import { ValueParseError, quote } from "./value-error.js";

const NANOS_PER = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
} as const;
type DurationUnit = keyof typeof NANOS_PER;

// Go's time.Duration is an int64 of nanoseconds.
const MAX_NANOS = 2n ** 63n - 1n;
const COMPONENT = /(\d*)(?:\.(\d*))?(ns|us|µs|ms|s|m|h)/y;

/**
 * A length of time written as Go writes it (`72h`, `4h35m`, `300s`, `1.5s`, `100ms`), as Argo Events
 * and nats-server read durations. Parsed once into exact nanoseconds; immutable. Negative durations
 * are not accepted: no EventBus field means a negative time.
 */
export class Duration {
  private constructor(
    /** The exact length in nanoseconds. */
    readonly exactNanos: bigint,
    /** The text as written, kept for round trips. */
    readonly text: string,
  ) {}

  /** Parses Go duration text; a bare `0` is zero. Throws `ValueParseError` with what is allowed. */
  static parse(text: string): Duration {
    const input = text.trim();
    if (input === "0") return new Duration(0n, text);
    if (input === "") throw new ValueParseError("must be a duration such as 72h, 4h35m or 300s, got an empty string");
    if (input.startsWith("-")) throw new ValueParseError(`must not be negative, got ${quote(text)}`);
    let nanos = 0n;
    let at = input.startsWith("+") ? 1 : 0;
    if (at === input.length) throw invalid(text);
    while (at < input.length) {
      COMPONENT.lastIndex = at;
      const match = COMPONENT.exec(input);
      const whole = match?.[1] ?? "";
      const fraction = match?.[2] ?? "";
      if (!match || (whole === "" && fraction === "")) throw invalid(text);
      const unit = NANOS_PER[match[3] as DurationUnit];
      nanos += BigInt(whole || "0") * unit;
      if (fraction !== "") nanos += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
      if (nanos > MAX_NANOS) throw new ValueParseError(`is longer than the longest duration (about 292 years), got ${quote(text)}`);
      at = COMPONENT.lastIndex;
    }
    return new Duration(nanos, text);
  }

  /** A duration of whole milliseconds, written compactly (`5m`, `1h30m`, `100ms`). */
  static fromMillis(ms: number): Duration {
    const nanos = BigInt(Math.round(ms * 1000)) * 1000n;
    return new Duration(nanos, formatNanos(nanos));
  }

  /** A duration of whole nanoseconds, as JetStream reports them, written compactly (`72h`, `2m30s`). */
  static fromNanos(nanos: bigint): Duration {
    if (nanos < 0n || nanos > MAX_NANOS) throw new ValueParseError(`must be between 0 and about 292 years, got ${nanos}ns`);
    return new Duration(nanos, formatNanos(nanos));
  }

  /** Nanoseconds as a number (exact up to about 104 days). */
  get nanos(): number {
    return Number(this.exactNanos);
  }

  /** Milliseconds; whole milliseconds stay exact across Go's whole range. */
  get millis(): number {
    return Number(this.exactNanos / 1_000_000n) + Number(this.exactNanos % 1_000_000n) / 1e6;
  }

  get seconds(): number {
    return Number(this.exactNanos) / 1e9;
  }

  isZero(): boolean {
    return this.exactNanos === 0n;
  }

  compare(other: Duration): number {
    return this.exactNanos === other.exactNanos ? 0 : this.exactNanos > other.exactNanos ? 1 : -1;
  }

  /** Compact canonical text: `168h`, `4h35m`, `5m`, `1.5s`, `100ms`, `0s`. */
  format(): string {
    return formatNanos(this.exactNanos);
  }

  toString(): string {
    return this.text || this.format();
  }

  /** The canonical text, so that equal durations serialize equally however they were written. */
  toJSON(): string {
    return this.format();
  }
}

function formatNanos(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  const hours = nanos / NANOS_PER.h;
  const minutes = (nanos % NANOS_PER.h) / NANOS_PER.m;
  const rest = nanos % NANOS_PER.m;
  const out = `${hours > 0n ? `${hours}h` : ""}${minutes > 0n ? `${minutes}m` : ""}`;
  if (rest === 0n) return out;
  if (out !== "" || rest >= NANOS_PER.s) return `${out}${decimal(rest, NANOS_PER.s)}s`;
  if (rest >= NANOS_PER.ms) return `${decimal(rest, NANOS_PER.ms)}ms`;
  if (rest >= NANOS_PER.us) return `${decimal(rest, NANOS_PER.us)}us`;
  return `${rest}ns`;
}

/** `value / unit` as exact decimal text without trailing zeros. */
function decimal(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const fraction = value % unit;
  if (fraction === 0n) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(fraction).padStart(digits, "0").replace(/0+$/, "")}`;
}

function invalid(text: string): ValueParseError {
  return new ValueParseError(`must be a duration such as 72h, 4h35m, 300s or 100ms (units h, m, s, ms, us, ns), got ${quote(text)}`);
}
