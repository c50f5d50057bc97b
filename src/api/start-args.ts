import type { Issues, Path } from "./issues.js";
import { quote } from "./value-error.js";

/** How an allowed nats-server flag takes its value. */
const FlagValue = {
  /** Go's `flag.BoolVar`: `-D`, or `-D=true` / `-D=false`; never a separate value. */
  boolean: "boolean",
  /** Go's `flag.IntVar` holding a length: `--flag=N` or `--flag N`, N a whole number >= 0. */
  count: "count",
} as const;
type FlagValue = (typeof FlagValue)[keyof typeof FlagValue];

/** A nats-server flag that `startArgs` may pass, under each name nats-server defines for it. */
interface AllowedFlag {
  /** The names as nats-server's usage writes them, with their dashes. */
  readonly spellings: readonly string[];
  readonly value: FlagValue;
}

/**
 * The nats-server flags `startArgs` may pass: the ones that only change what the log says (debug,
 * trace, timestamps, traced message length). Everything else on the command line would override
 * what eventbus writes into nats.conf (listeners, auth, TLS, storage, cluster), move or redirect
 * files (config, log, pid, ports), or make the server exit (`-t`, `-h`, `-v`, `--signal`). Names
 * and value types as nats-server 2.10 and 2.11 define them (`ConfigureOptions` in server/opts.go).
 */
export const ALLOWED_START_FLAGS: readonly AllowedFlag[] = [
  { spellings: ["-D", "--debug"], value: FlagValue.boolean },
  { spellings: ["-V", "--trace"], value: FlagValue.boolean },
  { spellings: ["-VV"], value: FlagValue.boolean },
  { spellings: ["-DV"], value: FlagValue.boolean },
  { spellings: ["-DVV"], value: FlagValue.boolean },
  { spellings: ["-T", "--logtime"], value: FlagValue.boolean },
  { spellings: ["--logtime_utc"], value: FlagValue.boolean },
  { spellings: ["--max_traced_msg_len"], value: FlagValue.count },
];

// Go's flag package reads `-name` and `--name` alike, so a flag is found by its bare name.
const BY_NAME = new Map(ALLOWED_START_FLAGS.flatMap((flag) => flag.spellings.map((s) => [s.replace(/^-+/, ""), flag] as const)));

const ALLOWED_LIST = ALLOWED_START_FLAGS.map((f) => f.spellings.map((s) => (f.value === FlagValue.count ? `${s} <n>` : s)).join(", ")).join(", ");
const ALLOWED_HINT = `allowed flags: ${ALLOWED_LIST} (one or two dashes; a boolean flag may end in =true or =false)`;

// Go's flag.IntVar reads 0x.., 0o.., 1_000 and leading zeros as well; only plain decimals are taken.
const COUNT = /^(0|[1-9]\d*)$/;

/**
 * `startArgs` go onto the nats-server command line, where Go's flag package reads `-flag`,
 * `--flag`, `-flag=value`, `--flag=value` and `-flag value`. Only the flags of
 * {@link ALLOWED_START_FLAGS} pass, in any of those spellings that nats-server accepts for them;
 * any other flag, and any argument that is not the value of the allowed flag before it, is an
 * issue at its index (nats-server would read a stray word as a command, and stops reading flags
 * at the first one).
 */
export function checkStartArgs(args: readonly string[], path: Path, issues: Issues): void {
  const refuse = (i: number, why = "") => issues.add([...path, i], `${quote(args[i])} is not allowed${why}; ${ALLOWED_HINT}`);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (/[\n\r\0]/.test(arg)) {
      issues.add([...path, i], "must be one line without control characters");
      continue;
    }
    if (arg === "--") {
      refuse(i, " (it ends nats-server's flags)");
      continue;
    }
    const match = /^--?([^-=][^=]*)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      refuse(i, arg.startsWith("-") && arg !== "-" ? "" : " (not a flag, nor the value of the flag before it)");
      continue;
    }
    const [, name, value] = match as unknown as [string, string, string | undefined];
    const flag = BY_NAME.get(name);
    if (flag === undefined) {
      refuse(i);
      continue;
    }
    const spelled = arg.slice(0, arg.length - (value === undefined ? 0 : value.length + 1));
    if (flag.value === FlagValue.boolean) {
      if (value !== undefined && value !== "true" && value !== "false") {
        issues.add([...path, i], `${quote(arg)} is not allowed: write ${spelled}, ${spelled}=true or ${spelled}=false`);
      }
      continue;
    }
    // A flag with a value takes the next argument when it has no `=value`, whatever it looks like.
    let at = i;
    let given = value;
    if (given === undefined) {
      if (i + 1 >= args.length) {
        issues.add([...path, i], `${quote(arg)} needs a value: a whole number >= 0 (${spelled}=N or ${spelled} N)`);
        continue;
      }
      at = ++i;
      given = args[at]!;
    }
    if (!COUNT.test(given) || !Number.isSafeInteger(Number(given))) {
      issues.add([...path, at], `${quote(given)}: the value of ${spelled} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
    }
  }
}
