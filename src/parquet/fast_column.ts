/**
 * Column chunks written without hyparquet-writer's generic per-value work, as the same bytes it
 * writes (tests compare them), for the two cases that dominated flush CPU time on Bun:
 *
 * - INT64 delta columns (timestamps, counters, decimal gauges, counts). hyparquet-writer delta-packs
 *   every INT64 value through BigInt (its Number path takes only 32-bit values): 1.4 µs per
 *   timestamp, about half of a flush. A chunk whose values all lie within ±2^51 (deltas then stay
 *   exact doubles) is packed here with Number arithmetic; any other chunk goes to hyparquet-writer.
 * - Optional columns with no value at all (texts, errors, fallback doubles, percentiles of text
 *   series): one page of definition levels, without the five passes over a million nulls.
 * - Required dictionary-encoded strings (the identity columns): the rows come sorted, so a value
 *   mostly repeats the previous one; the dictionary, the statistics and the page bounds are worked out
 *   once per run of equal strings instead of once per row (and twice with the page index).
 * - Optional PLAIN doubles (sums, minima, maxima, percentiles; NaN is null) and byte arrays (sketches):
 *   the values of a page are copied in one go instead of one DataView call each.
 *
 * @module
 */
import type { ColumnChunk, OffsetIndex, SchemaElement } from "hyparquet";
import { ByteWriter as PageWriter, type Writer } from "hyparquet-writer";
import { SMALL_COPY } from "../model/bytes.ts";
import {
  type ColumnEncoder,
  type ColumnResult,
  type PageColumnIndex,
  unconvertMinMax,
  writeDictionaryPage,
  writePageHeader,
  writeRleBitPackedHybrid,
} from "./_hyparquet_writer.ts";
import type { DictionaryIds } from "./identity.ts";

const ENCODING = "DELTA_BINARY_PACKED";
const utf8 = new TextEncoder();
/** Largest magnitude written here: deltas (< 2^52) and their zigzag forms (< 2^53) stay exact. */
const SAFE = 2 ** 51;
const BLOCK_SIZE = 128;
const MINIBLOCKS = 4;
const MINIBLOCK_VALUES = BLOCK_SIZE / MINIBLOCKS;

/**
 * hyparquet-writer's `ByteWriter` for page bodies, without its per-call costs: bytes are set through
 * one `Uint8Array` view instead of a new view (or a `DataView` call) per append. A page's levels and
 * values are compressed and copied into the file before the next page is encoded, so three of them
 * (levels, values, a run buffer) serve every page of every column: `pageBuffer(k)`.
 */
class PageBuffer extends PageWriter {
  bytes = new Uint8Array(this.buffer);

  override ensure(size: number): void {
    if (this.index + size <= this.bytes.length) return; // not `buffer.byteLength`: a slow getter on Bun
    super.ensure(size);
    this.bytes = new Uint8Array(this.buffer);
  }

  override appendUint8(value: number): void {
    this.ensure(1);
    this.bytes[this.index++] = value;
    this.offset++;
  }

  override appendBytes(value: Uint8Array): void {
    const n = value.length;
    this.ensure(n);
    if (n > SMALL_COPY) this.bytes.set(value, this.index);
    else for (let i = 0, b = this.bytes, at = this.index; i < n; i++) b[at + i] = value[i];
    this.index += n;
    this.offset += n;
  }
}

const PAGE_BUFFERS = [new PageBuffer(1 << 16), new PageBuffer(1 << 16), new PageBuffer(1 << 16)];
const LEVELS = 0, VALUES = 1, RUNS = 2;

/**
 * Grow-only scratch arrays of the column writers, by slot: `scratch(ARRAYS, slot, n)` is valid until
 * the same slot is taken again. A column chunk is written synchronously, so one chunk's arrays are
 * never another's; allocating them per chunk (fresh, zeroed memory of a few hundred KB each) cost
 * more than the work done with them on Bun, and left the garbage that the flush encoder collects.
 * Not zeroed: a writer sets every element it reads.
 */
const INT32: Int32Array[] = [], UINT8: Uint8Array[] = [], FLOAT64: Float64Array[] = [];
const INDEXES = 0, RANKS = 1, ENTRY_OF = 2, PRESENT = 0, SCRATCH = 0, SIZES = 1;

function scratch<A extends Int32Array | Uint8Array | Float64Array>(
  pool: A[],
  slot: number,
  n: number,
): A {
  let a = pool[slot];
  if (a === undefined || a.length < n) {
    const ctor = (pool === INT32 ? Int32Array : pool === UINT8 ? Uint8Array : Float64Array) as unknown as new (
      n: number,
    ) => A;
    a = pool[slot] = new ctor(Math.max(n, 2 * (a?.length ?? 0), 1024));
  }
  return a.subarray(0, n) as A;
}

/** Scratch buffer `k`, emptied: valid until the next page is encoded. */
function pageBuffer(k: number): PageBuffer {
  const b = PAGE_BUFFERS[k];
  b.index = 0;
  b.offset = 0;
  return b;
}

