import { request } from "node:http";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import type { BusPaths } from "./home.js";
import { readControl, type ControlFile } from "./state-file.js";
import type { SupervisorEvent, SupervisorStatus } from "./supervisor.js";

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The control file of a bus whose supervisor is alive, or undefined. */
export async function liveControl(paths: BusPaths): Promise<ControlFile | undefined> {
  const control = await readControl(paths.control).catch(() => undefined);
  return control && isAlive(control.pid) ? control : undefined;
}

function call(control: ControlFile, method: string, path: string, onLine?: (line: unknown) => void, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: control.port, method, path, headers: { authorization: `Bearer ${control.token}` }, timeout: timeoutMs },
      (res) => {
        let buffer = "";
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
          if (!onLine) return;
          buffer += chunk;
          let newline: number;
          while ((newline = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.trim() !== "") onLine(JSON.parse(line));
          }
        });
        res.on("end", () =>
          res.statusCode === 200 ? resolve(body) : reject(new LocalPlatformError(LocalErrorCode.control, `supervisor answered ${res.statusCode}`)),
        );
      },
    );
    req.on("timeout", () => req.destroy(new LocalPlatformError(LocalErrorCode.control, `supervisor did not answer within ${timeoutMs}ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** The supervisor's status. */
export async function supervisorStatus(control: ControlFile): Promise<SupervisorStatus> {
  return JSON.parse(await call(control, "GET", "/status")) as SupervisorStatus;
}

/** Runs a long supervisor operation, passing each progress event on; throws its error. */
export async function supervisorOperation(control: ControlFile, operation: "apply" | "stop", onEvent: (event: SupervisorEvent) => void): Promise<void> {
  let outcome: { ok: boolean; error?: string } | undefined;
  await call(
    control,
    "POST",
    `/${operation}`,
    (line) => {
      const message = line as { event?: SupervisorEvent; done?: boolean; ok?: boolean; error?: string };
      if (message.event) onEvent(message.event);
      if (message.done) outcome = { ok: message.ok === true, ...(message.error !== undefined && { error: message.error }) };
    },
    15 * 60_000,
  );
  if (!outcome) throw new LocalPlatformError(LocalErrorCode.control, `the supervisor stopped answering during ${operation}`);
  if (!outcome.ok) throw new LocalPlatformError(LocalErrorCode.operationFailed, outcome.error ?? `${operation} failed`);
}

/** One line for a supervisor event. */
export function formatEvent(event: SupervisorEvent): string {
  return `  ${event.server ? `${event.server}: ` : ""}${event.message}`;
}
