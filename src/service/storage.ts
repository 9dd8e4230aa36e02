/**
 * The storage service: owns the data directory and wires every component (WAL, head, flusher,
 * compactor, retention, query). The HTTP layer and the CLI talk only to this class.
 *
 * @module
 */
import { resolve as resolvePath } from "node:path";
import { type Config, maxSampleAgeMs } from "../config/schema.ts";
import type { SeriesEntry } from "../head/series.ts";
import { pinClosed } from "../head/head.ts";
import { MEMORY_COSTS, type MemoryPlan, planMemory } from "../config/memory_budget.ts";
import { Admission, type Level, WaitQueue } from "../ingest/admission.ts";
import { residentBytes } from "../platform/process_stats.ts";
import { collectGarbage } from "../platform/runtime.ts";
import { MemoryMonitor } from "./memory.ts";
import type { ScanContext } from "../ingest/json_scan.ts";
import { type Claim, type ColdLookup, Dedup, type Found } from "../ingest/dedup.ts";
import { SeriesCache } from "../ingest/series_cache.ts";
import type { SampleBatch } from "../model/batch.ts";
import { DiskFullError, UnavailableError } from "../model/errors.ts";
import { KIND_CODE, type SampleKind } from "../model/sample.ts";
import { bucketStart } from "../model/tier.ts";
import { type Clock, every as everyMs } from "../platform/clock.ts";
import { type FileSystem, isDiskFull } from "../platform/fs.ts";
import { acquireLock, type DirLock } from "../platform/lock.ts";
import type { Logger } from "../platform/log.ts";
import type { Metrics } from "../platform/metrics.ts";
import type { SeriesFilter } from "../model/series_filter.ts";
import { listSegments } from "../wal/segments.ts";
import { type QueryRequest, type QueryResult, type QueryView, runQuery } from "../query/query.ts";
import { ReadCache } from "../query/read_cache.ts";
import { SqlEngine } from "../sql/mod.ts";
import type { SqlResult } from "../sql/mod.ts";
import { tierViews } from "../sql/mod.ts";
import { WalWriter } from "../wal/writer.ts";
import { TierRunner, type TierRunnerMode } from "../tier/tier_runner.ts";
import { Catalog } from "./catalog.ts";
import { type RollupReport, rollupTier } from "./compactor.ts";
import { applyRetention, previewRetention, type RetentionPlan } from "./retention.ts";
import { type SnapshotReport, takeSnapshot } from "./backup.ts";
import { Scheduler } from "./scheduler.ts";
import { type MergeReport, runMerges } from "./merger.ts";
import { VERSION } from "../version.ts";
import { CLOSE_GRACE_MS, type Core, type JobRun, walDirOf } from "./core.ts";
import { flush, type FlushReport } from "./flusher.ts";
import { recover } from "./recovery.ts";
import { DiskReserve } from "./disk_reserve.ts";
import { registerMetrics } from "./metrics.ts";
import { buildStatus, type StatusReport } from "./status.ts";
import type { IngestCounters, StorageState, StorageView } from "./storage_view.ts";

export type { IngestCounters, StorageState };

/** What the service needs from its environment. */
export interface StorageDeps {
  fs: FileSystem;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Where flush encoding, rollups and merges run: worker threads (default) or inline (tests). */
  encoding?: TierRunnerMode;
  /** Reads the process's resident memory in bytes (default: `/proc/self/statm`). */
  residentBytes?: () => number;
  /** How long files removed from the manifest stay on disk for queries still reading them (default 30 s). */
  deleteDelayMs?: number;
}

/** Free space below which ingest answers 507 (the WAL and flushes need room). */
const MIN_FREE_BYTES = 64 * 2 ** 20;
/** How often resident memory is checked against the budget between requests. */
const MEMORY_CHECK_MS = 250;
/** How often the tier workers' heaps are read for `/metrics` and the status. */
const WORKER_MEMORY_MS = 2_000;
const DISK_CHECK_MS = 2_000;
/** DuckDB is released after this long without SQL (it holds 150-250 MB while loaded). */
const SQL_IDLE_RELEASE_MS = 10 * 60_000;

/** What an ingest request stored. */
export interface IngestResult {
  /** New samples stored. */
  accepted: number;
  /** Samples skipped: their (series, timestamp) was already stored (or earlier in the request). */
  duplicates: number;
  /** Of the duplicates, those whose value differs from the stored one; the first write wins. */
  conflicts: number;
}

