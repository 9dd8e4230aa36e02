/**
 * The increase of a counter between two consecutive samples, with wrap and reset handling:
 *
 * - `cur ≥ prev`: the difference.
 * - `cur < prev` and `prev < 2^32`: a 32-bit counter wrapped when the wrapped difference
 *   (2^32 − prev + cur) is below 2^31, i.e. less than half the counter space; otherwise the device
 *   reset (rebooted) and the counter restarted from 0, so the increase is `cur`.
 * - `cur < prev` and `prev ≥ 2^63`: a 64-bit wrap, 2^64 − prev + cur.
 * - otherwise a reset: `cur`.
 *
 * Values up to 2^53 are plain numbers; larger counters come as bigints (exact).
 *
 * @module
 */

const TWO_32 = 4_294_967_296;
const TWO_31 = 2_147_483_648;
const TWO_63 = 1n << 63n;
const TWO_64 = 1n << 64n;

/**
 * Increase from `prev` to `cur` (each a number ≤ 2^53 or an exact bigint).
 *
 * @example
 * ```ts
 * import { counterIncrease } from "./counter_rate.ts";
 * if (counterIncrease(4_294_967_290, 5) !== 11) throw new Error("32-bit wrap");
 * if (counterIncrease(1_000_000, 10) !== 10) throw new Error("reset");
 * ```
 */
export function counterIncrease(prev: number | bigint, cur: number | bigint): number {
  if (typeof prev === "number" && typeof cur === "number") {
    if (cur >= prev) return cur - prev;
    if (prev < TWO_32 && TWO_32 - prev + cur < TWO_31) return TWO_32 - prev + cur;
    return cur;
  }
  const p = BigInt(prev);
  const c = BigInt(cur);
  if (c >= p) return Number(c - p);
  if (p < BigInt(TWO_32) && BigInt(TWO_32) - p + c < BigInt(TWO_31)) return Number(BigInt(TWO_32) - p + c);
  if (p >= TWO_63) return Number(TWO_64 - p + c);
  return Number(c);
}
