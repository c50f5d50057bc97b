// The built CLI as the benchmarks run it (a user's `eventbus`), and the memory of a process as
// the kernel counts it: shared by bench/up.ts, bench/memory.ts and bench/reconcile.ts.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** `dist/cli/main.js`; the benchmarks that run it refuse to start without a build. */
export const BUILT_CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));

/** Throws unless `dist/` is built. */
export function requireBuiltCli(): void {
  if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run \`npm run build\` (make bench does)`);
}

/** Runs `eventbus <args>` with EVENTBUS_HOME=`home`; its stdout, or an error with its stderr. */
export function runBuiltCli(args: readonly string[], home: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BUILT_CLI, ...args], { env: { ...process.env, EVENTBUS_HOME: home } }, (error, stdout, stderr) =>
      error ? reject(new Error(`eventbus ${args.join(" ")} failed: ${stderr}`)) : resolve(stdout),
    );
  });
}

const MB = 1024 * 1024;

/** VmRSS (resident now) and VmHWM (its peak) of a process, in MB; undefined once it is gone. */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number } | undefined> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN);
  const rss = kb("VmRSS");
  const peak = kb("VmHWM");
  // A process that has exited but not been reaped has no memory left to read.
  return Number.isNaN(rss) ? undefined : { rss: (rss * 1024) / MB, peak: (peak * 1024) / MB };
}
