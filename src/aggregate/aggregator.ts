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
import { Aggregate, INLINE_VALUES, VALUE_KIND_CODE } from "../model/aggregate.ts";
import { KIND_CODE } from "../model/sample.ts";
import { bucketStart } from "../model/tier.ts";
import { counterIncrease } from "./counter_rate.ts";
import { BinSketch } from "../model/bin_sketch.ts";
import { type ClosedSlice, SKETCH_MODE } from "./flush_batch.ts";
import type { ByteReader, ByteWriter } from "../model/bytes.ts";
import { copyReusing } from "../model/typed.ts";

const BUCKET_MS = 300_000;

/** The open state of an aggregator, copied at a snapshot's cut (see {@link Aggregator.captureState}). */
export interface AggregatorState {
  /** Counter state per series (-Infinity: none). */
  prevTs: Float64Array;
  prevVal: Float64Array;
  prevBig: Map<number, bigint>;
  /** Open buckets. */
  live: number;
  /** The bucket slots, free ones included (series -1); `nvals` SKETCH_MODE: the sketch is in `sketches`. */
  slots: ClosedSlice;
}

/**
 * Writes a captured open state (counter states and open buckets) in the snapshot layout
 * (docs/format/snapshot.md); yields every few thousand buckets so a caller can let requests in.
 * Buckets still in inline mode keep their exact values.
 */
export function* writeAggregatorState(w: ByteWriter, st: AggregatorState): Generator<void, void> {
  const counters: number[] = [];
  for (let s = 0; s < st.prevTs.length; s++) if (st.prevTs[s] !== -Infinity) counters.push(s);
  w.varint(counters.length);
  for (let k = 0; k < counters.length; k++) {
    const s = counters[k];
    w.varint(s);
    w.zigzag(st.prevTs[s]);
    const big = st.prevBig.get(s);
    w.u8(big === undefined ? 0 : 1);
    if (big === undefined) w.varint(st.prevVal[s]);
    else w.bigVarint(big);
    if ((k & 8191) === 8191) yield;
  }
  w.varint(st.live);
  const b = st.slots;
  const sketches = new Map(b.sketches);
  for (let slot = 0; slot < b.n; slot++) {
    if (b.series[slot] < 0) continue;
    w.varint(b.series[slot]);
    w.zigzag(b.start[slot]);
    w.u8(b.kind[slot]);
    w.varint(b.count[slot]);
    w.varint(b.errors[slot]);
    w.f64(b.sum[slot]);
    w.f64(b.min[slot]);
    w.f64(b.max[slot]);
    w.f64(b.first[slot]);
    w.f64(b.last[slot]);
    const n = b.nvals[slot];
    if (n === SKETCH_MODE) {
      const sketch = sketches.get(slot)!;
      w.u8(SKETCH_MODE);
      w.varint(sketch.length);
      w.raw(sketch);
    } else {
      w.u8(n);
      for (let i = 0; i < n; i++) w.f64(b.values[slot * b.inline + i]);
    }
    if ((slot & 8191) === 8191) yield;
  }
}

const GAUGE = VALUE_KIND_CODE.gauge;
const RATE = VALUE_KIND_CODE.rate;
const TEXT = VALUE_KIND_CODE.text;

/** One bucket as an object: its series, start, value kind and aggregate. */
export interface BucketRow {
  series: number;
  start: number;
  kind: number;
  agg: Aggregate;
}

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
 * The aggregator.
 *
 * @example
 * ```ts
 * import { Aggregator } from "./aggregator.ts";
 * const a = new Aggregator({ accuracy: 0.01 });
 * a.addGauge(0, 60_000, 5);
 * a.addGauge(0, 120_000, 7);
 * const [row] = a.extractClosed(300_000);
 * if (row.agg.count !== 2 || row.agg.sum !== 12) throw new Error();
 * ```
 */
