/**
 * Which series a tier file holds, where and when: per row group, each series' run of rows and the
 * time of its first and last row. Built once from the group's identity and time columns (tier files
 * are immutable) and kept in the query cache; the Prometheus API's `series`, `labels` and label
 * values use it to list only the series with data between `start` and `end`.
 *
 * @module
 */
import { type AggregateTier, bucketMs, finerTier, isAggregateTier, type Tier } from "../model/tier.ts";
import { join } from "../platform/path.ts";
import { readAggFile, readRawFile, readTierFileInfo, rowGroupTimes } from "../parquet/mod.ts";
import type { TierFile } from "../tier/manifest.ts";
import type { QueryView } from "./query.ts";
import { seriesKey } from "./query.ts";

/** One series in a row group: rows [rowStart, rowEnd) of the file, time column in [minT, maxT]. */
export interface SeriesRun {
  rowStart: number;
  rowEnd: number;
  minT: number;
  maxT: number;
}

/** The series of one row group, by {@link seriesKey}. */
export type GroupIndex = ReadonlyMap<string, SeriesRun>;

/** The series index of row group `group` of the tier file `path` (absolute), through the view's cache. */
export function groupIndex(view: QueryView, path: string, tier: Tier, group: number): Promise<GroupIndex> {
  const load = () => buildGroupIndex(view, path, tier, group);
  if (!view.cache) return load();
  return view.cache.memo(`${path}\u0000series-index\u0000${group}`, load, indexBytes);
}

async function buildGroupIndex(view: QueryView, path: string, tier: Tier, group: number): Promise<GroupIndex> {
  const options = { columns: [], rowGroups: [group] };
  const rows = tier === "raw" ? await readRawFile(view.fs, path, options) : await readAggFile(view.fs, path, options);
  const time: ArrayLike<number> = "ts" in rows ? rows.ts : rows.bucket;
  const info = await readTierFileInfo(view.fs, path);
  const first = rowGroupTimes(info, "ts" in rows ? "ts" : "bucket")[group].rowStart;
  const out = new Map<string, SeriesRun>();
  let run: SeriesRun | undefined;
  for (let i = 0; i < rows.length; i++) {
    if (
      !run || rows.poller[i] !== rows.poller[i - 1] || rows.target[i] !== rows.target[i - 1] ||
      rows.namespace[i] !== rows.namespace[i - 1]
    ) {
      const key = seriesKey(rows.namespace[i], rows.target[i], rows.poller[i]);
      run = out.get(key);
      if (!run) out.set(key, run = { rowStart: first + i, rowEnd: first + i + 1, minT: time[i], maxT: time[i] });
    }
    // a series' rows are one run in sorted files; a file out of order only widens the run
    run.rowEnd = Math.max(run.rowEnd, first + i + 1);
    if (time[i] < run.minT) run.minT = time[i];
    if (time[i] > run.maxT) run.maxT = time[i];
  }
  return out;
}

function indexBytes(index: GroupIndex): number {
  let bytes = 0;
  for (const key of index.keys()) bytes += 2 * key.length + 120;
  return bytes;
}

/**
 * The keys among `candidates` ({@link seriesKey}) of the series with data in [fromMs, toMs] (both
 * inclusive, as Prometheus's `start` and `end`), read from `tier`: its files below its watermark, the
 * finer tiers above it (as a query of the tier does), and memory (the raw samples and open 5-minute
 * buckets the head holds). On an aggregate tier a bucket counts where it overlaps the range: the answer
 * is exact on raw samples and to the bucket (5 minutes, an hour, …) on aggregates.
 */
export async function seriesWithData(
  view: QueryView,
  candidates: ReadonlySet<string>,
  fromMs: number,
  toMs: number,
  tier: Tier,
): Promise<Set<string>> {
  const found = new Set<string>();
  inMemory(view, candidates, fromMs, toMs, found);
  await inFiles(view, candidates, fromMs, toMs, tier, found);
  return found;
}

async function inFiles(
  view: QueryView,
  candidates: ReadonlySet<string>,
  fromMs: number,
  toMs: number,
  tier: Tier,
  found: Set<string>,
): Promise<void> {
  if (found.size === candidates.size || fromMs > toMs) return;
  const width = isAggregateTier(tier) ? bucketMs(tier) : 1;
  // an aggregate tier's files hold buckets before its watermark; after it, its data is in the finer tier
  const mark = isAggregateTier(tier) && tier !== "5min" ? view.watermarks[tier] : Infinity;
  const files = view.files.filter((f) => f.tier === tier && f.maxTs + width > fromMs && f.minTs <= toMs);
  for (const f of files) await inFile(view, f, candidates, fromMs - width + 1, toMs, found);
  if (toMs >= mark) {
    await inFiles(view, candidates, Math.max(fromMs, mark), toMs, finerTier(tier as AggregateTier), found);
  }
}

async function inFile(
  view: QueryView,
  f: TierFile,
  candidates: ReadonlySet<string>,
  lo: number,
  hi: number,
  found: Set<string>,
): Promise<void> {
  view.signal?.throwIfAborted();
  const path = join(view.dataDir, f.path);
  const info = await readTierFileInfo(view.fs, path);
  const groups = rowGroupTimes(info, f.tier === "raw" ? "ts" : "bucket");
  for (let g = 0; g < groups.length; g++) {
    const { timeMin = -Infinity, timeMax = Infinity } = groups[g];
    if (timeMax < lo || timeMin > hi) continue;
    for (const [key, run] of await groupIndex(view, path, f.tier, g)) {
      if (run.maxT >= lo && run.minT <= hi && candidates.has(key)) found.add(key);
    }
    if (found.size === candidates.size) return;
  }
}

/** Adds the candidates with samples in memory (the raw log, open 5-minute buckets) in [fromMs, toMs]. */
function inMemory(
  view: QueryView,
  candidates: ReadonlySet<string>,
  fromMs: number,
  toMs: number,
  found: Set<string>,
): void {
  const { head } = view;
  const ids = new Set<number>();
  for (const { chunk, lo, hi } of head.raw.ranges(head.raw.start, head.raw.end)) {
    if (chunk.maxTs < fromMs || chunk.minTs > toMs) continue;
    for (let i = lo; i < hi; i++) {
      const ts = chunk.ts[i];
      if (ts >= fromMs && ts <= toMs) ids.add(chunk.series[i]);
    }
  }
  for (const id of ids) {
    const key = seriesKey(...head.series.names(id));
    if (candidates.has(key)) found.add(key);
  }
  // samples flushed and dropped from the raw log while their 5-minute bucket is still open
  for (const key of candidates) {
    if (found.has(key)) continue;
    const [namespace, target, poller] = key.split("\u0000");
    const id = head.series.lookup(namespace, target, poller);
    if (id >= 0 && head.agg.bucketsOf(id, fromMs, toMs + 1).length > 0) found.add(key);
  }
}
