/**
 * The footer of a tier file: parsed once, validated (Parquet magic, `stalker.*` key-value metadata),
 * and cached per file system and path — tier files are immutable, and names are never reused, so a
 * footer never changes under its name. The cache still checks the file size on every open, and
 * {@link evictTierFooter} drops an entry when a file is deleted.
 *
 * A foreign, damaged or truncated file is reported with a {@link CorruptionError} naming the file,
 * never read as empty.
 *
 * @module
 */
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, type ParquetParsers } from "hyparquet";
import { CorruptionError } from "../model/errors.ts";
import { type Tier, TIERS } from "../model/tier.ts";
import type { FileSystem } from "../platform/fs.ts";
import { fileBuffer } from "./buffer.ts";
import { AGG_LAYOUT } from "./agg.ts";
import type { LayoutParams } from "./layout.ts";
import { RAW_LAYOUT } from "./raw.ts";
import { type ColumnSpec, KV_KEYS, TIER_FORMAT, TIER_FORMAT_VERSION } from "./schema.ts";

/** Footers kept in memory per file system (least recently used first out). */
export const FOOTER_CACHE_MAX_ENTRIES = 1024;
/** Bytes read from the end of a file on first open; larger footers need a second read. */
const FOOTER_FETCH_BYTES = 64 * 1024;
const PAR1 = 0x31524150;

/** Timestamps decode to Unix ms numbers (not Dates), in statistics, page indexes and data alike. */
export const TIER_PARSERS: Partial<ParquetParsers> = { timestampFromMilliseconds: (ms: bigint) => Number(ms) };

/** What the footer of a valid tier file says. */
export interface TierFileInfo {
  path: string;
  tier: Tier;
  formatVersion: number;
  /** File size in bytes. */
  bytes: number;
  rows: number;
  rowGroups: number;
  /** Smallest and largest time (raw: `ts`, aggregates: `bucket`), Unix ms. */
  minTs: number;
  maxTs: number;
  createdBy: string;
  /** All key-value metadata. */
  kv: Record<string, string>;
  /** The parsed Parquet footer. */
  metadata: FileMetaData;
}

let caches = new WeakMap<FileSystem, Map<string, TierFileInfo>>();

function cacheOf(fs: FileSystem): Map<string, TierFileInfo> {
  let cache = caches.get(fs);
  if (!cache) caches.set(fs, cache = new Map());
  return cache;
}

/** Forgets the cached footer of `path` (call it when the file is deleted). */
export function evictTierFooter(fs: FileSystem, path: string): void {
  caches.get(fs)?.delete(path);
}

/** Forgets every cached footer. */
export function clearTierFooterCache(): void {
  caches = new WeakMap();
}

