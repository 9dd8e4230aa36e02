/**
 * A flush as the encoder thread receives it, built so the main thread's part costs O(what changed):
 *
 * - **Raw samples by reference.** The head's raw log keeps its columns in `SharedArrayBuffer`s; a job
 *   names the chunk ranges of its cut ({@link RawPart}) and the encoder reads them where they are.
 *   Positions below the cut are never written again and their chunks are not reused before the flush
 *   commits, so nothing is copied on the main thread.
 * - **Series names once.** The encoder keeps its own copy of the series names ({@link NameTable}, by
 *   head id); a job carries only the names of ids handed out since the previous job
 *   ({@link NamesDelta}: one string and the length of each part, not 3 strings per series to clone).
 *   The encoder numbers the series of the flush in identity order itself.
 * - **The snapshot encoded there.** The head's state copied at the cut (typed arrays, transferred)
 *   is written in the snapshot layout by the encoder (`snapshot_encode.ts`), with the same names.
 *
 * @module
 */
import type { AggregatorState } from "../aggregate/aggregator.ts";
import type { ClosedSlice, EncodedFile, FlushBatch, RawSlice } from "../aggregate/flush_batch.ts";
import { compareIdentity } from "../model/identity.ts";
import { type SeriesValues, type SnapshotMeta, snapshotParts } from "./snapshot_encode.ts";

/** Names of head ids [from, from + lengths.length / 3): namespace, target, poller of each, concatenated. */
export interface NamesDelta {
  from: number;
  joined: string;
  /** UTF-16 length of each name, three per series. */
  lengths: Uint32Array;
  /** Ids forgotten (idle expiry) since the previous job: their names leave the table. */
  forget?: Int32Array;
  /** Entries of the index's log of forgotten ids this delta covers (the next delta starts there). */
  forgotten?: number;
}

/**
 * Rows [lo, hi) of one raw log chunk: the columns of a {@link RawSlice} as views of shared memory
 * (series are head ids; the side values of rows in [lo, hi) are keyed by chunk row).
 */
export interface RawPart extends Omit<RawSlice, "n"> {
  lo: number;
  hi: number;
}

/** The state a snapshot holds, copied at the cut (names excepted: the encoder has them). */
export interface SnapshotJob {
  meta: SnapshotMeta;
  series: SeriesValues;
  agg: AggregatorState;
}

/** A flush job. */
export interface FlushJob {
  names: NamesDelta;
  raw: RawPart[];
  /** Closed buckets; series are head ids. */
  closed: ClosedSlice;
  accuracy: number | null;
  watermarks: FlushBatch["watermarks"];
  keepFrom?: FlushBatch["keepFrom"];
  snapshot: SnapshotJob | null;
}

/** What a flush job answers. */
export interface FlushJobResult {
  files: EncodedFile[];
  snapshot: Uint8Array | null;
}

/** Thrown when a job's names do not continue the encoder's table (a restarted worker): send them all. */
export class NamesOutOfStep extends Error {
  override name = "NamesOutOfStep";
}

/**
 * The encoder's copy of the series names, by head id.
 *
 * @example
 * ```ts
 * import { NameTable, namesDelta } from "./flush_job.ts";
 * const t = new NameTable();
 * t.apply(namesDelta(["ns", "ns"], ["b", "a"], ["p", "p"], 0));
 * if (t.sortedIds()[0] !== 1 || t.size !== 2) throw new Error();
 * ```
 */
export class NameTable {
  readonly namespace: string[] = [];
  readonly target: string[] = [];
  readonly poller: string[] = [];
  private sorted: Int32Array | null = null;

  /** Ids named. */
  get size(): number {
    return this.namespace.length;
  }

  /** Takes the names of a delta; throws {@link NamesOutOfStep} when it starts past the table's end. */
  apply(d: NamesDelta): void {
    if (d.from > this.size) {
      throw new NamesOutOfStep(`series names out of step: the table has ${this.size}, the job starts at ${d.from}`);
    }
    let at = 0;
    for (let k = 0, id = d.from; k < d.lengths.length; k += 3, id++) {
      const ns = d.joined.slice(at, at += d.lengths[k]);
      const t = d.joined.slice(at, at += d.lengths[k + 1]);
      const p = d.joined.slice(at, at += d.lengths[k + 2]);
      if (this.namespace[id] === ns && this.target[id] === t && this.poller[id] === p) continue;
      this.namespace[id] = ns;
      this.target[id] = t;
      this.poller[id] = p;
      this.sorted = null;
    }
    for (const id of d.forget ?? []) {
      if (id >= this.size || this.namespace[id] === "") continue;
      this.namespace[id] = this.target[id] = this.poller[id] = "";
      this.sorted = null;
    }
  }

  /** All ids in identity order; cached until names change. */
  sortedIds(): Int32Array {
    if (this.sorted) return this.sorted;
    const { namespace: n, target: t, poller: p } = this;
    const ids = Array.from({ length: n.length }, (_, i) => i);
    ids.sort((a, b) => compareIdentity(n[a], t[a], p[a], n[b], t[b], p[b]));
    return this.sorted = Int32Array.from(ids);
  }
}