export class Aggregator {
  readonly accuracy: number | null;
  readonly inline: number;
  /** Samples of a kind that did not match their bucket's kind (counted, not aggregated). */
  kindMismatches = 0;
  private head = new Int32Array(1024).fill(-1);
  private seriesKind = new Uint8Array(1024);
  private prevTs = new Float64Array(1024).fill(-Infinity);
  private prevVal = new Float64Array(1024);
  private prevBig = new Map<number, bigint>();
  private cap = 0;
  private used = 0;
  private free: number[] = [];
  private live = 0;
  private sSeries = new Int32Array(0);
  private sNext = new Int32Array(0);
  private sStart = new Float64Array(0);
  private sKind = new Uint8Array(0);
  private sCount = new Float64Array(0);
  private sErrors = new Float64Array(0);
  private sSum = new Float64Array(0);
  private sMin = new Float64Array(0);
  private sMax = new Float64Array(0);
  private sFirst = new Float64Array(0);
  private sLast = new Float64Array(0);
  private sN = new Uint8Array(0);
  private sVals = new Float64Array(0);
  private sSketch: (BinSketch | null)[] = [];
  /** The previous capture, whose memory the next one reuses. */
  private spare: AggregatorState | null = null;

  constructor(opts: AggregatorOptions) {
    this.accuracy = opts.accuracy;
    this.inline = opts.accuracy === null ? 0 : Math.min(opts.inline ?? INLINE_VALUES, 254);
    this.growSlots(1024);
  }

  /** Number of open buckets. */
  get openBuckets(): number {
    return this.live;
  }

