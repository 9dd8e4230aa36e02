/**
 * Online snapshots of a data directory, and restoring one into a new directory.
 *
 * A snapshot is the committed state plus the WAL written since its checkpoint, taken at one instant:
 *
 * 1. Holding the catalog's commit lock (no flush, rollup, merge or retention commits, and none deletes
 *    a WAL segment, a tier file or a head snapshot the manifest names), the WAL is rotated: at that
 *    instant every batch acknowledged so far lies in segments before the new one, and none after.
 * 2. Still holding it: the live tier files and the checkpoint's head snapshot (immutable files: they
 *    are written once under a new name and only ever deleted) are hard-linked into the snapshot
 *    directory, or copied when it is on another file system; the WAL segments from the checkpoint up
 *    to the one before the rotation are copied (they were closed by the rotation, but a restored
 *    server appends to its last segment, so they are never shared); the manifest is written as is.
 * 3. `SNAPSHOT.json` is written last: a directory without it is not a snapshot (a failed snapshot
 *    removes what it wrote; one cut short by a crash lacks it, and restore refuses it).
 *
 * The snapshot directory has a data directory's layout (WAL in `wal/`). {@link restoreSnapshot} checks it
 * and copies it into an empty data directory (WAL into the configured WAL directory); the restored
 * server loads the manifest and the head snapshot and replays the WAL: exactly the samples
 * acknowledged before the rotation, each once. Ingest goes on meanwhile (it never waits for the commit
 * lock); flushes wait for the snapshot.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { InputError } from "../model/errors.ts";
import {
  MANIFEST_BACKUP_FILE,
  MANIFEST_FILE,
  parseSnapshotName,
  parseTierFilePath,
  SNAPSHOT_DIR,
  WAL_DIR,
} from "../model/paths.ts";
import { writeAtomic } from "../platform/atomic.ts";
import type { FileSystem } from "../platform/fs.ts";
import { basename, dirname, join } from "../platform/path.ts";
import { decodeManifest, encodeManifest, type Manifest } from "../tier/manifest.ts";
import { listSegments, segmentPath } from "../wal/segments.ts";
import { VERSION } from "../version.ts";
import { type Core, walDirOf } from "./core.ts";

/** The file in a snapshot directory that describes it (written last). */
export const SNAPSHOT_INFO_FILE = "SNAPSHOT.json";
const SNAPSHOT_FORMAT = "stalker-snapshot";
const SNAPSHOT_VERSION = 1;

/** What `SNAPSHOT.json` holds, and what taking or restoring a snapshot reports. */
export interface SnapshotInfo {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  /** The program version that took it. */
  software: string;
  createdMs: number;
  /** The manifest commit it holds. */
  commit: number;
  /** WAL segments it holds (first to last, inclusive), with their sizes. */
  wal: { segment: number; bytes: number }[];
  /** Tier files (all listed in its manifest). */
  files: number;
  /** Bytes of tier files, head snapshot and WAL. */
  bytes: number;
  /** Files hard-linked rather than copied. */
  linked: number;
}

/** A snapshot taken: where, and what it holds. */
export interface SnapshotReport extends SnapshotInfo {
  dir: string;
}

/**
 * Takes a snapshot of the running storage into `dir` (absolute or cwd-relative; must not exist; its
 * parents are created). See the module comment for why the result replays to exactly the acknowledged state.
 */
