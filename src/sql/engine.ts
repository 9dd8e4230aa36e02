/**
 * Read-only SQL over the Parquet files of the tiers, on DuckDB-WASM 1.28.0 (DuckDB 0.9.1) in a worker
 * thread: loaded on the first query, released after an idle time, one query at a time (others wait in
 * a short queue), each within `timeoutMs` and `maxRows`. Whatever DuckDB does, the caller gets an
 * answer or a typed error, and the next query works again. docs/sql.md describes the rules.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";
import { OverloadedError } from "../model/errors.ts";
import { type Clock, systemClock } from "../platform/clock.ts";
import { sqlWorkerUrl } from "../platform/duckdb_assets.ts";
import { type Logger, silentLogger } from "../platform/log.ts";
import { SqlEngineError, SqlError, SqlTimeoutError } from "./errors.ts";
import type { FailureReply } from "./protocol.ts";
import { SqlThread } from "./thread.ts";
import type { SqlResult, SqlView } from "./types.ts";
import { checkViews } from "./views.ts";

/** Settings of a {@link SqlEngine}. */
export interface SqlEngineOptions {
  /** DuckDB's `memory_limit` (`query.memory_limit`). */
  memoryLimitBytes: number;
  /** Longest time from `query()` to its answer, engine load and waiting included (`query.timeout`). */
  timeoutMs: number;
  /** Most rows one answer holds; beyond, the answer is cut and flagged `truncated` (`query.max_rows`). */
  maxRows: number;
  /** The engine (≈ 200 MB) is released after this long without queries. */
  idleReleaseMs: number;
  /** The clock the idle release runs on (default: the system clock). */
  clock?: Clock;
  /** The data directory: every view file must be inside it. */
  allowedRoot: string;
  log?: Logger;
  /**
   * How long after `timeoutMs` a query that DuckDB did not cancel by itself (it checks between slices
   * of work) is stopped by terminating the worker. Default 1000 ms.
   */
  killGraceMs?: number;
  /** Most queries that may wait for the engine; more are refused with `OverloadedError`. Default 16. */
  maxQueued?: number;
}

interface Job {
  sql: string;
  views: SqlView[];
  startedMs: number;
  resolve(result: SqlResult): void;
  reject(err: Error): void;
}

const WORKER_SOURCE = new URL("./worker.ts", import.meta.url);
const TIMED_OUT = Symbol("timed out");

/**
 * The SQL engine.
 *
 * @example
 * ```ts ignore
 * import { SqlEngine } from "./engine.ts";
 * const engine = new SqlEngine({
 *   memoryLimitBytes: 256 << 20, timeoutMs: 30_000, maxRows: 100_000, idleReleaseMs: 300_000,
 *   allowedRoot: "/var/lib/stalker",
 * });
 * const result = await engine.query("SELECT target, avg(value) FROM raw GROUP BY target", [
 *   { name: "raw", files: ["/var/lib/stalker/raw/2026-11-25/part-1.parquet"] },
 * ]);
 * console.log(result.columns, result.rows, result.truncated);
 * await engine.release();
 * ```
 */
export class SqlEngine {
  readonly #options: Required<SqlEngineOptions>;
  #thread: SqlThread | null = null;
  #loaded = false;
  #queue: Job[] = [];
  #busy = false;
  /** Aborts the armed idle release (null: none armed). */
  #idleTimer: AbortController | null = null;
  #nextId = 1;

