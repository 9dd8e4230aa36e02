/**
 * Reads tier files with hyparquet: only the columns asked for, only the rows of the asked series and
 * time range, and — thanks to row-group statistics and the page index — only the pages that can hold
 * them. Whole files can also be iterated row group by row group (merges, compaction).
 *
 * Filters use hyparquet's explicit operators (`{ namespace: { $eq: "prod" } }`), the form it prunes
 * with; the rows of the candidate pages are then matched exactly here.
 *
 * @module
 */
import { type AsyncBuffer, type ParquetScan, parquetScan, type ParquetScanOptions } from "hyparquet";
import { CorruptionError } from "../model/errors.ts";
import { type AggregateTier, isAggregateTier, type Tier } from "../model/tier.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { AggColumns, RawColumns } from "./columns.ts";
import { PAGE_DECOMPRESSORS } from "./compressors.ts";
import { AGG_LAYOUT, type AggField } from "./agg.ts";
import { type Batch, concatBatches, type IdentityColumns } from "./batch.ts";
import { fileBuffer, type ReadStats } from "./buffer.ts";
import { loadTierFooter, TIER_PARSERS, type TierFileInfo } from "./footer.ts";
import type { PhysicalColumns, TierLayout } from "./layout.ts";
import { candidateRuns, type RowRun } from "./prune.ts";
import { decoding, IDENTITY, pruningFilter, RangeReader, type RowFilter } from "./range.ts";
import { RAW_LAYOUT, type RawField } from "./raw.ts";

/**
 * What to read from a tier file: `series` (default: all), `fromMs` (inclusive) and `toMs` (exclusive)
 * bounds of the time column (raw: `ts`, aggregates: `bucket`), and the fields.
 */
export interface TierReadOptions<F extends string> extends RowFilter {
  /**
   * Fields to read besides identity and time (default: all). The others are returned with neutral
   * values: NaN numbers, null strings and sketches, 0 codes, flags and counts.
   */
  columns?: readonly F[];
  /** Counts the bytes and reads done. */
  stats?: ReadStats;
  /**
   * Most rows per batch yielded by the `iterate*` readers (default: a matching range, up to a row
   * group). A merge or rollup holds a batch of every input at once: 14 inputs of 65,536 decoded
   * aggregate rows (a sketch each) held 230 MB.
   */
  batchRows?: number;
}

/** Options for aggregate files: optionally pin the exact tier the file must hold. */
export type AggReadOptions = TierReadOptions<AggField> & { tier?: AggregateTier };

/**
 * The rows of a raw tier file that match `options`, in file order.
 *
 * @example
 * ```ts
 * import { MemFs } from "../platform/mem_fs.ts";
 * import { writeTierFile } from "./writer.ts";
 * import { readRawFile } from "./reader.ts";
 * const fs = new MemFs();
 * const path = "/data/raw/date=2026-11-25/raw-000000000001.parquet";
 * await writeTierFile(fs, path, { tier: "raw", compression: { algorithm: "zstd", level: 3 } }, {
 *   length: 2, namespace: ["prod", "prod"], target: ["r1", "r2"], poller: ["cpu", "cpu"],
 *   ts: new Float64Array([1000, 1000]), kind: new Uint8Array([1, 1]), value: new Float64Array([1.5, 2.5]),
 *   counter: [null, null], text: [null, null], valid: new Uint8Array([1, 1]), error: [null, null],
 *   pollMs: new Int32Array([5, 6]),
 * });
 * const rows = await readRawFile(fs, path, { series: { namespace: "prod", target: "r2" }, columns: ["value"] });
 * if (rows.length !== 1 || rows.value[0] !== 2.5) throw new Error("filter");
 * ```
 */
export function readRawFile(
  fs: FileSystem,
  path: string,
  options: TierReadOptions<RawField> = {},
): Promise<RawColumns> {
  return collect(RAW_LAYOUT, iterateRawFile(fs, path, options));
}

/** The rows of an aggregate tier file that match `options`, in file order. */
export function readAggFile(fs: FileSystem, path: string, options: AggReadOptions = {}): Promise<AggColumns> {
  return collect(AGG_LAYOUT, iterateAggFile(fs, path, options));
}

