/**
 * A worker of the `query` dataset (`query_data.ts`): writes the files of the plan assigned to it.
 *
 * Series are processed in blocks in identity order (the order of every tier file). Per block: the
 * series' raw samples of the last `rawHours` come from the generator; the 5-minute aggregates of the
 * last 24 h are computed from them (`Aggregate`: gauges as is, counters as per-second rates); that
 * day is the template of every earlier day (copied in at most two contiguous runs per series and
 * file, times shifted). Hourly rows are the template rolled up; a daily row is the whole template day
 * merged; a weekly row merges the days of that week present in the dataset.
 *
 * Usage (from `query_data.ts`): `--plan PLAN.json --worker K --out RESULT.json`.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { counterIncrease } from "../../src/aggregate/counter_rate.ts";
import { Head } from "../../src/head/head.ts";
import { compareIdentity } from "../../src/head/series.ts";
import { encodeSnapshot } from "../../src/head/snapshot.ts";
import { Aggregate, VALUE_KIND_CODE } from "../../src/model/aggregate.ts";
import { FLAG_VALID, SampleBatch } from "../../src/model/batch.ts";
import { KIND_CODE } from "../../src/model/sample.ts";
import { type AggregateTier, bucketMs, bucketStart } from "../../src/model/tier.ts";
import { writeAtomic } from "../../src/platform/atomic.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { type AggRow, rowsToColumns } from "../../src/tier/agg_rows.ts";
import { type AggColumns, allocRawColumns, type RawColumns } from "../../src/tier/columns.ts";
import { createTierWriter, type TierWriter } from "../../src/tier/parquet_writer.ts";
import { rollup } from "../../src/tier/rollup.ts";
import { parseFlags } from "./args.ts";
import { COUNTER_KINDS, type Dataset, openDataset, type SeriesMeta } from "./dataset.ts";
import type { FileJob, QueryDataPlan, WrittenFile } from "./query_data.ts";
import { rowTimes } from "./query_data.ts";
import { progress } from "./suite.ts";

const DAY = 86_400_000;
const BLOCK = 250;

/** One series' raw samples in the generated window. */
interface SeriesData {
  meta: SeriesMeta;
  counter: boolean;
  ts: Float64Array;
  value: Float64Array;
  pollMs: Int32Array;
}

/** Template columns of one tier for a block: `perSeries` rows per series, series-major. */
interface Template {
  cols: AggColumns;
  perSeries: number;
  /** Bucket of template row 0 and bucket width. */
  base: number;
  width: number;
}

type AnyWriter = TierWriter<RawColumns> | TierWriter<AggColumns>;

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const plan = JSON.parse(fs.readFileSync(String(f.plan), "utf8")) as QueryDataPlan;
  const k = Number(f.worker);
  const jobs = plan.workers[k].map((id) => plan.jobs[id]);
  const p = plan.params, end = plan.endMs;
  const rawPoints = p.rawHours * 60;
  const ds = await openDataset(plan.peersDir, {
    series: p.series,
    points: rawPoints,
    startMs: end - rawPoints * 60_000,
    seed: p.seed,
  });
  const order = sortedSeries(ds, p.series);
  const writers = new Map<number, AnyWriter>();
  for (const j of jobs) writers.set(j.id, await openWriter(plan, j));
  const head = k === 0 ? new Head({ accuracy: p.accuracy, hotWindowMs: 0, hotMemoryBytes: 0 }) : null;
  const needAgg = jobs.some((j) => j.tier !== "raw");
  const t0 = performance.now();
  for (let b = 0; b < order.length; b += BLOCK) {
    const block = order.slice(b, b + BLOCK).map((m) => generate(ds, m, rawPoints));
    for (const j of jobs.filter((j) => j.tier === "raw")) {
      await (writers.get(j.id) as TierWriter<RawColumns>).write(rawColumns(block, j));
    }
    if (needAgg) await writeAggregates(block, jobs, writers, plan);
    if (head) observeLast(head, block);
    if ((b / BLOCK) % 40 === 39) {
      const done = b + block.length;
      const eta = ((performance.now() - t0) / done) * (order.length - done) / 1000;
      progress(`query data worker ${k}: ${done}/${order.length} series, ~${Math.round(eta)} s left`);
    }
  }
  const out: WrittenFile[] = [];
  for (const j of jobs) {
    const r = await writers.get(j.id)!.finish();
    out.push({ id: j.id, rows: r.rows, bytes: r.bytes, minTs: r.minTs, maxTs: r.maxTs });
  }
  if (head) {
    const bytes = encodeSnapshot(head, { walSegment: 1, createdMs: end, watermark: end });
    await writeAtomic(nodeFs, path.join(plan.dataDir, plan.snapshotPath), bytes);
  }
  fs.writeFileSync(String(f.out), JSON.stringify(out));
}

