/**
 * The structured query: one series, or all series of a target or namespace, over a time range, in one
 * tier. Parquet (pruned reads with hyparquet) and the head (raw samples not yet in Parquet, open and
 * closed-but-unflushed 5-minute buckets) are merged; because aggregates are mergeable, a bucket whose
 * data is half in Parquet and half in memory comes out whole, and nothing is counted twice.
 *
 * Coarser tiers are read from their files for buckets before the tier's watermark — plus the late
 * 5-minute buckets in memory that the next flush writes there — and rolled up from the finer tier
 * (recursively, down to memory) after it, so a query always sees every sample.
 *
 * The in-memory part is taken synchronously when the query starts, together with the list of files,
 * so a flush committing while Parquet is read can neither hide nor double data.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type BucketRow, sliceAggregate } from "../aggregate/aggregator_read.ts";
import type { ClosedSlice } from "../aggregate/flush_batch.ts";
import type { Head } from "../head/head.ts";
import type { Chunk } from "../head/raw_log.ts";
import { VALUE_KIND_BY_CODE, VALUE_KIND_CODE } from "../model/aggregate.ts";
import { KIND_BY_CODE, KIND_CODE } from "../model/sample.ts";
import { type AggregateTier, bucketMs, bucketStart, finerTier, isAggregateTier, type Tier } from "../model/tier.ts";
import type { FileSystem } from "../platform/fs.ts";
import { join } from "../platform/path.ts";
import { type AggRow, columnsToRows, mergeRows } from "../tier/agg_rows.ts";
import type { AggColumns, RawColumns } from "../parquet/mod.ts";
import type { SeriesFilter } from "../model/series_filter.ts";
import type { TierFile } from "../tier/manifest.ts";
import { AGG_LAYOUT, type AggField } from "../parquet/mod.ts";
import { type Batch, gatherBatch, type IdentityColumns } from "../parquet/mod.ts";
import { concatBatches, iterateAggFile, iterateRawFile } from "../parquet/mod.ts";
import type { RawField } from "../parquet/mod.ts";
import { rollup } from "../tier/rollup.ts";
import type { ReadCache } from "./read_cache.ts";

/** What a query reads, fixed at its start. */
export interface QueryView {
  fs: FileSystem;
  dataDir: string;
  files: readonly TierFile[];
  watermarks: Readonly<Record<AggregateTier, number>>;
  head: Head;
  /** Closed buckets of a flush in progress (only in memory until its commit; series are head ids). */
  inflight: ClosedSlice | null;
  accuracy: number | null;
  /** Called for every file that could not be read (status, metrics). */
  onDamage?: (path: string, err: unknown) => void;
  /** Rows decoded by earlier queries (absent: every read decodes). */
  cache?: ReadCache;
  /** The request's {@link QueryRequest.signal}, checked before each file. */
  signal?: AbortSignal;
  /** The request's {@link QueryRequest.only}. */
  only?: ReadonlySet<string>;
}

/** A query. */
export interface QueryRequest {
  filter: SeriesFilter;
  fromMs: number;
  toMs: number;
  tier: Tier;
  /** Most points (or samples) in the answer, over all series. */
  limit: number;
  /** Aggregate tiers: read the sketches too, so the points can be merged (quantiles over buckets). */
  sketches?: boolean;
  /**
   * Raw tier: the fields to read from files (default: all); the others come back neutral (no text, no
   * error, poll time 0). PromQL reads no text, error or poll time: their columns are not decoded.
   */
  rawFields?: readonly RawField[];
  /**
   * Stops the query at its next file when aborted (a caller past its timeout): it then rejects with the
   * signal's reason, and reads no further file.
   */
  signal?: AbortSignal;
  /**
   * Only these series of the filter's (keys of {@link seriesKey}): the rest of the rows read are dropped
   * before they become points (a PromQL selector reads a device's file rows once, for a few of its series).
   */
  only?: ReadonlySet<string>;
  /**
   * Raw tier: answer each series' valid gauge and counter samples as {@link SeriesResult.numeric} (typed
   * arrays, counters as numbers) instead of a `samples` object per sample; text and invalid samples are
   * left out, and only the samples kept count toward `limit`. Aggregate tiers without `sketches`, where
   * the tier's files hold the range: {@link SeriesResult.stats} (count, sum, min and max of the non-empty
   * numeric buckets) instead of `points`. What PromQL reads.
   */
  numeric?: boolean;
}

/** The key of a series in {@link QueryRequest.only}. */
export function seriesKey(namespace: string, target: string, poller: string): string {
  return keyOf(namespace, target, poller);
}

/** One raw sample of the answer. */
export interface RawPoint {
  ts: number;
  kind: string;
  value?: number;
  counter?: bigint;
  text?: string;
  valid: boolean;
  error?: string;
  pollMs: number;
}

/** One series of the answer. */
export interface SeriesResult {
  namespace: string;
  target: string;
  poller: string;
  /** Aggregate tiers: the value kind of the points (gauge, rate or text). */
  kind?: string;
  points?: AggRow[];
  samples?: RawPoint[];
  /** Raw tier with {@link QueryRequest.numeric}: the valid gauge and counter samples. */
  numeric?: NumericSamples;
  /** Aggregate tiers with {@link QueryRequest.numeric} (without sketches): the non-empty numeric buckets. */
  stats?: BucketStats;
}

