/**
 * Encodes a flush's {@link FlushBatch} into Parquet tier files (bytes): raw samples and closed
 * 5-minute buckets sorted by series then time and split by partition, plus late partial rows for
 * coarser tiers already compacted past them. Pure CPU work with no I/O, so it runs on a worker thread
 * (`tier_worker.ts`) in the server and inline in tests.
 *
 * @module
 */
import { sliceAggregate } from "../aggregate/aggregator_read.ts";
import {
  type ClosedSlice,
  type EncodedFile,
  type FlushBatch,
  type RawSlice,
  SKETCH_MODE,
} from "../aggregate/flush_batch.ts";
import { QUANTILES } from "../model/aggregate.ts";
import { BinSketch } from "../model/bin_sketch.ts";
import { partitionEnd, partitionStart } from "../model/paths.ts";
import type { Tier } from "../model/tier.ts";
import { KIND_CODE } from "../model/sample.ts";
import { summarizeValuesTo } from "../model/bin_sketch.ts";
import { ByteWriter } from "../model/bytes.ts";
import { type AggRow, rowsToColumns } from "./agg_rows.ts";
import {
  type AggColumns,
  allocAggColumns,
  allocRawColumns,
  DEFAULT_ROW_GROUP_ROWS,
  type RawColumns,
  SeriesDictionary,
  sliceBatch,
} from "../parquet/mod.ts";
import { STATS } from "../model/aggregate_stats.ts";
import { encode, type EncodeOptions } from "./encode_file.ts";
import { byPartition, rollup } from "./rollup.ts";

export type { EncodeOptions };

/**
 * Rows turned into columns at a time: one row group. A flush of a million samples then holds one row
 * group's columns (a few MB) instead of the whole flush's (hundreds of MB of short-lived objects).
 */
const BATCH_ROWS = DEFAULT_ROW_GROUP_ROWS; // whole row groups: `encode` may then take reused arrays

/**
 * Encodes every file of a flush: one file per tier and partition it writes.
 *
 * Each row goes to the tiers that keep it. A row whose partition of a tier is already past that tier's
 * retention ({@link FlushBatch.keepFrom}) is not written there when the next retention run would delete
 * it at once: raw samples (no tier is built from raw files), and aggregate rows that also go to the next
 * coarser tier now (its watermark is past them, so they are late rows there) or that are in the weekly
 * tier (the coarsest). So a backfill of years lands in the tiers that hold years (hourly by month,
 * daily and weekly by year), not in a raw and a 5-minute file per day that retention removes minutes
 * later: the files of a flush are bounded by the retentions over the partition widths, whatever the
 * time span of the data.
 */
export async function encodeFlush(b: FlushBatch, encodeOptions: EncodeOptions): Promise<EncodedFile[]> {
  const opts = { ...encodeOptions, compression: flushCompression(encodeOptions.compression) };
  const files: EncodedFile[] = [];
  const kept = keeps(b);
  const names = new SeriesDictionary(b.series.namespace, b.series.target, b.series.poller);
  const order = keptRows(rawOrder(b.raw, b.series.namespace.length), (i) => kept("raw", b.raw.ts[i]));
  for (const p of partitionsOf(order, (i) => partitionStart("raw", b.raw.ts[i]))) {
    files.push(await encode("raw", p, rawBatches(b, names, order, p), opts, "reused"));
  }
  const closedRows = closedOrder(b.closed, b.series.namespace.length);
  const closedKept = keptRows(closedRows, (i) => kept("5min", b.closed.bucket[i]));
  for (const p of partitionsOf(closedKept, (i) => partitionStart("5min", b.closed.bucket[i]))) {
    files.push(await encode("5min", p, aggBatches(b, names, closedKept, p), opts, "reused"));
  }
  let late = lateRows(b, closedRows);
  for (const tier of ["hourly", "daily", "weekly"] as const) {
    late = rollup(late.filter((r) => r.bucket < b.watermarks[tier]), tier);
    if (late.length === 0) break;
    for (const [partition, rows] of byPartition(late.filter((r) => kept(tier, r.bucket)), tier)) {
      files.push(await encode(tier, partition, [rowsToColumns(rows)], opts));
    }
  }
  return files;
}

/**
 * zstd level of a flush's files. Merges rewrite every flush file at the configured level
 * (`features.compression.level`, default 3), so a flush file lives minutes to an hour: level 1 spends
 * about 35-45 % less time in zstd for 2-4 % more bytes (a 500,000-sample flush at 100,000 series, Bun,
 * docs/memory.md). gzip, snappy and none keep their settings.
 */
export const FLUSH_ZSTD_LEVEL = 1;

/** The compression of a flush's files: zstd at most at {@link FLUSH_ZSTD_LEVEL}. */
export function flushCompression(c: EncodeOptions["compression"]): EncodeOptions["compression"] {
  return c.algorithm === "zstd" ? { ...c, level: Math.min(c.level, FLUSH_ZSTD_LEVEL) } : c;
}

