/**
 * The raw tier layout: `RawColumns` ↔ Parquet columns (docs/format/tiers.md, "Raw tier").
 *
 * | column          | type                                   | encoding            |
 * | --------------- | -------------------------------------- | ------------------- |
 * | namespace       | BYTE_ARRAY STRING, required            | RLE_DICTIONARY      |
 * | target          | BYTE_ARRAY STRING, required            | RLE_DICTIONARY      |
 * | poller          | BYTE_ARRAY STRING, required            | RLE_DICTIONARY      |
 * | ts              | INT64 TIMESTAMP(MILLIS, UTC), required | DELTA_BINARY_PACKED |
 * | kind            | INT32 UINT_8, required                 | RLE_DICTIONARY      |
 * | gauge_decimal   | INT64 DECIMAL(18, s), optional         | DELTA_BINARY_PACKED |
 * | gauge_float     | DOUBLE, optional                       | PLAIN               |
 * | counter         | INT64 UINT_64, optional                | DELTA_BINARY_PACKED |
 * | text            | BYTE_ARRAY STRING, optional            | writer's choice     |
 * | valid           | BOOLEAN, required                      | RLE                 |
 * | error           | BYTE_ARRAY STRING, optional            | writer's choice     |
 * | poll_ms         | INT32, required                        | PLAIN               |
 *
 * @module
 */
import type { DecodedArray } from "hyparquet";
import { KIND_CODE, MAX_COUNTER } from "../model/sample.ts";
import type { RawColumns } from "./columns.ts";
import { chooseGaugeScale, joinGauges, splitGauges } from "./gauge.ts";
import { BooleanValues, Int64Values, NullValues } from "./fast_column.ts";
import {
  type ColumnData,
  type EncodedColumns,
  EncodeScratch,
  type LayoutParams,
  mapRows,
  once,
  type PhysicalColumns,
  type TierLayout,
  toFloat64,
  toInt32,
  toIntegers,
  toNullable,
  toStrings,
} from "./layout.ts";
import { identityData } from "./identity.ts";
import {
  type ColumnSpec,
  decimalColumn,
  floatColumn,
  identityColumn,
  kindColumn,
  textColumn,
  timeColumn,
  uint64Column,
} from "./schema.ts";

/** Fields of `RawColumns` a reader may ask for (identity and `ts` are always read). */
export type RawField = "kind" | "value" | "counter" | "text" | "valid" | "error" | "pollMs";

const RAW_FIELDS: readonly RawField[] = ["kind", "value", "counter", "text", "valid", "error", "pollMs"];

const PHYSICAL: Readonly<Record<RawField, readonly string[]>> = {
  kind: ["kind"],
  value: ["gauge_decimal", "gauge_float"],
  counter: ["counter"],
  text: ["text"],
  valid: ["valid"],
  error: ["error"],
  pollMs: ["poll_ms"],
};

function rawSpecs(params: LayoutParams): ColumnSpec[] {
  return [
    identityColumn("namespace"),
    identityColumn("target"),
    identityColumn("poller"),
    timeColumn("ts"),
    kindColumn(),
    decimalColumn("gauge_decimal", params.gaugeScale),
    floatColumn("gauge_float", "DOUBLE"),
    uint64Column("counter"),
    textColumn("text"),
    { element: { name: "valid", type: "BOOLEAN", repetition_type: "REQUIRED" }, pages: "long" },
    textColumn("error"),
    { element: { name: "poll_ms", type: "INT32", repetition_type: "REQUIRED" }, encoding: "PLAIN", pages: "row-group" },
  ];
}

function validateRaw(cols: RawColumns, where: string): void {
  for (let i = 0; i < cols.length; i++) {
    const kind = cols.kind[i];
    if (kind > KIND_CODE.text) throw new RangeError(`Cannot write ${where}: kind ${kind} of row ${i} is unknown`);
    const c = cols.counter[i];
    if (kind === KIND_CODE.counter && (typeof c !== "bigint" || c < 0n || c > MAX_COUNTER)) {
      throw new RangeError(`Cannot write ${where}: counter of row ${i} is ${c}, not an unsigned 64-bit integer`);
    }
  }
}

/** Slots of the raw layout's scratch arrays. */
const GAUGE_VALUES = 0, GAUGE_FLOATS = 1, COUNTERS = 2, GAUGE_PRESENT = 0, COUNTER_PRESENT = 1;

