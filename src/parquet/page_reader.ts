/**
 * A column reader for the pages tier files are made of, without hyparquet's generic per-value work.
 *
 * hyparquet decodes any Parquet file; for ours it spent most of a cold read on work the files do not
 * need (profile of a namespace's hour on Bun: its joining of a multi-page read into one plain array
 * one value at a time, list assembly for flat columns, INT64 delta decoding through BigInt, then a
 * conversion of every timestamp back to a number). This reader handles exactly what the tier writer
 * produces — flat required or optional columns of `DATA_PAGE_V2` pages; `RLE_DICTIONARY` (PLAIN
 * dictionary of strings, INT32, INT64 or doubles), `DELTA_BINARY_PACKED` (INT32 and INT64 whose values
 * stay within ±2^53), `PLAIN` doubles and INT32, `RLE` booleans — decoding straight into the output
 * for the asked rows only, and answers `null` for anything else (a PLAIN INT64 chunk, a byte-array
 * chunk without a dictionary, a v1 page, a counter past 2^53), which the caller then reads with
 * hyparquet. Values come out as hyparquet's conversions give them (timestamps in ms and decimals as
 * numbers, UINT_64 as bigint, strings decoded, booleans as 0/1), with null where a row has no value.
 *
 * Dictionaries are decoded once per column chunk and kept with the footer's metadata (the identity
 * columns' strings are what every read of a file needs first).
 *
 * @module
 */
import {
  type AsyncBuffer,
  type ColumnChunk,
  type DecodedArray,
  type FileMetaData,
  type OffsetIndex,
  readOffsetIndex,
  type RowGroup,
  type SchemaElement,
  snappyUncompress,
} from "hyparquet";
import { PAGE_DECOMPRESSORS } from "./compressors.ts";

const utf8 = new TextDecoder();
const TWO_32 = 2 ** 32;

/** Page types of the Thrift `PageType` enum. */
const DATA_PAGE_V2 = 3, DICTIONARY_PAGE = 2;
/** Encodings of the Thrift `Encoding` enum. */
const PLAIN = 0, RLE = 3, DELTA_BINARY_PACKED = 5, RLE_DICTIONARY = 8, PLAIN_DICTIONARY = 2;

/** What a column chunk needs to be read, worked out once per chunk. */
interface ChunkPlan {
  element: SchemaElement;
  optional: boolean;
  /** Converts a decoded number (or string) to what hyparquet's conversion gives. */
  convert: ((v: number) => number | bigint) | null;
  pages: OffsetIndex | null;
  dictionary: DecodedArray | null;
}

const plans = new WeakMap<ColumnChunk, ChunkPlan | null>();
const elements = new WeakMap<FileMetaData, Map<string, SchemaElement>>();

/**
 * The values of `column` for file rows [rowStart, rowEnd) of `group` (which starts at file row
 * `groupStart`) — with `rows` (ascending offsets from `rowStart`), for those rows only, in that order —
 * or null when this reader does not handle the chunk (read it with hyparquet).
 */
