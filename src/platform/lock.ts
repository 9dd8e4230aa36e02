/**
 * The data-directory lock: one process at a time owns a data directory. The owner holds an OS lock
 * (`flock`) on the file `LOCK`, which the kernel releases when the process ends however it ends
 * (`kill -9`, power loss), so a lock file left behind never blocks the next start, whatever PID it
 * names. The file's content only informs: the owner's PID, then the URL it serves (CLI commands find
 * a running server there).
 *
 * @module
 */
import process from "node:process";
import type { FileLock, FileSystem } from "./fs.ts";
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
  /** The owner's PID, or -1 when it has not written it yet. */
  pid: number;
  /** The HTTP API of the owner, when it serves one. */
  url: string | null;
}

/**
 * A lock may be busy for an instant without an owner: {@link lockOwner} probes by taking it. Before
 * calling the directory owned, {@link acquireLock} tries this many times, this far apart.
 */
const ATTEMPTS = 5;
const RETRY_MS = 20;
/** How long to wait for a new owner to write its PID, to name it. */
const OWNER_WAIT_MS = 2_000;

/** Takes the lock of `dataDir`, or throws {@link LockedError} naming the running owner. */
export async function acquireLock(fs: FileSystem, dataDir: string): Promise<DirLock> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 1;; attempt++) {
    const lock = await fs.tryLock(path);
    if (lock) return await held(fs, path, lock);
    if (attempt >= ATTEMPTS) throw new LockedError(dataDir, await ownerPid(fs, path));
    await sleep(RETRY_MS);
  }
}

/** The PID the owner wrote; an owner that took the lock an instant ago may not have written it yet. */
async function ownerPid(fs: FileSystem, path: string): Promise<number> {
  for (let waited = 0;; waited += RETRY_MS) {
    const info = await readInfo(fs, path);
    if (info || waited >= OWNER_WAIT_MS) return info?.pid ?? -1;
    await sleep(RETRY_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function held(fs: FileSystem, path: string, lock: FileLock): Promise<DirLock> {
  const write = async (text: string) => {
    await fs.writeFile(path, new TextEncoder().encode(text));
  };
  try {
    await write(`${process.pid}\n`);
  } catch (err) {
    await lock.release();
    throw err;
  }
  return {
    // deleted while still locked: a process that opened the old file meanwhile sees it is gone
    release: async () => {
      await fs.unlink(path).catch(() => {});
      await lock.release();
    },
    advertise: (url) => write(`${process.pid}\n${url}\n`),
  };
}

/** Who holds the lock of `dataDir`, or null when no process holds it. */
export async function lockOwner(fs: FileSystem, dataDir: string): Promise<LockInfo | null> {
  const path = join(dataDir, LOCK_FILE);
  if (!(await fs.stat(path))) return null;
  const probe = await fs.tryLock(path);
  if (probe) {
    await probe.release();
    return null;
  }
  return (await readInfo(fs, path)) ?? { pid: -1, url: null };
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
