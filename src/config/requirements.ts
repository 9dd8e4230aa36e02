/**
 * The capacity plan (`stalker-storage requirements`): RAM, disk per tier and CPU for the configured
 * scale. The RAM is the memory budget's own plan (`memory_budget.ts`, its measured `MEMORY_COSTS`) at
 * the smallest `server.memory_limit` that fits the scale, so `requirements` and the running server
 * share one model. Every per-unit cost of disk and CPU in {@link UNIT_COSTS} comes from a benchmark in
 * `bench/` (see `bench/REPORT.md`, section "Unit costs for requirements"), so the plan follows what the
 * implementation really uses. Formulas are documented in docs/operations.md.
 *
 * @module
 */
import type { Config } from "./schema.ts";
import { minimumMemoryLimit, neededMemoryLimit, type PlanLine, planMemory } from "./memory_budget.ts";

export type { PlanLine };

/**
 * Measured per-unit costs, each a little above the figure measured on the 2-core development VM
 * (bench/REPORT.md, "Unit costs for requirements", sets the measured figure next to each). Update
 * together with a benchmark run.
 */
export const UNIT_COSTS = {
  /** WAL bytes per sample (time-major SNMP batches, series definitions included; measured ≤ 13.6). */
  walBytesPerSample: 14,
  /** Raw tier Parquet bytes per sample (SNMP-like mix; measured 1.77). */
  rawBytesPerSample: 2.0,
  /** Bytes per aggregate row on disk (with sketch), by tier (measured ≤ 20.4 / 29.5 / 44.5 / 57.4). */
  rowBytes: { "5min": 24, hourly: 32, daily: 48, weekly: 64 },
  /** Server CPU seconds per million samples ingested over HTTP with fsync (JSON; main thread). */
  ingestCpuSecondsPerMillion: 5.5,
  /** CPU seconds per million raw samples flushed to Parquet (with their 5-minute rows; worker thread). */
  flushCpuSecondsPerMillion: 5.0,
  /**
   * Extra RSS while DuckDB-WASM is loaded, not counting what a query uses up to `query.memory_limit`
   * (measured 182 MiB after small queries; 315 MiB after a day's GROUP BY at 100k series, query memory included).
   */
  duckdbRssBytes: 200 * 2 ** 20,
};

/** The capacity plan. */
export interface Requirements {
  samplesPerSecond: number;
  /** The memory budget's shares at {@link ramTotalBytes} (SQL last, not counted in the total). */
  ram: PlanLine[];
  /** The smallest `server.memory_limit` that fits the scale with a full raw ring (`raw_buffer.duration`). */
  ramTotalBytes: number;
  /** The smallest `server.memory_limit` at which the scale fits at all (the raw ring gets what is left). */
  ramMinimumBytes: number;
  ramWithSqlBytes: number;
  disk: PlanLine[];
  diskTotalBytes: number;
  cpu: PlanLine[];
  cpuCores: number;
}

const DAY_S = 86_400;

/**
 * Computes the plan for `config`.
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./load.ts";
 * import { computeRequirements } from "./requirements.ts";
 * const plan = computeRequirements(defaultConfig());
 * if (!(plan.ramTotalBytes > 0 && plan.diskTotalBytes > 0)) throw new Error();
 * ```
 */
export function computeRequirements(config: Config, costs = UNIT_COSTS): Requirements {
  const series = config.scale.pollerCount;
  const rate = series / config.scale.pollIntervalSec;
  const unflushed = Math.min(rate * config.ingestion.flush.intervalMs / 1000, config.ingestion.flush.maxBufferSamples);
  const ramTotalBytes = neededMemoryLimit(config);
  const ram = planMemory({ ...config, server: { ...config.server, memoryLimitBytes: ramTotalBytes } }).shares;
  const ramWithSqlBytes = ramTotalBytes + costs.duckdbRssBytes + config.query.memoryLimitBytes;

  const r = config.retention;
  const disk: PlanLine[] = [
    {
      item: "raw",
      bytes: rate * (r.rawMs / 1000) * costs.rawBytesPerSample,
      formula: `samples/s × ${r.rawMs / 3_600_000}h × ${costs.rawBytesPerSample} B`,
    },
    aggDisk("5min", series, r.fiveMinMs, 300, costs.rowBytes["5min"]),
    aggDisk("hourly", series, r.hourlyMs, 3_600, costs.rowBytes.hourly),
    aggDisk("daily", series, r.dailyMs, DAY_S, costs.rowBytes.daily),
    aggDisk("weekly", series, r.weeklyMs, 7 * DAY_S, costs.rowBytes.weekly),
    {
      item: "WAL",
      bytes: 2 * unflushed * costs.walBytesPerSample + config.ingestion.wal.maxSegmentBytes,
      formula: `2 flush intervals × ${costs.walBytesPerSample} B/sample + one segment`,
    },
  ];
  const dataBytes = sum(disk);
  const largestDay = Math.max(rate * DAY_S * costs.rawBytesPerSample, series * 288 * costs.rowBytes["5min"]);
  disk.push({
    item: "compaction headroom",
    bytes: 2 * largestDay,
    formula: "2 × the largest day partition (a merge writes the new file before deleting the old)",
  });
  const diskTotalBytes = dataBytes + 2 * largestDay;

  const cpu: PlanLine[] = [
    {
      item: "ingest (HTTP, decode, WAL, head)",
      value: (rate / 1e6) * costs.ingestCpuSecondsPerMillion,
      formula: `samples/s ÷ 1e6 × ${costs.ingestCpuSecondsPerMillion} CPU-s`,
    },
    {
      item: "flush and compaction",
      value: (rate / 1e6) * costs.flushCpuSecondsPerMillion,
      formula: `samples/s ÷ 1e6 × ${costs.flushCpuSecondsPerMillion} CPU-s`,
    },
  ];
  const busy = cpu.reduce((a, l) => a + (l.value ?? 0), 0);
  return {
    samplesPerSecond: rate,
    ram,
    ramTotalBytes,
    ramMinimumBytes: minimumMemoryLimit(config),
    ramWithSqlBytes,
    disk,
    diskTotalBytes,
    cpu,
    // Keep average load under 50 % of the cores so bursts, queries and compaction have room.
    cpuCores: Math.max(1, Math.ceil(busy / 0.5)),
  };
}

function aggDisk(tier: string, series: number, retentionMs: number, bucketS: number, rowBytes: number): PlanLine {
  const rows = series * (retentionMs / 1000) / bucketS;
  return {
    item: tier,
    bytes: rows * rowBytes,
    formula: `series × ${retentionMs / 1000 / bucketS} buckets × ${rowBytes} B`,
  };
}

function sum(lines: PlanLine[]): number {
  return lines.reduce((a, l) => a + (l.bytes ?? 0), 0);
}
