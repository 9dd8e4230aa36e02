/**
 * Self-metrics of the storage service (Prometheus exposition at `/metrics`): the same counters as
 * `/api/v1/status`, read lazily from their sources.
 *
 * @module
 */
import { LEVELS } from "../ingest/admission.ts";
import { TIERS } from "../model/tier.ts";
import type { Metrics } from "../platform/metrics.ts";
import { type ProcessStats, readProcessStats } from "../platform/process_stats.ts";
import type { StorageView } from "./storage_view.ts";

/** Registers the service's metrics. */
export function registerMetrics(s: StorageView, m: Metrics): void {
  const ready = () => s.state === "ready";
  const core = () => (ready() ? s.core : null);
  m.collected("stalker_up", "1 while the service is ready.", "gauge", () => (ready() ? 1 : 0));
  m.collected("stalker_ingest_requests_total", "Ingest requests received.", "counter", () => s.ingestCounters.requests);
  m.collected("stalker_ingest_samples_total", "Samples accepted (durable).", "counter", () => s.ingestCounters.samples);
  m.collected(
    "stalker_ingest_rejected_samples_total",
    "Samples in refused requests.",
    "counter",
    () => s.ingestCounters.rejectedSamples,
  );
  m.collected(
    "stalker_ingest_duplicate_samples_total",
    "Samples skipped because their (series, timestamp) was already stored.",
    "counter",
    () => s.ingestCounters.duplicates,
  );
  m.collected(
    "stalker_ingest_conflicting_samples_total",
    "Skipped duplicates whose value differed from the stored one (the first write wins).",
    "counter",
    () => s.ingestCounters.conflicts,
  );
  m.collected(
    "stalker_wal_bytes_written_total",
    "Bytes appended to the WAL.",
    "counter",
    () => core()?.wal.stats.bytesWritten ?? 0,
  );
  m.collected("stalker_wal_fsyncs_total", "WAL fdatasync calls.", "counter", () => core()?.wal.stats.fsyncs ?? 0);
  m.collected(
    "stalker_wal_segment",
    "Number of the WAL segment being written.",
    "gauge",
    () => core()?.wal.stats.segment ?? 0,
  );
  m.collected(
    "stalker_buffer_unflushed_samples",
    "Samples not yet in Parquet.",
    "gauge",
    () => core()?.head.raw.unflushed ?? 0,
  );
  m.collected(
    "stalker_buffer_usage_ratio",
    "Unflushed samples as a fraction of ingestion.flush.max_buffer_size.",
    "gauge",
    () => (core()?.head.raw.unflushed ?? 0) / s.config.ingestion.flush.maxBufferSamples,
  );
  m.collected(
    "stalker_raw_memory_bytes",
    "Bytes held by the raw sample log.",
    "gauge",
    () => core()?.head.raw.memoryBytes() ?? 0,
  );
  m.collected(
    "stalker_open_buckets",
    "Open 5-minute buckets in memory.",
    "gauge",
    () => core()?.head.agg.openBuckets ?? 0,
  );
  m.collected("stalker_series", "Known series.", "gauge", () => core()?.head.series.visible ?? 0);
  m.collected(
    "stalker_backpressure_level",
    "Backpressure level: 0 none, 1 warning, 2 critical, 3 emergency.",
    "gauge",
    () => LEVELS.indexOf(s.backpressure),
  );
  m.collected(
    "stalker_ingest_waiting_requests",
    "Ingest requests waiting for room now (backpressure.max_wait).",
    "gauge",
    () => s.waiting.length,
  );
  m.collected(
    "stalker_ingest_waited_requests_total",
    "Ingest requests that waited for room, by outcome: admitted, or refused with 429 when backpressure.max_wait passed.",
    "counter",
    () => [[{ outcome: "admitted" }, s.waiting.counts.admitted], [{ outcome: "refused" }, s.waiting.counts.timedOut]],
  );
  m.collected("stalker_tier_files", "Live Parquet files per tier.", "gauge", () => perTier(core(), (f) => f.length));
  m.collected(
    "stalker_tier_bytes",
    "Bytes of live Parquet files per tier.",
    "gauge",
    () => perTier(core(), (f) => f.reduce((a, x) => a + x.bytes, 0)),
  );
  registerProcessMetrics(m);
  m.collected(
    "stalker_memory_limit_bytes",
    "server.memory_limit: the budget of the whole process.",
    "gauge",
    () => s.plan.limitBytes,
  );
  m.collected(
    "stalker_memory_share_bytes",
    "Each consumer's share of server.memory_limit, as planned (src/config/memory_budget.ts).",
    "gauge",
    () => memoryShares(s).map(([consumer, share]) => [{ consumer }, share]),
  );
  m.collected(
    "stalker_memory_used_bytes",
    "Each consumer's memory now (flush: the tier worker threads' heaps; runtime: resident memory not accounted to any other consumer).",
    "gauge",
    () => memoryUsed(s).map(([consumer, used]) => [{ consumer }, used]),
  );
  m.collected(
    "stalker_memory_usage_ratio",
    "Resident memory that cannot be evicted, with the room kept for the next flush, as a fraction of server.memory_limit (drives backpressure).",
    "gauge",
    () => s.admission.memoryUsage,
  );
  m.collected(
    "stalker_memory_relief_total",
    "Times memory ran short of the budget, by action taken.",
    "counter",
    () =>
      Object.entries(s.memory.actions).map((
        [action, n],
      ) => [{ action: action.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, n]),
  );
  m.collected(
    "stalker_series_expired_total",
    "Series that left memory after limits.series_idle_time without a sample (their data stays in Parquet).",
    "counter",
    () => s.seriesExpired,
  );
  m.collected(
    "stalker_series_limit",
    "Most series held in memory (limits.max_series).",
    "gauge",
    () => s.plan.maxSeries,
  );
  m.collected(
    "stalker_problems",
    "Problems found (damaged or missing files, WAL damage).",
    "gauge",
    () => core()?.problems.length ?? 0,
  );
}

/** Process figures every Prometheus exporter carries (names as client libraries use them). */
function registerProcessMetrics(m: Metrics): void {
  let last: ProcessStats | null = null;
  let at = 0;
  const read = () => {
    if (!last || Date.now() - at > 100) [last, at] = [readProcessStats(), Date.now()];
    return last;
  };
  m.collected("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", () => read().residentBytes);
  m.collected(
    "process_resident_memory_max_bytes",
    "Peak resident memory size in bytes (VmHWM).",
    "gauge",
    () => read().residentPeakBytes,
  );
  m.collected("process_cpu_seconds_total", "User and system CPU time in seconds.", "counter", () => read().cpuSeconds);
  m.collected("process_open_fds", "Open file descriptors.", "gauge", () => read().openFds);
  m.collected(
    "process_heap_used_bytes",
    "JavaScript heap in use (runtime's figure).",
    "gauge",
    () => read().heapUsedBytes,
  );
  m.collected(
    "process_heap_total_bytes",
    "JavaScript heap reserved (runtime's figure).",
    "gauge",
    () => read().heapTotalBytes,
  );
  m.collected(
    "process_external_memory_bytes",
    "Memory of ArrayBuffers and other objects outside the heap.",
    "gauge",
    () => read().externalBytes,
  );
}

/** Each consumer's planned share, bytes. */
export function memoryShares(s: StorageView): [string, number][] {
  const p = s.plan;
  return [
    ["runtime", p.runtimeBytes],
    ["request_bodies", p.bodiesBytes],
    ["head", p.headBytes],
    ["unflushed_raw", p.unflushedBytes],
    ["flush", p.flushWorkBytes],
    ["raw_ring", p.ringBytes],
    ["query_cache", p.queryCacheBytes],
    ["sql", p.queryBytes],
  ];
}

/** Each consumer's memory now, bytes (what the product accounts; `runtime` takes the rest of RSS). */
export function memoryUsed(s: StorageView): [string, number][] {
  const core = s.ready ? s.core : null;
  const head = core?.head;
  const raw = head?.raw.memoryBytes() ?? 0;
  const evictable = head?.raw.evictableBytes() ?? 0;
  const accounted: [string, number][] = [
    ["request_bodies", s.memory.inflightBodies],
    ["head", head ? head.memoryBytes() - raw : 0],
    ["unflushed_raw", raw - evictable],
    ["raw_ring", evictable],
    ["query_cache", s.readCache.stats().bytes],
    ["flush", s.workerHeapBytes],
  ];
  const resident = readProcessStats().residentBytes;
  const rest = resident - accounted.reduce((a, [, b]) => a + b, 0);
  return [["runtime", Math.max(0, rest)], ...accounted];
}

function perTier(
  core: StorageView["core"] | null,
  fn: (files: StorageView["core"]["manifest"]["files"]) => number,
): [Record<string, string>, number][] {
  return TIERS.map((tier) => [{ tier }, core ? fn(core.manifest.files.filter((f) => f.tier === tier)) : 0]);
}
