/**
 * Fault injection in the file-system layer, for crash and failure tests: a {@link FaultFs} wraps the
 * file system a storage service is given and, on chosen operations, kills the process (power loss on
 * the memory file system), fails the operation or holds it until the test lets it go. Production code
 * has no test switch: the tests aim at what the process does on disk.
 *
 * @module
 */
import type { DiskSpace, FileHandle, FileInfo, FileLock, FileSystem, OpenMode } from "../src/platform/fs.ts";

/** A file-system operation: the {@link FileSystem} method or {@link FileHandle} method, and its path(s). */
export interface FsCall {
  op:
    | "tryLock"
    | "open"
    | "readFile"
    | "writeFile"
    | "rename"
    | "link"
    | "unlink"
    | "mkdir"
    | "rmdir"
    | "readdir"
    | "stat"
    | "fsyncDir"
    | "diskSpace"
    | "write"
    | "read"
    | "datasync"
    | "truncate"
    | "close";
  /** The path operated on (for handle operations, the open file's path). */
  path: string;
  /** The target of `rename` and `link`. */
  to?: string;
}

/** Which calls a fault applies to: called for every operation, in order (it may keep state). */
export type FsMatch = (call: FsCall) => boolean;

interface Fault {
  match: FsMatch;
  /** Whether the fault fires before the operation or once it has completed. */
  at: "before" | "after";
  /** Runs instead of letting the call return: a rejection fails it, a promise that never settles holds it. */
  act: (call: FsCall) => Promise<void>;
  /** How many more times it fires. */
  times: number;
}

const never = new Promise<never>(() => {});

/** A {@link FileSystem} that passes every call to `inner`, except where a fault was set. */
export class FaultFs implements FileSystem {
  readonly #faults: Fault[] = [];
  #dead = false;

  constructor(readonly inner: FileSystem) {}

  /** Whether {@link crashAt} fired: from then on no call of this process reaches the disk. */
  get dead(): boolean {
    return this.#dead;
  }

  /**
   * Kills the process at the first call `match` accepts (before it runs, or with `at: "after"` once it
   * completed): `powerLoss` runs (e.g. `MemFs.crash`), the call and every later call through this file
   * system never return, like a process after `kill -9`. Resolves when it fired.
   */
  crashAt(match: FsMatch, opts: { at?: "before" | "after"; powerLoss?: () => void } = {}): Promise<FsCall> {
    return new Promise((fired) => {
      this.#faults.push({
        match,
        at: opts.at ?? "before",
        times: 1,
        act: (call) => {
          this.#dead = true;
          opts.powerLoss?.();
          fired(call);
          return never;
        },
      });
    });
  }

  /** Fails the next `times` calls `match` accepts with `error` (before they run). */
  failAt(match: FsMatch, error: () => Error, times = 1): void {
    this.#faults.push({ match, at: "before", times, act: () => Promise.reject(error()) });
  }

  /**
   * Holds the first call `match` accepts until `release()`: `reached` resolves when the call arrived.
   */
  pauseAt(match: FsMatch): { reached: Promise<FsCall>; release: () => void } {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let arrived!: (call: FsCall) => void;
    const reached = new Promise<FsCall>((r) => (arrived = r));
    this.#faults.push({
      match,
      at: "before",
      times: 1,
      act: (call) => {
        arrived(call);
        return released;
      },
    });
    return { reached, release };
  }

  /** Counts the calls `match` accepts from now on (they run unchanged). */
  count(match: FsMatch): { readonly calls: number } {
    const counter = { calls: 0 };
    this.#faults.push({
      match,
      at: "before",
      times: Infinity,
      act: () => (counter.calls++, Promise.resolve()),
    });
    return counter;
  }

  /** Runs `run` (the real call) with the faults that match `call` around it. */
  async #call<T>(call: FsCall, run: () => Promise<T>): Promise<T> {
    if (this.#dead) return never;
    await this.#fire(call, "before");
    const out = await run();
    await this.#fire(call, "after");
    if (this.#dead) return never;
    return out;
  }

  async #fire(call: FsCall, at: "before" | "after"): Promise<void> {
    for (const f of this.#faults) {
      if (f.at !== at || f.times <= 0 || !f.match(call)) continue;
      f.times--;
      await f.act(call);
    }
  }

  tryLock(path: string): Promise<FileLock | null> {
    return this.#call({ op: "tryLock", path }, () => this.inner.tryLock(path));
  }
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const h = await this.#call({ op: "open", path }, () => this.inner.open(path, mode));
    return new FaultHandle(h, (call, run) => this.#call(call, run));
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.#call({ op: "readFile", path }, () => this.inner.readFile(path));
  }
  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.#call({ op: "writeFile", path }, () => this.inner.writeFile(path, data));
  }
  rename(from: string, to: string): Promise<void> {
    return this.#call({ op: "rename", path: from, to }, () => this.inner.rename(from, to));
  }
  link(from: string, to: string): Promise<void> {
    return this.#call({ op: "link", path: from, to }, () => this.inner.link(from, to));
  }
  unlink(path: string): Promise<void> {
    return this.#call({ op: "unlink", path }, () => this.inner.unlink(path));
  }
  mkdir(path: string): Promise<void> {
    return this.#call({ op: "mkdir", path }, () => this.inner.mkdir(path));
  }
  rmdir(path: string): Promise<void> {
    return this.#call({ op: "rmdir", path }, () => this.inner.rmdir(path));
  }
  readdir(path: string): Promise<string[]> {
    return this.#call({ op: "readdir", path }, () => this.inner.readdir(path));
  }
  stat(path: string): Promise<FileInfo | null> {
    return this.#call({ op: "stat", path }, () => this.inner.stat(path));
  }
  fsyncDir(dir: string): Promise<void> {
    return this.#call({ op: "fsyncDir", path: dir }, () => this.inner.fsyncDir(dir));
  }
  diskSpace(path: string): Promise<DiskSpace> {
    return this.#call({ op: "diskSpace", path }, () => this.inner.diskSpace(path));
  }
}

