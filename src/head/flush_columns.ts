/**
 * Turning head data into tier-file columns for a flush: raw samples from the log and closed 5-minute
 * buckets, each sorted by (namespace, target, poller, time) and split by partition.
 *
 * @module
 */
import type { BucketRow } from "../aggregate/aggregator.ts";
import { partitionStart } from "../model/paths.ts";
import type { Tier } from "../model/tier.ts";
import type { AggRow } from "../tier/agg_rows.ts";
import type { RawColumns } from "../tier/columns.ts";
import type { Chunk, RawLog } from "./raw_log.ts";
import type { SeriesIndex } from "./series.ts";

interface Ref {
  chunk: Chunk;
  i: number;
}

/**
 * Raw columns of log positions [from, to), per partition start, sorted by series identity then time
 * (a counting sort by series rank keeps this linear; samples of a series are almost always already in
 * time order, and are sorted when not).
 */
export function rawColumnsOf(log: RawLog, index: SeriesIndex, from: number, to: number): Map<number, RawColumns> {
  const ranks = index.ranks();
  const refs: Ref[] = [];
  const counts = new Int32Array(ranks.length + 1);
  for (const { chunk, lo, hi } of log.ranges(from, to)) {
    for (let i = lo; i < hi; i++) {
      refs.push({ chunk, i });
      counts[ranks[chunk.series[i]] + 1]++;
    }
  }
  for (let r = 1; r < counts.length; r++) counts[r] += counts[r - 1];
  const sorted: Ref[] = new Array(refs.length);
  const next = counts.slice();
  for (const ref of refs) sorted[next[ranks[ref.chunk.series[ref.i]]]++] = ref;
  for (let r = 0; r < ranks.length; r++) sortByTime(sorted, counts[r], counts[r + 1]);
  const byPartition = new Map<number, Ref[]>();
  for (const ref of sorted) {
    const p = partitionStart("raw", ref.chunk.ts[ref.i]);
    let list = byPartition.get(p);
    if (!list) byPartition.set(p, list = []);
    list.push(ref);
  }
  const out = new Map<number, RawColumns>();
  for (const [p, list] of byPartition) out.set(p, toRawColumns(list, index));
  return out;
}

function sortByTime(refs: Ref[], lo: number, hi: number): void {
  for (let k = lo + 1; k < hi; k++) {
    if (refs[k].chunk.ts[refs[k].i] < refs[k - 1].chunk.ts[refs[k - 1].i]) {
      const slice = refs.slice(lo, hi).sort((a, b) => a.chunk.ts[a.i] - b.chunk.ts[b.i]);
      for (let j = 0; j < slice.length; j++) refs[lo + j] = slice[j];
      return;
    }
  }
}

function toRawColumns(refs: Ref[], index: SeriesIndex): RawColumns {
  const n = refs.length;
  const c: RawColumns = {
    length: n,
    namespace: new Array(n),
    target: new Array(n),
    poller: new Array(n),
    ts: new Float64Array(n),
    kind: new Uint8Array(n),
    value: new Float64Array(n),
    counter: new Array(n),
    text: new Array(n),
    valid: new Uint8Array(n),
    error: new Array(n),
    pollMs: new Int32Array(n),
  };
  for (let k = 0; k < n; k++) {
    const { chunk, i } = refs[k];
    const [ns, target, poller] = index.names(chunk.series[i]);
    c.namespace[k] = ns;
    c.target[k] = target;
    c.poller[k] = poller;
    c.ts[k] = chunk.ts[i];
    const kind = chunk.kind[i];
    c.kind[k] = kind;
    c.value[k] = kind === 1 ? chunk.value[i] : NaN;
    c.counter[k] = kind === 2 ? chunk.big?.get(i) ?? BigInt(chunk.value[i]) : null;
    c.text[k] = kind === 3 ? chunk.text?.get(i) ?? "" : null;
    c.valid[k] = chunk.flags[i] & 1;
    c.error[k] = chunk.error?.get(i) ?? null;
    c.pollMs[k] = chunk.pollMs[i];
  }
  return c;
}

/** Aggregate rows (with identities) of closed buckets, per partition start of `tier`, unsorted. */
export function bucketRowsByPartition(
  rows: readonly BucketRow[],
  index: SeriesIndex,
  tier: Tier,
): Map<number, AggRow[]> {
  const out = new Map<number, AggRow[]>();
  for (const r of rows) {
    const [namespace, target, poller] = index.names(r.series);
    const p = partitionStart(tier, r.start);
    let list = out.get(p);
    if (!list) out.set(p, list = []);
    list.push({ namespace, target, poller, bucket: r.start, kind: r.kind, agg: r.agg });
  }
  return out;
}
