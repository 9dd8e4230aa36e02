/**
 * Renders query answers as JSON (the API's shape) and CSV. Shared by the HTTP API and the CLI.
 *
 * @module
 */
import { type Aggregate, QUANTILES } from "../model/aggregate.ts";
import { STATS } from "../model/aggregate_stats.ts";
import type { AggRow } from "../tier/agg_rows.ts";
import type { QueryResult, RawPoint, SeriesResult } from "./query.ts";

const num = (v: number) => (Number.isFinite(v) ? v : null);

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** A counter as JSON: a number when exact, else a decimal string. */
export function counterJson(v: bigint): number | string {
  return v <= MAX_EXACT ? Number(v) : v.toString();
}

/** One column of an aggregate point (JSON key, CSV and export column). */
export interface PointColumn {
  readonly name: string;
  /** Its type in an exported Parquet file. */
  readonly type: "INT64" | "DOUBLE";
  value(a: Aggregate, quantiles: ArrayLike<number>): number | null;
}

const statColumn = (s: typeof STATS[number]): PointColumn => ({
  name: s.column,
  type: s.type === "value" ? "DOUBLE" : "INT64",
  // values are null in an empty bucket, times when unknown (±Infinity), counts always numbers
  value: s.type === "value"
    ? (a) => (a.count > 0 ? a[s.name] : null)
    : s.type === "time"
    ? (a) => num(a[s.name])
    : (a) => a[s.name],
});

/**
 * The columns of an aggregate point, derived from `STATS` and `QUANTILES`: `count`, the value
 * statistics, `avg`, the percentiles, the time statistics, then the other counts.
 */
export const POINT_COLUMNS: readonly PointColumn[] = [
  ...STATS.filter((s) => s.name === "count").map(statColumn),
  ...STATS.filter((s) => s.type === "value").map(statColumn),
  { name: "avg", type: "DOUBLE", value: (a) => num(a.avg()) },
  ...QUANTILES.map((q, k): PointColumn => ({
    name: `p${Math.round(q * 100)}`,
    type: "DOUBLE",
    value: (_, p) => num(p[k]),
  })),
  ...STATS.filter((s) => s.type === "time").map(statColumn),
  ...STATS.filter((s) => s.type === "count" && s.name !== "count").map(statColumn),
];

/** One aggregate point as JSON. */
export function pointJson(r: AggRow): Record<string, unknown> {
  const q = r.agg.quantiles();
  const out: Record<string, unknown> = { t: r.bucket };
  for (const c of POINT_COLUMNS) out[c.name] = c.value(r.agg, q);
  return out;
}

/** One raw sample as JSON. */
export function sampleJson(p: RawPoint): Record<string, unknown> {
  const out: Record<string, unknown> = { t: p.ts, kind: p.kind, valid: p.valid };
  if (p.value !== undefined) out.value = p.value;
  if (p.counter !== undefined) out.value_counter = counterJson(p.counter);
  if (p.text !== undefined) out.value_text = p.text;
  if (p.error !== undefined) out.error = p.error;
  if (p.pollMs !== 0) out.poll_ms = p.pollMs;
  return out;
}

/** The whole answer as a JSON-ready object. */
export function resultJson(r: QueryResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tier: r.tier,
    ...extra,
    from: r.fromMs,
    to: r.toMs,
    partial: r.partial,
    truncated: r.truncated,
    warnings: r.warnings,
    series: r.series.map(seriesJson),
  };
}

function seriesJson(s: SeriesResult): Record<string, unknown> {
  const out: Record<string, unknown> = { namespace: s.namespace, target: s.target, poller: s.poller };
  if (s.points) {
    out.kind = s.kind;
    out.points = s.points.map(pointJson);
  }
  if (s.samples) out.samples = s.samples.map(sampleJson);
  return out;
}

const AGG_COLUMNS = POINT_COLUMNS.map((c) => c.name);
const RAW_COLUMNS = ["kind", "value", "value_counter", "value_text", "valid", "error", "poll_ms"];

/** The answer as CSV: one line per point or sample, with the series identity on each line. */
export function resultCsv(r: QueryResult): string {
  const aggregate = r.tier !== "raw";
  const cols = aggregate ? AGG_COLUMNS : RAW_COLUMNS;
  const lines = [
    ["namespace", "target", "poller", "tier", "t", "time", ...(aggregate ? ["kind"] : []), ...cols].join(","),
  ];
  for (const s of r.series) {
    const id = [csv(s.namespace), csv(s.target), csv(s.poller), r.tier];
    for (const p of s.points ?? []) {
      const j = pointJson(p);
      lines.push(
        [...id, p.bucket, new Date(p.bucket).toISOString(), s.kind ?? "", ...cols.map((c) => csv(j[c]))].join(","),
      );
    }
    for (const p of s.samples ?? []) {
      const j = sampleJson(p);
      lines.push([...id, p.ts, new Date(p.ts).toISOString(), ...cols.map((c) => csv(j[c]))].join(","));
    }
  }
  return lines.join("\n") + "\n";
}

function csv(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
