/**
 * Suite `flush`: the real flush path (`src/service/storage.ts` `Storage.flushNow`: cut, Parquet
 * encoding of raw samples and closed 5-minute buckets, snapshot, manifest commit, WAL checkpoint) on
 * the real file system, in process, and the bytes on disk of what it wrote.
 *
 * - `day`: the peers' dataset (default 10,000 series × 1,440 points at 60 s, the same samples as the
 *   VictoriaMetrics and Prometheus runs of `peers`) is ingested through `Storage.ingest` (WAL in
 *   `async` mode, buffer limit above the dataset so nothing flushes early; not timed), then ONE flush
 *   writes it all: a day of data, every 5-minute bucket closed (the WAL's `async` backlog is written
 *   first, its own stall reported apart: it is the WAL's, not the flush's). Reported: flush time, rows/s, and
 *   bytes on disk — raw tier bytes per sample with and without the `poll_ms` column (the peers do
 *   not store it), and bytes per 5-minute row with and without the sketch column (from the files'
 *   footers: compressed column-chunk sizes).
 * - `steady`: live operation at N series (default 100,000) polled every 60 s with a fake clock: each
 *   round's batches are ingested concurrently (WAL `fsync` mode, as configured by default) and every
 *   5 simulated minutes a flush writes the last 5 minutes of raw samples and the bucket that just
 *   closed. The first flush is a warm-up (its stall is reported apart: the code runs once per flush, so
 *   the JIT compiles it late). Reported per flush: duration, rows, and the longest stall of the event
 *   loop while it ran (a stall delays every ingest request).
 *
 * The bars (issue 8): no stall over 50 ms in steady flushes at 100,000 series, at most 200 ms while
 * flushing the backfilled day ({@link STALL_BARS}).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { loadConfigText } from "../../src/config/load.ts";
import type { SampleBatch } from "../../src/model/batch.ts";
import { FakeClock, systemClock } from "../../src/platform/clock.ts";
import type { Clock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { Storage } from "../../src/service/storage.ts";

/** The bench process holds the dataset too: its RSS is not the storage's, so admission must not read it. */
const testResidentBytes = (): number => 64 * 2 ** 20;
import { readTierFileInfo } from "../../src/parquet/footer.ts";
import { openDataset, PollRounds } from "../lib/dataset.ts";
import { StallMonitor } from "../lib/stall.ts";
import { round, summarize } from "../lib/stats.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Issue 8's bars for the event loop's longest stall during a flush, ms. */
export const STALL_BARS = { steady: 50, day: 200 } as const;

/** Options of the suite. */
export interface FlushOpts extends CommonOpts {
  daySeries: number;
  dayPoints: number;
  /** Start of the `day` dataset (the same as the peers' runs). */
  startMs: number;
  steadySeries: number;
  steadyFlushes: number;
}

/** Bytes of one tier's files. */
export interface TierBytes {
  files: number;
  rows: number;
  bytes: number;
  bytes_per_row: number;
  /** Compressed bytes per row of each column (from the footers). */
  column_bytes_per_row: Record<string, number>;
}

/** The suite's result. */
export interface FlushResult {
  day: {
    series: number;
    points: number;
    samples: number;
    start_ms: number;
    load_seconds: number;
    flush_seconds: number;
    raw_samples: number;
    buckets: number;
    rows_per_s: number;
    raw_samples_per_s: number;
    files: number;
    stall: { max_ms: number; over_50ms: number };
    /** The longest stall while the WAL's `async` backlog of the load was written, before the flush. */
    wal_drain_stall_ms: number;
    raw: TierBytes & { bytes_per_sample_without_poll_ms: number };
    five_min: TierBytes & { bytes_per_row_without_sketch: number };
  };
  steady: {
    series: number;
    flushes: number;
    raw_samples_per_flush: number;
    buckets_per_flush: number;
    flush_ms: ReturnType<typeof summarize>;
    rows_per_s: number;
    stall_max_ms: number;
    stalls_over_50ms: number;
    /** The longest stall of the first (warm-up, untimed) flush. */
    first_stall_ms: number;
  };
}

/** Runs the suite. */
export async function runFlush(o: FlushOpts): Promise<FlushResult> {
  const day = await runDay(o);
  progress(`flush day: ${day.rows_per_s.toLocaleString("en")} rows/s, raw ${day.raw.bytes_per_row} B/sample`);
  const steady = await runSteady(o);
  progress(`flush steady: ${steady.flush_ms.p50_ms} ms per flush of ${steady.raw_samples_per_flush} samples`);
  return { day, steady };
}

async function openStorage(dir: string, yaml: string, clock: Clock): Promise<Storage> {
  fs.rmSync(dir, { recursive: true, force: true });
  const config = loadConfigText(yaml, { dataDir: dir });
  const storage = Storage.create(config, {
    residentBytes: testResidentBytes,
    fs: nodeFs,
    clock,
    log: silentLogger,
    metrics: new Metrics(),
  });
  await storage.start();
  return storage;
}

