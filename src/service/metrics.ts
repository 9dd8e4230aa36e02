/**
 * Self-metrics of the storage service (Prometheus exposition at `/metrics`): the same counters as
 * `/api/v1/status`, read lazily from their sources.
 *
 * @module
 */
import { LEVELS } from "../ingest/admission.ts";
import { TIERS } from "../model/tier.ts";
import type { Metrics } from "../platform/metrics.ts";
import type { Storage } from "./storage.ts";

/** Registers the service's metrics. */
export function registerMetrics(s: Storage, m: Metrics): void {
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
  m.collected("stalker_tier_files", "Live Parquet files per tier.", "gauge", () => perTier(core(), (f) => f.length));
  m.collected(
    "stalker_tier_bytes",
    "Bytes of live Parquet files per tier.",
    "gauge",
    () => perTier(core(), (f) => f.reduce((a, x) => a + x.bytes, 0)),
  );
  m.collected(
    "stalker_problems",
    "Problems found (damaged or missing files, WAL damage).",
    "gauge",
    () => core()?.problems.length ?? 0,
  );
}

function perTier(
  core: Storage["core"] | null,
  fn: (files: Storage["core"]["manifest"]["files"]) => number,
): [Record<string, string>, number][] {
  return TIERS.map((tier) => [{ tier }, core ? fn(core.manifest.files.filter((f) => f.tier === tier)) : 0]);
}