  constructor(options: SqlEngineOptions) {
    this.#options = { log: silentLogger, killGraceMs: 1_000, maxQueued: 16, clock: systemClock, ...options };
    for (const key of ["memoryLimitBytes", "timeoutMs", "maxRows", "idleReleaseMs"] as const) {
      if (!(this.#options[key] > 0)) throw new RangeError(`Cannot create the SQL engine: ${key} must be positive`);
    }
  }

  /** Whether DuckDB is loaded now (false before the first query and after a release). */
  get loaded(): boolean {
    return this.#loaded && this.#thread !== null && this.#thread.alive;
  }

  /** Whether DuckDB is loaded with no query running or waiting (it may be released without failing one). */
  get idle(): boolean {
    return this.loaded && !this.#busy && this.#queue.length === 0;
  }

  /**
   * Runs one read-only query over `views`. Rejects with `SqlError` (the query is wrong or not allowed;
   * DuckDB's message), `SqlTimeoutError`, `SqlEngineError`, `OverloadedError` (too many waiting) or
   * `TypeError` (bad views).
   */
  query(sql: string, views: SqlView[]): Promise<SqlResult> {
    try {
      checkViews(views, this.#options.allowedRoot);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#queue.length >= this.#options.maxQueued) {
      return Promise.reject(
        new OverloadedError(1_000, `Cannot queue SQL query: ${this.#queue.length} queries are already waiting`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ sql, views, startedMs: performance.now(), resolve, reject });
      void this.#drain();
    });
  }

  /** Releases DuckDB now (a query running fails with `SqlEngineError`); the next query loads it again. */
  async release(): Promise<void> {
    this.#cancelIdle();
    await this.#drop(this.#thread, "released");
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.#cancelIdle();
    this.#thread?.ref();
    while (this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      try {
        job.resolve(await this.#run(job));
      } catch (err) {
        job.reject(err as Error);
      }
    }
    this.#busy = false;
    this.#armIdle();
  }

  /** Runs a job within its deadline plus the kill grace; past it, the worker is terminated. */
  async #run(job: Job): Promise<SqlResult> {
    const deadlineMs = job.startedMs + this.#options.timeoutMs;
    if (performance.now() >= deadlineMs) throw new SqlTimeoutError(this.#options.timeoutMs); // spent waiting
    const attempt = this.#attempt(job, deadlineMs);
    const outcome = await within(attempt, deadlineMs + this.#options.killGraceMs - performance.now());
    if (outcome !== TIMED_OUT) return outcome;
    await this.#drop(this.#thread, "a query did not stop at its timeout");
    throw new SqlTimeoutError(this.#options.timeoutMs);
  }

  async #attempt(job: Job, deadlineMs: number): Promise<SqlResult> {
    const thread = await this.#load();
    const id = this.#nextId++;
    const { sql, views } = job;
    const timeoutMs = Math.max(0, deadlineMs - performance.now());
    const reply = await thread.query({ type: "query", id, sql, views, maxRows: this.#options.maxRows, timeoutMs })
      .catch((err: Error) => this.#crashed(thread, err));
    if (reply.type === "failure") throw await this.#failure(thread, reply);
    if (reply.type !== "result") throw new SqlEngineError(`the worker sent an unexpected ${reply.type} reply`);
    const { columns, rows, truncated, skipped } = reply;
    return { columns, rows, truncated, skipped, elapsedMs: performance.now() - job.startedMs };
  }

  async #load(): Promise<SqlThread> {
    if (this.#thread?.alive) {
      await this.#thread.ready;
      return this.#thread;
    }
    const thread = this.#startThread();
    this.#thread = thread;
    try {
      const ready = await thread.ready;
      this.#loaded = true;
      this.#options.log.info("sql engine loaded", { ms: Math.round(ready.loadMs), duckdb: ready.version });
    } catch (err) {
      await this.#drop(thread, "loading failed");
      throw err;
    }
    return thread;
  }

  #startThread(): SqlThread {
    const { memoryLimitBytes, allowedRoot } = this.#options;
    try {
      return new SqlThread(sqlWorkerUrl(WORKER_SOURCE), { type: "init", memoryLimitBytes, allowedRoot });
    } catch (err) {
      throw new SqlEngineError(`cannot start the worker: ${(err as Error).message}`, { cause: err });
    }
  }

  async #failure(thread: SqlThread, reply: FailureReply): Promise<Error> {
    switch (reply.kind) {
      case "sql":
        return new SqlError(reply.message);
      case "input":
        return new TypeError(reply.message);
      case "timeout":
        return new SqlTimeoutError(this.#options.timeoutMs);
      case "engine":
        this.#options.log.warn("sql engine failed", { error: reply.message });
        await this.#drop(thread, "DuckDB failed");
        return new SqlEngineError(`${reply.message}; it restarts on the next query`);
    }
  }

  async #crashed(thread: SqlThread, err: Error): Promise<never> {
    if (this.#thread === thread) this.#options.log.warn("sql engine crashed", { error: err });
    await this.#drop(thread, "crashed");
    throw err;
  }

  async #drop(thread: SqlThread | null, reason: string): Promise<void> {
    if (thread === null) return;
    if (this.#thread === thread) {
      this.#thread = null;
      this.#loaded = false;
      this.#options.log.info("sql engine released", { reason });
    }
    await thread.terminate(`the engine was stopped (${reason})`);
  }

  #armIdle(): void {
    if (this.#thread === null) return;
    this.#thread.unref();
    this.#idleTimer = new AbortController();
    this.#options.clock.setTimer(
      this.#options.idleReleaseMs,
      () => void this.#drop(this.#thread, "idle"),
      this.#idleTimer.signal,
    );
  }

  #cancelIdle(): void {
    this.#idleTimer?.abort();
    this.#idleTimer = null;
  }
}

/** `work`'s outcome, or `TIMED_OUT` when it takes longer than `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  work.catch(() => {}); // once timed out, the work's own failure (its worker terminated) is expected
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
