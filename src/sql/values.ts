/**
 * DuckDB values, as Apache Arrow JS reads them from duckdb-wasm's results, turned into JSON-safe
 * values (docs/sql.md has the table):
 *
 * - integers are numbers when they are safe integers (|n| ≤ 2^53 − 1), else decimal strings;
 * - DECIMAL with a scale: a number when the value has at most 15 significant digits (then the number
 *   prints back as the same decimal), else the exact decimal string; DECIMAL(p,0) and HUGEINT follow
 *   the integer rule;
 * - NaN and ±Infinity are the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (as in proto3 JSON);
 * - TIMESTAMP (any precision, with or without time zone) is an ISO 8601 UTC string with milliseconds,
 *   and microseconds only when there are some: `2026-11-25T12:00:00.000Z`, `…00.000123Z`;
 * - DATE `YYYY-MM-DD`, TIME `HH:MM:SS.sss`, BLOB base64, LIST an array, STRUCT and MAP an object.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { SqlValue } from "./types.ts";

/** The parts of an Apache Arrow data type the conversion reads (apache-arrow is duckdb-wasm's dependency). */
export interface ArrowType {
  typeId: number;
  scale?: number;
  unit?: number;
  children?: ArrowField[];
  dictionary?: ArrowType;
}

/** An Apache Arrow field: a name and a type. */
export interface ArrowField {
  name: string;
  type: ArrowType;
}

/** Turns one Arrow value into a JSON-safe one. */
export type ValueConverter = (value: unknown) => SqlValue;

/** Apache Arrow `Type` ids. */
const T = {
  Int: 2,
  Float: 3,
  Binary: 4,
  Decimal: 7,
  Date: 8,
  Time: 9,
  Timestamp: 10,
  List: 12,
  Struct: 13,
  FixedSizeBinary: 15,
  FixedSizeList: 16,
  Map: 17,
  Dictionary: -1,
} as const;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Largest |ms| a JavaScript `Date` holds; DuckDB's ±infinity timestamps lie beyond it. */
const MAX_DATE_MS = 8.64e15;

/**
 * The converter for values of an Arrow type; null stays null.
 *
 * @example
 * ```ts
 * import { valueConverter } from "./values.ts";
 * const int64 = valueConverter({ typeId: 2 });
 * console.assert(int64(42n) === 42 && int64(2n ** 60n) === "1152921504606846976");
 * ```
 */
export function valueConverter(type: ArrowType): ValueConverter {
  const convert = nonNullConverter(type);
  return (value) => (value === null || value === undefined ? null : convert(value));
}

function nonNullConverter(type: ArrowType): ValueConverter {
  switch (type.typeId) {
    case T.Int:
    case T.Float:
      return numberValue;
    case T.Decimal:
      return (v) => decimalValue(String(v), type.scale ?? 0);
    case T.Date:
      return dateValue;
    case T.Time:
      return (v) => timeOfDay(timeMicros(v, type.unit ?? 2));
    case T.Timestamp:
      return (v) => isoTimestamp(Number(v));
    case T.Binary:
    case T.FixedSizeBinary:
      return (v) => Buffer.from(v as Uint8Array).toString("base64");
    case T.List:
    case T.FixedSizeList:
      return listConverter(type);
    case T.Struct:
      return structConverter(type);
    case T.Map:
      return mapConverter(type);
    case T.Dictionary:
      return type.dictionary ? nonNullConverter(type.dictionary) : plainValue;
    default:
      return plainValue;
  }
}

/** An integer or a float: numbers as they are, unsafe integers as strings, non-finite as names. */
export function numberValue(value: unknown): SqlValue {
  if (typeof value === "bigint") return -MAX_SAFE <= value && value <= MAX_SAFE ? Number(value) : String(value);
  const n = Number(value);
  if (Number.isFinite(n)) return n;
  return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
}

