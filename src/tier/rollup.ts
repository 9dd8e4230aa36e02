/**
 * Rolling aggregate rows up into a coarser tier: each row is re-bucketed and rows with the same new
 * key are merged. The same function serves compaction and the propagation of late data.
 *
 * @module
 */
import { type AggregateTier, bucketStart } from "../model/tier.ts";
import type { EncodedFile } from "../aggregate/flush_batch.ts";
import { partitionStart } from "../model/paths.ts";
import type { FileSystem } from "../platform/fs.ts";
import { type AggRow, columnsToRows, mergeRows, rowsToColumns } from "./agg_rows.ts";
import type { Compression } from "../parquet/mod.ts";
import { encodeAggFile } from "./encode_file.ts";
import { iterateAggFile } from "../parquet/mod.ts";

/**
 * Rows of `to` built from `rows` (which are not modified).
 *
 * @example
 * ```ts
 * import { Aggregate } from "../model/aggregate.ts";
 * import { rollup } from "./rollup.ts";
 * const row = (bucket: number, v: number) => { const agg = Aggregate.empty(0.01); agg.add(v, bucket); return { namespace: "n", target: "t", poller: "p", bucket, kind: 1, agg }; };
 * const hourly = rollup([row(0, 1), row(300_000, 3), row(3_600_000, 5)], "hourly");
 * if (hourly.length !== 2 || hourly[0].agg.count !== 2) throw new Error();
 * ```
 */
export function rollup(rows: readonly AggRow[], to: AggregateTier): AggRow[] {
  return mergeRows(rows.map((r) => ({ ...r, bucket: bucketStart(to, r.bucket), agg: r.agg.clone() })));
}

/** What {@link rollupFiles} does. */
export interface RollupRequest {
  /** Absolute paths of the finer tier's files that may hold rows in [from, to). */
  inputs: string[];
  finer: AggregateTier;
  tier: AggregateTier;
  from: number;
  to: number;
  accuracy: number | null;
  compression: Compression;
}

/** The coarser tier's files of a window. */
export interface RollupResult {
  files: EncodedFile[];
  inputRows: number;
  outputRows: number;
}

/**
 * Reads the finer tier's rows with bucket in [from, to) from `inputs`, merges them per coarser bucket
 * and encodes one file per partition. Memory: one row per series and coarser bucket of the window.
 */
export async function rollupFiles(fs: FileSystem, req: RollupRequest): Promise<RollupResult> {
  const acc = new Map<string, AggRow>();
  let inputRows = 0;
  for (const path of req.inputs) {
    for await (const cols of iterateAggFile(fs, path, { fromMs: req.from, toMs: req.to, tier: req.finer })) {
      inputRows += cols.length;
      for (const r of columnsToRows(cols, req.accuracy)) accumulate(acc, r, req.tier);
    }
  }
  const rows = mergeRows([...acc.values()]);
  const files: EncodedFile[] = [];
  for (const [partition, list] of byPartition(rows, req.tier)) {
    files.push(await encodeAggFile(req.tier, partition, rowsToColumns(list), { compression: req.compression }));
  }
  return { files, inputRows, outputRows: rows.length };
}

function accumulate(acc: Map<string, AggRow>, r: AggRow, tier: AggregateTier): void {
  const bucket = bucketStart(tier, r.bucket);
  const key = `${r.namespace}\u0000${r.target}\u0000${r.poller}\u0000${bucket}`;
  const existing = acc.get(key);
  if (existing) existing.agg.merge(r.agg);
  else acc.set(key, { ...r, bucket, agg: r.agg.clone() });
}

/** Rows grouped by their partition of `tier`, oldest partition first. */
export function byPartition(rows: AggRow[], tier: AggregateTier): [number, AggRow[]][] {
  const out = new Map<number, AggRow[]>();
  for (const r of rows) {
    const p = partitionStart(tier, r.bucket);
    let list = out.get(p);
    if (!list) out.set(p, list = []);
    list.push(r);
  }
  return [...out].sort((a, b) => a[0] - b[0]);
}