/**
 * The values of an INT64 column as doubles (integers; for DECIMAL the unscaled values), with
 * `present[i] === 0` marking a null (`present` null: no nulls).
 */
export class Int64Values {
  constructor(readonly values: Float64Array, readonly present: Uint8Array | null = null) {}

  /** As hyparquet-writer takes them: a bigint or null per row. */
  toBigInts(): (bigint | null)[] {
    const out = new Array<bigint | null>(this.values.length);
    for (let i = 0; i < out.length; i++) out[i] = this.present && !this.present[i] ? null : BigInt(this.values[i]);
    return out;
  }
}

/**
 * Writes `data` as one INT64 DELTA_BINARY_PACKED column chunk, as hyparquet-writer's `writeColumn`
 * would (same pages, statistics and page indexes). Returns null, writing nothing, when a value is not
 * an integer within ±2^51.
 */
export function writeInt64DeltaColumn(writer: Writer, column: ColumnEncoder, data: Int64Values): ColumnResult | null {
  const { values, present } = data;
  const { element } = column;
  let min = Infinity, max = -Infinity, nulls = 0;
  for (let i = 0; i < values.length; i++) {
    if (present && !present[i]) {
      nulls++;
      continue;
    }
    const v = values[i];
    if (!(v >= -SAFE && v <= SAFE) || !Number.isInteger(v)) return null;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (nulls > 0 && element.repetition_type === "REQUIRED") {
    throw new TypeError(`column ${column.columnName}: null in a required column`);
  }
  const optional = element.repetition_type !== "REQUIRED";
  const pages = pageBoundaries(values.length, present, column.pageSize ?? 0, 8);
  const packed = scratch(FLOAT64, SCRATCH, maxPageLength(pages));
  const written = writePages<number>(writer, column, pages, {
    encoding: ENCODING,
    compare: (a, b) => a - b,
    boundBytes: int64Bytes,
    page(start, end) {
      const levels = pageBuffer(LEVELS);
      let defLength = 0, n = 0, min = Infinity, max = -Infinity;
      if (optional) defLength = writeRleBitPackedHybrid(levels, definitionLevels(present, start, end), 1);
      for (let i = start; i < end; i++) {
        if (present && !present[i]) continue;
        const v = values[i];
        packed[n++] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const page = pageBuffer(VALUES);
      deltaPack(page, packed, n);
      return { levels, defLength, values: page, nulls: end - start - n, bounds: n === 0 ? null : { min, max } };
    },
  });
  const statistics = {
    min_value: nulls === values.length ? undefined : BigInt(min),
    max_value: nulls === values.length ? undefined : BigInt(max),
    null_count: BigInt(nulls),
    nan_count: undefined,
  };
  return finishChunk(column, ENCODING, values.length, written, statistics);
}

/**
 * Writes a required UTF-8 column as RLE_DICTIONARY, as hyparquet-writer's `writeColumn` would (same
 * dictionary order, pages, statistics and page indexes). Returns null, writing nothing, when a value
 * is not a string.
 */
export function writeDictionaryStringColumn(
  writer: Writer,
  column: ColumnEncoder,
  values: ArrayLike<unknown>,
): ColumnResult | null {
  const n = values.length;
  if (n === 0 || column.element.repetition_type !== "REQUIRED") return null;
  const indexes = scratch(INT32, INDEXES, n);
  const dictionary: string[] = [];
  const indexOf = new Map<string, number>();
  let prev: unknown = undefined, prevIndex = -1;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== prev) {
      if (typeof v !== "string") return null;
      let k = indexOf.get(v);
      if (k === undefined) {
        k = dictionary.length;
        dictionary.push(v);
        indexOf.set(v, k);
      }
      prev = v;
      prevIndex = k;
    }
    indexes[i] = prevIndex;
  }
  // bounds by the entries' UTF-8 order, sorted once: a page's are then integer comparisons of ranks
  const byOrder = dictionary.map((_, k) => k).sort((a, b) => compareUtf8(dictionary[a], dictionary[b]));
  const rank = scratch(INT32, RANKS, dictionary.length);
  for (let r = 0; r < byOrder.length; r++) rank[byOrder[r]] = r;
  const bytes = dictionary.map((d) => utf8.encode(d));
  return writeStringDictionaryChunk(writer, column, indexes, { bytes, rank, atRank: (r) => dictionary[byOrder[r]] });
}

/**
 * Writes an identity column given as string ids ({@link DictionaryIds}: the flush's interned names)
 * as RLE_DICTIONARY, as {@link writeDictionaryStringColumn} writes the same strings: the dictionary
 * in first-seen order from an array indexed by id, each entry's UTF-8 bytes and order from the
 * interned table (encoded and sorted once per flush), no string hashed or compared per row.
 */
