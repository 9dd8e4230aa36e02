/**
 * The raw sample log: an append-only sequence of columnar chunks (typed arrays, ~33 bytes per
 * sample, no object per sample) holding every sample not yet in Parquet plus recent flushed samples
 * for fast reads. Positions are global and monotonic. Each sample links to the previous sample of its
 * series, so one series' recent samples are found without scanning.
 *
 * Eviction drops whole chunks from the front, and only chunks whose samples are all flushed: by time
 * (every sample in the chunk is older than the hot window, judged by sample time, not by arrival) or by
 * memory (oldest arrival first). `coverageStart` tells from which sample time on the log is complete
 * for every series, so a query may skip Parquet when its range starts at or after it.
 *
 * @module
 */
import type { SampleBatch } from "../model/batch.ts";

/** Samples per chunk. */
export const CHUNK_SIZE = 1 << 16;
/** Approximate bytes per sample held (typed arrays only). */
export const BYTES_PER_SAMPLE = 8 + 8 + 4 + 8 + 1 + 1 + 4;
const CHUNK_BYTES = CHUNK_SIZE * BYTES_PER_SAMPLE;
/** Evicted chunks kept for reuse at most (about 36 MiB). */
const MAX_SPARE_CHUNKS = 16;

/**
 * One chunk of columns, all in one `SharedArrayBuffer`: a flush hands its rows to the encoder thread
 * by reference (`src/tier/flush_job.ts`) instead of copying them.
 */
export class Chunk {
  n = 0;
  minTs = Infinity;
  maxTs = -Infinity;
  readonly ts: Float64Array;
  readonly value: Float64Array;
  readonly prev: Float64Array;
  readonly series: Int32Array;
  readonly pollMs: Int32Array;
  readonly kind: Uint8Array;
  readonly flags: Uint8Array;
  big: Map<number, bigint> | null = null;
  text: Map<number, string> | null = null;
  error: Map<number, string> | null = null;
  constructor(public base: number) {
    const mem = new SharedArrayBuffer(CHUNK_BYTES);
    const C = CHUNK_SIZE;
    this.ts = new Float64Array(mem, 0, C);
    this.value = new Float64Array(mem, 8 * C, C);
    this.prev = new Float64Array(mem, 16 * C, C);
    this.series = new Int32Array(mem, 24 * C, C);
    this.pollMs = new Int32Array(mem, 28 * C, C);
    this.kind = new Uint8Array(mem, 32 * C, C);
    this.flags = new Uint8Array(mem, 33 * C, C);
  }

  /** Empties the chunk for reuse at `base` (the columns are overwritten as samples arrive). */
  reset(base: number): this {
    this.base = base;
    this.n = 0;
    this.minTs = Infinity;
    this.maxTs = -Infinity;
    this.big = this.text = this.error = null;
    return this;
  }
}

/** Position cursor into the log: which chunk and index a global position is at. */
export interface Loc {
  chunk: Chunk;
  i: number;
}

/**
 * The log.
 *
 * @example
 * ```ts
 * import { RawLog } from "./raw_log.ts";
 * const log = new RawLog();
 * if (log.end !== 0 || log.unflushed !== 0) throw new Error();
 * ```
 */
export class RawLog {
  private chunks: Chunk[] = [];
  /**
   * Evicted chunks kept for the next ones (at most {@link MAX_SPARE_CHUNKS}, and at most a quarter of
   * the memory bound): a steady log then writes into memory it already has instead of fresh pages (the
   * first touch of a page costs far more than the copy into it). Nothing outside the log keeps a
   * chunk: readers copy from it synchronously.
   */
  private spares: Chunk[] = [];
  private lastPos = new Float64Array(1024).fill(-1);
  /** First position still held. */
  start = 0;
  /** Next position to be written. */
  end = 0;
  /** Positions below this are in Parquet. */
  flushedPos = 0;
  /** From this sample time on, the log holds every sample of every series. */
  coverageStart: number;

  constructor(coverageStart = -Infinity) {
    this.coverageStart = coverageStart;
  }

  /** Samples not yet in Parquet. */
  get unflushed(): number {
    return this.end - this.flushedPos;
  }

  /** Samples held in memory. */
  get held(): number {
    return this.end - this.start;
  }

  /** Bytes held by the chunks, spare chunks included. */
  memoryBytes(): number {
    return (this.chunks.length + this.spares.length) * CHUNK_BYTES;
  }

  /** Bytes that eviction could free now: chunks whose samples are all in Parquet, and spare chunks. */
  evictableBytes(): number {
    let k = 0;
    while (k < this.chunks.length && this.chunks[k].base + this.chunks[k].n <= this.flushedPos) k++;
    return (k + this.spares.length) * CHUNK_BYTES;
  }

