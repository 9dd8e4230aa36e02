/**
 * The reference DDSketch the tests hold the production sketch (`src/model/bin_sketch.ts`) to:
 * DataDog's own `@datadog/sketches-js` sketch, with the one fix it needs (its `merge` forgets the
 * negative store), and an independent protobuf codec built on the code protobuf-es generates from
 * `proto/ddsketch.proto` (what sketches-go, sketches-py or sketches-java read). Test-only.
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
} from "../../src/gen/ddsketch_pb.ts";
import { DDSketch } from "@datadog/sketches-js";

/** A quantile sketch of the library. */
export type Sketch = DDSketch;

/** A new empty sketch whose quantiles are within `relativeAccuracy` of the truth. */
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
 * import { createSketch, decodeSketch, encodeSketch, quantile } from "./ddsketch.ts";
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
