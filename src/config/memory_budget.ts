/**
 * The memory budget: how `server.memory_limit` is shared among the consumers of the process. Pure
 * arithmetic on the configuration, so `serve`, `config check` and `requirements` plan alike (the RAM
 * `requirements` prints is this plan at the smallest limit that fits the scale: {@link neededMemoryLimit});
 * the running server then holds resident memory to the plan (`src/ingest/admission.ts`).
 *
 * The unit costs are measured on the compiled binary (Bun 1.4.5, x86-64; see docs/memory.md for how):
 * the runtime with the code loaded and the tier worker started, one series in the head (series index,
 * decoder cache, last value, counter state, its open 5-minute bucket and the snapshot's copy of it), a
 * raw sample in the log, and what a flush allocates per raw sample while it encodes.
 *
 * @module
 */
import type { Config } from "./schema.ts";

const MiB = 2 ** 20;

/** Measured unit costs (bytes), rounded up. */
export const MEMORY_COSTS = {
  /** Resident memory of the idle binary with the flush worker started. */
  runtime: 72 * MiB,
  /** One series in the head, all structures included. */
  series: 1_100,
  /** One raw sample in the log (typed-array columns). */
  rawSample: 34,
  /**
   * Transient memory of a flush per raw sample it writes, with its share of 5-minute rows and the
   * worker's working set. Measured in process on Bun: a flush of 500,000 samples and 200,000 buckets at
   * 100,000 series grew RSS by ~300 MB, about half of it the snapshot's copy of the open state, which is
   * counted per series (`series`).
   */
  flushPerSample: 300,
  /** Decoded batch and WAL record per byte of JSON body. */
  bodyExpansion: 2,
} as const;

/** One line of a plan (the memory budget's shares, the capacity plan's disk and CPU). */
export interface PlanLine {
  item: string;
  bytes?: number;
  value?: number;
  formula: string;
}

/** The plan: each consumer's share, in bytes (samples where said). */
export interface MemoryPlan {
  limitBytes: number;
  runtimeBytes: number;
  /** Request bodies in flight, with what they decode to. */
  bodiesBytes: number;
  /** Series index and open aggregates of the expected series (`scale.poller_count`, at most `maxSeries`). */
  headBytes: number;
  maxSeries: number;
  /** Raw samples not yet in Parquet (they cannot be evicted). */
  unflushedBytes: number;
  /** Unflushed samples at which backpressure reaches 100 % (`ingestion.flush.max_buffer_size`, capped). */
  bufferSamples: number;
  /** A flush starts at this many unflushed samples. */
  flushStartSamples: number;
  /** What a flush allocates while it runs. */
  flushWorkBytes: number;
  /** The raw ring's cache of flushed samples: what is left, capped by `features.raw_buffer.memory_limit`. */
  ringBytes: number;
  /** Rows decoded from tier files, kept for the next queries (`src/query/read_cache.ts`). */
  queryCacheBytes: number;
  /** DuckDB while SQL runs (`query.memory_limit`): taken from the ring's cache while it is loaded. */
  queryBytes: number;
  /** Problems: the configured scale does not fit (empty when it does). */
  problems: string[];
  /** The shares above as lines, in the order they are printed (SQL last: it is not added to the others). */
  shares: PlanLine[];
}

/**
 * Share of what is left after the runtime, bodies, unflushed samples and a flush that the head may take
 * when `limits.max_series` is 0 (the rest is the ring's cache and slack for garbage between collections).
 */
