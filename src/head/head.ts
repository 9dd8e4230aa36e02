/**
 * The head: everything in memory. The series index with last values, the raw sample log, and the
 * open 5-minute aggregates. Batches are applied in WAL order, synchronously.
 *
 * @module
 */
import { Aggregator } from "../aggregate/aggregator.ts";
import type { SealedBuckets } from "../aggregate/aggregator.ts";
import { type ClosedSlice, sharedSlice } from "../aggregate/bucket_columns.ts";
import { timeOrder } from "../aggregate/time_order.ts";
import { FLAG_VALID, type SampleBatch } from "../model/batch.ts";
import { RawLog } from "./raw_log.ts";
import { SeriesIndex } from "./series.ts";

/** Options of the head. */
export interface HeadOptions {
  /** Relative accuracy of percentiles, or null when they are off. */
  accuracy: number | null;
  /** Flushed raw samples kept in memory by sample time (0 keeps none). */
  hotWindowMs: number;
  /** Memory bound of flushed raw samples kept in memory. */
  hotMemoryBytes: number;
}

/** What a flush takes from the head at its cut. */
export interface HeadCut {
  /** Raw positions [rawFrom, rawTo) to write. */
  rawFrom: number;
  rawTo: number;
  /**
   * Closed 5-minute buckets to write (series are head ids), in shared memory the encoder thread reads
   * in place: the first {@link copied} are here, the rest still sealed in the aggregator
   * ({@link Head.copyClosed}).
   */
  closed: ClosedSlice;
  /** The buckets the cut sealed. */
  sealed: SealedBuckets;
  /** Buckets copied into {@link closed} so far (and freed in the aggregator). */
  copied: number;
  /** The close watermark used: buckets ending at or before it were taken. */
  watermark: number;
}

/** Cuts' closed buckets a query view holds (by buffer): their memory is never reused for a later cut. */
const pinned = new WeakSet<ArrayBufferLike>();

/**
 * Marks a cut's closed buckets as held by a query view (which may read them after a later cut): the
 * next cut then copies into new memory instead of overwriting them.
 */
export function pinClosed(closed: ClosedSlice): ClosedSlice {
  pinned.add(closed.count.buffer);
  return closed;
}

/** The buckets of a cut copied so far: what queries read of it besides the aggregator's sealed ones. */
export function copiedClosed(cut: HeadCut): ClosedSlice {
  return { ...cut.closed, n: cut.copied };
}

/** Closed buckets {@link Head.copyClosed} copies between two looks at the clock. */
const CLOSED_COPY_SLICE = 8_192;
/** How long one {@link Head.copyClosed} call copies before it lets requests in. */
export const CLOSED_COPY_MS = 4;

/**
 * The head.
 *
 * @example
 * ```ts
 * import { Head } from "./head.ts";
 * import { SampleBatch } from "../model/batch.ts";
 * import { gauge } from "../model/sample.ts";
 * const head = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 26 });
 * const b = SampleBatch.of([gauge("ns", "t", "p", 60_000, 1)]);
 * head.series.resolveBatch(b);
 * head.apply(b);
 * if (head.raw.unflushed !== 1 || head.agg.openBuckets !== 1) throw new Error();
 * ```
 */
export class Head {
  readonly series = new SeriesIndex();
  readonly raw: RawLog;
  readonly agg: Aggregator;
  samplesApplied = 0;
  /**
   * The previous cut's closed buckets, whose shared memory the next cut reuses (flushes run one at a
   * time: by the next cut the encoder is done with them) unless a query view still holds them
   * ({@link pinClosed}).
   */
  closedSpare: ClosedSlice | null = null;

  constructor(readonly opts: HeadOptions, coverageStart = -Infinity) {
    this.raw = new RawLog(coverageStart);
    this.agg = new Aggregator({ accuracy: opts.accuracy });
  }

  /** Applies a resolved batch; the aggregator sees each series' samples in time order. */
  apply(b: SampleBatch): void {
    this.raw.appendBatch(b);
    const order = timeOrder(b.ts, b.seriesId, b.length);
    for (let k = 0; k < b.length; k++) {
      const i = order === null ? k : order[k];
      this.series.observe(b, i);
      this.agg.add(b.seriesId[i], b.ts[i], b.kind[i], (b.flags[i] & FLAG_VALID) !== 0, b.value[i], b.big?.get(i));
    }
    this.samplesApplied += b.length;
  }

