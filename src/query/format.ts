/**
 * Renders query answers as JSON (the API's shape) and CSV. Shared by the HTTP API and the CLI.
 *
 * @module
 */
import type { AggRow } from "../tier/agg_rows.ts";
import type { QueryResult, RawPoint, SeriesResult } from "./query.ts";

const num = (v: number) => (Number.isFinite(v) ? v : null);

/** A counter as JSON: a number when exact, else a decimal string. */
export function counterJson(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** One aggregate point as JSON. */
export function pointJson(r: AggRow): Record<string, unknown> {
  const a = r.agg;
  const q = a.quantiles();
  return {
    t: r.bucket,
    count: a.count,
    sum: a.count > 0 ? a.sum : null,
    min: a.count > 0 ? a.min : null,
    max: a.count > 0 ? a.max : null,
    avg: num(a.avg()),
    p50: num(q[0]),
    p90: num(q[1]),
    p95: num(q[2]),
    p99: num(q[3]),
    first_ts: num(a.firstTs),
    last_ts: num(a.lastTs),
    error_count: a.errorCount,
  };
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

const AGG_COLUMNS = [
  "count",
  "sum",
  "min",
  "max",
  "avg",
  "p50",
  "p90",
  "p95",
  "p99",
  "first_ts",
  "last_ts",
  "error_count",
];
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