export async function readColumnFast(
  file: AsyncBuffer,
  metadata: FileMetaData,
  group: RowGroup,
  groupStart: number,
  column: string,
  rowStart: number,
  rowEnd: number,
  rows?: Int32Array,
): Promise<DecodedArray | null> {
  const chunk = group.columns.find((c) =>
    c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === column
  );
  if (!chunk?.meta_data) return null;
  let plan = plans.get(chunk);
  if (plan === undefined) {
    plan = await planChunk(file, metadata, chunk);
    plans.set(chunk, plan);
  }
  if (!plan) return null;
  const meta = chunk.meta_data;
  const from = rowStart - groupStart, to = rowEnd - groupStart;
  const out = outputFor(plan, meta.type, rows ? rows.length : to - from);
  const pick = rows ? { rows, from, next: 0 } : null;
  // the pages that hold the rows: by the offset index when there is one, else every page of the chunk
  let start: number, end: number;
  const locations = plan.pages?.page_locations;
  let first = 0;
  if (locations && locations.length > 0) {
    while (first + 1 < locations.length && Number(locations[first + 1].first_row_index) <= from) first++;
    let last = first;
    while (last + 1 < locations.length && Number(locations[last + 1].first_row_index) < to) last++;
    start = Number(locations[first].offset);
    end = Number(locations[last].offset) + locations[last].compressed_page_size;
  } else {
    start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
    end = start + Number(meta.total_compressed_size);
  }
  const bytes = new Uint8Array(await file.slice(start, end));
  const reader = { bytes, offset: 0 };
  let row = locations && locations.length > 0 ? Number(locations[first].first_row_index) : 0;
  while (reader.offset < bytes.length && row < to) {
    const header = readPageHeader(reader);
    const body = bytes.subarray(reader.offset, reader.offset + header.compressedSize);
    reader.offset += header.compressedSize;
    if (header.type === DICTIONARY_PAGE) {
      plan.dictionary ??= readDictionary(plan, body, header.uncompressedSize, header.dictValues, meta.codec);
      if (!plan.dictionary) return null;
      continue;
    }
    const v2 = header.v2;
    if (header.type !== DATA_PAGE_V2 || !v2) return null;
    const pageRows = v2.numRows;
    // a page with none of the picked rows is not decoded
    const wanted = pick ? pick.next < pick.rows.length && pick.rows[pick.next] + from < row + pageRows : true;
    if (row + pageRows > from && wanted) {
      if (!decodePage(plan, meta.type, meta.codec, header.uncompressedSize, v2, body, row, from, to, out, pick)) {
        return null;
      }
    }
    row += pageRows;
  }
  return out;
}

/**
 * The output of a read: a typed array for a required column of numbers, else an array of values (null
 * where a row has none).
 */
function outputFor(plan: ChunkPlan, type: string, n: number): DecodedArray {
  if (plan.optional) return new Array(n).fill(null);
  if (type === "BYTE_ARRAY" || plan.convert === BigInt) return new Array(n);
  if (type === "BOOLEAN") return new Uint8Array(n);
  if (type === "INT32" && plan.convert === null) return new Int32Array(n);
  return new Float64Array(n);
}

async function planChunk(file: AsyncBuffer, metadata: FileMetaData, chunk: ColumnChunk): Promise<ChunkPlan | null> {
  const meta = chunk.meta_data!;
  const element = elementsOf(metadata).get(meta.path_in_schema[0]);
  if (!element || element.repetition_type === "REPEATED" || !decompressible(meta.codec)) return null;
  const convert = converterOf(element);
  if (convert === undefined) return null;
  let pages: OffsetIndex | null = null;
  if (chunk.offset_index_offset !== undefined && chunk.offset_index_length) {
    const at = Number(chunk.offset_index_offset);
    const bytes = await file.slice(at, at + chunk.offset_index_length);
    pages = readOffsetIndex({ view: new DataView(bytes), offset: 0 });
  }
  const plan: ChunkPlan = {
    element,
    optional: element.repetition_type === "OPTIONAL",
    convert,
    pages,
    dictionary: null,
  };
  if (pages && meta.dictionary_page_offset !== undefined) {
    // the dictionary page lies before the first data page: read it now, once
    const start = Number(meta.dictionary_page_offset), end = Number(pages.page_locations[0]?.offset ?? start);
    const bytes = new Uint8Array(await file.slice(start, end));
    const reader = { bytes, offset: 0 };
    const header = readPageHeader(reader);
    if (header.type !== DICTIONARY_PAGE) return null;
    const body = bytes.subarray(reader.offset, reader.offset + header.compressedSize);
    plan.dictionary = readDictionary(plan, body, header.uncompressedSize, header.dictValues, meta.codec);
    if (!plan.dictionary) return null;
  }
  return plan;
}

