/**
 * The mergeable aggregate of one series over one bucket: count, sum, min, max, first/last timestamp,
 * error count and percentiles. These form a monoid: merging two partial aggregates of the same bucket
 * gives exactly the aggregate of the union, which is what makes late samples, restarts, re-flushes and
 * compaction safe (they only ever merge).
 *
 * Percentiles are DDSketch estimates, within the configured relative accuracy. Their state is the
 * cheapest that can answer: up to {@link EXACT_VALUES} exact values (a 5-minute bucket at 60 s polling
 * holds ~5; they answer exactly as their sketch would), or a compact sketch ({@link BinSketch}), or —
 * for a row read from a tier file — the stored sketch bytes and stored percentiles, decoded only when
 * the row is merged. An unmerged stored row passes its sketch bytes through unchanged.
 *
 * @module
 */
import { BinSketch, encodeValuesAsSketch } from "./bin_sketch.ts";
import { quantileOfValues } from "./sketch.ts";
import { copyStats, emptyStats, mergeStats, type Stats } from "./aggregate_stats.ts";

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

/** Values an open bucket of the streaming aggregator keeps inline before it builds a sketch. */
export const INLINE_VALUES = 8;

/** The statistics of an aggregate are fields of it (declared in `aggregate_stats.ts`). */
export interface Aggregate extends Stats {}

/**
 * A mergeable aggregate: the statistics of `STATS` (count, errorCount, sum, min, max, firstTs,
 * lastTs) plus the state of its percentiles.
 *
 * @example
 * ```ts
 * import { Aggregate } from "./aggregate.ts";
 * const a = Aggregate.empty(0.01), b = Aggregate.empty(0.01);
 * a.add(1, 1000); a.add(3, 2000); b.add(-2, 1500);
 * a.merge(b);
 * if (a.count !== 3 || a.sum !== 2 || a.min !== -2 || a.firstTs !== 1000) throw new Error();
 * ```
 */
export class Aggregate {
  /** The exact values, while there are few and no sketch was needed; else null. */
  values: number[] | null;
  /** The sketch, once built or decoded; else null. */
  sketch: BinSketch | null = null;
  /** Stored sketch bytes not decoded yet (a row read from a tier file). */
  private encoded: Uint8Array | null = null;
  /** Stored percentiles belonging to `encoded` (or to a sketch not read: see {@link reported}). */
  private stored: ArrayLike<number> | null = null;
  /** Read without its sketch: can be reported, not merged. */
  private detached = false;

  /** `accuracy` null switches percentiles off. */
  constructor(readonly accuracy: number | null) {
    emptyStats(this);
    this.values = accuracy === null ? null : [];
  }

  /** An empty aggregate; `accuracy` null switches percentiles off. */
  static empty(accuracy: number | null): Aggregate {
    return new Aggregate(accuracy);
  }

  /**
   * An aggregate whose percentiles are the stored ones: sketch bytes (decoded only if needed) and the
   * percentiles computed from them when they were written. Null bytes: percentiles unknown.
   */
  static stored(accuracy: number | null, bytes: Uint8Array | null, quantiles: ArrayLike<number> | null): Aggregate {
    const a = new Aggregate(accuracy);
    a.values = null;
    if (accuracy !== null && bytes) {
      a.encoded = bytes;
      a.stored = quantiles;
    }
    return a;
  }

  /**
   * A stored row read without its sketch column (queries that only report rows): its stored
   * percentiles are reported as they are; merging it throws, since the sketch it would need is not
   * here. Null `quantiles`: percentiles unknown.
   */
  static reported(accuracy: number | null, quantiles: ArrayLike<number> | null): Aggregate {
    const a = new Aggregate(accuracy);
    a.values = null;
    a.detached = true;
    if (accuracy !== null && quantiles && !Number.isNaN(quantiles[0])) a.stored = quantiles;
    return a;
  }

