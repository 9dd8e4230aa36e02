/**
 * What a flush hands to the Parquet encoder: columnar, transferable slices of the head (typed arrays
 * plus a small table of series identities), so the encoding can run on another thread. Series are
 * numbered by their position in identity order, so sorting rows is a counting sort, not a string sort.
 *
 * @module
 */

/** The identities of the series a flush touches, in (namespace, target, poller) order. */
export interface SeriesTable {
  namespace: string[];
  target: string[];
  poller: string[];
}

/** Raw samples, in arrival order; `series` indexes the {@link SeriesTable}. */
export interface RawSlice {
  n: number;
  series: Int32Array;
  ts: Float64Array;
  value: Float64Array;
  kind: Uint8Array;
  flags: Uint8Array;
  pollMs: Int32Array;
  /** Exact counters above 2^53 (decimal strings), by row. */
  big: [number, string][];
  text: [number, string][];
  error: [number, string][];
}

/**
 * Closed 5-minute buckets. Percentile state per bucket: `nvals[i]` exact values at
 * `values[i * inline …]`, or (nvals 255) encoded sketch bytes in `sketches`.
 */
export interface ClosedSlice {
  n: number;
  inline: number;
  series: Int32Array;
  start: Float64Array;
  kind: Uint8Array;
  count: Float64Array;
  errors: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  first: Float64Array;
  last: Float64Array;
  nvals: Uint8Array;
  values: Float64Array;
  sketches: [number, Uint8Array][];
}

/** Marker in `ClosedSlice.nvals`: the bucket's percentiles are in `sketches`. */
export const SKETCH_MODE = 255;

/** A flush's data. */
export interface FlushBatch {
  series: SeriesTable;
  raw: RawSlice;
  closed: ClosedSlice;
  /** Relative accuracy of percentiles, or null when they are off. */
  accuracy: number | null;
  /** Tier watermarks: closed buckets below a coarser tier's watermark also go there (late data). */
  watermarks: { hourly: number; daily: number; weekly: number };
}

/** One encoded tier file. */
export interface EncodedFile {
  tier: "raw" | "5min" | "hourly" | "daily" | "weekly";
  partition: number;
  bytes: Uint8Array;
  rows: number;
  minTs: number;
  maxTs: number;
}

/**
 * The typed-array buffers a batch owns alone, for a zero-copy transfer to a worker: the raw columns
 * (copied out of the log for this flush) and the renumbered series of the closed buckets. The other
 * columns of the closed buckets are shared with the flush's cut, which queries read and a failed flush
 * puts back into the head until the commit: they are copied, never detached.
 */
export function transferables(b: FlushBatch): ArrayBuffer[] {
  const r = b.raw;
  const arrays = [r.series, r.ts, r.value, r.kind, r.flags, r.pollMs, b.closed.series];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}
