/**
 * Parquet tier-file benchmark: storage cost and speed of the raw and 5-minute tiers on the shared
 * SNMP-like dataset (`/work/shared/bench-peers/gen_dataset.mjs`: 20 pollers per target — 4 device
 * gauges with 2 decimals, 4 interfaces × {ifHCInOctets, ifHCOutOctets, ifInErrors counters,
 * ifOperStatus 0/1 gauge} — one point per minute).
 *
 * Prints one JSON summary: bytes/sample of the raw tier (overall, per poller kind, without `poll_ms`,
 * per column), bytes per 5-minute row (with and without the sketch), write throughput, and the
 * latency of reading one series' 24 h from the written files (cold = footer not cached yet).
 *
 * ```sh
 * deno run -A bench/parquet_bench.ts                 # 10,000 series x 1,440 points (~14.4 M samples)
 * deno run -A bench/parquet_bench.ts --series 1000   # quick run
 * ```
 *
 * Options: `--series N` (10000), `--points N` (1440), `--reads N` (200), `--algorithm zstd|snappy|gzip|none`
 * (zstd), `--level N` (3), `--dir DIR` (a temporary directory, removed afterwards), `--gen FILE` (the
 * dataset generator, /work/shared/bench-peers/gen_dataset.mjs), `--row-group-rows N` and `--page-rows N`
 * (the writer's defaults).
 *
 * @module
 */
import os from "node:os";
import { Aggregate, VALUE_KIND_CODE } from "../src/model/aggregate.ts";
import { KIND_CODE } from "../src/model/sample.ts";
import { rowsToColumns } from "../src/tier/agg_rows.ts";
import { bucketStart } from "../src/model/tier.ts";
import type { CompressionAlgorithm } from "../src/config/schema.ts";
import { nodeFs } from "../src/platform/node_fs.ts";
import { type AggColumns, allocRawColumns, type RawColumns } from "../src/parquet/columns.ts";
import { concatBatches } from "../src/parquet/batch.ts";
import { COUNTER_KINDS } from "./lib/dataset.ts";
import { StallMonitor } from "./lib/stall.ts";
import { newReadStats } from "../src/parquet/buffer.ts";
import { clearTierFooterCache, readTierFileInfo } from "../src/parquet/footer.ts";
import { AGG_PAGE_ROWS } from "../src/parquet/agg.ts";
import { RAW_PAGE_ROWS } from "../src/parquet/raw.ts";
import { readAggFile, readRawFile } from "../src/parquet/reader.ts";
import {
  createTierWriter,
  DEFAULT_ROW_GROUP_ROWS,
  type TierWriterOptions,
  writeTierFile,
} from "../src/parquet/writer.ts";

const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2026, 0, 5);
/** Relative accuracy of the 5-minute sketches (`features.percentile.accuracy` default). */
const SKETCH_ACCURACY = 0.01;
/** Series per poller kind written to the per-kind files. */
const PER_KIND_SERIES = 250;

interface Args {
  series: number;
  points: number;
  reads: number;
  algorithm: CompressionAlgorithm;
  level: number;
  dir: string | null;
  gen: string;
  "row-group-rows": number;
  "page-rows": number | undefined;
}

interface SeriesMeta {
  index: number;
  t: number;
  kind: string;
  namespace: string;
  target: string;
  poller: string;
}

interface Dataset {
  seriesMeta(s: number): SeriesMeta;
  openSeries(s: number): { meta: SeriesMeta; next(): { ts: number; value: number } };
  pollMsOf(t: number, i: number): number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    series: 10_000,
    points: 1440,
    reads: 200,
    algorithm: "zstd",
    level: 3,
    dir: null,
    gen: "/work/shared/bench-peers/gen_dataset.mjs",
    "row-group-rows": DEFAULT_ROW_GROUP_ROWS,
    "page-rows": undefined,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "") as keyof Args;
    if (!(key in args)) throw new RangeError(`Unknown option ${argv[i]}: see the header of bench/parquet_bench.ts`);
    const numeric = typeof args[key] === "number" || key === "page-rows";
    (args as unknown as Record<string, unknown>)[key] = numeric ? Number(argv[i + 1]) : argv[i + 1];
  }
  return args;
}

/** Series indexes sorted by (namespace, target, poller): the order of tier files. */
function sortedSeries(ds: Dataset, count: number): SeriesMeta[] {
  const metas = Array.from({ length: count }, (_, s) => ds.seriesMeta(s));
  const key = (m: SeriesMeta) => [m.namespace, m.target, m.poller];
  return metas.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
  });
}

/** The raw rows of one series. */
function seriesRows(ds: Dataset, meta: SeriesMeta, points: number): RawColumns {
  const rows = allocRawColumns(points);
  const series = ds.openSeries(meta.index);
  const isCounter = COUNTER_KINDS.has(meta.kind);
  for (let i = 0; i < points; i++) {
    const p = series.next();
    rows.namespace[i] = meta.namespace;
    rows.target[i] = meta.target;
    rows.poller[i] = meta.poller;
    rows.ts[i] = p.ts;
    rows.kind[i] = isCounter ? KIND_CODE.counter : KIND_CODE.gauge;
    if (isCounter) rows.counter[i] = BigInt(p.value);
    else rows.value[i] = p.value;
    rows.pollMs[i] = Math.round(ds.pollMsOf(meta.t, i));
  }
  return rows;
}

