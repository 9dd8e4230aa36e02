/**
 * Startup recovery: read the manifest, remove leftovers of interrupted work (temporary files, tier
 * files and snapshots no manifest lists, WAL segments before the checkpoint), load the checkpoint's
 * snapshot and replay the WAL written after it. The result is exactly the state before the crash:
 * Parquet holds what the last committed flush wrote, the head everything after it.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { Head } from "../head/head.ts";
import { loadSnapshot } from "../head/snapshot.ts";
import { CorruptionError } from "../model/errors.ts";
import { parseSnapshotName, parseTierFilePath, SNAPSHOT_DIR } from "../model/paths.ts";
import { TIERS } from "../model/tier.ts";
import { isTempName } from "../platform/atomic.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { Logger } from "../platform/log.ts";
import { join } from "../platform/path.ts";
import { type Manifest, readManifest } from "../tier/manifest.ts";
import { damageErrors, type ReplayReport, replayWal } from "../wal/reader.ts";
import { deleteSegmentsBefore, listSegments } from "../wal/segments.ts";

/** What recovery produced. */
export interface Recovered {
  manifest: Manifest;
  head: Head;
  replay: ReplayReport;
  /** The segment the new WAL writer starts. */
  nextSegment: number;
  removed: string[];
  problems: string[];
}

/**
 * Recovers the data directory. `readOnly` changes nothing on disk (no cleanup, no truncation): for
 * offline queries on a directory another process may open later.
 */
export async function recover(
  fs: FileSystem,
  config: Config,
  walDir: string,
  nowMs: number,
  log: Logger,
  readOnly = false,
): Promise<Recovered> {
  const dataDir = config.dataDir;
  if (!readOnly) {
    await fs.mkdir(join(dataDir, SNAPSHOT_DIR));
    await fs.mkdir(walDir);
  }
  const manifest = await readManifest(fs, dataDir);
  const removed = readOnly ? [] : await removeLeftovers(fs, dataDir, manifest);
  const problems = await checkLiveFiles(fs, dataDir, manifest);
  if (!readOnly) removed.push(...(await removeOldSegments(fs, walDir, manifest.checkpoint.walSegment)));
  const head = new Head(headOptions(config), coverageStart(manifest, nowMs));
  if (manifest.checkpoint.snapshot) {
    const path = join(dataDir, manifest.checkpoint.snapshot);
    try {
      loadSnapshot(await fs.readFile(path), head, path);
    } catch (err) {
      const msg = `Cannot load snapshot ${path}: ${
        (err as Error).message
      }; open 5-minute buckets and counter states of the checkpoint are lost (raw samples are safe in the raw tier)`;
      log.error(msg);
      problems.push(msg);
    }
  }
  const replay = await replayWal(fs, walDir, manifest.checkpoint.walSegment, {
    resolve: (ns, t, p) => head.series.resolve(ns, t, p),
    apply: (b) => head.apply(b),
  }, !readOnly);
  for (const e of damageErrors(replay)) {
    log.error("WAL damage", { error: e.message });
    problems.push(e.message);
  }
  if (replay.tornTail) log.warn("WAL torn tail truncated", replay.tornTail);
  const nextSegment = Math.max(replay.lastSegment + 1, manifest.checkpoint.walSegment);
  return { manifest, head, replay, nextSegment, removed, problems };
}

/** Head options from the config. */
export function headOptions(config: Config) {
  const rb = config.features.rawBuffer;
  return {
    accuracy: config.features.percentile.enabled ? config.features.percentile.accuracy : null,
    hotWindowMs: rb.enabled ? rb.durationMs : 0,
    hotMemoryBytes: rb.enabled ? rb.memoryLimitBytes : 0,
  };
}

/** From which sample time on the (empty) raw log will see every sample: after everything flushed. */
function coverageStart(m: Manifest, nowMs: number): number {
  let maxRaw = -Infinity;
  for (const f of m.files) if (f.tier === "raw" && f.maxTs > maxRaw) maxRaw = f.maxTs;
  return Math.max(nowMs, maxRaw + 1);
}

/** Removes temporary files, tier files the manifest does not list, and unreferenced snapshots. */
async function removeLeftovers(fs: FileSystem, dataDir: string, m: Manifest): Promise<string[]> {
  const removed: string[] = [];
  const live = new Set(m.files.map((f) => f.path));
  for (const tier of TIERS) {
    const tierDir = join(dataDir, tier);
    if (!(await fs.stat(tierDir))) continue;
    for (const part of await fs.readdir(tierDir)) {
      const partDir = join(tierDir, part);
      for (const name of (await fs.stat(partDir))?.isDirectory ? await fs.readdir(partDir) : []) {
        const rel = `${tier}/${part}/${name}`;
        if (isTempName(name) || (parseTierFilePath(rel) && !live.has(rel))) {
          await fs.unlink(join(partDir, name));
          removed.push(rel);
        }
      }
      if ((await fs.stat(partDir))?.isDirectory && (await fs.readdir(partDir)).length === 0) await fs.rmdir(partDir);
    }
  }
  const snapDir = join(dataDir, SNAPSHOT_DIR);
  for (const name of await fs.readdir(snapDir)) {
    const rel = `${SNAPSHOT_DIR}/${name}`;
    if (isTempName(name) || (parseSnapshotName(name) !== null && rel !== m.checkpoint.snapshot)) {
      await fs.unlink(join(snapDir, name));
      removed.push(rel);
    }
  }
  for (const name of await fs.readdir(dataDir)) {
    if (isTempName(name)) {
      await fs.unlink(join(dataDir, name));
      removed.push(name);
    }
  }
  return removed;
}

/** Reports live files that are missing (never silently: queries will say they are partial). */
async function checkLiveFiles(fs: FileSystem, dataDir: string, m: Manifest): Promise<string[]> {
  const problems: string[] = [];
  for (const f of m.files) {
    const st = await fs.stat(join(dataDir, f.path));
    if (!st) problems.push(new CorruptionError(f.path, 0, "listed in the manifest but missing").message);
    else if (st.size !== f.bytes) {
      problems.push(new CorruptionError(f.path, 0, `size ${st.size} differs from the manifest's ${f.bytes}`).message);
    }
  }
  return problems;
}

async function removeOldSegments(fs: FileSystem, walDir: string, checkpoint: number): Promise<string[]> {
  const old = (await listSegments(fs, walDir)).filter((s) => s.segment < checkpoint).map((s) => s.path);
  await deleteSegmentsBefore(fs, walDir, checkpoint);
  return old;
}
