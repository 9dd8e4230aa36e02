/**
 * Little-endian binary encoding helpers shared by the WAL and snapshot formats: a growable
 * {@link ByteWriter} and a bounds-checked {@link ByteReader}, with LEB128 varints (unsigned, and
 * zigzag for signed) that are exact up to 2^53 as numbers and up to 2^64 as bigints.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const TWO_POW_32 = 4_294_967_296;

/** Thrown when a reader runs past its end or meets an impossible value. */
export class DecodeError extends RangeError {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = "DecodeError";
  }
}

/**
 * Writes the unsigned varint of a non-negative integer ≤ 2^53 at `buf[p]` (at most 10 bytes, room
 * checked by the caller) and returns the position after it: for loops that write many values after one
 * {@link ByteWriter.ensure}.
 */
export function varintAt(buf: Uint8Array, p: number, v: number): number {
  while (v > 0x7fffffff) {
    buf[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/**
 * A growable byte buffer.
 *
 * @example
 * ```ts
 * import { ByteReader, ByteWriter } from "./bytes.ts";
 * const w = new ByteWriter();
 * w.varint(300); w.string("hé"); w.f64(1.5);
 * const r = new ByteReader(w.bytes());
 * if (r.varint() !== 300 || r.string() !== "hé" || r.f64() !== 1.5) throw new Error();
 * ```
 */
/**
 * Copies up to this many bytes by a loop rather than `TypedArray.set`, whose call costs more than a
 * short loop on Bun (a sketch's store, a page's bit-packed miniblock: a few dozen bytes each).
 */
export const SMALL_COPY = 64;

export class ByteWriter {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, v % TWO_POW_32, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / TWO_POW_32), true);
    this.pos += 8;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Unsigned varint of a non-negative integer ≤ 2^53. */
  varint(v: number): void {
    this.ensure(10);
    this.pos = varintAt(this.buf, this.pos, v);
  }

  /** Unsigned varint of a bigint in [0, 2^64). */
  bigVarint(v: bigint): void {
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** Zigzag varint of a safe integer (negative allowed). */
  zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** Varint length + UTF-8 bytes. */
  string(s: string): void {
    const n = s.length;
    this.ensure(n * 3 + 5);
    if (n < 128) {
      // ASCII up to 127 characters (names, mostly): the bytes are the code units, the length one byte.
      // A loop here costs a fraction of `encodeInto` into a fresh subarray per string.
      const b = this.buf;
      let p = this.pos + 1, i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === n) {
        b[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    if (n < 43) {
      // short strings: length fits in one varint byte (≤ 127 UTF-8 bytes)
      const start = this.pos + 1;
      const { written } = encoder.encodeInto(s, this.buf.subarray(start));
      if (written! <= 127) {
        this.buf[this.pos] = written!;
        this.pos = start + written!;
        return;
      }
    }
    const bytes = encoder.encode(s);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    if (n > SMALL_COPY) this.buf.set(bytes, this.pos);
    else for (let i = 0, b = this.buf, p = this.pos; i < n; i++) b[p + i] = bytes[i];
    this.pos += n;
  }
}

/** Reads what {@link ByteWriter} wrote; throws {@link DecodeError} past the end. */
export class ByteReader {
  pos: number;
  readonly end: number;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError(`unexpected end of data (need ${n} bytes)`, this.pos);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.view.getUint32(this.pos, true) + this.view.getUint32(this.pos + 4, true) * TWO_POW_32;
    this.pos += 8;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** An unsigned varint as a number (throws above 2^53). */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new DecodeError("varint longer than 53 bits", this.pos);
  }

  /** An unsigned varint up to 2^64 − 1: a number when ≤ 2^53 − 1, else a bigint. */
  varint64(): number | bigint {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result <= Number.MAX_SAFE_INTEGER) return result;
        return this.bigFrom(start);
      }
      mul *= 128;
    }
    throw new DecodeError("varint longer than 64 bits", this.pos);
  }

  private bigFrom(start: number): bigint {
    let v = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      v |= BigInt(this.buf[p] & 0x7f) << shift;
      shift += 7n;
    }
    if (v >= 1n << 64n) throw new DecodeError("varint above 2^64", start);
    return v;
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  string(): string {
    const n = this.varint();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    try {
      return decoder.decode(this.buf.subarray(start, start + n));
    } catch {
      throw new DecodeError("invalid UTF-8", start);
    }
  }

  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}