/**
 * The matching rows of a raw tier file in batches: one per row group without a filter (or per
 * candidate page range with one). Stop early by leaving the loop; the file is closed either way.
 */
export function iterateRawFile(
  fs: FileSystem,
  path: string,
  options: TierReadOptions<RawField> = {},
): AsyncGenerator<RawColumns> {
  return scanFile(RAW_LAYOUT, fs, path, options, (tier) => tier === "raw" ? null : "a raw tier file");
}

/** The matching rows of an aggregate tier file in batches (see {@link iterateRawFile}). */
export function iterateAggFile(fs: FileSystem, path: string, options: AggReadOptions = {}): AsyncGenerator<AggColumns> {
  const wanted = options.tier ? `a ${options.tier} tier file` : "an aggregate tier file";
  return scanFile(AGG_LAYOUT, fs, path, options, (tier) => {
    return isAggregateTier(tier) && (!options.tier || tier === options.tier) ? null : wanted;
  });
}

async function collect<C extends Batch & IdentityColumns>(
  layout: TierLayout<C, string>,
  batches: AsyncGenerator<C>,
): Promise<C> {
  const parts: C[] = [];
  for await (const batch of batches) parts.push(batch);
  return parts.length === 0 ? layout.decode(emptyIdentity(), 0) : concatBatches(parts);
}

function emptyIdentity(): PhysicalColumns {
  return Object.fromEntries(IDENTITY.map((name) => [name, []]));
}

async function* scanFile<C extends Batch & IdentityColumns, F extends string>(
  layout: TierLayout<C, F>,
  fs: FileSystem,
  path: string,
  options: TierReadOptions<F>,
  mismatch: (tier: Tier) => string | null,
): AsyncGenerator<C> {
  const handle = await fs.open(path, "r");
  try {
    const file = fileBuffer(handle, await handle.size(), options.stats);
    const info = await loadTierFooter(fs, path, file);
    checkTier(info, mismatch);
    const reader = new RangeReader(layout, file, info, options, options.columns ?? layout.fields);
    const scanner = new Scanner(file, info, layout.timeColumn, options);
    let opened: Promise<ParquetScan> | undefined;
    const values = reader.valueColumns.length > 0 ? () => (opened ??= scanner.values(reader.valueColumns)) : undefined;
    const step = options.batchRows ?? Infinity;
    for (const run of candidateRuns(info, layout.timeColumn, options)) {
      const keys = await scanner.keys(reader.keyColumns, run);
      for (const range of keys.ranges) {
        for (let start = range.rowStart; start < range.rowEnd; start += step) {
          const batch = await reader.read({ keys, values }, start, Math.min(range.rowEnd, start + step));
          if (batch) yield batch;
        }
      }
    }
  } finally {
    await handle.close();
  }
}

/** Opens the hyparquet scans of one read. */
class Scanner {
  constructor(
    private readonly file: AsyncBuffer,
    private readonly info: TierFileInfo,
    private readonly timeColumn: string,
    private readonly filter: RowFilter,
  ) {}

  /** The key columns of a run of row groups, pruned by the filter and the page index. */
  keys(columns: string[], run: RowRun): Promise<ParquetScan> {
    const pruning = pruningFilter(this.timeColumn, this.filter);
    return this.open({ columns, pruningFilter: pruning, usePageIndex: pruning !== undefined, ...run });
  }

  /** The value columns, over the whole file (reads pick their rows). */
  values(columns: string[]): Promise<ParquetScan> {
    return this.open({ columns });
  }

  private open(options: Partial<ParquetScanOptions>): Promise<ParquetScan> {
    const { file, info } = this;
    const common = { file, metadata: info.metadata, compressors: PAGE_DECOMPRESSORS, parsers: TIER_PARSERS };
    return decoding(info, 0, () => parquetScan({ ...common, utf8: false, ...options }));
  }
}

function checkTier(info: TierFileInfo, mismatch: (tier: Tier) => string | null): void {
  const wanted = mismatch(info.tier);
  if (wanted) throw new CorruptionError(info.path, 0, `holds tier ${info.tier}, expected ${wanted}`);
}
