/**
 * The shapes the SQL engine takes and gives: views over Parquet files in, columns and JSON-safe rows
 * out. See docs/sql.md for the value representation.
 *
 * @module
 */

/** A DuckDB column: its name and its DuckDB type as DuckDB spells it (`BIGINT`, `DECIMAL(18,3)`, ...). */
export interface SqlColumn {
  name: string;
  type: string;
}

/**
 * A view the engine creates for one query, over exactly the given Parquet files.
 *
 * @example A view of the 5-minute tier with a computed column
 * ```ts
 * import type { SqlView } from "./types.ts";
 * const view: SqlView = {
 *   name: "agg_5min",
 *   files: ["/var/lib/stalker/5min/2026-11-25/part-1.parquet"],
 *   select: "*, sum / count AS avg",
 * };
 * ```
 */
export interface SqlView {
  /** View name, a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`), e.g. `raw` or `agg_hourly`. */
  name: string;
  /** Absolute, normalized paths of the Parquet files, all inside the engine's `allowedRoot`. */
  files: string[];
  /**
   * Select list over the file set (trusted SQL from the caller, never from the user), `*` when absent:
   * the view is `SELECT <select> FROM read_parquet(<files>)`.
   */
  select?: string;
  /** Optional GROUP BY list (trusted SQL from the caller), e.g. to merge partial aggregate rows. */
  groupBy?: string;
  /**
   * The view's files cut into parts (each file in one or more, each row in exactly one), each read by its own `UNION ALL`
   * branch guarded by the part's time range: DuckDB folds a query's time filter together with each
   * guard and drops the branches it contradicts before opening their files, so a query over one day
   * reads that day's files only (DuckDB 0.9 does not prune Parquet by TIMESTAMPTZ statistics). A part
   * marked `unique` holds keys no other part holds and no two of its rows share one: it is read with
   * `uniqueSelect` and no grouping, the others with `select` and `groupBy`, so a scan of a large time
   * range never builds a hash table over every stored row. Without parts: one branch, `select` and
   * `groupBy` over every file.
   */
  parts?: SqlViewPart[];
  /** The column the parts' time ranges bound (TIMESTAMPTZ), e.g. `bucket`. */
  timeColumn?: string;
  /** The select list of the `unique` parts: the same columns as `select`, in the same order. */
  uniqueSelect?: string;
  /**
   * The columns the files have (names and DuckDB types, as DuckDB reads them from the tier's Parquet
   * schema). Required when `files` is empty: the view is then an empty relation with these columns.
   */
  columns?: SqlColumn[];
}

/** Files of a view read together, and the time range their rows hold (see {@link SqlView.parts}). */
export interface SqlViewPart {
  files: string[];
  /** No other part holds one of its keys, and none is stored twice in it: no grouping needed. */
  unique: boolean;
  /** Smallest and largest value of the view's time column read from these files, Unix ms. */
  minMs: number;
  maxMs: number;
  /** Only the rows whose time is in one of these inclusive ranges [from, to] (Unix ms)... */
  within?: [number, number][];
  /** ... or in none of them. */
  outside?: [number, number][];
}

/** A view file left out of a query because DuckDB cannot read it, with DuckDB's error. */
export interface SqlSkippedFile {
  file: string;
  error: string;
}

/** A JSON-safe value (see docs/sql.md for how each DuckDB type maps to one). */
export type SqlValue = null | boolean | number | string | SqlValue[] | { [key: string]: SqlValue };

/** The answer to a query. */
export interface SqlResult {
  columns: SqlColumn[];
  /** One array per row, in column order; values are JSON-safe. */
  rows: SqlValue[][];
  /** True when the query had more than `maxRows` rows: `rows` holds the first `maxRows`. */
  truncated: boolean;
  /**
   * View files DuckDB could not read (damaged), left out of the views: the answer lacks their rows.
   * Empty when every file was read.
   */
  skipped: SqlSkippedFile[];
  /** Wall time from `query()` to the answer, engine load and waiting included. */
  elapsedMs: number;
}
