/**
 * The catalog: the one owner of the committed manifest and of everything that changes it — tier-file
 * sequence numbers, the commit lock, atomic commits and the delayed deletion of files a commit dropped.
 * Flush, rollup, merge and retention change the manifest only through it, so its invariants live here:
 *
 * - **one change at a time**: a job reads the manifest, writes its files and commits inside
 *   {@link Catalog.run}; {@link Catalog.commit} refuses to run outside it, or on a copy of a manifest
 *   that is no longer the committed one (a change would silently undo another);
 * - **atomic commits**: the whole manifest is written atomically (then its backup copy,
 *   `tier/manifest.ts`); until that write a crash leaves the previous state, after it the new one;
 * - **names are never reused**: every commit records the sequence numbers handed out so far, also to
 *   files a crash left unreferenced (recovery removes those);
 * - **files leave the disk only after a commit stopped listing them**, and only after a delay, so
 *   queries that started before the commit can still read them.
 *
 * @module
 */
import { isNotFound } from "../platform/fs.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/log.ts";
import { Mutex } from "../platform/mutex.ts";
import { join } from "../platform/path.ts";
import { tierFilePath } from "../model/paths.ts";
import type { Tier } from "../model/tier.ts";
import { commitManifest, type Manifest } from "../tier/manifest.ts";
import { evictTierFooter } from "../parquet/mod.ts";

/** The jobs that commit. */
export type CommitJob = "flush" | "rollup" | "merge" | "retention";

/** Options of a {@link Catalog}. */
export interface CatalogOptions {
  log: Logger;
  /** The clock the delayed deletions run on. */
  clock: Clock;
  /** How long files dropped by a commit stay on disk for queries still reading them. */
  deleteDelayMs: number;
}

/**
 * The catalog of one data directory.
 *
 * @example
 * ```ts
 * import { Catalog } from "./catalog.ts";
 * import { MemFs } from "../platform/mem_fs.ts";
 * import { silentLogger } from "../platform/log.ts";
 * import { systemClock } from "../platform/clock.ts";
 * import { emptyManifest } from "../tier/manifest.ts";
 * const fs = new MemFs();
 * await fs.mkdir("/data");
 * const catalog = new Catalog(fs, "/data", emptyManifest(), { log: silentLogger, clock: systemClock, deleteDelayMs: 0 });
 * await catalog.run(async () => {
 *   const m = structuredClone(catalog.manifest);
 *   m.watermarks["5min"] = 300_000;
 *   await catalog.commit(m, "flush");
 * });
 * if (catalog.manifest.commit !== 1 || (await fs.stat("/data/MANIFEST.json")) === null) throw new Error();
 * ```
 */
export class Catalog {
  #manifest: Manifest;
  #nextSeq: number;
  readonly #lock = new Mutex();
  #inside = false;
  readonly #pending = new Set<string>();
  /** Aborts the armed delayed deletion (null: none armed). */
  #timer: AbortController | null = null;

  constructor(
    private readonly fs: FileSystem,
    private readonly dataDir: string,
    manifest: Manifest,
    private readonly opts: CatalogOptions,
  ) {
    this.#manifest = manifest;
    this.#nextSeq = manifest.nextSeq;
  }

  /** The committed manifest (never modify it: change a copy and {@link commit} it). */
  get manifest(): Manifest {
    return this.#manifest;
  }

  /** Whether a change holds or waits for the commit lock. */
  get busy(): boolean {
    return this.#lock.busy;
  }

  /** Reserves a name for a new tier file (any time, also outside {@link run}: names are never reused). */
  allocate(tier: Tier, partition: number): { seq: number; path: string } {
    const seq = this.#nextSeq++;
    return { seq, path: tierFilePath(tier, partition, seq) };
  }

  /** Runs `fn` holding the commit lock: no other change reads or commits the manifest meanwhile. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(async () => {
      this.#inside = true;
      try {
        return await fn();
      } finally {
        this.#inside = false;
      }
    });
  }

  /**
   * Commits `next`, a changed copy of {@link manifest}, as the new state (inside {@link run}). Files
   * the current manifest lists and `next` does not are deleted from disk after the delay.
   */
  async commit(next: Manifest, job: CommitJob): Promise<Manifest> {
    if (!this.#inside) throw new Error(`Cannot commit the manifest (${job}): the commit lock is not held`);
    const base = this.#manifest;
    if (next.commit !== base.commit) {
      throw new Error(
        `Cannot commit the manifest (${job}): it changes commit ${next.commit}, the current is ${base.commit}`,
      );
    }
    next.nextSeq = Math.max(next.nextSeq, this.#nextSeq);
    this.#manifest = await commitManifest(this.fs, this.dataDir, next);
    const live = new Set(this.#manifest.files.map((f) => f.path));
    this.deleteLater(base.files.filter((f) => !live.has(f.path)).map((f) => f.path));
    return this.#manifest;
  }

  /** Deletes the files still waiting for their delay now (at shutdown, when no query runs any more). */
  async close(): Promise<void> {
    this.#timer?.abort();
    await this.deletePending();
  }

  private deleteLater(paths: string[]): void {
    if (paths.length === 0) return;
    for (const p of paths) this.#pending.add(p);
    if (this.#timer) return;
    this.#timer = new AbortController();
    this.opts.clock.setTimer(this.opts.deleteDelayMs, () => void this.deletePending(), this.#timer.signal);
  }

  private async deletePending(): Promise<void> {
    this.#timer = null;
    for (const rel of [...this.#pending]) {
      this.#pending.delete(rel);
      const abs = join(this.dataDir, rel);
      evictTierFooter(this.fs, abs);
      await this.fs.unlink(abs).catch((err) => {
        if (!isNotFound(err)) {
          this.opts.log.warn("Cannot delete a file retention or compaction removed", { path: rel, error: err });
        }
      });
      const dir = abs.slice(0, abs.lastIndexOf("/"));
      if ((await this.fs.readdir(dir).catch(() => ["?"])).length === 0) await this.fs.rmdir(dir).catch(() => {});
    }
  }
}