/** The storage service. */
export class Storage implements StorageView {
  private stateValue: StorageState = "starting";
  private lock: DirLock | null = null;
  private readonly startedAt: number;
  private coreValue: Core | null = null;
  /** The flush running now, and the one queued behind it (at most one: later requests join it). */
  private flushing: Promise<FlushReport | null> | null = null;
  private flushQueued: Promise<FlushReport | null> | null = null;
  /** Flushes failing in a row, and their entry in `problems` (null while flushes succeed). */
  private flushFailure: { sinceMs: number; attempts: number; message: string } | null = null;
  /** Stops the background jobs (see {@link startBackground}). */
  private background: AbortController | null = null;
  private diskFull = false;
  /** Space held back on the data disk for a flush when another process fills it (disk_reserve.ts). */
  private reserve: DiskReserve;
  private sqlEngine: SqlEngine | null = null;
  private diskCheckedAt = 0;
  readonly admission: Admission;
  /** Ingest requests waiting for room (`backpressure.max_wait`). */
  readonly waiting: WaitQueue;
  /** Samples of requests let in and not yet in the head's unflushed count (or refused). */
  private pendingSamples = 0;
  /** How long the last flush took (ms), and when the one running started: a full buffer's Retry-After. */
  private lastFlushMs = 2_000;
  private flushStartedAt = -Infinity;
  /** How `server.memory_limit` is shared (see src/config/memory_budget.ts). */
  readonly plan: MemoryPlan;
  /** Rows decoded from tier files by queries, for the next ones (its share of the plan). */
  readonly readCache: ReadCache;
  /** Holds resident memory to the plan. */
  readonly memory: MemoryMonitor;
  /** The tier worker threads' heaps at their last reading (bytes; see {@link refreshWorkerMemory}). */
  workerHeapBytes = 0;
  private workerMemoryReading: Promise<void> | null = null;
  /** Identity bytes → series id, for the decoders (valid while this process runs). */
  /** The decoders' cache of identities to ids; replaced when idle expiry forgets series. */
  seriesCache = new SeriesCache();
  /** Ingest calls between resolving their series and applying them (idle expiry waits for none). */
  private ingestsInFlight = 0;
  /** Series forgotten by idle expiry since the start. */
  seriesExpired = 0;
  readonly ingestCounters: IngestCounters = {
    requests: 0,
    samples: 0,
    rejectedRequests: 0,
    rejectedSamples: 0,
    duplicates: 0,
    conflicts: 0,
  };
  /** The duplicate check of ingest (after start). */
  private dedupValue: Dedup | null = null;

  private constructor(readonly config: Config, private readonly deps: StorageDeps) {
    this.startedAt = deps.clock.now();
    this.plan = planMemory(config);
    this.readCache = new ReadCache(this.plan.queryCacheBytes);
    this.reserve = new DiskReserve(deps.fs, config.dataDir, config.ingestion.diskReserveBytes, deps.log);
    this.admission = new Admission(config.backpressure, this.plan.bufferSamples, deps.clock);
    this.waiting = new WaitQueue(deps.clock);
    this.memory = new MemoryMonitor(this.plan, {
      residentBytes: deps.residentBytes ?? residentBytes,
      now: () => deps.clock.now(),
      head: () => this.coreValue?.head ?? null,
      unflushedSamples: () => this.coreValue?.head.raw.unflushed ?? 0,
      collectGarbage,
      releaseIdleSql: () => {
        if (!this.sqlEngine?.idle) return false;
        void this.sqlEngine.release().catch(() => {});
        return true;
      },
      releaseIdleWorkers: () => {
        const core = this.coreValue;
        if (!core) return 0;
        return (core.encoder.releaseIfIdle() ? 1 : 0) + (core.compactor.releaseIfIdle() ? 1 : 0);
      },
    });
    registerMetrics(this, deps.metrics);
  }

  /** Creates the service in state `starting`; call {@link start} to open the data directory. */
  static create(config: Config, deps: StorageDeps): Storage {
    return new Storage(config, deps);
  }

  /**
   * Takes the data directory's lock (creating the directory when missing). Fails fast with
   * `LockedError` when another process owns it; {@link start} calls it when not done before.
   */
  async lockDataDir(): Promise<void> {
    if (this.lock) return;
    await this.deps.fs.mkdir(this.config.dataDir);
    this.lock = await acquireLock(this.deps.fs, this.config.dataDir);
  }