function openWriter(plan: QueryDataPlan, j: FileJob): Promise<AnyWriter> {
  const file = path.join(plan.dataDir, j.path);
  const compression = { algorithm: "zstd" as const, level: 3 };
  return j.tier === "raw"
    ? createTierWriter(nodeFs, file, { tier: "raw", compression })
    : createTierWriter(nodeFs, file, { tier: j.tier, compression });
}

/** Series in the order of tier files: namespace, target, poller. */
function sortedSeries(ds: Dataset, n: number): SeriesMeta[] {
  const metas = Array.from({ length: n }, (_, s) => ds.seriesMeta(s));
  return metas.sort((a, b) => compareIdentity(a.namespace, a.target, a.poller, b.namespace, b.target, b.poller));
}

function generate(ds: Dataset, meta: SeriesMeta, points: number): SeriesData {
  const st = ds.openSeries(meta.index);
  const d: SeriesData = {
    meta,
    counter: COUNTER_KINDS.has(meta.kind),
    ts: new Float64Array(points),
    value: new Float64Array(points),
    pollMs: new Int32Array(points),
  };
  for (let i = 0; i < points; i++) {
    const pt = st.next();
    d.ts[i] = pt.ts;
    d.value[i] = pt.value;
    d.pollMs[i] = Math.round(ds.pollMsOf(meta.t, i));
  }
  return d;
}

function rawColumns(block: SeriesData[], j: FileJob): RawColumns {
  const ranges = block.map((s) => [lowerBound(s.ts, j.from), lowerBound(s.ts, j.to)]);
  const n = ranges.reduce((a, [lo, hi]) => a + hi - lo, 0);
  const c: RawColumns = allocRawColumns(n);
  let r = 0;
  block.forEach((s, k) => {
    const [lo, hi] = ranges[k];
    for (let i = lo; i < hi; i++, r++) {
      c.namespace[r] = s.meta.namespace;
      c.target[r] = s.meta.target;
      c.poller[r] = s.meta.poller;
      c.ts[r] = s.ts[i];
      c.kind[r] = s.counter ? KIND_CODE.counter : KIND_CODE.gauge;
      if (s.counter) c.counter[r] = BigInt(s.value[i]);
      else c.value[r] = s.value[i];
      c.pollMs[r] = s.pollMs[i];
    }
  });
  return c;
}