export function writeDictionaryIdsColumn(
  writer: Writer,
  column: ColumnEncoder,
  data: DictionaryIds,
): ColumnResult | null {
  const { series, strings } = data;
  const { ids } = strings;
  const n = series.length;
  if (n === 0 || column.element.repetition_type !== "REQUIRED") return null;
  const indexes = scratch(INT32, INDEXES, n);
  const entryOf = scratch(INT32, ENTRY_OF, strings.strings.length).fill(-1);
  const entries: number[] = [];
  let prev = -1, prevIndex = -1;
  for (let i = 0; i < n; i++) {
    const id = ids[series[i]];
    if (id !== prev) {
      let k = entryOf[id];
      if (k < 0) {
        k = entryOf[id] = entries.length;
        entries.push(id);
      }
      prev = id;
      prevIndex = k;
    }
    indexes[i] = prevIndex;
  }
  const globalRank = strings.rank(), byRank = strings.byRank();
  const rank = scratch(INT32, RANKS, entries.length);
  for (let k = 0; k < entries.length; k++) rank[k] = globalRank[entries[k]];
  const bytes = entries.map((id) => strings.utf8(id));
  return writeStringDictionaryChunk(writer, column, indexes, {
    bytes,
    rank,
    atRank: (r) => strings.strings[byRank[r]],
  });
}

/** A column chunk's dictionary of strings: its entries' bytes, and their UTF-8 order for the bounds. */
interface StringDictionary {
  /** Each entry's UTF-8 bytes, in first-seen order. */
  bytes: Uint8Array[];
  /** Each entry's rank: integers in the entries' UTF-8 byte order. */
  rank: Int32Array;
  /** The string of rank `r`. */
  atRank(r: number): string;
}

/** The dictionary page and the data pages of dictionary `indexes`, with statistics and page bounds. */
function writeStringDictionaryChunk(
  writer: Writer,
  column: ColumnEncoder,
  indexes: Int32Array,
  dictionary: StringDictionary,
): ColumnResult {
  const n = indexes.length;
  const { rank, atRank } = dictionary;
  const dictionaryPageOffset = BigInt(writer.offset);
  const dictionaryBytes = writeDictionaryPage(writer, column, dictionary.bytes);
  const pages = pageBoundaries(n, null, column.pageSize ?? 0, 4); // 4 estimated bytes per index
  let min = Infinity, max = -Infinity;
  const written = writePages<string>(writer, column, pages, {
    encoding: "RLE_DICTIONARY",
    compare: compareUtf8,
    boundBytes: (v, isMax) => unconvertMinMax(v, column.element, isMax, column.statisticsTruncateLength)!,
    page(start, end) {
      let pageMin = Infinity, pageMax = -Infinity, prev = -1;
      for (let i = start; i < end; i++) {
        const k = indexes[i];
        if (k === prev) continue;
        prev = k;
        const r = rank[k];
        if (r < pageMin) pageMin = r;
        if (r > pageMax) pageMax = r;
      }
      if (pageMin < min) min = pageMin;
      if (pageMax > max) max = pageMax;
      return { ...dictionaryIndexPage(indexes, start, end), bounds: { min: atRank(pageMin), max: atRank(pageMax) } };
    },
  });
  const statistics = { min_value: atRank(min), max_value: atRank(max), null_count: 0n, nan_count: undefined };
  return dictionaryChunk(column, n, written, dictionaryPageOffset, dictionaryBytes, statistics);
}

/**
 * Writes a required INT32 column as RLE_DICTIONARY (`kind`), as hyparquet-writer's `writeColumn`
 * would: the dictionary in first-seen order, pages of about `pageSize` bytes at 4 per index. Returns
 * null, writing nothing, when the column asks for a column index.
 */
export function writeInt32DictionaryColumn(
  writer: Writer,
  column: ColumnEncoder,
  values: Int32Array,
): ColumnResult | null {
  const n = values.length;
  const { element } = column;
  if (n === 0 || element.repetition_type !== "REQUIRED" || element.type !== "INT32" || column.columnIndex) return null;
  const indexes = scratch(INT32, INDEXES, n);
  const dictionary: number[] = [];
  const indexOf = new Map<number, number>();
  let prev = NaN, prevIndex = -1, min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== prev) {
      let k = indexOf.get(v);
      if (k === undefined) {
        k = dictionary.length;
        dictionary.push(v);
        indexOf.set(v, k);
        if (v < min) min = v;
        if (v > max) max = v;
      }
      prev = v;
      prevIndex = k;
    }
    indexes[i] = prevIndex;
  }
  const dictionaryPageOffset = BigInt(writer.offset);
  const dictionaryBytes = writeDictionaryPage(writer, column, dictionary);
  const pages = pageBoundaries(n, null, column.pageSize ?? 0, 4);
  const written = writePages<number>(writer, column, pages, {
    encoding: "RLE_DICTIONARY",
    page: (start, end) => ({ ...dictionaryIndexPage(indexes, start, end), bounds: null }),
  });
  const statistics = { min_value: min === 0 ? -0 : min, max_value: max, null_count: 0n, nan_count: undefined };
  return dictionaryChunk(column, n, written, dictionaryPageOffset, dictionaryBytes, statistics);
}