export async function takeSnapshot(core: Core, dir: string): Promise<SnapshotReport> {
  const fs = core.fs;
  if (await fs.stat(dir)) {
    throw new InputError("exists", `Cannot write the snapshot to ${dir}: it exists (name a new directory)`);
  }
  try {
    const info = await core.catalog.run(async () => {
      let next = 0;
      await core.wal.rotate((segment) => (next = segment));
      const m = core.manifest;
      const copier = new Copier(fs);
      await fs.mkdir(dir);
      for (const f of m.files) await copier.linkOrCopy(join(core.dataDir, f.path), join(dir, f.path));
      if (m.checkpoint.snapshot) {
        await copier.linkOrCopy(join(core.dataDir, m.checkpoint.snapshot), join(dir, m.checkpoint.snapshot));
      }
      const wal: SnapshotInfo["wal"] = [];
      await fs.mkdir(join(dir, WAL_DIR));
      for (const s of await listSegments(fs, core.walDir)) {
        if (s.segment < m.checkpoint.walSegment || s.segment >= next) continue;
        wal.push({ segment: s.segment, bytes: await copier.copy(s.path, segmentPath(join(dir, WAL_DIR), s.segment)) });
      }
      const bytes = encodeManifest(m);
      await writeAtomic(fs, join(dir, MANIFEST_FILE), bytes);
      await writeAtomic(fs, join(dir, MANIFEST_BACKUP_FILE), bytes);
      return infoOf(m, wal, copier, core.clock.now());
    });
    // last: a directory without it is no snapshot (restore refuses it)
    await writeAtomic(fs, join(dir, SNAPSHOT_INFO_FILE), new TextEncoder().encode(JSON.stringify(info, null, 2)));
    core.log.info("snapshot taken", { dir, commit: info.commit, files: info.files, bytes: info.bytes });
    return { dir, ...info };
  } catch (err) {
    await removeTree(fs, dir).catch(() => {});
    throw err;
  }
}

/**
 * Restores the snapshot in `snapshotDir` into `config.dataDir` (and the WAL into `config`'s WAL
 * directory), which must be absent or empty. Checks the snapshot first (every file the manifest lists,
 * the head snapshot and the WAL segments, with their sizes); on any failure removes what it created.
 * Tier files and the head snapshot are hard-linked when on the same file system (never written in
 * place), the WAL is copied. The manifest goes last: a restore cut short leaves a directory the
 * server refuses to start on, never one that starts with part of the data.
 */
export async function restoreSnapshot(fs: FileSystem, snapshotDir: string, config: Config): Promise<SnapshotReport> {
  const { info, manifest } = await checkSnapshot(fs, snapshotDir);
  const dataDir = config.dataDir;
  const walDir = walDirOf(config);
  for (const d of new Set([dataDir, walDir])) await checkEmptyDir(fs, d);
  const created: string[] = [];
  const copier = new Copier(fs);
  try {
    for (const d of [dataDir, walDir]) {
      if (!(await fs.stat(d))) {
        await fs.mkdir(d);
        created.push(d);
      }
    }
    for (const f of manifest.files) await copier.linkOrCopy(join(snapshotDir, f.path), join(dataDir, f.path));
    if (manifest.checkpoint.snapshot) {
      const snap = manifest.checkpoint.snapshot;
      await copier.linkOrCopy(join(snapshotDir, snap), join(dataDir, snap));
    }
    for (const s of info.wal) {
      await copier.copy(segmentPath(join(snapshotDir, WAL_DIR), s.segment), segmentPath(walDir, s.segment));
    }
    const bytes = encodeManifest(manifest);
    await writeAtomic(fs, join(dataDir, MANIFEST_BACKUP_FILE), bytes);
    await writeAtomic(fs, join(dataDir, MANIFEST_FILE), bytes);
    return { dir: dataDir, ...info };
  } catch (err) {
    for (const d of [dataDir, walDir]) {
      if (created.includes(d)) await removeTree(fs, d).catch(() => {});
      else await emptyDir(fs, d).catch(() => {});
    }
    throw err;
  }
}

