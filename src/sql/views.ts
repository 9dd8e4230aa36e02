/**
 * The views a query runs over: checking what the caller gives (names, files inside the data
 * directory) and the `CREATE VIEW` statements over exactly those Parquet files.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { SqlError } from "./errors.ts";
import type { SqlColumn, SqlView } from "./types.ts";

const VIEW_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters DuckDB would expand as a glob in a `read_parquet` path. */
const GLOB_CHARS = /[*?[]/;

/**
 * Throws a `TypeError` unless every view has a plain, unique name, and files that are normalized
 * absolute paths inside `root` (or, when it has no files, its columns).
 *
 * @example
 * ```ts
 * import { checkViews } from "./views.ts";
 * checkViews([{ name: "raw", files: ["/data/raw/a.parquet"] }], "/data");
 * let refused = false;
 * try { checkViews([{ name: "raw", files: ["/etc/passwd"] }], "/data"); } catch { refused = true; }
 * console.assert(refused);
 * ```
 */
export function checkViews(views: readonly SqlView[], root: string): void {
  const seen = new Set<string>();
  for (const view of views) {
    if (!VIEW_NAME.test(view.name)) {
      throw new TypeError(`Cannot create SQL view ${JSON.stringify(view.name)}: the name must be a plain identifier`);
    }
    if (seen.has(view.name.toLowerCase())) {
      throw new TypeError(`Cannot create SQL view ${view.name}: the name is given twice`);
    }
    seen.add(view.name.toLowerCase());
    if (view.files.length === 0 && !view.columns?.length) {
      throw new TypeError(`Cannot create SQL view ${view.name}: it has no files and no columns; give SqlView.columns`);
    }
    for (const file of view.files) checkFile(view.name, file, root);
    if (view.parts) checkParts(view);
  }
}

/** Every file of the view in a part, only its own files in a part, a time column to guard them by. */
function checkParts(view: SqlView): void {
  const files = new Set(view.files), seen = new Set<string>();
  if (!view.timeColumn) throw new TypeError(`Cannot create SQL view ${view.name}: parts need a timeColumn`);
  for (const part of view.parts!) {
    if (!(Number.isFinite(part.minMs) && Number.isFinite(part.maxMs) && part.minMs <= part.maxMs)) {
      throw new TypeError(`Cannot create SQL view ${view.name}: part range ${part.minMs}..${part.maxMs} is invalid`);
    }
    for (const file of part.files) {
      if (!files.has(file)) throw new TypeError(`Cannot use ${file} in SQL view ${view.name}: not one of its files`);
      seen.add(file);
    }
  }
  if (seen.size !== files.size) {
    throw new TypeError(`Cannot create SQL view ${view.name}: ${files.size - seen.size} file(s) are in no part`);
  }
}

function checkFile(view: string, file: string, root: string): void {
  if (!path.isAbsolute(file) || path.normalize(file) !== file || GLOB_CHARS.test(file)) {
    throw new TypeError(`Cannot use ${file} in SQL view ${view}: not a normalized absolute path without * ? [`);
  }
  if (!isInside(file, root)) {
    throw new TypeError(`Cannot use ${file} in SQL view ${view}: it is outside the data directory ${root}`);
  }
}

function isInside(file: string, root: string): boolean {
  const rel = path.relative(root, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/**
 * The files of `views` once symbolic links are resolved: each must still exist (`SqlError`, a file
 * compaction or retention removed meanwhile) and really be inside `root` (`TypeError`).
 */
export function viewFiles(views: readonly SqlView[], root: string): string[] {
  const files: string[] = [];
  if (views.every((view) => view.files.length === 0)) return files;
  const realRoot = fs.realpathSync(root);
  for (const view of views) {
    for (const file of view.files) {
      if (!isInside(realPath(view.name, file), realRoot)) {
        throw new TypeError(`Cannot use ${file} in SQL view ${view.name}: it links outside the data directory ${root}`);
      }
      files.push(file);
    }
  }
  return files;
}

function realPath(view: string, file: string): string {
  try {
    return fs.realpathSync(file);
  } catch (err) {
    throw new SqlError(`file ${file} of view ${view} cannot be read (${(err as Error).message}); run the query again`, {
      cause: err,
    });
  }
}

/**
 * `CREATE OR REPLACE VIEW` over exactly the view's files, or an empty relation with its columns.
 *
 * @example
 * ```ts
 * import { viewSql } from "./views.ts";
 * console.assert(viewSql({ name: "raw", files: ["/d/a.parquet"] }) ===
 *   `CREATE OR REPLACE VIEW "raw" AS SELECT * FROM read_parquet(['/d/a.parquet'], union_by_name = true, hive_partitioning = false)`);
 * ```
 */
export function viewSql(view: SqlView): string {
  const groupBy = view.groupBy ? ` GROUP BY ${view.groupBy}` : "";
  const parts = (view.parts ?? []).filter((p) => p.files.length > 0).map((p) => {
    const select = p.unique && view.uniqueSelect !== undefined ? view.uniqueSelect : view.select ?? "*";
    const time = quoteIdent(view.timeColumn!);
    let guard = `${time} >= ${timestampTz(p.minMs)} AND ${time} <= ${timestampTz(p.maxMs)}`;
    const ranges = (r: [number, number][]) =>
      r.map(([from, to]) => `${time} BETWEEN ${timestampTz(from)} AND ${timestampTz(to)}`).join(" OR ");
    if (p.within?.length) guard += ` AND (${ranges(p.within)})`;
    if (p.outside?.length) guard += ` AND NOT (${ranges(p.outside)})`;
    return `SELECT ${select} FROM ${readParquet(p.files)} WHERE ${guard}${p.unique ? "" : groupBy}`;
  });
  if (!view.parts) {
    const from = view.files.length > 0 ? readParquet(view.files) : emptyRelation(view.columns ?? []);
    parts.push(`SELECT ${view.select ?? "*"} FROM ${from}${groupBy}`);
  } else if (parts.length === 0) {
    parts.push(`SELECT ${view.select ?? "*"} FROM ${emptyRelation(view.columns ?? [])}${groupBy}`);
  }
  return `CREATE OR REPLACE VIEW ${quoteIdent(view.name)} AS ${parts.join(" UNION ALL ")}`;
}

/**
 * A TIMESTAMPTZ literal of Unix ms, in the form users write (`TIMESTAMPTZ '2026-11-25 00:00:00+00'`):
 * a constant DuckDB folds, so its filter combiner can compare it with the query's own bounds.
 */
export function timestampTz(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `TIMESTAMPTZ '${iso.slice(0, 10)} ${iso.slice(11, 23)}+00'`;
}

function readParquet(files: readonly string[]): string {
  return `read_parquet([${files.map(quoteString).join(", ")}], union_by_name = true, hive_partitioning = false)`;
}

function emptyRelation(columns: readonly SqlColumn[]): string {
  const select = columns.map((c) => `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`).join(", ");
  return `(SELECT ${select} LIMIT 0)`;
}

/** `DROP VIEW` of a view a previous query had. */
export function dropViewSql(name: string): string {
  return `DROP VIEW IF EXISTS ${quoteIdent(name)}`;
}

/** A SQL identifier, quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A SQL string literal. */
export function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
