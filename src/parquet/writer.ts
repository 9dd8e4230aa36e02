/**
 * Writes tier files: Parquet, atomically, one row group at a time (docs/format/tiers.md).
 *
 * A {@link TierWriter} buffers the batches it is given until a row group is full, then encodes it
 * column by column, appending each column chunk to a temporary file and yielding to the event loop
 * after each, so a flush or compaction of millions of rows blocks other work only for as long as one
 * column chunk of 64 Ki rows takes to encode (tens of milliseconds on a 2-core box). `finish()`
 * writes the footer (page indexes, statistics, key-value metadata), fsyncs and renames the file into
 * place; until then, and after `abort()` or any error, nothing is visible under the final name.
 *
 * @module
 */
import type { AggregateTier, Tier } from "../model/tier.ts";
import { type AtomicFile, createAtomicFile } from "../platform/atomic.ts";
import type { FileSystem } from "../platform/fs.ts";
import { dirname } from "../platform/path.ts";
import type { AggColumns, RawColumns } from "./columns.ts";
import { type Compression, parquetCodec } from "./compressors.ts";
import { AGG_LAYOUT } from "./agg.ts";
import type { Batch } from "./batch.ts";
import { DEFAULT_ROW_GROUP_ROWS, TierFileWriter } from "./file_writer.ts";
import { MAX_GAUGE_SCALE } from "./gauge.ts";
import { RAW_LAYOUT } from "./raw.ts";

export { DEFAULT_ROW_GROUP_ROWS };

/** How to write a tier file. */
export interface TierWriterOptions {
  tier: Tier;
  /** Page compression (`features.compression`). */
  compression: Compression;
  /** Extra key-value metadata; keys must not start with `stalker.`. */
  kv?: Record<string, string>;
  /** Rows per row group (default {@link DEFAULT_ROW_GROUP_ROWS}). */
  rowGroupRows?: number;
  /** Target rows per data page (default: raw `RAW_PAGE_ROWS`, aggregates `AGG_PAGE_ROWS`). */
  pageRows?: number;
  /** Raw tier: decimal scale of `gauge_decimal` (0-9); default: the cheapest for the first row group. */
  gaugeScale?: number;
}

/** What a finished tier file holds. */
export interface TierWriteResult {
  path: string;
  /** File size in bytes. */
  bytes: number;
  rows: number;
  rowGroups: number;
  /** Smallest and largest time (raw: `ts`, aggregates: `bucket`), Unix ms. */
  minTs: number;
  maxTs: number;
}

/** A tier file being written. After an error it is aborted: start a new one. */
export interface TierWriter<C> {
  readonly path: string;
  /** Rows accepted so far. */
  readonly rows: number;
  /** Adds rows; they must continue the sort order (namespace, target, poller, time). */
  write(batch: C): Promise<void>;
  /** Writes the rest and the footer, then makes the file durable and visible. Needs at least one row. */
  finish(): Promise<TierWriteResult>;
  /** Drops the file; nothing becomes visible. */
  abort(): Promise<void>;
}

/** Options for a raw tier file. */
export type RawWriterOptions = TierWriterOptions & { tier: "raw" };
/** Options for an aggregate tier file. */
export type AggWriterOptions = TierWriterOptions & { tier: AggregateTier };

/**
 * Starts writing the tier file `path` (its directory is created when missing).
 *
 * @example
 * ```ts
 * import { MemFs } from "../platform/mem_fs.ts";
 * import { createTierWriter } from "./writer.ts";
 * const fs = new MemFs();
 * const writer = await createTierWriter(fs, "/data/raw/date=2026-11-25/raw-000000000001.parquet", {
 *   tier: "raw",
 *   compression: { algorithm: "zstd", level: 3 },
 * });
 * await writer.write({
 *   length: 1, namespace: ["prod"], target: ["r1"], poller: ["cpu"], ts: new Float64Array([1_764_028_800_000]),
 *   kind: new Uint8Array([1]), value: new Float64Array([12.5]), counter: [null], text: [null],
 *   valid: new Uint8Array([1]), error: [null], pollMs: new Int32Array([20]),
 * });
 * const { rows } = await writer.finish();
 * if (rows !== 1) throw new Error("rows");
 * ```
 */
