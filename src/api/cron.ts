/**
 * Cron schedules as a Kubernetes CronJob takes them (robfig/cron's standard parser: five fields,
 * minute hour day-of-month month day-of-week, with `*`, lists, ranges, steps, month and weekday names,
 * and the `@hourly`-style macros), so that one `schedule` means the same run times to the local
 * supervisor and to a CronJob. Times are UTC, as a CronJob's without a `timeZone`.
 */
import { ValueParseError, quote } from "./value-error.js";

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
  { name: "day of week", min: 0, max: 6, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A parsed schedule: the allowed values of each field. */
export class CronSchedule {
  private constructor(
    /** The schedule as written. */
    readonly text: string,
    private readonly minutes: ReadonlySet<number>,
    private readonly hours: ReadonlySet<number>,
    private readonly daysOfMonth: ReadonlySet<number>,
    private readonly months: ReadonlySet<number>,
    private readonly daysOfWeek: ReadonlySet<number>,
    /** cron's rule: when both day fields are restricted, a day matching either runs. */
    private readonly eitherDay: boolean,
  ) {}

  /**
   * Parses a schedule.
   * @throws {@link ValueParseError} naming the field and what it allows
   */
  static parse(text: string): CronSchedule {
    const trimmed = text.trim();
    const expanded = MACROS[trimmed.toLowerCase()] ?? trimmed;
    const parts = expanded.split(/\s+/);
    if (parts.length !== 5) {
      throw new ValueParseError(
        `must be a cron schedule of 5 fields (minute hour day-of-month month day-of-week, such as "0 * * * *") or @hourly, @daily, @weekly, @monthly, @yearly, got ${quote(text)}`,
      );
    }
    const sets = parts.map((part, i) => parseField(part, FIELDS[i]!));
    // Sunday may also be written 7.
    if (sets[4]!.has(7)) sets[4]!.add(0);
    sets[4]!.delete(7);
    return new CronSchedule(trimmed, sets[0]!, sets[1]!, sets[2]!, sets[3]!, sets[4]!, parts[2] !== "*" && parts[4] !== "*");
  }

  /** The first run time strictly after `from` (UTC, whole minutes). */
  next(from: Date): Date {
    const t = new Date(from.getTime());
    t.setUTCSeconds(0, 0);
    t.setUTCMinutes(t.getUTCMinutes() + 1);
    // Five years of minutes bounds a schedule that never fires (such as 30 February).
    const limit = from.getTime() + 5 * 366 * 24 * 3600 * 1000;
    while (t.getTime() <= limit) {
      if (!this.months.has(t.getUTCMonth() + 1)) {
        t.setUTCMonth(t.getUTCMonth() + 1, 1);
        t.setUTCHours(0, 0);
        continue;
      }
      if (!this.dayMatches(t)) {
        t.setUTCDate(t.getUTCDate() + 1);
        t.setUTCHours(0, 0);
        continue;
      }
      if (!this.hours.has(t.getUTCHours())) {
        t.setUTCHours(t.getUTCHours() + 1, 0);
        continue;
      }
      if (!this.minutes.has(t.getUTCMinutes())) {
        t.setUTCMinutes(t.getUTCMinutes() + 1);
        continue;
      }
      return t;
    }
    throw new ValueParseError(`schedule ${quote(this.text)} never runs`);
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.text;
  }

  private dayMatches(t: Date): boolean {
    const dom = this.daysOfMonth.has(t.getUTCDate());
    const dow = this.daysOfWeek.has(t.getUTCDay());
    return this.eitherDay ? dom || dow : dom && dow;
  }
}

function parseField(part: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  const max = spec.name === "day of week" ? 7 : spec.max;
  for (const item of part.split(",")) {
    const [range, stepText] = item.split("/") as [string, string | undefined];
    const step = stepText === undefined ? 1 : wholeNumber(stepText, spec, item);
    if (step < 1) throw fieldError(spec, item, "a step must be 1 or more");
    let low: number;
    let high: number;
    if (range === "*" || range === "?") {
      low = spec.min;
      high = spec.max;
    } else if (range.includes("-")) {
      const [a, b] = range.split("-") as [string, string];
      low = value(a, spec, item);
      high = value(b, spec, item);
    } else {
      low = value(range, spec, item);
      high = stepText === undefined ? low : spec.max;
    }
    if (low < spec.min || high > max || low > high)
      throw fieldError(spec, item, `values must be ${spec.min}–${spec.max}${spec.names ? ` or ${spec.names[0]}–${spec.names.at(-1)}` : ""}, low before high`);
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return values;
}

function value(text: string, spec: FieldSpec, item: string): number {
  const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (spec.name === "month" ? 1 : 0);
  return wholeNumber(text, spec, item);
}

function wholeNumber(text: string, spec: FieldSpec, item: string): number {
  if (!/^\d{1,2}$/.test(text)) throw fieldError(spec, item, "must be a number, a name, *, a range a-b or a step /n");
  return Number(text);
}

function fieldError(spec: FieldSpec, item: string, why: string): ValueParseError {
  return new ValueParseError(`${spec.name} ${quote(item)}: ${why}`);
}
