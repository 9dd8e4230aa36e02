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
  /** Records the URL the owner serves on (second line of the lock file), for CLI commands to find it. */
  advertise(url: string): Promise<void>;
}

/** Who holds a lock. */
export interface LockInfo {
  pid: number;
  /** The HTTP API of the owner, when it serves one. */
  url: string | null;
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
      return {
        release: () => fs.unlink(path).catch(() => {}),
        advertise: (url) => fs.writeFile(path, new TextEncoder().encode(`${process.pid}\n${url}\n`)),
      };
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
      const owner = (await readInfo(fs, path))?.pid ?? null;
      if (owner !== null && owner !== process.pid && isAlive(owner)) throw new LockedError(dataDir, owner);
      await fs.unlink(path).catch(() => {});
    }
  }
  throw new LockedError(dataDir, -1);
}

/** Who holds the lock of `dataDir` if that process runs, else null. */
export async function lockOwner(fs: FileSystem, dataDir: string): Promise<LockInfo | null> {
  const info = await readInfo(fs, join(dataDir, LOCK_FILE));
  return info && info.pid !== process.pid && isAlive(info.pid) ? info : null;
}

async function readInfo(fs: FileSystem, path: string): Promise<LockInfo | null> {
  try {
    const [first, second] = new TextDecoder().decode(await fs.readFile(path)).split("\n");
    const pid = Number.parseInt(first.trim(), 10);
    if (!(Number.isInteger(pid) && pid > 0)) return null;
    return { pid, url: second?.trim() ? second.trim() : null };
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
