/**
 * Suite `replay`: WAL replay speed (`src/wal/reader.ts` `replayWal`) of a WAL of at least 5 M samples.
 *
 * The WAL is written first with the production writer (`async` mode, 64 MiB segments) from poll
 * rounds of the dataset: one sample per series per round, 1,000-sample batches, so every segment
 * defines its series and batches look like ingest traffic. Then, each timed on its own and from the
 * page cache (the WAL was just written; a cold-cache replay also pays the disk's read speed):
 *
 * - `into_head`: replay into a fresh `Head` (series resolution, raw log, last values, 5-minute
 *   aggregation), exactly what recovery does at startup;
 * - `decode_only`: the same scan with series resolution and a no-op `apply` (framing, CRC, decoding).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { Head } from "../../src/head/head.ts";
import { SeriesIndex } from "../../src/head/series.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { replayWal } from "../../src/wal/reader.ts";
import { WalWriter } from "../../src/wal/writer.ts";
import { openDataset, PollRounds } from "../lib/dataset.ts";
import { gc } from "../lib/runtime.ts";
import { round } from "../lib/stats.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface ReplayOpts extends CommonOpts {
  series: number;
  samples: number;
  startMs: number;
}

/** One timed replay. */
export interface ReplayRun {
  seconds: number;
  samples: number;
  samples_per_s: number;
  mb_per_s: number;
}

/** The suite's result. */
export interface ReplayResult {
  series: number;
  wal_samples: number;
  wal_bytes: number;
  wal_bytes_per_sample: number;
  segments: number;
  write_seconds: number;
  into_head: ReplayRun & { head_memory_mib: number; open_buckets: number };
  decode_only: ReplayRun;
}

/** Runs the suite. */
export async function runReplay(o: ReplayOpts): Promise<ReplayResult> {
  const dir = path.join(o.workDir, "replay-wal");
  fs.rmSync(dir, { recursive: true, force: true });
  const rounds = Math.ceil(o.samples / o.series);
  const written = await writeWal(dir, o, rounds);
  const bytes = fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
  gc();
  const head = new Head({ accuracy: 0.01, hotWindowMs: 2 * 3_600_000, hotMemoryBytes: 256 * 2 ** 20 });
  const t0 = performance.now();
  const r1 = await replayWal(nodeFs, dir, 1, {
    resolve: (ns, t, p) => head.series.resolve(ns, t, p),
    apply: (b) => head.apply(b),
  }, false);
  const intoHead = run(r1.samples, bytes, performance.now() - t0);
  progress(`replay into head: ${intoHead.samples_per_s.toLocaleString("en")} samples/s`);
  const headMemory = head.memoryBytes(), openBuckets = head.agg.openBuckets;
  gc();
  const index = new SeriesIndex();
  const t1 = performance.now();
  const r2 = await replayWal(
    nodeFs,
    dir,
    1,
    { resolve: (ns, t, p) => index.resolve(ns, t, p), apply: () => {} },
    false,
  );
  const decodeOnly = run(r2.samples, bytes, performance.now() - t1);
  progress(`replay decode only: ${decodeOnly.samples_per_s.toLocaleString("en")} samples/s`);
  if (r1.samples !== written.samples || r2.samples !== written.samples || r1.damages.length > 0) {
    throw new Error(
      `replay read ${r1.samples}/${r2.samples} samples of ${written.samples} (damages ${r1.damages.length})`,
    );
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    series: o.series,
    wal_samples: written.samples,
    wal_bytes: bytes,
    wal_bytes_per_sample: round(bytes / written.samples, 2),
    segments: r1.segments,
    write_seconds: round(written.seconds),
    into_head: { ...intoHead, head_memory_mib: round(headMemory / 2 ** 20, 1), open_buckets: openBuckets },
    decode_only: decodeOnly,
  };
}

async function writeWal(dir: string, o: ReplayOpts, rounds: number): Promise<{ samples: number; seconds: number }> {
  const ds = await openDataset(o.peersDir, { series: o.series, points: rounds + 1, startMs: o.startMs });
  const gen = new PollRounds(ds);
  const index = new SeriesIndex();
  const wal = await WalWriter.create(nodeFs, {
    dir,
    syncMode: "async",
    syncIntervalMs: 1000,
    maxSegmentBytes: 64 * 2 ** 20,
    names: (id) => index.names(id),
    log: silentLogger,
    clock: systemClock,
  }, 1);
  let samples = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const b of gen.next()) {
      index.resolveBatch(b);
      await wal.append(b, () => {});
      samples += b.length;
    }
    if (r % 10 === 9) progress(`replay: wrote ${samples.toLocaleString("en")} samples`);
  }
  await wal.close();
  return { samples, seconds: (performance.now() - t0) / 1000 };
}

function run(samples: number, bytes: number, ms: number): ReplayRun {
  return {
    seconds: round(ms / 1000),
    samples,
    samples_per_s: Math.round(samples / (ms / 1000)),
    mb_per_s: round(bytes / 2 ** 20 / (ms / 1000), 1),
  };
}

if (import.meta.main) await suiteMain("replay", runReplay);