/** One data page of dictionary indexes: the bit width, then the indexes RLE/bit-packed. */
function dictionaryIndexPage(indexes: Int32Array, start: number, end: number): EncodedPage<never> {
  let maxIndex = 0;
  for (let i = start; i < end; i++) if (indexes[i] > maxIndex) maxIndex = indexes[i];
  const page = pageBuffer(VALUES);
  const bitWidth = Math.ceil(Math.log2(maxIndex + 1));
  page.appendUint8(bitWidth);
  writeRleBitPackedHybrid(page, indexes.subarray(start, end), bitWidth);
  return { levels: pageBuffer(LEVELS), defLength: 0, values: page, nulls: 0 };
}

/** The chunk metadata of a dictionary-encoded column: its dictionary page first, then the data pages. */
function dictionaryChunk(
  column: ColumnEncoder,
  n: number,
  written: WrittenPages,
  dictionaryPageOffset: bigint,
  dictionaryBytes: number,
  statistics: Record<string, unknown>,
): ColumnResult {
  written.start = Number(dictionaryPageOffset);
  written.uncompressedSize += dictionaryBytes;
  const chunk = finishChunk(column, "RLE_DICTIONARY", n, written, statistics).chunk;
  chunk.meta_data!.encodings = ["PLAIN", "RLE_DICTIONARY"];
  chunk.meta_data!.dictionary_page_offset = dictionaryPageOffset;
  if (column.stats) {
    chunk.meta_data!.encoding_stats = [
      { page_type: "DICTIONARY_PAGE", encoding: "PLAIN", count: 1 },
      { page_type: "DATA_PAGE_V2", encoding: "RLE_DICTIONARY", count: written.pages },
    ];
  }
  return { chunk, columnIndex: written.columnIndex, offsetIndex: written.offsetIndex } as ColumnResult;
}

/** The values of a required BOOLEAN column as bytes, 0 (false) or 1 (true). */
export class BooleanValues {
  constructor(readonly values: Uint8Array) {}

  /** As hyparquet-writer takes them. */
  toBooleans(): boolean[] {
    return Array.from(this.values, (v) => v !== 0);
  }
}

/**
 * Writes a required BOOLEAN column RLE (`valid`), as hyparquet-writer's `writeColumn` would for more
 * than 16 values (pages of about `pageSize` bytes at an eighth of a byte per value). Returns null,
 * writing nothing, for 16 values or fewer (written PLAIN) or when the column asks for a column index.
 */
export function writeBooleanColumn(writer: Writer, column: ColumnEncoder, data: BooleanValues): ColumnResult | null {
  let { values } = data;
  const n = values.length;
  const { element } = column;
  if (n <= 16 || element.repetition_type !== "REQUIRED" || element.type !== "BOOLEAN") return null;
  if ((column.encoding ?? "RLE") !== "RLE" || column.columnIndex) return null;
  let trues = 0, bits = true;
  for (let i = 0; i < n; i++) {
    if (values[i] !== 0) trues++;
    if (values[i] > 1) bits = false;
  }
  if (!bits) values = values.map((v) => (v !== 0 ? 1 : 0)); // any non-zero byte is true
  const pages = pageBoundaries(n, null, column.pageSize ?? 0, 0.125);
  const written = writePages<never>(writer, column, pages, {
    encoding: "RLE",
    page(start, end) {
      const rle = pageBuffer(RUNS);
      writeRleBitPackedHybrid(rle, values.subarray(start, end), 1);
      const page = pageBuffer(VALUES);
      page.appendUint32(rle.offset); // the byte length of the runs
      page.appendBytes(rle.getBytes());
      return { levels: pageBuffer(LEVELS), defLength: 0, values: page, nulls: 0 };
    },
  });
  const statistics = { min_value: trues === n, max_value: trues > 0, null_count: 0n, nan_count: undefined };
  return finishChunk(column, "RLE", n, written, statistics);
}

/**
 * Writes a required INT32 column PLAIN (`poll_ms`), as hyparquet-writer's `writeColumn` would: the
 * values' bytes copied a page at a time. Returns null, writing nothing, on a big-endian machine or when
 * the column asks for a column index.
 */
export function writeInt32PlainColumn(writer: Writer, column: ColumnEncoder, values: Int32Array): ColumnResult | null {
  const n = values.length;
  const { element } = column;
  if (!LITTLE_ENDIAN || n === 0 || element.repetition_type !== "REQUIRED" || element.type !== "INT32") return null;
  if (column.encoding !== "PLAIN" || column.columnIndex) return null;
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const pages = pageBoundaries(n, null, column.pageSize ?? 0, 4);
  const written = writePages<never>(writer, column, pages, {
    encoding: "PLAIN",
    page(start, end) {
      const page = pageBuffer(VALUES);
      page.appendBytes(new Uint8Array(values.buffer, values.byteOffset + start * 4, (end - start) * 4));
      return { levels: pageBuffer(LEVELS), defLength: 0, values: page, nulls: 0 };
    },
  });
  const statistics = {
    min_value: min === 0 ? -0 : min,
    max_value: max === 0 ? 0 : max,
    null_count: 0n,
    nan_count: undefined,
  };
  return finishChunk(column, "PLAIN", n, written, statistics);
}

