/**
 * Copying typed arrays into memory that is reused from one copy to the next.
 *
 * A flush copies the head's open state (tens of MB at 100,000 series) at its cut, while ingest waits.
 * Copying into fresh memory pays a page fault per 4 KiB on first touch, which in a virtual machine
 * made the copy ten times slower than the copy itself (32 MiB: 140 ms fresh, 10 ms reused); the
 * previous flush's copy is done with by the next flush, so its buffers are reused.
 *
 * The buffers are `SharedArrayBuffer`s: the flush encoder thread reads the copy where it is (a
 * structured clone of typed arrays into a worker's message costs about 40 ms per MB on Bun, and a
 * transfer would take the buffer away from the next copy).
 *
 * @module
 */

/** A typed array type with its constructor. */
type Typed = Float64Array | Int32Array | Uint8Array;
type Ctor<T extends Typed> = { new (buffer: ArrayBuffer, offset: number, length: number): T; new (length: number): T };

/**
 * The first `length` elements of `src`, copied into `spare`'s buffer when it is big enough (else into
 * a new shared buffer with a quarter of headroom). The result is a view of exactly `length` elements.
 *
 * @example
 * ```ts
 * import { copyReusing } from "./typed.ts";
 * const a = copyReusing(new Float64Array([1, 2, 3]), 2, null);
 * const b = copyReusing(new Float64Array([4, 5]), 2, a);
 * if (b.buffer !== a.buffer || b[1] !== 5 || b.length !== 2) throw new Error();
 * if (!(a.buffer instanceof SharedArrayBuffer)) throw new Error();
 * ```
 */
export function copyReusing<T extends Typed>(src: T, length: number, spare: T | null): T {
  const ctor = src.constructor as Ctor<T>;
  const bytes = length * src.BYTES_PER_ELEMENT;
  const buffer = spare && spare.buffer.byteLength >= bytes
    ? spare.buffer as ArrayBuffer
    : new SharedArrayBuffer((Math.ceil(length * 1.25) + 16) * src.BYTES_PER_ELEMENT) as unknown as ArrayBuffer;
  const out = new ctor(buffer, 0, length);
  out.set(src.subarray(0, length) as never);
  return out;
}