  /** Writes the URL the server listens on into the lock file (CLI commands use it). */
  async advertise(url: string): Promise<void> {
    await this.lock?.advertise(url);
  }

  /** Opens the data directory: takes its lock, recovers, and becomes ready. */
  async start(): Promise<void> {
    const { fs, clock, log, metrics } = this.deps;
    await this.lockDataDir();
    const walDir = walDirOf(this.config);
    const started = clock.now();
    if ((await fs.diskSpace(this.config.dataDir)).freeBytes < MIN_FREE_BYTES) {
      await this.reserve.release("recovery"); // a start on a full disk: recovery and the first flush need room
    }
    const r = await recover(fs, this.config, walDir, clock.now(), log);
    const wal = await WalWriter.create(fs, {
      dir: walDir,
      syncMode: this.config.ingestion.wal.syncMode,
      syncIntervalMs: this.config.ingestion.wal.syncIntervalMs,
      maxSegmentBytes: this.config.ingestion.wal.maxSegmentBytes,
      names: (id) => r.head.series.names(id),
      log,
      clock,
    }, r.nextSegment);
    const catalog = new Catalog(fs, this.config.dataDir, r.manifest, {
      log,
      clock,
      deleteDelayMs: this.deps.deleteDelayMs ?? 30_000,
    });
    this.coreValue = {
      config: this.config,
      fs,
      clock,
      log,
      metrics,
      dataDir: this.config.dataDir,
      walDir,
      head: r.head,
      wal,
      get manifest() {
        return catalog.manifest;
      },
      catalog,
      inflight: null,
      encoder: new TierRunner(this.deps.encoding ?? "worker", this.deps.fs, "flush encoder", log),
      compactor: new TierRunner(this.deps.encoding ?? "worker", this.deps.fs, "compactor", log),
      jobs: new Map(),
      problems: r.problems,
    };
    this.coreValue.jobs.set("recovery", {
      atMs: started,
      durationMs: clock.now() - started,
      ok: r.problems.length === 0,
      detail: {
        replayed_samples: r.replay.samples,
        replayed_segments: r.replay.segments,
        removed_leftovers: r.removed.length,
        torn_tail: r.replay.tornTail,
        damages: r.replay.damages.length,
      },
    });
    log.info("recovery finished", {
      replayed_samples: r.replay.samples,
      segments: r.replay.segments,
      series: r.head.series.visible,
      ms: clock.now() - started,
    });
    r.head.series.limit = Math.max(this.plan.maxSeries, r.head.series.size);
    this.stateValue = "ready";
    log.info("storage ready", { data_dir: this.config.dataDir });
    void this.reserve.ensure(MIN_FREE_BYTES);
    // after a crash with a full buffer, flush now (ingest is refused until then), not at the next interval
    if (r.head.raw.unflushed >= this.plan.flushStartSamples) {
      void this.flushNow("recovery").catch(() => {});
    }
  }

  /** The shared state (after start). */
  get core(): Core {
    if (!this.coreValue) throw new UnavailableError("Cannot serve yet: the WAL is being replayed");
    return this.coreValue;
  }

  private get dedup(): Dedup {
    this.dedupValue ??= new Dedup(this.core.head);
    return this.dedupValue;
  }

  /** The current lifecycle state. */
  get state(): StorageState {
    return this.stateValue;
  }

  /** Whether requests that touch data can be served. */
  get ready(): boolean {
    return this.stateValue === "ready";
  }

  /** Throws {@link UnavailableError} unless ready. */
  assertReady(): void {
    if (this.stateValue === "starting") throw new UnavailableError("Cannot serve yet: the WAL is being replayed");
    if (this.stateValue !== "ready") throw new UnavailableError("Cannot serve: shutting down");
  }

  /** The current backpressure level. */
  get backpressure(): Level {
    return this.admission.level;
  }

  /** The state a query reads, taken at once so a concurrent flush can neither hide nor double data. */
  queryView(): QueryView {
    const core = this.core;
    return {
      fs: core.fs,
      dataDir: core.dataDir,
      files: core.manifest.files,
      watermarks: core.manifest.watermarks,
      head: core.head,
      inflight: core.inflight ? pinClosed(core.inflight.closed) : null,
      accuracy: this.config.features.percentile.enabled ? this.config.features.percentile.accuracy : null,
      onDamage: (path, err) => this.reportProblem(`Cannot read ${path}: ${(err as Error).message}`),
      cache: this.readCache,
    };
  }