function lowerBound(a: Float64Array, v: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The real 5-minute aggregates of the last 24 h before `end`, per series (288 rows each). */
function fiveMinRows(block: SeriesData[], end: number, accuracy: number): AggRow[][] {
  const width = bucketMs("5min"), base = end - DAY;
  return block.map((s) => {
    const rows: AggRow[] = Array.from({ length: DAY / width }, (_, k) => ({
      namespace: s.meta.namespace,
      target: s.meta.target,
      poller: s.meta.poller,
      bucket: base + k * width,
      kind: s.counter ? VALUE_KIND_CODE.rate : VALUE_KIND_CODE.gauge,
      agg: Aggregate.empty(accuracy),
    }));
    for (let i = lowerBound(s.ts, base); i < s.ts.length && s.ts[i] < end; i++) {
      const agg = rows[Math.floor((s.ts[i] - base) / width)].agg;
      if (!s.counter) agg.add(s.value[i], s.ts[i]);
      else if (i === 0) agg.touch(s.ts[i]);
      else agg.add(counterIncrease(s.value[i - 1], s.value[i]) / ((s.ts[i] - s.ts[i - 1]) / 1000), s.ts[i]);
    }
    return rows;
  });
}

async function writeAggregates(
  block: SeriesData[],
  jobs: FileJob[],
  writers: Map<number, AnyWriter>,
  plan: QueryDataPlan,
): Promise<void> {
  const end = plan.endMs, acc = plan.params.accuracy;
  const five = fiveMinRows(block, end, acc);
  const templates = new Map<AggregateTier, Template>();
  const need = new Set(jobs.map((j) => j.tier));
  if (need.has("5min")) templates.set("5min", template(five.flat(), 288, end - DAY, bucketMs("5min")));
  if (need.has("hourly")) {
    templates.set(
      "hourly",
      template(five.flatMap((rows) => rollup(rows, "hourly")), 24, end - DAY, bucketMs("hourly")),
    );
  }
  const dayAggs = need.has("daily") || need.has("weekly") ? five.map((rows) => mergeAll(rows, acc)) : [];
  if (need.has("daily")) {
    // the template day [end - 24 h, end) moved onto a daily bucket, so first/last fall inside each bucket
    const base = bucketStart("daily", end), move = base - (end - DAY);
    const rows = dayAggs.map((r) => {
      const agg = r.agg.clone();
      agg.firstTs = r.agg.firstTs + move;
      agg.lastTs = r.agg.lastTs + move;
      return { ...r, bucket: base, agg };
    });
    templates.set("daily", template(rows, 1, base, DAY));
  }
  for (const j of jobs) {
    if (j.tier === "raw") continue;
    const w = writers.get(j.id) as TierWriter<AggColumns>;
    const cols = j.tier === "weekly"
      ? weeklyColumns(dayAggs, j, plan)
      : shifted(templates.get(j.tier)!, block.length, j);
    await w.write(cols);
  }
}

/**
 * One row per series: all of its template rows merged (a whole day). Called after the 5-minute and
 * hourly templates were encoded, so the rows' aggregates may be consumed by the merge.
 */
function mergeAll(rows: AggRow[], accuracy: number): AggRow {
  const agg = Aggregate.empty(accuracy);
  for (const r of rows) agg.merge(r.agg);
  return { ...rows[0], agg };
}

function template(rows: AggRow[], perSeries: number, base: number, width: number): Template {
  return { cols: rowsToColumns(rows), perSeries, base, width };
}

/** An empty column set shaped like `like`, of `n` rows (robust to added columns). */
function emptyLike(like: AggColumns, n: number): AggColumns {
  const out: Record<string, unknown> = { length: n };
  for (const [key, v] of Object.entries(like)) {
    if (key === "length") continue;
    out[key] = ArrayBuffer.isView(v) ? new (v.constructor as new (n: number) => unknown)(n) : new Array(n);
  }
  return out as unknown as AggColumns;
}

type Column = { [i: number]: unknown; set?: (src: ArrayLike<unknown>, offset: number) => void };

/** Copies template rows [from, from + n) of `src` to row `at` of `dst`, times moved by `shift`. */
function copyRun(dst: AggColumns, at: number, src: AggColumns, from: number, n: number, shift: number): void {
  for (const [key, v] of Object.entries(src)) {
    if (key === "length") continue;
    const d = (dst as unknown as Record<string, Column>)[key];
    if (ArrayBuffer.isView(v)) {
      const typed = v as unknown as Float64Array;
      (d as unknown as Float64Array).set(typed.subarray(from, from + n), at);
    } else {
      const a = v as unknown[];
      for (let i = 0; i < n; i++) d[at + i] = a[from + i];
    }
  }
  for (let i = at; i < at + n; i++) {
    dst.bucket[i] += shift;
    dst.firstTs[i] += shift;
    dst.lastTs[i] += shift;
  }
}

/** The rows of job `j` for every series of the block, from the template. */
function shifted(t: Template, series: number, j: FileJob): AggColumns {
  const times = rowTimes(j.tier, j.from, j.to);
  const out = emptyLike(t.cols, series * times.length);
  const period = t.perSeries * t.width;
  let at = 0;
  for (let s = 0; s < series; s++) {
    let i = 0;
    while (i < times.length) {
      const k = mod(times[i] - t.base, period) / t.width;
      if (!Number.isInteger(k)) {
        throw new Error(`row time ${times[i]} is not on the template's grid (${t.base}, ${t.width})`);
      }
      const run = Math.min(times.length - i, t.perSeries - k);
      copyRun(out, at, t.cols, s * t.perSeries + k, run, times[i] - (t.base + k * t.width));
      at += run;
      i += run;
    }
  }
  return out;
}

/** Weekly rows: each merges the days of its week that the daily tier holds. */
function weeklyColumns(dayAggs: AggRow[], j: FileJob, plan: QueryDataPlan): AggColumns {
  const days = plan.jobs.filter((x) => x.tier === "daily").flatMap((x) => rowTimes("daily", x.from, x.to));
  const weeks = rowTimes("weekly", j.from, j.to);
  const rows: AggRow[] = [];
  for (const day of dayAggs) {
    for (const w of weeks) {
      const inWeek = days.filter((d) => bucketStart("weekly", d) === w);
      const agg = Aggregate.empty(plan.params.accuracy);
      for (let k = 0; k < inWeek.length; k++) agg.merge(day.agg.clone());
      const shiftFirst = inWeek[0] - (plan.endMs - DAY), shiftLast = inWeek[inWeek.length - 1] - (plan.endMs - DAY);
      agg.firstTs = day.agg.firstTs + shiftFirst;
      agg.lastTs = day.agg.lastTs + shiftLast;
      rows.push({ ...day, bucket: w, agg });
    }
  }
  return rowsToColumns(rows);
}

/** Records every series' last sample in the head (for the snapshot's last values). */
function observeLast(head: Head, block: SeriesData[]): void {
  const b = new SampleBatch(block.length);
  block.forEach((s, i) => {
    const last = s.ts.length - 1;
    b.namespace[i] = s.meta.namespace;
    b.target[i] = s.meta.target;
    b.poller[i] = s.meta.poller;
    b.ts[i] = s.ts[last];
    b.kind[i] = s.counter ? KIND_CODE.counter : KIND_CODE.gauge;
    b.flags[i] = FLAG_VALID;
    b.value[i] = s.value[last];
    b.pollMs[i] = s.pollMs[last];
  });
  b.length = block.length;
  head.series.resolveBatch(b);
  for (let i = 0; i < b.length; i++) head.series.observe(b, i);
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

if (import.meta.main) await main();