  /** Approximate bytes held by the open state. */
  memoryBytes(): number {
    const perSlot = 4 + 4 + 8 + 1 + 8 * 9 + 1 + 8 * this.inline + 8;
    const perSeries = 4 + 1 + 8 + 8;
    let sketches = 0;
    for (let i = 0; i < this.used; i++) {
      const sk = this.sSketch[i];
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
    this.sCount[slot]++;
    this.touch(slot, ts);
  }

  /** Counts a failed poll in the series' bucket. */
  addError(series: number, ts: number): void {
    this.ensureSeries(series);
    const start = bucketStart("5min", ts);
    const slot = this.findSlot(series, start) ?? this.allocSlot(series, start, this.seriesKind[series] || GAUGE);
    this.sErrors[slot]++;
    this.touch(slot, ts);
  }

  /** Whether some open bucket ends at or before `watermarkMs`. */
  hasClosed(watermarkMs: number): boolean {
    for (let slot = 0; slot < this.used; slot++) {
      if (this.sSeries[slot] >= 0 && this.sStart[slot] + BUCKET_MS <= watermarkMs) return true;
    }
    return false;
  }

  /**
   * Removes every bucket whose end is at or before `watermarkMs` and returns them as columns (series
   * are head ids). Cheap: typed-array copies, no object per bucket.
   */
  extractClosed(watermarkMs: number): ClosedSlice {
    const slots: number[] = [];
    for (let slot = 0; slot < this.used; slot++) {
      if (this.sSeries[slot] >= 0 && this.sStart[slot] + BUCKET_MS <= watermarkMs) slots.push(slot);
    }
    const out = emptySlice(slots.length, this.inline);
    slots.forEach((slot, i) => {
      out.series[i] = this.sSeries[slot];
      out.start[i] = this.sStart[slot];
      out.kind[i] = this.sKind[slot];
      out.count[i] = this.sCount[slot];
      out.errors[i] = this.sErrors[slot];
      out.sum[i] = this.sSum[slot];
      out.min[i] = this.sMin[slot];
      out.max[i] = this.sMax[slot];
      out.first[i] = this.sFirst[slot];
      out.last[i] = this.sLast[slot];
      const sketch = this.sSketch[slot];
      if (sketch) {
        out.nvals[i] = SKETCH_MODE;
        out.sketches.push([i, sketch.encode()]);
      } else {
        const n = this.accuracy === null ? 0 : this.sN[slot];
        out.nvals[i] = n;
        // at most `inline` values: a loop, not a subarray view per bucket
        const from = slot * this.inline, to = i * this.inline;
        for (let k = 0; k < n; k++) out.values[to + k] = this.sVals[from + k];
      }
      this.releaseSlot(slot);
    });
    return out;
  }

  /** Puts buckets back (a failed flush): merged into whatever is open for the same key now. */
  restoreSlice(slice: ClosedSlice): void {
    for (const row of sliceRows(slice, this.accuracy)) this.restoreBucket(row);
  }

  /** Open buckets of `series` overlapping [fromMs, toMs), as rows (copies). */
  bucketsOf(series: number, fromMs: number, toMs: number): BucketRow[] {
    const rows: BucketRow[] = [];
    if (series >= this.head.length) return rows;
    for (let slot = this.head[series]; slot >= 0; slot = this.sNext[slot]) {
      if (this.sStart[slot] + BUCKET_MS > fromMs && this.sStart[slot] < toMs) rows.push(this.rowOf(slot));
    }
    return rows.sort((a, b) => a.start - b.start);
  }

  /**
   * A copy of the open state (counter states and open buckets) for a snapshot: typed-array copies,
   * cheap enough for the flush's cut; {@link writeAggregatorState} encodes it later, off the cut.
   * Buckets that hold a sketch are encoded now (rare: only past `inline` values). The copy reuses the
   * previous capture's memory: it is valid until the next capture (flushes run one at a time).
   */
  captureState(): AggregatorState {
    const n = this.used;
    const sp = this.spare?.slots ?? null;
    const sketches: [number, Uint8Array][] = [];
    const nvals = copyReusing(this.sN, n, sp?.nvals ?? null);
    for (let slot = 0; slot < n; slot++) {
      const sketch = this.sSketch[slot];
      if (sketch && this.sSeries[slot] >= 0) {
        sketches.push([slot, sketch.encode()]);
        nvals[slot] = SKETCH_MODE;
      }
    }
    const series = this.prevTs.length;
    const st: AggregatorState = {
      prevTs: copyReusing(this.prevTs, series, this.spare?.prevTs ?? null),
      prevVal: copyReusing(this.prevVal, series, this.spare?.prevVal ?? null),
      prevBig: new Map(this.prevBig),
      live: this.live,
      slots: {
        n,
        inline: this.inline,
        series: copyReusing(this.sSeries, n, sp?.series ?? null),
        start: copyReusing(this.sStart, n, sp?.start ?? null),
        kind: copyReusing(this.sKind, n, sp?.kind ?? null),
        count: copyReusing(this.sCount, n, sp?.count ?? null),
        errors: copyReusing(this.sErrors, n, sp?.errors ?? null),
        sum: copyReusing(this.sSum, n, sp?.sum ?? null),
        min: copyReusing(this.sMin, n, sp?.min ?? null),
        max: copyReusing(this.sMax, n, sp?.max ?? null),
        first: copyReusing(this.sFirst, n, sp?.first ?? null),
        last: copyReusing(this.sLast, n, sp?.last ?? null),
        nvals,
        values: copyReusing(this.sVals, n * this.inline, sp?.values ?? null),
        sketches,
      },
    };
    this.spare = st;
    return st;
  }

  /** Lets the last capture go once it is encoded: its memory counts against the budget until the next flush. */
  releaseCapture(): void {
    this.spare = null;
  }

  /** Restores what {@link writeAggregatorState} wrote; `mapSeries` turns snapshot ids into head ids. */
  decodeState(r: ByteReader, mapSeries: (id: number) => number): void {
    const counters = r.varint();
    for (let k = 0; k < counters; k++) {
      const series = mapSeries(r.varint());
      const ts = r.zigzag();
      const isBig = r.u8() === 1;
      const v = isBig ? r.varint64() : r.varint();
      const big = typeof v === "bigint" ? v : undefined;
      this.restoreCounter(series, { ts, value: Number(v), big });
    }
    const buckets = r.varint();
    for (let k = 0; k < buckets; k++) this.decodeSlot(r, mapSeries);
  }

  private decodeSlot(r: ByteReader, mapSeries: (id: number) => number): void {
    const series = mapSeries(r.varint());
    const start = r.zigzag();
    const kind = r.u8();
    const agg = Aggregate.stored(this.accuracy, null, null);
    agg.count = r.varint();
    agg.errorCount = r.varint();
    agg.sum = r.f64();
    agg.min = r.f64();
    agg.max = r.f64();
    agg.firstTs = r.f64();
    agg.lastTs = r.f64();
    const n = r.u8();
    if (n === SKETCH_MODE) {
      const bytes = r.raw(r.varint());
      if (this.accuracy !== null) agg.sketch = BinSketch.decode(bytes, this.accuracy);
    } else {
      agg.values = [];
      for (let i = 0; i < n; i++) agg.values.push(r.f64());
    }
    this.restoreBucket({ series, start, kind, agg });
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

  /** Restores a counter state (snapshot loading). */
  restoreCounter(series: number, state: CounterState): void {
    this.ensureSeries(series);
    this.prevTs[series] = state.ts;
    this.prevVal[series] = state.value;
    if (state.big !== undefined) this.prevBig.set(series, state.big);
    this.seriesKind[series] = RATE;
  }

  /** Restores an open bucket (snapshot loading); merges if the bucket is already open. */
  restoreBucket(row: BucketRow): void {
    this.ensureSeries(row.series);
    const slot = this.findSlot(row.series, row.start) ?? this.allocSlot(row.series, row.start, row.kind);
    const a = row.agg;
    this.sCount[slot] += a.count;
    this.sErrors[slot] += a.errorCount;
    this.sSum[slot] += a.sum;
    if (a.min < this.sMin[slot]) this.sMin[slot] = a.min;
    if (a.max > this.sMax[slot]) this.sMax[slot] = a.max;
    this.touch(slot, a.firstTs);
    this.touch(slot, a.lastTs);
    if (this.accuracy === null) return;
    for (const v of a.values ?? []) this.keepValue(slot, v);
    if (a.sketch) this.materialize(slot).merge(a.sketch);
  }

  private rowOf(slot: number): BucketRow {
    const agg = new Aggregate(this.accuracy);
    agg.count = this.sCount[slot];
    agg.errorCount = this.sErrors[slot];
    agg.sum = this.sSum[slot];
    agg.min = this.sMin[slot];
    agg.max = this.sMax[slot];
    agg.firstTs = this.sFirst[slot];
    agg.lastTs = this.sLast[slot];
    if (this.accuracy !== null) {
      const sketch = this.sSketch[slot];
      if (sketch) {
        agg.values = null;
        agg.sketch = sketch.clone();
      } else agg.values = Array.from(this.sVals.subarray(slot * this.inline, slot * this.inline + this.sN[slot]));
    }
    return { series: this.sSeries[slot], start: this.sStart[slot], kind: this.sKind[slot], agg };
  }

  private materialize(slot: number): BinSketch {
    let sketch = this.sSketch[slot];
    if (!sketch) {
      sketch = new BinSketch(this.accuracy!);
      const base = slot * this.inline;
      for (let i = 0; i < this.sN[slot]; i++) sketch.add(this.sVals[base + i]);
      this.sSketch[slot] = sketch;
      this.sN[slot] = SKETCH_MODE;
    }
    return sketch;
  }

  private addValue(slot: number, value: number, ts: number): void {
    this.sCount[slot]++;
    this.sSum[slot] += value;
    if (value < this.sMin[slot]) this.sMin[slot] = value;
    if (value > this.sMax[slot]) this.sMax[slot] = value;
    this.touch(slot, ts);
    if (this.accuracy !== null) this.keepValue(slot, value);
  }

  /** Keeps a value for percentiles: inline while there is room, else in the sketch. */
  private keepValue(slot: number, value: number): void {
    const n = this.sN[slot];
    if (n < this.inline) {
      this.sVals[slot * this.inline + n] = value;
      this.sN[slot] = n + 1;
    } else this.materialize(slot).add(value);
  }

  private touch(slot: number, ts: number): void {
    if (ts < this.sFirst[slot]) this.sFirst[slot] = ts;
    if (ts > this.sLast[slot]) this.sLast[slot] = ts;
  }

  /** The slot for (series, start), allocated when new; -1 when the open bucket has another kind. */
  private slotFor(series: number, start: number, kind: number): number {
    if (this.seriesKind[series] === 0) this.seriesKind[series] = kind;
    let slot = this.head[series];
    while (slot >= 0 && this.sStart[slot] !== start) slot = this.sNext[slot];
    if (slot < 0) return this.allocSlot(series, start, kind);
    if (this.sKind[slot] !== kind) {
      if (this.sCount[slot] === 0) this.sKind[slot] = kind; // only errors so far: adopt the kind
      else {
        this.kindMismatches++;
        return -1;
      }
    }
    return slot;
  }

  private findSlot(series: number, start: number): number | undefined {
    for (let slot = this.head[series]; slot >= 0; slot = this.sNext[slot]) {
      if (this.sStart[slot] === start) return slot;
    }
    return undefined;
  }

  private allocSlot(series: number, start: number, kind: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.cap) this.growSlots(this.cap * 2);
      slot = this.used++;
    }
    this.sSeries[slot] = series;
    this.sNext[slot] = this.head[series];
    this.head[series] = slot;
    this.sStart[slot] = start;
    this.sKind[slot] = kind;
    this.sCount[slot] = 0;
    this.sErrors[slot] = 0;
    this.sSum[slot] = 0;
    this.sMin[slot] = Infinity;
    this.sMax[slot] = -Infinity;
    this.sFirst[slot] = Infinity;
    this.sLast[slot] = -Infinity;
    this.sN[slot] = 0;
    this.sSketch[slot] = null;
    this.live++;
    return slot;
  }

