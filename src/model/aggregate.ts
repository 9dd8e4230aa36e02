/**
 * The mergeable aggregate of one series over one bucket: count, sum, min, max, first/last timestamp,
 * error count and percentiles. These form a monoid: merging two partial aggregates of the same bucket
 * gives exactly the aggregate of the union, which is what makes late samples, restarts, re-flushes and
 * compaction safe (they only ever merge).
 *
 * Percentiles are DDSketch estimates, within the configured relative accuracy. An aggregate keeps up
 * to {@link EXACT_VALUES} values exactly (at 60 s polling a 5-minute bucket holds ~5, so a sketch object
 * per bucket would be waste) and builds the sketch only beyond that, or when merged with a sketched
 * aggregate; kept values answer exactly as their sketch would. The stored form is always the DDSketch
 * (`sketchBytes`).
 *
 * @module
 */
import { createSketch, mergeSketch, quantile as sketchQuantile, quantileOfValues, type Sketch } from "./sketch.ts";
import { encodeSketch, encodeValuesAsSketch } from "./sketch_codec.ts";

/** What the numbers of an aggregate describe. On-disk codes are explicit and never reused. */
export type ValueKind = "gauge" | "rate" | "text";

/** On-disk codes of {@link ValueKind}. */
export const VALUE_KIND_CODE: Readonly<Record<ValueKind, number>> = { gauge: 1, rate: 2, text: 3 };
/** Value kinds by on-disk code. */
export const VALUE_KIND_BY_CODE: readonly (ValueKind | undefined)[] = [undefined, "gauge", "rate", "text"];

/** The quantiles every aggregate reports. */
export const QUANTILES = [0.5, 0.9, 0.95, 0.99] as const;

/** Values kept exactly before an aggregate switches to a sketch. */
export const EXACT_VALUES = 16;

/**
 * A mergeable aggregate.
 *
 * @example
 * ```ts
 * import { Aggregate } from "./aggregate.ts";
 * const a = Aggregate.empty(0.01), b = Aggregate.empty(0.01);
 * a.add(1, 1000); a.add(3, 2000); b.add(-2, 1500);
 * a.merge(b);
 * if (a.count !== 3 || a.sum !== 2 || a.min !== -2 || a.firstTs !== 1000 || a.quantile(0.5) !== 1) throw new Error();
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
  /** The exact values, while there are few and no sketch was needed; else null. */
  values: number[] | null;
  /** The sketch, once materialized; else null. */
  sketch: Sketch | null = null;

  /** `accuracy` null switches percentiles off. */
  constructor(readonly accuracy: number | null) {
    this.values = accuracy === null ? null : [];
  }

  /** An empty aggregate; `accuracy` null switches percentiles off. */
  static empty(accuracy: number | null): Aggregate {
    return new Aggregate(accuracy);
  }

  /** An aggregate whose percentiles come from a decoded sketch (null: unknown). */
  static withSketch(accuracy: number | null, sketch: Sketch | null): Aggregate {
    const a = new Aggregate(accuracy);
    a.values = null;
    a.sketch = sketch;
    return a;
  }

  /** Whether percentiles are known for the aggregate's values. */
  get hasPercentiles(): boolean {
    return this.values !== null || this.sketch !== null;
  }

  /** Adds one value observed at `timestampMs`. */
  add(value: number, timestampMs: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.touch(timestampMs);
    this.keep(value);
  }

  /** Keeps a value for percentiles (exactly while there are few). */
  keep(value: number): void {
    if (this.values !== null && this.values.length < EXACT_VALUES) this.values.push(value);
    else if (this.values !== null || this.sketch !== null) this.materialize().accept(value);
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
    const hadValues = this.count > 0;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (other.firstTs < this.firstTs) this.firstTs = other.firstTs;
    if (other.lastTs > this.lastTs) this.lastTs = other.lastTs;
    this.errorCount += other.errorCount;
    this.mergePercentiles(other, hadValues);
  }

  private mergePercentiles(other: Aggregate, hadValues: boolean): void {
    if (other.count === 0) return;
    const known = this.hasPercentiles || !hadValues;
    if (!known || !other.hasPercentiles || this.accuracy === null) {
      this.values = null; // the union's percentiles cannot be known
      this.sketch = null;
      return;
    }
    if (!hadValues && !this.hasPercentiles) this.values = [];
    if (other.values && this.values && this.values.length + other.values.length <= EXACT_VALUES) {
      for (const v of other.values) this.values.push(v);
      return;
    }
    const mine = this.materialize();
    if (other.sketch) mergeSketch(mine, other.sketch);
    else for (const v of other.values!) mine.accept(v);
  }

  /** The sketch of the aggregate's values, building it from the exact values when needed. */
  materialize(): Sketch {
    if (this.sketch) return this.sketch;
    const s = createSketch(this.accuracy ?? 0.01);
    for (const v of this.values ?? []) s.accept(v);
    this.sketch = s;
    this.values = null;
    return s;
  }

  /** The mean, or NaN without values. */
  avg(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /**
   * The DDSketch estimate of quantile `q` (the value of rank ⌊q·(n−1)⌋ within the relative accuracy),
   * clamped to [min, max]. Kept values give exactly what their sketch would, so a bucket reports the
   * same percentiles in memory and once stored. NaN without values or when percentiles are unknown.
   */
  quantile(q: number): number {
    if (this.count === 0 || this.accuracy === null) return NaN;
    let v: number;
    if (this.values !== null) v = quantileOfValues(this.values, q, this.accuracy);
    else if (this.sketch) v = sketchQuantile(this.sketch, q);
    else return NaN;
    return v < this.min ? this.min : v > this.max ? this.max : v;
  }

  /** The four reported quantiles. */
  quantiles(out: Float64Array | number[] = new Float64Array(QUANTILES.length)): Float64Array | number[] {
    for (let k = 0; k < QUANTILES.length; k++) out[k] = this.quantile(QUANTILES[k]);
    return out;
  }

  /** The DDSketch protobuf of the values (docs/format/sketch.md), or null when unknown or empty. */
  sketchBytes(): Uint8Array | null {
    if (this.count === 0 || this.accuracy === null) return null;
    if (this.values !== null) return this.values.length > 0 ? encodeValuesAsSketch(this.values, this.accuracy) : null;
    return this.sketch ? encodeSketch(this.sketch) : null;
  }

  /** A deep copy. */
  clone(): Aggregate {
    const c = new Aggregate(this.accuracy);
    c.merge(this);
    if (this.count === 0) c.values = this.values ? [...this.values] : null;
    return c;
  }
}
