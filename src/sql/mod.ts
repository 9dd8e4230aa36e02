/**
 * The SQL engine: DuckDB-WASM on a worker thread, sandboxed, with views over the tier files (`docs/sql.md`).
 *
 * The folder's public surface: what the rest of `src/` uses.
 *
 * @module
 */
export { toCsv } from "./csv.ts";
export { SqlEngine } from "./engine.ts";
export { SqlEngineError, SqlError, SqlTimeoutError } from "./errors.ts";
export { tierViews } from "./tier_views.ts";
export { type SqlResult } from "./types.ts";