  /** Whether percentiles are known for the aggregate's values. */
  get hasPercentiles(): boolean {
    return this.values !== null || this.sketch !== null || this.encoded !== null || this.stored !== null;
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
    else if (this.hasPercentiles) this.materialize().add(value);
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
    if (this.detached || other.detached) throw detachedError("merge");
    const hadValues = this.count > 0;
    mergeStats(this, other);
    this.mergePercentiles(other, hadValues);
  }

  private mergePercentiles(other: Aggregate, hadValues: boolean): void {
    if (other.count === 0) return;
    if (!hadValues) {
      this.adopt(other); // nothing of ours to combine: take other's state as it is
      return;
    }
    if (!this.hasPercentiles || !other.hasPercentiles || this.accuracy === null) {
      this.forget(); // the union's percentiles cannot be known
      return;
    }
    if (other.values && this.values && this.values.length + other.values.length <= EXACT_VALUES) {
      for (const v of other.values) this.values.push(v);
      return;
    }
    const mine = this.materialize();
    if (other.values) { for (const v of other.values) mine.add(v); }
    else mine.merge(other.materialize());
  }

  private adopt(other: Aggregate): void {
    this.values = other.values ? [...other.values] : null;
    this.sketch = other.sketch ? other.sketch.clone() : null;
    this.encoded = other.encoded;
    this.stored = other.stored;
    this.detached = other.detached;
    if (this.accuracy === null) this.forget();
  }

  private forget(): void {
    this.values = null;
    this.sketch = null;
    this.encoded = null;
    this.stored = null;
  }

  /** The sketch of the aggregate's values (decoding stored bytes or building it from kept values). */
  materialize(): BinSketch {
    if (this.sketch) return this.sketch;
    if (this.detached) throw detachedError("build the sketch of");
    const accuracy = this.accuracy ?? 0.01;
    let s: BinSketch;
    if (this.encoded) s = BinSketch.decode(this.encoded, accuracy);
    else {
      s = new BinSketch(accuracy);
      for (const v of this.values ?? []) s.add(v);
    }
    this.sketch = s;
    this.values = null;
    this.encoded = null;
    this.stored = null;
    return s;
  }

  /** The mean, or NaN without values. */
  avg(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /**
   * The DDSketch estimate of quantile `q` (the value of rank ⌊q·(n−1)⌋ within the relative accuracy),
   * clamped to [min, max]. NaN without values or when percentiles are unknown.
   */
  quantile(q: number): number {
    if (this.count === 0 || this.accuracy === null) return NaN;
    let v: number;
    if (this.values !== null) v = quantileOfValues(this.values, q, this.accuracy);
    else if (this.sketch || this.encoded) v = this.materialize().quantile(q);
    else return NaN;
    return v < this.min ? this.min : v > this.max ? this.max : v;
  }

  /** The four reported quantiles (the stored ones for an unmerged stored row). */
  quantiles(out: Float64Array | number[] = new Float64Array(QUANTILES.length)): Float64Array | number[] {
    if (this.stored && (this.encoded || this.detached)) {
      for (let k = 0; k < QUANTILES.length; k++) out[k] = this.stored[k];
      return out;
    }
    for (let k = 0; k < QUANTILES.length; k++) out[k] = this.quantile(QUANTILES[k]);
    return out;
  }

  /** The DDSketch protobuf of the values (docs/format/sketch.md), or null when unknown or empty. */
  sketchBytes(): Uint8Array | null {
    if (this.count === 0 || this.accuracy === null) return null;
    if (this.detached) throw detachedError("encode the sketch of");
    if (this.encoded) return this.encoded;
    if (this.values !== null) return this.values.length > 0 ? encodeValuesAsSketch(this.values, this.accuracy) : null;
    return this.sketch ? this.sketch.encode() : null;
  }

  /** A deep copy. */
  clone(): Aggregate {
    const c = new Aggregate(this.accuracy);
    copyStats(c, this);
    c.adopt(this);
    return c;
  }
}

function detachedError(what: string): Error {
  return new Error(`Cannot ${what} an aggregate read without its sketch column (internal error: read the sketch)`);
}
