import { open, stat } from "node:fs/promises";

/** A log file to follow, and the label its lines are printed with. */
export interface LogSource {
  readonly label: string;
  readonly file: string;
}

/** Options of {@link followLogs}. */
export interface FollowOptions {
  /** Skip lines that nats-server stamped before this time (earlier runs in the same file). */
  readonly since?: Date;
  /** Start at the files' current end instead of their beginning. @default false */
  readonly fromEnd?: boolean;
  /** @default 200 */
  readonly intervalMillis?: number;
}

// nats-server's log prefix: "[pid] 2026/11/25 15:47:05.565253 [INF] ".
const STAMP = /^\[\d+\] (\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/;

function stampOf(line: string): Date | undefined {
  const m = STAMP.exec(line);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : undefined;
}

/**
 * Passes every line appended to the files to `onLine` until `signal` aborts, like `tail -F`: a file
 * that does not exist yet is waited for, and one that shrinks (replaced) is read again from its start.
 */
export async function followLogs(
  sources: readonly LogSource[],
  onLine: (label: string, line: string) => void,
  signal: AbortSignal,
  options: FollowOptions = {},
): Promise<void> {
  const offsets = new Map<string, number>();
  const partial = new Map<string, string>();
  for (const { file } of sources)
    offsets.set(
      file,
      options.fromEnd
        ? await stat(file).then(
            (s) => s.size,
            () => 0,
          )
        : 0,
    );
  const since = options.since ? Math.floor(options.since.getTime() / 1000) * 1000 : undefined;
  while (!signal.aborted) {
    for (const { label, file } of sources) {
      const size = await stat(file).then(
        (s) => s.size,
        () => undefined,
      );
      if (size === undefined) continue;
      let offset = offsets.get(file) ?? 0;
      if (size < offset) offset = 0;
      if (size === offset) continue;
      const handle = await open(file, "r");
      try {
        const buffer = Buffer.alloc(size - offset);
        await handle.read(buffer, 0, buffer.length, offset);
        const text = (partial.get(file) ?? "") + buffer.toString("utf8");
        const lines = text.split("\n");
        partial.set(file, lines.pop() ?? "");
        for (const line of lines) {
          const stamp = since === undefined ? undefined : stampOf(line);
          if (stamp === undefined || since === undefined || stamp.getTime() >= since) onLine(label, line);
        }
      } finally {
        await handle.close();
      }
      offsets.set(file, size);
    }
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, options.intervalMillis ?? 200);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve(undefined);
        },
        { once: true },
      );
    });
  }
}
