/**
 * What user SQL may be, and how the engine wraps it. A query must be exactly one read-only statement
 * (`SELECT`, `WITH`, `VALUES`, `FROM`-first, `TABLE`, `PIVOT`); DuckDB's own tokenizer finds the
 * statement boundaries, and wrapping the query as a subquery makes DuckDB's grammar itself refuse
 * anything that is not a query (`COPY`, `ATTACH`, `SET`, `INSTALL`, `CREATE`, ... cannot appear there).
 *
 * @module
 */
import { SqlError } from "./errors.ts";
import type { SqlColumn } from "./types.ts";

/** DuckDB's tokens of a script: start offsets and token types (duckdb-wasm's `ScriptTokens`). */
export interface SqlTokens {
  offsets: number[];
  types: number[];
}

/** duckdb-wasm `TokenType` values. */
const OPERATOR = 3;
const COMMENT = 5;

const QUERY_STARTS = new Set(["select", "with", "values", "from", "table", "pivot", "unpivot", "("]);

/**
 * The single read-only statement in `sql`, without a trailing `;`. Throws `SqlError` when `sql` is
 * empty, holds more than one statement, or does not start like a query.
 *
 * @example
 * ```ts
 * import { singleQuery } from "./statement.ts";
 * // DuckDB's tokens of "SELECT 1;" (duckdb-wasm `tokenize`): SELECT, 1, ;
 * const q = singleQuery("SELECT 1;", { offsets: [0, 7, 8], types: [4, 1, 3] });
 * console.assert(q === "SELECT 1");
 * ```
 */
export function singleQuery(sql: string, tokens: SqlTokens): string {
  const starts = tokens.offsets.filter((_, i) => tokens.types[i] !== COMMENT);
  const kinds = tokens.types.filter((t) => t !== COMMENT);
  const firstSemicolon = kinds.findIndex((t, i) => t === OPERATOR && sql[starts[i]] === ";");
  const end = firstSemicolon < 0 ? starts.length : firstSemicolon;
  if (end === 0) throw new SqlError("the query is empty");
  for (let i = end; i < starts.length; i++) {
    if (kinds[i] !== OPERATOR || sql[starts[i]] !== ";") throw new SqlError("only one statement is allowed");
  }
  const word = firstWord(sql.slice(starts[0]));
  if (!QUERY_STARTS.has(word.toLowerCase())) {
    throw new SqlError(
      `only read-only queries (SELECT, WITH, VALUES, FROM, TABLE, PIVOT) are allowed, not ${word.toUpperCase()}`,
    );
  }
  return end < starts.length ? sql.slice(0, starts[end]) : sql;
}

function firstWord(text: string): string {
  return /^(?:[A-Za-z_][A-Za-z0-9_]*|\S)/.exec(text)?.[0] ?? "";
}

/**
 * The statement that makes DuckDB name and type the query's columns without running it. Newlines
 * around the query keep a trailing `--` comment from swallowing the closing parenthesis.
 */
export function describeSql(query: string): string {
  return `DESCRIBE SELECT * FROM (\n${query}\n) AS _q`;
}

/**
 * The statement that runs the query: at most `maxRows + 1` rows (one more than allowed tells that the
 * answer is truncated), columns renamed by position (names may repeat) and cast where Arrow would
 * lose information (see {@link columnProjection}).
 */
export function runSql(query: string, columns: SqlColumn[], maxRows: number): string {
  const aliases = columns.map((_, i) => `c${i}`);
  const select = columns.map((c, i) => columnProjection(aliases[i], c.type)).join(", ");
  return `SELECT ${select} FROM (\n${query}\n) AS _q(${aliases.join(", ")}) LIMIT ${maxRows + 1}`;
}

/** Types that duckdb-wasm's Arrow export garbles or Apache Arrow JS cannot read exactly. */
const AS_TEXT = /\b(?:INTERVAL|TIMESTAMP_NS|TIME WITH TIME ZONE|BIT|UNION)\b/;

/**
 * The select expression of one column: `TIMESTAMP_NS` becomes a microsecond `TIMESTAMP`; `DATE` its
 * ISO text (Arrow JS loses the sign of DuckDB's ±infinity dates); `INTERVAL`, `TIME WITH TIME ZONE`,
 * `BIT`, `UNION` and nested types holding them become DuckDB's text.
 */
export function columnProjection(alias: string, type: string): string {
  if (type === "TIMESTAMP_NS") return `CAST(${alias} AS TIMESTAMP) AS ${alias}`;
  if (type === "DATE") return `CAST(${alias} AS VARCHAR) AS ${alias}`;
  if (AS_TEXT.test(type)) return `CAST(${alias} AS VARCHAR) AS ${alias}`;
  return alias;
}
