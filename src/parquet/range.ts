/**
 * Reads the matching rows of one candidate row range of a tier file (the reader's inner loop).
 *
 * Two hyparquet scans share the file: the key scan holds only the identity and time columns and the
 * pruning filter, and covers only the row groups `parquet_prune.ts` kept, so its candidate ranges are
 * as narrow as their page indexes allow (hyparquet merges the candidate ranges of a row group when any
 * scanned column lacks an offset index); the value scan reads the other columns over exactly the rows
 * that matched. Decoding is skipped for column chunks
 * whose statistics say they are all null, and for value columns the layout's probe column rules out
 * (a range of counters has no gauge values).
 *
 * @module
 */
import type { AsyncBuffer, DecodedArray, FileMetaData, ParquetQueryFilter, ParquetScan, RowGroup } from "hyparquet";
import { CorruptionError } from "../model/errors.ts";
import type { SeriesFilter } from "../model/series_filter.ts";
import type { Batch, IdentityColumns } from "./batch.ts";
import type { TierFileInfo } from "./footer.ts";
import type { PhysicalColumns, TierLayout } from "./layout.ts";
import { readColumnFast } from "./page_reader.ts";

/** The identity columns, in sort order. */
export const IDENTITY = ["namespace", "target", "poller"] as const;

/** Which rows to keep. */
export interface RowFilter {
  series?: SeriesFilter;
  /** Inclusive lower bound of the time column, Unix ms. */
  fromMs?: number;
  /** Exclusive upper bound of the time column, Unix ms. */
  toMs?: number;
  /** Only these row groups (indexes in file order); default: all. */
  rowGroups?: readonly number[];
  /**
   * Only the rows of the series this accepts (asked once per run of a series' rows, which the sort order
   * keeps together): a read of a namespace for the few series a query selected decodes, converts and
   * copies only theirs.
   */
  keep?: (namespace: string, target: string, poller: string) => boolean;
}

/**
 * The hyparquet pruning filter for a series and a time range, in the explicit-operator form that
 * hyparquet prunes row groups and pages with (undefined: read everything).
 *
 * @example
 * ```ts
 * import { pruningFilter } from "./range.ts";
 * const filter = pruningFilter("ts", { series: { namespace: "prod" }, fromMs: 0 });
 * if (JSON.stringify(filter) !== '{"$and":[{"namespace":{"$eq":"prod"}},{"ts":{"$gte":0}}]}') throw new Error();
 * ```
 */
export function pruningFilter(timeColumn: string, filter: RowFilter): ParquetQueryFilter | undefined {
  const { series, fromMs, toMs } = filter;
  const parts: ParquetQueryFilter[] = [];
  for (const name of IDENTITY) {
    const value = series?.[name];
    if (value !== undefined) parts.push({ [name]: { $eq: value } });
  }
  if (fromMs !== undefined) parts.push({ [timeColumn]: { $gte: fromMs } });
  if (toMs !== undefined) parts.push({ [timeColumn]: { $lt: toMs } });
  return parts.length > 0 ? { $and: parts } : undefined;
}

/** The scans a {@link RangeReader} reads from. */
export interface Scans {
  keys: ParquetScan;
  /**
   * Absent when no value column is read; opened on first use (only for a column {@link readColumnFast}
   * leaves to hyparquet).
   */
  values?: () => Promise<ParquetScan>;
}

/** Reads the matching rows of candidate row ranges. */
export class RangeReader<C extends Batch & IdentityColumns, F extends string> {
  /** Identity and time: always read, to match rows exactly. */
  readonly keyColumns: string[];
  /** The other columns read (the asked fields, plus the layout's probe column). */
  readonly valueColumns: string[];

  constructor(
    private readonly layout: TierLayout<C, F>,
    private readonly file: AsyncBuffer,
    private readonly info: TierFileInfo,
    private readonly filter: RowFilter,
    fields: readonly F[],
  ) {
    this.keyColumns = [...IDENTITY, layout.timeColumn];
    const values = fields.flatMap((f) => layout.physicalColumns(f));
    if (layout.probeColumn && values.length > 0) values.unshift(layout.probeColumn);
    this.valueColumns = [...new Set(values)].filter((c) => !this.keyColumns.includes(c));
  }

  /** The matching rows of [rowStart, rowEnd) (one row group), or null when there are none. */
  async read(scans: Scans, rowStart: number, rowEnd: number): Promise<C | null> {
    const group = rowGroupOf(this.info.metadata, rowStart);
    const keys = await this.readColumns(() => Promise.resolve(scans.keys), group, this.keyColumns, rowStart, rowEnd);
    const rows = matchingRows(keys, this.layout.timeColumn, rowEnd - rowStart, this.filter);
    if (rows.length === 0) return null;
    const first = rows[0], end = rows[rows.length - 1] + 1;
    const all = rows.length === rowEnd - rowStart, dense = rows.length === end - first;
    // the value columns of the matching rows only (offsets from the first one)
    const picked = dense ? null : rows.map((r) => r - first);
    const values = scans.values
      ? await this.readValues(scans.values, group, rowStart + first, rowStart + end, picked)
      : {};
    const columns: PhysicalColumns = {};
    for (const name of this.keyColumns) columns[name] = all ? keys[name] : pick(keys[name]!, rows, 0);
    for (const name of this.valueColumns) columns[name] = values[name];
    return this.layout.decode(columns, rows.length);
  }