/**
 * Whether a row of `tier` at `t` is written to that tier: its partition is inside the tier's
 * retention, or the next retention run could not delete it yet (a finer aggregate tier's rows stay
 * until the coarser tier's watermark passes them: the rollup reads them).
 */
function keeps(b: FlushBatch): (tier: Tier, t: number) => boolean {
  const keepFrom = b.keepFrom;
  if (!keepFrom) return () => true;
  const next = { "5min": b.watermarks.hourly, hourly: b.watermarks.daily, daily: b.watermarks.weekly };
  return (tier, t) => {
    if (partitionEnd(tier, partitionStart(tier, t)) > keepFrom[tier]) return true;
    if (tier === "raw" || tier === "weekly") return false;
    return t >= next[tier]; // the late-row filter below, negated
  };
}

/** The entries of `order` whose row `keep` accepts (`order` itself when it accepts all). */
function keptRows(order: Int32Array, keep: (row: number) => boolean): Int32Array {
  let k = 0;
  while (k < order.length && keep(order[k])) k++;
  if (k === order.length) return order; // the usual case: no copy
  const out = new Int32Array(order.length);
  out.set(order.subarray(0, k));
  let n = k;
  for (k++; k < order.length; k++) if (keep(order[k])) out[n++] = order[k];
  return out.subarray(0, n);
}

/** The partitions the rows fall in, ascending. */
function partitionsOf(order: Int32Array, partition: (row: number) => number): number[] {
  const seen = new Set<number>();
  let last = NaN;
  for (let k = 0; k < order.length; k++) {
    const p = partition(order[k]);
    if (p !== last) seen.add(last = p);
  }
  return [...seen].sort((x, y) => x - y);
}

/** The rows of `order` in `partition`, BATCH_ROWS at a time (the array is reused between batches). */
function* rowsIn(order: Int32Array, partition: number, partitionOf: (row: number) => number): Generator<Int32Array> {
  const rows = new Int32Array(Math.min(BATCH_ROWS, order.length));
  let n = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (partitionOf(i) !== partition) continue;
    rows[n++] = i;
    if (n === rows.length) {
      yield rows;
      n = 0;
    }
  }
  if (n > 0) yield rows.subarray(0, n);
}

// ---------------------------------------------------------------- raw

/** Row order of the raw slice: by series number (= identity order), then time, stable. */
function rawOrder(r: RawSlice, seriesCount: number): Int32Array {
  return seriesOrder(r.n, r.series, seriesCount, r.ts);
}

/**
 * Rows [0, n) by series number, then `time`, stable: a counting sort by series (rows of a series
 * mostly arrive in time order, so a series' run is sorted only when it is not already).
 */
function seriesOrder(n: number, series: Int32Array, seriesCount: number, time: Float64Array): Int32Array {
  const starts = new Int32Array(seriesCount + 1);
  for (let i = 0; i < n; i++) starts[series[i] + 1]++;
  for (let s = 1; s <= seriesCount; s++) starts[s] += starts[s - 1];
  const next = starts.slice();
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[next[series[i]]++] = i;
  for (let s = 0; s < seriesCount; s++) sortRange(order, starts[s], starts[s + 1], time);
  return order;
}

/** Sorts `order[lo, hi)` by `key`, stably, only when it is not already in order. */
function sortRange(order: Int32Array, lo: number, hi: number, key: Float64Array): void {
  for (let k = lo + 1; k < hi; k++) {
    if (key[order[k]] < key[order[k - 1]]) {
      const part = Array.from(order.subarray(lo, hi)).sort((a, b) => key[a] - key[b] || a - b);
      order.set(part, lo);
      return;
    }
  }
}

function* rawBatches(
  b: FlushBatch,
  names: SeriesDictionary,
  order: Int32Array,
  partition: number,
): Generator<RawColumns> {
  const r = b.raw;
  const big = new Map(r.big);
  const text = new Map(r.text);
  const error = new Map(r.error);
  let c: RawColumns | null = null;
  for (const rows of rowsIn(order, partition, (i) => partitionStart("raw", r.ts[i]))) {
    if (!c || c.length < rows.length) {
      c = allocRawColumns(rows.length, "unfilled");
      c.identity = { series: new Int32Array(rows.length), table: names };
    }
    toRaw(b, rows, c, big, text, error);
    yield rows.length === c.length ? c : sliceBatch(c, 0, rows.length);
  }
}

/** Sets every field of the first `rows.length` rows of `c` (and its identity numbers). */
function toRaw(
  b: FlushBatch,
  rows: Int32Array,
  c: RawColumns,
  big: Map<number, string>,
  text: Map<number, string>,
  error: Map<number, string>,
): void {
  const r = b.raw;
  const n = rows.length;
  const { namespace, target, poller } = b.series;
  const series = c.identity!.series;
  for (let k = 0; k < n; k++) {
    const i = rows[k];
    const s = r.series[i];
    series[k] = s;
    c.namespace[k] = namespace[s];
    c.target[k] = target[s];
    c.poller[k] = poller[s];
    c.ts[k] = r.ts[i];
    const kind = r.kind[i];
    c.kind[k] = kind;
    c.value[k] = kind === KIND_CODE.gauge ? r.value[i] : NaN;
    const exact = big.size === 0 ? undefined : big.get(i);
    c.counter[k] = kind === KIND_CODE.counter ? (exact !== undefined ? BigInt(exact) : BigInt(r.value[i])) : null;
    c.text[k] = kind === KIND_CODE.text ? text.get(i) ?? "" : null;
    c.valid[k] = r.flags[i] & 1;
    c.error[k] = error.size === 0 ? null : error.get(i) ?? null;
    c.pollMs[k] = r.pollMs[i];
  }
}

