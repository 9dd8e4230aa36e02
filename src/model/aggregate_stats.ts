/**
 * The statistics of an aggregate, declared once. Everything that holds, copies, merges or encodes a
 * bucket's statistics derives from {@link STATS}: the {@link Aggregate} object, the streaming
 * aggregator's slot columns (allocation, growth, copy, selection, snapshot), the flush batch, the
 * aggregate tier's Parquet columns and the rows of a query. Adding a statistic means adding one entry
 * here, plus the rule by which a sample contributes to it (`Aggregate.add`, `Aggregator.addValue`).
 *
 * A statistic's `type` decides its encodings:
 *
 * | type    | snapshot | Parquet                                   | meaning                         |
 * | ------- | -------- | ----------------------------------------- | ------------------------------- |
 * | `count` | varint   | INT64, required, DELTA_BINARY_PACKED      | a non-negative integer          |
 * | `value` | f64      | DOUBLE, optional (null when count = 0)    | a number of the series' values  |
 * | `time`  | f64      | INT64 TIMESTAMP(MILLIS), required, DELTA  | Unix ms (±Infinity when empty)  |
 *
 * @module
 */

/** How two partial values of a statistic combine. */
export type MergeRule = "add" | "min" | "max";

/** What a statistic holds (see the module doc for its encodings). */
export type StatType = "count" | "value" | "time";

/** One statistic of an aggregate. */
export interface StatSpec {
  /** The field name in memory (`Aggregate`, slot columns, `AggColumns`). */
  readonly name: string;
  /** The Parquet column name. */
  readonly column: string;
  /** The value of an empty bucket (the identity of `merge`). */
  readonly empty: number;
  readonly merge: MergeRule;
  readonly type: StatType;
}

/**
 * The statistics, in their on-disk order (snapshot and Parquet).
 *
 * @example
 * ```ts
 * import { STATS } from "./aggregate_stats.ts";
 * if (STATS.map((s) => s.column).join() !== "count,error_count,sum,min,max,first_ts,last_ts") throw new Error();
 * ```
 */
export const STATS = [
  { name: "count", column: "count", empty: 0, merge: "add", type: "count" },
  /** Failed polls. */
  { name: "errorCount", column: "error_count", empty: 0, merge: "add", type: "count" },
  { name: "sum", column: "sum", empty: 0, merge: "add", type: "value" },
  { name: "min", column: "min", empty: Infinity, merge: "min", type: "value" },
  { name: "max", column: "max", empty: -Infinity, merge: "max", type: "value" },
  /** Time of the first sample that touched the bucket (valid or not). */
  { name: "firstTs", column: "first_ts", empty: Infinity, merge: "min", type: "time" },
  /** Time of the last sample that touched the bucket (valid or not). */
  { name: "lastTs", column: "last_ts", empty: -Infinity, merge: "max", type: "time" },
] as const satisfies readonly StatSpec[];

/** The name of a statistic. */
export type StatName = typeof STATS[number]["name"];

/** One bucket's statistics. */
export type Stats = Record<StatName, number>;

/** The statistics of many buckets, one column per statistic. */
export type StatColumns = Record<StatName, Float64Array>;

/**
 * Combines two partial values by a merge rule.
 *
 * @example
 * ```ts
 * import { combine } from "./aggregate_stats.ts";
 * if (combine("add", 2, 3) !== 5 || combine("min", 2, 3) !== 2 || combine("max", 2, 3) !== 3) throw new Error();
 * ```
 */
export function combine(rule: MergeRule, a: number, b: number): number {
  return rule === "add" ? a + b : rule === "min" ? (b < a ? b : a) : (b > a ? b : a);
}

/** Sets every statistic of `into` to its empty value. */
export function emptyStats<T extends Stats>(into: T): T {
  for (const s of STATS) into[s.name] = s.empty;
  return into;
}

/** Merges `from` into `into`, statistic by statistic. */
export function mergeStats(into: Stats, from: Stats): void {
  for (const s of STATS) into[s.name] = combine(s.merge, into[s.name], from[s.name]);
}

/** Copies every statistic of `from` into `into`. */
export function copyStats(into: Stats, from: Stats): void {
  for (const s of STATS) into[s.name] = from[s.name];
}

/** New stat columns of `n` rows, zeroed. */
export function allocStatColumns(n: number): StatColumns {
  const out = {} as StatColumns;
  for (const s of STATS) out[s.name] = new Float64Array(n);
  return out;
}

/** Row `i` of stat columns into `into`. */
export function statsAt(cols: StatColumns, i: number, into: Stats): void {
  for (const s of STATS) into[s.name] = cols[s.name][i];
}
