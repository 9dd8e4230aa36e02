/**
 * Latency statistics. Percentiles are nearest-rank (the same rule as the peers' `query_bench.mjs` and
 * `post_lines.mjs`): p99 of 200 samples is the 198th smallest, p99 of 20 samples is the maximum.
 *
 * @module
 */

/** A summary of latencies in milliseconds. */
export interface LatencySummary {
  n: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  min_ms: number;
  max_ms: number;
}

/**
 * The nearest-rank percentile `p` (0-100) of ascending `sorted` values.
 *
 * @example
 * ```ts
 * import { nearestRank } from "./stats.ts";
 * const s = Array.from({ length: 200 }, (_, i) => i + 1);
 * if (nearestRank(s, 50) !== 100 || nearestRank(s, 99) !== 198) throw new Error();
 * ```
 */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Summarizes latencies (ms); NaN fields when there are none. */
export function summarize(samples: readonly number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    n: s.length,
    p50_ms: round(nearestRank(s, 50)),
    p99_ms: round(nearestRank(s, 99)),
    mean_ms: round(sum / s.length),
    min_ms: round(s[0] ?? NaN),
    max_ms: round(s[s.length - 1] ?? NaN),
  };
}

/** Rounds to `digits` decimals. */
export function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Milliseconds since `t0` (a `performance.now()` reading). */
export function since(t0: number): number {
  return performance.now() - t0;
}
