import { ValueParseError, quote } from "./value-error.js";

const NANOS_PER = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
} as const;
type DurationUnit = keyof typeof NANOS_PER;

const COMPONENT = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * A length of time written as Go writes it (`72h`, `4h35m`, `300s`, `1.5s`, `100ms`), as Argo Events
 * and nats-server read durations. Parsed once; immutable. Negative durations are not accepted: no
 * EventBus field means a negative time.
 */
export class Duration {
  private constructor(
    /** The length in nanoseconds. */
    readonly nanos: number,
    /** The text as written, kept for round trips. */
    readonly text: string,
  ) {}

  /** Parses Go duration text; a bare `0` is zero. Throws `ValueParseError` with what is allowed. */
  static parse(text: string): Duration {
    const input = text.trim();
    if (input === "0") return new Duration(0, text);
    if (input === "") throw new ValueParseError("must be a duration such as 72h, 4h35m or 300s, got an empty string");
    if (input.startsWith("-")) throw new ValueParseError(`must not be negative, got ${quote(text)}`);
    let nanos = 0;
    let at = input.startsWith("+") ? 1 : 0;
    if (at === input.length) throw invalid(text);
    while (at < input.length) {
      COMPONENT.lastIndex = at;
      const match = COMPONENT.exec(input);
      if (!match) throw invalid(text);
      nanos += Number(match[1]) * NANOS_PER[match[2] as DurationUnit];
      at = COMPONENT.lastIndex;
    }
    if (!Number.isFinite(nanos)) throw invalid(text);
    return new Duration(Math.round(nanos), text);
  }

  /** A duration of whole milliseconds, written compactly (`5m`, `1h30m`, `100ms`). */
  static fromMillis(ms: number): Duration {
    const d = new Duration(Math.round(ms * 1e6), "");
    return new Duration(d.nanos, d.format());
  }

  get millis(): number {
    return this.nanos / 1e6;
  }

  get seconds(): number {
    return this.nanos / 1e9;
  }

  isZero(): boolean {
    return this.nanos === 0;
  }

  compare(other: Duration): number {
    return Math.sign(this.nanos - other.nanos);
  }

  /** Compact canonical text: `168h`, `4h35m`, `5m`, `1.5s`, `100ms`, `0s`. */
  format(): string {
    if (this.nanos === 0) return "0s";
    let rest = this.nanos;
    let out = "";
    for (const [unit, size] of [["h", 3600e9], ["m", 60e9]] as const) {
      const whole = Math.floor(rest / size);
      if (whole > 0) out += `${whole}${unit}`;
      rest -= whole * size;
    }
    if (rest === 0) return out;
    if (out !== "" || rest >= 1e9) return `${out}${trimNumber(rest / 1e9)}s`;
    if (rest >= 1e6) return `${trimNumber(rest / 1e6)}ms`;
    if (rest >= 1e3) return `${trimNumber(rest / 1e3)}us`;
    return `${rest}ns`;
  }

  toString(): string {
    return this.text || this.format();
  }

  /** The canonical text, so that equal durations serialize equally however they were written. */
  toJSON(): string {
    return this.format();
  }
}

function trimNumber(n: number): string {
  return String(Number(n.toFixed(9)));
}

function invalid(text: string): ValueParseError {
  return new ValueParseError(
    `must be a duration such as 72h, 4h35m, 300s or 100ms (units h, m, s, ms, us, ns), got ${quote(text)}`,
  );
}
