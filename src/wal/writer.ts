/**
 * The WAL writer with group commit. Requests append batches; one drain loop writes everything queued
 * since the previous write in a single `write` and, in `fsync` mode, a single `fdatasync`, so
 * concurrent requests share one fsync. Each batch's `apply` callback (the head update) runs
 * synchronously once the batch is durable, in WAL order, before its promise resolves.
 *
 * Modes (`ingestion.wal.sync_mode`):
 * - `fsync`: write + fdatasync before answering.
 * - `sync`: write to the OS before answering; fdatasync at least every `sync_interval`.
 * - `async`: answer at once; write + fdatasync at least every `sync_interval`.
 *
 * @module
 */
import type { SyncMode } from "../config/schema.ts";
import type { SampleBatch } from "../model/batch.ts";
import { DiskFullError, UnavailableError } from "../model/errors.ts";
import { ByteWriter } from "../model/bytes.ts";
import { type FileHandle, type FileSystem, isDiskFull } from "../platform/fs.ts";
import type { Logger } from "../platform/log.ts";
import { type Clock, every } from "../platform/clock.ts";
import { DefinitionCache, encodeBatchPayload, type SeriesDefiner } from "./batch_codec.ts";
import {
  beginRecord,
  decodeSegmentHeader,
  encodeSegmentHeader,
  endRecord,
  RecordType,
  SEGMENT_HEADER_SIZE,
} from "./record.ts";
import { segmentPath } from "./segments.ts";

/** Options of the writer. */
export interface WalWriterOptions {
  dir: string;
  syncMode: SyncMode;
  syncIntervalMs: number;
  maxSegmentBytes: number;
  /** Identity of a series id (for series definitions in records). */
  names(id: number): readonly [string, string, string];
  log: Logger;
  /** The clock the periodic sync (`sync` and `async` modes) runs on. */
  clock: Clock;
}

