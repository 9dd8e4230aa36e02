/**
 * Streaming 5-minute aggregation for every series, in struct-of-arrays form so that an open bucket
 * costs ~150 bytes and snapshotting all of them is a handful of typed-array copies.
 *
 * A bucket keeps its first `inline` values exactly (at 60 s polling a 5-minute bucket has ~5 values,
 * so a dense sketch per series would be waste); the sketch is only built when more values arrive, or
 * when the bucket is read. Counters aggregate the per-second rate between consecutive samples (see
 * `counter_rate.ts`); text samples are counted, not aggregated numerically; failed polls are counted
 * in `errorCount`. A sample whose bucket was already closed opens that bucket again ("late" bucket):
 * it is flushed as a separate partial aggregate and merged, never added to the current bucket.
 *
 * @module
 */
import { INLINE_VALUES, VALUE_KIND_CODE } from "../model/aggregate.ts";
import { combine, STATS } from "../model/aggregate_stats.ts";
import { KIND_CODE } from "../model/sample.ts";
import { bucketStart } from "../model/tier.ts";
import { counterIncrease } from "./counter_rate.ts";
import { BinSketch } from "../model/bin_sketch.ts";
import {
  allocSlice,
  type ClosedSlice,
  copySlots,
  gatherSealed,
  resizeColumns,
  SEALED,
  type SealedBuckets,
  SKETCH_MODE,
  type SlotColumns,
} from "./bucket_columns.ts";
import type { ByteReader } from "../model/bytes.ts";
import { aggregateAt, type BucketRow, sliceRows } from "./aggregator_read.ts";
import {
  type AggregatorState,
  captureState,
  readAggregatorState,
  writeAggregatorState,
} from "./aggregator_snapshot.ts";

export type { AggregatorState, BucketRow, SealedBuckets };
export { writeAggregatorState };

const BUCKET_MS = 300_000;

const GAUGE = VALUE_KIND_CODE.gauge;
const RATE = VALUE_KIND_CODE.rate;
const TEXT = VALUE_KIND_CODE.text;

/** Options of the aggregator. */
export interface AggregatorOptions {
  /** Relative accuracy of percentiles; null switches them off. */
  accuracy: number | null;
  /** Values kept exactly per bucket before a sketch is built (default 8). */
  inline?: number;
}

/** Per-series counter state: the previous counter sample. */
export interface CounterState {
  ts: number;
  value: number;
  big?: bigint;
}

/**
 * The aggregator: the open buckets (store and add). Reading buckets as aggregates is in
 * `aggregator_read.ts`, the snapshot of the open state in `aggregator_snapshot.ts`.
 *
 * @example
 * ```ts
 * import { Aggregator } from "./aggregator.ts";
 * const a = new Aggregator({ accuracy: 0.01 });
 * a.addGauge(0, 60_000, 5);
 * a.addGauge(0, 120_000, 7);
 * const closed = a.extractClosed(300_000);
 * if (closed.n !== 1 || closed.count[0] !== 2 || closed.sum[0] !== 12) throw new Error();
 * ```
 */
export class Aggregator {
  readonly accuracy: number | null;
  readonly inline: number;
  /** Samples of a kind that did not match their bucket's kind (counted, not aggregated). */
  kindMismatches = 0;
  /** Per series: its newest slot (a chain through `next`), -1 when none. */
  private head = new Int32Array(1024).fill(-1);
  private seriesKind = new Uint8Array(1024);
  private prevTs = new Float64Array(1024).fill(-Infinity);
  private prevVal = new Float64Array(1024);
  private prevBig = new Map<number, bigint>();
  private cap = 0;
  private used = 0;
  /** Free slots below `used`, a stack (the first `freeCount`): a typed array, as a backfilled day frees millions at once. */
  private free = new Int32Array(0);
  private freeCount = 0;
  /** Per series: the last {@link releaseSlots} pass that listed it. */
  private releaseMark = new Int32Array(1024);
  private releasePass = 0;
  private live = 0;
  /** The slots' columns (capacity `cap`; free slots have series -1). */
  private s: SlotColumns;
  /** The statistics' columns of `s`, in `STATS` order (a new bucket's are set by index, not by name). */
  private statColumns: Float64Array[] = [];
  /** Per slot: the next slot of the same series. */
  private next = new Int32Array(0);
  /** Scratch of {@link captureState}: the slots it takes. */
  private slots = new Int32Array(0);
  /** The slot list of the last released seal, reused by the next. */
  private sealedSpare: Int32Array | null = null;
  /** Per slot: its sketch once built. */
  private sketch: (BinSketch | null)[] = [];
  /** The previous capture, whose memory the next one reuses. */
  private spare: AggregatorState | null = null;

