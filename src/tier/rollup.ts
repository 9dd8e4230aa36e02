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
import type { AggColumns, Compression } from "../parquet/mod.ts";
import { encode } from "./encode_file.ts";
import { iterateAggFile } from "../parquet/mod.ts";
import { MERGE_BATCH_ROWS, seriesRuns } from "./merge.ts";

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
 * and encodes one file per partition. The inputs are read together, series by series in identity
 * order (as a merge reads them), so only one series' rows are decoded into aggregates at a time; the
 * coarser rows wait as columns, {@link ROLLUP_BATCH_ROWS} at a time. An hour of 100,000 series in
 * twelve 5-minute files held one decoded aggregate (and sketch) per series and hour at once: a worker
 * heap of 300 MB at the budget's 512 MiB.
 */
export async function rollupFiles(fs: FileSystem, req: RollupRequest): Promise<RollupResult> {
  const sources = req.inputs.map((path) =>
    iterateAggFile(fs, path, { fromMs: req.from, toMs: req.to, tier: req.finer, batchRows: MERGE_BATCH_ROWS })
  );
  const batches = new Map<number, AggColumns[]>();
  let pending: AggRow[] = [];
  let inputRows = 0, outputRows = 0;
  const settle = () => {
    for (const [partition, list] of byPartition(pending, req.tier)) {
      if (!batches.has(partition)) batches.set(partition, []);
      batches.get(partition)!.push(rowsToColumns(list));
    }
    outputRows += pending.length;
    pending = [];
  };
  for await (const parts of seriesRuns(sources)) {
    const rows: AggRow[] = [];
    for (const part of parts) {
      inputRows += part.length;
      rows.push(...columnsToRows(part, req.accuracy));
    }
    pending.push(...rollup(rows, req.tier));
    if (pending.length >= ROLLUP_BATCH_ROWS) settle();
  }
  settle();
  const files: EncodedFile[] = [];
  for (const partition of [...batches.keys()].sort((a, b) => a - b)) {
    files.push(await encode(req.tier, partition, batches.get(partition)!, { compression: req.compression }));
  }
  return { files, inputRows, outputRows };
}

/** Coarser rows turned into columns at a time by {@link rollupFiles}. */
const ROLLUP_BATCH_ROWS = 4_096;

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
