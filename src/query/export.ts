/**
 * Export of a query answer as a file: CSV (the query API's CSV), JSON lines (one object per sample or
 * point, with the series identity) or Parquet (hyparquet-writer, zstd; one row per sample or point,
 * the same columns as the CSV). Shared by `GET /api/v1/export` and the `export` command.
 *
 * @module
 */
import { parquetWriteBuffer } from "hyparquet-writer";
import type { ColumnSource } from "hyparquet-writer";
import { pageCompressors } from "../parquet/mod.ts";
import { InputError } from "../model/errors.ts";
import { POINT_COLUMNS, pointJson, resultCsv, sampleJson } from "./format.ts";
import type { QueryRequest, QueryResult } from "./query.ts";
import { parseQueryParams } from "./params.ts";
import type { Config } from "../config/schema.ts";

/** The export formats. */
export const EXPORT_FORMATS = ["csv", "jsonl", "parquet"] as const;
/** An export format. */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** The content type of each format. */
export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  csv: "text/csv; charset=utf-8",
  jsonl: "application/x-ndjson",
  parquet: "application/vnd.apache.parquet",
};

/** Checks a `format` value. */
export function exportFormat(v: string | undefined): ExportFormat {
  const f = v ?? "csv";
  if (!(EXPORT_FORMATS as readonly string[]).includes(f)) {
    throw new InputError("invalid_parameter", `format must be csv, jsonl or parquet, got "${f}"`);
  }
  return f as ExportFormat;
}

type Row = Record<string, unknown>;

/** One row per sample (raw tier) or point (aggregate tiers): the series identity, `t`, then the values. */
export function exportRows(r: QueryResult): Row[] {
  const rows: Row[] = [];
  for (const s of r.series) {
    const id = { namespace: s.namespace, target: s.target, poller: s.poller, tier: r.tier };
    for (const p of s.points ?? []) {
      const { t, ...rest } = pointJson(p);
      rows.push({ ...id, t, kind: s.kind ?? null, ...rest });
    }
    for (const p of s.samples ?? []) rows.push({ ...id, ...sampleJson(p) });
  }
  return rows;
}

const AGG_TYPES: Record<string, "INT64" | "DOUBLE" | "STRING"> = {
  kind: "STRING",
  ...Object.fromEntries(POINT_COLUMNS.map((c) => [c.name, c.type])),
};
const RAW_TYPES: Record<string, "INT64" | "DOUBLE" | "STRING" | "BOOLEAN"> = {
  kind: "STRING",
  value: "DOUBLE",
  value_counter: "INT64",
  value_text: "STRING",
  valid: "BOOLEAN",
  error: "STRING",
  poll_ms: "INT64",
};

/** Counters are unsigned 64-bit: INT64 when every one fits (nearly always), else decimal strings. */
function counterType(rows: Row[]): "INT64" | "STRING" {
  const max = (1n << 63n) - 1n;
  return rows.every((r) => r.value_counter === undefined || BigInt(r.value_counter as number | string) <= max)
    ? "INT64"
    : "STRING";
}

/** The answer as a file of `format`. */
export function exportBody(r: QueryResult, format: ExportFormat): Uint8Array {
  if (format === "csv") return new TextEncoder().encode(resultCsv(r));
  const rows = exportRows(r);
  if (format === "jsonl") return new TextEncoder().encode(rows.map((row) => JSON.stringify(row) + "\n").join(""));
  const types = r.tier === "raw" ? { ...RAW_TYPES, value_counter: counterType(rows) } : AGG_TYPES;
  const columnData: ColumnSource[] = [
    ...["namespace", "target", "poller", "tier"].map((name) => ({
      name,
      data: rows.map((row) => row[name] as string),
      type: "STRING" as const,
      nullable: false,
    })),
    { name: "t", data: rows.map((row) => new Date(row.t as number)), type: "TIMESTAMP", nullable: false },
    ...Object.entries(types).map(([name, type]) => ({
      name,
      type,
      data: rows.map((row) => {
        const v = row[name];
        if (v === undefined || v === null) return null;
        if (type === "INT64") return BigInt(v as number | string);
        if (type === "STRING") return String(v);
        return v;
      }),
    })),
  ];
  return new Uint8Array(parquetWriteBuffer({
    columnData,
    codec: "ZSTD",
    compressors: pageCompressors({ algorithm: "zstd", level: 3 }),
  }));
}

/** Most rows one export holds (it is built in memory): a larger selection is refused, never cut. */
export const EXPORT_MAX_ROWS = 10_000_000;

/**
 * The query request of an export: the query API's parameters (namespace, target, poller, from, to, tier)
 * without its row limit, and the format.
 */
export function parseExportParams(
  p: Record<string, string | undefined>,
  nowMs: number,
  config: Config,
): { request: QueryRequest; format: ExportFormat } {
  const { format, limit: _limit, ...rest } = p;
  const parsed = parseQueryParams(rest, nowMs, config);
  return { request: { ...parsed.request, limit: EXPORT_MAX_ROWS }, format: exportFormat(format) };
}

/** Refuses an answer that hit {@link EXPORT_MAX_ROWS}. */
export function checkComplete(r: QueryResult): void {
  if (r.truncated) {
    throw new InputError(
      "too_large",
      `The export holds more than ${EXPORT_MAX_ROWS} rows: narrow --from/--to or filter by target or poller`,
    );
  }
}
