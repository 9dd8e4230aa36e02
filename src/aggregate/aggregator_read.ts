/**
 * Reading buckets held as columns ({@link ClosedSlice}, the aggregator's slots) as mergeable
 * {@link Aggregate}s: what queries and a failed flush's restore need.
 *
 * @module
 */
import { Aggregate } from "../model/aggregate.ts";
import { statsAt } from "../model/aggregate_stats.ts";
import { BinSketch } from "../model/bin_sketch.ts";
import { type ClosedSlice, SKETCH_MODE, type SlotColumns } from "./bucket_columns.ts";

/** One bucket as an object: its series, bucket start, value kind and aggregate. */
export interface BucketRow {
  series: number;
  bucket: number;
  kind: number;
  agg: Aggregate;
}

/**
 * Bucket `i` of columns as an aggregate (a copy). `sketch` is the bucket's sketch when `nvals` says
 * SKETCH_MODE: an object (the aggregator's, cloned) or encoded bytes (a slice's).
 */
export function aggregateAt(
  cols: SlotColumns,
  i: number,
  inline: number,
  accuracy: number | null,
  sketch: BinSketch | Uint8Array | null | undefined,
): Aggregate {
  const agg = Aggregate.stored(accuracy, null, null);
  statsAt(cols, i, agg);
  if (accuracy === null) return agg;
  if (cols.nvals[i] === SKETCH_MODE) {
    if (sketch instanceof BinSketch) agg.sketch = sketch.clone();
    else if (sketch) agg.sketch = BinSketch.decode(sketch, accuracy);
  } else agg.values = Array.from(cols.values.subarray(i * inline, i * inline + cols.nvals[i]));
  return agg;
}

/** Bucket `i` of a slice as an aggregate (a copy); `sketches` maps bucket → sketch bytes. */
export function sliceAggregate(
  s: ClosedSlice,
  i: number,
  accuracy: number | null,
  sketches: ReadonlyMap<number, Uint8Array> = new Map(s.sketches),
): Aggregate {
  return aggregateAt(s, i, s.inline, accuracy, sketches.get(i));
}

/** The buckets of a slice as rows (series are whatever ids the slice holds). */
export function sliceRows(s: ClosedSlice, accuracy: number | null): BucketRow[] {
  const rows: BucketRow[] = [];
  const sketches = new Map(s.sketches);
  for (let i = 0; i < s.n; i++) {
    rows.push({
      series: s.series[i],
      bucket: s.bucket[i],
      kind: s.kind[i],
      agg: sliceAggregate(s, i, accuracy, sketches),
    });
  }
  return rows;
}
