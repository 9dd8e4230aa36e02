/**
 * Merging the files of a partition into one: a streaming merge by series runs. Every input is sorted
 * by (namespace, target, poller, time), so the output takes, series by series in identity order, the
 * run of rows each input holds for that series, ordered by time. Aggregate rows with the same key
 * (partial aggregates: late data) are merged into one row; a row that meets no other passes through
 * unchanged (its stored sketch and percentiles are copied, not recomputed). Raw rows are all kept.
 * Memory stays at a row group per input plus the series being merged.
 *
 * @module
 */
import type { Tier } from "../model/tier.ts";
import type { FileSystem } from "../platform/fs.ts";
import { columnsToRows, mergeRows, rowsToColumns } from "./agg_rows.ts";
import type { AggColumns, RawColumns } from "../parquet/mod.ts";
import type { Compression } from "../parquet/mod.ts";
import { type Batch, concatBatches, gatherBatch, type IdentityColumns } from "../parquet/mod.ts";
import { iterateAggFile, iterateRawFile } from "../parquet/mod.ts";
import { createTierWriter, type TierWriteResult } from "../parquet/mod.ts";

type Rows = Batch & IdentityColumns;

/** Options of a merge. */
export interface MergeOptions {
  tier: Tier;
  compression: Compression;
  /** Relative accuracy of the aggregate tiers' sketches (null: percentiles off). */
  accuracy: number | null;
  /** Rows per output row group. */
  rowGroupRows?: number;
}

/** Merges `inputs` (absolute paths) into `output` (written atomically). */
export async function mergeTierFiles(
  fs: FileSystem,
  inputs: readonly string[],
  output: string,
  opts: MergeOptions,
): Promise<TierWriteResult> {
  const isRaw = opts.tier === "raw";
  const cursors = inputs.map((path) => new Cursor(isRaw ? iterateRawFile(fs, path) : iterateAggFile(fs, path)));
  for (const c of cursors) await c.load();
  const writer = await createTierWriter(fs, output, { tier: opts.tier, compression: opts.compression } as never);
  const write = (writer.write as (b: Rows) => Promise<void>).bind(writer);
  const chunk = opts.rowGroupRows ?? 65_536;
  let pending: Rows[] = [];
  let pendingRows = 0;
  try {
    for (;;) {
      const live = cursors.filter((c) => c.batch);
      if (live.length === 0) break;
      const best = live.reduce((a, c) => (c.compareIdentity(a) < 0 ? c : a));
      const matching = live.filter((c) => c.sameIdentity(best)); // decided before any cursor moves
      const parts: Rows[] = [];
      for (const c of matching) parts.push(...(await c.takeRun()));
      const run = parts.length === 1 ? parts[0] : combine(parts, isRaw ? "ts" : "bucket", opts);
      pending.push(run);
      pendingRows += run.length;
      if (pendingRows >= chunk) {
        await write(concatBatches(pending));
        pending = [];
        pendingRows = 0;
      }
    }
    if (pendingRows > 0) await write(concatBatches(pending));
    return await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** Rows of one series from several inputs: ordered by time; equal aggregate keys merged. */
function combine(parts: Rows[], timeKey: "ts" | "bucket", opts: MergeOptions): Rows {
  const all = concatBatches(parts);
  const time = (all as unknown as Record<string, Float64Array>)[timeKey];
  const order = Int32Array.from({ length: all.length }, (_, i) => i).sort((a, b) => time[a] - time[b] || a - b);
  const sorted = gatherBatch(all, order);
  if (timeKey === "ts") return sorted;
  const t = (sorted as unknown as AggColumns).bucket;
  let duplicates = false;
  for (let i = 1; i < sorted.length && !duplicates; i++) duplicates = t[i] === t[i - 1];
  if (!duplicates) return sorted;
  return rowsToColumns(mergeRows(columnsToRows(sorted as unknown as AggColumns, opts.accuracy))) as unknown as Rows;
}

/** Reads one input batch by batch and hands out runs of rows of one series. */
class Cursor {
  batch: Rows | null = null;
  i = 0;

  constructor(private readonly source: AsyncGenerator<RawColumns | AggColumns>) {}

  async load(): Promise<void> {
    const next = await this.source.next();
    this.batch = next.done ? null : (next.value as unknown as Rows);
    this.i = 0;
    if (this.batch && this.batch.length === 0) await this.load();
  }

  /** Orders this cursor's current identity against another's. */
  compareIdentity(o: Cursor): number {
    const a = this.batch!;
    const b = o.batch!;
    const i = this.i;
    const j = o.i;
    if (a.namespace[i] !== b.namespace[j]) return a.namespace[i] < b.namespace[j] ? -1 : 1;
    if (a.target[i] !== b.target[j]) return a.target[i] < b.target[j] ? -1 : 1;
    if (a.poller[i] !== b.poller[j]) return a.poller[i] < b.poller[j] ? -1 : 1;
    return 0;
  }

  sameIdentity(o: Cursor): boolean {
    return this === o || this.compareIdentity(o) === 0;
  }

  /** The rows of the current series, possibly across batches; advances past them. */
  async takeRun(): Promise<Rows[]> {
    const out: Rows[] = [];
    const b0 = this.batch!;
    const ns = b0.namespace[this.i];
    const target = b0.target[this.i];
    const poller = b0.poller[this.i];
    while (this.batch) {
      const b = this.batch;
      let j = this.i;
      while (j < b.length && b.poller[j] === poller && b.target[j] === target && b.namespace[j] === ns) j++;
      if (j > this.i) out.push(slice(b, this.i, j));
      if (j < b.length) {
        this.i = j;
        break;
      }
      await this.load();
    }
    return out;
  }
}

function slice(b: Rows, from: number, to: number): Rows {
  if (from === 0 && to === b.length) return b;
  return gatherBatch(b, Int32Array.from({ length: to - from }, (_, k) => from + k));
}
