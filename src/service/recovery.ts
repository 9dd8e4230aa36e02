/**
 * Startup recovery: read the manifest, remove leftovers of interrupted work (temporary files, tier
 * files and snapshots no manifest lists, WAL segments before the checkpoint), load the checkpoint's
 * snapshot and replay the WAL written after it. The result is exactly the state before the crash:
 * Parquet holds what the last committed flush wrote, the head everything after it.
 *
 * @module
 */
import { planMemory } from "../config/memory_budget.ts";
import type { Config } from "../config/schema.ts";
import { Head } from "../head/head.ts";
import { loadSnapshot } from "../head/snapshot.ts";
import { CorruptionError } from "../model/errors.ts";
import {
  MANIFEST_BACKUP_FILE,
  MANIFEST_FILE,
  parseSnapshotName,
  parseTierFilePath,
  SNAPSHOT_DIR,
} from "../model/paths.ts";
import { TIERS } from "../model/tier.ts";
import { isTempName, writeAtomic } from "../platform/atomic.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { Logger } from "../platform/log.ts";
import { join } from "../platform/path.ts";
import { emptyManifest, encodeManifest, type Manifest, readManifestFile } from "../tier/manifest.ts";
import { evictTierFooter, readTierFileInfo } from "../parquet/mod.ts";
import { damageErrors, type ReplayReport, replayWal } from "../wal/reader.ts";
import { deleteSegmentsBefore, listSegments } from "../wal/segments.ts";

/** What recovery produced. */
export interface Recovered {
  manifest: Manifest;
  head: Head;
  replay: ReplayReport;
  /** The segment the new WAL writer continues in (or creates). */
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
  const { manifest, problems } = await loadManifest(fs, dataDir, walDir, readOnly, nowMs, config.retention);
  for (const p of problems) log.error(p);
  const leftovers = await findLeftovers(fs, dataDir, manifest);
  for (const p of leftovers.problems) log.error(p);
  problems.push(...leftovers.problems);
  const removed = readOnly ? [] : await removeLeftovers(fs, dataDir, leftovers.paths);
  problems.push(...(await checkLiveFiles(fs, dataDir, manifest)));
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
      // the series index lost what it knew: any series may have samples on disk up to the newest one
      head.series.forgottenNewest = head.raw.coverageStart - 1;
    }
  }
  const replay = await replayWal(
    fs,
    walDir,
    manifest.checkpoint.walSegment,
    {
      resolve: (ns, t, p) => head.series.resolve(ns, t, p),
      apply: (b) => head.apply(b),
    },
    !readOnly,
    manifest.commit > 0,
  );
  for (const e of damageErrors(replay, walDir)) {
    log.error("WAL damage", { error: e.message });
    problems.push(e.message);
  }
  if (replay.tornTail) log.warn("WAL torn tail truncated", replay.tornTail);
  // the writer continues in the last segment written (a restart on a full disk needs no new space)
  const nextSegment = Math.max(replay.appendSegment, manifest.checkpoint.walSegment);
  return { manifest, head, replay, nextSegment, removed, problems };
}

/** Head options from the config. */
export function headOptions(config: Config) {
  const rb = config.features.rawBuffer;
  const plan = planMemory(config);
  return {
    accuracy: config.features.percentile.enabled ? config.features.percentile.accuracy : null,
    hotWindowMs: rb.enabled ? rb.durationMs : 0,
    // the log's bound covers the unflushed samples too (never evicted) plus the ring's share of the budget
    hotMemoryBytes: rb.enabled ? plan.ringBytes + plan.unflushedBytes : 0,
  };
}

/** From which sample time on the (empty) raw log will see every sample: after everything flushed. */
function coverageStart(m: Manifest, nowMs: number): number {
  let maxRaw = -Infinity;
  for (const f of m.files) if (f.tier === "raw" && f.maxTs > maxRaw) maxRaw = f.maxTs;
  return Math.max(nowMs, maxRaw + 1);
}