export function createTierWriter(
  fs: FileSystem,
  path: string,
  options: RawWriterOptions,
): Promise<TierWriter<RawColumns>>;
export function createTierWriter(
  fs: FileSystem,
  path: string,
  options: AggWriterOptions,
): Promise<TierWriter<AggColumns>>;
export async function createTierWriter(
  fs: FileSystem,
  path: string,
  options: TierWriterOptions,
): Promise<TierWriter<RawColumns> | TierWriter<AggColumns>> {
  checkOptions(path, options);
  await ensureDir(fs, dirname(path));
  return tierWriterTo(await createAtomicFile(fs, path), options);
}

/** A tier writer into `file`: an atomic file, or any sink with the same interface (encoding in memory). */
export function tierWriterTo(file: AtomicFile, options: RawWriterOptions): TierWriter<RawColumns>;
export function tierWriterTo(file: AtomicFile, options: AggWriterOptions): TierWriter<AggColumns>;
export function tierWriterTo(
  file: AtomicFile,
  options: TierWriterOptions,
): TierWriter<RawColumns> | TierWriter<AggColumns>;
export function tierWriterTo(
  file: AtomicFile,
  options: TierWriterOptions,
): TierWriter<RawColumns> | TierWriter<AggColumns> {
  checkOptions(file.path, options);
  return options.tier === "raw"
    ? new TierFileWriter(RAW_LAYOUT, file, options)
    : new TierFileWriter(AGG_LAYOUT, file, options);
}

/**
 * Writes one batch as a complete tier file (the one-shot form of {@link createTierWriter}).
 *
 * @example
 * ```ts
 * import { MemFs } from "../platform/mem_fs.ts";
 * import { writeTierFile } from "./writer.ts";
 * const fs = new MemFs();
 * const result = await writeTierFile(fs, "/data/5min/date=2026-11-25/5min-000000000002.parquet", {
 *   tier: "5min", compression: { algorithm: "zstd", level: 3 },
 * }, {
 *   length: 1, namespace: ["prod"], target: ["r1"], poller: ["cpu"], bucket: new Float64Array([1_764_028_800_000]),
 *   kind: new Uint8Array([1]), count: new Float64Array([5]), errorCount: new Float64Array([0]),
 *   sum: new Float64Array([50]), min: new Float64Array([8]), max: new Float64Array([12]),
 *   firstTs: new Float64Array([1_764_028_800_000]), lastTs: new Float64Array([1_764_029_040_000]),
 *   p50: new Float64Array([10]), p90: new Float64Array([12]), p95: new Float64Array([12]),
 *   p99: new Float64Array([12]), sketch: [null],
 * });
 * if (result.rows !== 1) throw new Error("rows");
 * ```
 */
export function writeTierFile(
  fs: FileSystem,
  path: string,
  options: RawWriterOptions,
  batch: RawColumns,
): Promise<TierWriteResult>;
export function writeTierFile(
  fs: FileSystem,
  path: string,
  options: AggWriterOptions,
  batch: AggColumns,
): Promise<TierWriteResult>;
export async function writeTierFile(
  fs: FileSystem,
  path: string,
  options: TierWriterOptions,
  batch: RawColumns | AggColumns,
): Promise<TierWriteResult> {
  const writer = await createTierWriter(fs, path, options as RawWriterOptions) as TierWriter<Batch>;
  await writer.write(batch);
  return await writer.finish();
}

function checkOptions(path: string, options: TierWriterOptions): void {
  const { rowGroupRows = DEFAULT_ROW_GROUP_ROWS, pageRows = 1, gaugeScale } = options;
  parquetCodec(options.compression.algorithm);
  if (!Number.isSafeInteger(rowGroupRows) || rowGroupRows < 1) {
    throw new RangeError(`Cannot write ${path}: rowGroupRows ${rowGroupRows} must be a positive integer`);
  }
  if (!Number.isSafeInteger(pageRows) || pageRows < 1) {
    throw new RangeError(`Cannot write ${path}: pageRows ${pageRows} must be a positive integer`);
  }
  if (gaugeScale !== undefined && !(Number.isInteger(gaugeScale) && gaugeScale >= 0 && gaugeScale <= MAX_GAUGE_SCALE)) {
    throw new RangeError(`Cannot write ${path}: gaugeScale ${gaugeScale} must be an integer in 0..${MAX_GAUGE_SCALE}`);
  }
  for (const key of Object.keys(options.kv ?? {})) {
    if (key.startsWith("stalker.")) throw new RangeError(`Cannot write ${path}: key-value key "${key}" is reserved`);
  }
}

/** Creates a missing directory durably (its parent is fsynced). */
async function ensureDir(fs: FileSystem, dir: string): Promise<void> {
  if (await fs.stat(dir)) return;
  await fs.mkdir(dir);
  await fs.fsyncDir(dirname(dir));
}
