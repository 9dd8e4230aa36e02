/**
 * Suite `peers`: the same measurements on VictoriaMetrics 1.79.5 and Prometheus 2.42 (Debian
 * packages), through the shared peer harness (`<peers>/run_vm.sh`, `run_prom.sh`), in the same run
 * as our suites and on the same samples (same generator, seed and `START_MS`):
 *
 * - `vm_ingest_c<C>`: `INGEST_MODE=timemajor` (1,000 single-sample lines per POST, `post_lines.mjs`,
 *   C in flight) at the size of our `ingest` suite: samples/s, server CPU-s per million samples
 *   (ingest window), peak RSS. VictoriaMetrics answers before its data is on disk (no fsync per
 *   request).
 * - `vm_storage`, `prom_storage`: the storage dataset (10,000 × 1,440 by default): bytes per sample
 *   on disk (VM settled and force-merged; Prometheus: one compacted block from `promtool`).
 * - `vm_query`: VM loaded in bulk with the query peer dataset (default 100,000 series × 1,440
 *   points), then `query_bench.mjs` with our repetition count: 24 h at a 5-minute step, raw 24 h,
 *   last value, and their `_rotate` variants.
 *
 * The scripts print one JSON summary each, kept whole in the result.
 *
 * @module
 */
import path from "node:path";
import { lastJsonLine, runProcess } from "../lib/process.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface PeersOpts extends CommonOpts {
  parts: string[];
  ingestSeries: number;
  ingestPoints: number;
  ingestStartMs: number;
  ingestConcurrency: number[];
  storageSeries: number;
  storagePoints: number;
  storageStartMs: number;
  querySeries: number;
  reps: number;
  peerRoot: string;
}

/** One peer run: its summary or its failure. */
export interface PeerRun {
  name: string;
  command: string;
  ok: boolean;
  seconds: number;
  error?: string;
  // deno-lint-ignore no-explicit-any
  summary?: any;
}

/** The suite's result. */
export interface PeersResult {
  runs: PeerRun[];
}

/** Runs the suite. */
export async function runPeers(o: PeersOpts): Promise<PeersResult> {
  const runs: PeerRun[] = [];
  const common = { PEERBENCH_ROOT: o.peerRoot, RESULTS_DIR: path.join(o.resultsDir, "peers"), SEED: "42" };
  if (o.parts.includes("ingest")) {
    for (const c of o.ingestConcurrency) {
      runs.push(
        await peer(`vm_ingest_c${c}`, "run_vm.sh", o, {
          ...common,
          SERIES: String(o.ingestSeries),
          POINTS: String(o.ingestPoints),
          START_MS: String(o.ingestStartMs),
          INGEST_MODE: "timemajor",
          CONCURRENCY: String(c),
          REPS: "20",
        }),
      );
    }
  }
  const storage = {
    ...common,
    SERIES: String(o.storageSeries),
    POINTS: String(o.storagePoints),
    START_MS: String(o.storageStartMs),
  };
  if (o.parts.includes("storage")) {
    runs.push(await peer("vm_storage", "run_vm.sh", o, { ...storage, INGEST_MODE: "bulk", REPS: "20" }));
    runs.push(await peer("prom_storage", "run_prom.sh", o, { ...storage, REPS: "20" }));
  }
  if (o.parts.includes("query")) {
    runs.push(
      await peer("vm_query", "run_vm.sh", o, {
        ...storage,
        SERIES: String(o.querySeries),
        POINTS: "1440",
        INGEST_MODE: "bulk",
        REPS: String(o.reps),
      }),
    );
  }
  return { runs };
}

async function peer(name: string, script: string, o: PeersOpts, env: Record<string, string>): Promise<PeerRun> {
  const vars = Object.entries(env).filter(([k]) => !["PEERBENCH_ROOT", "RESULTS_DIR"].includes(k));
  const command = `${vars.map(([k, v]) => `${k}=${v}`).join(" ")} <peers>/${script}`;
  progress(`peers ${name}: ${command}`);
  const r = await runProcess(path.join(o.peersDir, script), [], {
    timeoutMs: 3 * 3_600_000,
    env,
    logFile: path.join(o.resultsDir, `peers-${name}.log`),
  });
  const seconds = Math.round(r.ms / 100) / 10;
  try {
    const summary = lastJsonLine(r, script);
    progress(`peers ${name}: done in ${seconds} s`);
    return { name, command, ok: true, seconds, summary };
  } catch (err) {
    progress(`peers ${name}: FAILED ${(err as Error).message}`);
    return { name, command, ok: false, seconds, error: (err as Error).message };
  }
}

if (import.meta.main) await suiteMain("peers", runPeers);