/**
 * Compares strings in UTF-8 byte order (code point order), as hyparquet-writer's statistics do: JS
 * `<` compares UTF-16 code units, which misorders characters above U+FFFF against U+E000..U+FFFF.
 * Lone surrogates compare as U+FFFD, as TextEncoder writes them.
 */
function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i > 0) {
    const prev = a.charCodeAt(i - 1);
    if (prev >= 0xd800 && prev <= 0xdbff) i--; // the difference is in the low half of a pair
  }
  while (i < a.length && i < b.length) {
    const x = codePoint(a, i), y = codePoint(b, i);
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

function codePoint(s: string, i: number): number {
  const c = s.codePointAt(i) ?? 0xfffd;
  return c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
}

/** Doubles of an optional column, NaN meaning null. */
export class DoubleValues {
  constructor(readonly values: Float64Array) {}

  /** As hyparquet-writer takes them: a number or null per row. */
  toNullable(): (number | null)[] {
    const out = new Array<number | null>(this.values.length);
    for (let i = 0; i < out.length; i++) out[i] = Number.isNaN(this.values[i]) ? null : this.values[i];
    return out;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/**
 * Writes an optional DOUBLE column PLAIN, as hyparquet-writer's `writeColumn` would given the values
 * with nulls for NaN. Returns null, writing nothing, on a big-endian machine.
 */
export function writeDoubleColumn(writer: Writer, column: ColumnEncoder, data: DoubleValues): ColumnResult | null {
  if (!LITTLE_ENDIAN || column.element.repetition_type !== "OPTIONAL" || column.element.type !== "DOUBLE") return null;
  if ((column.encoding ?? "PLAIN") !== "PLAIN" || column.columnIndex) return null;
  const { values } = data;
  const n = values.length;
  const present = scratch(UINT8, PRESENT, n);
  let nulls = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v) {
      present[i] = 0;
      nulls++;
      continue;
    }
    present[i] = 1;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const pages = pageBoundaries(n, present, column.pageSize ?? 0, 8);
  const packed = scratch(FLOAT64, SCRATCH, maxPageLength(pages));
  const written = writePages(writer, column, pages, {
    encoding: "PLAIN",
    page(start, end) {
      const levels = pageBuffer(LEVELS);
      const defLength = writeRleBitPackedHybrid(levels, present.subarray(start, end), 1);
      let k = 0;
      for (let i = start; i < end; i++) if (present[i]) packed[k++] = values[i];
      const page = pageBuffer(VALUES);
      page.appendBytes(new Uint8Array(packed.buffer, 0, k * 8));
      return { levels, defLength, values: page, nulls: end - start - k };
    },
  });
  const some = nulls < n;
  const statistics = {
    min_value: some ? (min === 0 ? -0 : min) : undefined, // signed zero as hyparquet-writer normalizes it
    max_value: some ? (max === 0 ? 0 : max) : undefined,
    null_count: BigInt(nulls),
    nan_count: 0n,
  };
  return finishChunk(column, "PLAIN", n, written, statistics);
}

/**
 * Writes an optional BYTE_ARRAY column PLAIN (the sketches), as hyparquet-writer's `writeColumn` would.
 * Returns null, writing nothing, when a value is neither bytes nor null.
 */
export function writeBytesColumn(
  writer: Writer,
  column: ColumnEncoder,
  values: ArrayLike<unknown>,
): ColumnResult | null {
  if (column.element.repetition_type !== "OPTIONAL" || column.element.type !== "BYTE_ARRAY") return null;
  if (column.encoding !== "PLAIN" || column.columnIndex || column.element.converted_type) return null;
  const n = values.length;
  const present = scratch(UINT8, PRESENT, n);
  const sizes = scratch(FLOAT64, SIZES, n);
  let nulls = 0;
  let min: Uint8Array | undefined, max: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      present[i] = 0;
      nulls++;
      continue;
    }
    if (!(v instanceof Uint8Array)) return null;
    present[i] = 1;
    sizes[i] = v.length;
    if (min === undefined || compareBytes(v, min) < 0) min = v;
    if (max === undefined || compareBytes(v, max) > 0) max = v;
  }
  const pages = pageBoundaries(n, present, column.pageSize ?? 0, sizes);
  const written = writePages(writer, column, pages, {
    encoding: "PLAIN",
    page(start, end) {
      const levels = pageBuffer(LEVELS);
      const defLength = writeRleBitPackedHybrid(levels, present.subarray(start, end), 1);
      let bytes = 0, k = 0;
      for (let i = start; i < end; i++) if (present[i]) bytes += 4 + sizes[i];
      const page = pageBuffer(VALUES);
      for (let i = start; i < end; i++) {
        if (!present[i]) continue;
        const v = values[i] as Uint8Array;
        page.appendUint32(v.length);
        page.appendBytes(v);
        k++;
      }
      return { levels, defLength, values: page, nulls: end - start - k };
    },
  });
  const statistics = { min_value: min, max_value: max, null_count: BigInt(nulls), nan_count: undefined };
  return finishChunk(column, "PLAIN", n, written, statistics);
}