  /** Runs a structured query over Parquet and memory. */
  query(request: QueryRequest): Promise<QueryResult> {
    this.assertReady();
    return runQuery(this.queryView(), request);
  }

  /** Runs read-only SQL over the tier files (DuckDB, loaded on first use). */
  async sql(text: string): Promise<SqlResult> {
    this.assertReady();
    this.sqlEngine ??= new SqlEngine({
      memoryLimitBytes: this.config.query.memoryLimitBytes,
      timeoutMs: this.config.query.timeoutMs,
      maxRows: this.config.query.maxRows,
      idleReleaseMs: SQL_IDLE_RELEASE_MS,
      allowedRoot: resolvePath(this.config.dataDir),
      log: this.deps.log,
      clock: this.deps.clock,
    });
    const result = await this.sqlEngine.query(
      text,
      tierViews(this.core.manifest.files, resolvePath(this.core.dataDir)),
    );
    for (const s of result.skipped) this.reportProblem(`Cannot read ${s.file}: ${s.error}`);
    return result;
  }

  /** The clock the storage and its jobs run on (request deadlines too). */
  get clock(): Clock {
    return this.deps.clock;
  }

  /** Whether DuckDB is loaded now. */
  get sqlLoaded(): boolean {
    return this.sqlEngine?.loaded ?? false;
  }

  private reportProblem(message: string): void {
    const problems = this.coreValue?.problems;
    if (!problems || problems.includes(message)) return;
    this.deps.log.error(message);
    problems.push(message);
    if (problems.length > 100) problems.shift();
  }

  /** What the decoders need to resolve series while they decode. */
  scanContext(): ScanContext {
    const series = this.core.head.series;
    return {
      cache: this.seriesCache,
      resolve: (ns, t, p, i) => series.resolve(ns, t, p, i),
      maxSampleAgeMs: maxSampleAgeMs(this.config),
    };
  }

  /**
   * Admission before a request's body is read: when there is no room at all (the buffer or memory at
   * the emergency threshold), the request waits for room, its body unread in the socket (under a flood,
   * reading and decoding bodies only to hold or refuse them is the garbage that pushes memory further),
   * and is refused with 429 after `backpressure.max_wait`. Resolves the request's deadline, for
   * {@link ingestScanned}.
   */
  async admitEarly(): Promise<number> {
    this.assertReady();
    const deadline = this.deps.clock.now() + this.config.backpressure.maxWaitMs;
    try {
      await this.admit(0, 0, deadline);
    } catch (err) {
      this.ingestCounters.requests++;
      this.ingestCounters.rejectedRequests++;
      throw err;
    }
    return deadline;
  }

  /**
   * Waits until a request of `size` samples adding `incoming` of the memory budget fits (taking its
   * room in the buffer), or throws the 429 at `deadline`.
   */
  private async admit(size: number, incoming: number, deadline: number): Promise<void> {
    const core = this.core;
    const fits = () =>
      this.admission.fits(core.head.raw.unflushed + this.pendingSamples, size, this.memory.usage(), incoming);
    const take = () => (this.pendingSamples += size);
    if (await this.waiting.wait(fits, take, deadline)) return;
    this.assertReady();
    // room comes when the flush running ends: about the last one's duration after it started
    const left = this.flushing ? this.lastFlushMs - (this.deps.clock.now() - this.flushStartedAt) : 0;
    const retryAfterMs = Math.min(10_000, Math.max(1_000, left));
    throw this.admission.refusal(core.head.raw.unflushed + this.pendingSamples, size, incoming, retryAfterMs);
  }

  /**
   * Stores a validated batch: admission, duplicate check, WAL (durability point per sync mode), head.
   * Resolves once the new samples are durable, with how many were new and how many were skipped as
   * already stored (see `ingest/dedup.ts`); rejects leaving no trace. Its series are resolved once it
   * is admitted. A batch that does not fit waits for room until `deadline` (default: `backpressure.max_wait`
   * from now).
   */
  ingest(batch: SampleBatch, deadline?: number): Promise<IngestResult> {
    return this.store(batch, (b) => this.core.head.series.resolveBatch(b), deadline);
  }

