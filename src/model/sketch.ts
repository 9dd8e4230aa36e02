/**
 * Quantile sketches: DataDog's DDSketch (`@datadog/sketches-js`) with a relative-accuracy guarantee,
 * plus the one fix it needs: its `merge` forgets the negative store, which would silently drop every
 * negative value (a temperature below zero, a negative rate) from merged percentiles.
 *
 * @module
 */
import { DDSketch } from "@datadog/sketches-js";

/** A quantile sketch. */
export type Sketch = DDSketch;

/**
 * A new empty sketch whose quantiles are within `relativeAccuracy` (e.g. 0.01 = 1 %) of the truth.
 *
 * @example
 * ```ts
 * import { createSketch, quantile } from "./sketch.ts";
 * const s = createSketch(0.01);
 * for (let v = 1; v <= 100; v++) s.accept(v);
 * const p50 = quantile(s, 0.5);
 * if (Math.abs(p50 - 50) > 0.5 + 0.01 * 50) throw new Error(`p50 ${p50}`);
 * ```
 */
export function createSketch(relativeAccuracy: number): Sketch {
  return new DDSketch({ relativeAccuracy });
}

/** Merges `from` into `into` (both must have the same accuracy), negative values included. */
export function mergeSketch(into: Sketch, from: Sketch): void {
  if (from.count === 0) return;
  if (into.count === 0) {
    into.merge(from); // copies both stores
    return;
  }
  if (into.mapping.gamma !== from.mapping.gamma) {
    throw new RangeError(
      `Cannot merge sketches with different accuracy: gamma ${into.mapping.gamma} and ${from.mapping.gamma}`,
    );
  }
  into.negativeStore.merge(from.negativeStore);
  into.merge(from);
}

/** The value at quantile `q` (0..1), or NaN for an empty sketch. */
export function quantile(sketch: Sketch, q: number): number {
  return sketch.getValueAtQuantile(q);
}

/** The relative accuracy a sketch guarantees. */
export function sketchAccuracy(sketch: Sketch): number {
  return sketch.mapping.relativeAccuracy;
}

type Mapping = Sketch["mapping"];
const mappings = new Map<number, Mapping>();

/** The (cached) logarithmic mapping of a relative accuracy. */
export function mappingFor(accuracy: number): Mapping {
  let m = mappings.get(accuracy);
  if (!m) mappings.set(accuracy, m = createSketch(accuracy).mapping);
  return m;
}

/**
 * What a DDSketch holding exactly `values` would answer for quantile `q` — bit for bit the same as
 * building the sketch and calling `getValueAtQuantile`, without building it. Lets buckets that keep
 * their few values exactly report the same percentiles as their stored sketch.
 *
 * @example
 * ```ts
 * import { createSketch, quantile, quantileOfValues } from "./sketch.ts";
 * const values = [3.5, -2, 0, 17, 17, 4.25];
 * const s = createSketch(0.01);
 * values.forEach((v) => s.accept(v));
 * if (quantileOfValues(values, 0.5, 0.01) !== quantile(s, 0.5)) throw new Error();
 * ```
 */
export function quantileOfValues(values: readonly number[], q: number, accuracy: number): number {
  if (q < 0 || q > 1 || values.length === 0) return NaN;
  const m = mappingFor(accuracy);
  const pos: number[] = [];
  const neg: number[] = [];
  let zeros = 0;
  for (const v of values) {
    if (v > m.minPossible) pos.push(m.key(v));
    else if (v < -m.minPossible) neg.push(m.key(-v));
    else zeros++;
  }
  const rank = q * (values.length - 1);
  if (rank < neg.length) {
    neg.sort((a, b) => a - b);
    return -m.value(neg[Math.ceil(neg.length - rank - 1)]);
  }
  if (rank < neg.length + zeros) return 0;
  pos.sort((a, b) => a - b);
  return m.value(pos[Math.floor(rank - zeros - neg.length)]);
}
