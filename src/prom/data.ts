/**
 * What the evaluator reads: the series a selector matches, each with its raw samples or its aggregate
 * buckets over the time the query needs.
 *
 * @module
 */
import type { Aggregate } from "../model/aggregate.ts";
import type { Tier } from "../model/tier.ts";
import type { Matcher } from "./ast.ts";
import type { Labels } from "./labels.ts";

/** A stored series as Prometheus sees it. */
export interface SeriesRef {
  namespace: string;
  target: string;
  poller: string;
  labels: Labels;
}

/** Raw samples of a series (valid numeric samples only), ascending by time. */
export interface RawData {
  tier: "raw";
  labels: Labels;
  /** Unix ms. */
  ts: Float64Array;
  values: Float64Array;
}

/** Aggregate buckets of a series, ascending. */
export interface AggData {
  tier: Exclude<Tier, "raw">;
  labels: Labels;
  /** True when the buckets hold per-second rates of a counter, false for a gauge's values. */
  rate: boolean;
  /** Bucket end (start + width), Unix ms: the time a bucket stands at. */
  end: Float64Array;
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** The mergeable aggregates, when sketches were asked for (else empty: only the columns above are read). */
  aggs: Aggregate[];
}

/** Data of one series. */
export type SeriesData = RawData | AggData;

/** Where data comes from (the storage, or a test's memory). */
export interface DataSource {
  /** The series whose labels satisfy every matcher. */
  select(matchers: readonly Matcher[]): SeriesRef[];
  /**
   * Data of `refs` in [fromMs, toMs) from `tier` (aggregate tiers: buckets starting in the range), with
   * sketches when `sketches`. Warnings about incomplete data go to `warnings`. When `signal` aborts (the
   * query timed out), reading stops and the answer rejects with its reason.
   */
  fetch(
    refs: readonly SeriesRef[],
    fromMs: number,
    toMs: number,
    tier: Tier,
    sketches: boolean,
    warnings: string[],
    signal?: AbortSignal,
  ): Promise<SeriesData[]>;
}
