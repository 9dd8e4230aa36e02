/**
 * The storage service: owns the data directory and wires every component (WAL, head, flusher,
 * compactor, retention, query). The HTTP layer and the CLI talk only to this class.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Clock } from "../platform/clock.ts";
import type { FileSystem } from "../platform/fs.ts";
import { acquireLock, type DirLock } from "../platform/lock.ts";
import type { Logger } from "../platform/log.ts";
import type { Metrics } from "../platform/metrics.ts";
import { UnavailableError } from "../model/errors.ts";
import { VERSION } from "../version.ts";

/** Lifecycle states. */
export type StorageState = "starting" | "ready" | "stopping" | "stopped";

/** What the service needs from its environment. */
export interface StorageDeps {
  fs: FileSystem;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

/** The answer of `GET /api/v1/status`. */
export interface StatusReport {
  version: string;
  state: StorageState;
  started_at: string;
  uptime_s: number;
  data_dir: string;
}

/** The storage service. */
export class Storage {
  private stateValue: StorageState = "starting";
  private lock: DirLock | null = null;
  private readonly startedAt: number;

  private constructor(readonly config: Config, private readonly deps: StorageDeps) {
    this.startedAt = deps.clock.now();
    deps.metrics.collected("stalker_up", "1 while the service is ready.", "gauge", () => (this.ready ? 1 : 0));
    deps.metrics.collected(
      "stalker_uptime_seconds",
      "Seconds since the service started.",
      "gauge",
      () => (deps.clock.now() - this.startedAt) / 1000,
    );
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

  /** Opens the data directory: takes its lock, recovers, and becomes ready. */
  async start(): Promise<void> {
    const { log } = this.deps;
    await this.lockDataDir();
    this.stateValue = "ready";
    log.info("storage ready", { data_dir: this.config.dataDir });
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

  /** Counters and state for `/api/v1/status`. */
  status(): StatusReport {
    const now = this.deps.clock.now();
    return {
      version: VERSION,
      state: this.stateValue,
      started_at: new Date(this.startedAt).toISOString(),
      uptime_s: Math.round((now - this.startedAt) / 1000),
      data_dir: this.config.dataDir,
    };
  }

  /** Stops everything cleanly and releases the data directory. */
  async close(): Promise<void> {
    if (this.stateValue === "stopped") return;
    this.stateValue = "stopping";
    await this.lock?.release();
    this.lock = null;
    this.stateValue = "stopped";
    this.deps.log.info("storage stopped");
  }
}