function elementsOf(metadata: FileMetaData): Map<string, SchemaElement> {
  let m = elements.get(metadata);
  if (!m) {
    m = new Map();
    // tier files are flat: the root, then one leaf per column
    for (const e of metadata.schema.slice(1)) if (!e.num_children) m.set(e.name, e);
    elements.set(metadata, m);
  }
  return m;
}

/**
 * How a decoded value is converted (null: kept as it is), or undefined for a type this reader leaves to
 * hyparquet.
 */
function converterOf(e: SchemaElement): ((v: number) => number | bigint) | null | undefined {
  const ctype = e.converted_type, ltype = e.logical_type;
  if (e.type === "BYTE_ARRAY") return ctype === "UTF8" || ltype?.type === "STRING" ? null : undefined;
  if (e.type === "BOOLEAN" || e.type === "DOUBLE") return ctype || ltype ? undefined : null;
  if (e.type !== "INT32" && e.type !== "INT64") return undefined;
  if (ctype === "DECIMAL") {
    const factor = 10 ** (e.scale ?? 0);
    return (v) => v / factor;
  }
  if (ctype === "TIMESTAMP_MILLIS" || (ltype?.type === "TIMESTAMP" && ltype.unit === "MILLIS")) return null;
  if (e.type === "INT64" && (ctype === "UINT_64" || (ltype?.type === "INTEGER" && !ltype.isSigned))) return BigInt;
  if (e.type === "INT32" && (ctype === "UINT_8" || ctype === "UINT_16")) return null;
  return ctype || ltype ? undefined : null;
}

function decompressible(codec: string): boolean {
  return codec === "UNCOMPRESSED" || codec === "SNAPPY" || codec in PAGE_DECOMPRESSORS;
}

function decompress(body: Uint8Array, size: number, codec: string): Uint8Array {
  if (codec === "UNCOMPRESSED" || size === 0) return body;
  if (codec === "SNAPPY") {
    const out = new Uint8Array(size);
    snappyUncompress(body, out);
    return out;
  }
  const out = PAGE_DECOMPRESSORS[codec as keyof typeof PAGE_DECOMPRESSORS]!(body, size);
  if (out.length !== size) throw new Error(`a ${codec} page decompressed to ${out.length} bytes, not ${size}`);
  return out;
}

function readDictionary(
  plan: ChunkPlan,
  body: Uint8Array,
  size: number,
  count: number,
  codec: string,
): DecodedArray | null {
  const page = decompress(body, size, codec);
  const { type } = plan.element;
  if (type === "BYTE_ARRAY") {
    const out = new Array<string>(count);
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const n = view.getUint32(at, true);
      out[i] = utf8.decode(page.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    }
    return out;
  }
  const values = plainNumbers(page, type ?? "", count);
  if (!values) return null;
  const { convert } = plan;
  return convert ? Array.from(values, convert) : values;
}

/** PLAIN values of a numeric type (INT64 only when every value is a safe integer), or null. */
function plainNumbers(page: Uint8Array, type: string, count: number): Float64Array | Int32Array | null {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  if (type === "DOUBLE") {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
    return out;
  }
  if (type === "INT32") {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
    return out;
  }
  if (type === "INT64") {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const lo = view.getUint32(i * 8, true), hi = view.getInt32(i * 8 + 4, true);
      if (hi > 0x1fffff || hi < -0x200000) return null;
      out[i] = hi * TWO_32 + lo;
    }
    return out;
  }
  return null;
}

interface V2Header {
  numValues: number;
  numNulls: number;
  numRows: number;
  encoding: number;
  defLength: number;
  repLength: number;
  compressed: boolean;
}

/**
 * Decodes one data page into `out` (rows [from, to) of the row group; the page starts at row `row`).
 * False when the page holds something this reader does not handle.
 */
