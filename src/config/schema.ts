/**
 * The configuration: one typed object, its defaults, and the table of YAML keys that documents and
 * parses it. `storage.example.yaml`, `config print-default` and `docs/config.md` are all generated
 * from {@link CONFIG_KEYS}, so a key cannot exist without documentation.
 *
 * @module
 */

/** WAL durability modes (see docs/config.md). */
export type SyncMode = "fsync" | "sync" | "async";
/** Parquet compression codecs. */
export type CompressionAlgorithm = "zstd" | "snappy" | "gzip" | "none";

/** The validated configuration. Units are in field names. */
export interface Config {
  dataDir: string;
  scale: { pollerCount: number; pollIntervalSec: number };
  features: {
    rawBuffer: { enabled: boolean; durationMs: number; memoryLimitBytes: number };
    percentile: { enabled: boolean; accuracy: number };
    compression: { algorithm: CompressionAlgorithm; level: number };
  };
  retention: {
    rawMs: number;
    fiveMinMs: number;
    hourlyMs: number;
    dailyMs: number;
    weeklyMs: number;
    maxDiskBytes: number;
  };
  ingestion: {
    wal: { dir: string; syncMode: SyncMode; syncIntervalMs: number; maxSegmentBytes: number };
    flush: { intervalMs: number; maxBufferSamples: number };
    /** Oldest sample accepted; 0 = the longest tier retention (see {@link maxSampleAgeMs}). */
    maxSampleAgeMs: number;
    /** Identity mapping of the foreign protocols (Influx, remote-write, collectd). */
    mapping: {
      namespaceLabel: string;
      namespaceDefault: string;
      targetLabels: string[];
      targetDefault: string;
      counterPatterns: string[];
    };
    /** Bytes held in the data directory's `RESERVE` file for a flush on a full disk; 0 = none. */
    diskReserveBytes: number;
  };
  compaction: {
    workers: number;
    schedule: { rawTo5min: string; fiveMinToHourly: string; hourlyToDaily: string; dailyToWeekly: string };
  };
  backpressure: {
    enabled: boolean;
    thresholds: { warning: number; critical: number; emergency: number };
    recovery: { hysteresis: number; cooldownMs: number };
    /** Longest a request waits for room before it is refused (0: refused at once). */
    maxWaitMs: number;
  };
  query: { memoryLimitBytes: number; timeoutMs: number; maxRows: number };
  server: {
    listen: string;
    authToken: string;
    allowInsecure: boolean;
    maxBodyBytes: number;
    memoryLimitBytes: number;
    /** PEM files of the HTTPS listener; both empty: plain HTTP. */
    tls: { certFile: string; keyFile: string };
    /** Where `POST /api/v1/admin/snapshot` may write; "" = `<data_dir>/backups`. */
    snapshotDir: string;
  };
  limits: { maxSeries: number; seriesIdleMs: number };
}

/** How a key's YAML value is read. */
export type KeyKind =
  | "string"
  | "bool"
  | "int"
  | "fraction"
  | "accuracy"
  | "duration"
  | "size"
  | "cron"
  | "listen"
  | { enum: readonly string[] };

/** One configuration key. */
export interface KeySpec {
  /** Dotted YAML path, e.g. `ingestion.wal.sync_mode`. */
  key: string;
  kind: KeyKind;
  /** Default, written as it would appear in YAML. */
  default: string | number | boolean;
  /** What the key does, for the example file and docs. */
  doc: string;
  /** Smallest allowed value (after unit conversion), when bounded. */
  min?: number;
  /** Largest allowed value (after unit conversion), when bounded. */
  max?: number;
  /** Stores the parsed value into the config object. */
  set(config: Config, value: never): void;
}

/** A comma-separated list's entries, trimmed, without empty ones. */
function splitList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function spec<T>(s: Omit<KeySpec, "set"> & { set(config: Config, value: T): void }): KeySpec {
  return s as KeySpec;
}