/** Rows [start, end) of a column chunk that go to one page. */
interface Page {
  start: number;
  end: number;
}

/** One page's encoded parts: definition levels, values, nulls, and its bounds for a column index. */
interface EncodedPage<T> {
  levels: PageWriter;
  defLength: number;
  values: PageWriter;
  nulls: number;
  /** The page's smallest and largest value (null: no value); needed only with a column index. */
  bounds?: { min: T; max: T } | null;
}

/** What differs between physical types: how a page is encoded, and how its bounds compare and serialize. */
interface PageStrategy<T> {
  encoding: string;
  page(start: number, end: number): EncodedPage<T>;
  compare?(a: T, b: T): number;
  boundBytes?(v: T, isMax: boolean): Uint8Array;
}

/** What the page loop wrote: where the chunk starts, its sizes, and its page indexes. */
interface WrittenPages {
  /** The chunk's first and past-the-last byte in the file. */
  start: number;
  end: number;
  dataPageOffset: bigint;
  uncompressedSize: number;
  pages: number;
  columnIndex?: PageColumnIndex;
  offsetIndex?: OffsetIndex;
}

/**
 * The one page loop: writes each page the strategy encodes, and keeps the offset index and (when the
 * column asks for one and the strategy has bounds) the column index, as `writeColumn` does.
 */
function writePages<T>(writer: Writer, column: ColumnEncoder, pages: Page[], s: PageStrategy<T>): WrittenPages {
  const indexes = pageIndexes(column, pages.length);
  const columnIndex = s.compare && s.boundBytes ? indexes.columnIndex : undefined;
  const start = writer.offset;
  let uncompressedSize = 0;
  let ascending = true, descending = true, prev: { min: T; max: T } | null = null;
  for (const { start: first, end } of pages) {
    const pageOffset = writer.offset;
    const p = s.page(first, end);
    uncompressedSize += writePage(writer, column, p.levels, p.defLength, p.values, end - first, p.nulls, s.encoding);
    if (columnIndex) {
      const b = p.bounds ?? null;
      columnIndex.null_pages.push(b === null);
      columnIndex.min_values.push(b === null ? new Uint8Array() : s.boundBytes!(b.min, false));
      columnIndex.max_values.push(b === null ? new Uint8Array() : s.boundBytes!(b.max, true));
      columnIndex.null_counts!.push(BigInt(p.nulls));
      if (b !== null) {
        if (prev !== null) {
          const dMin = s.compare!(prev.min, b.min), dMax = s.compare!(prev.max, b.max);
          if (dMin > 0 || dMax > 0) ascending = false;
          if (dMin < 0 || dMax < 0) descending = false;
        }
        prev = b;
      }
    }
    locatePage(indexes.offsetIndex, writer, pageOffset, first);
  }
  if (columnIndex) columnIndex.boundary_order = ascending ? "ASCENDING" : descending ? "DESCENDING" : "UNORDERED";
  return {
    start,
    end: writer.offset,
    dataPageOffset: BigInt(start),
    uncompressedSize,
    pages: pages.length,
    columnIndex,
    offsetIndex: indexes.offsetIndex,
  };
}

/** The result `writeColumn` returns for the pages written. */
function finishChunk(
  column: ColumnEncoder,
  encoding: string,
  numValues: number,
  w: WrittenPages,
  statistics: Record<string, unknown>,
): ColumnResult {
  const chunk = chunkOf(column, encoding, numValues, w.start, w.end, w.uncompressedSize, w.pages, {
    dataPageOffset: w.dataPageOffset,
    statistics,
  });
  return { chunk, columnIndex: w.columnIndex, offsetIndex: w.offsetIndex } as ColumnResult;
}

/** Empty page indexes as `writeColumn` starts them: only for a column of several pages, if asked for. */
function pageIndexes(
  column: ColumnEncoder,
  pages: number,
): { columnIndex?: PageColumnIndex; offsetIndex?: OffsetIndex } {
  const several = pages > 1;
  return {
    columnIndex: column.columnIndex && several
      ? {
        null_pages: [],
        min_values: [],
        max_values: [],
        boundary_order: "UNORDERED",
        null_counts: [],
        nan_counts: undefined,
      }
      : undefined,
    offsetIndex: column.offsetIndex && several ? { page_locations: [] } : undefined,
  };
}