  /** Reads the value columns, the probe column first to rule out the others. */
  private async readValues(
    scan: () => Promise<ParquetScan>,
    group: { group: RowGroup; start: number },
    start: number,
    end: number,
    picked: Int32Array | null,
  ): Promise<PhysicalColumns> {
    const { probeColumn } = this.layout;
    const out = probeColumn ? await this.readColumns(scan, group, [probeColumn], start, end, picked) : {};
    const skip = new Set(probeColumn ? this.layout.nullColumns?.(out[probeColumn]!) : []);
    for (const name of this.valueColumns) {
      if (name in out) continue;
      out[name] = skip.has(name)
        ? nulls(picked ? picked.length : end - start)
        : (await this.readColumns(scan, group, [name], start, end, picked))[name];
    }
    return out;
  }

  /** Reads `names` over rows of `group`; all-null column chunks (by statistics) are not decoded. */
  private async readColumns(
    scan: () => Promise<ParquetScan>,
    { group, start }: { group: RowGroup; start: number },
    names: string[],
    rowStart: number,
    rowEnd: number,
    picked: Int32Array | null = null,
  ): Promise<PhysicalColumns> {
    const out: PhysicalColumns = {};
    const offset = Number(group.columns[0]?.file_offset ?? 0);
    const { file, info } = this;
    for (const column of names) {
      out[column] = isAllNull(group, column)
        ? nulls(picked ? picked.length : rowEnd - rowStart)
        : await decoding(info, offset, async () => {
          // this reader's own pages fast; anything else with hyparquet
          const rows = picked ?? undefined;
          const fast = await readColumnFast(file, info.metadata, group, start, column, rowStart, rowEnd, rows);
          if (fast) return fast;
          const all = await (await scan()).readColumn({ column, rowStart, rowEnd });
          return picked ? pick(all, picked, 0) : all;
        });
    }
    return out;
  }
}

/** Indexes (relative to the range) of the rows that match the series and time filters. */
function matchingRows(keys: PhysicalColumns, timeColumn: string, length: number, filter: RowFilter): Int32Array {
  const { series, fromMs = -Infinity, toMs = Infinity, keep } = filter;
  const time = keys[timeColumn]!;
  const wanted = IDENTITY.filter((name) => series?.[name] !== undefined);
  const columns = wanted.map((name) => keys[name]!), values = wanted.map((name) => series![name]);
  const ns = keys.namespace!, target = keys.target!, poller = keys.poller!;
  const rows = new Int32Array(length);
  let n = 0, kept = true;
  next: for (let i = 0; i < length; i++) {
    if (keep && (i === 0 || poller[i] !== poller[i - 1] || target[i] !== target[i - 1] || ns[i] !== ns[i - 1])) {
      kept = keep(ns[i] as string, target[i] as string, poller[i] as string);
    }
    if (!kept) continue;
    const t = time[i] as number;
    if (t < fromMs || t >= toMs) continue;
    for (let c = 0; c < columns.length; c++) if (columns[c][i] !== values[c]) continue next;
    rows[n++] = i;
  }
  return rows.subarray(0, n);
}

function pick(column: DecodedArray, rows: Int32Array, offset: number): DecodedArray {
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = column[rows[i] - offset];
  return out;
}

function nulls(length: number): null[] {
  return new Array(length).fill(null);
}

/** The row group holding `row`, and the file row it starts at. */
function rowGroupOf(metadata: FileMetaData, row: number): { group: RowGroup; start: number } {
  let end = 0;
  for (const group of metadata.row_groups) {
    const start = end;
    end += Number(group.num_rows);
    if (row < end) return { group, start };
  }
  throw new RangeError(`Cannot find row ${row}: the file has ${end} rows`);
}

/** True when the statistics of `column` in `group` say that every value is null. */
function isAllNull(group: RowGroup, column: string): boolean {
  const meta = group.columns.find((c) => c.meta_data?.path_in_schema[0] === column)?.meta_data;
  const nullCount = meta?.statistics?.null_count;
  return meta !== undefined && nullCount !== undefined && Number(nullCount) === Number(meta.num_values);
}

/** Runs a decoding step; a failure other than I/O means the file is damaged. */
export async function decoding<T>(info: TierFileInfo, offset: number, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof CorruptionError || (err as { code?: unknown }).code !== undefined) throw err;
    throw new CorruptionError(info.path, offset, `cannot decode Parquet data: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
