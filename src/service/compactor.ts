/**
 * Compaction: rolls the 5-minute tier up into hourly, hourly into daily, daily into weekly.
 *
 * Each coarser tier has a watermark: every bucket starting before it has been rolled up. A rollup run
 * takes the next window of complete buckets — those ending at or before the finer tier's watermark —
 * reads the finer tier's rows of that window from its files (partial rows of a key are merged),
 * merges them per coarser bucket (on the compaction worker thread), writes the coarser files and moves
 * the watermark, in one manifest commit. Late data for buckets already rolled up reaches the coarser tier through the flush (as late
 * partial rows), so a window is never read twice and nothing is counted twice. A run holds the
 * manifest lock, so no flush commits between reading a window and moving its watermark.
 *
 * @module
 */
import { type AggregateTier, bucketStart, finerTier } from "../model/tier.ts";
import { join } from "../platform/path.ts";
import type { Manifest, TierFile } from "../tier/manifest.ts";
import { writeEncoded } from "./flusher.ts";
import type { Core } from "./core.ts";

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
 * Rolls up every complete window of `tier` (hourly, daily or weekly), one window per manifest commit;
 * stretches without finer data are skipped (the watermark moves over them). Returns the windows that
 * read rows (empty when the tier is up to date).
 */
export async function rollupTier(core: Core, tier: Exclude<AggregateTier, "5min">): Promise<RollupReport[]> {
  const reports: RollupReport[] = [];
  for (;;) {
    const report = await core.catalog.run(() => rollupWindow(core, tier));
    if (!report) return reports;
    if (report.inputRows === 0) continue;
    reports.push(report);
    core.log.info("rolled up", { ...report });
  }
}

async function rollupWindow(core: Core, tier: Exclude<AggregateTier, "5min">): Promise<RollupReport | null> {
  const m: Manifest = structuredClone(core.manifest);
  const finer = finerTier(tier) as AggregateTier;
  const complete = bucketStart(tier, m.watermarks[finer]); // buckets before this have all their finer data
  const mark = m.watermarks[tier];
  if (mark >= complete) return null;
  const from = Math.min(firstBucketFrom(m, finer, tier, mark) ?? complete, complete);
  const to = from === complete ? complete : Math.min(complete, from + ROLLUP_WINDOW_MS[tier]);
  const inputs = m.files.filter((f) => f.tier === finer && f.maxTs >= from && f.minTs < to);
  const { files, inputRows, outputRows } = inputs.length === 0 ? { files: [], inputRows: 0, outputRows: 0 } : await core
    .compactor.rollup({
      inputs: inputs.map((f) => join(core.dataDir, f.path)),
      finer,
      tier,
      from,
      to,
      accuracy: accuracyOf(core),
      compression: core.config.features.compression,
    });
  const written: TierFile[] = [];
  for (const encoded of files) written.push(await writeEncoded(core, encoded));
  m.files.push(...written);
  m.watermarks[tier] = to;
  await core.catalog.commit(m, "rollup");
  return { tier, from, to, inputRows, outputRows, files: written.length };
}

/** The first `tier` bucket at or after `mark` that holds finer data by the files' time ranges, or null. */
function firstBucketFrom(m: Manifest, finer: AggregateTier, tier: AggregateTier, mark: number): number | null {
  let min = Infinity;
  for (const f of m.files) {
    if (f.tier === finer && f.maxTs >= mark) min = Math.min(min, Math.max(f.minTs, mark));
  }
  return Number.isFinite(min) ? bucketStart(tier, min) : null;
}

function accuracyOf(core: Core): number | null {
  const p = core.config.features.percentile;
  return p.enabled ? p.accuracy : null;
}
