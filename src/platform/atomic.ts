/**
 * The one atomic-write helper: every data file and every manifest is written through it, so a reader
 * never sees a half-written file and a crash leaves either the old file or the new one.
 *
 * {@link createAtomicFile} streams a file in pieces (Parquet tier files are written row group by row
 * group); {@link writeAtomic} is the one-shot form built on it. Both follow the same steps: a temporary
 * file in the target's directory, fsync, rename over the target, fsync of the directory.
 *
 * @module
 */
import type { FileHandle, FileSystem } from "./fs.ts";
import { basename, dirname, join } from "./path.ts";

/** Suffix of temporary files; startup removes leftovers with it. */
export const TEMP_SUFFIX = ".tmp";

let tempCounter = 0;

/** A file being written atomically: invisible under its final name until {@link AtomicFile.commit}. */
export interface AtomicFile {
  /** The final path. */
  readonly path: string;
  /** The temporary path the bytes go to until the commit. */
  readonly tempPath: string;
  /** Bytes appended so far. */
  readonly bytesWritten: number;
  /** Appends `data` at the end of the file; `data` has been read when the promise settles (it may be reused then). */
  write(data: Uint8Array): Promise<void>;
  /** Makes the file durable and visible under its final name (fsync, rename, fsync of the directory). */
  commit(): Promise<void>;
  /** Closes and removes the temporary file; the final path is untouched. Safe to call more than once. */
  abort(): Promise<void>;
}

/**
 * Starts writing `path` atomically. Bytes go to a temporary file in the same directory (named by
 * {@link isTempName}) until {@link AtomicFile.commit}; a crash or {@link AtomicFile.abort} before that
 * leaves the old content of `path` (or no file) and at most a temporary leftover.
 *
 * @example
 * ```ts
 * import { createAtomicFile } from "./atomic.ts";
 * import { MemFs } from "./mem_fs.ts";
 * const fs = new MemFs();
 * await fs.mkdir("/d");
 * const file = await createAtomicFile(fs, "/d/big.bin");
 * await file.write(new Uint8Array([1, 2]));
 * await file.write(new Uint8Array([3]));
 * if ((await fs.stat("/d/big.bin")) !== null) throw new Error("visible before commit");
 * await file.commit();
 * if ((await fs.readFile("/d/big.bin")).length !== 3) throw new Error("content");
 * ```
 */
export async function createAtomicFile(fs: FileSystem, path: string): Promise<AtomicFile> {
  const tempPath = join(dirname(path), tempNameFor(path));
  const handle = await fs.open(tempPath, "wx");
  return new TempFile(fs, path, tempPath, handle);
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename over
 * `path`, fsync of the directory.
 *
 * @example
 * ```ts
 * import { writeAtomic } from "./atomic.ts";
 * import { MemFs } from "./mem_fs.ts";
 * const fs = new MemFs();
 * await fs.mkdir("/d");
 * await writeAtomic(fs, "/d/a.json", new TextEncoder().encode("{}"));
 * ```
 */
export async function writeAtomic(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const file = await createAtomicFile(fs, path);
  await file.write(data);
  await file.commit();
}

/** True for names that {@link writeAtomic} and {@link createAtomicFile} use for their temporary files. */
export function isTempName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(TEMP_SUFFIX);
}

function tempNameFor(path: string): string {
  return `.${basename(path)}.${Date.now().toString(36)}-${(tempCounter++).toString(36)}${TEMP_SUFFIX}`;
}

type State = "open" | "committed" | "aborted";

class TempFile implements AtomicFile {
  bytesWritten = 0;
  private state: State = "open";

  constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    readonly tempPath: string,
    private readonly handle: FileHandle,
  ) {}

  async write(data: Uint8Array): Promise<void> {
    this.assertOpen("write");
    await this.failSafe(() => this.handle.write(data, this.bytesWritten));
    this.bytesWritten += data.length;
  }

  async commit(): Promise<void> {
    this.assertOpen("commit");
    await this.failSafe(() => this.handle.datasync());
    await this.failSafe(() => this.handle.close());
    await this.failSafe(() => this.fs.rename(this.tempPath, this.path));
    this.state = "committed";
    await this.fs.fsyncDir(dirname(this.path));
  }

  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "aborted";
    await this.handle.close().catch(() => {});
    await this.fs.unlink(this.tempPath).catch(() => {});
  }

  /** Runs `step`; on failure removes the temporary file, so a failed write leaves nothing behind. */
  private async failSafe(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  private assertOpen(action: string): void {
    if (this.state !== "open") {
      throw new TypeError(`Cannot ${action} ${this.path}: the atomic write was already ${this.state}`);
    }
  }
}
