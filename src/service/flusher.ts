/**
 * The flush: moves unflushed raw samples and closed 5-minute buckets from the head into Parquet and
 * checkpoints the WAL, exactly once.
 *
 * 1. Cut (synchronous, inside the WAL rotation): take the raw log positions and the closed buckets,
 *    and encode the snapshot of what stays in memory. Every batch applied so far lies in WAL segments
 *    before the new one, and none after.
 * 2. Write the tier files (raw, 5min, and late partial rows for coarser tiers already compacted past
 *    them) and the snapshot, each atomically.
 * 3. Commit the manifest: the files become live and the checkpoint moves to the new segment, in one
 *    atomic write. Until then queries read the cut's data from memory; right after, from Parquet.
 * 4. Delete WAL segments before the checkpoint and the previous snapshot.
 *
 * A crash before step 3 leaves only files that no manifest lists (removed at startup) and the old
 * checkpoint, so recovery replays the same data again; a crash after it replays only newer data. A
 * failure before step 3 puts the closed buckets back into the head, to be flushed next time.
 *
 * @module
 */
import type { HeadCut } from "../head/head.ts";
import { bucketRowsByPartition, rawColumnsOf } from "../head/flush_columns.ts";
import { encodeSnapshot } from "../head/snapshot.ts";
import { partitionStart, SNAPSHOT_DIR, snapshotName } from "../model/paths.ts";
import { type AggregateTier, bucketStart } from "../model/tier.ts";
import { writeAtomic } from "../platform/atomic.ts";
import { join } from "../platform/path.ts";
import { type AggRow, mergeRows, rowsToColumns } from "../tier/agg_rows.ts";
import type { AggColumns, RawColumns } from "../tier/columns.ts";
import { allocateFile, commitManifest, type Manifest, type TierFile } from "../tier/manifest.ts";
import { createTierWriter } from "../tier/parquet_writer.ts";
import { rollup } from "../tier/rollup.ts";
import { deleteSegmentsBefore } from "../wal/segments.ts";
import { CLOSE_GRACE_MS, type Core } from "./core.ts";

/** What a flush did. */
export interface FlushReport {
  rawSamples: number;
  buckets: number;
  lateRows: number;
  files: number;
  bytes: number;
  walSegment: number;
}

/** Test hook: called between the steps of a flush, to inject crashes. */
export type FlushStep = "cut" | "files" | "snapshot" | "commit";

/** Runs one flush. Callers serialize flushes. */
export async function flush(core: Core, hook?: (step: FlushStep) => Promise<void>): Promise<FlushReport> {
  const now = core.clock.now();
  const watermark = Math.max(core.manifest.watermarks["5min"], bucketStart("5min", now - CLOSE_GRACE_MS));
  let cut!: HeadCut;
  let snapshot!: Uint8Array;
  let segment = 0;
  await core.wal.rotate((seg) => {
    segment = seg;
    cut = core.head.cut(watermark);
    snapshot = encodeSnapshot(core.head, { walSegment: seg, createdMs: now, watermark });
    core.inflight = { closed: cut.closed };
  });
  const m: Manifest = structuredClone(core.manifest);
  const written: TierFile[] = [];
  let committed = false;
  try {
    await hook?.("cut");
    const report = await writeFiles(core, m, cut, written);
    await hook?.("files");
    const snapPath = `${SNAPSHOT_DIR}/${snapshotName(m.commit + 1)}`;
    await writeAtomic(core.fs, join(core.dataDir, snapPath), snapshot);
    await hook?.("snapshot");
    const previousSnapshot = m.checkpoint.snapshot;
    m.files.push(...written);
    m.checkpoint = { walSegment: segment, snapshot: snapPath };
    m.watermarks["5min"] = watermark;
    core.manifest = await commitManifest(core.fs, core.dataDir, m);
    committed = true;
    core.head.flushed(cut.rawTo, core.clock.now());
    core.inflight = null;
    await hook?.("commit");
    await cleanup(core, segment, previousSnapshot);
    return { ...report, walSegment: segment };
  } catch (err) {
    if (committed) throw err; // the flush is done; only its cleanup failed
    for (const row of cut.closed) core.head.agg.restoreBucket(row);
    core.inflight = null;
    for (const f of written) await core.fs.unlink(join(core.dataDir, f.path)).catch(() => {});
    throw err;
  }
}

async function writeFiles(
  core: Core,
  m: Manifest,
  cut: HeadCut,
  written: TierFile[],
): Promise<Omit<FlushReport, "walSegment">> {
  const report = { rawSamples: cut.rawTo - cut.rawFrom, buckets: cut.closed.length, lateRows: 0, files: 0, bytes: 0 };
  for (const [partition, cols] of rawColumnsOf(core.head.raw, core.head.series, cut.rawFrom, cut.rawTo)) {
    written.push(await writeTier(core, m, "raw", partition, cols));
  }
  const fiveMin: AggRow[] = [];
  for (const rows of bucketRowsByPartition(cut.closed, core.head.series, "5min").values()) fiveMin.push(...rows);
  written.push(...(await writeAggRows(core, m, "5min", fiveMin)));
  let late = fiveMin;
  for (const tier of ["hourly", "daily", "weekly"] as const) {
    late = rollup(late.filter((r) => r.bucket < m.watermarks[tier]), tier);
    if (late.length === 0) break;
    report.lateRows += late.length;
    written.push(...(await writeAggRows(core, m, tier, late)));
  }
  report.files = written.length;
  report.bytes = written.reduce((a, f) => a + f.bytes, 0);
  return report;
}

/** Writes aggregate rows (any order, duplicates merged) into one file per partition. */
export async function writeAggRows(core: Core, m: Manifest, tier: AggregateTier, rows: AggRow[]): Promise<TierFile[]> {
  const byPartition = new Map<number, AggRow[]>();
  for (const r of rows) {
    const p = partitionStart(tier, r.bucket);
    let list = byPartition.get(p);
    if (!list) byPartition.set(p, list = []);
    list.push(r);
  }
  const files: TierFile[] = [];
  for (const [p, list] of [...byPartition].sort((a, b) => a[0] - b[0])) {
    files.push(await writeTier(core, m, tier, p, rowsToColumns(mergeRows(list))));
  }
  return files;
}

/** Writes one tier file (level 0) and returns its manifest entry. */
export async function writeTier(
  core: Core,
  m: Manifest,
  tier: "raw" | AggregateTier,
  partition: number,
  cols: RawColumns | AggColumns,
  level = 0,
): Promise<TierFile> {
  const { seq, path } = allocateFile(m, tier, partition);
  const compression = core.config.features.compression;
  const abs = join(core.dataDir, path);
  const writer = tier === "raw"
    ? await createTierWriter(core.fs, abs, { tier, compression })
    : await createTierWriter(core.fs, abs, { tier, compression });
  await (writer.write as (c: RawColumns | AggColumns) => Promise<void>)(cols);
  const r = await writer.finish();
  return { path, tier, partition, seq, minTs: r.minTs, maxTs: r.maxTs, rows: r.rows, bytes: r.bytes, level };
}

async function cleanup(core: Core, segment: number, previousSnapshot: string | null): Promise<void> {
  try {
    await deleteSegmentsBefore(core.fs, core.walDir, segment);
    if (previousSnapshot && previousSnapshot !== core.manifest.checkpoint.snapshot) {
      await core.fs.unlink(join(core.dataDir, previousSnapshot)).catch(() => {});
    }
  } catch (err) {
    core.log.warn("Cannot remove WAL segments after a flush; they will be removed at the next start", { error: err });
  }
}