// ---------------------------------------------------------------- 5-minute buckets

/** Bucket order: by series number, then start. */
function closedOrder(c: ClosedSlice, seriesCount: number): Int32Array {
  return seriesOrder(c.n, c.series, seriesCount, c.bucket);
}

function* aggBatches(
  b: FlushBatch,
  names: SeriesDictionary,
  order: Int32Array,
  partition: number,
): Generator<AggColumns> {
  const sketches = new Map(b.closed.sketches);
  let c: AggColumns | null = null;
  const arena = new ByteWriter(1 << 16);
  for (const rows of rowsIn(order, partition, (i) => partitionStart("5min", b.closed.bucket[i]))) {
    if (!c || c.length < rows.length) {
      c = allocAggColumns(rows.length);
      c.identity = { series: new Int32Array(rows.length), table: names };
    }
    toAgg(b, rows, c, sketches, arena);
    yield rows.length === c.length ? c : sliceBatch(c, 0, rows.length);
  }
}

/** Sets every field of the first `rows.length` rows of `out`; the sketches go into `arena` (emptied first). */
function toAgg(
  b: FlushBatch,
  rows: Int32Array,
  out: AggColumns,
  sketches: Map<number, Uint8Array>,
  arena: ByteWriter,
): void {
  const c = b.closed;
  const n = rows.length;
  const { namespace, target, poller } = b.series;
  const series = out.identity!.series;
  for (let k = 0; k < n; k++) {
    const i = rows[k];
    const s = c.series[i];
    series[k] = s;
    out.namespace[k] = namespace[s];
    out.target[k] = target[s];
    out.poller[k] = poller[s];
    out.bucket[k] = c.bucket[i];
    out.kind[k] = c.kind[i];
  }
  for (const stat of STATS) { // column by column: one statistic's loop stays monomorphic
    const from = c[stat.name], to = out[stat.name];
    if (stat.type !== "value") { for (let k = 0; k < n; k++) to[k] = from[rows[k]]; }
    else for (let k = 0; k < n; k++) to[k] = c.count[rows[k]] === 0 ? NaN : from[rows[k]];
  }
  // the batch's sketches one after the other in one buffer, each row a view of its part
  arena.reset();
  const ends = new Float64Array(n + 1);
  const q = new Float64Array(4);
  for (let k = 0; k < n; k++) {
    const i = rows[k];
    const has = c.count[i] > 0 && b.accuracy !== null && percentiles(c, i, b.accuracy, sketches, q, arena);
    ends[k + 1] = has ? arena.pos : -1;
    if (!has) q.fill(NaN);
    out.p50[k] = q[0];
    out.p90[k] = q[1];
    out.p95[k] = q[2];
    out.p99[k] = q[3];
  }
  for (let k = 0, at = 0; k < n; k++) {
    const end = ends[k + 1];
    out.sketch[k] = end < 0 ? null : arena.buf.subarray(at, end);
    if (end >= 0) at = end;
  }
}

/** Fills `q` with the bucket's percentiles and appends its sketch bytes to `into` (false: unknown). */
function percentiles(
  c: ClosedSlice,
  i: number,
  accuracy: number,
  sketches: Map<number, Uint8Array>,
  q: Float64Array,
  into: ByteWriter,
): boolean {
  if (c.nvals[i] !== SKETCH_MODE) {
    if (c.nvals[i] === 0) return false;
    summarizeValuesTo(into, c.values, i * c.inline, c.nvals[i], accuracy, QUANTILES, q);
    return true;
  }
  const bytes = sketches.get(i);
  if (!bytes) return false;
  const s = BinSketch.decode(bytes, accuracy);
  for (let k = 0; k < 4; k++) q[k] = Math.min(c.max[i], Math.max(c.min[i], s.quantile(QUANTILES[k])));
  into.raw(bytes);
  return true;
}

/** Buckets that must also reach the hourly tier (its watermark passed them): as rows. */
function lateRows(b: FlushBatch, order: Int32Array): AggRow[] {
  const c = b.closed;
  const rows: AggRow[] = [];
  let sketches: Map<number, Uint8Array> | null = null;
  for (const i of order) {
    if (c.bucket[i] >= b.watermarks.hourly) continue;
    sketches ??= new Map(c.sketches);
    const s = c.series[i];
    rows.push({
      namespace: b.series.namespace[s],
      target: b.series.target[s],
      poller: b.series.poller[s],
      bucket: c.bucket[i],
      kind: c.kind[i],
      agg: sliceAggregate(c, i, b.accuracy, sketches),
    });
  }
  return rows;
}
