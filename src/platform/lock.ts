/**
 * The data-directory lock: one process at a time owns a data directory. The lock file holds the owner's
 * PID; a lock left behind by a killed process (its PID no longer runs) is taken over.
 *
 * @module
 */
import process from "node:process";
import type { FileSystem } from "./fs.ts";
import { join } from "./path.ts";
import { LockedError } from "../model/errors.ts";

/** Name of the lock file inside the data directory. */
export const LOCK_FILE = "LOCK";

/** A held lock. */
export interface DirLock {
  release(): Promise<void>;
}

/** Takes the lock of `dataDir`, or throws {@link LockedError} naming the running owner. */
export async function acquireLock(fs: FileSystem, dataDir: string): Promise<DirLock> {
  const path = join(dataDir, LOCK_FILE);
  const text = new TextEncoder().encode(`${process.pid}\n`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await fs.open(path, "wx");
      await handle.write(text, 0);
      await handle.datasync();
      await handle.close();
      await fs.fsyncDir(dataDir);
      return { release: () => fs.unlink(path).catch(() => {}) };
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
      const owner = await readOwner(fs, path);
      if (owner !== null && owner !== process.pid && isAlive(owner)) throw new LockedError(dataDir, owner);
      await fs.unlink(path).catch(() => {});
    }
  }
  throw new LockedError(dataDir, -1);
}

/** The PID holding the lock of `dataDir` if that process runs, else null. */
export async function lockOwner(fs: FileSystem, dataDir: string): Promise<number | null> {
  const owner = await readOwner(fs, join(dataDir, LOCK_FILE));
  return owner !== null && owner !== process.pid && isAlive(owner) ? owner : null;
}

async function readOwner(fs: FileSystem, path: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(new TextDecoder().decode(await fs.readFile(path)).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}