  /** {@link ingest} of a batch decoded with {@link scanContext}: its `seriesId` are this storage's already. */
  ingestScanned(batch: SampleBatch, deadline?: number): Promise<IngestResult> {
    return this.store(batch, () => {}, deadline);
  }

  private async store(
    batch: SampleBatch,
    resolve: (b: SampleBatch) => void,
    deadline = this.deps.clock.now() + this.config.backpressure.maxWaitMs,
  ): Promise<IngestResult> {
    this.assertReady();
    const core = this.core;
    this.ingestCounters.requests++;
    let claim: Claim | null = null;
    let pending = 0;
    this.ingestsInFlight++; // synchronously with the decoder's resolving (see expireIdle)
    try {
      await this.checkDisk();
      await this.admit(
        batch.length,
        this.memory.bodyShare(batch.length * MEMORY_COSTS.rawSample),
        deadline,
      );
      pending = batch.length;
      resolve(batch);
      claim = await this.dedup.claim(batch, this.coldLookup);
      const c = claim;
      if (c.fresh.length > 0) await core.wal.append(c.fresh, () => c.apply());
      await c.settled();
    } catch (err) {
      claim?.fail();
      this.ingestCounters.rejectedRequests++;
      this.ingestCounters.rejectedSamples += batch.length;
      if (err instanceof DiskFullError) this.diskFull = true;
      throw err;
    } finally {
      this.ingestsInFlight--;
      this.pendingSamples -= pending;
    }
    this.ingestCounters.samples += claim.fresh.length;
    this.ingestCounters.duplicates += claim.duplicates;
    this.ingestCounters.conflicts += claim.conflicts;
    if (core.head.raw.unflushed >= this.plan.flushStartSamples) {
      void this.flushNow("buffer").catch(() => {});
    }
    return { accepted: claim.fresh.length, duplicates: claim.duplicates, conflicts: claim.conflicts };
  }

  /**
   * The duplicate check's look-up in the raw tier: one raw query per namespace over the samples' time
   * range (narrowed to a target or series when they share one). The query reads files and memory at one
   * instant; a file it cannot read is reported as a problem and its samples count as not stored.
   */
  private readonly coldLookup: ColdLookup = async (wanted) => {
    const view = this.queryView();
    const series = view.head.series;
    const groups = new Map<string, { ids: number[]; from: number; to: number }>();
    for (const [id, times] of wanted) {
      const ns = series.names(id)[0];
      let g = groups.get(ns);
      if (!g) groups.set(ns, g = { ids: [], from: Infinity, to: -Infinity });
      g.ids.push(id);
      for (const t of times) {
        if (t < g.from) g.from = t;
        if (t + 1 > g.to) g.to = t + 1;
      }
    }
    const found: Found = new Map();
    const requests = [...groups].map(([namespace, g]) => {
      const [, target, poller] = series.names(g.ids[0]);
      const filter: SeriesFilter = { namespace };
      if (g.ids.every((id) => series.names(id)[1] === target)) {
        filter.target = target;
        if (g.ids.length === 1) filter.poller = poller;
      }
      // started synchronously: every query reads memory and the file list before its first await
      return runQuery(view, { filter, fromMs: g.from, toMs: g.to, tier: "raw", limit: Number.MAX_SAFE_INTEGER });
    });
    for (const result of await Promise.all(requests)) {
      for (const r of result.series) {
        const id = series.lookup(r.namespace, r.target, r.poller);
        const times = wanted.get(id);
        if (!times) continue;
        const want = new Set(times);
        let byTs = found.get(id);
        for (const p of r.samples ?? []) {
          if (!want.has(p.ts)) continue;
          if (!byTs) found.set(id, byTs = new Map());
          if (!byTs.has(p.ts)) {
            byTs.set(p.ts, {
              kind: KIND_CODE[p.kind as SampleKind],
              valid: p.valid,
              value: p.kind === "gauge" ? p.value ?? NaN : NaN,
              counter: p.counter ?? null,
              text: p.text ?? null,
              error: p.error ?? "",
            });
          }
        }
      }
    }
    return found;
  };

  /** Known series with their last values. */
  series(filter: Partial<SeriesFilter> | null): SeriesEntry[] {
    this.assertReady();
    return this.core.head.series.entries(filter);
  }

