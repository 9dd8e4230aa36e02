/**
 * The order in which a batch's samples reach the aggregator. Counter rates are computed between
 * consecutive samples of a series, so a series sent newest first (or mixed) must be aggregated in time
 * order, or it has no rate at all.
 *
 * @module
 */

/**
 * Null when every series' samples already come in time order (the common case: one sample per series,
 * or each series oldest first), else the sample indices stably sorted by time (equal times keep the
 * batch's order).
 *
 * @example
 * ```ts
 * import { timeOrder } from "./time_order.ts";
 * const ts = new Float64Array([300, 200, 100]);
 * const series = new Int32Array([0, 0, 0]);
 * if (timeOrder(ts, series, 3)?.join() !== "2,1,0") throw new Error("newest first is reversed");
 * if (timeOrder(ts, new Int32Array([0, 1, 2]), 3) !== null) throw new Error("one sample per series is in order");
 * ```
 */
export function timeOrder(ts: Float64Array, seriesId: Int32Array, length: number): Uint32Array | null {
  if (inTimeOrder(ts, length) || inSeriesTimeOrder(ts, seriesId, length)) return null;
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = i;
  return order.sort((a, b) => ts[a] - ts[b] || a - b);
}

function inTimeOrder(ts: Float64Array, length: number): boolean {
  for (let i = 1; i < length; i++) if (ts[i] < ts[i - 1]) return false;
  return true;
}

function inSeriesTimeOrder(ts: Float64Array, seriesId: Int32Array, length: number): boolean {
  const last = new Map<number, number>();
  for (let i = 0; i < length; i++) {
    const prev = last.get(seriesId[i]);
    if (prev !== undefined && ts[i] < prev) return false;
    last.set(seriesId[i], ts[i]);
  }
  return true;
}
