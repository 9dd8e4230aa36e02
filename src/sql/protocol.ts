/**
 * The messages between the engine (main thread) and its worker. One query at a time; every reply
 * carries the id of the request it answers. An answer's rows travel in slices of at most
 * `ROWS_PER_MESSAGE` rows, before the `result` message that ends it: the main thread then never spends
 * more than a few milliseconds decoding one message, even for 100,000 rows.
 *
 * @module
 */
import type { SqlColumn, SqlSkippedFile, SqlValue, SqlView } from "./types.ts";

/** First message to a fresh worker: load DuckDB with these settings. */
export interface InitRequest {
  type: "init";
  memoryLimitBytes: number;
  /** Data directory; every view file must resolve inside it. */
  allowedRoot: string;
}

/** Run one query. */
export interface QueryRequest {
  type: "query";
  id: number;
  sql: string;
  views: SqlView[];
  maxRows: number;
  /** Time left for this query; the worker cancels it when it runs out. */
  timeoutMs: number;
}

/** Messages to the worker. */
export type WorkerRequest = InitRequest | QueryRequest;

/** DuckDB is loaded and configured. */
export interface ReadyReply {
  type: "ready";
  version: string;
  loadMs: number;
}

/** Most rows in one `rows` message. */
export const ROWS_PER_MESSAGE = 2_000;

/** A slice of a query's rows, in order; the `result` message follows the last slice. */
export interface RowsReply {
  type: "rows";
  id: number;
  rows: SqlValue[][];
}

/** The end of a query's answer: its columns, whether rows were cut at `maxRows`, damaged files left out. */
export interface ResultReply {
  type: "result";
  id: number;
  columns: SqlColumn[];
  truncated: boolean;
  skipped: SqlSkippedFile[];
}

/**
 * Why a request failed: `sql` the query (DuckDB's message), `input` the caller's views, `timeout` the
 * worker cancelled it, `engine` DuckDB is broken and the worker must be replaced.
 */
export type FailureKind = "sql" | "input" | "timeout" | "engine";

/** A failed request (`id` 0: loading failed). */
export interface FailureReply {
  type: "failure";
  id: number;
  kind: FailureKind;
  message: string;
}

/** Messages from the worker. */
export type WorkerReply = ReadyReply | RowsReply | ResultReply | FailureReply;