  /**
   * Appends every sample of a resolved batch, in order (as appending them one by one would): the
   * columns are copied in bulk, one contiguous run per chunk; only the per-series back links and the
   * time bounds take a loop.
   */
  appendBatch(b: SampleBatch): void {
    const maxSeries = maxSeriesId(b);
    if (maxSeries >= this.lastPos.length) this.growSeries(maxSeries);
    for (let i = 0; i < b.length;) {
      let chunk = this.chunks[this.chunks.length - 1];
      if (!chunk || chunk.n === CHUNK_SIZE) chunk = this.newChunk();
      const j0 = chunk.n;
      const take = Math.min(b.length - i, CHUNK_SIZE - j0);
      const end = i + take;
      copyInto(chunk.ts, b.ts, i, end, j0);
      copyInto(chunk.value, b.value, i, end, j0);
      copyInto(chunk.series, b.seriesId, i, end, j0);
      copyInto(chunk.kind, b.kind, i, end, j0);
      copyInto(chunk.flags, b.flags, i, end, j0);
      copyInto(chunk.pollMs, b.pollMs, i, end, j0);
      let { minTs, maxTs } = chunk;
      const { lastPos } = this;
      const { ts, seriesId } = b;
      const prev = chunk.prev;
      let pos = this.end;
      for (let k = i, j = j0; k < end; k++, j++, pos++) {
        const t = ts[k];
        if (t < minTs) minTs = t;
        if (t > maxTs) maxTs = t;
        const series = seriesId[k];
        prev[j] = lastPos[series];
        lastPos[series] = pos;
      }
      chunk.minTs = minTs;
      chunk.maxTs = maxTs;
      if (b.big || b.text || b.error) {
        for (let k = i, j = j0; k < end; k++, j++) {
          if (b.big) setSide(chunk, "big", j, b.big.get(k));
          if (b.text) setSide(chunk, "text", j, b.text.get(k));
          if (b.error) setSide(chunk, "error", j, b.error.get(k));
        }
      }
      chunk.n = j0 + take;
      this.end = pos;
      i = end;
    }
  }

  /** Where a held position is. */
  locate(pos: number): Loc {
    const first = this.chunks[0];
    const k = Math.floor((pos - first.base) / CHUNK_SIZE);
    const chunk = this.chunks[k];
    return { chunk, i: pos - chunk.base };
  }

  /** The newest position of `series` (by arrival), or -1; older ones follow `Chunk.prev` (see {@link locate}). */
  lastPosition(series: number): number {
    return series < this.lastPos.length ? this.lastPos[series] : -1;
  }

  /**
   * Forgets series `series` (idle expiry) once all its samples are flushed (else returns false): its
   * back links end, and the log no longer claims to hold every sample up to its newest (`newestTs`), so
   * queries of that identity read Parquet. Its flushed rows stay until their chunk is evicted.
   */
  forgetSeries(series: number, newestTs: number): boolean {
    if (series >= this.lastPos.length) return true;
    if (this.lastPos[series] >= this.flushedPos) return false;
    this.lastPos[series] = -1;
    if (newestTs + 1 > this.coverageStart) this.coverageStart = newestTs + 1;
    return true;
  }

  /** Positions of `series` at or above `minPos` (newest first). */
  positionsOf(series: number, minPos: number): number[] {
    const out: number[] = [];
    const floor = Math.max(minPos, this.start);
    let pos = series < this.lastPos.length ? this.lastPos[series] : -1;
    while (pos >= floor) {
      out.push(pos);
      const { chunk, i } = this.locate(pos);
      pos = chunk.prev[i];
    }
    return out;
  }

  /** Chunks overlapping positions [from, to), with the index range inside each. */
  *ranges(from: number, to: number): Generator<{ chunk: Chunk; lo: number; hi: number }> {
    for (const chunk of this.chunks) {
      const lo = Math.max(from, chunk.base) - chunk.base;
      const hi = Math.min(to, chunk.base + chunk.n) - chunk.base;
      if (hi > lo) yield { chunk, lo, hi };
    }
  }

  /** Marks positions below `pos` as flushed. */
  markFlushed(pos: number): void {
    this.flushedPos = Math.max(this.flushedPos, pos);
  }

  /**
   * Drops whole flushed chunks from the front: those whose samples are all older than `minTs`, then,
   * while over `maxBytes`, the oldest. Returns how many samples were dropped.
   */
  evict(minTs: number, maxBytes: number): number {
    let dropped = 0;
    while (this.chunks.length > 0) {
      const c = this.chunks[0];
      if (c.base + c.n > this.flushedPos) break; // never drop a sample that is not in Parquet
      if (!(c.maxTs < minTs) && this.chunks.length * CHUNK_BYTES <= maxBytes) break;
      this.chunks.shift();
      this.start = c.base + c.n;
      if (c.maxTs !== -Infinity) this.coverageStart = Math.max(this.coverageStart, c.maxTs + 1);
      dropped += c.n;
      this.spares.push(c);
    }
    const keep = Math.min(MAX_SPARE_CHUNKS, Math.floor(maxBytes / 4 / CHUNK_BYTES));
    if (this.spares.length > keep) this.spares.length = keep;
    return dropped;
  }

  /** Starts a chunk at the end of the log, in the spare chunk's memory when there is one. */
  private newChunk(): Chunk {
    const chunk = this.spares.pop()?.reset(this.end) ?? new Chunk(this.end);
    this.chunks.push(chunk);
    return chunk;
  }

  private growSeries(series: number): void {
    const grown = new Float64Array(Math.max(series + 1, this.lastPos.length * 2)).fill(-1);
    grown.set(this.lastPos);
    this.lastPos = grown;
  }
}

/**
 * Copies `src[from, to)` to `dst` at `at`. A batch that fits whole is copied without a subarray view:
 * on JavaScriptCore (Bun) the first view of a small typed array moves its contents out of the GC heap.
 */
function copyInto<T extends Float64Array | Int32Array | Uint8Array>(
  dst: T,
  src: T,
  from: number,
  to: number,
  at: number,
): void {
  if (from === 0 && to === src.length) dst.set(src, at);
  else dst.set(src.subarray(from, to), at);
}

function maxSeriesId(b: SampleBatch): number {
  let max = -1;
  for (let k = 0; k < b.length; k++) if (b.seriesId[k] > max) max = b.seriesId[k];
  return max;
}

function setSide<K extends "big" | "text" | "error">(
  chunk: Chunk,
  key: K,
  j: number,
  v: NonNullable<Chunk[K]> extends Map<number, infer V> ? V | undefined : never,
): void {
  if (v === undefined) return;
  // deno-lint-ignore no-explicit-any
  ((chunk[key] ??= new Map() as any) as Map<number, unknown>).set(j, v);
}
