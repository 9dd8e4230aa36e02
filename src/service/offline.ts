/**
 * A data directory opened read-only, without a server: the manifest, the snapshot and the WAL are
 * read into memory (nothing on disk changes), so offline `query`, `sql` and `series` see exactly
 * what a server would, including data not yet flushed. Refused with `LockedError` while a server holds
 * the directory (use the server's API then).
 *
 * @module
 */
import { resolve as resolvePath } from "node:path";
import type { Config } from "../config/schema.ts";
import type { SeriesEntry } from "../head/series.ts";
import { LockedError } from "../model/errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { FileSystem } from "../platform/fs.ts";
import { lockOwner } from "../platform/lock.ts";
import type { Logger } from "../platform/log.ts";
import { type QueryRequest, type QueryResult, runQuery } from "../query/query.ts";
import { SqlEngine } from "../sql/mod.ts";
import { tierViews } from "../sql/mod.ts";
import type { SqlResult } from "../sql/mod.ts";
import type { SeriesFilter } from "../model/series_filter.ts";
import type { Manifest } from "../tier/manifest.ts";
import { walDirOf } from "./core.ts";
import { recover, type Recovered } from "./recovery.ts";

/** An offline, read-only view of a data directory. */
export class OfflineStore {
  private engine: SqlEngine | null = null;

  private constructor(readonly config: Config, private readonly fs: FileSystem, private readonly r: Recovered) {}

  /** Opens `config.dataDir` read-only. */
  static async open(config: Config, fs: FileSystem, clock: Clock, log: Logger): Promise<OfflineStore> {
    const owner = await lockOwner(fs, config.dataDir);
    if (owner) throw new LockedError(config.dataDir, owner.pid);
    if (!(await fs.stat(config.dataDir))?.isDirectory) {
      throw new RangeError(`Cannot open ${config.dataDir}: no such data directory (set --data-dir or data_dir)`);
    }
    const r = await recover(fs, config, walDirOf(config), clock.now(), log, true);
    return new OfflineStore(config, fs, r);
  }

  /** The committed manifest. */
  get manifest(): Manifest {
    return this.r.manifest;
  }

  /** Problems found while opening (damaged or missing files). */
  get problems(): string[] {
    return this.r.problems;
  }

  /** Runs a structured query. */
  query(request: QueryRequest): Promise<QueryResult> {
    const p = this.config.features.percentile;
    return runQuery({
      fs: this.fs,
      dataDir: this.config.dataDir,
      files: this.r.manifest.files,
      watermarks: this.r.manifest.watermarks,
      head: this.r.head,
      inflight: null,
      accuracy: p.enabled ? p.accuracy : null,
    }, request);
  }

  /** Known series with their last values. */
  series(filter: Partial<SeriesFilter> | null): SeriesEntry[] {
    return this.r.head.series.entries(filter);
  }

  /** Runs read-only SQL over the tier files. */
  sql(text: string): Promise<SqlResult> {
    this.engine ??= new SqlEngine({
      memoryLimitBytes: this.config.query.memoryLimitBytes,
      timeoutMs: this.config.query.timeoutMs,
      maxRows: this.config.query.maxRows,
      idleReleaseMs: 60_000,
      allowedRoot: resolvePath(this.config.dataDir),
    });
    return this.engine.query(text, tierViews(this.r.manifest.files, resolvePath(this.config.dataDir)));
  }

  /** Releases DuckDB if it was loaded. */
  async close(): Promise<void> {
    await this.engine?.release();
  }
}