  /**
   * Flushes now: starts a flush, or queues one behind the flush in progress (joining the one already
   * queued). Resolves with the report, or null when there was nothing to flush.
   */
  flushNow(reason = "manual"): Promise<FlushReport | null> {
    if (this.flushQueued) return this.flushQueued; // it starts later, so it covers what is here now
    const running = this.flushing;
    if (!running) return this.startFlush(reason);
    const queued = running.catch(() => null).then(() => {
      this.flushQueued = null;
      return this.startFlush(reason);
    });
    this.flushQueued = queued;
    return queued;
  }

  private startFlush(reason: string): Promise<FlushReport | null> {
    const run = this.runFlush(reason);
    this.flushing = run;
    run.finally(() => {
      if (this.flushing === run) this.flushing = null;
    }).catch(() => {});
    return run;
  }

  private async runFlush(reason: string): Promise<FlushReport | null> {
    if (this.stateValue !== "ready" && this.stateValue !== "stopping") return null;
    const core = this.core;
    const watermark = bucketStart("5min", core.clock.now() - CLOSE_GRACE_MS);
    if (core.head.raw.unflushed === 0 && !core.head.agg.hasClosed(watermark)) return null;
    const started = core.clock.now();
    this.flushStartedAt = started;
    this.memory.flushStarted(core.head.raw.unflushed);
    core.log.info("flushing", { reason, unflushed: core.head.raw.unflushed });
    try {
      const runFlush = async (): Promise<FlushReport> => {
        try {
          return await core.catalog.run(() => flush(core));
        } catch (err) {
          // another process filled the data disk: give the flush the reserve, so it can write and checkpoint
          if (!isDiskFull(err) || !(await this.reserve.release(`${reason} flush`))) throw err;
          core.log.warn("flush failed for lack of space; running it again on the released reserve", { reason });
          return await core.catalog.run(() => flush(core));
        }
      };
      const report = await this.job("flush", runFlush, (r) => ({ reason, ...r }), { reason })
        .finally(() => this.memory.flushEnded());
      this.lastFlushMs = core.clock.now() - started;
      core.log.info("flushed", { reason, ...report, ms: this.lastFlushMs });
      this.flushFailing(null);
      // a flush leaves some garbage on this thread (its job's small parts, the answer's files): a hint to
      // collect it, not a synchronous full collection, which stalled every request for 40-900 ms on the
      // 2-core box (the big copies live in reused shared memory and in the encoder's heap)
      collectGarbage("hint");
      this.expireIdle();
      this.admission.update(core.head.raw.unflushed, this.memory.usage());
      this.waiting.wake(); // the buffer has room again: let the waiting requests in now
      this.flushForMemory();
      return report;
    } catch (err) {
      core.log.error("flush failed; the data stays in memory and the WAL and is retried", { reason, error: err });
      if (isDiskFull(err)) this.diskFull = true;
      this.flushFailing(err as Error);
      throw err;
    }
  }

  /**
   * Keeps one entry in `problems` (and so `stalker_problems`) while flushes fail: since when, how many
   * in a row, the last error. A flush that succeeds removes it.
   */
  private flushFailing(err: Error | null): void {
    const problems = this.core.problems;
    const at = this.flushFailure ? problems.indexOf(this.flushFailure.message) : -1;
    if (at >= 0) problems.splice(at, 1);
    if (!err) {
      this.flushFailure = null;
      return;
    }
    const since = this.flushFailure?.sinceMs ?? this.core.clock.now();
    const attempts = (this.flushFailure?.attempts ?? 0) + 1;
    const message = `flushes failing since ${new Date(since).toISOString()} (${attempts} in a row): ${err.message}; ` +
      "the data stays in memory and the WAL, and is retried";
    this.flushFailure = { sinceMs: since, attempts, message };
    problems.push(message);
  }

  /**
   * Idle expiry (`limits.series_idle_time`): forgets the series with no sample newer than the idle
   * time of which nothing is unflushed or open (see `Head.expireIdle`). Runs only between requests and
   * flushes: an ingest call holds ids resolved before it applies (decoders resolve and call `ingest`
   * in one synchronous step), and a flush in flight holds ids until it commits. Returns how many series
   * were forgotten (0 also when it could not run now; the next timer tick tries again).
   */
  expireIdle(): number {
    const idleMs = this.config.limits.seriesIdleMs;
    if (idleMs <= 0 || this.stateValue !== "ready") return 0;
    const core = this.core;
    if (this.ingestsInFlight > 0 || core.inflight !== null) return 0;
    const n = core.head.expireIdle(core.clock.now() - idleMs);
    if (n > 0) {
      this.seriesCache = new SeriesCache(); // it maps identities to the forgotten ids
      this.seriesExpired += n;
      core.log.info("idle series left memory", { series: n, idle_ms: idleMs, held: core.head.series.held });
    }
    return n;
  }