/** Records a page just written (from `pageOffset`, first row `start`) in the offset index, if any. */
function locatePage(index: OffsetIndex | undefined, writer: Writer, pageOffset: number, start: number): void {
  index?.page_locations.push({
    offset: BigInt(pageOffset),
    compressed_page_size: writer.offset - pageOffset,
    first_row_index: BigInt(start),
  });
}

/** Unsigned lexicographic order of byte arrays (Parquet's order for BYTE_ARRAY bounds). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** An optional column with no value in any of its `length` rows (no array of nulls to build and scan). */
export class NullValues {
  constructor(readonly length: number) {}

  /** As hyparquet-writer takes them. */
  toNulls(): null[] {
    return new Array<null>(this.length).fill(null);
  }
}

/** Whether `values` holds nulls (or undefined) only. */
export function allNull(values: ArrayLike<unknown>): boolean {
  if (ArrayBuffer.isView(values)) return false;
  for (let i = 0; i < values.length; i++) if (values[i] !== null && values[i] !== undefined) return false;
  return true;
}

/**
 * Writes an optional column whose `length` values are all null, as hyparquet-writer's `writeColumn`
 * would: one page of definition levels and no values (PLAIN, or the column's own non-dictionary
 * encoding), statistics with the null count only. Returns null, writing nothing, for an encoding the
 * tier layouts do not use with nulls.
 */
export function writeNullColumn(writer: Writer, column: ColumnEncoder, length: number): ColumnResult | null {
  const { element } = column;
  if (element.repetition_type === "REQUIRED") {
    throw new TypeError(`column ${column.columnName}: null in a required column`);
  }
  const encoding = column.encoding && column.encoding !== "RLE_DICTIONARY"
    ? column.encoding
    : element.type === "BOOLEAN" && length > 16
    ? "RLE"
    : "PLAIN";
  if (encoding !== "PLAIN" && encoding !== "RLE" && encoding !== ENCODING) return null;
  const written = writePages(writer, column, [{ start: 0, end: length }], {
    encoding,
    page() {
      const levels = pageBuffer(LEVELS);
      const defLength = writeRleBitPackedHybrid(levels, scratch(UINT8, PRESENT, length).fill(0), 1);
      const page = pageBuffer(VALUES);
      if (encoding === ENCODING) deltaPack(page, new Float64Array(0), 0);
      else if (encoding === "RLE") page.appendUint32(0); // the byte length of no values
      return { levels, defLength, values: page, nulls: length };
    },
  });
  const isFloat = element.type === "FLOAT" || element.type === "DOUBLE";
  const statistics = {
    min_value: undefined,
    max_value: undefined,
    null_count: BigInt(length),
    nan_count: isFloat ? 0n : undefined,
  };
  return finishChunk(column, encoding, length, written, statistics);
}

/** Writes one DATA_PAGE_V2 (levels, then the compressed values); returns its uncompressed size with the header. */
function writePage(
  writer: Writer,
  column: ColumnEncoder,
  levels: PageWriter,
  defLength: number,
  page: PageWriter,
  numValues: number,
  numNulls: number,
  encoding: string,
): number {
  const raw = page.getBytes();
  const compressors = column.compressors as Record<string, ((b: Uint8Array) => Uint8Array) | undefined>;
  const compressed = compressors[column.codec ?? "UNCOMPRESSED"]?.(raw) ?? raw;
  const headerStart = writer.offset;
  writePageHeader(writer, {
    type: "DATA_PAGE_V2",
    uncompressed_page_size: levels.offset + page.offset,
    compressed_page_size: levels.offset + compressed.length,
    data_page_header_v2: {
      num_values: numValues,
      num_nulls: numNulls,
      num_rows: numValues,
      encoding,
      definition_levels_byte_length: defLength,
      repetition_levels_byte_length: 0,
      is_compressed: !!column.codec,
    },
  } as never);
  const headerSize = writer.offset - headerStart;
  writer.appendBytes(levels.getBytes());
  writer.appendBytes(compressed);
  return headerSize + levels.offset + page.offset;
}

/** The chunk metadata `writeColumn` returns (no dictionary). */
function chunkOf(
  column: ColumnEncoder,
  encoding: string,
  numValues: number,
  start: number,
  end: number,
  uncompressedSize: number,
  pages: number,
  { dataPageOffset, statistics }: { dataPageOffset: bigint; statistics: Record<string, unknown> },
): ColumnChunk {
  return {
    meta_data: {
      type: column.element.type,
      encodings: [encoding],
      path_in_schema: column.schemaPath.slice(1).map((s: SchemaElement) => s.name),
      codec: column.codec ?? "UNCOMPRESSED",
      num_values: BigInt(numValues),
      total_compressed_size: BigInt(end - start),
      total_uncompressed_size: BigInt(uncompressedSize),
      data_page_offset: dataPageOffset,
      dictionary_page_offset: undefined,
      statistics: column.stats ? statistics : undefined,
      encoding_stats: column.stats ? [{ page_type: "DATA_PAGE_V2", encoding, count: pages }] : undefined,
      geospatial_statistics: undefined,
    },
    file_offset: BigInt(start),
  } as ColumnChunk;
}

