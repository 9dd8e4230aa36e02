/**
 * Plain-text tables for terminal output.
 *
 * @module
 */

/**
 * Renders rows under headers with aligned columns (numbers right-aligned).
 *
 * @example
 * ```ts
 * import { renderTable } from "./table.ts";
 * const t = renderTable(["a", "n"], [["x", 1], ["yy", 22]]);
 * if (!t.includes("yy  22")) throw new Error(t);
 * ```
 */
export function renderTable(headers: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const numeric = headers.map((_, i) =>
    rows.length > 0 && rows.every((r) => typeof r[i] === "number" || r[i] === null)
  );
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n") + "\n";
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(10)));
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
