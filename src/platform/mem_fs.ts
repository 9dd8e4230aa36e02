/**
 * An in-memory {@link FileSystem} for tests that models what survives a crash: file contents are
 * durable only after `datasync`, and creations, renames and deletions only after `fsyncDir` of their
 * directory. {@link MemFs.crash} throws away everything that was not made durable. It can also fill up
 * (`capacityBytes`) and tear a write.
 *
 * @module
 */
import type { DiskSpace, FileHandle, FileInfo, FileLock, FileSystem, OpenMode } from "./fs.ts";
import { dirname } from "./path.ts";

interface Inode {
  data: Uint8Array;
  size: number;
  durable: Uint8Array;
  mtimeMs: number;
}

function fsError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/**
 * The memory file system.
 *
 * @example
 * ```ts
 * import { MemFs } from "./mem_fs.ts";
 * const fs = new MemFs();
 * await fs.mkdir("/d");
 * const h = await fs.open("/d/f", "wx");
 * await h.write(new Uint8Array([1, 2]), 0);
 * fs.crash(); // neither the data nor the file's name were synced
 * if ((await fs.stat("/d/f")) !== null) throw new Error("file survived a crash unsynced");
 * ```
 */
export class MemFs implements FileSystem {
  private files = new Map<string, Inode>();
  private dirs = new Set<string>(["/", "."]);
  private durableFiles = new Map<string, Inode>();
  private durableDirs = new Set<string>(["/", "."]);
  /** Total bytes the disk can hold; writes beyond fail with ENOSPC. */
  capacityBytes = Infinity;
  /**
   * Separate disks: files under one of these directories count against its own capacity (bytes), not
   * {@link capacityBytes} — e.g. a WAL directory on its own small disk.
   */
  readonly volumes = new Map<string, number>();
  /** When set, the next write keeps only this many bytes, then fails with EIO (a torn write). */
  tearNextWriteAt: number | null = null;
  /** Counts of operations, for assertions. */
  readonly counts = { datasync: 0, fsyncDir: 0, write: 0 };
  /** Paths locked by {@link tryLock}; a crash (the process died) releases them. */
  private locks = new Map<string, object>();

  /** Bytes in use on the main disk, or on the volume mounted at `volume` ({@link volumes}). */
  usedBytes(volume: string | null = null): number {
    const counted = new Set<Inode>();
    let n = 0;
    for (const [path, inode] of this.files) {
      if (this.volumeOf(path) !== volume || counted.has(inode)) continue;
      counted.add(inode);
      n += inode.size;
    }
    return n;
  }

  /** The volume `path` is on (a key of {@link volumes}), or null for the main disk. */
  private volumeOf(path: string): string | null {
    let best: string | null = null;
    for (const dir of this.volumes.keys()) {
      if ((path === dir || path.startsWith(`${dir}/`)) && (best === null || dir.length > best.length)) best = dir;
    }
    return best;
  }

  /** Simulates power loss: only durable state remains. */
  crash(): void {
    const inodes = new Set(this.durableFiles.values());
    for (const inode of inodes) {
      inode.data = inode.durable.slice();
      inode.size = inode.durable.length;
    }
    this.files = new Map(this.durableFiles);
    this.dirs = new Set(this.durableDirs);
    this.locks.clear();
  }

  async tryLock(path: string): Promise<FileLock | null> {
    path = norm(path);
    if (this.locks.has(path)) return null;
    if (!this.files.has(path)) await (await this.open(path, "w+")).close();
    const token = {};
    this.locks.set(path, token);
    return {
      release: () => {
        if (this.locks.get(path) === token) this.locks.delete(path);
        return Promise.resolve();
      },
    };
  }

  open(path: string, mode: OpenMode): Promise<FileHandle> {
    path = norm(path);
    let inode = this.files.get(path);
    if (mode === "wx" && inode) return Promise.reject(fsError("EEXIST", path));
    if ((mode === "r" || mode === "r+") && !inode) return Promise.reject(fsError("ENOENT", path));
    if (!inode || mode === "w+") {
      if (!this.dirs.has(dirname(path))) return Promise.reject(fsError("ENOENT", dirname(path)));
      inode = inode ?? { data: new Uint8Array(0), size: 0, durable: new Uint8Array(0), mtimeMs: Date.now() };
      if (mode === "w+") inode.size = 0;
      this.files.set(path, inode);
    }
    return Promise.resolve(new MemHandle(this, path, inode, mode));
  }

  async readFile(path: string): Promise<Uint8Array> {
    const inode = this.files.get(norm(path));
    if (!inode) throw fsError("ENOENT", path);
    return await Promise.resolve(inode.data.slice(0, inode.size));
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const h = await this.open(path, "w+");
    await h.write(data, 0);
    await h.close();
  }

  rename(from: string, to: string): Promise<void> {
    from = norm(from);
    to = norm(to);
    const inode = this.files.get(from);
    if (!inode) return Promise.reject(fsError("ENOENT", from));
    if (!this.dirs.has(dirname(to))) return Promise.reject(fsError("ENOENT", dirname(to)));
    this.files.delete(from);
    this.files.set(to, inode);
    return Promise.resolve();
  }

  link(from: string, to: string): Promise<void> {
    from = norm(from);
    to = norm(to);
    const inode = this.files.get(from);
    if (!inode) return Promise.reject(fsError("ENOENT", from));
    if (this.files.has(to) || this.dirs.has(to)) return Promise.reject(fsError("EEXIST", to));
    if (!this.dirs.has(dirname(to))) return Promise.reject(fsError("ENOENT", dirname(to)));
    if (this.volumeOf(from) !== this.volumeOf(to)) return Promise.reject(fsError("EXDEV", to));
    this.files.set(to, inode);
    return Promise.resolve();
  }

