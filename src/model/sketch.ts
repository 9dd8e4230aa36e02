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
  return new ValueKeys().of(values, 0, values.length, m).atRank(q * (values.length - 1), m);
}

/** Above this many keys a side is sorted natively instead of by insertion. */
const INSERTION_MAX = 32;

/**
 * The bins of some values, one key per value, each side sorted ascending, and the count of values
 * too close to zero: what a DDSketch of exactly those values holds. Reusable: {@link of} refills it
 * without allocating (a flush computes it for every bucket it writes).
 */
export class ValueKeys {
  pos = new Int32Array(16);
  neg = new Int32Array(16);
  npos = 0;
  nneg = 0;
  zeros = 0;

  /** Fills with the keys of `values[offset, offset + n)` under mapping `m`. */
  of(values: ArrayLike<number>, offset: number, n: number, m: Mapping): this {
    if (this.pos.length < n) {
      this.pos = new Int32Array(2 * n);
      this.neg = new Int32Array(2 * n);
    }
    const { pos, neg } = this;
    const lim = m.minPossible;
    let np = 0, nn = 0, zeros = 0;
    for (let i = offset; i < offset + n; i++) {
      const v = values[i];
      if (v > lim) pos[np++] = m.key(v);
      else if (v < -lim) neg[nn++] = m.key(-v);
      else zeros++;
    }
    sortKeys(pos, np);
    sortKeys(neg, nn);
    this.npos = np;
    this.nneg = nn;
    this.zeros = zeros;
    return this;
  }

  /** DDSketch's value at `rank` (one count per key). */
  atRank(rank: number, m: Mapping): number {
    const { nneg, zeros } = this;
    if (rank < nneg) return -m.value(this.neg[Math.ceil(nneg - rank - 1)]);
    if (rank < nneg + zeros) return 0;
    return m.value(this.pos[Math.floor(rank - zeros - nneg)]);
  }
}

function sortKeys(keys: Int32Array, n: number): void {
  if (n > INSERTION_MAX) {
    keys.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const k = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > k) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = k;
  }
}
