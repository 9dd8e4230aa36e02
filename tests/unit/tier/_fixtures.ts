/**
 * Builders of raw and aggregate batches for the tier tests.
 */
import { Aggregate, QUANTILES, VALUE_KIND_CODE } from "../../../src/model/aggregate.ts";
import { type StatColumns, STATS } from "../../../src/model/aggregate_stats.ts";
import { KIND_CODE, type SampleKind } from "../../../src/model/sample.ts";
import { createSketch, encodeSketch } from "../../reference/ddsketch.ts";
import type { AggColumns, RawColumns } from "../../../src/parquet/columns.ts";
import type { Compression } from "../../../src/parquet/compressors.ts";
import { concatBatches } from "../../../src/parquet/batch.ts";

/** 2026-11-25T00:00:00Z. */
export const DAY0 = Date.UTC(2026, 10, 25);
export const MINUTE = 60_000;

export const ZSTD: Compression = { algorithm: "zstd", level: 3 };
export const ALL_COMPRESSIONS: Compression[] = [
  { algorithm: "zstd", level: 3 },
  { algorithm: "zstd", level: 19 },
  { algorithm: "snappy", level: 1 },
  { algorithm: "gzip", level: 6 },
  { algorithm: "none", level: 1 },
];

/** One raw row, as a test writes it. */
export interface RawRow {
  namespace?: string;
  target?: string;
  poller?: string;
  ts: number;
  kind: SampleKind;
  value?: number;
  counter?: bigint;
  text?: string;
  valid?: boolean;
  error?: string;
  pollMs?: number;
}

/** A raw batch from row objects (in the given order). */
export function rawOf(rows: RawRow[]): RawColumns {
  return {
    length: rows.length,
    namespace: rows.map((r) => r.namespace ?? "prod"),
    target: rows.map((r) => r.target ?? "r1"),
    poller: rows.map((r) => r.poller ?? "cpu"),
    ts: Float64Array.from(rows, (r) => r.ts),
    kind: Uint8Array.from(rows, (r) => KIND_CODE[r.kind]),
    value: Float64Array.from(rows, (r) => (r.kind === "gauge" ? r.value ?? NaN : NaN)),
    counter: rows.map((r) => (r.kind === "counter" ? r.counter ?? 0n : null)),
    text: rows.map((r) => (r.kind === "text" ? r.text ?? "" : null)),
    valid: Uint8Array.from(rows, (r) => (r.valid === false ? 0 : 1)),
    error: rows.map((r) => r.error || null),
    pollMs: Int32Array.from(rows, (r) => r.pollMs ?? 0),
  };
}

/**
 * A sorted raw batch of `targets` targets × 4 pollers (cpu gauge with 2 decimals, ifIn counter, status
 * 0/1 gauge, descr text) × `points` points, one per minute from `start`.
 */
export function syntheticRaw(targets: number, points: number, start = DAY0, namespace = "prod"): RawColumns {
  const rows: RawRow[] = [];
  for (let t = 0; t < targets; t++) {
    const target = `router-${String(t).padStart(4, "0")}`;
    for (const poller of ["cpu", "ifIn", "status", "sysDescr"]) {
      for (let i = 0; i < points; i++) rows.push(syntheticRow(namespace, target, poller, start + i * MINUTE, t, i));
    }
  }
  return rawOf(rows);
}

function syntheticRow(namespace: string, target: string, poller: string, ts: number, t: number, i: number): RawRow {
  const base = { namespace, target, poller, ts, pollMs: 10 + ((t * 7 + i) % 50) };
  switch (poller) {
    case "cpu":
      return { ...base, kind: "gauge", value: Math.round(((t * 13 + i * 7) % 10_000) + 0.37 * 100) / 100 };
    case "ifIn":
      return { ...base, kind: "counter", counter: BigInt(t) * 1_000_000_007n + BigInt(i) * 12_345n };
    case "status":
      return { ...base, kind: "gauge", value: i % 97 === 0 ? 0 : 1 };
    default:
      return { ...base, kind: "text", text: `device ${t}`, valid: i % 50 !== 0, error: i % 50 === 0 ? "timeout" : "" };
  }
}

/** An aggregate batch of `series` gauge series × `buckets` 5-minute buckets with sketches. */
export function syntheticAgg(series: number, buckets: number, start = DAY0): AggColumns {
  const parts: AggColumns[] = [];
  for (let s = 0; s < series; s++) {
    const rows = Array.from({ length: buckets }, (_, b) => {
      const agg = Aggregate.empty(0.01);
      const values = Array.from({ length: 5 }, (_, i) => ((s * 31 + b * 7 + i * 3) % 1000) / 10 - 20);
      values.forEach((v, i) => agg.add(v, start + b * 300_000 + i * MINUTE));
      return { bucket: start + b * 300_000, agg, values };
    });
    parts.push(aggOf(`router-${String(s).padStart(4, "0")}`, "cpu", VALUE_KIND_CODE.gauge, rows));
  }
  return concatBatches(parts);
}

/** DDSketch protobuf of `values` at 1 % accuracy. */
export function sketchOf(values: number[]): Uint8Array {
  const sketch = createSketch(0.01);
  for (const v of values) sketch.accept(v);
  return encodeSketch(sketch);
}

/** Aggregate rows of one series. */
export function aggOf(
  target: string,
  poller: string,
  kind: number,
  rows: { bucket: number; agg: Aggregate; values: number[] }[],
): AggColumns {
  const n = rows.length;
  const num = (f: (a: Aggregate, i: number) => number) => Float64Array.from(rows, (r, i) => f(r.agg, i));
  const known = (a: Aggregate, v: number) => (a.count === 0 ? NaN : v);
  const q = (k: number) => num((a) => a.quantile(QUANTILES[k]));
  return {
    length: n,
    namespace: new Array(n).fill("prod"),
    target: new Array(n).fill(target),
    poller: new Array(n).fill(poller),
    bucket: Float64Array.from(rows, (r) => r.bucket),
    kind: new Uint8Array(n).fill(kind),
    ...Object.fromEntries(
      STATS.map((s) => [s.name, num((a) => (s.type === "value" ? known(a, a[s.name]) : a[s.name]))]),
    ) as StatColumns,
    p50: q(0),
    p90: q(1),
    p95: q(2),
    p99: q(3),
    sketch: rows.map((r) => (r.values.length > 0 ? sketchOf(r.values) : null)),
  };
}

/** Plain objects of the rows of a batch (for deepEqual with readable diffs). */
export function rowsOf<B extends { length: number }>(batch: B): Record<string, unknown>[] {
  const columns = Object.entries(batch).filter(([k]) => k !== "length") as unknown as [string, ArrayLike<unknown>][];
  return Array.from({ length: batch.length }, (_, i) => Object.fromEntries(columns.map(([k, c]) => [k, c[i]])));
}