  unlink(path: string): Promise<void> {
    path = norm(path);
    if (!this.files.delete(path)) return Promise.reject(fsError("ENOENT", path));
    return Promise.resolve();
  }

  mkdir(path: string): Promise<void> {
    path = norm(path);
    const parts = path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join("/") || "/";
      this.dirs.add(p);
      this.durableDirs.add(p); // directory creation is treated as durable (tests focus on files)
    }
    return Promise.resolve();
  }

  rmdir(path: string): Promise<void> {
    path = norm(path);
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p !== path && p.startsWith(`${path}/`)) return Promise.reject(fsError("ENOTEMPTY", path));
    }
    this.dirs.delete(path);
    this.durableDirs.delete(path);
    return Promise.resolve();
  }

  readdir(path: string): Promise<string[]> {
    path = norm(path);
    if (!this.dirs.has(path)) return Promise.reject(fsError("ENOENT", path));
    const names = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p !== path && dirname(p) === path) names.add(p.slice(path.length + (path === "/" ? 0 : 1)));
    }
    return Promise.resolve([...names].sort());
  }

  stat(path: string): Promise<FileInfo | null> {
    path = norm(path);
    const inode = this.files.get(path);
    if (inode) return Promise.resolve({ size: inode.size, mtimeMs: inode.mtimeMs, isFile: true, isDirectory: false });
    if (this.dirs.has(path)) return Promise.resolve({ size: 0, mtimeMs: 0, isFile: false, isDirectory: true });
    return Promise.resolve(null);
  }

  fsyncDir(dir: string): Promise<void> {
    dir = norm(dir);
    this.counts.fsyncDir++;
    for (const [p] of this.durableFiles) {
      if (dirname(p) === dir && !this.files.has(p)) this.durableFiles.delete(p);
    }
    for (const [p, inode] of this.files) {
      if (dirname(p) === dir) this.durableFiles.set(p, inode);
    }
    return Promise.resolve();
  }

  diskSpace(path = "/"): Promise<DiskSpace> {
    const volume = this.volumeOf(norm(path));
    const capacity = volume === null ? this.capacityBytes : this.volumes.get(volume)!;
    const total = capacity === Infinity ? 1e15 : capacity;
    return Promise.resolve({ freeBytes: Math.max(0, total - this.usedBytes(volume)), totalBytes: total });
  }

  /** @internal used by handles */
  reserve(inode: Inode, newSize: number, path: string): void {
    const grow = newSize - inode.size;
    if (grow <= 0) return;
    const volume = this.volumeOf(norm(path));
    const capacity = volume === null ? this.capacityBytes : this.volumes.get(volume)!;
    if (this.usedBytes(volume) + grow > capacity) throw fsError("ENOSPC", "no space left on device");
  }
}

class MemHandle implements FileHandle {
  constructor(
    private readonly fs: MemFs,
    readonly path: string,
    private readonly inode: Inode,
    private readonly mode: OpenMode,
  ) {}

  write(data: Uint8Array, position: number): Promise<void> {
    if (this.mode === "r") return Promise.reject(fsError("EBADF", this.path));
    this.fs.counts.write++;
    let chunk = data;
    let torn = false;
    if (this.fs.tearNextWriteAt !== null) {
      chunk = data.subarray(0, Math.min(this.fs.tearNextWriteAt, data.length));
      this.fs.tearNextWriteAt = null;
      torn = true;
    }
    const end = position + chunk.length;
    try {
      this.fs.reserve(this.inode, Math.max(end, this.inode.size), this.path);
    } catch (err) {
      return Promise.reject(err);
    }
    if (end > this.inode.data.length) {
      const grown = new Uint8Array(Math.max(end, this.inode.data.length * 2, 64));
      grown.set(this.inode.data.subarray(0, this.inode.size));
      this.inode.data = grown;
    }
    this.inode.data.set(chunk, position);
    this.inode.size = Math.max(this.inode.size, end);
    this.inode.mtimeMs = Date.now();
    if (torn) return Promise.reject(fsError("EIO", "torn write (injected)"));
    return Promise.resolve();
  }

  read(into: Uint8Array, position: number): Promise<number> {
    return Promise.resolve(this.readSync(into, position));
  }

  readSync(into: Uint8Array, position: number): number {
    const n = Math.max(0, Math.min(into.length, this.inode.size - position));
    into.set(this.inode.data.subarray(position, position + n));
    return n;
  }

  datasync(): Promise<void> {
    this.fs.counts.datasync++;
    this.inode.durable = this.inode.data.slice(0, this.inode.size);
    return Promise.resolve();
  }

  truncate(length: number): Promise<void> {
    if (length < this.inode.size) this.inode.data.fill(0, length, this.inode.size);
    else this.fs.reserve(this.inode, length, this.path);
    if (length > this.inode.data.length) {
      const grown = new Uint8Array(length);
      grown.set(this.inode.data.subarray(0, this.inode.size));
      this.inode.data = grown;
    }
    this.inode.size = length;
    return Promise.resolve();
  }

  size(): Promise<number> {
    return Promise.resolve(this.inode.size);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function norm(path: string): string {
  const p = path.replace(/\/{2,}/g, "/");
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}
