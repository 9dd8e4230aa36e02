/**
 * The rows a query decoded from a tier file, kept for the next query: tier files are immutable and
 * their names never reused, so the rows of one file for one series filter (and column set) never
 * change. An entry holds all of that filter's rows of the file, whatever the query's time range, so a
 * dashboard refreshing a sliding window finds the older files' rows decoded and reads only what is
 * new; the time range is applied to the cached rows. (A namespace read of selected series is kept for
 * the whole hours its range touches, under a key naming them: `cachedRead` in `query.ts`.)
 *
 * Bounded by bytes (least recently used out): its share of `server.memory_limit` is planned in
 * `src/config/memory_budget.ts` (`queryCacheBytes`). An entry too large for a quarter of the cache is
 * not kept (a namespace-wide scan would only push out the series dashboards read).
 *
 * @module
 */
import type { SeriesFilter } from "../model/series_filter.ts";
import { type Batch, gatherBatch } from "../parquet/mod.ts";

/** Cache figures (for the status and tests). */
export interface ReadCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
}

interface Entry {
  value: Promise<unknown>;
  bytes: number;
}

/** The cache. */
export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(readonly maxBytes: number) {}

  /**
   * The rows of `path` for `filter` and `columns` with time (`timeColumn`) in [fromMs, toMs), from the
   * cache or decoded by `load` (which must return every row of the filter in the file).
   *
   * @example
   * ```ts
   * import { ReadCache } from "./read_cache.ts";
   * const cache = new ReadCache(1 << 20);
   * let loads = 0;
   * const load = () => (loads++, Promise.resolve({ length: 3, ts: new Float64Array([1, 2, 3]) }));
   * const a = await cache.read("/f", { namespace: "n", target: "r1" }, "all", "ts", 2, 4, load);
   * const b = await cache.read("/f", { namespace: "n", target: "r1" }, "all", "ts", 0, 2, load);
   * console.assert(a.length === 2 && b.length === 1 && loads === 1);
   * ```
   */
  async read<C extends Batch>(
    path: string,
    filter: SeriesFilter,
    columns: string,
    timeColumn: keyof C & string,
    fromMs: number,
    toMs: number,
    load: () => Promise<C>,
  ): Promise<C> {
    return inRange(await this.rows(path, filter, columns, load), timeColumn, fromMs, toMs);
  }

  /**
   * Every row of `path` for `filter` and `columns` that {@link read} cuts to a range: for a caller that
   * skips the rows out of its range itself, instead of having them copied out.
   */
  rows<C extends Batch>(path: string, filter: SeriesFilter, columns: string, load: () => Promise<C>): Promise<C> {
    const key = [path, filter.namespace, filter.target, filter.poller, columns].map((x) => x ?? "\u0001").join("\0");
    return this.memo(key, () => load().then(ownCopy), batchBytes);
  }

  /**
   * A value derived from an immutable file (decoded rows, a row group's series index), from the cache
   * or made by `load`, under the same byte budget and recency order; `key` must start with the path.
   */
  async memo<T>(key: string, load: () => Promise<T>, bytesOf: (value: T) => number): Promise<T> {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#hits++;
      this.#entries.delete(key); // most recently used last
      this.#entries.set(key, entry);
      return (await entry.value) as T;
    }
    this.#misses++;
    const settled: Entry = { value: load(), bytes: 0 };
    this.#entries.set(key, settled);
    let value: T;
    try {
      value = (await settled.value) as T;
    } catch (err) {
      if (this.#entries.get(key) === settled) this.#entries.delete(key);
      throw err;
    }
    if (this.#entries.get(key) === settled) {
      settled.bytes = Math.max(1, bytesOf(value));
      if (settled.bytes > this.maxBytes / 4) this.#entries.delete(key);
      else this.#bytes += settled.bytes;
      this.#trim();
    }
    return value;
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** The cache's figures now. */
  stats(): ReadCacheStats {
    return {
      entries: this.#entries.size,
      bytes: this.#bytes,
      maxBytes: this.maxBytes,
      hits: this.#hits,
      misses: this.#misses,
    };
  }

  #trim(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      if (entry.bytes === 0) continue; // still loading
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
    }
  }
}

/** The rows of `batch` whose time is in [fromMs, toMs): the batch itself when all are. */
function inRange<C extends Batch>(batch: C, timeColumn: keyof C & string, fromMs: number, toMs: number): C {
  const time = batch[timeColumn] as unknown as ArrayLike<number>;
  const rows = new Int32Array(batch.length);
  let n = 0;
  for (let i = 0; i < batch.length; i++) if (time[i] >= fromMs && time[i] < toMs) rows[n++] = i;
  return n === batch.length ? batch : gatherBatch(batch, rows.subarray(0, n));
}

/**
 * The batch with columns of its own: decoded columns are often views of a larger buffer (a page or a
 * whole column chunk, sketches views of a decompressed page), which a cached view would keep alive
 * unseen. Views are copied to their own size; columns that own their buffer are kept as they are.
 */
function ownCopy<C extends Batch>(batch: C): C {
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(batch)) {
    if (ArrayBuffer.isView(column) && !(column instanceof DataView)) {
      out[key] = column.byteLength < column.buffer.byteLength ? (column as Uint8Array).slice() : column;
    } else if (Array.isArray(column)) {
      out[key] = column.map((v) => v instanceof Uint8Array && v.byteLength < v.buffer.byteLength ? v.slice() : v);
    } else out[key] = column;
  }
  return out as C;
}

/** Bytes a decoded batch holds (typed arrays by size, references at 8 bytes, byte arrays by size). */
function batchBytes(batch: Batch): number {
  let bytes = 0;
  for (const column of Object.values(batch)) {
    if (ArrayBuffer.isView(column)) bytes += column.byteLength;
    else if (Array.isArray(column)) {
      bytes += column.length * 8;
      for (const v of column) if (v instanceof Uint8Array) bytes += v.byteLength;
    }
  }
  return bytes;
}
