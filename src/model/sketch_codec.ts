/**
 * Encodes sketches as DataDog's DDSketch protobuf (`proto/ddsketch.proto`), so that sketches stored by
 * stalker-storage can be decoded by sketches-go, sketches-py or sketches-java. The format is described
 * in `docs/format/sketch.md`.
 *
 * Each store is written in whichever of the two encodings of the protobuf is smaller: contiguous
 * (8 bytes per bin between the lowest and highest non-empty bin) or sparse (about 13 bytes per
 * non-empty bin). A bucket of five polls usually has five scattered bins, where sparse wins.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  DDSketchSchema,
  IndexMapping_Interpolation,
  IndexMappingSchema,
  type Store,
  StoreSchema,
} from "../gen/ddsketch_pb.ts";
import { ByteWriter } from "./bytes.ts";
import { writeStore } from "./bin_sketch.ts";
import { createSketch, mappingFor, type Sketch } from "./sketch.ts";

interface DenseLike {
  bins: number[];
  count: number;
  minKey: number;
  maxKey: number;
  offset: number;
  add(key: number, weight?: number): void;
}

/**
 * Encodes a sketch to DDSketch protobuf bytes.
 *
 * @example
 * ```ts
 * import { createSketch, quantile } from "./sketch.ts";
 * import { decodeSketch, encodeSketch } from "./sketch_codec.ts";
 * const s = createSketch(0.01);
 * [3, 5, -2, 0].forEach((v) => s.accept(v));
 * const back = decodeSketch(encodeSketch(s), 0.01);
 * if (back.count !== 4 || quantile(back, 1) !== quantile(s, 1)) throw new Error("round trip");
 * ```
 */
export function encodeSketch(sketch: Sketch): Uint8Array {
  const message = create(DDSketchSchema, {
    mapping: create(IndexMappingSchema, {
      gamma: sketch.mapping.gamma,
      indexOffset: 0,
      interpolation: IndexMapping_Interpolation.NONE,
    }),
    positiveValues: encodeStore(sketch.store as unknown as DenseLike),
    negativeValues: encodeStore(sketch.negativeStore as unknown as DenseLike),
    zeroCount: sketch.zeroCount,
  });
  return toBinary(DDSketchSchema, message);
}

/**
 * Decodes DDSketch protobuf bytes. When the encoded gamma matches `relativeAccuracy` (up to float
 * rounding), the sketch uses exactly that accuracy, so it merges with locally created sketches.
 */
export function decodeSketch(bytes: Uint8Array, relativeAccuracy?: number): Sketch {
  const message = fromBinary(DDSketchSchema, bytes);
  const mapping = message.mapping;
  if (!mapping || !(mapping.gamma > 1)) throw new RangeError("Cannot decode sketch: mapping gamma missing or <= 1");
  if (mapping.interpolation !== IndexMapping_Interpolation.NONE) {
    throw new RangeError(`Cannot decode sketch: interpolation ${mapping.interpolation} is not supported`);
  }
  const encodedAccuracy = (mapping.gamma - 1) / (mapping.gamma + 1);
  const accuracy = relativeAccuracy !== undefined && Math.abs(encodedAccuracy - relativeAccuracy) < 1e-9
    ? relativeAccuracy
    : encodedAccuracy;
  const sketch = createSketch(accuracy);
  if (mapping.indexOffset !== 0) {
    const Mapping = sketch.mapping.constructor as new (accuracy: number, offset: number) => Sketch["mapping"];
    sketch.mapping = new Mapping(accuracy, mapping.indexOffset);
  }
  decodeStore(message.positiveValues, sketch.store as unknown as DenseLike);
  decodeStore(message.negativeValues, sketch.negativeStore as unknown as DenseLike);
  sketch.zeroCount = message.zeroCount;
  sketch.count = sketch.zeroCount + sketch.store.count + sketch.negativeStore.count;
  return sketch;
}

function encodeStore(store: DenseLike): Store | undefined {
  if (store.count === 0) return undefined;
  const nonEmpty: number[] = [];
  for (let key = store.minKey; key <= store.maxKey; key++) {
    if (store.bins[key - store.offset] > 0) nonEmpty.push(key);
  }
  const contiguousBytes = (store.maxKey - store.minKey + 1) * 8 + 6;
  const sparseBytes = nonEmpty.length * 14;
  if (contiguousBytes <= sparseBytes) {
    const counts = store.bins.slice(store.minKey - store.offset, store.maxKey - store.offset + 1);
    return create(StoreSchema, { contiguousBinCounts: counts, contiguousBinIndexOffset: store.minKey });
  }
  const binCounts: Record<number, number> = {};
  for (const key of nonEmpty) binCounts[key] = store.bins[key - store.offset];
  return create(StoreSchema, { binCounts });
}

