/** Process exit codes of the CLI. */
export const ExitCode = {
  ok: 0,
  /** The command ran and found problems (lint errors), or failed at run time. */
  failed: 1,
  /** Bad input: invalid manifest, unreadable file, unknown flag. Nothing was changed. */
  invalid: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line on stderr, with its exit code. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.invalid,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