/** Buckets as columns, ascending by start. */
export interface BucketStats {
  /** Bucket start, Unix ms. */
  bucket: Float64Array;
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/** Valid gauge and counter samples (counters as numbers), ascending by time. */
export interface NumericSamples {
  /** Unix ms. */
  ts: Float64Array;
  values: Float64Array;
}

/** The answer. */
export interface QueryResult {
  tier: Tier;
  fromMs: number;
  toMs: number;
  series: SeriesResult[];
  /** True when the limit cut points off. */
  truncated: boolean;
  /** True when some stored data could not be read: the answer is incomplete (see warnings). */
  partial: boolean;
  warnings: string[];
}

/** Runs a query over a view. */
export async function runQuery(view: QueryView, req: QueryRequest): Promise<QueryResult> {
  const result: QueryResult = {
    tier: req.tier,
    fromMs: req.fromMs,
    toMs: req.toMs,
    series: [],
    truncated: false,
    partial: false,
    warnings: [],
  };
  req.signal?.throwIfAborted();
  if (req.signal || req.only) view = { ...view, signal: req.signal, only: req.only };
  // memory is read before the first await: consistent with the file list of the view
  const grouped = isAggregateTier(req.tier)
    ? await aggregateSeries(view, req, req.tier, memoryRows(view, req.filter), result)
    : await rawSeries(view, req, result);
  let budget = req.limit;
  for (const s of [...grouped.values()].sort(bySeries)) {
    const items = s.points ?? s.samples ?? [];
    if (s.numeric && s.numeric.ts.length > budget) {
      s.numeric = { ts: s.numeric.ts.subarray(0, budget), values: s.numeric.values.subarray(0, budget) };
      result.truncated = true;
    } else if (s.stats && s.stats.bucket.length > budget) {
      const { bucket, count, sum, min, max } = s.stats;
      const cut = (a: Float64Array) => a.subarray(0, budget);
      s.stats = { bucket: cut(bucket), count: cut(count), sum: cut(sum), min: cut(min), max: cut(max) };
      result.truncated = true;
    } else if (items.length > budget) {
      items.length = budget;
      result.truncated = true;
    }
    const length = s.numeric?.ts.length ?? s.stats?.bucket.length ?? items.length;
    budget -= length;
    if (length > 0) result.series.push(s);
    if (budget <= 0 && result.truncated) break;
  }
  return result;
}

function bySeries(a: SeriesResult, b: SeriesResult): number {
  return a.namespace < b.namespace
    ? -1
    : a.namespace > b.namespace
    ? 1
    : a.target < b.target
    ? -1
    : a.target > b.target
    ? 1
    : a.poller < b.poller
    ? -1
    : a.poller > b.poller
    ? 1
    : 0;
}

const keyOf = (ns: string, t: string, p: string) => `${ns}\u0000${t}\u0000${p}`;

// ---------------------------------------------------------------- raw

async function rawSeries(view: QueryView, req: QueryRequest, result: QueryResult): Promise<Map<string, SeriesResult>> {
  if (req.numeric) return numericSeries(view, req, result);
  const out = new Map<string, SeriesResult>();
  const { head } = view;
  const memoryOnly = req.fromMs >= head.raw.coverageStart;
  const minPos = memoryOnly ? head.raw.start : head.raw.flushedPos;
  for (const id of head.series.matching(req.filter)) {
    const [namespace, target, poller] = head.series.names(id);
    if (view.only && !view.only.has(keyOf(namespace, target, poller))) continue;
    const samples: RawPoint[] = [];
    for (const pos of head.raw.positionsOf(id, minPos)) {
      const { chunk, i } = head.raw.locate(pos);
      const ts = chunk.ts[i];
      if (ts >= req.fromMs && ts < req.toMs) samples.push(pointOfChunk(chunk, i));
    }
    samples.reverse();
    out.set(keyOf(namespace, target, poller), { namespace, target, poller, samples });
  }
  if (!memoryOnly) {
    for (const f of filesFor(view, "raw", req.fromMs, req.toMs)) {
      for (const batch of await rawFileColumns(view, req, f, result)) addRawColumns(out, batch);
    }
  }
  for (const s of out.values()) if (!ascending(s.samples!)) s.samples!.sort((a, b) => a.ts - b.ts);
  return out;
}

/** Whether the samples are in time order (files read in order, then memory: mostly they are). */
function ascending(samples: readonly RawPoint[]): boolean {
  for (let i = 1; i < samples.length; i++) if (samples[i - 1].ts > samples[i].ts) return false;
  return true;
}

/** A series' valid numeric samples while they are gathered: slices of files, then memory's samples. */
interface NumericRun {
  series: SeriesResult;
  parts: NumericSamples[];
  /** Memory's samples, newest first (as the head lists them). */
  memTs: number[];
  memValues: number[];
}

/**
 * {@link rawSeries} for {@link QueryRequest.numeric}: the valid gauge and counter samples of each series as
 * two typed arrays, with no object per sample. A file's rows are taken through its {@link NumericIndex}
 * (built once per cached entry), so a series whose range lies in one file and not in memory is answered
 * with views of the cached columns, without a copy.
 */
async function numericSeries(
  view: QueryView,
  req: QueryRequest,
  result: QueryResult,
): Promise<Map<string, SeriesResult>> {
  const runs = new Map<string, NumericRun>();
  const { head } = view;
  const memoryOnly = req.fromMs >= head.raw.coverageStart;
  const minPos = memoryOnly ? head.raw.start : head.raw.flushedPos;
  for (const id of memoryIds(head, req.filter, view.only)) {
    const [namespace, target, poller] = head.series.names(id);
    const key = keyOf(namespace, target, poller);
    if (view.only && !view.only.has(key)) continue;
    const run: NumericRun = { series: { namespace, target, poller }, parts: [], memTs: [], memValues: [] };
    for (const pos of head.raw.positionsOf(id, minPos)) {
      const { chunk, i } = head.raw.locate(pos);
      const ts = chunk.ts[i], kind = chunk.kind[i];
      if (ts < req.fromMs || ts >= req.toMs || (chunk.flags[i] & 1) !== 1) continue;
      if (kind === KIND_CODE.gauge) run.memValues.push(chunk.value[i]);
      else if (kind === KIND_CODE.counter) run.memValues.push(Number(chunk.big?.get(i) ?? chunk.value[i]));
      else continue;
      run.memTs.push(ts);
    }
    runs.set(key, run);
  }
  if (!memoryOnly) {
    for (const f of filesFor(view, "raw", req.fromMs, req.toMs)) {
      const batches = await rawFileColumns(view, req, f, result, true);
      for (const batch of batches) addNumericColumns(runs, numericIndex(batch), req, view.only);
    }
  }
  // the series that need their samples joined share one allocation
  let joined = 0;
  for (const run of runs.values()) if (!single(run)) joined += sizeOf(run);
  const pool = { ts: new Float64Array(joined), values: new Float64Array(joined), used: 0 };
  const out = new Map<string, SeriesResult>();
  for (const [key, run] of runs) {
    run.series.numeric = numericOf(run, pool);
    out.set(key, run.series);
  }
  return out;
}

/** Whether a series' samples are one file's slice, used as they are. */
function single(run: NumericRun): boolean {
  return run.parts.length === 1 && run.memTs.length === 0;
}

function sizeOf(run: NumericRun): number {
  let n = run.memTs.length;
  for (const p of run.parts) n += p.ts.length;
  return n;
}

/**
 * The visible series of the head that `filter` matches, in any order: with a selection (`only`), looked up
 * one by one rather than the filter's every series listed and sorted.
 */
function memoryIds(head: Head, filter: SeriesFilter, only: ReadonlySet<string> | undefined): Iterable<number> {
  if (!only) return head.series.matching(filter);
  const ids: number[] = [];
  for (const key of only) {
    const [namespace, target, poller] = key.split("\u0000");
    if (filter.namespace !== undefined && namespace !== filter.namespace) continue;
    if (filter.target !== undefined && target !== filter.target) continue;
    if (filter.poller !== undefined && poller !== filter.poller) continue;
    const id = head.series.lookup(namespace, target, poller);
    if (id >= 0 && head.series.isVisible(id)) ids.push(id);
  }
  return ids;
}

/**
 * The valid gauge and counter samples of a raw batch as numbers, by series: what PromQL reads of it,
 * worked out once per batch (a cached entry is read again by every refresh of a panel).
 */
interface NumericIndex {
  /** Series key → its samples' range `[start, end)` in `ts` and `values`, ascending by time. */
  runs: Map<string, { series: SeriesResult; start: number; end: number }>;
  ts: Float64Array;
  values: Float64Array;
}

const numericIndexes = new WeakMap<RawColumns, NumericIndex>();

function numericIndex(c: RawColumns): NumericIndex {
  let index = numericIndexes.get(c);
  if (index) return index;
  const ts = new Float64Array(c.length), values = new Float64Array(c.length);
  const runs: NumericIndex["runs"] = new Map();
  let n = 0;
  for (let i = 0; i < c.length;) {
    // a file's rows are sorted by series, then time
    const end = runEnd(c, i);
    const series = { namespace: c.namespace[i], target: c.target[i], poller: c.poller[i] };
    const start = n;
    for (; i < end; i++) {
      const kind = c.kind[i];
      if (c.valid[i] !== 1) continue;
      if (kind === KIND_CODE.gauge) values[n] = c.value[i];
      else if (kind === KIND_CODE.counter) values[n] = Number(c.counter[i] ?? 0n);
      else continue;
      ts[n++] = c.ts[i];
    }
    runs.set(keyOf(series.namespace, series.target, series.poller), { series, start, end: n });
  }
  index = { runs, ts: ts.subarray(0, n), values: values.subarray(0, n) };
  numericIndexes.set(c, index);
  return index;
}

/** Adds the samples of `index` in the request's range, of the series in `keep` (all without it). */
function addNumericColumns(
  runs: Map<string, NumericRun>,
  index: NumericIndex,
  { fromMs, toMs }: QueryRequest,
  keep: ReadonlySet<string> | undefined,
): void {
  const visit = (key: string, r: { series: SeriesResult; start: number; end: number }) => {
    const lo = lowerBound(index.ts, fromMs, r.start, r.end),
      hi = lowerBound(index.ts, toMs, lo, r.end) + (r.end > lo ? 0 : 0) - (toMs % 2 === 0 ? 0 : 0);
    let run = runs.get(key);
    if (!run) runs.set(key, run = { series: { ...r.series }, parts: [], memTs: [], memValues: [] });
    if (hi > lo) run.parts.push({ ts: index.ts.subarray(lo, hi), values: index.values.subarray(lo, hi) });
  };
  if (keep && keep.size < index.runs.size) {
    for (const key of keep) {
      const r = index.runs.get(key);
      if (r) visit(key, r);
    }
  } else {
    for (const [key, r] of index.runs) if (!keep || keep.has(key)) visit(key, r);
  }
}

/** The first index in [lo, hi) of ascending `a` whose value is ≥ `v` (hi when none). */
function lowerBound(a: Float64Array, v: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The end of the run of rows of row `i`'s series (rows sorted by series). */
function runEnd(c: Batch & IdentityColumns, i: number): number {
  let j = i + 1;
  while (
    j < c.length && c.poller[j] === c.poller[i] && c.target[j] === c.target[i] && c.namespace[j] === c.namespace[i]
  ) {
    j++;
  }
  return j;
}

/**
 * A series' samples as typed arrays, ascending by time: a single file's slice as it is, else the slices
 * (in time order) and memory's samples joined, sorted when they came out of order.
 */
function numericOf(run: NumericRun, pool: { ts: Float64Array; values: Float64Array; used: number }): NumericSamples {
  const { parts, memTs, memValues } = run;
  if (single(run)) return parts[0];
  const n = sizeOf(run);
  const ts = pool.ts.subarray(pool.used, pool.used + n), values = pool.values.subarray(pool.used, pool.used + n);
  pool.used += n;
  let k = 0;
  for (const p of parts) {
    // a plain loop: most slices are a series' minutes in one file, where set() costs more than the copy
    for (let i = 0; i < p.ts.length; i++, k++) {
      ts[k] = p.ts[i];
      values[k] = p.values[i];
    }
  }
  for (let i = memTs.length - 1; i >= 0; i--, k++) {
    ts[k] = memTs[i];
    values[k] = memValues[i];
  }
  let increasing = true;
  for (let i = 1; i < n && increasing; i++) increasing = ts[i - 1] < ts[i];
  if (increasing) return { ts, values };
  // out of order or repeated times: memory's samples first, then the files', sorted stably by time
  const m = memTs.length, files = n - m;
  const at = (x: number) => (x < m ? files + x : x - m);
  const order = Array.from({ length: n }, (_, x) => at(x)).sort((a, b) => ts[a] - ts[b]);
  const out = { ts: new Float64Array(n), values: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    out.ts[i] = ts[order[i]];
    out.values[i] = values[order[i]];
  }
  return out;
}

/**
 * The rows of raw file `f` the request reads (its selected series' only, with a selection), in batches;
 * `uncut`: a cached entry whole, rows outside the range and unselected series of a target included.
 */
async function rawFileColumns(view: QueryView, req: QueryRequest, f: TierFile, result: QueryResult, uncut = false) {
  if (!view.cache || (req.filter.target === undefined && !view.only)) {
    // not cached (a namespace, every series): the file's batches are kept one by one, never joined into
    // one copy of every row read
    const path = join(view.dataDir, f.path);
    const batches = await readSafely(view, f, result, async () => {
      const kept: RawColumns[] = [];
      const options = { series: req.filter, fromMs: req.fromMs, toMs: req.toMs, columns: req.rawFields };
      for await (const batch of iterateRawFile(view.fs, path, options)) {
        kept.push(uncut ? batch : only(batch, view.only));
      }
      return kept;
    });
    return batches ?? [];
  }
  const cols = await readSafely(
    view,
    f,
    result,
    () =>
      cachedRead<RawColumns, RawField>(
        view,
        f,
        req.filter,
        req.fromMs,
        req.toMs,
        req.rawFields,
        "ts",
        (o) => iterateRawFile(view.fs, o.path, o),
        { uncut },
      ),
  );
  return cols ? [uncut ? cols : only(cols, view.only)] : [];
}

function pointOfChunk(chunk: Chunk, i: number): RawPoint {
  const kind = KIND_BY_CODE[chunk.kind[i]];
  const p: RawPoint = { ts: chunk.ts[i], kind, valid: (chunk.flags[i] & 1) === 1, pollMs: chunk.pollMs[i] };
  if (kind === "gauge") p.value = chunk.value[i];
  if (kind === "counter") p.counter = chunk.big?.get(i) ?? BigInt(chunk.value[i]);
  if (kind === "text") p.text = chunk.text?.get(i) ?? "";
  const error = chunk.error?.get(i);
  if (error !== undefined) p.error = error;
  return p;
}

function addRawColumns(out: Map<string, SeriesResult>, c: RawColumns): void {
  let s: SeriesResult | undefined;
  for (let i = 0; i < c.length; i++) {
    // a file's rows are sorted by series: look the series up only where it changes
    if (!s || s.poller !== c.poller[i] || s.target !== c.target[i] || s.namespace !== c.namespace[i]) {
      const key = keyOf(c.namespace[i], c.target[i], c.poller[i]);
      s = out.get(key);
      if (!s) out.set(key, s = { namespace: c.namespace[i], target: c.target[i], poller: c.poller[i], samples: [] });
    }
    const kind = KIND_BY_CODE[c.kind[i]];
    const p: RawPoint = { ts: c.ts[i], kind, valid: c.valid[i] === 1, pollMs: c.pollMs[i] };
    if (kind === "gauge") p.value = c.value[i];
    if (kind === "counter") p.counter = c.counter[i] ?? 0n;
    if (kind === "text") p.text = c.text[i] ?? "";
    if (c.error[i] !== null) p.error = c.error[i]!;
    s.samples!.push(p);
  }
}

// ---------------------------------------------------------------- aggregates

async function aggregateSeries(
  view: QueryView,
  req: QueryRequest,
  tier: AggregateTier,
  memory: readonly AggRow[],
  result: QueryResult,
): Promise<Map<string, SeriesResult>> {
  const from = bucketStart(tier, req.fromMs);
  if (req.numeric && !req.sketches && (tier === "5min" || req.toMs <= view.watermarks[tier])) {
    return statSeries(view, req.filter, tier, from, req.toMs, memory, result);
  }
  const rows = await aggRows(view, req.filter, tier, from, req.toMs, memory, result, req.sketches ?? false);
  const out = new Map<string, SeriesResult>();
  let s: SeriesResult | undefined;
  for (const r of rows) {
    // merged rows are sorted by series: look the series up where it changes
    if (s && r.poller === s.poller && r.target === s.target && r.namespace === s.namespace) {
      s.points!.push(r);
      continue;
    }
    const key = keyOf(r.namespace, r.target, r.poller);
    s = out.get(key);
    if (!s) {
      out.set(
        key,
        s = {
          namespace: r.namespace,
          target: r.target,
          poller: r.poller,
          kind: VALUE_KIND_BY_CODE[r.kind],
          points: [],
        },
      );
    }
    s.points!.push(r);
  }
  return out;
}

/** The statistics a {@link QueryRequest.numeric} aggregate read keeps (exact when partial rows merge). */
const STAT_FIELDS: readonly AggField[] = ["kind", "count", "sum", "min", "max"];

/** One series' buckets while they are gathered: runs of file columns, then rows from memory. */
interface StatRun {
  series: SeriesResult;
  parts: { cols: AggColumns; start: number; end: number }[];
  memory: AggRow[];
}

/**
 * {@link aggregateSeries} for {@link QueryRequest.numeric} without sketches, where the tier's files hold
 * the range (5min: with memory's open buckets): each series' buckets as typed columns of count, sum, min
 * and max, with no `Aggregate` object per bucket. Only the statistics that merge exactly without a sketch
 * are read; buckets split over files (late data) or between a file and memory are merged here.
 */
async function statSeries(
  view: QueryView,
  filter: SeriesFilter,
  tier: AggregateTier,
  from: number,
  to: number,
  memory: readonly AggRow[],
  result: QueryResult,
): Promise<Map<string, SeriesResult>> {
  const runs = new Map<string, StatRun>();
  const runOf = (namespace: string, target: string, poller: string, kind: number): StatRun => {
    const key = keyOf(namespace, target, poller);
    let run = runs.get(key);
    if (!run) {
      const series = { namespace, target, poller, kind: VALUE_KIND_BY_CODE[kind] };
      runs.set(key, run = { series, parts: [], memory: [] });
    }
    return run;
  };
  for (const f of filesFor(view, tier, from, to)) {
    const read = () =>
      cachedRead<AggColumns, AggField>(
        view,
        f,
        filter,
        from,
        to,
        STAT_FIELDS,
        "bucket",
        (o) => iterateAggFile(view.fs, o.path, { ...o, tier }),
        { uncut: true },
      );
    const c = await readSafely(view, f, result, read);
    if (!c) continue;
    for (let i = 0; i < c.length;) {
      const end = runEnd(c, i);
      if (!view.only || view.only.has(keyOf(c.namespace[i], c.target[i], c.poller[i]))) {
        runOf(c.namespace[i], c.target[i], c.poller[i], c.kind[i]).parts.push({ cols: c, start: i, end });
      }
      i = end;
    }
  }
  // 5min: open and in-flight buckets; coarser tiers: late buckets not yet rolled up into the files
  for (const r of memory) {
    const bucket = tier === "5min" ? r.bucket : bucketStart(tier, r.bucket);
    if (bucket >= from && r.bucket < to) runOf(r.namespace, r.target, r.poller, r.kind).memory.push({ ...r, bucket });
  }
  const out = new Map<string, SeriesResult>();
  for (const [key, run] of runs) {
    run.series.stats = statsOf(run, from, to);
    out.set(key, run.series);
  }
  return out;
}

/**
 * A series' buckets starting in [from, to) in order, those with the same start merged, text and empty
 * buckets left out.
 */
function statsOf(run: StatRun, from: number, to: number): BucketStats {
  let n = run.memory.length;
  for (const p of run.parts) n += p.end - p.start;
  const bucket = new Float64Array(n), count = new Float64Array(n), sum = new Float64Array(n);
  const min = new Float64Array(n), max = new Float64Array(n), kind = new Uint8Array(n);
  let k = 0;
  for (const { cols: c, start, end } of run.parts) {
    for (let i = start; i < end; i++, k++) {
      bucket[k] = c.bucket[i];
      kind[k] = c.kind[i];
      count[k] = c.count[i];
      sum[k] = c.sum[i];
      min[k] = c.min[i];
      max[k] = c.max[i];
    }
  }
  for (const r of run.memory) {
    bucket[k] = r.bucket;
    kind[k] = r.kind;
    count[k] = r.agg.count;
    sum[k] = r.agg.sum;
    min[k] = r.agg.min;
    max[k] = r.agg.max;
    k++;
  }
  let ordered = true;
  for (let i = 1; i < n && ordered; i++) ordered = bucket[i - 1] <= bucket[i]; // equal starts merge below
  const order = ordered ? null : Array.from({ length: n }, (_, i) => i).sort((a, b) => bucket[a] - bucket[b]);
  // in place when in order (a row is written at or before where it was read), else into new columns
  const fresh = () => new Float64Array(n);
  const out = order
    ? { bucket: fresh(), count: fresh(), sum: fresh(), min: fresh(), max: fresh() }
    : { bucket, count, sum, min, max };
  let m = 0;
  for (let x = 0; x < n; x++) {
    const i = order ? order[x] : x;
    if (kind[i] === VALUE_KIND_CODE.text || !(count[i] > 0) || bucket[i] < from || bucket[i] >= to) continue;
    if (m > 0 && out.bucket[m - 1] === bucket[i]) {
      // a bucket in parts (late data, or half flushed): count, sum, min and max merge exactly
      out.count[m - 1] += count[i];
      out.sum[m - 1] += sum[i];
      out.min[m - 1] = Math.min(out.min[m - 1], min[i]);
      out.max[m - 1] = Math.max(out.max[m - 1], max[i]);
      continue;
    }
    out.bucket[m] = bucket[i];
    out.count[m] = count[i];
    out.sum[m] = sum[i];
    out.min[m] = min[i];
    out.max[m] = max[i];
    m++;
  }
  return {
    bucket: out.bucket.subarray(0, m),
    count: out.count.subarray(0, m),
    sum: out.sum.subarray(0, m),
    min: out.min.subarray(0, m),
    max: out.max.subarray(0, m),
  };
}

/**
 * Rows of `tier` for buckets in [from, to) (`from` aligned), merged: files below the tier's watermark,
 * the finer tier rolled up above it; for 5min, files plus memory. Files are first read without their
 * sketch column (the biggest; only merging needs it); when late data left a bucket in several rows,
 * they are read again with it. Files that overlap in time (flush windows meet at a bucket: what ingest
 * writes until the partition's merge) are read with it at once, since the first read would be wasted.
 */
async function aggRows(
  view: QueryView,
  filter: SeriesFilter,
  tier: AggregateTier,
  from: number,
  to: number,
  memory: readonly AggRow[],
  result: QueryResult,
  sketches = false,
): Promise<AggRow[]> {
  sketches ||= filesOverlap(filesFor(view, tier, from, to));
  const rows = await unmergedRows(view, filter, tier, from, to, memory, result, sketches);
  if (!sketches && hasRepeatedKeys(rows)) {
    const warnings = result.warnings.length;
    const again = await unmergedRows(view, filter, tier, from, to, memory, result, true);
    result.warnings.length = warnings; // the second read repeats the first one's warnings
    return mergeRows(again);
  }
  return mergeRows(rows);
}

async function unmergedRows(
  view: QueryView,
  filter: SeriesFilter,
  tier: AggregateTier,
  from: number,
  to: number,
  memory: readonly AggRow[],
  result: QueryResult,
  sketches: boolean,
): Promise<AggRow[]> {
  if (tier === "5min") {
    const rows = await fileRows(view, filter, "5min", from, to, result, sketches);
    for (const r of memory) if (r.bucket >= from && r.bucket < to) rows.push({ ...r, agg: r.agg.clone() });
    return rows;
  }
  const w = view.watermarks[tier];
  const rows = from < w ? await fileRows(view, filter, tier, from, Math.min(to, w), result, sketches) : [];
  if (from < w) {
    // late samples for buckets already rolled up: in memory until the next flush writes them into this
    // tier's files as partial rows
    const end = Math.min(to, w);
    const late = memory.filter((r) => r.bucket < end && bucketStart(tier, r.bucket) >= from);
    if (late.length > 0) rows.push(...rollup(late.map((r) => ({ ...r, agg: r.agg.clone() })), tier));
  }
  if (to > w) {
    const finer = finerTier(tier) as AggregateTier;
    const start = Math.max(from, w);
    // a rollup merges finer rows: it needs their sketches
    rows.push(...rollup(await aggRows(view, filter, finer, start, to, memory, result, true), tier));
  }
  return rows;
}

/** Whether two of `files` cover a common time (they can hold the same key). */
function filesOverlap(files: readonly TierFile[]): boolean {
  let reach = -Infinity;
  for (const f of [...files].sort((a, b) => a.minTs - b.minTs)) {
    if (f.minTs <= reach) return true;
    reach = Math.max(reach, f.maxTs);
  }
  return false;
}

/**
 * Whether two rows share a key (series and bucket): they must be merged. Rows come in runs of one
 * series (each file's rows are sorted), so the series key is built once per run, not once per row;
 * a run whose buckets increase cannot repeat a key within itself, and only a series read in more
 * than one run (several files, memory) has its buckets compared across runs.
 */
function hasRepeatedKeys(rows: readonly AggRow[]): boolean {
  const runs = new Map<string, { start: number; end: number }[]>();
  let i = 0;
  while (i < rows.length) {
    const r = rows[i];
    let j = i + 1;
    while (
      j < rows.length && rows[j].poller === r.poller && rows[j].target === r.target && rows[j].namespace === r.namespace
    ) {
      if (rows[j].bucket <= rows[j - 1].bucket) return bucketSetRepeats(rows); // not increasing: check every key
      j++;
    }
    const key = keyOf(r.namespace, r.target, r.poller);
    const list = runs.get(key);
    if (list) list.push({ start: i, end: j });
    else runs.set(key, [{ start: i, end: j }]);
    i = j;
  }
  for (const list of runs.values()) {
    if (list.length < 2) continue;
    const buckets = new Set<number>();
    for (const { start, end } of list) {
      for (let k = start; k < end; k++) {
        if (buckets.has(rows[k].bucket)) return true;
        buckets.add(rows[k].bucket);
      }
    }
  }
  return false;
}

/** {@link hasRepeatedKeys} by a set of buckets per series, for rows in any order. */
function bucketSetRepeats(rows: readonly AggRow[]): boolean {
  const seen = new Map<string, Set<number>>();
  let last: AggRow | undefined;
  let buckets: Set<number> | undefined;
  for (const r of rows) {
    if (!last || r.poller !== last.poller || r.target !== last.target || r.namespace !== last.namespace) {
      const key = keyOf(r.namespace, r.target, r.poller);
      buckets = seen.get(key);
      if (!buckets) seen.set(key, buckets = new Set());
      last = r;
    }
    if (buckets!.has(r.bucket)) return true;
    buckets!.add(r.bucket);
  }
  return false;
}

async function fileRows(
  view: QueryView,
  filter: SeriesFilter,
  tier: AggregateTier,
  from: number,
  to: number,
  result: QueryResult,
  sketches: boolean,
): Promise<AggRow[]> {
  const rows: AggRow[] = [];
  const columns = sketches ? undefined : WITHOUT_SKETCH;
  for (const f of filesFor(view, tier, from, to)) {
    const cols = await readSafely(
      view,
      f,
      result,
      () =>
        cachedRead<AggColumns, AggField>(
          view,
          f,
          filter,
          from,
          to,
          columns,
          "bucket",
          (o) => iterateAggFile(view.fs, o.path, { ...o, tier }),
        ),
    );
    if (cols) rows.push(...columnsToRows(only(cols, view.only), view.accuracy, { withSketch: sketches }));
  }
  return rows;
}

const WITHOUT_SKETCH = AGG_LAYOUT.fields.filter((f) => f !== "sketch");

/** The rows of `cols` whose series is in `keep` (all without it); runs of a series are looked up once. */
function only<C extends Batch & IdentityColumns>(cols: C, keep: ReadonlySet<string> | undefined): C {
  if (!keep) return cols;
  const rows = new Int32Array(cols.length);
  let n = 0, wanted = false;
  for (let i = 0; i < cols.length; i++) {
    if (
      i === 0 || cols.poller[i] !== cols.poller[i - 1] || cols.target[i] !== cols.target[i - 1] ||
      cols.namespace[i] !== cols.namespace[i - 1]
    ) wanted = keep.has(keyOf(cols.namespace[i], cols.target[i], cols.poller[i]));
    if (wanted) rows[n++] = i;
  }
  return n === cols.length ? cols : gatherBatch(cols, rows.subarray(0, n));
}

/** Open and in-flight 5-minute buckets of the matching series, as rows (copies). */
function memoryRows(view: QueryView, filter: SeriesFilter): AggRow[] {
  const rows: AggRow[] = [];
  const { series, agg } = view.head;
  const ids = new Set<number>();
  for (const id of series.matching(filter)) {
    if (view.only && !view.only.has(keyOf(...series.names(id)))) continue;
    ids.add(id);
    for (const b of agg.bucketsOf(id, -Infinity, Infinity)) rows.push(rowOf(view.head, b));
  }
  const c = view.inflight;
  if (c) {
    const sketches = new Map(c.sketches);
    for (let i = 0; i < c.n; i++) {
      if (!ids.has(c.series[i])) continue;
      const agg = sliceAggregate(c, i, view.accuracy, sketches);
      rows.push(rowOf(view.head, { series: c.series[i], bucket: c.bucket[i], kind: c.kind[i], agg }));
    }
  }
  return rows;
}

function rowOf(head: Head, b: BucketRow): AggRow {
  const [namespace, target, poller] = head.series.names(b.series);
  return { namespace, target, poller, bucket: b.bucket, kind: b.kind, agg: b.agg };
}

/** Live files of a tier that can hold data in [from, to). */
function filesFor(view: QueryView, tier: Tier, from: number, to: number): TierFile[] {
  const width = isAggregateTier(tier) ? bucketMs(tier) : 1;
  return view.files.filter((f) => f.tier === tier && f.maxTs + width > from && f.minTs < to);
}

/** What {@link cachedRead} asks its reader for. */
interface ReadOptions<F> {
  path: string;
  series: SeriesFilter;
  fromMs?: number;
  toMs?: number;
  columns?: readonly F[];
  keep?: (namespace: string, target: string, poller: string) => boolean;
}

/**
 * The rows of file `f` for `filter` in [from, to) (only the series of the view's `only` when it has one):
 * through the view's cache when the filter names a target (a device's or a series' rows: what dashboards
 * read again; cached for every series of the target) or when a namespace read selects series (a panel over
 * a namespace: cached for exactly the selected series, keyed by their digest), else read directly.
 * `uncut`: a cached entry comes whole (rows outside [from, to) and, on a target, series outside `only`
 * included) for a caller that skips them itself rather than have them copied out.
 */
function cachedRead<C extends Batch & IdentityColumns, F extends string>(
  view: QueryView,
  f: TierFile,
  filter: SeriesFilter,
  from: number,
  to: number,
  columns: readonly F[] | undefined,
  timeColumn: keyof C & string,
  iterate: (o: ReadOptions<F>) => AsyncGenerator<C>,
  { uncut = false }: { uncut?: boolean } = {},
): Promise<C> {
  const path = join(view.dataDir, f.path);
  const selected = filter.target === undefined ? view.only : undefined;
  // a namespace's batches keep only the selected series' rows before they are joined
  const read = async (o: ReadOptions<F>) => {
    const kept: C[] = [];
    for await (const batch of iterate(o)) kept.push(only(batch, selected));
    return kept.length === 1 ? kept[0] : concatKept(kept);
  };
  if (!view.cache || (filter.target === undefined && !selected)) {
    return read({ path, series: filter, fromMs: from, toMs: to, columns });
  }
  if (!selected) {
    const key = columns?.join(",") ?? "*";
    const load = () => read({ path, series: filter, columns });
    return uncut
      ? view.cache.rows(path, filter, key, load)
      : view.cache.read(path, filter, key, timeColumn, from, to, load);
  }
  // a namespace's rows are many: read and kept for the hours the range touches (a panel refreshed every
  // minute reads the same hours again), not for the whole file
  const blockFrom = Math.floor(from / HOUR_MS) * HOUR_MS, blockTo = Math.ceil(to / HOUR_MS) * HOUR_MS;
  const key = `${columns?.join(",") ?? "*"}\u0000${blockFrom}-${blockTo}\u0000only:${digestOf(selected)}`;
  // the reader skips the other series' rows before it decodes their values
  const keep = (ns: string, t: string, p: string) => selected.has(keyOf(ns, t, p));
  const load = () => read({ path, series: filter, fromMs: blockFrom, toMs: blockTo, columns, keep });
  return uncut
    ? view.cache.rows(path, filter, key, load)
    : view.cache.read(path, filter, key, timeColumn, from, to, load);
}

const HOUR_MS = 3_600_000;

/** Batches joined (an empty list: an empty batch is never asked for, callers skip files with no rows). */
function concatKept<C extends Batch>(kept: C[]): C {
  return kept.length === 0 ? ({ length: 0 } as unknown as C) : concatBatches(kept);
}

const digests = new WeakMap<ReadonlySet<string>, string>();

/** A digest of a set of series keys (computed once per set: a query's `only`). */
function digestOf(keys: ReadonlySet<string>): string {
  let d = digests.get(keys);
  if (!d) {
    const hash = createHash("sha256");
    for (const key of [...keys].sort()) hash.update(key).update("\u0001");
    digests.set(keys, d = hash.digest("base64url"));
  }
  return d;
}

async function readSafely<T>(
  view: QueryView,
  f: TierFile,
  result: QueryResult,
  read: () => Promise<T>,
): Promise<T | null> {
  view.signal?.throwIfAborted(); // not a damaged file: the whole query stops
  try {
    return await read();
  } catch (err) {
    result.partial = true;
    result.warnings.push(`Cannot read ${f.path}: ${(err as Error).message}; the answer lacks its data`);
    view.onDamage?.(f.path, err);
    return null;
  }
}
