/** Running the CLI as a user does: a separate node process from the repository root. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** What a CLI run printed and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCliProcess}. */
export interface CliProcessOptions {
  /** Variables set over this process's environment (`EVENTBUS_HOME`, …). */
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the CLI after this long, so a hang fails the test instead of stalling the suite. @default none */
  readonly timeoutMillis?: number;
}

/** Runs `eventbus <args>` with optional standard input, and resolves with its exit code and output. */
export function runCliProcess(args: readonly string[], stdin?: string, options: CliProcessOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", join(root, "src/cli/main.ts"), ...args],
      { cwd: root, env: { ...process.env, ...options.env }, ...(options.timeoutMillis !== undefined && { timeout: options.timeoutMillis }) },
      (error, stdout, stderr) => {
        if (error?.killed) return reject(new Error(`eventbus ${args.join(" ")} did not exit within ${options.timeoutMillis} ms`));
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(stdin ?? "");
  });
}

/**
 * Runs `eventbus <args>` in this process, as main.ts does, with captured output: quicker than a
 * process for the many commands a test runs. `home` is `$EVENTBUS_HOME` for the run (the CLI reads
 * it from the environment), restored afterwards.
 */
export async function runCliHere(args: readonly string[], options: { readonly home?: string; readonly stdin?: string } = {}): Promise<CliRun> {
  const { runCli } = await import("../../src/cli/program.js");
  const saved = process.env.EVENTBUS_HOME;
  if (options.home !== undefined) process.env.EVENTBUS_HOME = options.home;
  let stdout = "";
  let stderr = "";
  try {
    const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stdin: async () => options.stdin ?? "" });
    return { code, stdout, stderr };
  } finally {
    if (saved === undefined) delete process.env.EVENTBUS_HOME;
    else process.env.EVENTBUS_HOME = saved;
  }
}