  /**
   * Runs a background job and records its last run under `name` (status `jobs`): when, how long, and
   * `detail` of its result (null: not recorded) or `failed` and the error.
   */
  private async job<T>(
    name: string,
    run: () => Promise<T>,
    detail: (result: T) => Record<string, unknown> | null,
    failed: Record<string, unknown> = {},
  ): Promise<T> {
    const started = this.deps.clock.now();
    const record = (ok: boolean, d: Record<string, unknown>, err?: unknown) => {
      const r: JobRun = { atMs: started, durationMs: this.deps.clock.now() - started, ok, detail: d };
      if (err) r.error = (err as Error).message ?? String(err);
      this.core.jobs.set(name, r);
    };
    try {
      const result = await run();
      const d = detail(result);
      if (d) record(true, d);
      return result;
    } catch (err) {
      record(false, failed, err);
      throw err;
    }
  }

  /** Refuses ingest with 507 while free space is below the reserve; resumes by itself. */
  private async checkDisk(): Promise<void> {
    const now = this.deps.clock.now();
    if (this.diskFull || now - this.diskCheckedAt >= DISK_CHECK_MS) {
      this.diskCheckedAt = now;
      const space = await this.deps.fs.diskSpace(this.config.dataDir);
      this.diskFull = space.freeBytes < MIN_FREE_BYTES;
      if (!this.diskFull) void this.reserve.ensure(MIN_FREE_BYTES); // back once the disk has room
    }
    if (this.diskFull) {
      throw new DiskFullError(
        5_000,
        `Cannot accept samples: less than ${
          MIN_FREE_BYTES >> 20
        } MiB free on the data disk; free space, lower retention or set retention.max_disk_bytes`,
      );
    }
  }

  /** Runs due rollups now: hourly, then daily, then weekly (or only `tier`). */
  async compact(tier?: "hourly" | "daily" | "weekly"): Promise<RollupReport[]> {
    this.assertReady();
    const reports: RollupReport[] = [];
    for (const t of tier ? [tier] : (["hourly", "daily", "weekly"] as const)) {
      const runs = await this.job(`compaction_${t}`, () => rollupTier(this.core, t), (runs) => ({
        runs: runs.length,
        rows: runs.reduce((a, r) => a + r.outputRows, 0),
      }));
      reports.push(...runs);
    }
    return reports;
  }

  /** Merges small files of partitions (see merger.ts). */
  async merge(): Promise<MergeReport[]> {
    this.assertReady();
    return await this.job("merge", () => runMerges(this.core), (reports) => ({
      merges: reports.length,
      rows: reports.reduce((a, r) => a + r.rows, 0),
    }));
  }

  /** Applies retention: deletes what {@link previewRetention} lists (recorded as the job `retention`). */
  async retention(): Promise<RetentionPlan> {
    this.assertReady();
    return await this.job(
      "retention",
      () => applyRetention(this.core),
      (plan) => ({ deleted: plan.deletions.length, bytes_after: plan.bytesAfter }),
    );
  }

  /** What {@link retention} would delete now, deleting nothing (a dry run; not recorded as a job run). */
  async previewRetention(): Promise<RetentionPlan> {
    this.assertReady();
    return await previewRetention(this.core);
  }

  /** Takes an online snapshot into the new directory `dir` (see backup.ts). */
  async snapshot(dir: string): Promise<SnapshotReport> {
    this.assertReady();
    return await this.job(
      "snapshot",
      () => takeSnapshot(this.core, dir),
      (report) => ({ dir, files: report.files, bytes: report.bytes }),
      { dir },
    );
  }

  private async compactAndMerge(tier: "hourly" | "daily" | "weekly"): Promise<void> {
    await this.compact(tier);
    await this.merge();
  }

