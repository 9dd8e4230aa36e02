/**
 * The aggregator's open state in a snapshot (docs/format/snapshot.md): captured at a flush's cut
 * (typed-array copies), written afterwards off the cut, read back at recovery. Each bucket's
 * statistics are written in `STATS` order, encoded by their type (count: varint; value, time: f64).
 *
 * @module
 */
import { Aggregate } from "../model/aggregate.ts";
import { STATS, type StatType } from "../model/aggregate_stats.ts";
import { BinSketch } from "../model/bin_sketch.ts";
import type { ByteReader, ByteWriter } from "../model/bytes.ts";
import { copyReusing } from "../model/typed.ts";
import type { BucketRow } from "./aggregator_read.ts";
import { type ClosedSlice, copySlots, sharedSlice, SKETCH_MODE, type SlotColumns } from "./bucket_columns.ts";

/** The open state of an aggregator, copied at a snapshot's cut. */
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

/** What a capture reads of an aggregator. */
export interface OpenState {
  cols: SlotColumns;
  /** The live slots (the first `count`), in slot order. */
  slots: Int32Array;
  count: number;
  inline: number;
  live: number;
  sketches: readonly (BinSketch | null)[];
  prevTs: Float64Array;
  prevVal: Float64Array;
  prevBig: Map<number, bigint>;
}

/** Where a read snapshot goes. */
export interface StateSink {
  readonly accuracy: number | null;
  restoreCounter(series: number, state: { ts: number; value: number; big?: bigint }): void;
  restoreBucket(row: BucketRow): void;
}

/**
 * A copy of the open state: typed-array copies into `spare`'s memory when given (the previous
 * capture's); buckets that hold a sketch are encoded now (rare: only past `inline` values).
 */
export function captureState(o: OpenState, spare: AggregatorState | null): AggregatorState {
  const { count, inline } = o;
  const slots = sharedSlice(count, inline, spare?.slots ?? null);
  copySlots(slots, o.cols, o.slots, count, inline);
  for (let i = 0; i < count; i++) {
    const sketch = o.sketches[o.slots[i]];
    if (sketch) {
      slots.sketches.push([i, sketch.encode()]);
      slots.nvals[i] = SKETCH_MODE;
    }
  }
  const series = o.prevTs.length;
  return {
    prevTs: copyReusing(o.prevTs, series, spare?.prevTs ?? null),
    prevVal: copyReusing(o.prevVal, series, spare?.prevVal ?? null),
    prevBig: new Map(o.prevBig),
    live: o.live,
    slots,
  };
}

const WRITE: Record<StatType, (w: ByteWriter, v: number) => void> = {
  count: (w, v) => w.varint(v),
  value: (w, v) => w.f64(v),
  time: (w, v) => w.f64(v),
};
const READ: Record<StatType, (r: ByteReader) => number> = {
  count: (r) => r.varint(),
  value: (r) => r.f64(),
  time: (r) => r.f64(),
};

/**
 * Writes a captured open state (counter states and open buckets) in the snapshot layout; yields every
 * few thousand buckets so a caller can let requests in. Buckets still in inline mode keep their exact
 * values.
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
  const stats = STATS.map((s) => b[s.name]), write = STATS.map((s) => WRITE[s.type]);
  for (let slot = 0; slot < b.n; slot++) {
    if (b.series[slot] < 0) continue;
    w.varint(b.series[slot]);
    w.zigzag(b.bucket[slot]);
    w.u8(b.kind[slot]);
    for (let k = 0; k < stats.length; k++) write[k](w, stats[k][slot]);
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

/** Reads what {@link writeAggregatorState} wrote into `sink`; `mapSeries` turns snapshot ids into head ids. */
export function readAggregatorState(r: ByteReader, mapSeries: (id: number) => number, sink: StateSink): void {
  const counters = r.varint();
  for (let k = 0; k < counters; k++) {
    const series = mapSeries(r.varint());
    const ts = r.zigzag();
    const isBig = r.u8() === 1;
    const v = isBig ? r.varint64() : r.varint();
    const big = typeof v === "bigint" ? v : undefined;
    sink.restoreCounter(series, { ts, value: Number(v), big });
  }
  const buckets = r.varint();
  for (let k = 0; k < buckets; k++) sink.restoreBucket(readBucket(r, mapSeries, sink.accuracy));
}

function readBucket(r: ByteReader, mapSeries: (id: number) => number, accuracy: number | null): BucketRow {
  const series = mapSeries(r.varint());
  const bucket = r.zigzag();
  const kind = r.u8();
  const agg = Aggregate.stored(accuracy, null, null);
  for (const s of STATS) agg[s.name] = READ[s.type](r);
  const n = r.u8();
  if (n === SKETCH_MODE) {
    const bytes = r.raw(r.varint());
    if (accuracy !== null) agg.sketch = BinSketch.decode(bytes, accuracy);
  } else {
    agg.values = [];
    for (let i = 0; i < n; i++) agg.values.push(r.f64());
  }
  return { series, bucket, kind, agg };
}
