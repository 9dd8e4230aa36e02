/**
 * The on-disk dataset of the `query` suite: N series × D days written straight as tier files, as a
 * data directory the server opens like one it wrote itself (layout of `src/model/paths.ts`, files
 * recorded in a `MANIFEST.json` of `src/tier/manifest.ts`, a head snapshot with every series' last
 * value). Generating it through HTTP ingest would take hours; writing the files directly takes
 * minutes, with the product's own Parquet writer (`src/tier/parquet_writer.ts`, default options).
 *
 * Content, with `end` = the last full hour before generation:
 *
 * - `raw`: every series' samples of the last `rawHours` (26) before `end`, from the peers' generator
 *   (`gen_dataset.mjs`), one file per UTC-day partition;
 * - `5min`: rows for D days before `end`, one file per UTC day. The last 24 h are the real 5-minute
 *   aggregates of those raw samples (count, sum, min, max, first/last, DDSketch; counters as rates),
 *   computed with the product's `Aggregate`; earlier days repeat that day shifted in time (a diurnal
 *   signal repeating daily), so every row and sketch is valid and consistent;
 * - `hourly`: the 5-minute template rolled up (`src/tier/rollup.ts`), D days, one file per month;
 * - `daily` / `weekly`: the whole template day merged into one aggregate per day (per week: the
 *   days of that week that are in the dataset), one file per year;
 * - watermarks: `5min` and `hourly` at `end`, `daily` at the start of `end`'s day, `weekly` at the
 *   start of its week: every tier is complete up to its watermark, as after compaction;
 * - `snapshots/snapshot-000000000001.bin` (`src/head/snapshot.ts`): every series with its last value
 *   (the raw sample at `end` − 60 s), so `GET /api/v1/series` answers from the last-value cache as on
 *   a server that restarted at a checkpoint. No WAL: nothing is unflushed.
 *
 * The files are written by worker processes (`query_data_writer.ts`), each owning whole files, so the
 * layout does not depend on the number of workers. The dataset is cached (it takes long at full
 * size) and runs use a hard-linked clone: files are immutable and replaced only by rename, so
 * whatever the server does (compaction, retention, new manifest) never changes the cache.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import {
  MANIFEST_FILE,
  partitionEnd,
  partitionStart,
  SNAPSHOT_DIR,
  snapshotName,
  tierFilePath,
} from "../../src/model/paths.ts";
import { type AggregateTier, bucketMs, bucketStart, type Tier } from "../../src/model/tier.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { commitManifest, emptyManifest, type TierFile } from "../../src/tier/manifest.ts";
import { openDataset, type QuerySeries } from "./dataset.ts";
import { runProcess } from "./process.ts";
import { currentRuntime, scriptCommand } from "./runtime.ts";
import { progress } from "./suite.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Parameters of the dataset. */
export interface QueryDataParams {
  series: number;
  days: number;
  /** Hours of raw samples before the end. */
  rawHours: number;
  seed: number;
  /** Relative accuracy of the sketches (`features.percentile.accuracy`). */
  accuracy: number;
}

/** One file to write. */
export interface FileJob {
  id: number;
  tier: Tier;
  partition: number;
  seq: number;
  /** Relative path in the data directory. */
  path: string;
  /** Rows hold times in [from, to): sample time (raw) or bucket start. */
  from: number;
  to: number;
  estRows: number;
}

/** What the workers get. */
export interface QueryDataPlan {
  params: QueryDataParams;
  /** The peers' harness (its `gen_dataset.mjs` makes the raw samples). */
  peersDir: string;
  endMs: number;
  dataDir: string;
  jobs: FileJob[];
  /** Job ids of each worker. */
  workers: number[][];
  snapshotPath: string;
  watermarks: Record<AggregateTier, number>;
}

/** What a worker reports per file. */
export interface WrittenFile {
  id: number;
  rows: number;
  bytes: number;
  minTs: number;
  maxTs: number;
}

/** The cached dataset's description (`meta.json` next to `data/`). */
export interface QueryDataMeta {
  params: QueryDataParams;
  endMs: number;
  generatedAt: string;
  generateSeconds: number;
  workers: number;
  tiers: Record<string, { files: number; rows: number; bytes: number }>;
  /** The dataset's query series with their expected last value (ts = end − 60 s). */
  querySeries: (QuerySeries & { last_ts_ms: number; last_value: number })[];
}