  constructor(opts: AggregatorOptions) {
    this.accuracy = opts.accuracy;
    this.inline = opts.accuracy === null ? 0 : Math.min(opts.inline ?? INLINE_VALUES, 254);
    this.s = allocSlice(0, this.inline);
    this.growSlots(1024);
  }

  /** Number of open buckets. */
  get openBuckets(): number {
    return this.live;
  }

  /** Approximate bytes held by the open state. */
  memoryBytes(): number {
    const perSlot = 4 + 4 + 8 + 1 + 8 * (STATS.length + 2) + 1 + 8 * this.inline + 8;
    const perSeries = 4 + 1 + 8 + 8;
    let sketches = 0;
    for (let i = 0; i < this.used; i++) {
      const sk = this.sketch[i];
      if (sk) sketches += 64 + 16 * (sk.posKeys.length + sk.negKeys.length);
    }
    return this.cap * perSlot + this.head.length * perSeries + sketches;
  }

  /** Adds a sample of the head's batch form. `kind` is the sample kind code. */
  add(series: number, ts: number, kind: number, valid: boolean, value: number, big?: bigint): void {
    if (!valid) return this.addError(series, ts);
    if (kind === KIND_CODE.gauge) this.addGauge(series, ts, value);
    else if (kind === KIND_CODE.counter) this.addCounter(series, ts, value, big);
    else if (kind === KIND_CODE.text) this.addText(series, ts);
  }

  /** Adds a gauge value. */
  addGauge(series: number, ts: number, value: number): void {
    if (series >= this.head.length) this.ensureSeries(series);
    const slot = this.slotFor(series, ts - (ts % BUCKET_MS), GAUGE);
    if (slot >= 0) this.addValue(slot, value, ts);
  }

  /** Adds a counter sample: the rate since the previous sample goes to this sample's bucket. */
  addCounter(series: number, ts: number, value: number, big?: bigint): void {
    if (series >= this.head.length) this.ensureSeries(series);
    const prevTs = this.prevTs[series];
    const slot = this.slotFor(series, ts - (ts % BUCKET_MS), RATE);
    if (slot < 0) return;
    if (ts <= prevTs) return this.touch(slot, ts); // out of order or duplicate: no rate
    const bigs = this.prevBig;
    if (prevTs !== -Infinity) {
      const prev = bigs.size > 0 ? bigs.get(series) ?? this.prevVal[series] : this.prevVal[series];
      const rate = counterIncrease(prev, big ?? value) / ((ts - prevTs) / 1000);
      this.addValue(slot, rate, ts);
    } else this.touch(slot, ts);
    this.prevTs[series] = ts;
    this.prevVal[series] = value;
    if (big !== undefined) bigs.set(series, big);
    else if (bigs.size > 0) bigs.delete(series);
  }

  /** Counts a text sample. */
  addText(series: number, ts: number): void {
    if (series >= this.head.length) this.ensureSeries(series);
    const slot = this.slotFor(series, ts - (ts % BUCKET_MS), TEXT);
    if (slot < 0) return;
    this.s.count[slot]++;
    this.touch(slot, ts);
  }

  /** Counts a failed poll in the series' bucket. */
  addError(series: number, ts: number): void {
    this.ensureSeries(series);
    const bucket = bucketStart("5min", ts);
    const slot = this.findSlot(series, bucket) ?? this.allocSlot(series, bucket, this.seriesKind[series] || GAUGE);
    this.s.errorCount[slot]++;
    this.touch(slot, ts);
  }

  /** Whether some open bucket ends at or before `watermarkMs`. */
  hasClosed(watermarkMs: number): boolean {
    const { series, bucket, kind } = this.s;
    for (let slot = 0; slot < this.used; slot++) {
      if (series[slot] >= 0 && kind[slot] < SEALED && bucket[slot] + BUCKET_MS <= watermarkMs) return true;
    }
    return false;
  }