/** Every configuration key, in the order of the example file. */
export const CONFIG_KEYS: readonly KeySpec[] = [
  spec<string>({
    key: "data_dir",
    kind: "string",
    default: "./stalker-data",
    doc: "Directory for the WAL, Parquet tiers, manifest and lock file. Created when missing.",
    set: (c, v) => (c.dataDir = v),
  }),
  spec<number>({
    key: "scale.poller_count",
    kind: "int",
    default: 10_000,
    min: 1,
    doc: "Expected number of series (namespace/target/poller) — used by `requirements` and to size the series index.",
    set: (c, v) => (c.scale.pollerCount = v),
  }),
  spec<number>({
    key: "scale.poll_interval_sec",
    kind: "int",
    default: 60,
    min: 1,
    doc: "Expected seconds between two polls of one series — used by `requirements`.",
    set: (c, v) => (c.scale.pollIntervalSec = v),
  }),
  spec<boolean>({
    key: "features.raw_buffer.enabled",
    kind: "bool",
    default: true,
    doc: "Keep recent raw samples in memory for fast queries (samples not yet in Parquet are always kept).",
    set: (c, v) => (c.features.rawBuffer.enabled = v),
  }),
  spec<number>({
    key: "features.raw_buffer.duration",
    kind: "duration",
    default: "2h",
    min: 60_000,
    doc: "How much recent raw data the in-memory ring keeps (by sample time).",
    set: (c, v) => (c.features.rawBuffer.durationMs = v),
  }),
  spec<number>({
    key: "features.raw_buffer.memory_limit",
    kind: "size",
    default: "256MiB",
    min: 1 << 20,
    doc: "Upper bound of the ring's memory; the oldest flushed samples are evicted first when it is reached.",
    set: (c, v) => (c.features.rawBuffer.memoryLimitBytes = v),
  }),
  spec<boolean>({
    key: "features.percentile.enabled",
    kind: "bool",
    default: true,
    doc: "Keep a DDSketch per bucket for p50/p90/p95/p99.",
    set: (c, v) => (c.features.percentile.enabled = v),
  }),
  spec<number>({
    key: "features.percentile.accuracy",
    kind: "accuracy",
    default: 0.01,
    min: 0.0001,
    max: 0.1,
    doc: "Relative accuracy of percentiles (0.01 = every percentile within 1 % of the true value).",
    set: (c, v) => (c.features.percentile.accuracy = v),
  }),
  spec<CompressionAlgorithm>({
    key: "features.compression.algorithm",
    kind: { enum: ["zstd", "snappy", "gzip", "none"] },
    default: "zstd",
    doc: "Parquet page compression: zstd, snappy, gzip or none.",
    set: (c, v) => (c.features.compression.algorithm = v),
  }),
  spec<number>({
    key: "features.compression.level",
    kind: "int",
    default: 3,
    min: 1,
    max: 19,
    doc: "Compression level for zstd (1-19) and gzip (1-9, higher values are capped at 9).",
    set: (c, v) => (c.features.compression.level = v),
  }),
  spec<number>({
    key: "retention.raw",
    kind: "duration",
    default: "48h",
    min: 3_600_000,
    doc: "How long raw samples are kept.",
    set: (c, v) => (c.retention.rawMs = v),
  }),
  spec<number>({
    key: "retention.five_min",
    kind: "duration",
    default: "720h",
    min: 3_600_000,
    doc: "How long 5-minute aggregates are kept.",
    set: (c, v) => (c.retention.fiveMinMs = v),
  }),
  spec<number>({
    key: "retention.hourly",
    kind: "duration",
    default: "2160h",
    min: 3_600_000,
    doc: "How long hourly aggregates are kept.",
    set: (c, v) => (c.retention.hourlyMs = v),
  }),
  spec<number>({
    key: "retention.daily",
    kind: "duration",
    default: "17520h",
    min: 86_400_000,
    doc: "How long daily aggregates are kept.",
    set: (c, v) => (c.retention.dailyMs = v),
  }),
  spec<number>({
    key: "retention.weekly",
    kind: "duration",
    default: "87600h",
    min: 604_800_000,
    doc: "How long weekly aggregates are kept.",
    set: (c, v) => (c.retention.weeklyMs = v),
  }),
  spec<number>({
    key: "retention.max_disk_bytes",
    kind: "size",
    default: 0,
    doc: "Size cap for all Parquet data; when exceeded, the oldest data goes first (finest tier first). 0 = no cap.",
    set: (c, v) => (c.retention.maxDiskBytes = v),
  }),
  spec<string>({
    key: "ingestion.wal.dir",
    kind: "string",
    default: "",
    doc: "WAL directory; empty means `<data_dir>/wal`. Put it on the fastest durable disk.",
    set: (c, v) => (c.ingestion.wal.dir = v),
  }),
  spec<SyncMode>({
    key: "ingestion.wal.sync_mode",
    kind: { enum: ["fsync", "sync", "async"] },
    default: "fsync",
    doc:
      "fsync: fsync before answering (group commit shares one fsync between concurrent requests); sync: write to the OS before answering, fsync every sync_interval; async: buffer and write+fsync every sync_interval.",
    set: (c, v) => (c.ingestion.wal.syncMode = v),
  }),
  spec<number>({
    key: "ingestion.wal.sync_interval",
    kind: "duration",
    default: "1s",
    min: 1,
    max: 60_000,
    doc: "Longest time data waits for fsync in sync and async modes.",
    set: (c, v) => (c.ingestion.wal.syncIntervalMs = v),
  }),
  spec<number>({
    key: "ingestion.wal.max_segment_size",
    kind: "size",
    default: "64MiB",
    min: 1 << 20,
    max: 2 ** 31 - 1,
    doc: "A WAL segment is closed and a new one started when it reaches this size.",
    set: (c, v) => (c.ingestion.wal.maxSegmentBytes = v),
  }),
  spec<number>({
    key: "ingestion.flush.interval",
    kind: "duration",
    default: "5m",
    min: 1_000,
    doc: "How often raw samples and closed 5-minute buckets are written to Parquet (then the WAL is checkpointed).",
    set: (c, v) => (c.ingestion.flush.intervalMs = v),
  }),
  spec<number>({
    key: "ingestion.flush.max_buffer_size",
    kind: "int",
    default: 4_000_000,
    min: 1_000,
    doc:
      "Most unflushed samples held in memory (~40 bytes each): a flush starts at half of it, backpressure levels are fractions of it.",
    set: (c, v) => (c.ingestion.flush.maxBufferSamples = v),
  }),
  spec<number>({
    key: "ingestion.max_sample_age",
    kind: "duration",
    default: 0,
    doc:
      "Samples older than this are refused (400 with the sample index), since retention would delete them at once. 0 = the longest retention of any tier, so backfilling history into the aggregates keeps working. Timestamps before 2000-01-01 are always refused (usually seconds sent as milliseconds).",
    set: (c, v) => (c.ingestion.maxSampleAgeMs = v),
  }),
  spec<string>({
    key: "ingestion.mapping.namespace_label",
    kind: "string",
    default: "namespace",
    doc:
      "Foreign protocols (InfluxDB line protocol, remote-write, collectd; see docs/ingest_protocols.md): the label or tag whose value is the namespace. Without it the namespace is the request's `db`/`bucket`, else `namespace_default`. Empty = no such label.",
    set: (c, v) => (c.ingestion.mapping.namespaceLabel = v),
  }),
  spec<string>({
    key: "ingestion.mapping.namespace_default",
    kind: "string",
    default: "default",
    doc: "Foreign protocols: the namespace when neither the namespace label nor a `db`/`bucket` names one.",
    set: (c, v) => (c.ingestion.mapping.namespaceDefault = v),
  }),
  spec<string>({
    key: "ingestion.mapping.target_labels",
    kind: "string",
    default: "agent_host,host,instance,target",
    doc:
      "Foreign protocols: comma-separated labels or tags; the first present one is the target (the device) and is removed from the poller's labels.",
    set: (c, v) => (c.ingestion.mapping.targetLabels = splitList(v)),
  }),
  spec<string>({
    key: "ingestion.mapping.target_default",
    kind: "string",
    default: "unknown",
    doc: "Foreign protocols: the target when none of `target_labels` is present.",
    set: (c, v) => (c.ingestion.mapping.targetDefault = v),
  }),
  spec<string>({
    key: "ingestion.mapping.counter_patterns",
    kind: "string",
    default: "*_total,*if*Octets,*if*Pkts,*if*Errors,*if*Discards,*if*UnknownProtos",
    doc:
      "Foreign protocols: comma-separated name patterns (`*` = any characters) of metrics, or Influx field names, that are counters (IF-MIB octet/packet/error counters by default). Influx `u` fields, remote-write `TYPE counter` metadata and collectd counter/derive values are counters anyway.",
    set: (c, v) => (c.ingestion.mapping.counterPatterns = splitList(v)),
  }),
  spec<number>({
    key: "ingestion.disk_reserve",
    kind: "size",
    default: "32MiB",
    doc:
      "Space held back on the data disk (the file RESERVE in data_dir). When another process fills the disk, a flush that fails for lack of space releases it and runs again, so the data reaches Parquet and the WAL checkpoint frees its segments; a start on a full disk releases it before recovery. Written again when space returns. 0 = no reserve.",
    set: (c, v) => (c.ingestion.diskReserveBytes = v),
  }),
  spec<number>({
    key: "compaction.workers",
    kind: "int",
    default: 1,
    min: 1,
    max: 8,
    doc: "Compaction jobs that may run at the same time (each works on its own tier).",
    set: (c, v) => (c.compaction.workers = v),
  }),
  spec<string>({
    key: "compaction.schedule.raw_to_5min",
    kind: "cron",
    default: "*/5 * * * *",
    doc: "When closed 5-minute buckets are flushed to the 5min tier and small raw/5min files are merged (UTC cron).",
    set: (c, v) => (c.compaction.schedule.rawTo5min = v),
  }),
  spec<string>({
    key: "compaction.schedule.five_min_to_hourly",
    kind: "cron",
    default: "3 * * * *",
    doc: "When 5-minute aggregates are rolled up into the hourly tier (UTC cron).",
    set: (c, v) => (c.compaction.schedule.fiveMinToHourly = v),
  }),
  spec<string>({
    key: "compaction.schedule.hourly_to_daily",
    kind: "cron",
    default: "10 0 * * *",
    doc: "When hourly aggregates are rolled up into the daily tier (UTC cron).",
    set: (c, v) => (c.compaction.schedule.hourlyToDaily = v),
  }),
  spec<string>({
    key: "compaction.schedule.daily_to_weekly",
    kind: "cron",
    default: "20 0 * * 1",
    doc: "When daily aggregates are rolled up into the weekly tier (UTC cron).",
    set: (c, v) => (c.compaction.schedule.dailyToWeekly = v),
  }),
  spec<boolean>({
    key: "backpressure.enabled",
    kind: "bool",
    default: true,
    doc: "Refuse ingest with 429 + Retry-After when buffers fill, instead of running out of memory.",
    set: (c, v) => (c.backpressure.enabled = v),
  }),
  spec<number>({
    key: "backpressure.thresholds.warning",
    kind: "fraction",
    default: 0.7,
    doc: "Buffer usage (fraction of max_buffer_size) that raises level warning: answers carry a hint to slow down.",
    set: (c, v) => (c.backpressure.thresholds.warning = v),
  }),
  spec<number>({
    key: "backpressure.thresholds.critical",
    kind: "fraction",
    default: 0.85,
    doc:
      "Buffer usage that raises level critical: a request that would bring the buffer to the emergency threshold waits for room (backpressure.max_wait), then is refused with 429.",
    set: (c, v) => (c.backpressure.thresholds.critical = v),
  }),
  spec<number>({
    key: "backpressure.thresholds.emergency",
    kind: "fraction",
    default: 0.95,
    doc:
      "Buffer usage that raises level emergency: no request is taken in until a flush makes room; each waits (backpressure.max_wait) before its body is read, then is refused with 429.",
    set: (c, v) => (c.backpressure.thresholds.emergency = v),
  }),
  spec<number>({
    key: "backpressure.recovery.hysteresis",
    kind: "fraction",
    default: 0.1,
    doc: "A level is left only when usage falls this far below its threshold (no flapping).",
    set: (c, v) => (c.backpressure.recovery.hysteresis = v),
  }),
  spec<number>({
    key: "backpressure.recovery.cooldown",
    kind: "duration",
    default: "10s",
    doc: "Minimum time a level is held before it may be lowered.",
    set: (c, v) => (c.backpressure.recovery.cooldownMs = v),
  }),
  spec<number>({
    key: "backpressure.max_wait",
    kind: "duration",
    default: "3s",
    min: 0,
    doc:
      "Longest an ingest request waits for room (a flush draining the buffer, memory given back) before it is refused with 429 + Retry-After. Requests wait in arrival order, before their body is read when there is no room at all; 0 refuses at once. Keep it below your senders' timeouts (Telegraf: 5 s).",
    set: (c, v) => (c.backpressure.maxWaitMs = v),
  }),
  spec<number>({
    key: "query.memory_limit",
    kind: "size",
    default: "64MiB",
    min: 16 << 20,
    doc:
      "Memory limit of DuckDB's working set for SQL queries. It is part of server.memory_limit: while DuckDB is loaded (on first SQL, released when idle or under memory pressure) the raw ring's cache gives way to it.",
    set: (c, v) => (c.query.memoryLimitBytes = v),
  }),
  spec<number>({
    key: "query.timeout",
    kind: "duration",
    default: "30s",
    min: 100,
    doc: "Longest time a query may run before it is cancelled.",
    set: (c, v) => (c.query.timeoutMs = v),
  }),
  spec<number>({
    key: "query.max_rows",
    kind: "int",
    default: 100_000,
    min: 1,
    doc: "Most rows (SQL) or points (query API) one answer may hold.",
    set: (c, v) => (c.query.maxRows = v),
  }),
  spec<string>({
    key: "server.listen",
    kind: "listen",
    default: "127.0.0.1:7400",
    doc: "Address and port of the HTTP API (host:port).",
    set: (c, v) => (c.server.listen = v),
  }),
  spec<string>({
    key: "server.auth_token",
    kind: "string",
    default: "",
    doc: "When set (or env STALKER_STORAGE_TOKEN), every /api/ route needs `Authorization: Bearer <token>`.",
    set: (c, v) => (c.server.authToken = v),
  }),
  spec<boolean>({
    key: "server.allow_insecure",
    kind: "bool",
    default: false,
    doc: "Allow listening on a non-loopback address without auth_token.",
    set: (c, v) => (c.server.allowInsecure = v),
  }),
  spec<string>({
    key: "server.tls.cert_file",
    kind: "string",
    default: "",
    doc: "PEM certificate (chain) of the HTTPS listener; with key_file the API is served over TLS only. " +
      "Both files are read again on SIGHUP (systemctl reload): new connections get the new certificate.",
    set: (c, v) => (c.server.tls.certFile = v),
  }),
  spec<string>({
    key: "server.tls.key_file",
    kind: "string",
    default: "",
    doc: "PEM private key of server.tls.cert_file.",
    set: (c, v) => (c.server.tls.keyFile = v),
  }),
  spec<string>({
    key: "server.snapshot_dir",
    kind: "string",
    default: "",
    doc: "The only directory under which POST /api/v1/admin/snapshot (and `stalker-storage snapshot` through a " +
      "running server) may create a snapshot; any other path is refused with 400. Empty means `<data_dir>/backups` " +
      "(same file system: the tier files are hard-linked).",
    set: (c, v) => (c.server.snapshotDir = v),
  }),
  spec<number>({
    key: "server.max_body_bytes",
    kind: "size",
    default: "16MiB",
    min: 1024,
    doc: "Largest accepted request body (after gzip decoding too); larger bodies get 413.",
    set: (c, v) => (c.server.maxBodyBytes = v),
  }),
  spec<number>({
    key: "server.memory_limit",
    kind: "size",
    default: "512MiB",
    min: 64 * 2 ** 20,
    doc:
      "Memory budget of the whole process (resident memory, as systemd's MemoryMax sees it). Every consumer draws a share (docs/memory.md); the raw ring shrinks first, then ingest is refused with 429 before the budget would be crossed.",
    set: (c, v) => (c.server.memoryLimitBytes = v),
  }),
  spec<number>({
    key: "limits.max_series",
    kind: "int",
    default: 0,
    min: 0,
    doc:
      "Most series held in memory; a request that would add more is refused with 400 `series_limit`. 0 derives it from server.memory_limit (the head's share divided by the cost of one series).",
    set: (c, v) => (c.limits.maxSeries = v),
  }),
  spec<number>({
    key: "limits.series_idle_time",
    kind: "duration",
    default: "0s",
    doc:
      "A series with no sample newer than this (by sample time) leaves memory: its names, last value and counter state go (its data stays queryable from Parquet by GET /api/v1/query; a later sample creates it again, and its first counter rate after that is skipped). While forgotten it is not listed by GET /api/v1/series, the UI's explorer or the Prometheus API's selectors, and backfilled history older than this is forgotten right after its flush: so 0 (keep every series) by default; set it (e.g. 26h) on a box whose series churn. Longer than a day, so series polled daily stay.",
    set: (c, v) => (c.limits.seriesIdleMs = v),
  }),
];