/** Reads and checks a snapshot directory: its description, its manifest, and every file they name. */
export async function checkSnapshot(fs: FileSystem, dir: string): Promise<{ info: SnapshotInfo; manifest: Manifest }> {
  const infoPath = join(dir, SNAPSHOT_INFO_FILE);
  if (!(await fs.stat(infoPath))) {
    throw new InputError(
      "not_a_snapshot",
      `${dir} is not a snapshot: it has no ${SNAPSHOT_INFO_FILE} (take one with "stalker-storage snapshot DIR")`,
    );
  }
  let info: SnapshotInfo;
  try {
    info = JSON.parse(new TextDecoder().decode(await fs.readFile(infoPath)));
  } catch (err) {
    throw new InputError("bad_snapshot", `Cannot read ${infoPath}: ${(err as Error).message}`);
  }
  if (info.format !== SNAPSHOT_FORMAT || info.version !== SNAPSHOT_VERSION) {
    throw new InputError(
      "bad_snapshot",
      `${infoPath}: not a snapshot of format ${SNAPSHOT_FORMAT} ${SNAPSHOT_VERSION}`,
    );
  }
  const manifestPath = join(dir, MANIFEST_FILE);
  let manifest: Manifest;
  try {
    manifest = decodeManifest(await fs.readFile(manifestPath), manifestPath);
  } catch (err) {
    throw new InputError("bad_snapshot", `Cannot read the snapshot's manifest: ${(err as Error).message}`);
  }
  const snap = manifest.checkpoint.snapshot;
  const foreign = manifest.files.find((f) => parseTierFilePath(f.path) === null)?.path ??
    (snap !== null && !(snap.startsWith(`${SNAPSHOT_DIR}/`) && parseSnapshotName(basename(snap)) !== null)
      ? snap
      : undefined);
  if (foreign !== undefined) throw new InputError("bad_snapshot", `${manifestPath} names a foreign path: ${foreign}`);
  const missing: string[] = [];
  const expect = async (rel: string, bytes: number | null) => {
    const st = await fs.stat(join(dir, rel));
    if (!st) missing.push(`${rel} is missing`);
    else if (bytes !== null && st.size !== bytes) missing.push(`${rel} has ${st.size} bytes, expected ${bytes}`);
  };
  for (const f of manifest.files) await expect(f.path, f.bytes);
  if (manifest.checkpoint.snapshot) await expect(manifest.checkpoint.snapshot, null);
  for (const s of info.wal) await expect(`${WAL_DIR}/${basename(segmentPath(WAL_DIR, s.segment))}`, s.bytes);
  if (info.wal.length > 0 && info.wal[0].segment !== manifest.checkpoint.walSegment) {
    missing.push(
      `the WAL starts at segment ${info.wal[0].segment}, the checkpoint at ${manifest.checkpoint.walSegment}`,
    );
  }
  if (missing.length > 0) {
    throw new InputError("bad_snapshot", `The snapshot ${dir} is damaged: ${missing.slice(0, 5).join("; ")}`);
  }
  return { info, manifest };
}

function infoOf(m: Manifest, wal: SnapshotInfo["wal"], copier: Copier, nowMs: number): SnapshotInfo {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    software: VERSION,
    createdMs: nowMs,
    commit: m.commit,
    wal,
    files: m.files.length,
    bytes: copier.bytes,
    linked: copier.linked,
  };
}

/** Hard links where it can, copies where it must; counts both. */
class Copier {
  bytes = 0;
  linked = 0;
  constructor(private readonly fs: FileSystem) {}

  async linkOrCopy(from: string, to: string): Promise<void> {
    await this.fs.mkdir(dirname(to));
    try {
      await this.fs.link(from, to);
      this.linked++;
      this.bytes += (await this.fs.stat(to))?.size ?? 0;
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // other file system, or one without hard links
      if (code !== "EXDEV" && code !== "EPERM" && code !== "ENOTSUP" && code !== "EMLINK") throw err;
    }
    await this.copy(from, to);
  }

  async copy(from: string, to: string): Promise<number> {
    await this.fs.mkdir(dirname(to));
    const data = await this.fs.readFile(from);
    await writeAtomic(this.fs, to, data);
    this.bytes += data.length;
    return data.length;
  }
}

async function checkEmptyDir(fs: FileSystem, dir: string): Promise<void> {
  const st = await fs.stat(dir);
  if (st && (!st.isDirectory || (await fs.readdir(dir)).length > 0)) {
    throw new InputError(
      "not_empty",
      `Cannot restore into ${dir}: it is not an empty directory (name a new one with --data-dir)`,
    );
  }
}

/** Removes a directory and everything in it. */
async function removeTree(fs: FileSystem, path: string): Promise<void> {
  const st = await fs.stat(path);
  if (!st) return;
  if (!st.isDirectory) return await fs.unlink(path);
  await emptyDir(fs, path);
  await fs.rmdir(path);
}

async function emptyDir(fs: FileSystem, dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) await removeTree(fs, join(dir, name));
}
