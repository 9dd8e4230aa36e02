/**
 * The document `GET /api/v1/status` answers, declared once for the server that builds it
 * (`status.ts`) and the web UI's health page that reads it (`src/ui/client/health.ts`). Types only, and
 * no imports, so the browser bundle's type check takes it as it is.
 *
 * @module
 */

/** The storage service's lifecycle state. */
export type StorageState = "starting" | "ready" | "stopping" | "stopped";

/** The last run of a background job. */
export interface JobRun {
  atMs: number;
  durationMs: number;
  ok: boolean;
  error?: string;
  /** What the run did (counts, reason), or what it was asked when it failed. */
  detail?: Record<string, unknown>;
}

/** The status document; the sections after `data_dir` are there once the service is ready. */
export interface StatusReport {
  version: string;
  state: StorageState;
  started_at: string;
  uptime_s: number;
  data_dir: string;
  ingest?: { requests: number; samples: number; rejected_requests: number; rejected_samples: number };
  wal?: {
    sync_mode: string;
    bytes: number;
    segment: number;
    checkpoint_segment: number;
    bytes_written: number;
    records: number;
    writes: number;
    fsyncs: number;
  };
  buffer?: {
    unflushed_samples: number;
    capacity_samples: number;
    usage: number;
    raw_held_samples: number;
    raw_memory_bytes: number;
    open_buckets: number;
    aggregate_memory_bytes: number;
    series: number;
  };
  backpressure?: {
    level: string;
    refused_critical: number;
    refused_emergency: number;
    /** Ingest requests waiting for room now, and all that waited. */
    waiting: number;
    waited: number;
  };
  memory?: {
    limit_bytes: number;
    resident_bytes: number;
    resident_peak_bytes: number;
    usage: number;
    shares: Record<string, number>;
    used: Record<string, number>;
    max_series: number;
    problems: string[];
  };
  process?: { cpu_seconds: number; open_fds: number; heap_used_bytes: number; external_bytes: number };
  tiers?: Record<string, { files: number; bytes: number; rows: number; min_ts: string | null; max_ts: string | null }>;
  watermarks?: Record<string, string | null>;
  /** Each job's last run, with `at` as an ISO time. */
  jobs?: Record<string, JobRun & { at: string }>;
  disk?: { free_bytes: number; total_bytes: number; full: boolean };
  problems?: string[];
}
