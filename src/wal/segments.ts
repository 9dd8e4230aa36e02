/**
 * The WAL directory: listing, sizing and deleting segments.
 *
 * @module
 */
import type { FileSystem } from "../platform/fs.ts";
import { join } from "../platform/path.ts";
import { parseWalSegmentName, walSegmentName } from "../model/paths.ts";

/** A segment file. */
export interface SegmentInfo {
  segment: number;
  path: string;
  size: number;
}

/** Segments in `dir`, oldest first (an absent directory has none). */
export async function listSegments(fs: FileSystem, dir: string): Promise<SegmentInfo[]> {
  if (!(await fs.stat(dir))) return [];
  const out: SegmentInfo[] = [];
  for (const name of await fs.readdir(dir)) {
    const segment = parseWalSegmentName(name);
    if (segment === null) continue;
    const path = join(dir, name);
    out.push({ segment, path, size: (await fs.stat(path))?.size ?? 0 });
  }
  return out.sort((a, b) => a.segment - b.segment);
}

/** Path of segment `n` in `dir`. */
export function segmentPath(dir: string, n: number): string {
  return join(dir, walSegmentName(n));
}

/** Deletes every segment numbered below `n`; returns how many were deleted. */
export async function deleteSegmentsBefore(fs: FileSystem, dir: string, n: number): Promise<number> {
  let deleted = 0;
  for (const s of await listSegments(fs, dir)) {
    if (s.segment >= n) break;
    await fs.unlink(s.path);
    deleted++;
  }
  if (deleted > 0) await fs.fsyncDir(dir);
  return deleted;
}