/**
 * The oldest sample age ingest accepts: `ingestion.max_sample_age`, or when that is 0 the longest
 * retention of any tier (older data would be deleted by the next retention run in every tier).
 *
 * @example
 * ```ts
 * import { blankConfig, maxSampleAgeMs } from "./schema.ts";
 * const c = blankConfig();
 * c.retention.weeklyMs = 1_000;
 * if (maxSampleAgeMs(c) !== 1_000) throw new Error();
 * ```
 */
export function maxSampleAgeMs(c: Config): number {
  if (c.ingestion.maxSampleAgeMs > 0) return c.ingestion.maxSampleAgeMs;
  const r = c.retention;
  return Math.max(r.rawMs, r.fiveMinMs, r.hourlyMs, r.dailyMs, r.weeklyMs);
}

/** An empty config skeleton; every field is filled from {@link CONFIG_KEYS}. */
export function blankConfig(): Config {
  return {
    dataDir: "",
    scale: { pollerCount: 0, pollIntervalSec: 0 },
    features: {
      rawBuffer: { enabled: false, durationMs: 0, memoryLimitBytes: 0 },
      percentile: { enabled: false, accuracy: 0 },
      compression: { algorithm: "zstd", level: 0 },
    },
    retention: { rawMs: 0, fiveMinMs: 0, hourlyMs: 0, dailyMs: 0, weeklyMs: 0, maxDiskBytes: 0 },
    ingestion: {
      wal: { dir: "", syncMode: "fsync", syncIntervalMs: 0, maxSegmentBytes: 0 },
      flush: { intervalMs: 0, maxBufferSamples: 0 },
      maxSampleAgeMs: 0,
      mapping: { namespaceLabel: "", namespaceDefault: "", targetLabels: [], targetDefault: "", counterPatterns: [] },
      diskReserveBytes: 0,
    },
    compaction: { workers: 0, schedule: { rawTo5min: "", fiveMinToHourly: "", hourlyToDaily: "", dailyToWeekly: "" } },
    backpressure: {
      enabled: false,
      thresholds: { warning: 0, critical: 0, emergency: 0 },
      recovery: { hysteresis: 0, cooldownMs: 0 },
      maxWaitMs: 0,
    },
    query: { memoryLimitBytes: 0, timeoutMs: 0, maxRows: 0 },
    server: {
      listen: "",
      authToken: "",
      allowInsecure: false,
      maxBodyBytes: 0,
      memoryLimitBytes: 0,
      tls: { certFile: "", keyFile: "" },
      snapshotDir: "",
    },
    limits: { maxSeries: 0, seriesIdleMs: 0 },
  };
}
