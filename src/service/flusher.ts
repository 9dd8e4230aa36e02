/**
 * The flush: moves unflushed raw samples and closed 5-minute buckets from the head into Parquet and
 * checkpoints the WAL, exactly once.
 *
 * 1. Cut (synchronous, inside the WAL rotation): take the raw log positions and the closed buckets,
 *    and copy the state that stays in memory (series, last values, open buckets: typed-array copies).
 *    Every batch applied so far lies in WAL segments before the new one, and none after.
 * 2. Encode the tier files (raw, 5min, and late partial rows for coarser tiers already compacted past
 *    them) and the snapshot on the encoder thread (`src/tier/flush_job.ts`: the raw rows are read
 *    from the log's shared memory, the series names are sent once, the snapshot's copies are moved),
 *    then write them, each atomically.
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
import type { EncodedFile, KeepFrom } from "../aggregate/flush_batch.ts";
import { flushJobOf } from "../head/batch_builder.ts";
import { copiedClosed, type HeadCut } from "../head/head.ts";
import { captureSnapshot, type SnapshotCapture } from "../head/snapshot.ts";
import { SNAPSHOT_DIR, snapshotName } from "../model/paths.ts";
import { bucketStart, type Tier } from "../model/tier.ts";
import { writeAtomic } from "../platform/atomic.ts";
import { join } from "../platform/path.ts";
import { retentionMs } from "../query/planner.ts";
import type { Manifest, TierFile } from "../tier/manifest.ts";
import { deleteSegmentsBefore } from "../wal/segments.ts";
import { setImmediate } from "node:timers";
import { allocate, CLOSE_GRACE_MS, type Core } from "./core.ts";

/** What a flush did. */
export interface FlushReport {
  rawSamples: number;
  buckets: number;
  lateRows: number;
  files: number;
  bytes: number;
  walSegment: number;
  encodeMs: number;
}

/** Runs one flush. Callers serialize flushes (and other manifest changes). */
export async function flush(core: Core): Promise<FlushReport> {
  const now = core.clock.now();
  const watermark = Math.max(core.manifest.watermarks["5min"], bucketStart("5min", now - CLOSE_GRACE_MS));
  let cut!: HeadCut;
  let capture!: SnapshotCapture;
  let segment = 0;
  await core.wal.rotate((seg) => {
    segment = seg;
    cut = core.head.cutSealed(watermark);
    capture = captureSnapshot(core.head, { walSegment: seg, createdMs: now, watermark });
    core.inflight = { closed: copiedClosed(cut) };
  });
  const m: Manifest = structuredClone(core.manifest);
  const written: TierFile[] = [];
  let committed = false;
  try {
    // the closed buckets sealed at the cut are copied out a slice per event-loop turn: queries read
    // the copied ones here, the others sealed in the head
    while (!core.head.copyClosed(cut)) {
      core.inflight = { closed: copiedClosed(cut) };
      await new Promise((resolve) => setImmediate(resolve));
    }
    core.inflight = { closed: cut.closed };
    const encodeStart = core.clock.now();
    const job = flushJobOf(core.head, cut, capture, m.watermarks, retentionHorizons(core, now));
    const { files, snapshot } = await core.encoder.encode(
      job,
      (from) => core.head.series.namesSince(from),
      { compression: core.config.features.compression },
    );
    const encodeMs = core.clock.now() - encodeStart;
    for (const f of files) written.push(await writeEncoded(core, f));
    const snapPath = `${SNAPSHOT_DIR}/${snapshotName(m.commit + 1)}`;
    await writeAtomic(core.fs, join(core.dataDir, snapPath), snapshot!);
    const previousSnapshot = m.checkpoint.snapshot;
    m.files.push(...written);
    m.checkpoint = { walSegment: segment, snapshot: snapPath };
    m.watermarks["5min"] = watermark;
    await core.catalog.commit(m, "flush");
    committed = true;
    core.head.flushed(cut.rawTo, core.clock.now());
    core.inflight = null;
    await cleanup(core, segment, previousSnapshot);
    return {
      rawSamples: cut.rawTo - cut.rawFrom,
      buckets: cut.closed.n,
      lateRows: files.filter((f) => f.tier !== "raw" && f.tier !== "5min").reduce((a, f) => a + f.rows, 0),
      files: written.length,
      bytes: written.reduce((a, f) => a + f.bytes, 0),
      walSegment: segment,
      encodeMs,
    };
  } catch (err) {
    if (committed) throw err; // the flush is done; only its cleanup failed
    core.head.restoreCut(cut);
    core.inflight = null;
    for (const f of written) await core.fs.unlink(join(core.dataDir, f.path)).catch(() => {});
    throw err;
  }
}

/**
 * Per tier, the time at or before which a partition is expired at `now` (as `retention.ts` decides):
 * the encoder leaves such rows out of a tier retention would delete them from at once.
 */
export function retentionHorizons(core: Core, now: number): KeepFrom {
  const horizon = (tier: Tier) => {
    const ms = retentionMs(tier, core.config.retention);
    return ms > 0 ? now - ms : -Infinity;
  };
  return {
    raw: horizon("raw"),
    "5min": horizon("5min"),
    hourly: horizon("hourly"),
    daily: horizon("daily"),
    weekly: horizon("weekly"),
  };
}

/** Writes an encoded file atomically under a new name and returns its manifest entry. */
export async function writeEncoded(core: Core, f: EncodedFile, level = 0): Promise<TierFile> {
  const { seq, path } = allocate(core, f.tier, f.partition);
  const abs = join(core.dataDir, path);
  await core.fs.mkdir(abs.slice(0, abs.lastIndexOf("/")));
  await writeAtomic(core.fs, abs, f.bytes);
  return {
    path,
    tier: f.tier,
    partition: f.partition,
    seq,
    minTs: f.minTs,
    maxTs: f.maxTs,
    rows: f.rows,
    bytes: f.bytes.length,
    level,
  };
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
