/**
 * Row-group pruning of tier files by the footer statistics, done once per file and cheaply.
 *
 * hyparquet can prune row groups itself, but it UTF-8-encodes both strings of every comparison,
 * which made it most of the cost of a one-series lookup in a file of 220 row groups (and grows with
 * the file). Here the identity bounds of every row group are encoded once per (cached) footer, the
 * filter values once per read, and only the runs of row groups that may hold matching rows are
 * handed to hyparquet, which then prunes pages with the page index.
 *
 * @module
 */
import type { FileMetaData, RowGroup } from "hyparquet";
import type { TierFileInfo } from "./footer.ts";
import { IDENTITY, type RowFilter } from "./range.ts";

/** A run of rows: whole row groups, in file order. */
export interface RowRun {
  rowStart: number;
  rowEnd: number;
}

type Identity = (typeof IDENTITY)[number];

/** What the statistics say about one row group (undefined bounds: unknown, so never pruned). */
interface GroupBounds {
  rowStart: number;
  rowEnd: number;
  min: Partial<Record<Identity, Uint8Array>>;
  max: Partial<Record<Identity, Uint8Array>>;
  timeMin?: number;
  timeMax?: number;
}

const encoder = new TextEncoder();
const boundsCache = new WeakMap<FileMetaData, GroupBounds[]>();

/**
 * The runs of consecutive row groups whose statistics do not rule out `filter` (all row groups, as
 * one run, when nothing is filtered).
 */
export function candidateRuns(info: TierFileInfo, timeColumn: string, filter: RowFilter): RowRun[] {
  const wanted = IDENTITY.filter((name) => filter.series?.[name] !== undefined)
    .map((name) => [name, encoder.encode(filter.series![name])] as const);
  const { fromMs = -Infinity, toMs = Infinity } = filter;
  const only = filter.rowGroups ? new Set(filter.rowGroups) : null;
  const runs: RowRun[] = [];
  for (const [index, group] of boundsOf(info.metadata, timeColumn).entries()) {
    if (only && !only.has(index)) continue;
    if (!mayMatch(group, wanted, fromMs, toMs)) continue;
    const last = runs[runs.length - 1];
    if (last && last.rowEnd === group.rowStart) last.rowEnd = group.rowEnd;
    else runs.push({ rowStart: group.rowStart, rowEnd: group.rowEnd });
  }
  return runs;
}

/** One row group's rows and time bounds (from its statistics; undefined: unknown). */
export interface GroupTimes extends RowRun {
  timeMin?: number;
  timeMax?: number;
}

/** The row groups of a file with their time bounds, in file order. */
export function rowGroupTimes(info: TierFileInfo, timeColumn: string): readonly GroupTimes[] {
  return boundsOf(info.metadata, timeColumn);
}

function mayMatch(
  group: GroupBounds,
  wanted: readonly (readonly [Identity, Uint8Array])[],
  fromMs: number,
  toMs: number,
): boolean {
  if (group.timeMax !== undefined && group.timeMax < fromMs) return false;
  if (group.timeMin !== undefined && group.timeMin >= toMs) return false;
  for (const [name, value] of wanted) {
    const min = group.min[name], max = group.max[name];
    if (min && compareBytes(value, min) < 0) return false;
    if (max && compareBytes(value, max) > 0) return false;
  }
  return true;
}

function boundsOf(metadata: FileMetaData, timeColumn: string): GroupBounds[] {
  let bounds = boundsCache.get(metadata);
  if (!bounds) {
    let rowStart = 0;
    bounds = metadata.row_groups.map((group) => {
      const b = groupBounds(group, rowStart, timeColumn);
      rowStart = b.rowEnd;
      return b;
    });
    boundsCache.set(metadata, bounds);
  }
  return bounds;
}

function groupBounds(group: RowGroup, rowStart: number, timeColumn: string): GroupBounds {
  const out: GroupBounds = { rowStart, rowEnd: rowStart + Number(group.num_rows), min: {}, max: {} };
  for (const chunk of group.columns) {
    const name = chunk.meta_data?.path_in_schema[0];
    const stats = chunk.meta_data?.statistics;
    if (!stats || !name) continue;
    if (name === timeColumn) {
      out.timeMin = numberOrUndefined(stats.min_value);
      out.timeMax = numberOrUndefined(stats.max_value);
    } else if ((IDENTITY as readonly string[]).includes(name)) {
      out.min[name as Identity] = bytesOrUndefined(stats.min_value);
      out.max[name as Identity] = bytesOrUndefined(stats.max_value);
    }
  }
  return out;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

function bytesOrUndefined(value: unknown): Uint8Array | undefined {
  return typeof value === "string" ? encoder.encode(value) : undefined;
}

/** Unsigned lexicographic order: the order of Parquet BYTE_ARRAY statistics. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
