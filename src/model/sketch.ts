/**
 * The DDSketch rules every sketch here follows: the logarithmic mapping of DataDog's DDSketch
 * (`@datadog/sketches-js`, the accuracy-critical part, taken from the library) and its rank rule for
 * quantiles, applied to a handful of exact values without building a sketch. The sketch itself and
 * its one codec are {@link BinSketch} (`bin_sketch.ts`).
 *
 * @module
 */
import { DDSketch } from "@datadog/sketches-js";

type Mapping = DDSketch["mapping"];
const mappings = new Map<number, Mapping>();

/** The (cached) logarithmic mapping of a relative accuracy. */
export function mappingFor(accuracy: number): Mapping {
  let m = mappings.get(accuracy);
  if (!m) mappings.set(accuracy, m = new DDSketch({ relativeAccuracy: accuracy }).mapping);
  return m;
}

/**
 * What a DDSketch holding exactly `values` would answer for quantile `q` — bit for bit the same as
 * building the sketch and asking its quantile, without building it. Lets buckets that keep
 * their few values exactly report the same percentiles as their stored sketch.
 *
 * @example
 * ```ts
 * import { BinSketch } from "./bin_sketch.ts";
 * import { quantileOfValues } from "./sketch.ts";
 * const values = [3.5, -2, 0, 17, 17, 4.25];
 * const s = new BinSketch(0.01);
 * values.forEach((v) => s.add(v));
 * if (quantileOfValues(values, 0.5, 0.01) !== s.quantile(0.5)) throw new Error();
 * ```
 */
export function quantileOfValues(values: readonly number[], q: number, accuracy: number): number {
  if (q < 0 || q > 1 || values.length === 0) return NaN;
  const m = mappingFor(accuracy);
  const keys = valueKeys(values, 0, values.length, m);
  keys.pos.sort((a, b) => a - b);
  keys.neg.sort((a, b) => a - b);
  return valueAtRank(keys, q * (values.length - 1), m);
}

/** The bins of some values, one key per value (unsorted), and the values too close to zero. */
export interface ValueKeys {
  pos: number[];
  neg: number[];
  zeros: number;
}

/** The keys of `values[offset, offset + n)` under mapping `m`. */
export function valueKeys(values: ArrayLike<number>, offset: number, n: number, m: Mapping): ValueKeys {
  const pos: number[] = [];
  const neg: number[] = [];
  let zeros = 0;
  for (let i = offset; i < offset + n; i++) {
    const v = values[i];
    if (v > m.minPossible) pos.push(m.key(v));
    else if (v < -m.minPossible) neg.push(m.key(-v));
    else zeros++;
  }
  return { pos, neg, zeros };
}

/** DDSketch's value at `rank` of sorted keys (one count per key). */
export function valueAtRank(k: ValueKeys, rank: number, m: Mapping): number {
  const { pos, neg, zeros } = k;
  if (rank < neg.length) return -m.value(neg[Math.ceil(neg.length - rank - 1)]);
  if (rank < neg.length + zeros) return 0;
  return m.value(pos[Math.floor(rank - zeros - neg.length)]);
}