/** The validated footer of the tier file `path` of `fs`, from the cache or read through `file`. */
export async function loadTierFooter(fs: FileSystem, path: string, file: AsyncBuffer): Promise<TierFileInfo> {
  const cache = cacheOf(fs);
  const cached = cache.get(path);
  if (cached && cached.bytes === file.byteLength) {
    cache.delete(path); // re-insert: most recently used last
    cache.set(path, cached);
    return cached;
  }
  const info = await parseFooter(path, file);
  cache.set(path, info);
  if (cache.size > FOOTER_CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return info;
}

/**
 * Reads and validates the footer of the tier file `path`.
 *
 * @example
 * ```ts
 * import { MemFs } from "../platform/mem_fs.ts";
 * import { CorruptionError } from "../model/errors.ts";
 * import { readTierFileInfo } from "./footer.ts";
 * const fs = new MemFs();
 * await fs.writeFile("/x.parquet", new TextEncoder().encode("not parquet at all"));
 * const err = await readTierFileInfo(fs, "/x.parquet").catch((e) => e);
 * if (!(err instanceof CorruptionError)) throw new Error("foreign file accepted");
 * ```
 */
export async function readTierFileInfo(fs: FileSystem, path: string): Promise<TierFileInfo> {
  const handle = await fs.open(path, "r");
  try {
    return await loadTierFooter(fs, path, fileBuffer(handle, await handle.size()));
  } finally {
    await handle.close();
  }
}

async function parseFooter(path: string, file: AsyncBuffer): Promise<TierFileInfo> {
  const size = file.byteLength;
  if (size < 12) throw new CorruptionError(path, 0, `too small for a Parquet file (${size} bytes)`);
  if (new DataView(await file.slice(0, 4)).getUint32(0, true) !== PAR1) {
    throw new CorruptionError(path, 0, "not a Parquet file (no PAR1 magic at the start)");
  }
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file, { parsers: TIER_PARSERS, initialFetchSize: FOOTER_FETCH_BYTES });
  } catch (err) {
    if (err instanceof CorruptionError) throw err;
    throw new CorruptionError(path, Math.max(0, size - 8), `damaged Parquet footer: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return describe(path, size, metadata);
}

function describe(path: string, size: number, metadata: FileMetaData): TierFileInfo {
  const footerOffset = Math.max(0, size - 8 - metadata.metadata_length);
  const fail = (message: string) => new CorruptionError(path, footerOffset, message);
  const kv = Object.fromEntries((metadata.key_value_metadata ?? []).map(({ key, value }) => [key, value ?? ""]));
  const { tier, formatVersion } = checkFormat(kv, fail);
  const { rows, minTs, maxTs } = checkCounts(kv, metadata, fail);
  checkColumns(metadata, tier === "raw" ? RAW_LAYOUT.specs : AGG_LAYOUT.specs, fail);
  const rowGroups = metadata.row_groups.length;
  const createdBy = metadata.created_by ?? "";
  return { path, tier, formatVersion, bytes: size, rows, rowGroups, minTs, maxTs, createdBy, kv, metadata };
}

type Fail = (message: string) => CorruptionError;

/** The format, its version and the tier, or a failure for a foreign or newer file. */
function checkFormat(kv: Record<string, string>, fail: Fail): { tier: Tier; formatVersion: number } {
  if (kv[KV_KEYS.format] !== TIER_FORMAT) {
    throw fail(`not a stalker tier file (${KV_KEYS.format} is ${JSON.stringify(kv[KV_KEYS.format] ?? null)})`);
  }
  const formatVersion = Number(kv[KV_KEYS.formatVersion]);
  if (formatVersion !== TIER_FORMAT_VERSION) {
    throw fail(
      `tier format version ${kv[KV_KEYS.formatVersion]} is not supported (this build reads ${TIER_FORMAT_VERSION}); ` +
        "use the stalker-storage version that wrote it",
    );
  }
  const tier = kv[KV_KEYS.tier] as Tier;
  if (!TIERS.includes(tier)) throw fail(`unknown tier ${JSON.stringify(tier ?? null)} in ${KV_KEYS.tier}`);
  return { tier, formatVersion };
}

/** The row count and time range, which the metadata and the footer must agree on. */
function checkCounts(
  kv: Record<string, string>,
  metadata: FileMetaData,
  fail: Fail,
): { rows: number; minTs: number; maxTs: number } {
  const rows = Number(metadata.num_rows);
  if (Number(kv[KV_KEYS.rows]) !== rows) {
    throw fail(`${KV_KEYS.rows} is ${kv[KV_KEYS.rows]} but the footer has ${rows}`);
  }
  const minTs = Number(kv[KV_KEYS.minTs]), maxTs = Number(kv[KV_KEYS.maxTs]);
  if (!Number.isSafeInteger(minTs) || !Number.isSafeInteger(maxTs) || minTs > maxTs) {
    throw fail(`time range ${kv[KV_KEYS.minTs]}..${kv[KV_KEYS.maxTs]} is invalid`);
  }
  return { rows, minTs, maxTs };
}

/** Throws unless every column of the tier's layout is present with its physical type and repetition. */
function checkColumns(
  metadata: FileMetaData,
  specs: (params: LayoutParams) => ColumnSpec[],
  fail: Fail,
): void {
  const elements = new Map(metadata.schema.map((e) => [e.name, e]));
  for (const { element } of specs({ gaugeScale: 0 })) {
    const found = elements.get(element.name);
    if (!found || found.type !== element.type || found.repetition_type !== element.repetition_type) {
      throw fail(`column ${element.name} is missing or not ${element.repetition_type} ${element.type}`);
    }
  }
}