function encodeRaw(cols: RawColumns, params: LayoutParams, scratch: EncodeScratch): EncodedColumns {
  const n = cols.length;
  const gauges = once(() =>
    splitGauges(cols.value, cols.kind, params.gaugeScale, {
      unscaled: scratch.f64(GAUGE_VALUES, n),
      present: scratch.u8(GAUGE_PRESENT, n),
      float: scratch.f64(GAUGE_FLOATS, n),
    })
  );
  return {
    ...identityData(cols),
    ts: () => new Int64Values(cols.ts),
    kind: () => toInt32(cols.kind, scratch.i32(0, n)),
    gauge_decimal: () => gauges().decimal,
    gauge_float: () => gauges().float,
    counter: once(() => counterData(cols, scratch.f64(COUNTERS, n), scratch.u8(COUNTER_PRESENT, n))),
    text: () =>
      cols.kind.includes(KIND_CODE.text)
        ? mapRows(cols.length, (i) => (cols.kind[i] === KIND_CODE.text ? cols.text[i] ?? "" : null))
        : new NullValues(cols.length),
    valid: () => new BooleanValues(cols.valid),
    error: () =>
      anyTruthy(cols.error) ? mapRows(cols.length, (i) => cols.error[i] || null) : new NullValues(cols.length),
    poll_ms: () => cols.pollMs,
  };
}

/** Whether any entry is a non-empty string (a plain loop: no callback per row). */
function anyTruthy(values: readonly (string | null)[]): boolean {
  for (let i = 0; i < values.length; i++) if (values[i]) return true;
  return false;
}

/** Counters as doubles when every one is exact as a double, else as bigints. */
function counterData(cols: RawColumns, values: Float64Array, present: Uint8Array): ColumnData {
  for (let i = 0; i < cols.length; i++) {
    if (cols.kind[i] !== KIND_CODE.counter) {
      values[i] = 0;
      present[i] = 0;
      continue;
    }
    const c = cols.counter[i]!;
    if (c > MAX_EXACT) {
      return mapRows(cols.length, (k) => (cols.kind[k] === KIND_CODE.counter ? cols.counter[k] : null));
    }
    values[i] = Number(c);
    present[i] = 1;
  }
  return new Int64Values(values, present);
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

function decodeRaw(columns: PhysicalColumns, length: number): RawColumns {
  return {
    length,
    namespace: toStrings(columns.namespace, length),
    target: toStrings(columns.target, length),
    poller: toStrings(columns.poller, length),
    ts: toFloat64(columns.ts, length),
    kind: toIntegers(columns.kind, new Uint8Array(length)),
    value: columns.gauge_decimal
      ? joinGauges(columns.gauge_decimal, columns.gauge_float!)
      : toFloat64(undefined, length),
    counter: toNullable<bigint>(columns.counter, length).map((
      c,
    ) => (c === null || c >= 0n ? c : BigInt.asUintN(64, c))),
    text: toNullable<string>(columns.text, length),
    valid: toIntegers(columns.valid, new Uint8Array(length)),
    error: toNullable<string>(columns.error, length),
    pollMs: toIntegers(columns.poll_ms, new Int32Array(length)),
  };
}

/**
 * DuckDB 0.9.1 misreads a DELTA_BINARY_PACKED page whose first value, as a signed INT64, lies outside
 * [-2^62, 2^62) (it drops the top bit of the zigzag varint); hyparquet reads it fine. Counters that
 * large (≥ 2^62 bytes, 4.6 EB) are rare, so a row group holding one writes its counters PLAIN.
 */
const DELTA_SAFE_LIMIT = 2n ** 62n;

function encodingOverrides(data: EncodedColumns): Record<string, ColumnSpec["encoding"]> {
  const counters = data.counter();
  if (counters instanceof Int64Values) return {}; // all below 2^53
  return (counters as (bigint | null)[]).some((c) => c !== null && c >= DELTA_SAFE_LIMIT) ? { counter: "PLAIN" } : {};
}

/** Columns that hold values only for rows of one kind. */
const VALUE_COLUMNS_BY_KIND: readonly [number, readonly string[]][] = [
  [KIND_CODE.gauge, ["gauge_decimal", "gauge_float"]],
  [KIND_CODE.counter, ["counter"]],
  [KIND_CODE.text, ["text"]],
];

function nullColumns(kinds: DecodedArray): string[] {
  const present = new Set<number>();
  for (let i = 0; i < kinds.length; i++) present.add(Number(kinds[i]));
  return VALUE_COLUMNS_BY_KIND.filter(([kind]) => !present.has(kind)).flatMap(([, columns]) => columns);
}

/**
 * Rows per data page of raw files: one series' day (1,440 rows) touches one or two pages per
 * column, while zstd still gets enough data per page.
 */
export const RAW_PAGE_ROWS = 4_096;

/** The raw tier layout. */
export const RAW_LAYOUT: TierLayout<RawColumns, RawField> = {
  timeColumn: "ts",
  defaultPageRows: RAW_PAGE_ROWS,
  fields: RAW_FIELDS,
  physicalColumns: (field) => PHYSICAL[field],
  time: (cols) => cols.ts,
  chooseParams: (first) => ({ gaugeScale: chooseGaugeScale(first.value, first.kind) }),
  specs: rawSpecs,
  validate: validateRaw,
  encode: encodeRaw,
  encodingOverrides,
  decode: decodeRaw,
  probeColumn: "kind",
  nullColumns,
};
