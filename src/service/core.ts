/**
 * The state the service's components share: configuration, ports, the head, the WAL writer, the
 * committed manifest and the flush in flight. Components (recovery, flusher, compactor, retention,
 * query) are functions over this object; `storage.ts` owns it.
 *
 * @module
 */
import type { ClosedSlice } from "../aggregate/flush_batch.ts";
import type { TierRunner } from "../tier/tier_runner.ts";
import type { Config } from "../config/schema.ts";
import type { Head } from "../head/head.ts";
import type { Clock } from "../platform/clock.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { Logger } from "../platform/log.ts";
import type { Metrics } from "../platform/metrics.ts";
import { join } from "../platform/path.ts";
import type { Manifest } from "../tier/manifest.ts";
import type { WalWriter } from "../wal/writer.ts";
import { WAL_DIR } from "../model/paths.ts";
import type { Tier } from "../model/tier.ts";
import type { Catalog } from "./catalog.ts";
import type { JobRun } from "./status_report.ts";

/** A flush between its cut and its commit: its closed buckets are only here. */
export interface InFlight {
  /** Closed buckets of the cut (series are head ids). */
  closed: ClosedSlice;
}

/** Outcome of the last run of a background job (as the status document shows it). */
export type { JobRun };

/** Shared state. */
export interface Core {
  config: Config;
  fs: FileSystem;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dataDir: string;
  walDir: string;
  head: Head;
  wal: WalWriter;
  /** The committed manifest (the catalog's). */
  readonly manifest: Manifest;
  /** The one owner of the manifest: sequence numbers, the commit lock, commits, delayed deletes. */
  catalog: Catalog;
  inflight: InFlight | null;
  /** Encodes flush output off the main thread. */
  encoder: TierRunner;
  /** Runs rollups and merges off the main thread (its own worker: a long merge never delays a flush). */
  compactor: TierRunner;
  /** Last runs of background jobs, by name (flush, compaction, retention). */
  jobs: Map<string, JobRun>;
  /** Problems found at startup or later (damaged files), for status. */
  problems: string[];
}

/** The WAL directory for a config. */
export function walDirOf(config: Config): string {
  return config.ingestion.wal.dir !== "" ? config.ingestion.wal.dir : join(config.dataDir, WAL_DIR);
}

/** Grace after a bucket's end before it closes, so polls pushed a little late still land in it. */
export const CLOSE_GRACE_MS = 60_000;

/** Reserves a name for a new tier file (see {@link Catalog.allocate}). */
export function allocate(core: Core, tier: Tier, partition: number): { seq: number; path: string } {
  return core.catalog.allocate(tier, partition);
}