async function runDay(o: FlushOpts): Promise<FlushResult["day"]> {
  const samples = o.daySeries * o.dayPoints;
  const dir = path.join(o.workDir, "flush-day");
  // a buffer far above the dataset: no flush may start while loading (flushes start at a share of it);
  // the memory plan caps the buffer at a share of server.memory_limit, so the budget is raised to match
  const yaml = `server:\n  memory_limit: ${Math.ceil((samples * 20 * 34) / 0.075 / 2 ** 30) + 1}GiB\n` +
    `ingestion:\n  wal:\n    sync_mode: async\n  flush:\n    max_buffer_size: ${samples * 20}\n`;
  const storage = await openStorage(dir, yaml, systemClock);
  const ds = await openDataset(o.peersDir, { series: o.daySeries, points: o.dayPoints, startMs: o.startMs });
  const gen = new PollRounds(ds);
  const t0 = performance.now();
  for (let r = 0; r < o.dayPoints; r++) for (const b of gen.next()) await storage.ingest(b);
  const loadSeconds = (performance.now() - t0) / 1000;
  progress(`flush day: loaded ${samples.toLocaleString("en")} samples in ${round(loadSeconds, 1)} s`);
  const unflushed = storage.core.head.raw.unflushed;
  if (unflushed !== samples) {
    throw new Error(`${samples - unflushed} samples were flushed while loading; the timing would be wrong`);
  }
  // the load's WAL backlog (async mode queues batches until a sync) is written first: one group, a
  // stall of its own that is the WAL's, not the flush's
  const drain = new StallMonitor();
  await drain.during(() => storage.core.wal.flush());
  drain.stop();
  const stalls = new StallMonitor();
  const t1 = performance.now();
  const report = await stalls.during(() => storage.flushNow("bench"));
  const flushSeconds = (performance.now() - t1) / 1000;
  stalls.stop();
  if (!report || report.rawSamples !== samples) {
    throw new Error(`flush wrote ${report?.rawSamples ?? 0} raw samples, expected ${samples}`);
  }
  const files = storage.core.manifest.files;
  const raw = await tierBytes(dir, files.filter((f) => f.tier === "raw"));
  const fiveMin = await tierBytes(dir, files.filter((f) => f.tier === "5min"));
  await storage.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    series: o.daySeries,
    points: o.dayPoints,
    samples,
    start_ms: o.startMs,
    load_seconds: round(loadSeconds, 2),
    flush_seconds: round(flushSeconds),
    raw_samples: report.rawSamples,
    buckets: report.buckets,
    rows_per_s: Math.round((report.rawSamples + report.buckets) / flushSeconds),
    raw_samples_per_s: Math.round(report.rawSamples / flushSeconds),
    files: report.files,
    stall: stalls.summary(),
    wal_drain_stall_ms: drain.summary().max_ms,
    raw: {
      ...raw,
      bytes_per_sample_without_poll_ms: round(raw.bytes_per_row - (raw.column_bytes_per_row.poll_ms ?? 0)),
    },
    five_min: {
      ...fiveMin,
      bytes_per_row_without_sketch: round(fiveMin.bytes_per_row - (fiveMin.column_bytes_per_row.sketch ?? 0)),
    },
  };
}

async function tierBytes(dir: string, files: { path: string; rows: number; bytes: number }[]): Promise<TierBytes> {
  const rows = files.reduce((a, f) => a + f.rows, 0);
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  const columns: Record<string, number> = {};
  for (const f of files) {
    const info = await readTierFileInfo(nodeFs, path.join(dir, f.path));
    for (const group of info.metadata.row_groups) {
      for (const chunk of group.columns) {
        const name = chunk.meta_data!.path_in_schema[0];
        columns[name] = (columns[name] ?? 0) + Number(chunk.meta_data!.total_compressed_size);
      }
    }
  }
  const perRow = Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, round(v / rows)]));
  return { files: files.length, rows, bytes, bytes_per_row: round(bytes / rows), column_bytes_per_row: perRow };
}

async function runSteady(o: FlushOpts): Promise<FlushResult["steady"]> {
  const rounds = 6 + 5 * o.steadyFlushes;
  const start = Date.UTC(2026, 10, 25, 12);
  const clock = new FakeClock(start);
  const dir = path.join(o.workDir, "flush-steady");
  // the bench flushes every 5 rounds itself: a buffer that starts none of its own before that
  const storage = await openStorage(
    dir,
    "server:\n  memory_limit: 4GiB\ningestion:\n  flush:\n    max_buffer_size: 4000000\n",
    clock,
  );
  const ds = await openDataset(o.peersDir, { series: o.steadySeries, points: rounds + 1, startMs: start });
  const gen = new PollRounds(ds);
  const times: number[] = [];
  let raw = 0, buckets = 0, stallMax = 0, stallsOver = 0, firstStall = 0;
  for (let r = 0; r < rounds; r++) {
    const batches: SampleBatch[] = gen.next();
    const ts = batches[0].ts[0];
    clock.set(ts + 1_000);
    await Promise.all(batches.map((b) => storage.ingest(b)));
    if (r >= 5 && (r - 5) % 5 === 0) {
      // ts is one minute past a bucket's end: with the 60 s close grace, that bucket closes now
      const stalls = new StallMonitor();
      const t0 = performance.now();
      const report = await stalls.during(() => storage.flushNow("bench"));
      const ms = performance.now() - t0;
      stalls.stop();
      if (!report) throw new Error("steady flush found nothing to flush");
      if (r === 5) firstStall = stalls.summary().max_ms;
      else {
        times.push(ms);
        raw += report.rawSamples;
        buckets += report.buckets;
        const s = stalls.summary();
        stallMax = Math.max(stallMax, s.max_ms);
        stallsOver += s.over_50ms;
      }
    }
  }
  await storage.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const totalMs = times.reduce((a, b) => a + b, 0);
  return {
    series: o.steadySeries,
    flushes: times.length,
    raw_samples_per_flush: Math.round(raw / times.length),
    buckets_per_flush: Math.round(buckets / times.length),
    flush_ms: summarize(times),
    rows_per_s: Math.round((raw + buckets) / (totalMs / 1000)),
    stall_max_ms: round(stallMax),
    stalls_over_50ms: stallsOver,
    first_stall_ms: round(firstStall),
  };
}

if (import.meta.main) await suiteMain("flush", runFlush);
