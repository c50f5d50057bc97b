/**
 * How the CLI reports an error: one line (or the issues) on stderr, and the exit code. Loaded only
 * when a command fails, so that starting the CLI loads none of the areas whose errors it knows.
 */
import { EventBusValidationError, formatIssue, ManifestReadError } from "../api/index.js";
import { BusError, ClientErrorCode, isClientError } from "../client/index.js";
import { isKubeError, KubeConfigError, KubeExecPluginError } from "../platforms/kubernetes/index.js";
import { LocalErrorCode, LocalPlatformError } from "../platforms/local/index.js";
import { isToolsError } from "../tools/index.js";
import { isVersionsError } from "../versions/index.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { Io } from "./io.js";

/** Writes what went wrong to stderr and returns the exit code: 2 bad input, 1 failed, 130 interrupted. */
export function reportError(error: unknown, io: Io): ExitCode {
  if (error instanceof EventBusValidationError) {
    io.stderr(`${error.issues.map((i) => `${formatIssue(i)}\n`).join("")}${error.issues.length} issue(s); nothing was changed\n`);
    return ExitCode.invalid;
  }
  if (error instanceof ManifestReadError) {
    io.stderr(`eventbus: ${error.message}\n`);
    return ExitCode.invalid;
  }
  if (error instanceof LocalPlatformError) {
    io.stderr(`eventbus: ${error.message}\n${error.detail ? `${error.detail}\n` : ""}`);
    if (error.code === LocalErrorCode.interrupted) return ExitCode.interrupted;
    return error.isInputError ? ExitCode.invalid : ExitCode.failed;
  }
  if (isClientError(error)) {
    // Bad input (names, data, config, auth file, options) is exit 2; a bus that failed is exit 1.
    const invalid = !(error instanceof BusError) || error.code === ClientErrorCode.invalidOptions;
    io.stderr(
      error.message
        .split("\n")
        .map((line) => `eventbus: ${line}\n`)
        .join(""),
    );
    return invalid ? ExitCode.invalid : ExitCode.failed;
  }
  if (isToolsError(error) || isVersionsError(error)) {
    io.stderr(`eventbus: ${error.message}\n`);
    return ExitCode.failed;
  }
  if (error instanceof KubeExecPluginError) {
    // The kubeconfig's credential plugin gave no credential; its stderr may span lines.
    io.stderr(
      error.message
        .split("\n")
        .map((line) => `eventbus: ${line}\n`)
        .join(""),
    );
    return ExitCode.failed;
  }
  if (error instanceof KubeConfigError || isKubeError(error)) {
    // An unusable kubeconfig or images file: bad input, nothing was changed.
    io.stderr(`eventbus: ${error.message}\n`);
    return ExitCode.invalid;
  }
  if (error instanceof CliError) {
    io.stderr(`eventbus: ${error.message}\n`);
    return error.exitCode;
  }
  io.stderr(`eventbus: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
  return ExitCode.failed;
}
