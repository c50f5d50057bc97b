/**
 * Files that hold secrets: created with mode 0600 in directories with mode 0700, replaced
 * atomically, whatever the process umask.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

import { errnoCode, SecretDirError, SecretWriteError } from "./errors.js";

/** The mode of every secret file. */
export const SECRET_FILE_MODE = 0o600;
/** The mode of every directory that holds secret files. */
export const SECRET_DIR_MODE = 0o700;

/**
 * Creates or replaces `path` with `data`, mode exactly 0600, atomically: the data goes to a temp
 * file in the same directory, created with mode 0600 (so it is never readable by others, not even
 * for a moment), fsynced, then renamed over `path`, and the directory is fsynced. A reader sees
 * the old content or the new, never a part. The directory must exist (see {@link ensureSecretDir}).
 * @throws {@link SecretWriteError} naming the file and the errno code (never the data)
 */
export async function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let created = false;
  try {
    // "wx": fail rather than follow a symlink or reuse a file someone else created at this name.
    const handle = await open(temp, "wx", SECRET_FILE_MODE);
    created = true;
    try {
      // The umask can only have narrowed the mode; make it exactly 0600.
      await handle.chmod(SECRET_FILE_MODE);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    created = false;
  } catch (err) {
    if (created) await unlink(temp).catch(() => undefined);
    throw new SecretWriteError(path, errnoCode(err) ?? "unknown error", { cause: err });
  }
  await syncDir(dir);
}

/**
 * Creates `path` (and missing parents) with mode 0700, or gives an existing directory mode 0700.
 * @returns `path`
 * @throws {@link SecretDirError} when it cannot be created or changed, or is not a directory
 */
export async function ensureSecretDir(path: string): Promise<string> {
  try {
    await mkdir(path, { recursive: true, mode: SECRET_DIR_MODE });
  } catch (err) {
    const code = errnoCode(err);
    throw new SecretDirError(path, code === "EEXIST" || code === "ENOTDIR" ? "not a directory" : (code ?? "unknown error"), { cause: err });
  }
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new SecretDirError(path, errnoCode(err) ?? "unknown error", { cause: err });
  }
  if (!isDir) throw new SecretDirError(path, "not a directory");
  try {
    // mkdir's mode is narrowed by the umask and does not apply to an existing directory.
    await chmod(path, SECRET_DIR_MODE);
  } catch (err) {
    throw new SecretDirError(path, errnoCode(err) ?? "unknown error", { cause: err });
  }
  return path;
}

/** Makes a rename in `dir` durable; best effort, as some file systems cannot fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The file itself is already synced; only the rename's durability is at stake.
  }
}
