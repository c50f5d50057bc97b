import { InvalidSubjectTokenError } from "./errors.js";

// Whitespace and control characters end a NATS protocol field; `.` splits tokens; `*` and `>` are wildcards.
const FORBIDDEN = /[.*>\s\p{Cc}]/u;

/**
 * Checks that `value` is one NATS subject token, as an event source name or event name must be to
 * make the subject `default.<source>.<event>` have exactly three tokens.
 * @param field - the event field the name is for, named in the error (`source`, `subject`, …)
 * @throws {@link InvalidSubjectTokenError} when it is empty or holds `.`, `*`, `>`, whitespace or a control character
 */
export function checkSubjectToken(field: string, value: string): string {
  if (typeof value !== "string") throw new InvalidSubjectTokenError(field, String(value), "must be a string");
  if (value === "") throw new InvalidSubjectTokenError(field, value, "must not be empty");
  const bad = FORBIDDEN.exec(value);
  if (bad) {
    const ch = bad[0];
    const what =
      ch === "."
        ? '"." (it separates subject tokens)'
        : ch === "*" || ch === ">"
          ? `the wildcard ${JSON.stringify(ch)}`
          : /\s/u.test(ch)
            ? "whitespace"
            : "a control character";
    throw new InvalidSubjectTokenError(field, value, `must be a single NATS subject token and must not contain ${what}`);
  }
  return value;
}
