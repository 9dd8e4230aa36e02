/**
 * What a flush hands to the Parquet encoder: columnar, transferable slices of the head (typed arrays
 * plus a small table of series identities), so the encoding can run on another thread. Series are
 * numbered by their position in identity order, so sorting rows is a counting sort, not a string sort.
 *
 * @module
 */
import type { ClosedSlice } from "./bucket_columns.ts";

export { type ClosedSlice, SKETCH_MODE } from "./bucket_columns.ts";

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

/** A flush's data. */
export interface FlushBatch {
  series: SeriesTable;
  raw: RawSlice;
  closed: ClosedSlice;
  /** Relative accuracy of percentiles, or null when they are off. */
  accuracy: number | null;
  /** Tier watermarks: closed buckets below a coarser tier's watermark also go there (late data). */
  watermarks: { hourly: number; daily: number; weekly: number };
  /**
   * Per tier, the retention horizon at the flush: a partition ending at or before it is expired (the
   * next retention run deletes it). Rows there are not written to that tier when the next coarser tier
   * gets them now (see `src/tier/flush_encode.ts`). Absent: every tier keeps everything.
   */
  keepFrom?: KeepFrom;
}

/** Retention horizons by tier (Unix ms). */
export type KeepFrom = Readonly<Record<"raw" | "5min" | "hourly" | "daily" | "weekly", number>>;

/** One encoded tier file. */
export interface EncodedFile {
  tier: "raw" | "5min" | "hourly" | "daily" | "weekly";
  partition: number;
  bytes: Uint8Array;
  rows: number;
  minTs: number;
  maxTs: number;
}
