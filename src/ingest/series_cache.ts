/**
 * A byte-keyed cache from a series identity, as raw UTF-8 bytes in a request body, to its head
 * series id. The decoders hash the namespace, target and poller bytes while scanning them, so a known
 * series is resolved without creating a single string; only a series seen for the first time is
 * decoded, validated and resolved through the series index.
 *
 * @module
 */

const EMPTY = -1;

/** FNV-1a offset basis. */
export const HASH_SEED = 0x811c9dc5 | 0;

/** Combines the FNV-1a hashes of namespace, target and poller into the cache hash. */
export function identityHash(hns: number, ht: number, hp: number): number {
  const h = Math.imul(Math.imul(hns ^ 0x5bd1e995, 16777619) ^ ht, 16777619) ^ hp;
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ (h >>> 12);
}

/** The FNV-1a hash of `buf[from, to)`. */
export function hashRange(buf: Uint8Array, from: number, to: number): number {
  let h = HASH_SEED;
  for (let k = from; k < to; k++) h = Math.imul(h ^ buf[k], 16777619);
  return h;
}

/** A resolved identity. */
export interface CachedSeries {
  id: number;
  namespace: string;
  target: string;
  poller: string;
}

/**
 * The cache. Keys are `namespace 0x00 target 0x00 poller` in UTF-8.
 *
 * @example
 * ```ts
 * import { hashRange, identityHash, SeriesCache } from "./series_cache.ts";
 * const cache = new SeriesCache();
 * const buf = new TextEncoder().encode("ntp");
 * const h = identityHash(hashRange(buf, 0, 1), hashRange(buf, 1, 2), hashRange(buf, 2, 3));
 * cache.insert(buf, 0, 1, 1, 2, 2, 3, h, { id: 7, namespace: "n", target: "t", poller: "p" });
 * if (cache.lookup(buf, 0, 1, 1, 2, 2, 3, h)?.id !== 7) throw new Error();
 * ```
 */
export class SeriesCache {
  private table = new Int32Array(1 << 16).fill(EMPTY);
  private mask = (1 << 16) - 1;
  private hashes = new Int32Array(1 << 14);
  private starts = new Int32Array(1 << 14);
  private lengths = new Int32Array(1 << 14);
  private entries: CachedSeries[] = [];
  private arena = new Uint8Array(1 << 20);
  private used = 0;
  /**
   * The entry found or added last. Pollers send their series in the same order round after round,
   * so the next identity is most often the entry after it: {@link follow} checks that one first.
   */
  private last = -1;

  /** Number of cached series. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * The entry after the one found or added last when it is the identity whose UTF-8 bytes are
   * `buf[ns0, ns1)`, `buf[t0, t1)`, `buf[p0, p1)`, or the last one itself when that is; else undefined
   * (then {@link lookup} decides). Needs no hash: a body that repeats the order its series were first
   * seen in is resolved by comparing bytes that lie next to each other in memory, not by probing a
   * table at random places.
   */
  follow(buf: Uint8Array, ns0: number, ns1: number, t0: number, t1: number, p0: number, p1: number):
    | CachedSeries
    | undefined {
    const len = ns1 - ns0 + t1 - t0 + p1 - p0 + 2;
    const n = this.entries.length;
    for (let e = this.last + 1, tries = 0; tries < 2; tries++, e--) {
      if (e < 0 || e >= n || this.lengths[e] !== len || !this.equals(e, buf, ns0, ns1, t0, t1, p0, p1)) continue;
      this.last = e;
      return this.entries[e];
    }
    return undefined;
  }

  /**
   * The entry for the identity whose UTF-8 bytes are `buf[ns0, ns1)`, `buf[t0, t1)`, `buf[p0, p1)`
   * (with `h` from {@link identityHash}), or undefined.
   */
  lookup(buf: Uint8Array, ns0: number, ns1: number, t0: number, t1: number, p0: number, p1: number, h: number):
    | CachedSeries
    | undefined {
    const len = ns1 - ns0 + t1 - t0 + p1 - p0 + 2;
    const { table, hashes, lengths, starts, arena, mask } = this;
    probe: for (let slot = h & mask;; slot = (slot + 1) & mask) {
      const e = table[slot];
      if (e === EMPTY) return undefined;
      if (hashes[e] !== h || lengths[e] !== len) continue;
      // inline byte comparisons (this is the hottest loop of ingest); the zero separators need no
      // check: identity bytes never contain 0x00, so equal bytes at equal total length put them in place
      let off = starts[e];
      for (let k = ns0; k < ns1; k++, off++) if (arena[off] !== buf[k]) continue probe;
      off++;
      for (let k = t0; k < t1; k++, off++) if (arena[off] !== buf[k]) continue probe;
      off++;
      for (let k = p0; k < p1; k++, off++) if (arena[off] !== buf[k]) continue probe;
      this.last = e;
      return this.entries[e];
    }
  }

  /** Whether entry `e` (of equal total length) holds the identity of the given ranges. */
  private equals(e: number, buf: Uint8Array, ns0: number, ns1: number, t0: number, t1: number, p0: number, p1: number) {
    const arena = this.arena;
    let off = this.starts[e];
    for (let k = ns0; k < ns1; k++, off++) if (arena[off] !== buf[k]) return false;
    off++;
    for (let k = t0; k < t1; k++, off++) if (arena[off] !== buf[k]) return false;
    off++;
    for (let k = p0; k < p1; k++, off++) if (arena[off] !== buf[k]) return false;
    return true;
  }

  /** Adds an identity given as UTF-8 ranges of `buf` (see {@link lookup}). */
  insert(
    buf: Uint8Array,
    ns0: number,
    ns1: number,
    t0: number,
    t1: number,
    p0: number,
    p1: number,
    h: number,
    series: CachedSeries,
  ): void {
    const len = ns1 - ns0 + t1 - t0 + p1 - p0 + 2;
    const e = this.entries.length;
    if (e >= this.hashes.length) this.growEntries();
    if ((e + 1) * 2 > this.table.length) this.rehash();
    if (this.used + len > this.arena.length) this.growArena(len);
    // byte loops, not subarray views (a view of a small buffer moves it out of the GC heap on Bun)
    const arena = this.arena;
    let off = this.used;
    for (let k = ns0; k < ns1; k++) arena[off++] = buf[k];
    arena[off++] = 0;
    for (let k = t0; k < t1; k++) arena[off++] = buf[k];
    arena[off++] = 0;
    for (let k = p0; k < p1; k++) arena[off++] = buf[k];
    this.hashes[e] = h;
    this.starts[e] = this.used;
    this.lengths[e] = len;
    this.used += len;
    this.entries.push(series);
    this.place(e);
    this.last = e;
  }

  private place(e: number): void {
    let slot = this.hashes[e] & this.mask;
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.table[slot] = e;
  }

  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2).fill(EMPTY);
    this.mask = this.table.length - 1;
    for (let e = 0; e < this.entries.length; e++) this.place(e);
  }

  private growEntries(): void {
    const n = this.hashes.length * 2;
    const grow = (a: Int32Array) => {
      const out = new Int32Array(n);
      out.set(a);
      return out;
    };
    this.hashes = grow(this.hashes);
    this.starts = grow(this.starts);
    this.lengths = grow(this.lengths);
  }

  private growArena(need: number): void {
    const out = new Uint8Array(Math.max(this.arena.length * 2, this.used + need));
    out.set(this.arena.subarray(0, this.used));
    this.arena = out;
  }
}