/**
 * Pages as hyparquet-writer cuts them: about `pageSize` estimated bytes of values each (`valueBytes`
 * per non-null value, or `valueBytes[i]` for value `i`; a page ends before the value that reaches the
 * size).
 */
function pageBoundaries(
  length: number,
  present: Uint8Array | null,
  pageSize: number,
  valueBytes: number | Float64Array,
): Page[] {
  if (!pageSize) return [{ start: 0, end: length }];
  const out = [];
  const fixed = typeof valueBytes === "number" ? valueBytes : 0;
  const sizes = typeof valueBytes === "number" ? null : valueBytes;
  let start = 0, bytes = 0;
  for (let i = 0; i < length; i++) {
    const size = present && !present[i] ? 0 : sizes ? sizes[i] : fixed;
    bytes += size;
    if (bytes >= pageSize && i > start) {
      out.push({ start, end: i });
      start = i;
      bytes = size;
    }
  }
  if (start < length) out.push({ start, end: length });
  return out;
}

function maxPageLength(pages: Page[]): number {
  let max = 0;
  for (const p of pages) max = Math.max(max, p.end - p.start);
  return max;
}

function definitionLevels(present: Uint8Array | null, start: number, end: number): Uint8Array {
  if (present) return present.subarray(start, end);
  return new Uint8Array(end - start).fill(1);
}

function int64Bytes(v: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(v), true);
  return out;
}

/** deltaPack's per-block scratch (its bytes are copied into the page before the next block). */
const DELTA_SCRATCH = {
  deltas: new Float64Array(BLOCK_SIZE),
  widths: new Uint8Array(MINIBLOCKS),
  packedBuffers: [] as Uint8Array[],
};

/** DELTA_BINARY_PACKED of `values[0, n)` (block 128, 4 miniblocks of 32), as hyparquet-writer writes it. */
function deltaPack(w: PageWriter, values: Float64Array, n: number): void {
  w.appendVarInt(BLOCK_SIZE);
  w.appendVarInt(MINIBLOCKS);
  w.appendVarInt(n);
  appendZigZag(w, n === 0 ? 0 : values[0]);
  const { deltas, widths, packedBuffers } = DELTA_SCRATCH;
  for (let index = 1; index < n;) {
    const blockEnd = Math.min(index + BLOCK_SIZE, n);
    const size = blockEnd - index;
    let minDelta = Infinity;
    for (let i = 0; i < size; i++) {
      const d = values[index + i] - values[index + i - 1];
      deltas[i] = d;
      if (d < minDelta) minDelta = d;
    }
    appendZigZag(w, minDelta);
    for (let mb = 0; mb < MINIBLOCKS; mb++) {
      let maxAdjusted = 0;
      for (let i = mb * MINIBLOCK_VALUES; i < Math.min((mb + 1) * MINIBLOCK_VALUES, size); i++) {
        const a = deltas[i] - minDelta;
        if (a > maxAdjusted) maxAdjusted = a;
      }
      widths[mb] = bitWidth(maxAdjusted);
    }
    w.appendBytes(widths);
    for (let mb = 0; mb < MINIBLOCKS; mb++) {
      const width = widths[mb];
      if (width === 0) continue;
      const first = mb * MINIBLOCK_VALUES;
      const packed = packedBuffers[width] ??= new Uint8Array(width * 4); // 32 values of `width` bits
      let byte = 0, buffer = 0, used = 0;
      if (width <= 24) {
        for (let i = 0; i < MINIBLOCK_VALUES; i++) {
          buffer |= (first + i < size ? deltas[first + i] - minDelta : 0) << used; // < 2^31: no sign trouble
          used += width;
          while (used >= 8) {
            packed[byte++] = buffer & 0xff;
            buffer >>>= 8;
            used -= 8;
          }
        }
      } else {
        for (let i = 0; i < MINIBLOCK_VALUES; i++) {
          let a = first + i < size ? deltas[first + i] - minDelta : 0;
          // `width` bits in pieces of at most 24 (the 32-bit buffer holds fewer than 8 pending bits)
          for (let left = width; left > 0;) {
            const take = left > 24 ? 24 : left;
            const piece = a % 2 ** take;
            a = (a - piece) / 2 ** take;
            buffer |= piece << used;
            used += take;
            left -= take;
            while (used >= 8) {
              packed[byte++] = buffer & 0xff;
              buffer >>>= 8;
              used -= 8;
            }
          }
        }
      }
      w.appendBytes(packed);
    }
    index = blockEnd;
  }
}

function bitWidth(v: number): number {
  if (v < 2 ** 32) return 32 - Math.clz32(v);
  let bits = 0;
  while (v >= 1) {
    bits++;
    v = Math.floor(v / 2);
  }
  return bits;
}

/** Zigzag varint of a safe integer. */
function appendZigZag(w: PageWriter, v: number): void {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  while (z >= 0x80) {
    w.appendUint8((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  w.appendUint8(z);
}
