/**
 * What the status report and the metrics read of a storage: a read-only view, so that they depend on
 * this small interface and not on the `Storage` class (which registers them: no import cycle).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { MemoryPlan } from "../config/memory_budget.ts";
import type { Admission, Level, WaitQueue } from "../ingest/admission.ts";
import type { ReadCache } from "../query/read_cache.ts";
import type { Core } from "./core.ts";
import type { MemoryMonitor } from "./memory.ts";

import type { StorageState } from "./status_report.ts";

/** The lifecycle of a storage. */
export type { StorageState };

/** Counters of ingest. */
export interface IngestCounters {
  requests: number;
  samples: number;
  rejectedRequests: number;
  rejectedSamples: number;
  /** Samples skipped because their (series, timestamp) was already stored. */
  duplicates: number;
  /** Of the duplicates, those with a different value (the stored one stays). */
  conflicts: number;
}

/** A storage as status and metrics see it. */
export interface StorageView {
  readonly config: Config;
  /** The running core (throws before start). */
  readonly core: Core;
  readonly ready: boolean;
  readonly state: StorageState;
  readonly backpressure: Level;
  readonly admission: Admission;
  readonly waiting: WaitQueue;
  readonly plan: MemoryPlan;
  readonly memory: MemoryMonitor;
  readonly ingestCounters: Readonly<IngestCounters>;
  /** Rows decoded from tier files, kept for the next queries. */
  readonly readCache: ReadCache;
  /** Series forgotten by idle expiry since the start. */
  readonly seriesExpired: number;
  /** Heap of the tier worker threads, last read. */
  readonly workerHeapBytes: number;
  /** WAL size on disk (bytes). */
  walBytes(): Promise<number>;
}