/** Options of {@link ensureQueryData}. */
export interface EnsureOptions {
  peersDir: string;
  cacheDir: string;
  workers: number;
  /** Regenerate when the cached dataset's end is older than this. */
  maxAgeHours: number;
  logDir: string;
}

/**
 * The cached dataset for `p`, generated when missing or too old. Returns its directory (with `data/`
 * and `meta.json`) and its description.
 */
export async function ensureQueryData(
  p: QueryDataParams,
  o: EnsureOptions,
): Promise<{ dir: string; meta: QueryDataMeta }> {
  const dir = path.join(o.cacheDir, `query-s${p.series}-d${p.days}-r${p.rawHours}-seed${p.seed}`);
  const metaFile = path.join(dir, "meta.json");
  if (fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as QueryDataMeta;
    if (Date.now() - meta.endMs <= o.maxAgeHours * HOUR) {
      progress(`query data: reusing ${dir} (end ${new Date(meta.endMs).toISOString()})`);
      return { dir, meta };
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  const endMs = Math.floor(Date.now() / HOUR) * HOUR;
  const plan = makePlan(p, endMs, path.join(dir, "data"), o.workers, o.peersDir);
  fs.mkdirSync(path.join(plan.dataDir, SNAPSHOT_DIR), { recursive: true });
  const planFile = path.join(dir, "plan.json");
  fs.writeFileSync(planFile, JSON.stringify(plan));
  progress(`query data: writing ${plan.jobs.length} files with ${o.workers} workers into ${plan.dataDir}`);
  const written = (await Promise.all(plan.workers.map((_, k) => runWorker(planFile, k, o)))).flat();
  const files = await commit(plan, written);
  const meta: QueryDataMeta = {
    params: p,
    endMs,
    generatedAt: new Date().toISOString(),
    generateSeconds: Math.round((performance.now() - t0) / 1000),
    workers: o.workers,
    tiers: tierTotals(files),
    querySeries: await querySeries(p, endMs, o.peersDir),
  };
  fs.writeFileSync(metaFile, JSON.stringify(meta, null, 1));
  fs.rmSync(planFile);
  progress(`query data: done in ${meta.generateSeconds} s`);
  return { dir, meta };
}

/** The files to write and who writes which. */
export function makePlan(
  p: QueryDataParams,
  endMs: number,
  dataDir: string,
  workers: number,
  peersDir: string,
): QueryDataPlan {
  const start = endMs - p.days * DAY;
  const ranges: [Tier, number, number][] = [
    ["raw", endMs - p.rawHours * HOUR, endMs],
    ["5min", start, endMs],
    ["hourly", start, endMs],
    ["daily", bucketStart("daily", start), bucketStart("daily", endMs)],
    ["weekly", bucketStart("weekly", start), bucketStart("weekly", endMs)],
  ];
  const jobs: FileJob[] = [];
  for (const [tier, from, to] of ranges) {
    for (let part = partitionStart(tier, from); part < to; part = partitionEnd(tier, part)) {
      const lo = Math.max(from, part), hi = Math.min(to, partitionEnd(tier, part));
      const rows = rowTimes(tier, lo, hi).length;
      if (rows === 0) continue;
      const seq = jobs.length + 1;
      const rel = tierFilePath(tier, part, seq);
      jobs.push({ id: jobs.length, tier, partition: part, seq, path: rel, from: lo, to: hi, estRows: rows * p.series });
    }
  }
  // an aggregate row costs the Parquet writer about 2.5 raw rows (17 columns, sketch bytes), measured
  const cost = (j: FileJob) => j.estRows * (j.tier === "raw" ? 1 : 2.5);
  const load = new Array(workers).fill(0);
  const assigned: number[][] = Array.from({ length: workers }, () => []);
  for (const j of [...jobs].sort((a, b) => cost(b) - cost(a))) {
    const k = load.indexOf(Math.min(...load));
    assigned[k].push(j.id);
    load[k] += cost(j);
  }
  return {
    params: p,
    peersDir,
    endMs,
    dataDir,
    jobs,
    workers: assigned,
    snapshotPath: `${SNAPSHOT_DIR}/${snapshotName(1)}`,
    watermarks: {
      "5min": endMs,
      hourly: endMs,
      daily: bucketStart("daily", endMs),
      weekly: bucketStart("weekly", endMs),
    },
  };
}

/**
 * The times of a file's rows for one series: every minute (raw) or every bucket start of `tier` in
 * [from, to) (weekly buckets start on Mondays and belong to the partition of their Monday).
 */
export function rowTimes(tier: Tier, from: number, to: number, step = stepOf(tier)): number[] {
  let t = tier === "raw" ? Math.ceil(from / step) * step : bucketStart(tier as AggregateTier, from);
  if (t < from) t += step;
  const out: number[] = [];
  for (; t < to; t += step) out.push(t);
  return out;
}

/** Time between two rows of one series in a tier. */
export function stepOf(tier: Tier): number {
  return tier === "raw" ? 60_000 : bucketMs(tier as AggregateTier);
}

async function runWorker(planFile: string, k: number, o: EnsureOptions): Promise<WrittenFile[]> {
  const script = new URL("./query_data_writer.ts", import.meta.url).pathname;
  const out = `${planFile}.worker${k}.json`;
  const [cmd, args] = scriptCommand(currentRuntime(), script, [
    "--plan",
    planFile,
    "--worker",
    String(k),
    "--out",
    out,
  ]);
  const r = await runProcess(cmd, args, {
    timeoutMs: 6 * 3_600_000,
    echoStderr: true,
    logFile: path.join(o.logDir, `query-data-worker${k}.log`),
  });
  if (r.code !== 0) throw new Error(`query data worker ${k} failed: ${r.stderr.slice(-2000)}`);
  const written = JSON.parse(fs.readFileSync(out, "utf8")) as WrittenFile[];
  fs.rmSync(out);
  return written;
}

/** Writes the manifest listing every file, the checkpoint snapshot and the watermarks. */
async function commit(plan: QueryDataPlan, written: WrittenFile[]): Promise<TierFile[]> {
  const byId = new Map(written.map((w) => [w.id, w]));
  const files: TierFile[] = plan.jobs.map((j) => {
    const w = byId.get(j.id);
    if (!w) throw new Error(`file ${j.path} was not written`);
    return {
      path: j.path,
      tier: j.tier,
      partition: j.partition,
      seq: j.seq,
      minTs: w.minTs,
      maxTs: w.maxTs,
      rows: w.rows,
      bytes: w.bytes,
      level: 0,
    };
  });
  if (!fs.existsSync(path.join(plan.dataDir, plan.snapshotPath))) throw new Error("the snapshot was not written");
  const m = emptyManifest();
  m.nextSeq = Math.max(...plan.jobs.map((j) => j.seq)) + 1;
  m.checkpoint = { walSegment: 1, snapshot: plan.snapshotPath };
  m.watermarks = plan.watermarks;
  m.files = files;
  await commitManifest(nodeFs, plan.dataDir, m);
  if (!fs.existsSync(path.join(plan.dataDir, MANIFEST_FILE))) throw new Error("the manifest was not written");
  return files;
}

function tierTotals(files: TierFile[]): QueryDataMeta["tiers"] {
  const out: QueryDataMeta["tiers"] = {};
  for (const f of files) {
    const t = out[f.tier] ??= { files: 0, rows: 0, bytes: 0 };
    t.files++;
    t.rows += f.rows;
    t.bytes += f.bytes;
  }
  return out;
}

/** The generator's query series, with their last raw value before `end`. */
async function querySeries(p: QueryDataParams, endMs: number, peersDir: string): Promise<QueryDataMeta["querySeries"]> {
  const points = p.rawHours * 60;
  const ds = await openDataset(peersDir, { series: p.series, points, startMs: endMs - points * 60_000, seed: p.seed });
  return ds.querySeriesIdx.map((s) => {
    const st = ds.openSeries(s);
    const first = st.next();
    let last = first;
    for (let i = 1; i < points; i++) last = st.next();
    const m = st.meta;
    return {
      index: s,
      namespace: m.namespace,
      target: m.target,
      poller: m.poller,
      kind: m.kind,
      points,
      first_ts_ms: first.ts,
      first_value: first.value,
      last_ts_ms: last.ts,
      last_value: last.value,
    };
  });
}

/** A hard-linked copy of the cached data directory (files are immutable: the cache stays intact). */
export async function cloneDataDir(from: string, to: string): Promise<void> {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const r = await runProcess("cp", ["-al", from, to], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`cp -al ${from} ${to} failed: ${r.stderr}`);
}
