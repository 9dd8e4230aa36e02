import test from "node:test";
import assert from "node:assert/strict";
import { Aggregator } from "../../../src/aggregate/aggregator.ts";
import { sliceRows } from "../../../src/aggregate/aggregator_read.ts";
import { gatherSealed } from "../../../src/aggregate/bucket_columns.ts";
import { copiedClosed, Head, pinClosed } from "../../../src/head/head.ts";
import { VALUE_KIND_CODE } from "../../../src/model/aggregate.ts";
import { SampleBatch } from "../../../src/model/batch.ts";
import { gauge } from "../../../src/model/sample.ts";

const B = 300_000;
const GAUGE = VALUE_KIND_CODE.gauge;

/** What a slice holds, as plain rows (count, sum, min, max, quantiles): comparable across memory. */
function rowsOf(a: Aggregator, watermark: number, reuse: ReturnType<Aggregator["extractClosed"]> | null) {
  const slice = a.extractClosed(watermark, reuse);
  const rows = sliceRows(slice, a.accuracy).map((r) => ({
    series: r.series,
    bucket: r.bucket,
    count: r.agg.count,
    sum: r.agg.sum,
    min: r.agg.min,
    max: r.agg.max,
    p50: r.agg.quantile(0.5),
    p99: r.agg.quantile(0.99),
  }));
  return { slice, rows };
}

/** Fills `series` buckets of window `w` with `values(series)` each. */
function fill(a: Aggregator, w: number, series: number, values: (s: number) => number[]) {
  for (let s = 0; s < series; s++) {
    values(s).forEach((v, k) => a.addGauge(s, w * B + k * 1000, v));
  }
}

test("extracted closed buckets go into the previous extraction's memory and read exactly as in fresh memory", () => {
  const reused = new Aggregator({ accuracy: 0.01 });
  const fresh = new Aggregator({ accuracy: 0.01 });
  // window 0: many values per bucket (sketches for some), window 1: fewer buckets, fewer values each,
  // so stale values of the first cut lie beyond every bucket's count in the reused memory
  for (const a of [reused, fresh]) fill(a, 0, 300, (s) => Array.from({ length: 1 + (s % 12) }, (_, k) => s * 10 + k));
  const first = rowsOf(reused, B, null);
  assert.deepEqual(first.rows, rowsOf(fresh, B, null).rows);
  assert.equal(first.rows.length, 300);
  assert.ok(first.slice.sketches.length > 0, "buckets over the inline values carry sketches");

  for (const a of [reused, fresh]) fill(a, 1, 200, (s) => (s % 3 === 0 ? [] : [s + 0.5, -s]));
  const second = rowsOf(reused, 2 * B, first.slice);
  assert.equal(second.slice.count.buffer, first.slice.count.buffer, "the memory of the first cut is reused");
  assert.equal(second.slice.values.buffer, first.slice.values.buffer);
  assert.deepEqual(second.rows, rowsOf(fresh, 2 * B, null).rows);
  assert.equal(second.rows.length, 200 - 67);
  assert.equal(reused.openBuckets, 0);

  // more buckets than the reused memory holds: new memory, same contents
  for (const a of [reused, fresh]) fill(a, 2, 2_000, (s) => [s]);
  const third = rowsOf(reused, 3 * B, second.slice);
  assert.notEqual(third.slice.count.buffer, first.slice.count.buffer);
  assert.deepEqual(third.rows, rowsOf(fresh, 3 * B, null).rows);
});

