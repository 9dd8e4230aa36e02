/**
 * Summaries of a small set of exact values: quantiles with the same rank rule as DDSketch
 * (the value at index ⌊q·(n−1)⌋ of the sorted values), and the DDSketch built from them.
 *
 * @module
 */
import { createSketch, type Sketch } from "../model/sketch.ts";

/** The value at quantile `q` of `sorted` (ascending), or NaN when empty. */
export function exactQuantile(sorted: ArrayLike<number>, n: number, q: number): number {
  return n === 0 ? NaN : sorted[Math.floor(q * (n - 1))];
}

/** A sketch holding `values[0..n)`. */
export function sketchOf(values: ArrayLike<number>, offset: number, n: number, accuracy: number): Sketch {
  const s = createSketch(accuracy);
  for (let i = 0; i < n; i++) s.accept(values[offset + i]);
  return s;
}