  /** Takes what a flush writes: all unflushed raw samples, and the buckets closed by `watermark`. */
  cut(watermark: number): HeadCut {
    const cut = this.cutSealed(watermark);
    this.copyClosed(cut, Infinity, Infinity);
    return cut;
  }

  /**
   * A cut whose closed buckets are only sealed (`Aggregator.seal`: a pass over the slots, no copy):
   * {@link copyClosed} then copies them out a slice at a time, between which requests run. A backfilled
   * day's 2.88 M closed buckets copied at once stalled the event loop for seconds; sealed, samples of
   * their keys open new buckets and queries read them in the aggregator until they are copied.
   */
  cutSealed(watermark: number): HeadCut {
    const sealed = this.agg.seal(watermark);
    const spare = this.closedSpare;
    const reuse = spare && !pinned.has(spare.count.buffer) ? spare : null;
    const closed = this.closedSpare = sharedSlice(sealed.n, sealed.inline, reuse);
    closed.sketches = sealed.sketches;
    return { rawFrom: this.raw.flushedPos, rawTo: this.raw.end, closed, sealed, copied: 0, watermark };
  }

  /**
   * Copies more of a cut's sealed buckets out (freeing their slots): at most `max`, for about
   * `budgetMs` (slices of a few thousand: a slice of cold code or fresh pages takes longer). True once
   * all are.
   */
  copyClosed(cut: HeadCut, max = Infinity, budgetMs = CLOSED_COPY_MS): boolean {
    const start = performance.now();
    const end = Math.min(cut.sealed.n, cut.copied + max);
    while (cut.copied < end) {
      const to = Math.min(end, cut.copied + CLOSED_COPY_SLICE);
      this.agg.takeSealed(cut.sealed, cut.closed, cut.copied, to);
      cut.copied = to;
      if (performance.now() - start >= budgetMs) break;
    }
    return cut.copied === cut.sealed.n;
  }

  /** A failed flush: the cut's closed buckets are open again (merged into buckets opened since). */
  restoreCut(cut: HeadCut): void {
    this.agg.unseal(cut.sealed, cut.copied);
    this.agg.restoreSlice(copiedClosed(cut));
  }

  /** After a flush committed: its raw samples are in Parquet; evicts what the hot window no longer needs. */
  flushed(rawTo: number, nowMs: number): void {
    this.raw.markFlushed(rawTo);
    this.evict(nowMs);
  }

  /**
   * Idle expiry: forgets the series whose newest sample is older than `beforeTs` and of which nothing
   * is unflushed or open (names, last value, counter state: their memory comes back; their data stays
   * in Parquet). A later sample of one creates it again. The caller makes sure no request holds ids
   * resolved before this (they would apply to a forgotten id). Returns how many were forgotten.
   */
  expireIdle(beforeTs: number): number {
    let n = 0;
    for (const id of this.series.idleSince(beforeTs)) {
      const newest = this.series.newestTs(id);
      if (this.raw.lastPosition(id) >= this.raw.flushedPos) continue; // not all in Parquet yet
      if (!this.agg.dropSeries(id)) continue; // a bucket still open
      this.raw.forgetSeries(id, newest);
      this.series.forget(id);
      n++;
    }
    return n;
  }

  /**
   * Drops flushed raw samples outside the hot window or over its memory bound (`maxBytes`, lower than
   * the configured bound while memory is short).
   */
  evict(nowMs: number, maxBytes = this.opts.hotMemoryBytes): number {
    if (this.opts.hotWindowMs <= 0) return this.raw.evict(Infinity, 0);
    return this.raw.evict(nowMs - this.opts.hotWindowMs, Math.min(maxBytes, this.opts.hotMemoryBytes));
  }

  /**
   * Drops the memory the next flush would reuse: the last snapshot capture and closed-bucket copy.
   * Reusing it keeps the copies a memcpy (fresh memory costs a page fault per 4 KiB: ten times the copy
   * in a virtual machine), at the price of holding it between flushes; memory relief lets it go. An
   * encoder still reading it keeps it alive (shared memory) until it is done.
   */
  releaseCapture(): void {
    this.series.releaseCapture();
    this.agg.releaseCapture();
    this.closedSpare = null;
  }

  /** Approximate bytes held. */
  memoryBytes(): number {
    return this.raw.memoryBytes() + this.agg.memoryBytes() + this.series.held * 200;
  }
}
