/**
 * Rolling aggregate rows up into a coarser tier: each row is re-bucketed and rows with the same new
 * key are merged. The same function serves compaction and the propagation of late data.
 *
 * @module
 */
import { type AggregateTier, bucketStart } from "../model/tier.ts";
import { type AggRow, mergeRows } from "./agg_rows.ts";

/**
 * Rows of `to` built from `rows` (which are not modified).
 *
 * @example
 * ```ts
 *  * import { rollup } from "./rollup.ts";
 * const row = (bucket: number, v: number) => { const agg = Aggregate.empty(0.01); agg.add(v, bucket); return { namespace: "n", target: "t", poller: "p", bucket, kind: 1, agg }; };
 * const hourly = rollup([row(0, 1), row(300_000, 3), row(3_600_000, 5)], "hourly");
 * if (hourly.length !== 2 || hourly[0].agg.count !== 2) throw new Error();
 * ```
 */
export function rollup(rows: readonly AggRow[], to: AggregateTier): AggRow[] {
  return mergeRows(rows.map((r) => ({ ...r, bucket: bucketStart(to, r.bucket), agg: r.agg.clone() })));
}
