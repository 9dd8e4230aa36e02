/**
 * Space held back on the data disk for recovery: the file `RESERVE` in the data directory, written with
 * real bytes (`ingestion.disk_reserve`) while the disk has room. When another process fills the disk, a
 * flush that fails for lack of space releases it and runs again, so the data reaches Parquet and the
 * WAL checkpoint frees its segments; a start on a full disk releases it before recovery. It is written
 * again once the disk has room for it and the ingest margin.
 *
 * @module
 */
import type { FileSystem } from "../platform/fs.ts";
import { isDiskFull } from "../platform/fs.ts";
import type { Logger } from "../platform/log.ts";
import { join } from "../platform/path.ts";

/** The reserve's file name in the data directory. */
export const RESERVE_FILE = "RESERVE";

const CHUNK = 1 << 20;

/** The data disk's reserve. */
export class DiskReserve {
  private creating: Promise<boolean> | null = null;
  /** Times the reserve was given up since start. */
  released = 0;

  constructor(
    private readonly fs: FileSystem,
    private readonly dataDir: string,
    /** Bytes to hold; 0 disables the reserve. */
    readonly bytes: number,
    private readonly log: Logger,
  ) {}

  get path(): string {
    return join(this.dataDir, RESERVE_FILE);
  }

  /** Whether the reserve is in place, whole. */
  async held(): Promise<boolean> {
    if (this.bytes === 0) return false;
    return (await this.fs.stat(this.path))?.size === this.bytes;
  }

  /**
   * Writes the reserve when it is missing and the disk has room for it plus `marginBytes` (the free space
   * ingest needs); true when it is in place afterwards. Never fails: a full disk just leaves it missing.
   */
  ensure(marginBytes: number): Promise<boolean> {
    if (this.bytes === 0) return Promise.resolve(false);
    this.creating ??= this.create(marginBytes).finally(() => (this.creating = null));
    return this.creating;
  }

  private async create(marginBytes: number): Promise<boolean> {
    if (await this.held()) return true;
    const space = await this.fs.diskSpace(this.dataDir);
    const existing = (await this.fs.stat(this.path))?.size ?? 0;
    if (space.freeBytes + existing < this.bytes + marginBytes) return false;
    const tmp = `${this.path}.tmp`;
    try {
      const h = await this.fs.open(tmp, "w+");
      try {
        const zero = new Uint8Array(CHUNK);
        for (let at = 0; at < this.bytes; at += CHUNK) {
          await h.write(at + CHUNK <= this.bytes ? zero : zero.subarray(0, this.bytes - at), at);
        }
        await h.datasync();
      } finally {
        await h.close();
      }
      await this.fs.rename(tmp, this.path);
      this.log.info("disk reserve in place", { path: this.path, bytes: this.bytes });
      return true;
    } catch (err) {
      await this.fs.unlink(tmp).catch(() => {});
      if (!isDiskFull(err)) this.log.warn("cannot write the disk reserve", { path: this.path, error: err });
      return false;
    }
  }

  /** Deletes the reserve, giving its space to `why`; true when it freed anything. */
  async release(why: string): Promise<boolean> {
    if (this.bytes === 0) return false;
    await this.creating;
    const size = (await this.fs.stat(this.path))?.size ?? 0;
    await this.fs.unlink(`${this.path}.tmp`).catch(() => {});
    if (size === 0) return false;
    await this.fs.unlink(this.path);
    this.released++;
    this.log.warn("the data disk is full: released the disk reserve", { for: why, bytes: size });
    return true;
  }
}
