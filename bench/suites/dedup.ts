/**
 * Suite `dedup`: what idempotent ingest costs and a crash run that proves it (issue "Data safety").
 *
 * - Cost, in process (`Storage.ingest` on the real file system, WAL `async`, no flush): N series
 *   (default 100,000) × R poll rounds in 1,000-sample batches of the peers' dataset, first as new
 *   samples, then the very same batches again (every sample a duplicate found in memory). Reported:
 *   µs per sample of `Storage.ingest` for each pass (decode excluded: batches are built before timing),
 *   and the duplicate check's own time per sample, `Dedup.claim` timed alone on new samples
 *   (fresh timestamps) and on re-sent ones. Memory of the check: one float64 bound per series (by
 *   construction: `src/ingest/dedup.ts`).
 * - The crash run: `tests/e2e/retry_crash_test.ts` on the compiled binary with `RETRY_CRASH_CYCLES`
 *   (default 20): kill -9 at random moments while 4 clients ingest and re-send every unacknowledged
 *   batch; after the last restart every sample must be stored exactly once in raw and counted once in
 *   the 5-minute tier (the test fails otherwise). Reported: pass/fail and its duration.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { loadConfigText } from "../../src/config/load.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge } from "../../src/model/sample.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { Storage } from "../../src/service/storage.ts";
import { runProcess } from "../lib/process.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface DedupOpts extends CommonOpts {
  series: number;
  rounds: number;
  crashCycles: number;
}

/** The suite's result. */
export interface DedupResult {
  series: number;
  samples: number;
  ingest_new_us_per_sample: number;
  ingest_resent_us_per_sample: number;
  claim_new_ns_per_sample: number;
  claim_resent_ns_per_sample: number;
  duplicates_counted: number;
  bytes_per_series: number;
  crash: { cycles: number; ok: boolean; seconds: number; output: string };
}

const BATCH = 1_000;

/** Runs the suite. */
export async function runDedup(o: DedupOpts): Promise<DedupResult> {
  const dir = path.join(o.workDir, "dedup-data");
  fs.rmSync(dir, { recursive: true, force: true });
  const config = loadConfigText(
    `data_dir: ${dir}\nserver:\n  memory_limit: 4GiB\ningestion:\n  wal:\n    sync_mode: async\n  flush:\n    interval: 1h\n`,
    {},
  );
  const storage = Storage.create(config, {
    fs: nodeFs,
    clock: systemClock,
    log: silentLogger,
    metrics: new Metrics(),
    encoding: "inline",
    residentBytes: () => 0, // the bench process's RSS is not the storage's
  });
  await storage.start();
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - o.rounds * 60_000;
  const batches = (round: number): SampleBatch[] => {
    const out: SampleBatch[] = [];
    for (let s = 0; s < o.series; s += BATCH) {
      const samples = [];
      for (let i = s; i < Math.min(o.series, s + BATCH); i++) {
        samples.push(gauge("bench", `t${Math.floor(i / 20)}`, `p${i % 20}`, t0 + round * 60_000, i));
      }
      out.push(SampleBatch.of(samples));
    }
    return out;
  };
  const timeIngest = async (all: SampleBatch[][]): Promise<[number, number]> => {
    let samples = 0, duplicates = 0;
    const start = performance.now();
    for (const round of all) {
      for (const b of round) {
        const r = await storage.ingest(b);
        samples += b.length;
        duplicates += r.duplicates;
      }
    }
    return [((performance.now() - start) * 1000) / samples, duplicates];
  };
  progress(`dedup: ${o.series} series × ${o.rounds} rounds, new then re-sent`);
  const make = () => Array.from({ length: o.rounds }, (_, r) => batches(r));
  const [newUs] = await timeIngest(make());
  const [resentUs, duplicates] = await timeIngest(make());
  // the check alone: new samples (one round past the stored ones) and re-sent ones
  const dedup = (storage as unknown as { dedup: { claim(b: SampleBatch, cold: unknown): Promise<{ fail(): void }> } })
    .dedup;
  const timeClaim = async (all: SampleBatch[]): Promise<number> => {
    for (const b of all) storage.core.head.series.resolveBatch(b);
    const start = performance.now();
    let n = 0;
    for (const b of all) {
      const claim = await dedup.claim(b, () => Promise.reject(new Error("no cold look-up expected")));
      claim.fail(); // nothing is stored: the next pass sees the same state
      n += b.length;
    }
    return ((performance.now() - start) * 1e6) / n;
  };
  const claimNew = await timeClaim(batches(o.rounds));
  const claimResent = await timeClaim(batches(o.rounds - 1));
  await storage.close();
  fs.rmSync(dir, { recursive: true, force: true });
  progress(`dedup: crash run, ${o.crashCycles} cycles of kill -9 with retrying clients`);
  const started = performance.now();
  const r = await runProcess("deno", ["test", "-A", "tests/e2e/retry_crash_test.ts"], {
    timeoutMs: 3_600_000,
    cwd: o.repoDir,
    env: { ...process.env as Record<string, string>, RETRY_CRASH_CYCLES: String(o.crashCycles), NO_COLOR: "1" },
  });
  const output = (r.stdout + r.stderr).split("\n").filter((l) => /passed|failed|kill -9|error/i.test(l)).join("\n");
  return {
    series: o.series,
    samples: o.series * o.rounds,
    ingest_new_us_per_sample: round3(newUs),
    ingest_resent_us_per_sample: round3(resentUs),
    claim_new_ns_per_sample: Math.round(claimNew),
    claim_resent_ns_per_sample: Math.round(claimResent),
    duplicates_counted: duplicates,
    bytes_per_series: Float64Array.BYTES_PER_ELEMENT,
    crash: {
      cycles: o.crashCycles,
      ok: r.code === 0,
      seconds: Math.round((performance.now() - started) / 1000),
      output,
    },
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.main) await suiteMain("dedup", runDedup);