const HEAD_SHARE = 0.8;
/** Most bytes of the query cache (decoded rows of tier files). */
const QUERY_CACHE_MAX = 64 * MiB;
/** Share of the budget after the runtime for unflushed raw samples. */
const UNFLUSHED_SHARE = 0.075;
/**
 * A flush starts at this fraction of the buffer (one runs while the next fills). Smaller flushes would
 * lower the flush's working set but not the peak: each flush also copies and encodes the whole open
 * state for its snapshot (measured: flushes of 150,000 samples at 100,000 series raised both peak RSS
 * and CPU per sample). Half, not less: a flush takes every sample unflushed when it starts, so the
 * buffer bounds the largest flush (and the encoder's working set) to twice the one planned. With a
 * quarter, an encoder falling behind under load took 1.8 M samples in one flush at the default budget
 * (its heap 370 MiB, past the budget), and the ingest that filled the buffer got no 429 before it.
 */
export const FLUSH_START_SHARE = 0.5;

/**
 * Plans the budget of `config`.
 *
 * @example
 * ```ts
 * import { planMemory } from "./memory_budget.ts";
 * import { defaultConfig } from "./load.ts";
 * const plan = planMemory(defaultConfig());
 * if (plan.limitBytes !== 512 * 2 ** 20 || plan.problems.length !== 0 || plan.maxSeries < 100_000) throw new Error();
 * ```
 */
export function planMemory(config: Config): MemoryPlan {
  const c = MEMORY_COSTS;
  const limit = config.server.memoryLimitBytes;
  const usable = Math.max(0, limit - c.runtime);
  const bodies = Math.min(64 * MiB, Math.max(4 * MiB, Math.floor(usable / 16)));
  const bufferSamples = Math.max(
    1,
    Math.min(config.ingestion.flush.maxBufferSamples, Math.floor(usable * UNFLUSHED_SHARE / c.rawSample)),
  );
  const flushStart = Math.max(1, Math.floor(bufferSamples * FLUSH_START_SHARE));
  const unflushed = bufferSamples * c.rawSample;
  const flushWork = flushStart * c.flushPerSample;
  const maxSeries = config.limits.maxSeries > 0
    ? config.limits.maxSeries
    : Math.max(0, Math.floor((usable - bodies - unflushed - flushWork) * HEAD_SHARE / c.series));
  // the ring is planned for the expected series (scale.poller_count); when more arrive, the running
  // server trims the ring as memory runs short (src/service/memory.ts)
  const head = Math.min(maxSeries, config.scale.pollerCount) * c.series;
  const fixedHead = config.limits.maxSeries > 0 ? config.limits.maxSeries * c.series : head;
  // the query cache: a sixteenth of the usable budget, at most 64 MiB, planned before the ring's cache
  const queryCache = Math.min(QUERY_CACHE_MAX, Math.floor(usable / 16));
  const left = limit - c.runtime - bodies - head - unflushed - flushWork - queryCache;
  const leftAtLimit = limit - c.runtime - bodies - fixedHead - unflushed - flushWork;
  const ring = config.features.rawBuffer.enabled
    ? Math.max(0, Math.min(left, config.features.rawBuffer.memoryLimitBytes))
    : 0;
  const problems: string[] = [];
  if (leftAtLimit < 0) {
    problems.push(
      `server.memory_limit (${
        mib(limit)
      }) is too small for limits.max_series ${maxSeries}: the runtime, the head, request bodies and flushing need ${
        mib(limit - leftAtLimit)
      }; raise server.memory_limit or lower limits.max_series`,
    );
  }
  if (config.scale.pollerCount > maxSeries) {
    problems.push(
      `scale.poller_count ${config.scale.pollerCount} exceeds the series that fit (${maxSeries}); raise server.memory_limit to at least ${
        mib(c.runtime + bodies + unflushed + flushWork + (config.scale.pollerCount * c.series) / HEAD_SHARE)
      } or set limits.max_series`,
    );
  }
  if (config.query.memoryLimitBytes > usable / 2) {
    problems.push(
      `query.memory_limit (${
        mib(config.query.memoryLimitBytes)
      }) is more than half of server.memory_limit after the runtime (${
        mib(usable)
      }): SQL would crowd out ingest; lower query.memory_limit or raise server.memory_limit`,
    );
  }
  const expected = Math.min(maxSeries, config.scale.pollerCount);
  const shares: PlanLine[] = [
    { item: "runtime", bytes: c.runtime, formula: "measured idle RSS of the binary" },
    { item: "request bodies in flight", bytes: bodies, formula: "bodies being read and decoded" },
    { item: "head (expected series)", bytes: head, formula: `${expected} series × ${c.series} B` },
    { item: "unflushed raw samples", bytes: unflushed, formula: `${bufferSamples} samples × ${c.rawSample} B` },
    {
      item: "flush working set",
      bytes: flushWork,
      formula: `a flush starts at ${flushStart} samples × ${c.flushPerSample} B`,
    },
    { item: "raw ring (cache)", bytes: ring, formula: "gives way first when memory is short" },
    { item: "query cache", bytes: queryCache, formula: "rows decoded from tier files, for the next queries" },
    {
      item: "SQL (DuckDB working set)",
      bytes: config.query.memoryLimitBytes,
      formula: "query.memory_limit, taken from the ring while DuckDB is loaded",
    },
  ];
  return {
    limitBytes: limit,
    runtimeBytes: c.runtime,
    bodiesBytes: bodies,
    headBytes: head,
    maxSeries,
    unflushedBytes: unflushed,
    bufferSamples,
    flushStartSamples: flushStart,
    flushWorkBytes: flushWork,
    ringBytes: ring,
    queryCacheBytes: queryCache,
    queryBytes: config.query.memoryLimitBytes,
    problems,
    shares,
  };
}