  /**
   * Seals every open bucket whose end is at or before `watermarkMs` where it lies, for a flush
   * (see {@link SealedBuckets}): no copy, so the cut costs a pass over the slots whatever the buckets
   * hold (copying a backfilled day's 2.88 M closed buckets out stalled the event loop for seconds).
   * Sealed buckets leave the open state (the snapshot, {@link openBuckets}); samples of their
   * (series, bucket) open a new, late bucket; queries still read them ({@link bucketsOf}) until the
   * flush ends with {@link releaseSealed} (committed: their rows are in Parquet) or {@link unseal}.
   */
  seal(watermarkMs: number): SealedBuckets {
    // the last seal's list when large enough (fresh pages cost a fault per 4 KiB)
    const used = this.used, spare = this.sealedSpare;
    this.sealedSpare = null;
    const list = spare && spare.length >= used ? spare : new Int32Array(Math.ceil(used * 1.25) + 16);
    let n = 0;
    const { series, bucket, kind, nvals } = this.s;
    const sketched: number[] = [];
    for (let slot = 0; slot < used; slot++) {
      if (series[slot] >= 0 && kind[slot] < SEALED && bucket[slot] + BUCKET_MS <= watermarkMs) {
        kind[slot] |= SEALED;
        if (nvals[slot] === SKETCH_MODE) sketched.push(n);
        list[n++] = slot;
      }
    }
    const slots = list.subarray(0, n);
    const sealed: SealedBuckets = { n, inline: this.inline, cols: this.s, slots, sketches: [] };
    for (const i of sketched) sealed.sketches.push([i, this.sketch[slots[i]]!.encode()]);
    this.live -= n;
    return sealed;
  }

  /**
   * Copies sealed buckets [from, to) into buckets [from, to) of `out` (`kind` unmarked; their sketches
   * are the seal's) and frees their slots. The last range ends the seal.
   */
  takeSealed(sealed: SealedBuckets, out: ClosedSlice, from: number, to: number): void {
    const slots = sealed.slots.subarray(from, to);
    copySlots(out, sealed.cols, slots, to - from, this.inline, from);
    const kind = out.kind;
    for (let i = from; i < to; i++) kind[i] &= ~SEALED;
    this.releaseSealed(sealed, from, to);
  }

  /** Frees sealed buckets [from, to) (their rows are elsewhere now); the last range ends the seal. */
  releaseSealed(sealed: SealedBuckets, from = 0, to = sealed.n): void {
    this.releaseSlots(sealed.slots.subarray(from, to), to - from);
    if (to < sealed.n) return;
    const buffer = sealed.slots.buffer;
    this.sealedSpare = new Int32Array(buffer, 0, buffer.byteLength / 4);
  }

  /**
   * Ends a seal whose flush failed: its buckets from `from` on are open again, merged into a bucket of
   * the same key opened meanwhile by a late sample.
   */
  unseal(sealed: SealedBuckets, from = 0): void {
    const s = this.s, rows: BucketRow[] = [];
    for (let i = from; i < sealed.n; i++) {
      const slot = sealed.slots[i];
      const agg = aggregateAt(s, slot, this.inline, this.accuracy, this.sketch[slot]);
      rows.push({ series: s.series[slot], bucket: s.bucket[slot], kind: s.kind[slot] & ~SEALED, agg });
    }
    this.releaseSealed(sealed, from);
    for (const row of rows) this.restoreBucket(row);
  }

  /**
   * Removes every bucket whose end is at or before `watermarkMs` and returns them as columns (series
   * are head ids), in `reuse`'s memory when it is large enough: {@link seal}, copied out, released.
   */
  extractClosed(watermarkMs: number, reuse: ClosedSlice | null = null): ClosedSlice {
    const sealed = this.seal(watermarkMs);
    const out = gatherSealed(sealed, reuse);
    this.releaseSealed(sealed);
    return out;
  }

  /**
   * Frees `slots` (the first `count`, sealed), unlinking them from their series' lists in one pass per
   * list: a slot at a time walked each list from its head, quadratic in the buckets a series holds (a
   * backfilled day: 288 per series, 7 s of the cut at 10,000 series).
   */
  private releaseSlots(slots: Int32Array, count: number): void {
    const s = this.s, next = this.next, head = this.head, free = this.free, sketch = this.sketch;
    const mark = this.releaseMark, pass = ++this.releasePass;
    const touched = new Int32Array(Math.min(count, head.length));
    let listed = 0, top = this.freeCount;
    for (let i = 0; i < count; i++) {
      const slot = slots[i];
      const series = s.series[slot];
      if (mark[series] !== pass) {
        mark[series] = pass;
        touched[listed++] = series;
      }
      s.series[slot] = -1; // marks the slot dead for the pass below
      sketch[slot] = null;
      free[top++] = slot;
    }
    this.freeCount = top;
    for (let k = 0; k < listed; k++) {
      const series = touched[k];
      let prev = -1;
      for (let slot = head[series]; slot >= 0; slot = next[slot]) {
        if (s.series[slot] >= 0) prev = slot;
        else if (prev < 0) head[series] = next[slot];
        else next[prev] = next[slot];
      }
    }
  }

