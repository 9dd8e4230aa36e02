/**
 * Holds the process to its memory budget (`server.memory_limit`, planned by
 * `src/config/memory_budget.ts`): reads resident memory often (one small `/proc` read), tells
 * admission how full the budget is with what cannot be evicted, and when memory runs short gives it
 * back in order of cost: the raw ring's cache first (durable data: eviction is not loss), the memory
 * the next flush would reuse for its copies, DuckDB when no query runs, idle tier worker threads near
 * the budget, then garbage. Ingest is refused (429) before the budget would be crossed.
 *
 * @module
 */
import type { MemoryPlan } from "../config/memory_budget.ts";
import type { Head } from "../head/head.ts";
import type { Collection } from "../platform/runtime.ts";

/** Resident memory readings are reused for this long (admission runs on every request). */
const READING_MS = 20;
/** Flushes whose growth {@link MemoryMonitor.flushReserve} remembers. */
const FLUSH_GROWTH_KEPT = 4;
/**
 * A flush smaller than the planned one is expected to grow by at least this share of a planned
 * flush's growth: part of a flush's work does not shrink with its samples (the snapshot of every
 * series and open bucket, the encoder thread's start, its files' buffers).
 */
const SMALL_FLUSH_SHARE = 0.5;
/**
 * Of a running flush's expected growth, this share stays reserved until it ends, however much resident
 * memory grew meanwhile: a flush's growth comes late, in its last second, as it writes its files and
 * snapshot, and ingest had filled the rest (the flood's peak at a 384 MiB budget: 24-30 MiB over).
 */
const LATE_GROWTH_SHARE = 0.5;
/** Above this fraction of the budget the ring gives way and garbage is collected. */
export const SOFT_SHARE = 0.85;
/**
 * Full collections under pressure are at most this frequent: one costs 10-40 ms of this thread at
 * 100,000 series, and JavaScriptCore otherwise lets request garbage (bodies, batches, WAL records)
 * reach hundreds of MB before it collects.
 */
export const FULL_COLLECTION_MS = 1_000;
/**
 * When a full collection gave back less than {@link FULL_COLLECTION_GAIN} of the budget (the memory is
 * live, or in a worker's heap no collection here reaches), the next waits twice as long, up to this:
 * stuck at the budget, a collection every second took most of the main thread (60 % of one profile)
 * and gave nothing back. One that gives back enough brings the interval back to a second.
 */
export const FULL_COLLECTION_MAX_MS = 16_000;
const FULL_COLLECTION_GAIN = 1 / 50;
/**
 * Idle tier worker threads are stopped (their memory goes back; the next job starts a new thread) when
 * what cannot be evicted reaches this fraction of the budget, at most every {@link WORKER_RELEASE_MS}.
 * A worker's heap and its allocator's pages stay resident between jobs (100-300 MiB after a flush or
 * rollup at 100,000 series) where no collection on the main thread reaches them: at the budget, with
 * nothing left to flush, ingest stayed refused for minutes in a two-hour run at 100,000 series.
 */
const WORKER_RELEASE_SHARE = 0.9;
/** A new worker thread costs its start and a cold JIT on its first job: not more often than this. */
const WORKER_RELEASE_MS = 10_000;

/** What the monitor acts on. */
export interface MemoryHooks {
  residentBytes(): number;
  now(): number;
  head(): Head | null;
  /** Samples not yet flushed (what the next flush takes). */
  unflushedSamples(): number;
  /** `full`: a synchronous full collection (tens of ms on this thread); `hint`: when the runtime sees fit. */
  collectGarbage(how: Collection): void;
  /** Releases DuckDB when it is loaded and idle; resolves whether it did. */
  releaseIdleSql(): boolean;
  /** Stops the tier worker threads that have no job; answers how many. */
  releaseIdleWorkers(): number;
}

/** The monitor. */
export class MemoryMonitor {
  private readAt = -Infinity;
  private collectedAt = -Infinity;
  /** The interval between full collections now, and resident memory before the last one. */
  private fullEveryMs = FULL_COLLECTION_MS;
  private residentBeforeFull = NaN;
  private workersReleasedAt = -Infinity;
  private resident = 0;
  /** Bytes of request bodies being read or decoded now (with what they decode to). */
  inflightBodies = 0;
  /** How often memory ran short, by the action taken. */
  readonly actions = { evictions: 0, collections: 0, sqlReleases: 0, workerReleases: 0 };
  /** Resident memory when the running flush started (NaN: none runs), the most read since, its samples. */
  private flushFrom = NaN;
  private flushSamples = 0;
  private flushPeak = 0;
  /** How much resident memory the last flushes added at their peak (newest last). */
  private readonly flushGrowth: number[] = [];

  constructor(readonly plan: MemoryPlan, private readonly hooks: MemoryHooks) {}

  /** Resident memory now (bytes), at most {@link READING_MS} old. */
  residentBytes(): number {
    const now = this.hooks.now();
    if (now - this.readAt >= READING_MS) {
      this.resident = this.hooks.residentBytes();
      this.readAt = now;
      if (this.resident > this.flushPeak) this.flushPeak = this.resident;
    }
    return this.resident;
  }

  /**
   * What a flush of `samples` is expected to add to resident memory at its peak: the most the last
   * flushes added (the largest of the last {@link FLUSH_GROWTH_KEPT}; the plan's `flushWorkBytes` before
   * the first, and never more than that), for a smaller flush in proportion to its samples but not
   * below {@link SMALL_FLUSH_SHARE} of it; nothing for an empty buffer.
   */
  expectedFlushGrowth(samples: number): number {
    if (samples <= 0) return 0;
    // at most the plan's share: a flush that grew more is the encoder's to fix, and a larger reserve
    // could keep ingest out for good
    const planned = this.plan.flushWorkBytes;
    const full = this.flushGrowth.length === 0 ? planned : Math.min(planned, Math.max(...this.flushGrowth));
    return full * this.flushScale(samples);
  }