  private releaseSlot(slot: number): void {
    const series = this.sSeries[slot];
    if (this.head[series] === slot) this.head[series] = this.sNext[slot];
    else {
      let p = this.head[series];
      while (this.sNext[p] !== slot) p = this.sNext[p];
      this.sNext[p] = this.sNext[slot];
    }
    this.sSeries[slot] = -1;
    this.sSketch[slot] = null;
    this.free.push(slot);
    this.live--;
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
  }

  private growSlots(cap: number): void {
    const copy = <T extends Int32Array | Float64Array | Uint8Array>(a: T, n: number): T => {
      const out = new (a.constructor as new (n: number) => T)(n);
      out.set(a);
      return out;
    };
    this.sSeries = copy(this.sSeries, cap).fill(-1, this.cap);
    this.sNext = copy(this.sNext, cap);
    this.sStart = copy(this.sStart, cap);
    this.sKind = copy(this.sKind, cap);
    this.sCount = copy(this.sCount, cap);
    this.sErrors = copy(this.sErrors, cap);
    this.sSum = copy(this.sSum, cap);
    this.sMin = copy(this.sMin, cap);
    this.sMax = copy(this.sMax, cap);
    this.sFirst = copy(this.sFirst, cap);
    this.sLast = copy(this.sLast, cap);
    this.sN = copy(this.sN, cap);
    this.sVals = copy(this.sVals, cap * this.inline);
    this.cap = cap;
  }
}