/** Largest limit the searches below try (a scale that does not fit under it gets this). */
const MAX_PLANNED_LIMIT = 2 ** 40;

/**
 * The smallest `server.memory_limit` (to the MiB) whose plan fits `config`'s scale: no problem, and a
 * raw ring that holds `features.raw_buffer.duration` of samples at the polling rate (up to its own
 * `memory_limit`). What `requirements` prints as the RAM a scale needs.
 *
 * @example
 * ```ts
 * import { neededMemoryLimit, planMemory } from "./memory_budget.ts";
 * import { defaultConfig } from "./load.ts";
 * const config = defaultConfig();
 * config.server.memoryLimitBytes = neededMemoryLimit(config);
 * if (planMemory(config).problems.length !== 0) throw new Error("the needed limit must fit");
 * ```
 */
export function neededMemoryLimit(config: Config): number {
  const rate = config.scale.pollerCount / config.scale.pollIntervalSec;
  const wantedRing = config.features.rawBuffer.enabled
    ? Math.min(
      rate * config.features.rawBuffer.durationMs / 1000 * MEMORY_COSTS.rawSample,
      config.features.rawBuffer.memoryLimitBytes,
    )
    : 0;
  return smallestLimit(config, (plan) => plan.problems.length === 0 && plan.ringBytes >= wantedRing);
}

/**
 * The smallest `server.memory_limit` (to the MiB) at which `config`'s scale fits with no problem, the
 * raw ring getting what is left (it may be empty): below it, the server reports the scale does not fit.
 */
export function minimumMemoryLimit(config: Config): number {
  return smallestLimit(config, (plan) => plan.problems.length === 0);
}

/** Bisects over whole MiB: every share grows with the limit, so whether a plan fits does too. */
function smallestLimit(config: Config, fits: (plan: MemoryPlan) => boolean): number {
  const fitsAt = (limitMiB: number) =>
    fits(planMemory({ ...config, server: { ...config.server, memoryLimitBytes: limitMiB * MiB } }));
  let lo = Math.ceil(MEMORY_COSTS.runtime / MiB), hi = MAX_PLANNED_LIMIT / MiB;
  if (!fitsAt(hi)) return hi * MiB;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fitsAt(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo * MiB;
}

function mib(bytes: number): string {
  return `${Math.ceil(bytes / MiB)} MiB`;
}
