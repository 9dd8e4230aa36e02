/**
 * The one DDSketch of the code and its one codec (docs/format/sketch.md). A compact DDSketch: the bins of `@datadog/sketches-js`'s logarithmic mapping kept as sorted sparse
 * arrays, instead of the library's dense stores. The library's sketch object costs about 2 KB and ~10
 * µs to decode and query even for five values, and a flush or a rollup handles hundreds of thousands of
 * them; this one costs a few dozen bytes and a microsecond. The mapping (the accuracy-critical part) is
 * the library's own, and the tests check that quantiles and merges agree with the library's sketch
 * exactly.
 *
 * @module
 */
import { ByteReader, ByteWriter, DecodeError } from "./bytes.ts";
import { mappingFor, ValueKeys } from "./sketch.ts";

/**
 * The sketch.
 *
 * @example
 * ```ts
 * import { BinSketch } from "./bin_sketch.ts";
 * const a = new BinSketch(0.01), b = new BinSketch(0.01);
 * [1, 2, 3].forEach((v) => a.add(v));
 * [-5, 0].forEach((v) => b.add(v));
 * a.merge(b);
 * const back = BinSketch.decode(a.encode(), 0.01);
 * if (back.count !== 5 || back.quantile(0) !== a.quantile(0)) throw new Error();
 * ```
 */
export class BinSketch {
  posKeys: number[] = [];
  posCounts: number[] = [];
  negKeys: number[] = [];
  negCounts: number[] = [];
  zero = 0;
  count = 0;

  constructor(readonly accuracy: number) {}

  /** Adds a value with a weight (default 1). */
  add(v: number, weight = 1): void {
    const m = mappingFor(this.accuracy);
    if (v > m.minPossible) addBin(this.posKeys, this.posCounts, m.key(v), weight);
    else if (v < -m.minPossible) addBin(this.negKeys, this.negCounts, m.key(-v), weight);
    else this.zero += weight;
    this.count += weight;
  }

  /** Merges `other` (same accuracy) into this sketch. */
  merge(other: BinSketch): void {
    if (other.accuracy !== this.accuracy) {
      throw new RangeError(`Cannot merge sketches of accuracy ${this.accuracy} and ${other.accuracy}`);
    }
    [this.posKeys, this.posCounts] = mergeBins(this.posKeys, this.posCounts, other.posKeys, other.posCounts);
    [this.negKeys, this.negCounts] = mergeBins(this.negKeys, this.negCounts, other.negKeys, other.negCounts);
    this.zero += other.zero;
    this.count += other.count;
  }

  /** A copy. */
  clone(): BinSketch {
    const c = new BinSketch(this.accuracy);
    c.posKeys = this.posKeys.slice();
    c.posCounts = this.posCounts.slice();
    c.negKeys = this.negKeys.slice();
    c.negCounts = this.negCounts.slice();
    c.zero = this.zero;
    c.count = this.count;
    return c;
  }

  /** The value at quantile `q`, by DDSketch's rule (same answer as the library's sketch). */
  quantile(q: number): number {
    if (q < 0 || q > 1 || this.count === 0) return NaN;
    const m = mappingFor(this.accuracy);
    const rank = q * (this.count - 1);
    const negCount = this.count - this.zero - sum(this.posCounts);
    if (rank < negCount) {
      // the library walks the negative store upwards with lower=false at the reversed rank
      const reversed = negCount - rank - 1;
      let running = 0;
      for (let i = 0; i < this.negKeys.length; i++) {
        running += this.negCounts[i];
        if (running >= reversed + 1) return -m.value(this.negKeys[i]);
      }
      return -m.value(this.negKeys[this.negKeys.length - 1]);
    }
    if (rank < negCount + this.zero) return 0;
    const r = rank - this.zero - negCount;
    let running = 0;
    for (let i = 0; i < this.posKeys.length; i++) {
      running += this.posCounts[i];
      if (running > r) return m.value(this.posKeys[i]);
    }
    return m.value(this.posKeys[this.posKeys.length - 1]);
  }

  /** DataDog's DDSketch protobuf (docs/format/sketch.md). */
  encode(): Uint8Array {
    const w = new ByteWriter(32 + 14 * (this.posKeys.length + this.negKeys.length));
    writeSketch(
      w,
      mappingFor(this.accuracy).gamma,
      { keys: this.posKeys, counts: this.posCounts, length: this.posKeys.length },
      { keys: this.negKeys, counts: this.negCounts, length: this.negKeys.length },
      this.zero,
    );
    return w.bytes().slice();
  }

