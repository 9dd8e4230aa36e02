/**
 * Compaction: rolls the 5-minute tier up into hourly, hourly into daily, daily into weekly.
 *
 * Each coarser tier has a watermark: every bucket starting before it has been rolled up. A rollup run
 * takes the next window of complete buckets — those ending at or before the finer tier's watermark —
 * reads the finer tier's rows of that window from its files (partial rows of a key are merged),
 * merges them per coarser bucket, writes the coarser files and moves the watermark, in one manifest
 * commit. Late data for buckets already rolled up reaches the coarser tier through the flush (as late
 * partial rows), so a window is never read twice and nothing is counted twice. A run holds the
 * manifest lock, so no flush commits between reading a window and moving its watermark.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { type AggregateTier, bucketStart, finerTier } from "../model/tier.ts";
import { join } from "../platform/path.ts";
import { type AggRow, columnsToRows, mergeRows, rowsToColumns } from "../tier/agg_rows.ts";
import { commitManifest, type Manifest, type TierFile } from "../tier/manifest.ts";
import { iterateAggFile } from "../tier/parquet_reader.ts";
import { partitionStart } from "../model/paths.ts";
import { writeEncoded } from "./flusher.ts";
import { type Core, withSeq } from "./core.ts";
import { encodeAggFile } from "../tier/flush_encode.ts";

/** How much of the finer tier one rollup run reads at most (bounds memory: series × buckets). */
export const ROLLUP_WINDOW_MS: Readonly<Record<Exclude<AggregateTier, "5min">, number>> = {
  hourly: 6 * 3_600_000,
  daily: 7 * 86_400_000,
  weekly: 4 * 7 * 86_400_000,
};

/** What one rollup run did. */
export interface RollupReport {
  tier: AggregateTier;
  from: number;
  to: number;
  inputRows: number;
  outputRows: number;
  files: number;
}

/**
 * Rolls up every complete window of `tier` (hourly, daily or weekly), one window per manifest commit.
 * Returns the runs done (empty when the tier is up to date).
 */
export async function rollupTier(core: Core, tier: Exclude<AggregateTier, "5min">): Promise<RollupReport[]> {
  const reports: RollupReport[] = [];
  for (;;) {
    const report = await core.lock.run(() => rollupWindow(core, tier));
    if (!report) return reports;
    reports.push(report);
    core.log.info("rolled up", { ...report });
  }
}

async function rollupWindow(core: Core, tier: Exclude<AggregateTier, "5min">): Promise<RollupReport | null> {
  const m: Manifest = structuredClone(core.manifest);
  const finer = finerTier(tier) as AggregateTier;
  const complete = bucketStart(tier, m.watermarks[finer]); // buckets before this have all their finer data
  let from = m.watermarks[tier];
  if (from === 0) from = firstBucket(m, finer, tier) ?? complete;
  if (from >= complete) {
    if (m.watermarks[tier] < complete && from === complete) return await advance(core, m, tier, complete);
    return null;
  }
  const to = Math.min(complete, from + ROLLUP_WINDOW_MS[tier]);
  const inputs = m.files.filter((f) => f.tier === finer && f.maxTs >= from && f.minTs < to);
  const acc = new Map<string, AggRow>();
  let inputRows = 0;
  for (const f of inputs) {
    for await (
      const cols of iterateAggFile(core.fs, join(core.dataDir, f.path), { fromMs: from, toMs: to, tier: finer })
    ) {
      inputRows += cols.length;
      for (const r of columnsToRows(cols, accuracyOf(core))) accumulate(acc, r, tier);
      await new Promise((r) => setImmediate(r)); // let requests in between batches
    }
  }
  const rows = mergeRows([...acc.values()]);
  const written: TierFile[] = [];
  for (const [partition, list] of byPartition(rows, tier)) {
    const encoded = await encodeAggFile(tier, partition, rowsToColumns(list), {
      compression: core.config.features.compression,
    });
    written.push(await writeEncoded(core, encoded));
  }
  m.files.push(...written);
  m.watermarks[tier] = to;
  core.manifest = await commitManifest(core.fs, core.dataDir, withSeq(core, m));
  return { tier, from, to, inputRows, outputRows: rows.length, files: written.length };
}

/** Moves a watermark with nothing to roll up (no finer data before it). */
async function advance(core: Core, m: Manifest, tier: AggregateTier, to: number): Promise<RollupReport> {
  const from = m.watermarks[tier];
  m.watermarks[tier] = to;
  core.manifest = await commitManifest(core.fs, core.dataDir, m);
  return { tier, from, to, inputRows: 0, outputRows: 0, files: 0 };
}

/** The first `tier` bucket holding finer data, or null without finer files. */
function firstBucket(m: Manifest, finer: AggregateTier, tier: AggregateTier): number | null {
  let min = Infinity;
  for (const f of m.files) if (f.tier === finer && f.minTs < min) min = f.minTs;
  return Number.isFinite(min) ? bucketStart(tier, min) : null;
}

function accumulate(acc: Map<string, AggRow>, r: AggRow, tier: AggregateTier): void {
  const bucket = bucketStart(tier, r.bucket);
  const key = `${r.namespace}\u0000${r.target}\u0000${r.poller}\u0000${bucket}`;
  const existing = acc.get(key);
  if (existing) existing.agg.merge(r.agg);
  else acc.set(key, { ...r, bucket, agg: r.agg.clone() });
}

function byPartition(rows: AggRow[], tier: AggregateTier): [number, AggRow[]][] {
  const out = new Map<number, AggRow[]>();
  for (const r of rows) {
    const p = partitionStart(tier, r.bucket);
    let list = out.get(p);
    if (!list) out.set(p, list = []);
    list.push(r);
  }
  return [...out].sort((a, b) => a[0] - b[0]);
}

function accuracyOf(core: Core): number | null {
  const p = core.config.features.percentile;
  return p.enabled ? p.accuracy : null;
}
