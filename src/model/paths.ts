/**
 * The one module that builds and parses names in the data directory. Every builder has a parser, and
 * names sort as strings in the order that matters (sequence numbers are zero-padded).
 *
 * Layout (see docs/format/tiers.md):
 *
 * ```
 * <data_dir>/
 *   MANIFEST.json                                  the committed state (docs/format/manifest.md)
 *   MANIFEST.backup.json                           a copy written after it by every commit
 *   LOCK                                           flock-ed by the owning process: its PID, then its URL
 *   wal/0000000000000001.wal                       WAL segments (docs/format/wal.md)
 *   snapshots/snapshot-000000000007.bin            head state at a checkpoint (docs/format/snapshot.md)
 *   raw/date=2026-11-25/raw-000000000042.parquet   tier files, partitioned by UTC date
 *   5min/date=2026-11-25/5min-000000000043.parquet
 *   hourly/date=2026-11-01/hourly-000000000044.parquet   (partition = month)
 *   daily/date=2026-01-01/daily-000000000045.parquet     (partition = year)
 *   weekly/date=2026-01-01/weekly-000000000046.parquet   (partition = year of the week's Monday)
 * ```
 *
 * @module
 */
import type { Tier } from "./tier.ts";
import { TIERS } from "./tier.ts";

const DAY = 86_400_000;

/** Name of the manifest file in the data directory. */
export const MANIFEST_FILE = "MANIFEST.json";
/** Name of the manifest's backup copy, written after the manifest by every commit. */
export const MANIFEST_BACKUP_FILE = "MANIFEST.backup.json";
/** Directory of snapshots inside the data directory. */
export const SNAPSHOT_DIR = "snapshots";
/** Default WAL directory inside the data directory. */
export const WAL_DIR = "wal";

/**
 * Start of the partition of `tier` that holds data at `timestampMs`: the UTC day for raw and 5min,
 * the UTC month for hourly, the UTC year for daily and weekly.
 *
 * @example
 * ```ts
 * import { partitionStart } from "./paths.ts";
 * if (partitionStart("hourly", Date.UTC(2026, 10, 25, 13)) !== Date.UTC(2026, 10, 1)) throw new Error();
 * ```
 */
export function partitionStart(tier: Tier, timestampMs: number): number {
  if (tier === "raw" || tier === "5min") return Math.floor(timestampMs / DAY) * DAY; // per row of a flush: no Date
  const d = new Date(timestampMs);
  return tier === "hourly" ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) : Date.UTC(d.getUTCFullYear(), 0, 1);
}

/** End (exclusive) of the partition starting at `start`. */
export function partitionEnd(tier: Tier, start: number): number {
  if (tier === "raw" || tier === "5min") return start + DAY;
  const d = new Date(start);
  return tier === "hourly"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
    : Date.UTC(d.getUTCFullYear() + 1, 0, 1);
}

/** `date=YYYY-MM-DD` of a partition start (Hive-style, so engines see a `date` column). */
export function partitionName(start: number): string {
  return `date=${new Date(start).toISOString().slice(0, 10)}`;
}

/** Parses `date=YYYY-MM-DD` to its UTC start, or null. */
export function parsePartitionName(name: string): number | null {
  const m = /^date=(\d{4})-(\d{2})-(\d{2})$/.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return partitionName(ms) === name ? ms : null;
}

/** File name of a tier file: `<tier>-<seq, 12 digits>.parquet`. */
export function tierFileName(tier: Tier, seq: number): string {
  return `${tier}-${String(seq).padStart(12, "0")}.parquet`;
}

/** Parses a tier file name, or null. */
export function parseTierFileName(name: string): { tier: Tier; seq: number } | null {
  const m = /^(raw|5min|hourly|daily|weekly)-(\d{12})\.parquet$/.exec(name);
  return m ? { tier: m[1] as Tier, seq: Number(m[2]) } : null;
}

/** Path of a tier file relative to the data directory, e.g. `5min/date=2026-11-25/5min-000000000042.parquet`. */
export function tierFilePath(tier: Tier, partition: number, seq: number): string {
  return `${tier}/${partitionName(partition)}/${tierFileName(tier, seq)}`;
}

/** Parses a relative tier file path, or null when it is not one. */
export function parseTierFilePath(path: string): { tier: Tier; partition: number; seq: number } | null {
  const parts = path.split("/");
  if (parts.length !== 3 || !(TIERS as readonly string[]).includes(parts[0])) return null;
  const partition = parsePartitionName(parts[1]);
  const file = parseTierFileName(parts[2]);
  if (partition === null || !file || file.tier !== parts[0]) return null;
  return { tier: file.tier, partition, seq: file.seq };
}

/** WAL segment file name: `<number, 16 digits>.wal`. */
export function walSegmentName(segment: number): string {
  return `${String(segment).padStart(16, "0")}.wal`;
}

/** Parses a WAL segment file name, or null. */
export function parseWalSegmentName(name: string): number | null {
  const m = /^(\d{16})\.wal$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Snapshot file name: `snapshot-<seq, 12 digits>.bin`. */
export function snapshotName(seq: number): string {
  return `snapshot-${String(seq).padStart(12, "0")}.bin`;
}

/** Parses a snapshot file name, or null. */
export function parseSnapshotName(name: string): number | null {
  const m = /^snapshot-(\d{12})\.bin$/.exec(name);
  return m ? Number(m[1]) : null;
}