test("a cut seals its closed buckets in place: queries still read them, samples open late buckets, the capture leaves them out", () => {
  const head = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 26 });
  const apply = (w: number, series: number, ts = w * B + 1000) => {
    const b = SampleBatch.of(Array.from({ length: series }, (_, s) => gauge("ns", `t${s}`, "p", ts, s + w)));
    head.series.resolveBatch(b);
    head.apply(b);
  };
  const rowsOf = (id: number) =>
    head.agg.bucketsOf(id, -Infinity, Infinity).map((r) => [r.bucket / B, r.kind, r.agg.count, r.agg.sum]);
  apply(0, 50);
  apply(1, 50);
  const sealed = head.cutSealed(B).sealed;
  assert.equal(sealed.n, 50);
  assert.equal(head.agg.openBuckets, 50, "sealed buckets are no longer open");
  assert.equal(head.agg.hasClosed(B), false, "nor closed: the next cut does not take them again");
  assert.deepEqual(rowsOf(7), [[0, GAUGE, 1, 7], [1, GAUGE, 1, 8]], "a query still reads them, kind unmarked");
  assert.equal(head.agg.captureState().live, 50);
  assert.equal(head.agg.captureState().slots.n, 50, "the snapshot holds the open buckets only");

  // a late sample of a sealed bucket opens a new bucket; the sealed one does not change
  apply(0, 1, 2000);
  assert.equal(head.agg.openBuckets, 51);
  assert.deepEqual(rowsOf(0), [[0, GAUGE, 1, 0], [0, GAUGE, 1, 0], [1, GAUGE, 1, 1]]);
  // many new series grow the aggregator's columns: the sealed buckets read the same from the cut's
  for (let w = 2; w < 6; w++) apply(w, 3_000);
  const closed = gatherSealed(sealed, null);
  assert.deepEqual(
    [...closed.sum.subarray(0, closed.n)].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, s) => s),
  );
  assert.deepEqual([...closed.kind.subarray(0, closed.n)], Array.from({ length: 50 }, () => GAUGE));

  // a failed flush: the sealed buckets are open again, merged into the late one
  head.agg.unseal(sealed);
  assert.deepEqual(rowsOf(0).filter((r) => r[0] === 0), [[0, GAUGE, 2, 0]]);
  assert.deepEqual(rowsOf(7).filter((r) => r[0] === 0), [[0, GAUGE, 1, 7]]);
  const open = head.agg.openBuckets;

  // the next cut copies them out a slice at a time: each bucket is either sealed in the aggregator or
  // copied (and its slot free), never both
  const next = head.cutSealed(2 * B);
  assert.equal(next.sealed.n, 100);
  assert.equal(head.agg.openBuckets, open - 100);
  const inMemory = () => {
    let n = 0;
    for (let id = 0; id < 50; id++) n += head.agg.bucketsOf(id, 0, 2 * B).length;
    return n;
  };
  assert.equal(head.copyClosed(next, 40), false);
  assert.equal(copiedClosed(next).n, 40);
  assert.equal(inMemory() + copiedClosed(next).n, 100);
  apply(7, 1, B + 3000); // a late sample between two slices: its own bucket
  assert.equal(head.copyClosed(next), true);
  assert.equal(inMemory(), 1, "only the late bucket");
  assert.deepEqual(
    [...next.closed.kind.subarray(0, 100)],
    Array.from({ length: 100 }, () => GAUGE),
    "copied without the seal's mark",
  );
  assert.equal(head.cutSealed(2 * B).sealed.slots.buffer, next.sealed.slots.buffer, "the seal's list is reused");
});

test("the head's cut reuses the previous cut's memory unless a query view holds it", () => {
  const head = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 26 });
  const apply = (w: number) => {
    const b = SampleBatch.of(Array.from({ length: 50 }, (_, s) => gauge("ns", `t${s}`, "p", w * B + 1000, s + w)));
    head.series.resolveBatch(b);
    head.apply(b);
  };
  apply(0);
  const first = head.cut(B).closed;
  apply(1);
  const second = head.cut(2 * B).closed;
  assert.equal(second.sum.buffer, first.sum.buffer, "a steady cut writes where the previous one did");

  // a query view took the second cut's buckets (they are in flight): the next cut must not overwrite them
  pinClosed(second);
  const before = sliceRows(second, 0.01).map((r) => [r.series, r.bucket, r.agg.sum]);
  apply(2);
  const third = head.cut(3 * B).closed;
  assert.notEqual(third.sum.buffer, second.sum.buffer);
  assert.deepEqual(sliceRows(second, 0.01).map((r) => [r.series, r.bucket, r.agg.sum]), before);
  assert.equal(third.n, 50);
  assert.deepEqual([...third.sum].sort((a, b) => a - b), Array.from({ length: 50 }, (_, s) => s + 2));

  // memory relief lets the spare go: the next cut takes new memory
  head.releaseCapture();
  apply(3);
  assert.notEqual(head.cut(4 * B).closed.sum.buffer, third.sum.buffer);
});

test("a backfilled day: the cut unlinks many closed buckets per series and leaves the open ones in place", () => {
  const a = new Aggregator({ accuracy: 0.01 });
  // 50 series × 30 buckets, added round by round as a backfill sends them
  for (let w = 0; w < 30; w++) fill(a, w, 50, (s) => [s + w]);
  const { rows } = rowsOf(a, 20 * B, null);
  assert.equal(rows.length, 50 * 20);
  assert.equal(a.openBuckets, 50 * 10);
  for (const s of [0, 17, 49]) {
    const open = a.bucketsOf(s, 0, Infinity);
    assert.deepEqual(open.map((r) => r.bucket / B), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    assert.deepEqual(open.map((r) => r.agg.max), open.map((r) => s + r.bucket / B));
  }
  a.addGauge(3, 25 * B + 5_000, -1); // into the open bucket it has, not a new one
  assert.equal(a.openBuckets, 50 * 10);
  assert.equal(a.bucketsOf(3, 25 * B, 26 * B)[0].agg.count, 2);
  // the capture holds the open buckets only, not every slot the day used
  const st = a.captureState();
  assert.equal(st.slots.n, 50 * 10);
  assert.equal(st.live, 50 * 10);
  fill(a, 30, 50, (s) => [s]); // freed slots are reused
  const last = rowsOf(a, 40 * B, null).rows;
  assert.equal(last.length, 50 * 11);
  assert.equal(a.openBuckets, 0);
  assert.equal(last.filter((r) => r.series === 3 && r.bucket === 25 * B)[0].count, 2);
});
