/**
 * Suite `ring`: the raw sample log and the whole head.
 *
 * 1. `RawLog.appendBatch` (src/head/raw_log.ts, the path `Head.apply` takes): samples pushed per
 *    second from pre-built, resolved 1,000-sample batches of one poll round over all series; and the
 *    same through `RawLog.append`, one sample per call. Every 16 chunks the log is marked flushed and
 *    evicted down to 256 MiB (the default `features.raw_buffer.memory_limit`), so memory stays bounded as in production (eviction is inside the timed
 *    loop).
 * 2. `Head.apply` (src/head/head.ts) at steady state: rounds of one sample per series (60 s polling,
 *    real values, counters and gauges); every 5 simulated minutes a flush-like `cut` extracts the
 *    closed 5-minute buckets and `flushed` marks the raw samples written. The first rounds warm up
 *    (the series index, buckets and JIT reach steady state) and are not timed. Reported: samples/s of
 *    `apply` alone, and including the cuts.
 *
 * @module
 */
import { Head } from "../../src/head/head.ts";
import { CHUNK_SIZE, RawLog } from "../../src/head/raw_log.ts";
import { SeriesIndex } from "../../src/head/series.ts";
import type { SampleBatch } from "../../src/model/batch.ts";
import { bucketStart } from "../../src/model/tier.ts";
import { openDataset, PollRounds } from "../lib/dataset.ts";
import { round } from "../lib/stats.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface RingOpts extends CommonOpts {
  series: number;
  pushes: number;
  warmupRounds: number;
  measureRounds: number;
  startMs: number;
}

/** The suite's result. */
export interface RingResult {
  /** Results of earlier runs only: `RawLog.append` (one sample per call) is gone. */
  raw_log_single?: RingResult["raw_log"];
  raw_log: {
    /** "appendBatch" (whole batches, the production path). */
    method: string;
    pushes: number;
    seconds: number;
    pushes_per_s: number;
    ns_per_push: number;
    evicted_samples: number;
    memory_bound_mib: number;
  };
  head_apply: {
    series: number;
    warmup_rounds: number;
    measured_rounds: number;
    samples: number;
    apply_seconds: number;
    apply_samples_per_s: number;
    cut_count: number;
    cut_ms_mean: number;
    cut_ms_max: number;
    closed_buckets_per_cut: number;
    total_samples_per_s: number;
    head_memory_mib: number;
  };
}

const FIVE_MIN = 300_000;

/** Runs the suite. */
export async function runRing(o: RingOpts): Promise<RingResult> {
  const rounds = o.warmupRounds + o.measureRounds;
  const ds = await openDataset(o.peersDir, { series: o.series, points: rounds + 1, startMs: o.startMs });
  const gen = new PollRounds(ds);
  progress(`ring: generating ${rounds} rounds of ${o.series} series`);
  const all: SampleBatch[][] = Array.from({ length: rounds }, () => gen.next());
  const index = new SeriesIndex();
  for (const r of all) for (const b of r) index.resolveBatch(b);
  const rawLog = pushes(all[0], o.pushes);
  progress(`ring: RawLog.appendBatch ${rawLog.pushes_per_s.toLocaleString("en")} pushes/s`);
  const headApply = applyRounds(all, o);
  progress(`ring: Head.apply ${headApply.apply_samples_per_s.toLocaleString("en")} samples/s`);
  return { raw_log: rawLog, head_apply: headApply };
}

function pushes(batches: SampleBatch[], total: number): RingResult["raw_log"] {
  const bound = 256 * 2 ** 20; // features.raw_buffer.memory_limit default
  const log = new RawLog();
  const evictEvery = CHUNK_SIZE * 16;
  let done = 0, nextEvict = evictEvery, evicted = 0, j = 0;
  warm(batches, log);
  const t0 = performance.now();
  while (done < total) {
    const b = batches[j++ % batches.length];
    log.appendBatch(b);
    done += b.length;
    if (done >= nextEvict) {
      log.markFlushed(log.end);
      evicted += log.evict(-Infinity, bound);
      nextEvict += evictEvery;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    method: "appendBatch",
    pushes: done,
    seconds: round(seconds),
    pushes_per_s: Math.round(done / seconds),
    ns_per_push: round((seconds * 1e9) / done, 2),
    evicted_samples: evicted,
    memory_bound_mib: bound / 2 ** 20,
  };
}

/** A short untimed run so the loop is compiled before timing. */
function warm(batches: SampleBatch[], log: RawLog): void {
  for (const b of batches.slice(0, 20)) log.appendBatch(b);
  log.markFlushed(log.end);
  log.evict(Infinity, 0);
}

function applyRounds(all: SampleBatch[][], o: RingOpts): RingResult["head_apply"] {
  const head = new Head({ accuracy: 0.01, hotWindowMs: 2 * 3_600_000, hotMemoryBytes: 256 * 2 ** 20 });
  let applyMs = 0, samples = 0;
  const cuts: number[] = [];
  let closed = 0;
  for (let r = 0; r < all.length; r++) {
    const timed = r >= o.warmupRounds;
    const t0 = performance.now();
    for (const b of all[r]) head.apply(b);
    if (timed) {
      applyMs += performance.now() - t0;
      samples += all[r].reduce((a, b) => a + b.length, 0);
    }
    const ts = all[r][0].ts[0];
    if ((ts + 60_000) % FIVE_MIN === 0) {
      // a flush 5 minutes into the run: every bucket ending at or before now is closed
      const open = head.agg.openBuckets;
      const c0 = performance.now();
      const cut = head.cut(bucketStart("5min", ts + 60_000));
      head.flushed(cut.rawTo, ts);
      if (timed) {
        cuts.push(performance.now() - c0);
        closed += open - head.agg.openBuckets;
      }
    }
  }
  const cutMs = cuts.reduce((a, b) => a + b, 0);
  return {
    series: o.series,
    warmup_rounds: o.warmupRounds,
    measured_rounds: o.measureRounds,
    samples,
    apply_seconds: round(applyMs / 1000),
    apply_samples_per_s: Math.round(samples / (applyMs / 1000)),
    cut_count: cuts.length,
    cut_ms_mean: round(cutMs / Math.max(1, cuts.length)),
    cut_ms_max: round(Math.max(0, ...cuts)),
    closed_buckets_per_cut: Math.round(closed / Math.max(1, cuts.length)),
    total_samples_per_s: Math.round(samples / ((applyMs + cutMs) / 1000)),
    head_memory_mib: round(head.memoryBytes() / 2 ** 20, 1),
  };
}

if (import.meta.main) await suiteMain("ring", runRing);
