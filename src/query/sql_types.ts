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
 * import type { SqlView } from "./sql_types.ts";
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
   * Files (a subset of `files`) that need no GROUP BY: no other file of the view can hold their
   * keys. They are read with `uniqueSelect` and no grouping, the rest with `select` and `groupBy`,
   * and the view is the `UNION ALL` of both, so a scan of a large time range never builds a hash
   * table over every stored row. `uniqueSelect` must give the same columns, in the same order.
   */
  uniqueFiles?: string[];
  uniqueSelect?: string;
  /**
   * The columns the files have (names and DuckDB types, as DuckDB reads them from the tier's Parquet
   * schema). Required when `files` is empty: the view is then an empty relation with these columns.
   */
  columns?: SqlColumn[];
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