/** An empty closed slice of `n` buckets. */
export function emptySlice(n: number, inline: number): ClosedSlice {
  return {
    n,
    inline,
    series: new Int32Array(n),
    start: new Float64Array(n),
    kind: new Uint8Array(n),
    count: new Float64Array(n),
    errors: new Float64Array(n),
    sum: new Float64Array(n),
    min: new Float64Array(n),
    max: new Float64Array(n),
    first: new Float64Array(n),
    last: new Float64Array(n),
    nvals: new Uint8Array(n),
    values: new Float64Array(n * inline),
    sketches: [],
  };
}

/** Bucket `i` of a slice as an aggregate (a copy); `sketches` maps bucket → sketch bytes. */
export function sliceAggregate(
  s: ClosedSlice,
  i: number,
  accuracy: number | null,
  sketches: ReadonlyMap<number, Uint8Array> = new Map(s.sketches),
): Aggregate {
  const agg = Aggregate.stored(accuracy, null, null);
  agg.count = s.count[i];
  agg.errorCount = s.errors[i];
  agg.sum = s.sum[i];
  agg.min = s.min[i];
  agg.max = s.max[i];
  agg.firstTs = s.first[i];
  agg.lastTs = s.last[i];
  if (accuracy === null) return agg;
  if (s.nvals[i] === SKETCH_MODE) {
    const bytes = sketches.get(i);
    if (bytes) agg.sketch = BinSketch.decode(bytes, accuracy);
  } else agg.values = Array.from(s.values.subarray(i * s.inline, i * s.inline + s.nvals[i]));
  return agg;
}

/** The buckets of a slice as rows (series are whatever ids the slice holds). */
export function sliceRows(s: ClosedSlice, accuracy: number | null): BucketRow[] {
  const rows: BucketRow[] = [];
  const sketches = new Map(s.sketches);
  for (let i = 0; i < s.n; i++) {
    rows.push({
      series: s.series[i],
      start: s.start[i],
      kind: s.kind[i],
      agg: sliceAggregate(s, i, accuracy, sketches),
    });
  }
  return rows;
}