interface BatchEntry {
  kind: "batch";
  batch: SampleBatch;
  apply: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface RotateEntry {
  kind: "rotate";
  cut: (segment: number) => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

type Entry = BatchEntry | RotateEntry;

/** Counters of the writer, for status and metrics. */
export interface WalStats {
  segment: number;
  segmentBytes: number;
  bytesWritten: number;
  records: number;
  writes: number;
  fsyncs: number;
}

const DISK_FULL_RETRY_MS = 5_000;
/** Least time between attempts to create the spare segment after one failed. */
const SPARE_RETRY_MS = 1_000;

/** The WAL writer. Always starts a new segment; it never appends to a segment written before. */
export class WalWriter {
  private handle!: FileHandle;
  private offset = 0;
  private defined = new Uint8Array(1024);
  /** Series the last record written to the segment defined: the next record defines them again. */
  private lastDefined: number[] = [];
  private readonly queue: Entry[] = [];
  /** The drain running now (null: none); `flush` waits for it instead of polling. */
  private draining: Promise<void> | null = null;
  private closed = false;
  /** Stops the periodic sync at close. */
  private readonly background = new AbortController();
  private dirty = false;
  private failure: unknown = null;
  private readonly out = new ByteWriter(1 << 20);
  /** Series definitions encoded once, copied into every record that defines them. */
  private readonly definitions: DefinitionCache;
  /**
   * The next segment, created ahead (header written and durable): a rotation — which a flush needs
   * before it can checkpoint and free space — then needs no new space, even on a full disk.
   */
  private spare: { segment: number; handle: FileHandle } | null = null;
  /** When creating the spare may be tried again (performance.now() ms) after it failed. */
  private spareRetryAt = 0;
  readonly stats: WalStats = { segment: 0, segmentBytes: 0, bytesWritten: 0, records: 0, writes: 0, fsyncs: 0 };

  private constructor(private readonly fs: FileSystem, private readonly opts: WalWriterOptions) {
    this.definitions = new DefinitionCache(opts.names);
  }

  /**
   * Opens a writer on segment `segment`: a new one, or — after a restart — the existing one, appended
   * after its last record (recovery has truncated any torn tail; the writer's records define again every
   * series they use), so a restart on a full disk needs no new space.
   */
  static async create(fs: FileSystem, opts: WalWriterOptions, segment: number): Promise<WalWriter> {
    await fs.mkdir(opts.dir);
    const w = new WalWriter(fs, opts);
    await w.openSegment(segment);
    if (opts.syncMode !== "fsync") {
      every(opts.clock, Math.max(1, opts.syncIntervalMs), () => void w.periodicSync(), w.background.signal);
    }
    return w;
  }

  /** The segment being written. */
  get segment(): number {
    return this.stats.segment;
  }

  /**
   * Appends a batch (its `seriesId` resolved). `apply` runs once the batch is durable (per the sync
   * mode), in WAL order; the promise resolves after it. The writer holds no reference to `batch` once
   * the promise settles (`async` mode queues a copy). Rejects with `DiskFullError` when the disk is
   * full, leaving no trace of the batch.
   */
  append(batch: SampleBatch, apply: () => void): Promise<void> {
    if (this.closed) {
      return Promise.reject(new UnavailableError("Cannot append to the WAL: it is closed (shutting down)"));
    }
    if (this.opts.syncMode === "async") {
      if (this.failure) return Promise.reject(this.failure);
      apply();
      // written after the promise resolves: a copy, as the caller may reuse the batch's memory then
      const copy = batch.copy();
      this.queue.push({ kind: "batch", batch: copy, apply: () => {}, resolve: () => {}, reject: () => {} });
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: "batch", batch, apply, resolve, reject });
      void this.drain();
    });
  }

  /**
   * Closes the current segment and starts the next. `cut(newSegment)` runs synchronously at the exact
   * point where every batch applied so far lies in older segments and none in the new one.
   */
  rotate(cut: (segment: number) => void): Promise<void> {
    if (this.opts.syncMode === "async") {
      cut(this.stats.segment + 1);
      return new Promise((resolve, reject) => {
        this.queue.push({ kind: "rotate", cut: () => {}, resolve, reject });
        void this.drain();
      });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: "rotate", cut, resolve, reject });
      void this.drain();
    });
  }

  /** Writes and fsyncs everything queued (used by async/sync modes and at shutdown). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining.catch(() => {}); // its error went to the caller that started it
    await this.drain();
    if (this.queue.length > 0 && this.failure) throw this.failure;
    if (this.dirty) await this.datasync();
  }

  /** Flushes and closes the writer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.background.abort();
    await this.flush();
    this.closed = true;
    await this.handle.close();
    await this.spare?.handle.close(); // the file stays: the next process uses it as its spare
  }

  private async periodicSync(): Promise<void> {
    try {
      await this.flush();
      if (this.queue.length === 0) this.failure = null;
    } catch (err) {
      this.failure = mapWriteError(err);
      this.opts.log.error("WAL background sync failed", { error: err });
    }
  }

  /** Writes the queue out, once at a time: a call while a drain runs returns that drain. */
  private drain(): Promise<void> {
    this.draining ??= this.drainQueue().finally(() => (this.draining = null));
    return this.draining;
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.queue[0].kind === "rotate") {
        await this.processRotate(this.queue.shift() as RotateEntry);
        continue;
      }
      const group: BatchEntry[] = [];
      while (this.queue.length > 0 && this.queue[0].kind === "batch") group.push(this.queue.shift() as BatchEntry);
      if (!(await this.writeGroup(group)) && this.opts.syncMode === "async") {
        this.queue.unshift(...group); // keep acknowledged data queued; the next sync retries
        break;
      }
    }
  }

  private async processRotate(entry: RotateEntry): Promise<void> {
    try {
      await this.openSegment(this.stats.segment + 1);
      entry.cut(this.stats.segment);
      entry.resolve();
    } catch (err) {
      entry.reject(mapWriteError(err));
    }
  }

  /** Writes a group; on failure rejects its entries (leaving no trace) and returns false. */
  private async writeGroup(group: BatchEntry[]): Promise<boolean> {
    let { fresh, last } = this.encode(group);
    if (this.offset > SEGMENT_HEADER_SIZE && this.offset + this.out.pos > this.opts.maxSegmentBytes) {
      this.undefine(fresh);
      try {
        await this.openSegment(this.stats.segment + 1);
      } catch (err) {
        this.fail(group, err);
        return false;
      }
      ({ fresh, last } = this.encode(group));
    }
    const bytes = this.out.bytes();
    try {
      await this.handle.write(bytes, this.offset);
      this.stats.writes++;
      if (this.opts.syncMode === "fsync") await this.datasync();
      else this.dirty = true;
    } catch (err) {
      this.undefine(fresh);
      try {
        await this.rollback();
      } catch (rollbackErr) {
        this.opts.log.error("Cannot recover the WAL after a failed write", { error: rollbackErr });
      }
      this.fail(group, err);
      return false;
    }
    this.offset += bytes.length;
    this.lastDefined = last;
    this.stats.segmentBytes = this.offset;
    this.stats.bytesWritten += bytes.length;
    this.stats.records += group.length;
    for (const e of group) {
      e.apply();
      e.resolve();
    }
    if (!this.spare && performance.now() >= this.spareRetryAt) await this.prepareSpare(this.stats.segment + 1);
    return true;
  }

  private fail(group: BatchEntry[], err: unknown): void {
    const mapped = mapWriteError(err);
    if (this.opts.syncMode === "async") this.failure = mapped;
    for (const e of group) e.reject(mapped);
  }

  /** Encodes a group into `this.out`; returns the series ids defined for the first time. */
  /** Encodes the group's records; `fresh` all series they define first, `last` those of the last record. */
  private encode(group: BatchEntry[]): { fresh: number[]; last: number[] } {
    this.out.reset();
    const fresh: number[] = [];
    const definer: SeriesDefiner = {
      needsDefinition: (id) => {
        if (id >= this.defined.length * 8) this.growDefined(id);
        const bit = 1 << (id & 7);
        if (this.defined[id >> 3] & bit) return false;
        this.defined[id >> 3] |= bit;
        fresh.push(id);
        return true;
      },
      names: this.opts.names,
      writeNames: (out, id) => this.definitions.write(out, id),
    };
    let last = this.lastDefined;
    for (const e of group) {
      const start = beginRecord(this.out, RecordType.BATCH);
      last = encodeBatchPayload(this.out, e.batch, definer, last);
      endRecord(this.out, start);
    }
    return { fresh, last };
  }

  private undefine(ids: number[]): void {
    for (const id of ids) this.defined[id >> 3] &= ~(1 << (id & 7));
  }

  private growDefined(id: number): void {
    const grown = new Uint8Array(Math.max(this.defined.length * 2, (id >> 3) + 1024));
    grown.set(this.defined);
    this.defined = grown;
  }

  /** Cuts a failed partial write off the segment so it can never be replayed. */
  private async rollback(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.handle.truncate(this.offset);
        return;
      } catch (err) {
        this.opts.log.error("Cannot truncate the WAL segment after a failed write", { error: err, attempt });
      }
    }
    // A partial write we cannot remove must never be followed by new records: start a new segment.
    await this.openSegment(this.stats.segment + 1);
  }

  private async datasync(): Promise<void> {
    await this.handle.datasync();
    this.stats.fsyncs++;
    this.dirty = false;
  }

  private async openSegment(segment: number): Promise<void> {
    const next = await this.takeSegment(segment);
    if (this.handle) {
      if (this.dirty) await this.datasync();
      await this.handle.close();
    }
    this.handle = next.handle;
    this.offset = next.size;
    this.defined.fill(0);
    this.lastDefined = [];
    this.stats.segment = next.segment;
    this.stats.segmentBytes = next.size;
    await this.prepareSpare(next.segment + 1);
  }

  /** Segment `n` to write: the spare, the existing file (after a restart), or a new one. */
  private async takeSegment(n: number): Promise<{ segment: number; handle: FileHandle; size: number }> {
    if (this.spare?.segment === n) {
      const { handle } = this.spare;
      this.spare = null;
      return { segment: n, handle, size: SEGMENT_HEADER_SIZE };
    }
    const path = segmentPath(this.opts.dir, n);
    if (await this.fs.stat(path)) {
      const handle = await this.openExisting(path, n);
      if (handle) return { segment: n, handle, size: await handle.size() };
      return this.takeSegment(n + 1); // a damaged header (reported by recovery): never append to it
    }
    return { segment: n, handle: await this.createSegment(n), size: SEGMENT_HEADER_SIZE };
  }

  /** An existing segment file opened for appending, or null when its header is not segment `n`'s. */
  private async openExisting(path: string, n: number): Promise<FileHandle | null> {
    const handle = await this.fs.open(path, "r+");
    const header = new Uint8Array(SEGMENT_HEADER_SIZE);
    const got = await handle.read(header, 0);
    const decoded = decodeSegmentHeader(header.subarray(0, got));
    if ("segment" in decoded && decoded.segment === n) return handle;
    await handle.close();
    return null;
  }

  private async createSegment(segment: number): Promise<FileHandle> {
    const path = segmentPath(this.opts.dir, segment);
    const handle = await this.fs.open(path, "wx");
    try {
      await handle.write(encodeSegmentHeader(segment), 0);
      await handle.datasync();
      await this.fs.fsyncDir(this.opts.dir);
    } catch (err) {
      await handle.close().catch(() => {});
      await this.fs.unlink(path).catch(() => {});
      throw err;
    }
    return handle;
  }

  /**
   * Makes segment `n` the spare: the header-only file a previous process left, or a new one. On failure
   * (a full disk) the writer goes on without one and tries again after a successful write.
   */
  private async prepareSpare(n: number): Promise<void> {
    if (this.spare) return;
    const path = segmentPath(this.opts.dir, n);
    try {
      if (await this.fs.stat(path)) {
        const handle = await this.openExisting(path, n);
        if (handle && (await handle.size()) === SEGMENT_HEADER_SIZE) this.spare = { segment: n, handle };
        else await handle?.close();
        return;
      }
      this.spare = { segment: n, handle: await this.createSegment(n) };
    } catch (err) {
      this.spareRetryAt = performance.now() + SPARE_RETRY_MS;
      this.opts.log.warn("Cannot create the next WAL segment ahead; a rotation will need new space", { error: err });
    }
  }
}

function mapWriteError(err: unknown): unknown {
  if (isDiskFull(err)) {
    return new DiskFullError(
      DISK_FULL_RETRY_MS,
      "Cannot write to the WAL: the disk is full; free space or lower retention",
      {
        cause: err,
      },
    );
  }
  return err;
}