/**
 * The committed manifest. `MANIFEST.json` when it is there and whole; otherwise its backup copy, but
 * only when the backup provably is the last committed state or one that everything on disk still
 * supports (every file, the snapshot and the WAL segments it needs are there: a later commit's cleanup
 * would have removed some of them). A directory with neither is new when nothing in it needs a
 * committed state ({@link committedTraces}). Anything else refuses to start, naming the
 * repair, and deletes nothing: guessing the committed state could lose or double samples.
 */
async function loadManifest(
  fs: FileSystem,
  dataDir: string,
  walDir: string,
  readOnly: boolean,
  nowMs: number,
  retention: Config["retention"],
): Promise<{ manifest: Manifest; problems: string[] }> {
  const path = join(dataDir, MANIFEST_FILE);
  let lost: string;
  try {
    const m = await readManifestFile(fs, path);
    if (m) return { manifest: m, problems: [] };
    lost = `${path} is missing`;
  } catch (err) {
    if (!(err instanceof CorruptionError)) throw err;
    lost = `the manifest is damaged (${err.message})`;
  }
  const backupPath = join(dataDir, MANIFEST_BACKUP_FILE);
  let backup: Manifest | null = null;
  try {
    backup = await readManifestFile(fs, backupPath);
  } catch (err) {
    if (!(err instanceof CorruptionError)) throw err;
    throw refusal(`${lost} and its backup is damaged too (${err.message})`, dataDir);
  }
  if (backup) {
    const missing = await missingForBackup(fs, dataDir, walDir, backup);
    if (missing) {
      throw refusal(`${lost} and its backup (commit ${backup.commit}) is older than the data: ${missing}`, dataDir);
    }
    if (!readOnly) await writeAtomic(fs, path, encodeManifest(backup));
    return { manifest: backup, problems: [`${lost}; restored from ${backupPath} (commit ${backup.commit})`] };
  }
  const found = await committedTraces(fs, dataDir, walDir);
  if (found.length === 0 && lost.endsWith("is missing")) {
    return { manifest: emptyManifest(nowMs, retention), problems: [] };
  }
  throw refusal(`${lost}, there is no backup of it, and the data directory holds ${found.join(", ")}`, dataDir);
}

function refusal(why: string, dataDir: string): CorruptionError {
  return new CorruptionError(
    join(dataDir, MANIFEST_FILE),
    0,
    `cannot start: ${why}. Nothing was deleted. Restore ${MANIFEST_FILE} (or ${MANIFEST_BACKUP_FILE}) from a backup ` +
      "of the data directory; or, to start empty and keep the old data readable by any Parquet reader, move the tier " +
      'directories, snapshots and WAL segments aside (docs/operations.md, "Lost manifest")',
  );
}

/** What a backup manifest needs that is gone (a later commit removed it), or null when all is there. */
async function missingForBackup(fs: FileSystem, dataDir: string, walDir: string, m: Manifest): Promise<string | null> {
  for (const f of m.files) if (!(await fs.stat(join(dataDir, f.path)))) return `${f.path} is gone`;
  const snap = m.checkpoint.snapshot;
  if (snap && !(await fs.stat(join(dataDir, snap)))) return `${snap} is gone`;
  const segments = await listSegments(fs, walDir);
  if (segments.length > 0 && segments[0].segment > m.checkpoint.walSegment) {
    return `WAL segment ${m.checkpoint.walSegment} is gone (the first is ${segments[0].segment})`;
  }
  return null;
}

/**
 * What only a committed manifest could have produced, given that there is no manifest: tier files and
 * snapshots, unless the WAL still starts at segment 1 (then no commit ever completed its cleanup, the
 * WAL holds everything, and those files are leftovers of a first flush that replay writes again).
 */