function decodePage(
  plan: ChunkPlan,
  type: string,
  codec: string,
  uncompressedSize: number,
  v2: V2Header,
  body: Uint8Array,
  row: number,
  from: number,
  to: number,
  out: DecodedArray,
  pick: { rows: Int32Array; from: number; next: number } | null,
): boolean {
  if (v2.repLength !== 0) return false;
  const n = v2.numValues, present = n - v2.numNulls;
  let defined: Uint8Array | null = null;
  if (plan.optional && v2.numNulls > 0) {
    defined = new Uint8Array(n);
    const levels = { bytes: body.subarray(0, v2.defLength), offset: 0 };
    hybrid(levels, 1, defined, n);
  }
  const data = v2.compressed
    ? decompress(body.subarray(v2.defLength), uncompressedSize - v2.defLength, codec)
    : body.subarray(v2.defLength);
  const values = decodeValues(plan, type, v2.encoding, data, present);
  if (!values) return false;
  // the page's rows that fall in [from, to), with a value index that skips the nulls
  const { convert, dictionary } = plan;
  let k = 0;
  const lo = Math.max(from, row), hi = Math.min(to, row + n);
  if (!defined) k = lo - row;
  else for (let r = row; r < lo; r++) k += defined[r - row];
  const target = out as unknown as Record<number, unknown>;
  if (pick) {
    // the picked rows of this page: `x` indexes the output, `r` the page's rows, `k` its values
    const { rows } = pick;
    let x = pick.next, r = row;
    k = 0;
    for (; x < rows.length; x++) {
      const w = rows[x] + pick.from;
      if (w >= row + n) break;
      if (defined) {
        while (r < w) k += defined[r++ - row];
        if (defined[w - row] === 0) continue;
        const v = values[k];
        target[x] = dictionary ? dictionary[v] : convert ? convert(v) : v;
      } else {
        const v = values[w - row];
        target[x] = dictionary ? dictionary[v] : convert ? convert(v) : v;
      }
    }
    pick.next = x;
  } else if (defined) {
    for (let r = lo; r < hi; r++) {
      if (defined[r - row] === 0) continue; // out is null-filled
      const v = values[k++];
      target[r - from] = dictionary ? dictionary[v] : convert ? convert(v) : v;
    }
  } else if (dictionary) {
    for (let r = lo; r < hi; r++) target[r - from] = dictionary[values[k++]];
  } else if (convert) {
    for (let r = lo; r < hi; r++) target[r - from] = convert(values[k++]);
  } else {
    for (let r = lo; r < hi; r++) target[r - from] = values[k++];
  }
  return true;
}

/** The page's `count` values (dictionary indexes for a dictionary encoding), or null. */
function decodeValues(
  plan: ChunkPlan,
  type: string,
  encoding: number,
  data: Uint8Array,
  count: number,
): ArrayLike<number> | null {
  if (encoding === RLE_DICTIONARY || encoding === PLAIN_DICTIONARY) {
    if (!plan.dictionary) return null;
    const out = new Int32Array(count);
    if (count > 0) hybrid({ bytes: data, offset: 1 }, data[0], out, count);
    return out;
  }
  if (plan.dictionary) return null; // a chunk that fell back from its dictionary: mixed pages
  if (encoding === DELTA_BINARY_PACKED && (type === "INT32" || type === "INT64")) {
    const values = deltaNumbers({ bytes: data, offset: 0 }, count);
    // INT32 deltas may wrap around in 32 bits: values outside its range go to hyparquet
    if (values && type === "INT32") { for (const v of values) if (v !== (v | 0)) return null; }
    return values;
  }
  if (encoding === PLAIN && (type === "DOUBLE" || type === "INT32")) return plainNumbers(data, type, count);
  if (encoding === RLE && type === "BOOLEAN") {
    const out = new Uint8Array(count);
    if (count > 0) hybrid({ bytes: data, offset: 4 }, 1, out, count); // after its 4-byte length
    return out;
  }
  return null;
}

interface Reader {
  bytes: Uint8Array;
  offset: number;
}

