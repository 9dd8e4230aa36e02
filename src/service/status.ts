/**
 * `GET /api/v1/status`: counters and state in one JSON document.
 *
 * @module
 */
import { TIERS } from "../model/tier.ts";
import { readProcessStats } from "../platform/process_stats.ts";
import { memoryShares, memoryUsed } from "./metrics.ts";
import type { StatusReport, StorageState } from "./status_report.ts";
import type { StorageView } from "./storage_view.ts";

export type { StatusReport };

interface Basics {
  version: string;
  state: StorageState;
  startedAt: number;
  now: number;
  diskFull: boolean;
}

const iso = (ms: number) => (Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : null);

/** Builds the status of a storage service. */
export async function buildStatus(storage: StorageView, b: Basics): Promise<StatusReport> {
  const report: StatusReport = {
    version: b.version,
    state: b.state,
    started_at: new Date(b.startedAt).toISOString(),
    uptime_s: Math.round((b.now - b.startedAt) / 1000),
    data_dir: storage.config.dataDir,
  };
  if (b.state !== "ready") return report;
  const core = storage.core;
  const c = storage.ingestCounters;
  report.ingest = {
    requests: c.requests,
    samples: c.samples,
    rejected_requests: c.rejectedRequests,
    rejected_samples: c.rejectedSamples,
  };
  const w = core.wal.stats;
  report.wal = {
    sync_mode: storage.config.ingestion.wal.syncMode,
    bytes: await storage.walBytes(),
    segment: w.segment,
    checkpoint_segment: core.manifest.checkpoint.walSegment,
    bytes_written: w.bytesWritten,
    records: w.records,
    writes: w.writes,
    fsyncs: w.fsyncs,
  };
  const head = core.head;
  report.buffer = {
    unflushed_samples: head.raw.unflushed,
    capacity_samples: storage.config.ingestion.flush.maxBufferSamples,
    usage: head.raw.unflushed / storage.config.ingestion.flush.maxBufferSamples,
    raw_held_samples: head.raw.held,
    raw_memory_bytes: head.raw.memoryBytes(),
    open_buckets: head.agg.openBuckets,
    aggregate_memory_bytes: head.agg.memoryBytes(),
    series: head.series.visible,
  };
  report.backpressure = {
    level: storage.backpressure,
    refused_critical: storage.admission.refused.critical,
    refused_emergency: storage.admission.refused.emergency,
    waiting: storage.waiting.length,
    waited: storage.waiting.counts.waited,
  };
  const proc = readProcessStats();
  report.memory = {
    limit_bytes: storage.plan.limitBytes,
    resident_bytes: proc.residentBytes,
    resident_peak_bytes: proc.residentPeakBytes,
    usage: storage.admission.memoryUsage,
    shares: Object.fromEntries(memoryShares(storage)),
    used: Object.fromEntries(memoryUsed(storage)),
    max_series: storage.plan.maxSeries,
    problems: storage.plan.problems,
  };
  report.process = {
    cpu_seconds: proc.cpuSeconds,
    open_fds: proc.openFds,
    heap_used_bytes: proc.heapUsedBytes,
    external_bytes: proc.externalBytes,
  };
  report.tiers = {};
  for (const tier of TIERS) {
    const files = core.manifest.files.filter((f) => f.tier === tier);
    report.tiers[tier] = {
      files: files.length,
      bytes: files.reduce((a, f) => a + f.bytes, 0),
      rows: files.reduce((a, f) => a + f.rows, 0),
      min_ts: iso(Math.min(...files.map((f) => f.minTs))),
      max_ts: iso(Math.max(...files.map((f) => f.maxTs))),
    };
  }
  report.watermarks = Object.fromEntries(Object.entries(core.manifest.watermarks).map(([k, v]) => [k, iso(v)]));
  report.jobs = Object.fromEntries(
    [...core.jobs].map(([name, run]) => [name, { ...run, at: new Date(run.atMs).toISOString() }]),
  );
  const space = await core.fs.diskSpace(storage.config.dataDir);
  report.disk = { free_bytes: space.freeBytes, total_bytes: space.totalBytes, full: b.diskFull };
  report.problems = core.problems;
  return report;
}