  /**
   * Decodes a DDSketch protobuf written with the logarithmic mapping of `accuracy` (index offset 0, no
   * interpolation) — what stalker-storage writes. Throws `DecodeError` on anything else.
   */
  static decode(bytes: Uint8Array, accuracy: number): BinSketch {
    const s = new BinSketch(accuracy);
    const r = new ByteReader(bytes);
    let gamma = NaN;
    while (r.remaining > 0) {
      const tag = r.varint();
      if (tag === 0x0a) gamma = readMapping(r);
      else if (tag === 0x12) readStore(r, s.posKeys, s.posCounts);
      else if (tag === 0x1a) readStore(r, s.negKeys, s.negCounts);
      else if (tag === 0x21) s.zero += r.f64();
      else skipField(r, tag);
    }
    const expected = mappingFor(accuracy).gamma;
    if (!(Math.abs(gamma - expected) <= 1e-12 * expected)) {
      throw new DecodeError(`sketch gamma ${gamma} does not match accuracy ${accuracy} (gamma ${expected})`, 0);
    }
    s.count = s.zero + sum(s.posCounts) + sum(s.negCounts);
    return s;
  }
}

function sum(xs: readonly number[]): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}

function addBin(keys: number[], counts: number[], key: number, weight: number): void {
  let lo = 0;
  let hi = keys.length;
  if (hi > 0 && keys[hi - 1] < key) lo = hi;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  if (keys[lo] === key) counts[lo] += weight;
  else {
    keys.splice(lo, 0, key);
    counts.splice(lo, 0, weight);
  }
}

function mergeBins(ak: number[], ac: number[], bk: number[], bc: number[]): [number[], number[]] {
  if (bk.length === 0) return [ak, ac];
  if (ak.length === 0) return [bk.slice(), bc.slice()];
  const keys: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < ak.length || j < bk.length) {
    if (j >= bk.length || (i < ak.length && ak[i] < bk[j])) {
      keys.push(ak[i]);
      counts.push(ac[i++]);
    } else if (i >= ak.length || bk[j] < ak[i]) {
      keys.push(bk[j]);
      counts.push(bc[j++]);
    } else {
      keys.push(ak[i]);
      counts.push(ac[i++] + bc[j++]);
    }
  }
  return [keys, counts];
}

/** Writes a whole DDSketch message: mapping (gamma only), the two stores, the zero count. */
function writeSketch(
  w: ByteWriter,
  gamma: number,
  pos: Bins,
  neg: Bins,
  zero: number,
): void {
  w.u8(0x0a); // mapping: gamma only (indexOffset 0 and interpolation NONE are proto3 defaults)
  w.u8(9);
  w.u8(0x09);
  w.f64(gamma);
  writeStore(w, 0x12, pos);
  writeStore(w, 0x1a, neg);
  if (zero > 0) {
    w.u8(0x21);
    w.f64(zero);
  }
}

/** Sorted distinct keys and their counts: the first `length` of each. */
interface Bins {
  keys: ArrayLike<number>;
  counts: ArrayLike<number>;
  length: number;
}

/** Scratch for a store's body (its length precedes it): one allocation instead of one per store. */
const storeBody = new ByteWriter(1024);

/** Writes a Store of `bins` as field `tag`: contiguous or sparse, whichever is smaller. */
function writeStore(w: ByteWriter, tag: number, { keys, counts, length }: Bins): void {
  if (length === 0) return;
  const lo = keys[0];
  const span = keys[length - 1] - lo + 1;
  const body = storeBody; // written into `w` below before anything else can use it
  body.reset();
  if (span * 8 + 6 <= length * 14) {
    body.u8(0x12); // contiguousBinCounts, packed doubles
    body.varint(span * 8);
    let j = 0;
    for (let k = lo; k < lo + span; k++) body.f64(keys[j] === k ? counts[j++] : 0);
    if (lo !== 0) {
      body.u8(0x18); // contiguousBinIndexOffset, sint32
      body.zigzag(lo);
    }
  } else {
    for (let j = 0; j < length; j++) {
      body.u8(0x0a); // binCounts map entry: key (sint32) and count (double)
      body.u8(zigzagLength(keys[j]) + 10);
      body.u8(0x08);
      body.zigzag(keys[j]);
      body.u8(0x11);
      body.f64(counts[j]);
    }
  }
  w.u8(tag);
  w.varint(body.pos);
  w.raw(body.bytes());
}

function zigzagLength(v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

function readMapping(r: ByteReader): number {
  const length = r.varint(); // read first: `r.pos + r.varint()` would take pos before the length
  const end = r.pos + length;
  let gamma = NaN;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x09) gamma = r.f64();
    else if (tag === 0x11) {
      if (r.f64() !== 0) throw new DecodeError("sketch index offset is not 0", r.pos);
    } else if (tag === 0x18) {
      if (r.varint() !== 0) throw new DecodeError("sketch mapping is interpolated, not logarithmic", r.pos);
    } else skipField(r, tag);
  }
  return gamma;
}

function readStore(r: ByteReader, keys: number[], counts: number[]): void {
  const length = r.varint(); // read first: `r.pos + r.varint()` would take pos before the length
  const end = r.pos + length;
  let contiguous: number[] = [];
  let offset = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x0a) {
      const entryLength = r.varint();
      const entryEnd = r.pos + entryLength;
      let key = 0;
      let count = 0;
      while (r.pos < entryEnd) {
        const t = r.varint();
        if (t === 0x08) key = r.zigzag();
        else if (t === 0x11) count = r.f64();
        else skipField(r, t);
      }
      if (count > 0) addBin(keys, counts, key, count);
    } else if (tag === 0x12) {
      const n = r.varint() / 8;
      contiguous = [];
      for (let k = 0; k < n; k++) contiguous.push(r.f64());
    } else if (tag === 0x11) contiguous.push(r.f64()); // unpacked repeated double
    else if (tag === 0x18) offset = r.zigzag();
    else skipField(r, tag);
  }
  contiguous.forEach((c, k) => {
    if (c > 0) addBin(keys, counts, offset + k, c);
  });
}