  /** A flush of `samples` against a planned one, by the model of {@link expectedFlushGrowth}. */
  private flushScale(samples: number): number {
    return Math.min(1, Math.max(SMALL_FLUSH_SHARE, samples / this.plan.flushStartSamples));
  }

  /**
   * Room kept for a flush's working set (the encoder thread's heap, its copies, the files and snapshot
   * it writes): it comes on top of what ingest filled, where admission cannot stop it. While none runs,
   * the growth expected of the flush that will take the unflushed samples; while one runs, its own
   * expected growth, held until it ends (the growth comes late, in the flush's last second, when it
   * writes its files: ingest that filled the room before then took the process over the budget in a
   * flood). When this keeps ingest out, the storage flushes at once (reason `memory`) rather than
   * waiting for the buffer or the interval, and a smaller flush needs less room: no state where
   * nothing is taken in and nothing is flushed.
   */
  flushReserve(): number {
    if (Number.isNaN(this.flushFrom)) return this.expectedFlushGrowth(this.hooks.unflushedSamples());
    const growth = this.expectedFlushGrowth(this.flushSamples);
    return Math.max(LATE_GROWTH_SHARE * growth, this.flushFrom + growth - this.residentBytes());
  }

  /** A flush of `samples` starts: its growth is measured from here. */
  flushStarted(samples: number): void {
    this.readAt = -Infinity;
    this.flushFrom = this.residentBytes();
    this.flushPeak = this.flushFrom;
    this.flushSamples = samples;
  }

  /** The flush ended (or failed): keeps what it added at its peak. */
  flushEnded(): void {
    if (Number.isNaN(this.flushFrom)) return;
    // kept as a planned flush's growth, so that small flushes do not make room for a large one too small
    this.flushGrowth.push(Math.max(0, this.flushPeak - this.flushFrom) / this.flushScale(this.flushSamples));
    if (this.flushGrowth.length > FLUSH_GROWTH_KEPT) this.flushGrowth.shift();
    this.flushFrom = NaN;
  }

  /**
   * Fraction of the budget held by what cannot be evicted (the ring's flushed samples can), with the
   * room kept for the next flush ({@link flushReserve}).
   */
  usage(): number {
    return (this.held() + this.flushReserve()) / this.plan.limitBytes;
  }

  /** Resident memory that cannot be evicted (bytes). */
  private held(): number {
    const evictable = this.hooks.head()?.raw.evictableBytes() ?? 0;
    return Math.max(0, this.residentBytes() - evictable);
  }

  /** Fraction of the budget that `bytes` of request body would add once decoded. */
  bodyShare(bytes: number): number {
    return bytes / this.plan.limitBytes;
  }

  /**
   * Takes `bytes` of the in-flight body share, or returns false when it is used up (one request always
   * fits, so a body up to `server.max_body_bytes` is never refused for this alone).
   */
  reserveBody(bytes: number): boolean {
    if (this.inflightBodies > 0 && this.inflightBodies + bytes > this.plan.bodiesBytes) return false;
    this.inflightBodies += bytes;
    return true;
  }

  /** Returns what {@link reserveBody} took. */
  releaseBody(bytes: number): void {
    this.inflightBodies = Math.max(0, this.inflightBodies - bytes);
  }

  /** Gives memory back when resident memory is above the soft share of the budget. */
  relieve(): void {
    this.readAt = -Infinity;
    const resident = this.residentBytes();
    if (!Number.isNaN(this.residentBeforeFull)) {
      // judged at the next look, not at once: the allocator hands pages back to the kernel after a delay
      const gained = this.residentBeforeFull - resident >= FULL_COLLECTION_GAIN * this.plan.limitBytes;
      this.fullEveryMs = gained ? FULL_COLLECTION_MS : Math.min(FULL_COLLECTION_MAX_MS, this.fullEveryMs * 2);
      this.residentBeforeFull = NaN;
    }
    const over = resident - SOFT_SHARE * this.plan.limitBytes;
    if (over <= 0) {
      this.fullEveryMs = FULL_COLLECTION_MS;
      return;
    }
    const head = this.hooks.head();
    if (head) {
      const ring = head.raw.memoryBytes();
      if (head.evict(this.hooks.now(), Math.max(0, ring - over)) > 0) this.actions.evictions++;
      // the copies the next flush would reuse go only when that flush is not near: released under a
      // steady load, each flush allocated them anew while the old ones waited for a collection (the
      // flood's peak went over the budget by that)
      if (head.raw.unflushed < this.plan.flushStartSamples / 2) head.releaseCapture();
    }
    if (this.hooks.releaseIdleSql()) this.actions.sqlReleases++;
    const now = this.hooks.now();
    if (
      this.held() >= WORKER_RELEASE_SHARE * this.plan.limitBytes && now - this.workersReleasedAt >= WORKER_RELEASE_MS
    ) {
      const released = this.hooks.releaseIdleWorkers();
      if (released > 0) {
        this.workersReleasedAt = now;
        this.actions.workerReleases += released;
      }
    }
    const full = now - this.collectedAt >= this.fullEveryMs;
    if (full) {
      this.collectedAt = now;
      this.readAt = -Infinity;
      this.residentBeforeFull = this.residentBytes();
    }
    this.hooks.collectGarbage(full ? "full" : "hint");
    this.actions.collections++;
    this.readAt = -Infinity; // admission reads what the collection gave back
  }
}