  /**
   * Starts the background jobs on the storage's clock, until {@link close}: the flush interval, retention
   * every 10 minutes, the rollup schedule (`compaction.schedule`), raw-buffer eviction and idle expiry,
   * and the memory and admission checks. `serve` starts them after {@link start}; offline commands and
   * tests run jobs by hand instead.
   */
  startBackground(): void {
    this.assertReady();
    if (this.background) return;
    const stop = new AbortController();
    this.background = stop;
    const clock = this.deps.clock;
    const every = (ms: number, fn: () => Promise<unknown>) =>
      everyMs(clock, ms, () => void fn().catch(() => {}), stop.signal);
    every(this.config.ingestion.flush.intervalMs, () => this.flushNow("interval"));
    every(10 * 60_000, () => this.retention());
    const sched = this.config.compaction.schedule;
    new Scheduler(
      [
        {
          name: "raw_to_5min",
          schedule: sched.rawTo5min,
          run: () => this.flushNow("schedule").then(() => this.merge()),
        },
        { name: "five_min_to_hourly", schedule: sched.fiveMinToHourly, run: () => this.compactAndMerge("hourly") },
        { name: "hourly_to_daily", schedule: sched.hourlyToDaily, run: () => this.compactAndMerge("daily") },
        { name: "daily_to_weekly", schedule: sched.dailyToWeekly, run: () => this.compactAndMerge("weekly") },
      ],
      this.config.compaction.workers,
      clock,
      this.deps.log,
    ).start(stop.signal);
    every(10_000, () => {
      this.core.head.evict(this.deps.clock.now());
      this.expireIdle();
      return Promise.resolve();
    });
    every(WORKER_MEMORY_MS, () => this.refreshWorkerMemory());
    every(MEMORY_CHECK_MS, () => {
      this.memory.relieve();
      this.admission.update(this.core.head.raw.unflushed, this.memory.usage());
      this.waiting.wake();
      this.flushForMemory();
      return Promise.resolve();
    });
  }

  /**
   * Flushes now (reason `memory`) when memory keeps ingest out and a flush would make room: samples
   * are unflushed (once in Parquet they are the ring's cache, which gives way) and none runs. Without
   * it, with the buffer below its flush mark, ingest waited for the interval's flush: minutes of 429s
   * in a flood at a small budget, with resident memory far below it.
   */
  private flushForMemory(): void {
    const core = this.coreValue;
    if (!core || this.flushing || this.stateValue !== "ready" || core.head.raw.unflushed === 0) return;
    if (this.memory.usage() < this.config.backpressure.thresholds.emergency) return;
    void this.flushNow("memory").catch(() => {});
  }

  /**
   * Reads the tier worker threads' heaps (flush encoding, rollups, merges): memory the main thread's
   * figures do not show. A worker busy with a job answers after it; one reading is pending at a time.
   */
  refreshWorkerMemory(): Promise<void> {
    const core = this.coreValue;
    if (!core) return Promise.resolve();
    this.workerMemoryReading ??= Promise.all([core.encoder.memory(), core.compactor.memory()])
      .then((threads) => {
        this.workerHeapBytes = threads.reduce((a, t) => a + (t?.heapUsedBytes ?? 0), 0);
      })
      .catch(() => {})
      .finally(() => (this.workerMemoryReading = null));
    return this.workerMemoryReading;
  }

  /** WAL size on disk (bytes). */
  async walBytes(): Promise<number> {
    return (await listSegments(this.deps.fs, this.core.walDir)).reduce((a, s) => a + s.size, 0);
  }

  /** Counters and state for `/api/v1/status`. */
  async status(): Promise<StatusReport> {
    return await buildStatus(this, {
      version: VERSION,
      state: this.stateValue,
      startedAt: this.startedAt,
      now: this.deps.clock.now(),
      diskFull: this.diskFull,
    });
  }

  /** Stops everything cleanly: flushes, closes the WAL, releases the data directory. */
  async close(): Promise<void> {
    if (this.stateValue === "stopped" || this.stateValue === "stopping") return;
    const wasReady = this.stateValue === "ready";
    this.stateValue = "stopping";
    this.background?.abort();
    this.waiting.close(new UnavailableError("Cannot serve: shutting down"));
    await this.sqlEngine?.release().catch(() => {});
    if (wasReady && this.coreValue) {
      try {
        await this.flushNow("shutdown");
      } catch (err) {
        this.deps.log.error("final flush failed; the WAL keeps the data for the next start", { error: err });
      }
      await this.coreValue.wal.close();
      await this.coreValue.encoder.close();
      await this.coreValue.compactor.close();
      await this.coreValue.catalog.close();
    }
    await this.lock?.release();
    this.lock = null;
    this.stateValue = "stopped";
    this.deps.log.info("storage stopped");
  }
}
