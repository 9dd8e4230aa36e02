/**
 * Suite `storage`: where the bytes of the tier files go, by calling `bench/parquet_bench.ts` (the
 * Parquet writer alone, outside the flush path) on the peers' dataset: raw tier bytes per sample
 * overall, per poller kind and per column, with and without `poll_ms`; 5-minute bytes per row with
 * and without the sketch, per column; writer throughput; and one series' 24 h read latency straight
 * from the files (no HTTP). The headline on-disk figures of the report come from the `flush` suite
 * (the files the product's own flush wrote); this suite explains them.
 *
 * @module
 */
import path from "node:path";
import { lastJsonLine, runProcess } from "../lib/process.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface StorageOpts extends CommonOpts {
  series: number;
  points: number;
  reads: number;
  /** `deno` or `bun`: the runtime `parquet_bench.ts` runs under. */
  runtime: "deno" | "bun";
}

/** What `parquet_bench.ts` prints (the parts the report uses). */
export interface StorageResult {
  command: string;
  raw: {
    bytes_per_sample: number;
    bytes_per_sample_without_poll_ms: number;
    bytes_per_sample_per_kind: Record<string, { all: number; without_poll_ms: number }>;
    bytes_per_sample_per_column: Record<string, number>;
    write_rows_per_s: number;
    read_one_series_24h: { cold_ms: number; p50_ms: number; p99_ms: number };
  };
  five_min: {
    bytes_per_row: number;
    bytes_per_row_without_sketch: number;
    bytes_per_row_per_column: Record<string, number>;
    write_rows_per_s: number;
    read_one_series_24h: { cold_ms: number; p50_ms: number; p99_ms: number };
  };
}

/** Runs the suite. */
export async function runStorage(o: StorageOpts): Promise<StorageResult> {
  const script = path.join(o.repoDir, "bench/parquet_bench.ts");
  const args = ["--series", String(o.series), "--points", String(o.points), "--reads", String(o.reads)];
  args.push("--gen", path.join(o.peersDir, "gen_dataset.mjs"));
  const [cmd, full] = o.runtime === "bun"
    ? ["bun", ["run", script, ...args]]
    : ["deno", ["run", "-A", script, ...args]];
  progress(`storage: ${cmd} ${full.join(" ")}`);
  const r = await runProcess(cmd, full, { timeoutMs: 3_600_000, cwd: o.repoDir });
  // parquet_bench prints one pretty-printed JSON document
  const json = r.code === 0 ? JSON.parse(r.stdout) : lastJsonLine(r, "parquet_bench.ts");
  return { command: `${cmd} ${full.join(" ")}`, raw: json.raw, five_min: json.five_min };
}

if (import.meta.main) await suiteMain("storage", runStorage);