/** An unsigned LEB128 varint as a number (exact up to 2^53; null beyond). */
function uleb(r: Reader): number {
  let value = 0, scale = 1;
  for (;;) {
    const b = r.bytes[r.offset++];
    if (b === undefined) throw new RangeError("a varint runs past the end of its page");
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return value;
    scale *= 128;
    if (scale > 2 ** 56) throw new RangeError("a varint of more than 64 bits");
  }
}

/** A zigzag varint as a number; NaN when it does not fit a safe integer. */
function zigzag(r: Reader): number {
  const u = uleb(r);
  if (u > Number.MAX_SAFE_INTEGER) return NaN;
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/**
 * DELTA_BINARY_PACKED values as numbers, or null when one of them (or a delta) leaves the safe integers
 * (the caller falls back to hyparquet's BigInt decoder).
 */
function deltaNumbers(r: Reader, count: number): Float64Array | null {
  const blockSize = uleb(r), miniblocks = uleb(r);
  uleb(r); // the total count: the page header's is used
  let value = zigzag(r);
  const out = new Float64Array(count);
  if (count === 0) return out;
  if (Number.isNaN(value) || miniblocks === 0 || blockSize % miniblocks !== 0) return null;
  const perMiniblock = blockSize / miniblocks;
  out[0] = value;
  let i = 1;
  while (i < count) {
    const minDelta = zigzag(r);
    if (Number.isNaN(minDelta)) return null;
    const widths = r.bytes.subarray(r.offset, r.offset + miniblocks);
    r.offset += miniblocks;
    for (let m = 0; m < miniblocks && i < count; m++) {
      const width = widths[m];
      if (width > 52) return null;
      let bitPos = r.offset * 8;
      for (let j = 0; j < perMiniblock && i < count; j++, i++) {
        // a delta past 2^53 is inexact here (and its sum could come back into range): left to hyparquet
        const delta = minDelta + readBits(r.bytes, bitPos, width);
        if (delta > Number.MAX_SAFE_INTEGER) return null;
        value += delta;
        bitPos += width;
        out[i] = value;
      }
      r.offset += (perMiniblock * width) / 8; // a miniblock is padded to its full size
    }
  }
  for (let k = 0; k < count; k++) if (!Number.isSafeInteger(out[k])) return null;
  return out;
}

/** `width` (≤ 52) bits of `bytes` from bit `bitPos` on, least significant first. */
function readBits(bytes: Uint8Array, bitPos: number, width: number): number {
  if (width === 0) return 0;
  let byte = bitPos >>> 3, shift = bitPos & 7;
  let value = 0, scale = 1, left = width;
  while (left > 0) {
    const take = Math.min(8 - shift, left);
    value += ((bytes[byte] >>> shift) & ((1 << take) - 1)) * scale;
    scale *= 2 ** take;
    left -= take;
    byte++;
    shift = 0;
  }
  return value;
}

/** RLE / bit-packed hybrid values of `width` bits into `out[0..count)`. */
function hybrid(r: Reader, width: number, out: Uint8Array | Int32Array, count: number): void {
  const bytesPerRun = (width + 7) >> 3;
  let seen = 0;
  while (seen < count) {
    const header = uleb(r);
    if (header % 2 === 1) {
      const values = Math.floor(header / 2) * 8;
      let bitPos = r.offset * 8;
      for (let j = 0; j < values; j++, bitPos += width) {
        const v = readBits(r.bytes, bitPos, width);
        if (seen < count) out[seen++] = v;
      }
      r.offset += (values * width) / 8;
    } else {
      const run = Math.floor(header / 2);
      let v = 0;
      for (let b = 0; b < bytesPerRun; b++) v += r.bytes[r.offset++] * 2 ** (8 * b);
      const end = Math.min(count, seen + run);
      out.fill(v, seen, end);
      seen = end;
    }
  }
}

// ------------------------------------------------------------ Thrift compact protocol (page headers)

interface PageHeader {
  type: number;
  uncompressedSize: number;
  compressedSize: number;
  dictValues: number;
  v2: V2Header | null;
}

/** A `PageHeader` (parquet.thrift), reading only the fields this reader uses and skipping the others. */
function readPageHeader(r: Reader): PageHeader {
  const h: PageHeader = { type: -1, uncompressedSize: 0, compressedSize: 0, dictValues: 0, v2: null };
  readStruct(r, (id, type) => {
    if (id === 1 && type === I32) h.type = zigzag(r);
    else if (id === 2 && type === I32) h.uncompressedSize = zigzag(r);
    else if (id === 3 && type === I32) h.compressedSize = zigzag(r);
    else if (id === 7 && type === STRUCT) {
      readStruct(r, (fid, ftype) => {
        if (fid === 1 && ftype === I32) h.dictValues = zigzag(r);
        else skip(r, ftype);
      });
    } else if (id === 8 && type === STRUCT) {
      const v2: V2Header = {
        numValues: 0,
        numNulls: 0,
        numRows: 0,
        encoding: -1,
        defLength: 0,
        repLength: 0,
        compressed: true,
      };
      readStruct(r, (fid, ftype) => {
        if (fid === 1 && ftype === I32) v2.numValues = zigzag(r);
        else if (fid === 2 && ftype === I32) v2.numNulls = zigzag(r);
        else if (fid === 3 && ftype === I32) v2.numRows = zigzag(r);
        else if (fid === 4 && ftype === I32) v2.encoding = zigzag(r);
        else if (fid === 5 && ftype === I32) v2.defLength = zigzag(r);
        else if (fid === 6 && ftype === I32) v2.repLength = zigzag(r);
        else if (fid === 7 && (ftype === TRUE || ftype === FALSE)) v2.compressed = ftype === TRUE;
        else skip(r, ftype);
      });
      h.v2 = v2;
    } else skip(r, type);
  });
  return h;
}

const TRUE = 1, FALSE = 2, BYTE = 3, I16 = 4, I32 = 5, I64 = 6, DOUBLE = 7, BINARY = 8, LIST = 9, SET = 10, MAP = 11;
const STRUCT = 12;

/** Reads a struct's fields, calling `field` for each (which must consume the value). */
function readStruct(r: Reader, field: (id: number, type: number) => void): void {
  let id = 0;
  for (;;) {
    const b = r.bytes[r.offset++];
    if (b === undefined) throw new RangeError("a page header runs past the end of the column chunk");
    const type = b & 0x0f;
    if (type === 0) return; // stop
    const delta = b >> 4;
    id = delta === 0 ? zigzag(r) : id + delta;
    field(id, type);
  }
}

function skip(r: Reader, type: number): void {
  switch (type) {
    case TRUE:
    case FALSE:
      return;
    case BYTE:
      r.offset++;
      return;
    case I16:
    case I32:
    case I64:
      uleb(r);
      return;
    case DOUBLE:
      r.offset += 8;
      return;
    case BINARY:
      r.offset += uleb(r);
      return;
    case LIST:
    case SET: {
      const b = r.bytes[r.offset++];
      const size = (b >> 4) === 15 ? uleb(r) : b >> 4;
      const elem = b & 0x0f;
      for (let i = 0; i < size; i++) {
        if (elem === TRUE || elem === FALSE) r.offset++;
        else skip(r, elem);
      }
      return;
    }
    case MAP: {
      const size = uleb(r);
      if (size === 0) return;
      const kv = r.bytes[r.offset++];
      for (let i = 0; i < size; i++) {
        skip(r, kv >> 4);
        skip(r, kv & 0x0f);
      }
      return;
    }
    case STRUCT:
      readStruct(r, (_, t) => skip(r, t));
      return;
    default:
      throw new RangeError(`an unknown Thrift type ${type} in a page header`);
  }
}
