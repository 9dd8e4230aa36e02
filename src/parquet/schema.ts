/**
 * The Parquet schema vocabulary of tier files (docs/format/tiers.md): format identification in the
 * key-value metadata, and builders for the column types every tier uses.
 *
 * Unsigned integers carry only the legacy converted type (`UINT_8`, `UINT_64`), not the `INTEGER`
 * logical type: hyparquet-writer 0.17 writes `INTEGER.bitWidth` as a Thrift i32 instead of an i8,
 * which DuckDB 0.9 rejects ("TProtocolException: Invalid data"). Readers map the converted type to
 * the same unsigned type (DuckDB `UBIGINT`, pandas `uint64`).
 *
 * @module
 */
import type { ColumnSource, SchemaElement } from "hyparquet-writer";
import { VERSION } from "../version.ts";

/** Value of the `stalker.format` key. */
export const TIER_FORMAT = "stalker-tier";
/** The format version this build writes and reads. */
export const TIER_FORMAT_VERSION = 1;
/** `created_by` of every tier file. */
export const CREATED_BY = `stalker-storage ${VERSION}`;

/** Keys of the file-level key-value metadata. */
export const KV_KEYS = {
  format: "stalker.format",
  formatVersion: "stalker.format_version",
  tier: "stalker.tier",
  rows: "stalker.rows",
  /** Smallest time (raw: `ts`, aggregates: `bucket`), Unix ms. */
  minTs: "stalker.min_ts",
  /** Largest time (raw: `ts`, aggregates: `bucket`), Unix ms. */
  maxTs: "stalker.max_ts",
  /** Raw tier only: the decimal scale of `gauge_decimal`. */
  gaugeScale: "stalker.gauge_scale",
} as const;

/**
 * Longest statistics value kept untruncated, in bytes. Identity strings are at most 256 UTF-16 code
 * units, i.e. at most 768 UTF-8 bytes, so their min/max statistics are exact and prune reliably.
 */
export const STATISTICS_MAX_BYTES = 1024;

/** One physical column: its schema element and how it is written. */
export interface ColumnSpec {
  element: SchemaElement;
  /** Encoding of the data pages; undefined lets hyparquet-writer choose (dictionary when it pays). */
  encoding?: ColumnSource["encoding"];
  /** Write a column index (page min/max) next to the offset index. */
  columnIndex?: boolean;
  /**
   * Page length: `rows` (default) about `pageRows` values; `long` 4 × `pageRows`, for columns that
   * compress to almost nothing and decode fast (runs of identity strings, codes, flags), where page
   * headers and zstd frames would be most of the bytes; `row-group` one page per row group (values
   * that repeat across series, see `parquet_row_group.ts`).
   */
  pages?: "rows" | "long" | "row-group";
}

/** How many `pageRows` a `long` page holds. */
const LONG_PAGE_FACTOR = 4;

/**
 * The page size in bytes that gives pages of about `pageRows` values of `spec` (hyparquet-writer cuts
 * pages by estimated uncompressed bytes: 4 per dictionary index, 8 per INT64/DOUBLE, ...).
 */
export function pageBytesFor(spec: ColumnSpec, pageRows: number): number {
  if (spec.pages === "row-group") return 0;
  if (spec.pages === "long") return pageBytesFor({ ...spec, pages: "rows" }, pageRows * LONG_PAGE_FACTOR);
  if (spec.encoding === "RLE_DICTIONARY") return pageRows * 4;
  switch (spec.element.type) {
    case "BOOLEAN":
      return Math.ceil(pageRows / 8);
    case "INT32":
    case "FLOAT":
      return pageRows * 4;
    case "BYTE_ARRAY":
      return pageRows * 16;
    default:
      return pageRows * 8;
  }
}

/**
 * An identity column: required UTF-8 string, dictionary-encoded, with statistics and a page index.
 * `namespace` takes long pages (it changes rarely; `target` and `poller` pages do the narrowing).
 */
export function identityColumn(name: "namespace" | "target" | "poller"): ColumnSpec {
  return {
    element: {
      name,
      type: "BYTE_ARRAY",
      converted_type: "UTF8",
      logical_type: { type: "STRING" },
      repetition_type: "REQUIRED",
    },
    encoding: "RLE_DICTIONARY",
    columnIndex: true,
    pages: name === "namespace" ? "long" : "rows",
  };
}

/** A time column: required INT64 TIMESTAMP(MILLIS, UTC), delta-encoded, with a page index. */
export function timeColumn(name: string): ColumnSpec {
  return {
    element: {
      name,
      type: "INT64",
      converted_type: "TIMESTAMP_MILLIS",
      logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
      repetition_type: "REQUIRED",
    },
    encoding: "DELTA_BINARY_PACKED",
    columnIndex: true,
  };
}

/** A kind code column: required INT32 annotated UINT_8, dictionary-encoded (runs per series). */
export function kindColumn(): ColumnSpec {
  return {
    element: { name: "kind", type: "INT32", converted_type: "UINT_8", repetition_type: "REQUIRED" },
    encoding: "RLE_DICTIONARY",
    pages: "long",
  };
}

/** An optional UTF-8 string column (free text: values, errors). */
export function textColumn(name: string): ColumnSpec {
  return {
    element: {
      name,
      type: "BYTE_ARRAY",
      converted_type: "UTF8",
      logical_type: { type: "STRING" },
      repetition_type: "OPTIONAL",
    },
  };
}

/** A signed INT64 column (counts), delta-encoded. */
export function int64Column(name: string, repetition: "REQUIRED" | "OPTIONAL"): ColumnSpec {
  return { element: { name, type: "INT64", repetition_type: repetition }, encoding: "DELTA_BINARY_PACKED" };
}

/** An unsigned 64-bit counter column (INT64 annotated UINT_64), delta-encoded. */
export function uint64Column(name: string): ColumnSpec {
  return {
    element: { name, type: "INT64", converted_type: "UINT_64", repetition_type: "OPTIONAL" },
    encoding: "DELTA_BINARY_PACKED",
  };
}

/** A DECIMAL(18, scale) column stored as INT64, delta-encoded. */
export function decimalColumn(name: string, scale: number): ColumnSpec {
  return {
    element: {
      name,
      type: "INT64",
      converted_type: "DECIMAL",
      scale,
      precision: 18,
      logical_type: { type: "DECIMAL", scale, precision: 18 },
      repetition_type: "OPTIONAL",
    },
    encoding: "DELTA_BINARY_PACKED",
  };
}

/** A floating-point column (DOUBLE or FLOAT), PLAIN-encoded. */
export function floatColumn(name: string, type: "DOUBLE" | "FLOAT"): ColumnSpec {
  return { element: { name, type, repetition_type: "OPTIONAL" }, encoding: "PLAIN" };
}

/** The root element of a flat schema over `columns`. */
export function schemaOf(columns: readonly ColumnSpec[]): SchemaElement[] {
  return [{ name: "schema", num_children: columns.length }, ...columns.map((c) => c.element)];
}
