/**
 * Suite `agg`: the streaming 5-minute aggregation (`src/aggregate/aggregator.ts`).
 *
 * Cost per sample: poll rounds of the dataset (one sample per series per 60 s, real gauges and
 * counters; counters aggregate their per-second rate) are fed to `Aggregator.add`, with closed
 * buckets extracted every 5 simulated minutes as a flush does. The first 5 rounds (one bucket) warm
 * up untimed. Three settings:
 *
 * - `off`: percentiles off (`features.percentile.enabled: false`): count, sum, min, max, first/last;
 * - `on`: percentiles on (accuracy 1 %), the default: a bucket keeps its first values exactly (at
 *   60 s polling a bucket has 5 values, so no sketch is ever built);
 * - `sketch`: percentiles on with no exact values kept (`inline: 0`): every value goes into the
 *   bucket's DDSketch, what a faster poll rate (more than 8 values per bucket) costs.
 *
 * Memory per open series: a fresh process per setting creates N series with one open bucket of 5
 * values each (a full bucket at 60 s polling; 4 gauges and 16 interface series per target as in the
 * dataset) and reports the growth of RSS and of the JS heap plus array buffers after a full GC,
 * divided by N, next to the aggregator's own estimate (`memoryBytes()`). The same is measured for the
 * series index (identity strings, maps and last values), which every series also costs; its poller
 * strings are created per series, target names are shared by a target's 20 series (as the generator
 * makes them).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { Aggregator } from "../../src/aggregate/aggregator.ts";
import { SeriesIndex } from "../../src/head/series.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { KIND_CODE } from "../../src/model/sample.ts";
import { bucketStart } from "../../src/model/tier.ts";
import { parseFlags } from "../lib/args.ts";
import { COUNTER_KINDS, type Dataset, openDataset, PollRounds } from "../lib/dataset.ts";
import { runProcess } from "../lib/process.ts";
import { currentRuntime, gc, memory, scriptCommand } from "../lib/runtime.ts";
import { round } from "../lib/stats.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface AggOpts extends CommonOpts {
  series: number;
  rounds: number;
  /** Series of the memory measurement (percentiles on and off). */
  memorySeries: number;
  /** Series of the memory measurement with a sketch per bucket (scaled: a sketch costs more). */
  sketchMemorySeries: number;
  startMs: number;
}

/** Aggregation settings. */
export type AggMode = "off" | "on" | "sketch";

/** Cost per sample of one setting. */
export interface AggCost {
  mode: AggMode;
  samples: number;
  add_seconds: number;
  ns_per_sample: number;
  samples_per_s: number;
  extract_count: number;
  extract_ms_mean: number;
  ns_per_closed_bucket: number;
}

/** Memory of one setting. */
export interface AggMemory {
  what: string;
  series: number;
  open_buckets: number;
  rss_bytes_per_series: number;
  heap_bytes_per_series: number;
  estimate_bytes_per_series: number | null;
}

/** The suite's result. */
export interface AggResult {
  series: number;
  cost: AggCost[];
  memory: AggMemory[];
}

const MODES: Record<AggMode, { accuracy: number | null; inline?: number }> = {
  off: { accuracy: null },
  on: { accuracy: 0.01 },
  sketch: { accuracy: 0.01, inline: 0 },
};

/** Runs the suite. */
export async function runAgg(o: AggOpts): Promise<AggResult> {
  const memoryRuns: AggMemory[] = [];
  for (
    const [what, n] of [["on", o.memorySeries], ["off", o.memorySeries], ["sketch", o.sketchMemorySeries], [
      "series_index",
      o.memorySeries,
    ]] as const
  ) {
    memoryRuns.push(await memoryChild(what, n, o));
    const m = memoryRuns[memoryRuns.length - 1];
    progress(`agg memory ${what}: ${m.heap_bytes_per_series} B/series heap, ${m.rss_bytes_per_series} B/series RSS`);
  }
  const rounds = o.rounds + 5;
  const ds = await openDataset(o.peersDir, { series: o.series, points: rounds + 1, startMs: o.startMs });
  const gen = new PollRounds(ds);
  const all = Array.from({ length: rounds }, () => gen.next());
  const index = new SeriesIndex();
  for (const r of all) for (const b of r) index.resolveBatch(b);
  const cost: AggCost[] = [];
  for (const mode of ["off", "on", "sketch"] as const) {
    gc();
    measureCost(mode, all); // untimed pass: compiles this setting's code paths
    gc();
    cost.push(measureCost(mode, all));
    progress(`agg ${mode}: ${cost[cost.length - 1].ns_per_sample} ns/sample`);
  }
  return { series: o.series, cost, memory: memoryRuns };
}

