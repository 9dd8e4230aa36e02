/**
 * CSV rendering of a SQL answer (RFC 4180 quoting, `\n` line ends like DuckDB's own `COPY … TO`).
 *
 * @module
 */
import type { SqlResult, SqlValue } from "./types.ts";

/**
 * The answer as CSV: a header line with the column names, then one line per row. Null is an empty
 * field and an empty string `""`; strings are quoted when they hold a comma, quote, line break or edge space (a quote doubles);
 * LIST/STRUCT/MAP values are their JSON text. `truncated` is not in the CSV: send it out of band
 * (e.g. an HTTP header).
 *
 * @example
 * ```ts
 * import { toCsv } from "./csv.ts";
 * const csv = toCsv({
 *   columns: [{ name: "host", type: "VARCHAR" }, { name: "n", type: "BIGINT" }],
 *   rows: [["a,b", 1], [null, 2]],
 * });
 * console.assert(csv === 'host,n\n"a,b",1\n,2\n');
 * ```
 */
export function toCsv(result: Pick<SqlResult, "columns" | "rows">): string {
  const lines = [result.columns.map((c) => csvField(c.name)).join(",")];
  for (const row of result.rows) lines.push(row.map(csvValue).join(","));
  return `${lines.join("\n")}\n`;
}

function csvValue(value: SqlValue): string {
  if (value === null) return "";
  if (value === "") return '""';
  if (typeof value === "string") return csvField(value);
  if (typeof value === "object") return csvField(JSON.stringify(value));
  return String(value);
}

function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
