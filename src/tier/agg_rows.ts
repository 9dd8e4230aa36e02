/**
 * Aggregate rows as objects (`AggRow`: identity, bucket, value kind, mergeable `Aggregate`) and their
 * conversion to and from the columnar `AggColumns` of tier files. Merging rows with the same key is
 * how late data, re-flushes and compaction combine partial aggregates.
 *
 * @module
 */
import { Aggregate } from "../model/aggregate.ts";
import { type AggColumns, allocAggColumns, putStats, takeStats } from "../parquet/mod.ts";

/** One aggregate row. */
export interface AggRow {
  namespace: string;
  target: string;
  poller: string;
  bucket: number;
  kind: number;
  agg: Aggregate;
}

/** Orders rows by namespace, target, poller, bucket. */
export function compareRows(a: AggRow, b: AggRow): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.target !== b.target) return a.target < b.target ? -1 : 1;
  if (a.poller !== b.poller) return a.poller < b.poller ? -1 : 1;
  return a.bucket - b.bucket;
}

/** Whether two rows have the same key. */
export function sameKey(a: AggRow, b: AggRow): boolean {
  return a.bucket === b.bucket && a.poller === b.poller && a.target === b.target && a.namespace === b.namespace;
}

/**
 * Sorts rows and merges those with the same key (the monoid at work).
 *
 * @example
 * ```ts
 * import { Aggregate } from "../model/aggregate.ts";
 * import { mergeRows } from "./agg_rows.ts";
 * const row = (v: number) => { const agg = Aggregate.empty(0.01); agg.add(v, 1); return { namespace: "n", target: "t", poller: "p", bucket: 0, kind: 1, agg }; };
 * const merged = mergeRows([row(1), row(3)]);
 * if (merged.length !== 1 || merged[0].agg.sum !== 4) throw new Error();
 * ```
 */
export function mergeRows(rows: AggRow[]): AggRow[] {
  rows.sort(compareRows);
  const out: AggRow[] = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last && sameKey(last, r)) last.agg.merge(r.agg);
    else out.push(r);
  }
  return out;
}

/** Columns for sorted rows (percentiles derived from each row's sketch). */
export function rowsToColumns(rows: readonly AggRow[]): AggColumns {
  const n = rows.length;
  const c = allocAggColumns(n);
  const ps = [c.p50, c.p90, c.p95, c.p99];
  const q = new Float64Array(4);
  rows.forEach((r, i) => {
    const a = r.agg;
    c.namespace[i] = r.namespace;
    c.target[i] = r.target;
    c.poller[i] = r.poller;
    c.bucket[i] = r.bucket;
    c.kind[i] = r.kind;
    putStats(c, i, a);
    a.quantiles(q);
    for (let k = 0; k < 4; k++) ps[k][i] = q[k];
    c.sketch[i] = a.sketchBytes();
  });
  return c;
}

/**
 * Rows of columns. Sketches are decoded with `accuracy` (so they merge with local sketches); a row
 * without a sketch but with values has no percentiles (`sketch` null). `withSketch` false: the sketch
 * column was not read, the rows report their stored percentiles and cannot be merged.
 */
export function columnsToRows(
  c: AggColumns,
  accuracy: number | null,
  { withSketch }: { withSketch: boolean } = { withSketch: true },
): AggRow[] {
  const rows: AggRow[] = new Array(c.length);
  for (let i = 0; i < c.length; i++) {
    const quantiles = [c.p50[i], c.p90[i], c.p95[i], c.p99[i]];
    const agg = withSketch
      ? Aggregate.stored(accuracy, c.sketch[i], quantiles)
      : Aggregate.reported(accuracy, quantiles);
    takeStats(c, i, agg);
    rows[i] = {
      namespace: c.namespace[i],
      target: c.target[i],
      poller: c.poller[i],
      bucket: c.bucket[i],
      kind: c.kind[i],
      agg,
    };
  }
  return rows;
}
