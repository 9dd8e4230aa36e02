/**
 * Suite `wal`: WAL append throughput (`src/wal/writer.ts` `WalWriter`) on the real file system.
 *
 * N concurrent appenders each loop `await wal.append(batch)` over pre-built 1,000-sample batches of
 * one poll round of the dataset (resolved against a `SeriesIndex`, so ids and series definitions are
 * as in production; each new 64 MiB segment defines its series again). One round of batches is
 * appended untimed first (warm-up: definitions, JIT). Timed: from the first timed append to the
 * resolution of the last; in `async` mode the writer's final flush is reported separately. Group
 * commit shows as fsyncs per append below 1.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import type { SyncMode } from "../../src/config/schema.ts";
import { SeriesIndex } from "../../src/head/series.ts";
import type { SampleBatch } from "../../src/model/batch.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { WalWriter } from "../../src/wal/writer.ts";
import { openDataset, PollRounds } from "../lib/dataset.ts";
import { round, summarize } from "../lib/stats.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface WalOpts extends CommonOpts {
  series: number;
  /** Samples appended per case (timed). */
  samplesPerCase: number;
  appenders: number[];
  modes: SyncMode[];
  /** Appender counts for the `sync` and `async` modes. */
  modeAppenders: number[];
  deadlineS: number;
  startMs: number;
}

/** One measured case. */
export interface WalCase {
  mode: SyncMode;
  appenders: number;
  appends: number;
  samples: number;
  seconds: number;
  samples_per_s: number;
  /** Samples over the time until they were all on disk (async mode: including the final flush). */
  durable_samples_per_s: number;
  appends_per_s: number;
  mb_per_s: number;
  fsyncs: number;
  fsyncs_per_append: number;
  writes_per_append: number;
  bytes_per_sample: number;
  segments: number;
  append_latency: ReturnType<typeof summarize>;
  /** async mode: time of the final flush (write + fsync of what was still queued). */
  final_flush_ms?: number;
  deadline_hit: boolean;
}

/** The suite's result. */
export interface WalResult {
  dir: string;
  batch_samples: number;
  series: number;
  cases: WalCase[];
}

/** Runs the suite. */
export async function runWal(o: WalOpts): Promise<WalResult> {
  const ds = await openDataset(o.peersDir, { series: o.series, points: 2, startMs: o.startMs });
  const batches = new PollRounds(ds).next();
  const index = new SeriesIndex();
  for (const b of batches) index.resolveBatch(b);
  const dir = path.join(o.workDir, "wal");
  const cases: WalCase[] = [];
  const plan: [SyncMode, number][] = [];
  for (const mode of o.modes) for (const n of mode === "fsync" ? o.appenders : o.modeAppenders) plan.push([mode, n]);
  for (const [mode, n] of plan) {
    fs.rmSync(dir, { recursive: true, force: true });
    const c = await runCase(dir, index, batches, mode, n, o);
    progress(
      `wal ${mode} x${n}: ${
        c.durable_samples_per_s.toLocaleString("en")
      } samples/s, ${c.fsyncs_per_append} fsyncs/append`,
    );
    cases.push(c);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { dir, batch_samples: batches[0].length, series: o.series, cases };
}

async function runCase(
  dir: string,
  index: SeriesIndex,
  batches: SampleBatch[],
  mode: SyncMode,
  appenders: number,
  o: WalOpts,
): Promise<WalCase> {
  const wal = await WalWriter.create(nodeFs, {
    dir,
    syncMode: mode,
    syncIntervalMs: 1000,
    maxSegmentBytes: 64 * 2 ** 20,
    names: (id) => index.names(id),
    log: silentLogger,
    clock: systemClock,
  }, 1);
  for (const b of batches) await wal.append(b, () => {}); // warm-up: definitions, JIT
  await wal.flush(); // async mode: the warm-up must be on disk before the timed part starts
  const before = { ...wal.stats };
  const total = Math.ceil(o.samplesPerCase / batches[0].length);
  const deadline = Date.now() + o.deadlineS * 1000;
  const latencies: number[] = [];
  let next = 0, samples = 0, deadlineHit = false;
  const t0 = performance.now();
  const appender = async () => {
    while (next < total) {
      if (Date.now() > deadline) {
        deadlineHit = true;
        return;
      }
      const b = batches[next++ % batches.length];
      const a0 = performance.now();
      await wal.append(b, () => {});
      latencies.push(performance.now() - a0);
      samples += b.length;
    }
  };
  await Promise.all(Array.from({ length: appenders }, appender));
  const seconds = (performance.now() - t0) / 1000;
  const f0 = performance.now();
  await wal.flush();
  const finalFlushMs = performance.now() - f0;
  const after = { ...wal.stats };
  await wal.close();
  const appends = latencies.length;
  const bytes = after.bytesWritten - before.bytesWritten;
  return {
    mode,
    appenders,
    appends,
    samples,
    seconds: round(seconds),
    samples_per_s: Math.round(samples / seconds),
    durable_samples_per_s: Math.round(samples / (seconds + finalFlushMs / 1000)),
    appends_per_s: Math.round(appends / seconds),
    mb_per_s: round(bytes / (seconds + finalFlushMs / 1000) / 2 ** 20, 1),
    fsyncs: after.fsyncs - before.fsyncs,
    fsyncs_per_append: round((after.fsyncs - before.fsyncs) / appends),
    writes_per_append: round((after.writes - before.writes) / appends),
    bytes_per_sample: round(bytes / samples, 2),
    segments: after.segment - before.segment + 1,
    append_latency: summarize(latencies),
    ...(mode === "async" ? { final_flush_ms: round(finalFlushMs) } : {}),
    deadline_hit: deadlineHit,
  };
}

if (import.meta.main) await suiteMain("wal", runWal);
