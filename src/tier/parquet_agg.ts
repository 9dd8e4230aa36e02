/**
 * The aggregate tier layout (5min, hourly, daily, weekly): `AggColumns` ↔ Parquet columns
 * (docs/format/tiers.md, "Aggregate tiers"). Rows are partial aggregates: a key may appear in more
 * than one file until the files are merged.
 *
 * | column                       | type                                   | encoding            |
 * | ---------------------------- | -------------------------------------- | ------------------- |
 * | namespace, target, poller    | BYTE_ARRAY STRING, required            | RLE_DICTIONARY      |
 * | bucket                       | INT64 TIMESTAMP(MILLIS, UTC), required | DELTA_BINARY_PACKED |
 * | kind                         | INT32 UINT_8, required                 | RLE_DICTIONARY      |
 * | count, error_count           | INT64, required                        | DELTA_BINARY_PACKED |
 * | sum, min, max                | DOUBLE, optional (null when count = 0) | PLAIN               |
 * | first_ts, last_ts            | INT64 TIMESTAMP(MILLIS, UTC), required | DELTA_BINARY_PACKED |
 * | p50, p90, p95, p99           | DOUBLE, optional (null when unknown)   | PLAIN               |
 * | sketch                       | BYTE_ARRAY (DDSketch protobuf), opt.   | PLAIN               |
 *
 * @module
 */
import { VALUE_KIND_CODE } from "../model/aggregate.ts";
import type { AggColumns } from "./columns.ts";
import { DoubleValues, Int64Values } from "./parquet_fast_column.ts";
import {
  assertIntegers,
  type EncodedColumns,
  mapRows,
  type PhysicalColumns,
  type TierLayout,
  toFloat64,
  toIntegers,
  toNullable,
  toStrings,
} from "./parquet_layout.ts";
import { type ColumnSpec, floatColumn, identityColumn, int64Column, kindColumn, timeColumn } from "./parquet_schema.ts";

/** Fields of `AggColumns` a reader may ask for (identity and `bucket` are always read). */
export type AggField =
  | "kind"
  | "count"
  | "errorCount"
  | "sum"
  | "min"
  | "max"
  | "firstTs"
  | "lastTs"
  | "p50"
  | "p90"
  | "p95"
  | "p99"
  | "sketch";

const PHYSICAL: Readonly<Record<AggField, string>> = {
  kind: "kind",
  count: "count",
  errorCount: "error_count",
  sum: "sum",
  min: "min",
  max: "max",
  firstTs: "first_ts",
  lastTs: "last_ts",
  p50: "p50",
  p90: "p90",
  p95: "p95",
  p99: "p99",
  sketch: "sketch",
};

const AGG_FIELDS = Object.keys(PHYSICAL) as AggField[];
const FLOAT_FIELDS = ["sum", "min", "max", "p50", "p90", "p95", "p99"] as const;

const AGG_SPECS: readonly ColumnSpec[] = [
  identityColumn("namespace"),
  identityColumn("target"),
  identityColumn("poller"),
  timeColumn("bucket"),
  kindColumn(),
  int64Column("count", "REQUIRED"),
  int64Column("error_count", "REQUIRED"),
  floatColumn("sum", "DOUBLE"),
  floatColumn("min", "DOUBLE"),
  floatColumn("max", "DOUBLE"),
  timeColumn("first_ts"),
  timeColumn("last_ts"),
  floatColumn("p50", "DOUBLE"),
  floatColumn("p90", "DOUBLE"),
  floatColumn("p95", "DOUBLE"),
  floatColumn("p99", "DOUBLE"),
  { element: { name: "sketch", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" }, encoding: "PLAIN" },
];

function validateAgg(cols: AggColumns, where: string): void {
  assertKinds(cols.kind, where);
  assertIntegers(cols.count, 0, "count", where);
  assertIntegers(cols.errorCount, 0, "error_count", where);
  assertIntegers(cols.firstTs, Number.MIN_SAFE_INTEGER, "first_ts", where);
  assertIntegers(cols.lastTs, Number.MIN_SAFE_INTEGER, "last_ts", where);
}

function encodeAgg(cols: AggColumns): EncodedColumns {
  const out: EncodedColumns = {
    namespace: () => cols.namespace,
    target: () => cols.target,
    poller: () => cols.poller,
    bucket: () => new Int64Values(cols.bucket),
    kind: () => Int32Array.from(cols.kind),
    count: () => new Int64Values(cols.count),
    error_count: () => new Int64Values(cols.errorCount),
    first_ts: () => new Int64Values(cols.firstTs),
    last_ts: () => new Int64Values(cols.lastTs),
    sketch: () => mapRows(cols.length, (i) => cols.sketch[i] ?? null),
  };
  for (const field of FLOAT_FIELDS) out[field] = () => new DoubleValues(cols[field]);
  return out;
}

function assertKinds(kind: Uint8Array, where: string): void {
  for (let i = 0; i < kind.length; i++) {
    if (kind[i] < VALUE_KIND_CODE.gauge || kind[i] > VALUE_KIND_CODE.text) {
      throw new RangeError(`Cannot write ${where}: value kind ${kind[i]} of row ${i} is unknown`);
    }
  }
}

function decodeAgg(columns: PhysicalColumns, length: number): AggColumns {
  const floats = (name: string) => toFloat64(columns[name], length);
  return {
    length,
    namespace: toStrings(columns.namespace, length),
    target: toStrings(columns.target, length),
    poller: toStrings(columns.poller, length),
    bucket: floats("bucket"),
    kind: toIntegers(columns.kind, new Uint8Array(length)),
    count: columns.count ? floats("count") : new Float64Array(length),
    errorCount: columns.error_count ? floats("error_count") : new Float64Array(length),
    sum: floats("sum"),
    min: floats("min"),
    max: floats("max"),
    firstTs: floats("first_ts"),
    lastTs: floats("last_ts"),
    p50: floats("p50"),
    p90: floats("p90"),
    p95: floats("p95"),
    p99: floats("p99"),
    sketch: toNullable<Uint8Array>(columns.sketch, length),
  };
}

/**
 * Rows per data page of aggregate files: a day of 5-minute rows (288) touches one or two pages;
 * aggregate rows are wide (doubles, sketches), so pages stay small in rows.
 */
export const AGG_PAGE_ROWS = 1_024;

/** The aggregate tier layout (all aggregate tiers share it). */
export const AGG_LAYOUT: TierLayout<AggColumns, AggField> = {
  timeColumn: "bucket",
  defaultPageRows: AGG_PAGE_ROWS,
  fields: AGG_FIELDS,
  physicalColumns: (field) => [PHYSICAL[field]],
  time: (cols) => cols.bucket,
  chooseParams: () => ({ gaugeScale: 0 }),
  specs: () => [...AGG_SPECS],
  validate: validateAgg,
  encode: encodeAgg,
  decode: decodeAgg,
};
