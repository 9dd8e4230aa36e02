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
import { type StatName, STATS, type StatType } from "../model/aggregate_stats.ts";
import type { AggColumns } from "./columns.ts";
import { identityData } from "./identity.ts";
import { DoubleValues, Int64Values } from "./fast_column.ts";
import {
  assertIntegers,
  type ColumnData,
  type EncodedColumns,
  EncodeScratch,
  type LayoutParams,
  mapRows,
  type PhysicalColumns,
  type TierLayout,
  toFloat64,
  toInt32,
  toIntegers,
  toNullable,
  toStrings,
} from "./layout.ts";
import { type ColumnSpec, floatColumn, identityColumn, int64Column, kindColumn, timeColumn } from "./schema.ts";

const PERCENTILES = ["p50", "p90", "p95", "p99"] as const;

/** Fields of `AggColumns` a reader may ask for (identity and `bucket` are always read). */
export type AggField = "kind" | StatName | typeof PERCENTILES[number] | "sketch";

const PHYSICAL = {
  kind: "kind",
  ...Object.fromEntries(STATS.map((s) => [s.name, s.column])),
  ...Object.fromEntries(PERCENTILES.map((p) => [p, p])),
  sketch: "sketch",
} as Readonly<Record<AggField, string>>;

const AGG_FIELDS = Object.keys(PHYSICAL) as AggField[];

/** How each type of statistic is stored: its Parquet column, check and encoder. */
const STAT_CODEC: Record<StatType, {
  spec(column: string): ColumnSpec;
  /** The smallest valid value, for integer types (null: any double). */
  minInteger: number | null;
  encode(values: Float64Array): ColumnData;
}> = {
  count: { spec: (c) => int64Column(c, "REQUIRED"), minInteger: 0, encode: (v) => new Int64Values(v) },
  value: { spec: (c) => floatColumn(c, "DOUBLE"), minInteger: null, encode: (v) => new DoubleValues(v) },
  time: { spec: timeColumn, minInteger: Number.MIN_SAFE_INTEGER, encode: (v) => new Int64Values(v) },
};

const AGG_SPECS: readonly ColumnSpec[] = [
  identityColumn("namespace"),
  identityColumn("target"),
  identityColumn("poller"),
  timeColumn("bucket"),
  kindColumn(),
  ...STATS.map((s) => STAT_CODEC[s.type].spec(s.column)),
  ...PERCENTILES.map((p) => floatColumn(p, "DOUBLE")),
  { element: { name: "sketch", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" }, encoding: "PLAIN" },
];

function validateAgg(cols: AggColumns, where: string): void {
  assertKinds(cols.kind, where);
  for (const s of STATS) {
    const min = STAT_CODEC[s.type].minInteger;
    if (min !== null) assertIntegers(cols[s.name], min, s.column, where);
  }
}

function encodeAgg(cols: AggColumns, _params: LayoutParams, scratch: EncodeScratch): EncodedColumns {
  const out: EncodedColumns = {
    ...identityData(cols),
    bucket: () => new Int64Values(cols.bucket),
    kind: () => toInt32(cols.kind, scratch.i32(0, cols.length)),
    sketch: () => mapRows(cols.length, (i) => cols.sketch[i] ?? null),
  };
  for (const s of STATS) out[s.column] = () => STAT_CODEC[s.type].encode(cols[s.name]);
  for (const p of PERCENTILES) out[p] = () => new DoubleValues(cols[p]);
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
  const out = {
    length,
    namespace: toStrings(columns.namespace, length),
    target: toStrings(columns.target, length),
    poller: toStrings(columns.poller, length),
    bucket: floats("bucket"),
    kind: toIntegers(columns.kind, new Uint8Array(length)),
    sketch: toNullable<Uint8Array>(columns.sketch, length),
  } as AggColumns;
  for (const s of STATS) {
    // counts not read are zero (a reader that skips them must not see NaN counts)
    out[s.name] = columns[s.column] || s.type !== "count" ? floats(s.column) : new Float64Array(length);
  }
  for (const p of PERCENTILES) out[p] = floats(p);
  return out;
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