function skipField(r: ByteReader, tag: number): void {
  switch (tag & 7) {
    case 0:
      r.varint64();
      return;
    case 1:
      r.raw(8);
      return;
    case 2:
      r.raw(r.varint());
      return;
    case 5:
      r.raw(4);
      return;
    default:
      throw new DecodeError(`unsupported protobuf wire type ${tag & 7}`, r.pos);
  }
}

const scratch = new ByteWriter(256);
/** The keys of the bucket being summarized, and its distinct keys: reused for every bucket. */
const scratchKeys = new ValueKeys();
const posBins = { keys: new Int32Array(16), counts: new Float64Array(16), length: 0 };
const negBins = { keys: new Int32Array(16), counts: new Float64Array(16), length: 0 };

/**
 * The four percentiles (as a DDSketch of exactly these values would answer, clamped to [min, max])
 * and the sketch's protobuf, of `values[offset, offset + n)` — keys computed once, nothing allocated
 * but the returned bytes. The flush's hot path.
 */
export function summarizeValues(
  values: ArrayLike<number>,
  offset: number,
  n: number,
  accuracy: number,
  quantiles: readonly number[],
  out: Float64Array,
): Uint8Array {
  scratch.reset();
  summarizeValuesTo(scratch, values, offset, n, accuracy, quantiles, out);
  return scratch.bytes().slice();
}

/**
 * {@link summarizeValues} appending the sketch's protobuf to `into` instead of returning a copy: the
 * flush writes a batch's sketches one after the other into one buffer (a new array per bucket was
 * a tenth of the flush encoder's time on Bun, its collections included).
 */
export function summarizeValuesTo(
  into: ByteWriter,
  values: ArrayLike<number>,
  offset: number,
  n: number,
  accuracy: number,
  quantiles: readonly number[],
  out: Float64Array,
): void {
  const m = mappingFor(accuracy);
  const k = quantilesOf(values, offset, n, m, quantiles, out);
  writeSketch(into, m.gamma, runsOf(k.pos, k.npos, posBins), runsOf(k.neg, k.nneg, negBins), k.zeros);
}

/** The sorted keys of `values[offset, offset + n)`, with their quantiles (clamped to [min, max]) in `out`. */
function quantilesOf(
  values: ArrayLike<number>,
  offset: number,
  n: number,
  m: ReturnType<typeof mappingFor>,
  quantiles: readonly number[],
  out: Float64Array,
): ValueKeys {
  let min = Infinity;
  let max = -Infinity;
  for (let i = offset; i < offset + n; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  const keys = scratchKeys.of(values, offset, n, m);
  for (let k = 0; k < quantiles.length; k++) {
    const v = keys.atRank(quantiles[k] * (n - 1), m);
    out[k] = v < min ? min : v > max ? max : v;
  }
  return keys;
}

/**
 * Encodes a handful of exact values as a DDSketch protobuf without building a sketch object: the
 * same bins, written directly. A 5-minute bucket of five polls costs a few hundred nanoseconds.
 *
 * @example
 * ```ts
 * import { BinSketch, encodeValuesAsSketch } from "./bin_sketch.ts";
 * const s = BinSketch.decode(encodeValuesAsSketch([1, 2, 3, -4, 0], 0.01), 0.01);
 * if (s.count !== 5 || s.zero !== 1) throw new Error();
 * ```
 */
export function encodeValuesAsSketch(values: readonly number[], accuracy: number): Uint8Array {
  const m = mappingFor(accuracy);
  return encodeKeys(m.gamma, scratchKeys.of(values, 0, values.length, m));
}

/** The DDSketch protobuf of sorted keys (one count each) and a zero count. */
function encodeKeys(gamma: number, k: ValueKeys): Uint8Array {
  const w = scratch;
  w.reset();
  writeSketch(w, gamma, runsOf(k.pos, k.npos, posBins), runsOf(k.neg, k.nneg, negBins), k.zeros);
  return w.bytes().slice();
}

/** Fills `bins` with the distinct keys of sorted `keys[0, n)` and how often each occurs. */
function runsOf(
  keys: Int32Array,
  n: number,
  bins: { keys: Int32Array; counts: Float64Array; length: number },
): Bins {
  if (bins.keys.length < n) {
    bins.keys = new Int32Array(2 * n);
    bins.counts = new Float64Array(2 * n);
  }
  let d = 0;
  for (let i = 0; i < n; i++) {
    if (d > 0 && bins.keys[d - 1] === keys[i]) bins.counts[d - 1]++;
    else {
      bins.keys[d] = keys[i];
      bins.counts[d++] = 1;
    }
  }
  bins.length = d;
  return bins;
}
