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

/** Bit of `kind` marking a slot sealed by a flush's cut: no sample reaches it any more. */
export const SEALED = 0x80;

/**
 * Buckets a flush's cut sealed in the aggregator's own columns instead of copying them out at once:
 * until they are copied out (`Aggregator.takeSealed`, a slice at a time) no sample or restore writes
 * them (a late sample opens a new slot) and no other bucket takes their slots. Their `kind` carries
 * {@link SEALED}.
 */
export interface SealedBuckets {
  /** Buckets sealed. */
  n: number;
  inline: number;
  /** The aggregator's columns at the cut (a later growth copies them; the sealed slots stay as they are). */
  cols: SlotColumns;
  /** The sealed slots (the first `n`), in slot order. */
  slots: Int32Array;
  /** Encoded sketches of the sealed buckets that hold one: [index into `slots`, bytes]. */
  sketches: [number, Uint8Array][];
}

/**
 * Copies sealed buckets out into columns of their own (`reuse`'s memory when large enough, else
 * new), `kind` without the {@link SEALED} bit: what the encoder thread does with a cut. Slots that
 * follow each other are copied as ranges.
 *
 * @example
 * ```ts
 * import { allocSlice, gatherSealed, resizeColumns, SEALED } from "./bucket_columns.ts";
 * const cols = resizeColumns(allocSlice(0, 2), 4, 2);
 * cols.series.set([7, 8, 9, 10]);
 * cols.kind[2] = 1 | SEALED;
 * const slots = Int32Array.of(2);
 * const out = gatherSealed({ n: 1, inline: 2, cols, slots, sketches: [] }, null);
 * if (out.n !== 1 || out.series[0] !== 9 || out.kind[0] !== 1) throw new Error();
 * ```
 */
export function gatherSealed(sealed: SealedBuckets, reuse: ClosedSlice | null): ClosedSlice {
  const { n, inline } = sealed;
  const room = reuse && reuse.inline === inline ? reuse.series.buffer.byteLength / 4 : -1;
  const out = sliceView(room >= n ? reuse! : allocSlice(Math.ceil(n * 1.25) + 16, inline), n);
  out.sketches = sealed.sketches;
  copySlots(out, sealed.cols, sealed.slots, n, inline);
  const kind = out.kind;
  for (let i = 0; i < n; i++) kind[i] &= ~SEALED;
  return out;
}

/** The first `n` buckets of the buffers under `s`'s columns, as a slice (views, no copy). */
function sliceView(s: ClosedSlice, n: number): ClosedSlice {
  const out = { n, inline: s.inline, sketches: [] } as unknown as ClosedSlice;
  const cols = out as unknown as Record<string, SlotArray>;
  for (const c of BUCKET_COLUMNS) {
    const View = c.array as unknown as new (b: ArrayBufferLike, o: number, l: number) => SlotArray;
    cols[c.name] = new View((s[c.name] as SlotArray).buffer, 0, size(c, n, s.inline));
  }
  return out;
}

/** Runs of consecutive slots shorter than this are copied element by element (a view costs more). */
const MIN_RUN = 16;

/**
 * Copies buckets `slots` (the first `count`) of `src` to buckets `at`… of `dst`, every column, the
 * exact values as whole `inline` blocks (only `nvals` of each are meaningful). Consecutive slots are
 * copied as ranges (`TypedArray.set`: a memcpy, fast even before the JIT has compiled this): the
 * aggregator hands out freed slots back in order, so a steady flush's open or closed buckets lie in a
 * few long runs.
 */
export function copySlots(
  dst: SlotColumns,
  src: SlotColumns,
  slots: ArrayLike<number>,
  count: number,
  inline: number,
  at = 0,
): void {
  const runs: number[] = []; // (first index, first slot, length) triples
  for (let i = 0; i < count;) {
    const first = slots[i];
    let j = i + 1;
    while (j < count && slots[j] === first + (j - i)) j++;
    runs.push(at + i, first, j - i);
    i = j;
  }
  for (const c of BUCKET_COLUMNS) {
    const from = src[c.name], to = dst[c.name];
    const w = c.perInline ? inline : 1;
    for (let r = 0; r < runs.length; r += 3) {
      const dst = runs[r] * w, start = runs[r + 1] * w, len = runs[r + 2] * w;
      if (runs[r + 2] >= MIN_RUN) to.set(from.subarray(start, start + len), dst);
      else for (let k = 0; k < len; k++) to[dst + k] = from[start + k];
    }
  }
}
