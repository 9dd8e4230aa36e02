/**
 * The manifest (docs/format/manifest.md): the committed state of the data directory — which tier
 * files are live, the WAL checkpoint (snapshot + first segment to replay) and the tier watermarks. A
 * tier file exists for readers only once a manifest lists it; every change (flush, compaction,
 * retention) is one atomic manifest write, which is what makes flushes exactly-once.
 *
 * On disk: one line of JSON, then a line `crc32 <8 hex digits>` of the JSON line's UTF-8 bytes.
 *
 * @module
 */
import zlib from "node:zlib";
import { CorruptionError } from "../model/errors.ts";
import { MANIFEST_BACKUP_FILE, MANIFEST_FILE, partitionStart } from "../model/paths.ts";
import { type AggregateTier, bucketStart, type Tier } from "../model/tier.ts";
import { writeAtomic } from "../platform/atomic.ts";
import type { FileSystem } from "../platform/fs.ts";
import { join } from "../platform/path.ts";

/** Format name and version written in every manifest. */
export const MANIFEST_FORMAT = "stalker-manifest";
export const MANIFEST_VERSION = 1;

/** A live tier file. */
export interface TierFile {
  /** Path relative to the data directory (`paths.ts`). */
  path: string;
  tier: Tier;
  /** Partition start (UTC ms). */
  partition: number;
  seq: number;
  /** Smallest and largest time in the file (sample time or bucket start). */
  minTs: number;
  maxTs: number;
  rows: number;
  bytes: number;
  /** 0 for a flush output; merges produce level max(inputs) + 1. */
  level: number;
}

/** The committed state. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  /** Incremented by every commit. */
  commit: number;
  /** Next tier-file sequence number. */
  nextSeq: number;
  checkpoint: {
    /** First WAL segment to replay. */
    walSegment: number;
    /** Snapshot to load before replaying (relative path), or null. */
    snapshot: string | null;
  };
  /**
   * Per aggregate tier, the time up to which (exclusive) its buckets are complete in Parquet:
   * `5min` is the close watermark of the last flush; coarser tiers hold every bucket that starts
   * before theirs, and later data for such buckets reaches them as late partial rows.
   */
  watermarks: Record<AggregateTier, number>;
  files: TierFile[];
}

/**
 * A manifest for an empty data directory created at `nowMs`. Each coarser tier's watermark starts at
 * the oldest partition the next finer tier's retention keeps (`retention`; at `nowMs` without it): nothing before it
 * exists to roll up, so history imported later that the finer tier would not keep anyway is late data
 * the flush writes straight into the coarser tier (hourly by month, daily and weekly by year), instead
 * of a 5-minute file per day for rollups to walk through; history the finer tier keeps takes the
 * usual path (5-minute files, rolled up later), as live data does.
 */
export function emptyManifest(
  nowMs = 0,
  retention?: { fiveMinMs: number; hourlyMs: number; dailyMs: number },
): Manifest {
  // the start of the oldest partition the finer tier keeps (retention works on whole partitions)
  const from = (tier: AggregateTier, finer: AggregateTier, finerRetentionMs: number | undefined) =>
    bucketStart(tier, retention ? partitionStart(finer, nowMs - finerRetentionMs!) : nowMs);
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    commit: 0,
    nextSeq: 1,
    checkpoint: { walSegment: 1, snapshot: null },
    watermarks: {
      "5min": 0,
      hourly: from("hourly", "5min", retention?.fiveMinMs),
      daily: from("daily", "hourly", retention?.hourlyMs),
      weekly: from("weekly", "daily", retention?.dailyMs),
    },
    files: [],
  };
}

/** Encodes a manifest as its on-disk bytes. */
export function encodeManifest(m: Manifest): Uint8Array {
  const json = JSON.stringify(m);
  const body = new TextEncoder().encode(json);
  const crc = (zlib.crc32(body) >>> 0).toString(16).padStart(8, "0");
  return new TextEncoder().encode(`${json}\ncrc32 ${crc}\n`);
}

/** Decodes on-disk bytes; throws `CorruptionError` when damaged or foreign. */
export function decodeManifest(bytes: Uint8Array, path: string): Manifest {
  const text = new TextDecoder().decode(bytes);
  const nl = text.indexOf("\n");
  const m = /^crc32 ([0-9a-f]{8})\n?$/.exec(text.slice(nl + 1));
  if (nl < 0 || !m) throw new CorruptionError(path, Math.max(0, nl), "manifest checksum line missing");
  const body = bytes.subarray(0, new TextEncoder().encode(text.slice(0, nl)).length);
  if ((zlib.crc32(body) >>> 0).toString(16).padStart(8, "0") !== m[1]) {
    throw new CorruptionError(path, 0, "manifest checksum mismatch");
  }
  const parsed = JSON.parse(text.slice(0, nl)) as Manifest;
  if (parsed.format !== MANIFEST_FORMAT) throw new CorruptionError(path, 0, `not a manifest (format ${parsed.format})`);
  if (parsed.version !== MANIFEST_VERSION) {
    throw new CorruptionError(path, 0, `unsupported manifest version ${parsed.version}`);
  }
  return parsed;
}

/** Reads the manifest file `path`: null when absent; throws `CorruptionError` when damaged or foreign. */
export async function readManifestFile(fs: FileSystem, path: string): Promise<Manifest | null> {
  if (!(await fs.stat(path))) return null;
  return decodeManifest(await fs.readFile(path), path);
}

/**
 * Writes `m` atomically as the new committed state (incrementing its commit number), then the same
 * bytes as the backup copy `MANIFEST.backup.json`. The commit is the first write; the backup lets
 * recovery restore a lost or damaged manifest (`src/service/recovery.ts`). A failed backup write does
 * not undo the commit: the backup is then older, which recovery detects before using it.
 */
export async function commitManifest(fs: FileSystem, dataDir: string, m: Manifest): Promise<Manifest> {
  const next = { ...m, commit: m.commit + 1 };
  const bytes = encodeManifest(next);
  await writeAtomic(fs, join(dataDir, MANIFEST_FILE), bytes);
  await writeAtomic(fs, join(dataDir, MANIFEST_BACKUP_FILE), bytes).catch(() => {});
  return next;
}