  /** Puts buckets back (a failed flush): merged into whatever is open for the same key now. */
  restoreSlice(slice: ClosedSlice): void {
    for (const row of sliceRows(slice, this.accuracy)) this.restoreBucket(row);
  }

  /** Open and sealed buckets of `series` overlapping [fromMs, toMs), as rows (copies). */
  bucketsOf(series: number, fromMs: number, toMs: number): BucketRow[] {
    const rows: BucketRow[] = [];
    if (series >= this.head.length) return rows;
    const s = this.s;
    for (let slot = this.head[series]; slot >= 0; slot = this.next[slot]) {
      if (s.bucket[slot] + BUCKET_MS > fromMs && s.bucket[slot] < toMs) {
        const agg = aggregateAt(s, slot, this.inline, this.accuracy, this.sketch[slot]);
        rows.push({ series: s.series[slot], bucket: s.bucket[slot], kind: s.kind[slot] & ~SEALED, agg });
      }
    }
    return rows.sort((a, b) => a.bucket - b.bucket);
  }

  /**
   * A copy of the open state (counter states and open buckets) for a snapshot: typed-array copies,
   * cheap enough for the flush's cut; {@link writeAggregatorState} encodes it later, off the cut.
   * The copy reuses the previous capture's memory: it is valid until the next capture (flushes run
   * one at a time).
   */
  captureState(): AggregatorState {
    const { s, used, inline, live, sketch, prevTs, prevVal, prevBig } = this;
    // the live slots only: `used` is a high-water mark (after a backfilled day, millions of free slots)
    if (this.slots.length < used) this.slots = new Int32Array(this.cap);
    let count = 0;
    for (let slot = 0; slot < used; slot++) {
      if (s.series[slot] >= 0 && s.kind[slot] < SEALED) this.slots[count++] = slot;
    }
    const open = { cols: s, slots: this.slots, count, inline, live, sketches: sketch, prevTs, prevVal, prevBig };
    const st = captureState(open, this.spare);
    this.spare = st;
    return st;
  }

  /** Lets the last capture go once it is encoded: its memory counts against the budget until the next flush. */
  releaseCapture(): void {
    this.spare = null;
  }

  /** Restores what {@link writeAggregatorState} wrote; `mapSeries` turns snapshot ids into head ids. */
  decodeState(r: ByteReader, mapSeries: (id: number) => number): void {
    readAggregatorState(r, mapSeries, this);
  }

  /** The counter state of every series that has one. */
  counterStates(): Map<number, CounterState> {
    const out = new Map<number, CounterState>();
    for (let s = 0; s < this.prevTs.length; s++) {
      if (this.prevTs[s] === -Infinity) continue;
      const st: CounterState = { ts: this.prevTs[s], value: this.prevVal[s] };
      const big = this.prevBig.get(s);
      if (big !== undefined) st.big = big;
      out.set(s, st);
    }
    return out;
  }

  /**
   * Forgets series `series` when it has no open bucket (idle expiry): its counter state goes. Returns
   * false, changing nothing, when a bucket of it is still open.
   */
  dropSeries(series: number): boolean {
    if (series >= this.head.length) return true;
    if (this.head[series] >= 0) return false;
    this.prevTs[series] = -Infinity;
    this.prevVal[series] = 0;
    this.prevBig.delete(series);
    this.seriesKind[series] = 0;
    return true;
  }

  /** Restores a counter state (snapshot loading). */
  restoreCounter(series: number, state: CounterState): void {
    this.ensureSeries(series);
    this.prevTs[series] = state.ts;
    this.prevVal[series] = state.value;
    if (state.big !== undefined) this.prevBig.set(series, state.big);
    this.seriesKind[series] = RATE;
  }

  /** Restores an open bucket (snapshot loading, a failed flush); merges if the bucket is already open. */
  restoreBucket(row: BucketRow): void {
    this.ensureSeries(row.series);
    const slot = this.findSlot(row.series, row.bucket) ?? this.allocSlot(row.series, row.bucket, row.kind);
    const a = row.agg;
    for (const st of STATS) {
      const col = this.s[st.name];
      col[slot] = combine(st.merge, col[slot], a[st.name]);
    }
    if (this.accuracy === null) return;
    for (const v of a.values ?? []) this.keepValue(slot, v);
    if (a.sketch) this.materialize(slot).merge(a.sketch);
  }