function decodeStore(message: Store | undefined, store: DenseLike): void {
  if (!message) return;
  for (const [key, count] of Object.entries(message.binCounts)) {
    if (count > 0) store.add(Number(key), count);
  }
  const counts = message.contiguousBinCounts;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0) store.add(message.contiguousBinIndexOffset + i, counts[i]);
  }
}

const scratch = new ByteWriter(256);

/**
 * The four percentiles (as a DDSketch of exactly these values would answer, clamped to [min, max])
 * and the sketch's protobuf, of `values[offset, offset + n)` — keys computed once. The flush's hot path.
 */
export function summarizeValues(
  values: ArrayLike<number>,
  offset: number,
  n: number,
  accuracy: number,
  quantiles: readonly number[],
  out: Float64Array,
): Uint8Array {
  const m = mappingFor(accuracy);
  const pos: number[] = [];
  const neg: number[] = [];
  let zeros = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = offset; i < offset + n; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (v > m.minPossible) pos.push(m.key(v));
    else if (v < -m.minPossible) neg.push(m.key(-v));
    else zeros++;
  }
  pos.sort((a, b) => a - b);
  neg.sort((a, b) => a - b);
  for (let k = 0; k < quantiles.length; k++) {
    const rank = quantiles[k] * (n - 1);
    let v: number;
    if (rank < neg.length) v = -m.value(neg[Math.ceil(neg.length - rank - 1)]);
    else if (rank < neg.length + zeros) v = 0;
    else v = m.value(pos[Math.floor(rank - zeros - neg.length)]);
    out[k] = v < min ? min : v > max ? max : v;
  }
  return encodeKeys(m.gamma, pos, neg, zeros);
}

/**
 * Encodes a handful of exact values as a DDSketch protobuf without building a sketch object: the
 * same bins (the library's own mapping computes the keys), written directly. This is the flush's hot
 * path: a 5-minute bucket of five polls costs a few hundred nanoseconds instead of tens of
 * microseconds.
 *
 * @example
 * ```ts
 * import { decodeSketch, encodeValuesAsSketch } from "./sketch_codec.ts";
 * const s = decodeSketch(encodeValuesAsSketch([1, 2, 3, -4, 0], 0.01), 0.01);
 * if (s.count !== 5 || s.zeroCount !== 1) throw new Error();
 * ```
 */
export function encodeValuesAsSketch(values: readonly number[], accuracy: number): Uint8Array {
  const mapping = mappingFor(accuracy);
  const pos: number[] = [];
  const neg: number[] = [];
  let zeros = 0;
  for (const v of values) {
    if (v > mapping.minPossible) pos.push(mapping.key(v));
    else if (v < -mapping.minPossible) neg.push(mapping.key(-v));
    else zeros++;
  }
  return encodeKeys(mapping.gamma, pos, neg, zeros);
}

/** The DDSketch protobuf of positive and negative keys (one count each) and a zero count. */
function encodeKeys(gamma: number, pos: number[], neg: number[], zeros: number): Uint8Array {
  const w = scratch;
  w.reset();
  w.u8(0x0a); // mapping
  w.u8(9);
  w.u8(0x09); // gamma (indexOffset 0 and interpolation NONE are proto3 defaults, not written)
  w.f64(gamma);
  writeKeys(w, 0x12, pos);
  writeKeys(w, 0x1a, neg);
  if (zeros > 0) {
    w.u8(0x21);
    w.f64(zeros);
  }
  return w.bytes().slice();
}

/** Writes a Store of `keys` (one count each, any order) as field `tag`. */
function writeKeys(w: ByteWriter, tag: number, keys: number[]): void {
  if (keys.length === 0) return;
  keys.sort((a, b) => a - b);
  const distinct: number[] = [];
  const counts: number[] = [];
  for (const k of keys) {
    if (distinct.length > 0 && distinct[distinct.length - 1] === k) counts[counts.length - 1]++;
    else {
      distinct.push(k);
      counts.push(1);
    }
  }
  writeStore(w, tag, distinct, counts);
}