/** 5-minute aggregates of one series: gauges as is, counters as per-second rates. */
function seriesAggregates(rows: RawColumns, meta: SeriesMeta): AggColumns {
  const buckets = new Map<number, Aggregate>();
  const isCounter = rows.kind[0] === KIND_CODE.counter;
  for (let i = 0; i < rows.length; i++) {
    const start = bucketStart("5min", rows.ts[i]);
    const agg = buckets.get(start) ?? buckets.set(start, Aggregate.empty(SKETCH_ACCURACY)).get(start)!;
    if (isCounter && (i === 0 || rows.counter[i]! < rows.counter[i - 1]!)) agg.touch(rows.ts[i]); // no rate
    else agg.add(isCounter ? rateAt(rows, i) : rows.value[i], rows.ts[i]);
  }
  const kind = isCounter ? VALUE_KIND_CODE.rate : VALUE_KIND_CODE.gauge;
  const { namespace, target, poller } = meta;
  return rowsToColumns([...buckets].map(([bucket, agg]) => ({ namespace, target, poller, bucket, kind, agg })));
}

/** The per-second rate of the counter between samples `i - 1` and `i`. */
function rateAt(rows: RawColumns, i: number): number {
  return Number(rows.counter[i]! - rows.counter[i - 1]!) / ((rows.ts[i] - rows.ts[i - 1]) / 1000);
}

/** Writes the raw and 5-minute files while generating the data, one target (20 series) at a time. */
async function writeFiles(ds: Dataset, metas: SeriesMeta[], args: Args, dir: string) {
  const raw = await createTierWriter(nodeFs, `${dir}/raw.parquet`, { ...writerOptions(args), tier: "raw" });
  const fiveMin = await createTierWriter(nodeFs, `${dir}/5min.parquet`, { ...writerOptions(args), tier: "5min" });
  const stalls = new StallMonitor();
  let writeMs = 0, aggWriteMs = 0;
  const byKind = new Map<string, SeriesMeta[]>();
  for (let s = 0; s < metas.length; s += 20) {
    const group = metas.slice(s, s + 20).map((m) => ({ meta: m, rows: seriesRows(ds, m, args.points) }));
    for (const { meta } of group) keepForKind(byKind, meta);
    const rows = concatBatches(group.map((g) => g.rows));
    const aggs = concatBatches(group.map((g) => seriesAggregates(g.rows, g.meta)));
    writeMs += await timed(() => stalls.during(() => raw.write(rows)));
    aggWriteMs += await timed(() => stalls.during(() => fiveMin.write(aggs)));
  }
  const rawResult = await stalls.during(() => timedResult(raw.finish(), (ms) => writeMs += ms));
  const aggResult = await stalls.during(() => timedResult(fiveMin.finish(), (ms) => aggWriteMs += ms));
  stalls.stop();
  return { rawResult, aggResult, writeMs, aggWriteMs, byKind, stalls: stalls.summary() };
}

async function timedResult<T>(promise: Promise<T>, add: (ms: number) => void): Promise<T> {
  const t0 = performance.now();
  const result = await promise;
  add(performance.now() - t0);
  return result;
}

function writerOptions(args: Args): Omit<TierWriterOptions, "tier"> {
  return {
    compression: { algorithm: args.algorithm, level: args.level },
    rowGroupRows: args["row-group-rows"],
    pageRows: args["page-rows"],
  };
}

