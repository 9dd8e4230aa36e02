/**
 * 5-minute buckets as columns: the streaming aggregator's slots, the closed buckets a flush takes and
 * the open state a snapshot captures all have this one shape. The columns are declared once in
 * {@link BUCKET_COLUMNS} (the key, the statistics of `STATS`, the percentile state); allocation,
 * growth, copy and selection derive from that list.
 *
 * @module
 */
import { type StatColumns, STATS } from "../model/aggregate_stats.ts";

/** Marker in `nvals`: the bucket's percentiles are in a sketch. */
export const SKETCH_MODE = 255;

/** The typed-array columns of buckets. */
export interface SlotColumns extends StatColumns {
  /** The series (head id or a flush's number); -1 marks a free slot. */
  series: Int32Array;
  /** Bucket start, Unix ms. */
  bucket: Float64Array;
  /** `VALUE_KIND_CODE` of the bucket. */
  kind: Uint8Array;
  /** Exact values kept, or {@link SKETCH_MODE}. */
  nvals: Uint8Array;
  /** `inline` exact values per bucket: bucket `i` at `values[i * inline …]`. */
  values: Float64Array;
}

/**
 * Buckets as columns. Percentile state per bucket: `nvals[i]` exact values at `values[i * inline …]`,
 * or (nvals {@link SKETCH_MODE}) encoded sketch bytes in `sketches`.
 */
export interface ClosedSlice extends SlotColumns {
  n: number;
  inline: number;
  sketches: [number, Uint8Array][];
}

type SlotArray = Int32Array | Float64Array | Uint8Array;

/** One column: its typed array, and whether it holds `inline` entries per bucket (else one). */
interface BucketColumn {
  readonly name: keyof SlotColumns;
  readonly array: { new (n: number): SlotArray; readonly BYTES_PER_ELEMENT: number };
  readonly perInline?: true;
}

/** Every column of {@link SlotColumns}, declared once. */
export const BUCKET_COLUMNS: readonly BucketColumn[] = [
  { name: "series", array: Int32Array },
  { name: "bucket", array: Float64Array },
  { name: "kind", array: Uint8Array },
  ...STATS.map((s) => ({ name: s.name, array: Float64Array })),
  { name: "nvals", array: Uint8Array },
  { name: "values", array: Float64Array, perInline: true },
];

function size(c: BucketColumn, n: number, inline: number): number {
  return c.perInline ? n * inline : n;
}

/**
 * Empty columns of `n` buckets (zeroed).
 *
 * @example
 * ```ts
 * import { allocSlice } from "./bucket_columns.ts";
 * const s = allocSlice(3, 8);
 * if (s.count.length !== 3 || s.values.length !== 24 || s.sketches.length !== 0) throw new Error();
 * ```
 */
export function allocSlice(n: number, inline: number): ClosedSlice {
  const out = { n, inline, sketches: [] } as unknown as ClosedSlice;
  const cols = out as unknown as Record<string, SlotArray>;
  for (const c of BUCKET_COLUMNS) cols[c.name] = new c.array(size(c, n, inline));
  return out;
}

/**
 * Columns of `n` buckets in shared memory, in `reuse`'s buffers where they are large enough (else in
 * new `SharedArrayBuffer`s with a quarter of headroom): a flush's cut writes its closed buckets where
 * the previous cut's were, which the encoder thread then reads in place. Contents are not cleared: the
 * caller writes every bucket, and `values` holds only `nvals[i]` meaningful entries per bucket.
 *
 * @example
 * ```ts
 * import { sharedSlice } from "./bucket_columns.ts";
 * const a = sharedSlice(100, 8, null);
 * const b = sharedSlice(90, 8, a);
 * if (b.count.buffer !== a.count.buffer || b.count.length !== 90 || !(b.count.buffer instanceof SharedArrayBuffer)) {
 *   throw new Error();
 * }
 * ```
 */
export function sharedSlice(n: number, inline: number, reuse: ClosedSlice | null): ClosedSlice {
  const out = { n, inline, sketches: [] } as unknown as ClosedSlice;
  const cols = out as unknown as Record<string, SlotArray>;
  for (const c of BUCKET_COLUMNS) {
    const length = size(c, n, inline);
    const bytes = length * c.array.BYTES_PER_ELEMENT;
    const old = reuse?.[c.name] as SlotArray | undefined;
    const buffer = old && old.buffer instanceof SharedArrayBuffer && old.buffer.byteLength >= bytes
      ? old.buffer
      : new SharedArrayBuffer((Math.ceil(length * 1.25) + 16) * c.array.BYTES_PER_ELEMENT);
    cols[c.name] = new (c.array as unknown as new (b: ArrayBufferLike, o: number, l: number) => SlotArray)(
      buffer,
      0,
      length,
    );
  }
  return out;
}

/** The columns resized to `cap` buckets (contents kept, new room zeroed; `series` -1: free). */
export function resizeColumns<T extends SlotColumns>(s: T, cap: number, inline: number): T {
  const out = { ...s } as unknown as Record<string, SlotArray>;
  const from = s.series.length;
  for (const c of BUCKET_COLUMNS) {
    const old = s[c.name];
    const next = new c.array(size(c, cap, inline));
    next.set(old.length > next.length ? old.subarray(0, next.length) : old);
    out[c.name] = next;
  }
  if (cap > from) (out.series as Int32Array).fill(-1, from);
  return out as unknown as T;
}

/**
 * Copies buckets `slots` (the first `count` of them) of `src` to buckets 0… of `dst`, column by column (every column but the
 * exact values, whose count `nvals` is copied: the caller copies the values it keeps).
 */
export function selectBuckets(
  dst: SlotColumns,
  src: SlotColumns,
  slots: ArrayLike<number>,
  count = slots.length,
): void {
  for (const c of BUCKET_COLUMNS) {
    if (c.perInline) continue;
    const from = src[c.name], to = dst[c.name];
    for (let i = 0; i < count; i++) to[i] = from[slots[i]];
  }
}
