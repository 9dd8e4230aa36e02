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
  return sortedByTime(ts, length);
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

function inReverseTimeOrder(ts: Float64Array, length: number): boolean {
  for (let i = 1; i < length; i++) if (ts[i] > ts[i - 1]) return false;
  return true;
}

/** A whole batch newest first (the usual out-of-order case), in one pass; equal times keep the batch order. */
function reversed(ts: Float64Array, order: Uint32Array): Uint32Array {
  let out = 0;
  for (let end = order.length; end > 0;) {
    let start = end - 1;
    while (start > 0 && ts[start - 1] === ts[end - 1]) start--;
    for (let i = start; i < end; i++) order[out++] = i;
    end = start;
  }
  return order;
}

/**
 * Indices stably sorted by time: a batch newest first is reversed in one pass. Otherwise, when
 * (time − earliest) × length + index stays exact in a double (a batch spanning less than ~2.8 years at
 * 100,000 samples), the keys are sorted natively without a comparator (on Bun 40-60 ns per sample for
 * 100,000 samples, against 85-320 with one).
 */
function sortedByTime(ts: Float64Array, length: number): Uint32Array {
  const order = new Uint32Array(length);
  if (inReverseTimeOrder(ts, length)) return reversed(ts, order);
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < length; i++) {
    if (ts[i] < min) min = ts[i];
    if (ts[i] > max) max = ts[i];
  }
  if ((max - min + 1) * length <= Number.MAX_SAFE_INTEGER) {
    const keys = new Float64Array(length);
    for (let i = 0; i < length; i++) keys[i] = (ts[i] - min) * length + i;
    keys.sort();
    for (let k = 0; k < length; k++) order[k] = keys[k] % length;
    return order;
  }
  for (let i = 0; i < length; i++) order[i] = i;
  return order.sort((a, b) => ts[a] - ts[b] || a - b);
}
