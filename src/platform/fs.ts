/**
 * The file-system port. Storage code (WAL, tiers, manifest) only talks to a {@link FileSystem}, never to
 * `node:fs` directly: production uses {@link nodeFs}, tests use the memory file system in `mem_fs.ts`,
 * which can tear a write, fill the disk or lose what was not synced.
 *
 * @module
 */

/** What `stat` reports. */
export interface FileInfo {
  size: number;
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}

/** Free and total bytes of the file system holding a path. */
export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

/** How to open a file. */
export type OpenMode =
  /** read only; the file must exist */
  | "r"
  /** read and write; the file must exist */
  | "r+"
  /** create a new file for reading and writing; fails if it exists */
  | "wx"
  /** create or truncate a file for reading and writing */
  | "w+";

/** An open file. Positions are absolute byte offsets. */
export interface FileHandle {
  readonly path: string;
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `into.length` bytes at `position`; returns how many were read. */
  read(into: Uint8Array, position: number): Promise<number>;
  /** Synchronous read, for latency-critical small reads that hit the page cache. */
  readSync(into: Uint8Array, position: number): number;
  /** Flushes written data (not necessarily metadata) to stable storage. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/** An exclusive advisory lock on a file, held until released or until the process ends (however it ends). */
export interface FileLock {
  release(): Promise<void>;
}

/** The operations storage code needs from a file system. All paths are absolute or cwd-relative. */
export interface FileSystem {
  /**
   * Takes an exclusive lock on `path` (created when missing) without waiting; null when it is held
   * (by another process, or by another lock of this one). Writing or deleting the file is not prevented.
   */
  tryLock(path: string): Promise<FileLock | null>;
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  /** Plain (non-atomic) write; use `writeAtomic` for data files. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** A hard link `to` of the file `from` (fails with `EXDEV` across file systems, `EEXIST` if `to` exists). */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Creates a directory and its parents; no error when it exists. */
  mkdir(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Names of the entries of a directory, sorted. */
  readdir(path: string): Promise<string[]>;
  /** Information about a path, or `null` when it does not exist. */
  stat(path: string): Promise<FileInfo | null>;
  /** Makes renames and creations inside `dir` durable. */
  fsyncDir(dir: string): Promise<void>;
  diskSpace(path: string): Promise<DiskSpace>;
}

/** True when `err` is a "no space left on device" (or quota) error. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** True when `err` says a path does not exist. */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === "ENOENT";
}
