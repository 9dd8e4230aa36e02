/**
 * Appends one row group to a hyparquet-writer `ParquetWriter`, with a page size per column.
 *
 * `ParquetWriter.write` uses one page size for every column, but tier files need two: small pages
 * (a few thousand rows) on the columns a lookup reads, so that one series costs one or two pages per
 * column, and one page per row group for `poll_ms`, whose values repeat across the pollers of a
 * target — zstd only finds those repeats inside a page (0.45 → 0.11 bytes/sample on the benchmark).
 * So this module drives hyparquet-writer's own `writeColumn` per column and records the chunks in the
 * `ParquetWriter` exactly as its `write` does; header, page indexes and footer stay hyparquet-writer's.
 *
 * @module
 */
import type { DecodedArray } from "hyparquet";
import type { ParquetWriter } from "hyparquet-writer";
import { type ColumnEncoder, type ColumnResult, type PageData, writeColumn } from "./_hyparquet_writer.ts";
import {
  allNull,
  BooleanValues,
  DoubleValues,
  Int64Values,
  NullValues,
  writeBooleanColumn,
  writeBytesColumn,
  writeDictionaryIdsColumn,
  writeDictionaryStringColumn,
  writeDoubleColumn,
  writeInt32DictionaryColumn,
  writeInt32PlainColumn,
  writeInt64DeltaColumn,
  writeNullColumn,
} from "./fast_column.ts";
import { DictionaryIds } from "./identity.ts";
import type { ColumnData } from "./layout.ts";
import type { ColumnSpec } from "./schema.ts";

/** One column of a row group: how it is written, its page size, and its values. */
export interface RowGroupColumn {
  spec: ColumnSpec;
  /** Target uncompressed page size in bytes; 0 writes the column chunk as one page. */
  pageBytes: number;
  /** The values, computed when the column is written. */
  data: () => ColumnData;
}

/**
 * Encodes `columns` (each of `rows` values) as the next row group of `parquet`, awaiting
 * `afterColumn` after each column chunk (to write it out and let the event loop run).
 */
export async function appendRowGroup(
  parquet: ParquetWriter,
  columns: readonly RowGroupColumn[],
  rows: number,
  afterColumn: () => Promise<void>,
): Promise<void> {
  const start = parquet.writer.offset;
  const chunks = [];
  for (const column of columns) {
    const data = column.data();
    const encoder = encoderOf(parquet, column);
    const result = fastColumn(parquet.writer, encoder, data) ??
      writeColumn({
        writer: parquet.writer,
        column: encoder,
        pageData: pageDataOf(column.spec, libraryValues(data)),
      });
    parquet.pendingIndexes.push(result);
    chunks.push(result.chunk);
    await afterColumn();
  }
  let totalByteSize = 0n;
  for (const chunk of chunks) totalByteSize += chunk.meta_data?.total_uncompressed_size ?? 0n;
  parquet.num_rows += BigInt(rows);
  parquet.row_groups.push({
    columns: chunks,
    total_byte_size: totalByteSize,
    num_rows: BigInt(rows),
    total_compressed_size: BigInt(parquet.writer.offset - start),
  });
}

/** The values as hyparquet-writer takes them. */
function libraryValues(data: ColumnData): DecodedArray {
  if (data instanceof Int64Values) return data.toBigInts();
  if (data instanceof DoubleValues) return data.toNullable();
  if (data instanceof BooleanValues) return data.toBooleans();
  if (data instanceof NullValues) return data.toNulls();
  if (data instanceof DictionaryIds) return data.toStrings();
  return data;
}

/** The chunk written by `fast_column.ts`, or null when that case does not apply. */
function fastColumn(
  writer: ParquetWriter["writer"],
  encoder: ColumnEncoder,
  data: ColumnData,
): ColumnResult | null {
  if (data instanceof Int64Values) {
    return encoder.encoding === "DELTA_BINARY_PACKED" ? writeInt64DeltaColumn(writer, encoder, data) : null;
  }
  if (data instanceof DoubleValues) return writeDoubleColumn(writer, encoder, data);
  if (data instanceof BooleanValues) return writeBooleanColumn(writer, encoder, data);
  if (data instanceof NullValues) return data.length > 0 ? writeNullColumn(writer, encoder, data.length) : null;
  if (data instanceof DictionaryIds) {
    const dictionary = encoder.encoding === "RLE_DICTIONARY" && encoder.element.type === "BYTE_ARRAY";
    return dictionary ? writeDictionaryIdsColumn(writer, encoder, data) : null;
  }
  if (data instanceof Int32Array && encoder.element.type === "INT32") {
    if (encoder.encoding === "RLE_DICTIONARY") return writeInt32DictionaryColumn(writer, encoder, data);
    if (encoder.encoding === "PLAIN") return writeInt32PlainColumn(writer, encoder, data);
    return null;
  }
  if (encoder.element.repetition_type === "OPTIONAL" && data.length > 0 && allNull(data)) {
    return writeNullColumn(writer, encoder, data.length);
  }
  if (encoder.encoding === "RLE_DICTIONARY" && encoder.element.type === "BYTE_ARRAY" && Array.isArray(data)) {
    return writeDictionaryStringColumn(writer, encoder, data);
  }
  if (encoder.encoding === "PLAIN" && encoder.element.type === "BYTE_ARRAY" && Array.isArray(data)) {
    return writeBytesColumn(writer, encoder, data);
  }
  return null;
}

function encoderOf(parquet: ParquetWriter, { spec, pageBytes }: RowGroupColumn): ColumnEncoder {
  return {
    columnName: spec.element.name,
    element: spec.element,
    schemaPath: [parquet.schema[0], spec.element],
    codec: parquet.codec,
    compressors: parquet.compressors,
    stats: true,
    statisticsTruncateLength: parquet.statisticsTruncateLength,
    pageSize: pageBytes,
    columnIndex: spec.columnIndex ?? false,
    offsetIndex: true,
    encoding: spec.encoding,
  };
}

/** Definition levels of a flat column: none when required, 0 (null) / 1 (value) when optional. */
function pageDataOf(spec: ColumnSpec, data: DecodedArray): PageData {
  if (spec.element.repetition_type === "REQUIRED") {
    return { values: data, definitionLevels: [], repetitionLevels: [], maxDefinitionLevel: 0 };
  }
  const definitionLevels = new Uint8Array(data.length); // typed: slicing it per page is a copy of bytes
  for (let i = 0; i < data.length; i++) definitionLevels[i] = data[i] === null || data[i] === undefined ? 0 : 1;
  return {
    values: data,
    definitionLevels: definitionLevels as unknown as number[],
    repetitionLevels: [],
    maxDefinitionLevel: 1,
  };
}
