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
