/**
 * The mergeable aggregate of one series over one bucket: count, sum, min, max, first/last timestamp,
 * error count and a DDSketch. These form a monoid: merging two partial aggregates of the same bucket
 * gives exactly the aggregate of the union, which is what makes late samples, restarts, re-flushes and
 * compaction safe (they only ever merge).
 *
 * @module
 */
import { createSketch, mergeSketch, quantile as sketchQuantile, type Sketch } from "./sketch.ts";

/** What the numbers of an aggregate describe. On-disk codes are explicit and never reused. */
export type ValueKind = "gauge" | "rate" | "text";

/** On-disk codes of {@link ValueKind}. */
export const VALUE_KIND_CODE: Readonly<Record<ValueKind, number>> = { gauge: 1, rate: 2, text: 3 };
/** Value kinds by on-disk code. */
export const VALUE_KIND_BY_CODE: readonly (ValueKind | undefined)[] = [undefined, "gauge", "rate", "text"];

/** The quantiles every aggregate reports. */
export const QUANTILES = [0.5, 0.9, 0.95, 0.99] as const;

/**
 * A mergeable aggregate.
 *
 * @example
 * ```ts
 * import { Aggregate } from "./aggregate.ts";
 * const a = Aggregate.empty(0.01), b = Aggregate.empty(0.01);
 * a.add(1, 1000); a.add(3, 2000); b.add(-2, 1500);
 * a.merge(b);
 * if (a.count !== 3 || a.sum !== 2 || a.min !== -2 || a.firstTs !== 1000) throw new Error("merge");
 * ```
 */
export class Aggregate {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  /** Timestamp of the first sample that touched the bucket (valid or not). */
  firstTs = Infinity;
  /** Timestamp of the last sample that touched the bucket (valid or not). */
  lastTs = -Infinity;
  errorCount = 0;

  constructor(public sketch: Sketch | null) {}

  /** An empty aggregate; `accuracy` null switches percentiles off. */
  static empty(accuracy: number | null): Aggregate {
    return new Aggregate(accuracy === null ? null : createSketch(accuracy));
  }

  /** Adds one value observed at `timestampMs`. */
  add(value: number, timestampMs: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.touch(timestampMs);
    this.sketch?.accept(value);
  }

  /** Counts a failed poll. */
  addError(timestampMs: number): void {
    this.errorCount++;
    this.touch(timestampMs);
  }

  /** Records that a sample without a numeric contribution (text) touched the bucket. */
  touch(timestampMs: number): void {
    if (timestampMs < this.firstTs) this.firstTs = timestampMs;
    if (timestampMs > this.lastTs) this.lastTs = timestampMs;
  }

  /** Merges `other` into this aggregate. */
  merge(other: Aggregate): void {
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (other.firstTs < this.firstTs) this.firstTs = other.firstTs;
    if (other.lastTs > this.lastTs) this.lastTs = other.lastTs;
    this.errorCount += other.errorCount;
    if (this.sketch && other.sketch) mergeSketch(this.sketch, other.sketch);
    else if (this.sketch && !other.sketch && other.count > 0) this.sketch = null; // cannot know the union
  }

  /** The mean, or NaN without values. */
  avg(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /**
   * The value at quantile `q`, clamped to [min, max] (a bin's representative value may lie just outside);
   * NaN without values or without a sketch.
   */
  quantile(q: number): number {
    if (!this.sketch || this.count === 0) return NaN;
    const v = sketchQuantile(this.sketch, q);
    return v < this.min ? this.min : v > this.max ? this.max : v;
  }
}