  private materialize(slot: number): BinSketch {
    let sketch = this.sketch[slot];
    if (!sketch) {
      sketch = new BinSketch(this.accuracy!);
      const base = slot * this.inline;
      for (let i = 0; i < this.s.nvals[slot]; i++) sketch.add(this.s.values[base + i]);
      this.sketch[slot] = sketch;
      this.s.nvals[slot] = SKETCH_MODE;
    }
    return sketch;
  }

  /** How a value contributes to each statistic of its bucket. */
  private addValue(slot: number, value: number, ts: number): void {
    const s = this.s;
    s.count[slot]++;
    s.sum[slot] += value;
    if (value < s.min[slot]) s.min[slot] = value;
    if (value > s.max[slot]) s.max[slot] = value;
    this.touch(slot, ts);
    if (this.accuracy !== null) this.keepValue(slot, value);
  }

  /** Keeps a value for percentiles: inline while there is room, else in the sketch. */
  private keepValue(slot: number, value: number): void {
    const n = this.s.nvals[slot];
    if (n < this.inline) {
      this.s.values[slot * this.inline + n] = value;
      this.s.nvals[slot] = n + 1;
    } else this.materialize(slot).add(value);
  }

  private touch(slot: number, ts: number): void {
    const s = this.s;
    if (ts < s.firstTs[slot]) s.firstTs[slot] = ts;
    if (ts > s.lastTs[slot]) s.lastTs[slot] = ts;
  }

  /** The slot for (series, bucket), allocated when new; -1 when the open bucket has another kind. */
  private slotFor(series: number, bucket: number, kind: number): number {
    if (this.seriesKind[series] === 0) this.seriesKind[series] = kind;
    const s = this.s;
    let slot = this.head[series];
    while (slot >= 0 && (s.bucket[slot] !== bucket || s.kind[slot] >= SEALED)) slot = this.next[slot];
    if (slot < 0) return this.allocSlot(series, bucket, kind);
    if (s.kind[slot] !== kind) {
      if (s.count[slot] === 0) s.kind[slot] = kind; // only errors so far: adopt the kind
      else {
        this.kindMismatches++;
        return -1;
      }
    }
    return slot;
  }

  private findSlot(series: number, bucket: number): number | undefined {
    for (let slot = this.head[series]; slot >= 0; slot = this.next[slot]) {
      if (this.s.bucket[slot] === bucket && this.s.kind[slot] < SEALED) return slot;
    }
    return undefined;
  }

  private allocSlot(series: number, bucket: number, kind: number): number {
    let slot = this.freeCount > 0 ? this.free[--this.freeCount] : -1;
    if (slot < 0) {
      if (this.used === this.cap) this.growSlots(this.cap * 2);
      slot = this.used++;
    }
    const s = this.s;
    s.series[slot] = series;
    this.next[slot] = this.head[series];
    this.head[series] = slot;
    s.bucket[slot] = bucket;
    s.kind[slot] = kind;
    const stats = this.statColumns;
    for (let k = 0; k < stats.length; k++) stats[k][slot] = EMPTY_VALUES[k];
    s.nvals[slot] = 0;
    this.sketch[slot] = null;
    this.live++;
    return slot;
  }

  private ensureSeries(series: number): void {
    if (series < this.head.length) return;
    const size = Math.max(series + 1, this.head.length * 2);
    const head = new Int32Array(size).fill(-1);
    head.set(this.head);
    this.head = head;
    const kind = new Uint8Array(size);
    kind.set(this.seriesKind);
    this.seriesKind = kind;
    const prevTs = new Float64Array(size).fill(-Infinity);
    prevTs.set(this.prevTs);
    this.prevTs = prevTs;
    const prevVal = new Float64Array(size);
    prevVal.set(this.prevVal);
    this.prevVal = prevVal;
    const mark = new Int32Array(size);
    mark.set(this.releaseMark);
    this.releaseMark = mark;
  }

  private growSlots(cap: number): void {
    this.s = resizeColumns(this.s, cap, this.inline);
    this.statColumns = STATS.map((st) => this.s[st.name]);
    const next = new Int32Array(cap);
    next.set(this.next);
    this.next = next;
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.freeCount));
    this.free = free;
    this.cap = cap;
  }
}

/** The statistics of an empty bucket, in `STATS` order. */
const EMPTY_VALUES: readonly number[] = STATS.map((st) => st.empty);
