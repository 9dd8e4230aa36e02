/**
 * A tier layout: how the columns of one kind of batch (`RawColumns`, `AggColumns`) map to Parquet
 * columns and back. The writer and the reader are generic over it; `parquet_raw.ts` and
 * `parquet_agg.ts` are the two layouts. Also the small conversions both layouts share.
 *
 * @module
 */
import type { DecodedArray } from "hyparquet";
import type { BooleanValues, DoubleValues, Int64Values, NullValues } from "./fast_column.ts";
import type { DictionaryIds } from "./identity.ts";
import type { Batch, IdentityColumns } from "./batch.ts";
import type { ColumnSpec } from "./schema.ts";

/** Per-file choices a layout makes from the first row group (kept for the whole file). */
export interface LayoutParams {
  /** Decimal scale of raw gauges (`gauge_decimal`); unused by aggregates. */
  gaugeScale: number;
}

/** Decoded Parquet columns of some rows, by physical column name (absent when not read). */
export type PhysicalColumns = Record<string, DecodedArray | undefined>;

/**
 * The data of each physical column of a row group, computed on demand: the writer converts one
 * column at a time and yields to the event loop in between.
 */
export type EncodedColumns = Record<string, () => ColumnData>;

/** The values of a column as handed to the writer: INT64 columns may come as {@link Int64Values}. */
export type ColumnData = DecodedArray | Int64Values | DoubleValues | BooleanValues | NullValues | DictionaryIds;

/** The mapping between a batch type and its Parquet columns. */
export interface TierLayout<C extends Batch & IdentityColumns, F extends string> {
  /** Physical name of the time column (filters and `stalker.min_ts`/`max_ts` use it). */
  readonly timeColumn: string;
  /** Rows per data page unless the writer is told otherwise (see docs/format/tiers.md). */
  readonly defaultPageRows: number;
  /** Fields of the batch that a reader may ask for (identity and time are always read). */
  readonly fields: readonly F[];
  /** Physical columns that hold `field`. */
  physicalColumns(field: F): readonly string[];
  /** The time column of a batch. */
  time(batch: C): Float64Array;
  /** Chooses the per-file parameters from the first row group. */
  chooseParams(first: C): LayoutParams;
  /** The Parquet columns of a file. */
  specs(params: LayoutParams): ColumnSpec[];
  /** Throws a RangeError when a value cannot be stored (the writer checks every batch it accepts). */
  validate(batch: C, where: string): void;
  /**
   * The data of every physical column of a row group (of validated batches). Arrays taken from
   * `scratch` are valid until the next row group of the same file is encoded.
   */
  encode(batch: C, params: LayoutParams, scratch: EncodeScratch): EncodedColumns;
  /** Encodings that replace the spec's for one row group's encoded data (see `parquet_raw.ts`). */
  encodingOverrides?(data: EncodedColumns): Record<string, ColumnSpec["encoding"]>;
  /** A batch from decoded columns; fields whose columns were not read get neutral values. */
  decode(columns: PhysicalColumns, length: number): C;
  /**
   * A cheap column that tells which other columns are all null in some rows (raw: `kind` — rows
   * without gauges have no gauge values), so that readers can skip decoding them.
   */
  readonly probeColumn?: string;
  /** The columns that hold only nulls in rows whose probe column has the values `probe`. */
  nullColumns?(probe: DecodedArray): string[];
}

/**
 * Grow-only arrays a layout's `encode` reuses from row group to row group of one file (each writer has
 * its own): fresh memory for a row group's converted columns (a page fault per 4 KiB) cost more than
 * converting them on the 2-core box. Not zeroed: an encoder sets every element it hands on.
 */
export class EncodeScratch {
  private readonly f64s: Float64Array[] = [];
  private readonly u8s: Uint8Array[] = [];
  private readonly i32s: Int32Array[] = [];

  /** `n` doubles, slot `slot`. */
  f64(slot: number, n: number): Float64Array {
    if (!(this.f64s[slot]?.length >= n)) this.f64s[slot] = new Float64Array(n);
    return this.f64s[slot].subarray(0, n);
  }

  /** `n` bytes, slot `slot`. */
  u8(slot: number, n: number): Uint8Array {
    if (!(this.u8s[slot]?.length >= n)) this.u8s[slot] = new Uint8Array(n);
    return this.u8s[slot].subarray(0, n);
  }

  /** `n` 32-bit integers, slot `slot`. */
  i32(slot: number, n: number): Int32Array {
    if (!(this.i32s[slot]?.length >= n)) this.i32s[slot] = new Int32Array(n);
    return this.i32s[slot].subarray(0, n);
  }
}

/** `values` as 32-bit integers, into `out`. */
export function toInt32(values: Uint8Array, out: Int32Array): Int32Array {
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/** Numbers of a decoded column (null → NaN); NaN-filled when the column was not read. */
export function toFloat64(column: DecodedArray | undefined, length: number): Float64Array {
  const out = new Float64Array(length).fill(NaN);
  if (!column) return out;
  for (let i = 0; i < length; i++) {
    const v = column[i];
    if (v !== null && v !== undefined) out[i] = Number(v);
  }
  return out;
}

/** A column of strings (or byte arrays) with nulls; all null when the column was not read. */
export function toNullable<T>(column: DecodedArray | undefined, length: number): (T | null)[] {
  const out = new Array<T | null>(length).fill(null);
  if (!column) return out;
  for (let i = 0; i < length; i++) out[i] = (column[i] ?? null) as T | null;
  return out;
}

/** `f(i)` for every row (a plain loop: `Array.from` with a mapper is several times slower on Bun). */
export function mapRows<T>(length: number, f: (i: number) => T): T[] {
  const out = new Array<T>(length);
  for (let i = 0; i < length; i++) out[i] = f(i);
  return out;
}

/** The identity strings of decoded rows (always read). */
export function toStrings(column: DecodedArray | undefined, length: number): string[] {
  if (!column) throw new TypeError("Cannot decode tier rows: an identity column was not read");
  return mapRows(length, (i) => column[i] as string);
}

/** A typed integer column (booleans become 0/1); zero-filled when the column was not read. */
export function toIntegers<A extends Uint8Array | Int32Array>(
  column: DecodedArray | undefined,
  out: A,
): A {
  if (!column) return out;
  for (let i = 0; i < out.length; i++) out[i] = Number(column[i] ?? 0);
  return out;
}

/** Throws a RangeError unless every value of `values` is a safe integer at least `min`. */
export function assertIntegers(values: ArrayLike<number>, min: number, what: string, where: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isSafeInteger(values[i]) || values[i] < min) {
      throw new RangeError(`Cannot write ${where}: ${what} of row ${i} is ${values[i]}, not an integer >= ${min}`);
    }
  }
}

/** A function that computes `fn()` once, on the first call. */
export function once<T>(fn: () => T): () => T {
  let done = false, value: T;
  return () => {
    if (!done) [value, done] = [fn(), true];
    return value;
  };
}
