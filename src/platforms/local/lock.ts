import { open, readFile, rm } from "node:fs/promises";
import { isAlive } from "./control-client.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

/**
 * Takes the bus's lock file (created exclusively, holding our pid) for the length of `work`, so that
 * two `up`/`down` runs never change one bus at once. A lock left by a dead process is taken over.
 */
export async function withLock<T>(path: string, what: string, work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 2) throw error;
      const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new LocalPlatformError(LocalErrorCode.control, `another eventbus command (pid ${holder}) is changing ${what}; wait for it to finish`);
      }
      await rm(path, { force: true });
    }
  }
  try {
    return await work();
  } finally {
    await rm(path, { force: true });
  }
}
