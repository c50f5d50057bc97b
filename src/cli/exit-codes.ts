/** Process exit codes of the CLI. */
export const ExitCode = {
  ok: 0,
  /** The command ran and found problems (lint errors), or failed at run time. */
  failed: 1,
  /** Bad input: invalid manifest, unreadable file, unknown flag. Nothing was changed. */
  invalid: 2,
  /** Interrupted by SIGINT or SIGTERM (128 + SIGINT, as shells report it); the message says what was left. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
