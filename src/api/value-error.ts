import { ApiErrorCode, EventBusError } from "./errors.js";

/**
 * Thrown by the value-type parsers (`Duration`, `Size`, `Quantity`) on text they cannot read.
 * Validation turns it into an issue at the field's path; the message never repeats more of the
 * input than the field's own text.
 */
export class ValueParseError extends EventBusError {
  override readonly name = "ValueParseError";
  readonly code = ApiErrorCode.invalidValue;
  constructor(message: string) {
    super(message);
  }
}

/** Quotes a user value for an error message, cut short so a hostile value cannot flood a log. */
export function quote(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const short = text.length > 64 ? `${text.slice(0, 61)}...` : text;
  return JSON.stringify(short);
}