/** Remembers the first {@link PER_KIND_SERIES} series of each poller kind (their rows are regenerated later). */
function keepForKind(byKind: Map<string, SeriesMeta[]>, meta: SeriesMeta): void {
  const kept = byKind.get(meta.kind) ?? byKind.set(meta.kind, []).get(meta.kind)!;
  if (kept.length < PER_KIND_SERIES) kept.push(meta);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Bytes per sample of files holding only the series of one poller kind, with and without `poll_ms`
 * (in such a file each target has one series, so `poll_ms` cannot share its repeats across pollers).
 */
async function perKindBytes(ds: Dataset, byKind: Map<string, SeriesMeta[]>, args: Args, dir: string) {
  const out: Record<string, { all: number; without_poll_ms: number }> = {};
  for (const [kind, metas] of byKind) {
    const parts = metas.map((meta) => seriesRows(ds, meta, args.points)); // regenerated: deterministic
    const path = `${dir}/kind-${kind}.parquet`;
    const result = await writeTierFile(nodeFs, path, { ...writerOptions(args), tier: "raw" }, concatBatches(parts));
    const pollMs = (await columnBytes(path)).poll_ms;
    out[kind] = {
      all: round(result.bytes / result.rows),
      without_poll_ms: round((result.bytes - pollMs) / result.rows),
    };
  }
  return out;
}

/** Compressed bytes per column (all row groups), from the footer. */
async function columnBytes(path: string): Promise<Record<string, number>> {
  const info = await readTierFileInfo(nodeFs, path);
  const out: Record<string, number> = {};
  for (const group of info.metadata.row_groups) {
    for (const chunk of group.columns) {
      const name = chunk.meta_data!.path_in_schema[0];
      out[name] = (out[name] ?? 0) + Number(chunk.meta_data!.total_compressed_size);
    }
  }
  return out;
}

/** Latency of reading one series' 24 h, over `reads` reads cycling through `targets`. */
async function readLatency(
  path: string,
  metas: SeriesMeta[],
  reads: number,
  read: (path: string, meta: SeriesMeta, stats: ReturnType<typeof newReadStats>) => Promise<number>,
) {
  clearTierFooterCache();
  const stats = newReadStats();
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < reads + 1; i++) {
    const meta = metas[Math.floor((i * 7919) % metas.length)];
    const t0 = performance.now();
    rows += await read(path, meta, i === 1 ? stats : newReadStats());
    times.push(performance.now() - t0);
  }
  const cold = times.shift()!;
  times.sort((a, b) => a - b);
  const q = (p: number) => round(times[Math.min(times.length - 1, Math.floor(p * times.length))]);
  return {
    cold_ms: round(cold),
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    rows_per_read: rows / (reads + 1),
    bytes_read: stats.bytes,
  };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  const dir = args.dir ?? await Deno.makeTempDir({ prefix: "parquet-bench-" });
  try {
    console.log(JSON.stringify(await run(args, dir), null, 2));
  } finally {
    if (!args.dir) await Deno.remove(dir, { recursive: true });
  }
}

type Written = Awaited<ReturnType<typeof writeFiles>>;

async function run(args: Args, dir: string) {
  const { makeDataset } = await import(args.gen);
  const ds = makeDataset({ series: args.series, points: args.points, intervalS: 60, startMs: START_MS }) as Dataset;
  const metas = sortedSeries(ds, args.series);
  const written = await writeFiles(ds, metas, args, dir);
  const perKind = await perKindBytes(ds, written.byKind, args, dir);
  const pageRows = args["page-rows"] ?? `default (raw ${RAW_PAGE_ROWS}, aggregates ${AGG_PAGE_ROWS})`;
  return {
    machine: machine(),
    params: { ...args, "page-rows": pageRows, samples: written.rawResult.rows, start_ms: START_MS },
    raw: { ...await rawSummary(written, perKind), read_one_series_24h: await rawReads(written, metas, args) },
    five_min: { ...await aggSummary(written), read_one_series_24h: await aggReads(written, metas, args) },
  };
}

async function rawSummary(written: Written, perKind: Awaited<ReturnType<typeof perKindBytes>>) {
  const { bytes, rows, rowGroups, path } = written.rawResult;
  const columns = await columnBytes(path);
  return {
    bytes,
    rows,
    row_groups: rowGroups,
    bytes_per_sample: round(bytes / rows),
    bytes_per_sample_without_poll_ms: round((bytes - columns.poll_ms) / rows),
    bytes_per_sample_per_kind: perKind,
    bytes_per_sample_per_column: mapValues(columns, (b) => round(b / rows)),
    write_rows_per_s: Math.round(rows / (written.writeMs / 1000)),
    write_ms: Math.round(written.writeMs),
    event_loop_stalls_while_writing: written.stalls,
  };
}

async function aggSummary(written: Written) {
  const { bytes, rows, path } = written.aggResult;
  const columns = await columnBytes(path);
  return {
    bytes,
    rows,
    bytes_per_row: round(bytes / rows),
    bytes_per_row_without_sketch: round((bytes - columns.sketch) / rows),
    bytes_per_row_per_column: mapValues(columns, (b) => round(b / rows)),
    write_rows_per_s: Math.round(rows / (written.aggWriteMs / 1000)),
  };
}

const DAY_WINDOW = { fromMs: START_MS, toMs: START_MS + DAY_MS };

function rawReads(written: Written, metas: SeriesMeta[], args: Args) {
  return readLatency(written.rawResult.path, metas, args.reads, async (path, series, stats) => {
    return (await readRawFile(nodeFs, path, { series, ...DAY_WINDOW, stats })).length;
  });
}

function aggReads(written: Written, metas: SeriesMeta[], args: Args) {
  return readLatency(written.aggResult.path, metas, args.reads, async (path, series, stats) => {
    return (await readAggFile(nodeFs, path, { series, ...DAY_WINDOW, stats })).length;
  });
}

function mapValues(o: Record<string, number>, f: (v: number) => number): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

function machine() {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    runtime: `deno ${Deno.version.deno}`,
    os: `${os.type()} ${os.release()}`,
  };
}

if (import.meta.main) await main();
