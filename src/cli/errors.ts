/**
 * The CLI's own error: a message for stderr and the exit code, with a stable {@link CliErrorCode}.
 * Apart from `exit-codes.ts`, so that starting the CLI (`eventbus --version`) loads no area.
 */
import { EventBusError } from "../api/index.js";
import { ExitCode } from "./exit-codes.js";

/** Stable codes of the CLI's errors: what the exit code means. */
export const CliErrorCode = {
  /** Bad input (exit 2): a flag, a file or a value the command cannot use. Nothing was changed. */
  invalidInput: "CLI_INVALID_INPUT",
  /** The command failed at run time (exit 1). */
  failed: "CLI_FAILED",
  /** The command was interrupted (exit 130). */
  interrupted: "CLI_INTERRUPTED",
} as const;

/** One of the {@link CliErrorCode} values. */
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** An error the CLI reports as one line on stderr, with its exit code. */
export class CliError extends EventBusError {
  override readonly name = "CliError";
  /** What {@link CliError.exitCode} means. */
  readonly code: CliErrorCode;

  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.invalid,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = exitCode === ExitCode.invalid ? CliErrorCode.invalidInput : exitCode === ExitCode.interrupted ? CliErrorCode.interrupted : CliErrorCode.failed;
  }
}