function measureCost(mode: AggMode, all: SampleBatch[][]): AggCost {
  const agg = new Aggregator(MODES[mode]);
  let addMs = 0, samples = 0, extractMs = 0, extracts = 0, closed = 0;
  for (let r = 0; r < all.length; r++) {
    const t0 = performance.now();
    for (const b of all[r]) {
      for (let i = 0; i < b.length; i++) agg.add(b.seriesId[i], b.ts[i], b.kind[i], true, b.value[i]);
    }
    const ts = all[r][0].ts[0];
    if (r >= 5) {
      addMs += performance.now() - t0;
      samples += all[r].reduce((a, b) => a + b.length, 0);
    }
    if ((ts + 60_000) % 300_000 === 0) {
      const open = agg.openBuckets;
      const e0 = performance.now();
      agg.extractClosed(bucketStart("5min", ts + 60_000));
      if (r >= 5) {
        extractMs += performance.now() - e0;
        extracts++;
        closed += open - agg.openBuckets;
      }
    }
  }
  return {
    mode,
    samples,
    add_seconds: round(addMs / 1000),
    ns_per_sample: round((addMs * 1e6) / samples, 1),
    samples_per_s: Math.round(samples / (addMs / 1000)),
    extract_count: extracts,
    extract_ms_mean: round(extractMs / Math.max(1, extracts)),
    ns_per_closed_bucket: closed > 0 ? round((extractMs * 1e6) / closed, 1) : NaN,
  };
}

async function memoryChild(what: string, series: number, o: AggOpts): Promise<AggMemory> {
  const out = path.join(o.workDir, `agg-memory-${what}.json`);
  const [cmd, args] = scriptCommand(currentRuntime(), new URL(import.meta.url).pathname, [
    "--memory",
    what,
    "--series",
    String(series),
    "--peers",
    o.peersDir,
    "--out",
    out,
  ]);
  const r = await runProcess(cmd, args, { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`memory child ${what} failed: ${r.stderr.slice(-2000)}`);
  const m = JSON.parse(fs.readFileSync(out, "utf8")) as AggMemory;
  fs.rmSync(out);
  return m;
}

/** The memory child: builds the state, measures, writes `--out`. */
async function memoryMain(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const what = String(f.memory), n = Number(f.series);
  const ds = await openDataset(String(f.peers), { series: n, points: 5, startMs: Date.UTC(2026, 10, 25) });
  const counter = Array.from({ length: n }, (_, s) => COUNTER_KINDS.has(ds.seriesMeta(s).kind));
  gc();
  const m0 = memory();
  let keep: unknown;
  let estimate: number | null = null, open = 0;
  if (what === "series_index") {
    keep = buildIndex(ds, n); // identity strings are created inside: they count
  } else {
    const agg = new Aggregator(MODES[what as AggMode]);
    fillBuckets(agg, counter);
    keep = agg;
    estimate = agg.memoryBytes() / n;
    open = agg.openBuckets;
  }
  gc();
  const m1 = memory();
  const result: AggMemory = {
    what,
    series: n,
    open_buckets: open,
    rss_bytes_per_series: Math.round((m1.rss - m0.rss) / n),
    heap_bytes_per_series: Math.round((m1.heap + m1.external - m0.heap - m0.external) / n),
    estimate_bytes_per_series: estimate === null ? null : Math.round(estimate),
  };
  fs.writeFileSync(String(f.out), JSON.stringify(result));
  if (!keep) throw new Error("unreachable"); // keeps the state alive until after the measurement
}

/** One open bucket of 5 samples per series (a full bucket at 60 s polling). */
function fillBuckets(agg: Aggregator, counter: boolean[]): void {
  const start = Date.UTC(2026, 10, 25, 12);
  let x = 12345;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let s = 0; s < counter.length; s++) {
    let c = Math.floor(rnd() * 2 ** 40);
    for (let k = 0; k < 5; k++) {
      const ts = start + k * 60_000;
      if (counter[s]) agg.addCounter(s, ts, c += Math.floor(rnd() * 1e7));
      else agg.addGauge(s, ts, Math.round(rnd() * 10_000) / 100);
    }
  }
}

/** A series index holding every identity with one last value. */
function buildIndex(ds: Dataset, n: number): SeriesIndex {
  const index = new SeriesIndex();
  const b = new SampleBatch(1);
  b.length = 1;
  b.kind[0] = KIND_CODE.gauge;
  b.flags[0] = 1;
  for (let s = 0; s < n; s++) {
    const m = ds.seriesMeta(s);
    b.seriesId[0] = index.resolve(m.namespace, m.target, m.poller);
    b.ts[0] = Date.UTC(2026, 10, 25);
    b.value[0] = 1.5;
    index.observe(b, 0);
  }
  return index;
}

if (import.meta.main) {
  if (process.argv.includes("--memory")) await memoryMain();
  else await suiteMain("agg", runAgg);
}
