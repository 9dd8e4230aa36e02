/**
 * Building a flush's {@link FlushBatch} from the head at its cut: the raw samples of the cut's log
 * range and the closed buckets, with series renumbered by their position in identity order.
 *
 * @module
 */
import type { ClosedSlice, FlushBatch, RawSlice } from "../aggregate/flush_batch.ts";
import type { Head, HeadCut } from "./head.ts";

/** A batch plus the head id of each of its series numbers. */
export interface BuiltBatch {
  batch: FlushBatch;
  headIds: Int32Array;
}

/** Builds the batch of a cut. */
export function buildFlushBatch(
  head: Head,
  cut: HeadCut,
  accuracy: number | null,
  watermarks: FlushBatch["watermarks"],
): BuiltBatch {
  const raw = rawSlice(head, cut.rawFrom, cut.rawTo);
  const { local, headIds } = renumber(head, raw.series, cut.closed.series);
  for (let i = 0; i < raw.n; i++) raw.series[i] = local[raw.series[i]];
  const closed: ClosedSlice = { ...cut.closed, series: cut.closed.series.map((id) => local[id]) };
  const names = headIds.length;
  const series = {
    namespace: new Array<string>(names),
    target: new Array<string>(names),
    poller: new Array<string>(names),
  };
  headIds.forEach((id, k) => {
    const [ns, t, p] = head.series.names(id);
    series.namespace[k] = ns;
    series.target[k] = t;
    series.poller[k] = p;
  });
  return { batch: { series, raw, closed, accuracy, watermarks }, headIds };
}

/** Copies log positions [from, to) into columns (series are still head ids). */
function rawSlice(head: Head, from: number, to: number): RawSlice {
  const n = to - from;
  const out: RawSlice = {
    n,
    series: new Int32Array(n),
    ts: new Float64Array(n),
    value: new Float64Array(n),
    kind: new Uint8Array(n),
    flags: new Uint8Array(n),
    pollMs: new Int32Array(n),
    big: [],
    text: [],
    error: [],
  };
  let k = 0;
  for (const { chunk, lo, hi } of head.raw.ranges(from, to)) {
    out.series.set(chunk.series.subarray(lo, hi), k);
    out.ts.set(chunk.ts.subarray(lo, hi), k);
    out.value.set(chunk.value.subarray(lo, hi), k);
    out.kind.set(chunk.kind.subarray(lo, hi), k);
    out.flags.set(chunk.flags.subarray(lo, hi), k);
    out.pollMs.set(chunk.pollMs.subarray(lo, hi), k);
    for (const [i, v] of chunk.big ?? []) if (i >= lo && i < hi) out.big.push([k + i - lo, v.toString()]);
    for (const [i, v] of chunk.text ?? []) if (i >= lo && i < hi) out.text.push([k + i - lo, v]);
    for (const [i, v] of chunk.error ?? []) if (i >= lo && i < hi) out.error.push([k + i - lo, v]);
    k += hi - lo;
  }
  return out;
}

/** Numbers the series that occur, in identity order: `local[headId]`, and the reverse. */
function renumber(head: Head, ...lists: Int32Array[]): { local: Int32Array; headIds: Int32Array } {
  const ranks = head.series.ranks();
  const seen = new Uint8Array(ranks.length);
  for (const list of lists) for (let i = 0; i < list.length; i++) seen[ranks[list[i]]] = 1;
  const sorted = head.series.sortedIds();
  const local = new Int32Array(ranks.length);
  const headIds: number[] = [];
  for (let r = 0; r < sorted.length; r++) {
    if (!seen[r]) continue;
    local[sorted[r]] = headIds.length;
    headIds.push(sorted[r]);
  }
  return { local, headIds: Int32Array.from(headIds) };
}