/** The names of ids [from, namespace.length) as a delta. */
export function namesDelta(
  namespace: readonly string[],
  target: readonly string[],
  poller: readonly string[],
  from: number,
): NamesDelta {
  const n = namespace.length;
  const lengths = new Uint32Array(Math.max(0, n - from) * 3);
  const parts: string[] = [];
  for (let id = from, k = 0; id < n; id++, k += 3) {
    parts.push(namespace[id], target[id], poller[id]);
    lengths[k] = namespace[id].length;
    lengths[k + 1] = target[id].length;
    lengths[k + 2] = poller[id].length;
  }
  return { from, joined: parts.join(""), lengths };
}

/**
 * Buffers of a job that move to the encoder instead of being copied: the names' lengths and the
 * sketches of closed buckets, which the job owns. Everything else is shared memory (the log's chunks,
 * the snapshot's and closed buckets' copies), read in place; structured cloning of typed arrays is
 * slow on Bun (about 40 ms per MB on the 2-core box).
 */
export function flushJobTransferables(job: FlushJob): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>([job.names.lengths.buffer as ArrayBuffer]);
  if (job.names.forget) out.add(job.names.forget.buffer as ArrayBuffer);
  for (const [, b] of job.closed.sketches) out.add(b.buffer as ArrayBuffer);
  return [...out].filter((b) => !(b instanceof SharedArrayBuffer));
}

/** The typed columns of a {@link RawSlice}, kept from flush to flush by an encoder thread. */
export type RawArrays = Pick<RawSlice, "series" | "ts" | "value" | "kind" | "flags" | "pollMs">;

/** Arrays a flush may copy its raw rows into: taken, then given back with what the flush used. */
export interface RawArraysHolder {
  arrays?: RawArrays;
}

/**
 * Turns a job into the {@link FlushBatch} the tier encoder takes (after `names.apply(job.names)`):
 * the series that occur, numbered in identity order, and the raw rows copied out of the shared chunks
 * with those numbers — into `holder`'s arrays when they are large enough (fresh memory costs a page
 * fault per 4 KiB: about as much as the flush's copy itself), else into new ones left in `holder`.
 */
export function flushBatchOf(job: FlushJob, names: NameTable, holder: RawArraysHolder = {}): FlushBatch {
  const sorted = names.sortedIds();
  const rank = new Int32Array(names.size);
  for (let r = 0; r < sorted.length; r++) rank[sorted[r]] = r;
  const seen = new Uint8Array(names.size);
  for (const p of job.raw) for (let i = p.lo; i < p.hi; i++) seen[rank[p.series[i]]] = 1;
  const cs = job.closed.series;
  for (let i = 0; i < job.closed.n; i++) seen[rank[cs[i]]] = 1;
  const local = new Int32Array(names.size);
  const table = { namespace: [] as string[], target: [] as string[], poller: [] as string[] };
  for (let r = 0; r < sorted.length; r++) {
    if (!seen[r]) continue;
    const id = sorted[r];
    local[id] = table.namespace.length;
    table.namespace.push(names.namespace[id]);
    table.target.push(names.target[id]);
    table.poller.push(names.poller[id]);
  }
  const series = new Int32Array(job.closed.n);
  for (let i = 0; i < job.closed.n; i++) series[i] = local[cs[i]];
  return {
    series: table,
    raw: rawSliceOf(job.raw, local, holder),
    closed: { ...job.closed, series },
    accuracy: job.accuracy,
    watermarks: job.watermarks,
    keepFrom: job.keepFrom,
  };
}

function rawSliceOf(parts: RawPart[], local: Int32Array, holder: RawArraysHolder): RawSlice {
  const n = parts.reduce((a, p) => a + p.hi - p.lo, 0);
  let a = holder.arrays;
  if (!a || a.series.length < n) {
    a = holder.arrays = {
      series: new Int32Array(n),
      ts: new Float64Array(n),
      value: new Float64Array(n),
      kind: new Uint8Array(n),
      flags: new Uint8Array(n),
      pollMs: new Int32Array(n),
    };
  }
  const out: RawSlice = {
    n,
    series: a.series.subarray(0, n),
    ts: a.ts.subarray(0, n),
    value: a.value.subarray(0, n),
    kind: a.kind.subarray(0, n),
    flags: a.flags.subarray(0, n),
    pollMs: a.pollMs.subarray(0, n),
    big: [],
    text: [],
    error: [],
  };
  let k = 0;
  for (const p of parts) {
    const { lo, hi } = p;
    for (let i = lo, j = k; i < hi; i++, j++) out.series[j] = local[p.series[i]];
    out.ts.set(p.ts.subarray(lo, hi), k);
    out.value.set(p.value.subarray(lo, hi), k);
    out.kind.set(p.kind.subarray(lo, hi), k);
    out.flags.set(p.flags.subarray(lo, hi), k);
    out.pollMs.set(p.pollMs.subarray(lo, hi), k);
    for (const [i, v] of p.big) out.big.push([k + i - lo, v]);
    for (const [i, v] of p.text) out.text.push([k + i - lo, v]);
    for (const [i, v] of p.error) out.error.push([k + i - lo, v]);
    k += hi - lo;
  }
  return out;
}

/** Encodes a snapshot job with the table's names. */
export function encodeSnapshotJob(s: SnapshotJob, names: NameTable): Uint8Array {
  const { namespace, target, poller } = names;
  const parts = snapshotParts({ meta: s.meta, series: { ...s.series, namespace, target, poller }, agg: s.agg });
  for (;;) {
    const r = parts.next();
    if (r.done) return r.value;
  }
}
