/**
 * The production {@link FileSystem}, on `node:fs` (works the same under Deno, Bun and Node).
 *
 * @module
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import type { DiskSpace, FileHandle, FileInfo, FileLock, FileSystem, OpenMode } from "./fs.ts";
import { tryOsLock } from "./runtime.ts";
import { isNotFound } from "./fs.ts";

class NodeFileHandle implements FileHandle {
  constructor(readonly path: string, private readonly handle: fsp.FileHandle) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < into.length) {
      const { bytesRead } = await this.handle.read(into, done, into.length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  readSync(into: Uint8Array, position: number): number {
    let done = 0;
    while (done < into.length) {
      const n = fs.readSync(this.handle.fd, into, done, into.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

const FLAGS: Record<OpenMode, string> = { "r": "r", "r+": "r+", "wx": "wx+", "w+": "w+" };
/**
 * Modes of what this program creates: owner read-write, group read, nothing for others — samples may
 * be sensitive, and the default umask (022) would leave them world-readable. The umask can only narrow these.
 */
export const FILE_MODE = 0o640;
export const DIR_MODE = 0o750;

/** The file system of the host, through `node:fs`. */
export const nodeFs: FileSystem = {
  async tryLock(path: string): Promise<FileLock | null> {
    const lock = await tryOsLock(path);
    return lock && { release: () => Promise.resolve(lock.release()) };
  },
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return new NodeFileHandle(path, await fsp.open(path, FLAGS[mode], FILE_MODE));
  },
  async readFile(path: string): Promise<Uint8Array> {
    return new Uint8Array(await fsp.readFile(path));
  },
  writeFile(path: string, data: Uint8Array): Promise<void> {
    return fsp.writeFile(path, data, { mode: FILE_MODE });
  },
  rename(from: string, to: string): Promise<void> {
    return fsp.rename(from, to);
  },
  link(from: string, to: string): Promise<void> {
    return fsp.link(from, to);
  },
  unlink(path: string): Promise<void> {
    return fsp.unlink(path);
  },
  async mkdir(path: string): Promise<void> {
    await fsp.mkdir(path, { recursive: true, mode: DIR_MODE });
  },
  rmdir(path: string): Promise<void> {
    return fsp.rmdir(path);
  },
  async readdir(path: string): Promise<string[]> {
    return (await fsp.readdir(path)).sort();
  },
  async stat(path: string): Promise<FileInfo | null> {
    try {
      const s = await fsp.stat(path);
      return { size: s.size, mtimeMs: s.mtimeMs, isFile: s.isFile(), isDirectory: s.isDirectory() };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  },
  async fsyncDir(dir: string): Promise<void> {
    const handle = await fsp.open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async diskSpace(path: string): Promise<DiskSpace> {
    const s = await fsp.statfs(path);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  },
};