/**
 * A DECIMAL from its unscaled integer text: with scale 0 the integer rule, else a number when it has
 * at most 15 significant digits (every such decimal survives the trip through a double), else the
 * exact decimal text.
 *
 * @example
 * ```ts
 * import { decimalValue } from "./values.ts";
 * console.assert(decimalValue("-12345", 2) === -123.45);
 * console.assert(decimalValue("12345678901234567890123", 3) === "12345678901234567890.123");
 * ```
 */
export function decimalValue(unscaled: string, scale: number): SqlValue {
  const n = BigInt(unscaled);
  if (scale === 0) return numberValue(n);
  const magnitude = (n < 0n ? -n : n).toString();
  const digits = magnitude.padStart(scale + 1, "0");
  const text = `${n < 0n ? "-" : ""}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return magnitude.replace(/0+$/, "").length <= MAX_EXACT_DIGITS ? Number(text) : text;
}

/** Significant decimal digits every double holds exactly (`DBL_DIG`). */
const MAX_EXACT_DIGITS = 15;

/**
 * Unix milliseconds (fractional: microseconds) as ISO 8601 UTC with milliseconds, plus microseconds
 * when there are some; beyond the range of a `Date` (DuckDB's ±infinity) `"infinity"`/`"-infinity"`.
 *
 * @example
 * ```ts
 * import { isoTimestamp } from "./values.ts";
 * console.assert(isoTimestamp(1795608000123) === "2026-11-25T12:00:00.123Z");
 * console.assert(isoTimestamp(1795608000123.456) === "2026-11-25T12:00:00.123456Z");
 * ```
 */
export function isoTimestamp(ms: number): string {
  if (!(Math.abs(ms) <= MAX_DATE_MS)) return ms > 0 ? "infinity" : "-infinity";
  let whole = Math.floor(ms);
  let micros = Math.round((ms - whole) * 1000);
  if (micros === 1000) [whole, micros] = [whole + 1, 0];
  const iso = new Date(whole).toISOString();
  return micros === 0 ? iso : `${iso.slice(0, -1)}${String(micros).padStart(3, "0")}Z`;
}

/** A DATE inside a LIST/STRUCT/MAP (top-level DATE columns come as DuckDB's text). */
function dateValue(value: unknown): SqlValue {
  const ms = value instanceof Date ? value.getTime() : Number(value);
  return Number.isNaN(ms) ? null : isoTimestamp(ms).split("T")[0];
}

const UNIT_MICROS = [1_000_000, 1_000, 1, 0.001];

function timeMicros(value: unknown, unit: number): number {
  return Math.round(Number(value) * UNIT_MICROS[unit]);
}

/** Microseconds since midnight as `HH:MM:SS.sss`, plus microseconds when there are some. */
function timeOfDay(micros: number): string {
  const iso = isoTimestamp(micros / 1000);
  return iso.slice(iso.indexOf("T") + 1, -1);
}

function listConverter(type: ArrowType): ValueConverter {
  const item = valueConverter(type.children![0].type);
  return (v) => Array.from(v as Iterable<unknown>, item);
}

function structConverter(type: ArrowType): ValueConverter {
  const fields = type.children!.map((f) => [f.name, valueConverter(f.type)] as const);
  return (v) => {
    const row = v as Record<string, unknown>;
    const out: Record<string, SqlValue> = {};
    for (const [name, convert] of fields) out[name] = convert(row[name]);
    return out;
  };
}

/** A MAP as an object; keys become their JSON text when they are not strings. */
function mapConverter(type: ArrowType): ValueConverter {
  const [key, value] = type.children![0].type.children!.map((f) => valueConverter(f.type));
  return (v) => {
    const out: Record<string, SqlValue> = {};
    for (const [k, val] of v as Iterable<[unknown, unknown]>) {
      const name = key(k);
      out[typeof name === "string" ? name : JSON.stringify(name)] = value(val);
    }
    return out;
  };
}

/** Strings and booleans as they are; anything else by its JavaScript type. */
function plainValue(value: unknown): SqlValue {
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number" || typeof value === "bigint") return numberValue(value);
  if (value instanceof Date) return isoTimestamp(value.getTime());
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return String(value);
}