async function committedTraces(fs: FileSystem, dataDir: string, walDir: string): Promise<string[]> {
  const segments = await listSegments(fs, walDir);
  if (segments.length > 0 && segments[0].segment === 1) return [];
  let tierFiles = 0, snapshots = 0;
  for (const tier of TIERS) {
    const tierDir = join(dataDir, tier);
    if (!(await fs.stat(tierDir))?.isDirectory) continue;
    for (const part of await fs.readdir(tierDir)) {
      const partDir = join(tierDir, part);
      if (!(await fs.stat(partDir))?.isDirectory) continue;
      for (const name of await fs.readdir(partDir)) if (parseTierFilePath(`${tier}/${part}/${name}`)) tierFiles++;
    }
  }
  const snapDir = join(dataDir, SNAPSHOT_DIR);
  if ((await fs.stat(snapDir))?.isDirectory) {
    for (const name of await fs.readdir(snapDir)) if (parseSnapshotName(name) !== null) snapshots++;
  }
  const out: string[] = [];
  if (tierFiles > 0) out.push(`${tierFiles} tier files`);
  if (snapshots > 0) out.push(`${snapshots} snapshots`);
  if (segments.length > 0) out.push(`WAL segments from ${segments[0].segment} on`);
  if (out.length > 0 && segments.length === 0) out.push("no WAL segment");
  return out;
}

/**
 * Leftovers of interrupted work: temporary files, unreferenced snapshots, and tier files the manifest
 * does not list that are valid tier files of their tier (an uncommitted flush's or compaction's output,
 * or a committed compaction's input). A file that only has a tier file's name — foreign, damaged — is
 * never deleted: it is reported.
 */
async function findLeftovers(
  fs: FileSystem,
  dataDir: string,
  m: Manifest,
): Promise<{ paths: string[]; problems: string[] }> {
  const paths: string[] = [];
  const problems: string[] = [];
  const live = new Set(m.files.map((f) => f.path));
  for (const tier of TIERS) {
    const tierDir = join(dataDir, tier);
    if (!(await fs.stat(tierDir))?.isDirectory) continue;
    for (const part of await fs.readdir(tierDir)) {
      const partDir = join(tierDir, part);
      for (const name of (await fs.stat(partDir))?.isDirectory ? await fs.readdir(partDir) : []) {
        const rel = `${tier}/${part}/${name}`;
        if (isTempName(name)) paths.push(rel);
        else if (parseTierFilePath(rel) && !live.has(rel)) {
          const why = await notOurs(fs, join(dataDir, rel), tier);
          if (why === null) paths.push(rel);
          else problems.push(`${rel} is not in the manifest and was kept: ${why}`);
        }
      }
    }
  }
  const snapDir = join(dataDir, SNAPSHOT_DIR);
  if ((await fs.stat(snapDir))?.isDirectory) {
    for (const name of await fs.readdir(snapDir)) {
      const rel = `${SNAPSHOT_DIR}/${name}`;
      if (isTempName(name) || (parseSnapshotName(name) !== null && rel !== m.checkpoint.snapshot)) paths.push(rel);
    }
  }
  for (const name of await fs.readdir(dataDir)) if (isTempName(name)) paths.push(name);
  return { paths, problems };
}

/** Null when `path` is a valid tier file of `tier` (what this program writes), else why not. */
async function notOurs(fs: FileSystem, path: string, tier: string): Promise<string | null> {
  try {
    const info = await readTierFileInfo(fs, path);
    evictTierFooter(fs, path);
    return info.tier === tier ? null : `it holds tier ${info.tier}`;
  } catch (err) {
    if (err instanceof CorruptionError) return err.message;
    throw err;
  }
}

/** Removes the leftovers (paths relative to the data directory) and partition directories left empty. */
async function removeLeftovers(fs: FileSystem, dataDir: string, paths: string[]): Promise<string[]> {
  const dirs = new Set<string>();
  for (const rel of paths) {
    await fs.unlink(join(dataDir, rel));
    const parts = rel.split("/");
    if (parts.length === 3) dirs.add(join(dataDir, parts[0], parts[1]));
  }
  for (const dir of dirs) if ((await fs.readdir(dir)).length === 0) await fs.rmdir(dir);
  return paths;
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