class FaultHandle implements FileHandle {
  constructor(
    private readonly h: FileHandle,
    private readonly call: <T>(call: FsCall, run: () => Promise<T>) => Promise<T>,
  ) {}
  get path(): string {
    return this.h.path;
  }
  write(data: Uint8Array, position: number): Promise<void> {
    return this.call({ op: "write", path: this.h.path }, () => this.h.write(data, position));
  }
  read(into: Uint8Array, position: number): Promise<number> {
    return this.call({ op: "read", path: this.h.path }, () => this.h.read(into, position));
  }
  readSync(into: Uint8Array, position: number): number {
    return this.h.readSync(into, position);
  }
  datasync(): Promise<void> {
    return this.call({ op: "datasync", path: this.h.path }, () => this.h.datasync());
  }
  truncate(length: number): Promise<void> {
    return this.call({ op: "truncate", path: this.h.path }, () => this.h.truncate(length));
  }
  size(): Promise<number> {
    return this.h.size();
  }
  close(): Promise<void> {
    return this.call({ op: "close", path: this.h.path }, () => this.h.close());
  }
}

/** A tier file being created under `dataDir` (the temporary file of its atomic write). */
export const tierFileWrite = (dataDir = "/data"): FsMatch => (c) =>
  c.op === "open" && /^\/(raw|5min|hourly|daily|weekly)\//.test(c.path.slice(dataDir.length));

/** A snapshot being created under `dataDir`. */
export const snapshotWrite = (dataDir = "/data"): FsMatch => (c) =>
  c.op === "open" && c.path.startsWith(`${dataDir}/snapshots/`);

/** The manifest's atomic write starting (the first step of a commit). */
export const manifestWrite = (dataDir = "/data"): FsMatch => (c) =>
  c.op === "open" && c.path.startsWith(`${dataDir}/.MANIFEST.json.`);

/**
 * A rename to `to` made durable: the sync of its directory that follows it (the last step of an atomic
 * write; with `at: "after"`).
 */
export const renameSynced = (to: string): FsMatch => {
  let renamed = false;
  return (c) => {
    if (c.op === "rename" && c.to === to) renamed = true;
    else if (renamed && c.op === "fsyncDir" && c.path === to.slice(0, to.lastIndexOf("/"))) {
      renamed = false;
      return true;
    }
    return false;
  };
};

/** A commit done: its last step, the manifest's backup copy made durable (with `at: "after"`). */
export const manifestCommitted = (dataDir = "/data"): FsMatch => renameSynced(`${dataDir}/MANIFEST.backup.json`);

/** An EIO error, as a failing disk reports it. */
export function eio(what: string): Error {
  return Object.assign(new Error(`EIO: i/o error, ${what}`), { code: "EIO" });
}
