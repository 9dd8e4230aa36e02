/**
 * The three ways a SQL query fails, which callers branch on: the query itself is wrong or not allowed
 * (`SqlError`, HTTP 400), it ran out of time (`SqlTimeoutError`), or the engine failed
 * (`SqlEngineError`). Bad views from the caller are a `TypeError`.
 *
 * @module
 */

/**
 * DuckDB (or the engine's read-only rules) rejected the query; `detail` is DuckDB's own message.
 *
 * @example
 * ```ts
 * import { SqlError } from "./errors.ts";
 * const err = new SqlError('Parser Error: syntax error at or near "SELEC"');
 * console.assert(err.message === 'Cannot run SQL query: Parser Error: syntax error at or near "SELEC"');
 * ```
 */
export class SqlError extends Error {
  constructor(readonly detail: string, options?: ErrorOptions) {
    super(`Cannot run SQL query: ${detail}`, options);
    this.name = "SqlError";
  }
}

/**
 * The query ran longer than `query.timeout` and was cancelled.
 *
 * @example
 * ```ts
 * import { SqlTimeoutError } from "./errors.ts";
 * console.assert(new SqlTimeoutError(30_000).timeoutMs === 30_000);
 * ```
 */
export class SqlTimeoutError extends Error {
  constructor(readonly timeoutMs: number, options?: ErrorOptions) {
    super(
      `Cannot finish SQL query within ${timeoutMs} ms: it was cancelled; narrow the query or raise query.timeout`,
      options,
    );
    this.name = "SqlTimeoutError";
  }
}

/**
 * The engine itself failed (could not load, crashed, was released mid-query). The engine restarts by
 * itself on the next query.
 *
 * @example
 * ```ts
 * import { SqlEngineError } from "./errors.ts";
 * console.assert(new SqlEngineError("the worker exited").message.startsWith("Cannot run SQL query in the DuckDB engine"));
 * ```
 */
export class SqlEngineError extends Error {
  constructor(state: string, options?: ErrorOptions) {
    super(`Cannot run SQL query in the DuckDB engine: ${state}`, options);
    this.name = "SqlEngineError";
  }
}
