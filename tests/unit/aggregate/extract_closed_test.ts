import test from "node:test";
import assert from "node:assert/strict";
import { Aggregator } from "../../../src/aggregate/aggregator.ts";
import { sliceRows } from "../../../src/aggregate/aggregator_read.ts";
import { Head, pinClosed } from "../../../src/head/head.ts";
import { SampleBatch } from "../../../src/model/batch.ts";
import { gauge } from "../../../src/model/sample.ts";

const B = 300_000;

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

test("a cut's closed buckets go into the previous cut's shared memory and read exactly as in fresh memory", () => {
  const reused = new Aggregator({ accuracy: 0.01 });
  const fresh = new Aggregator({ accuracy: 0.01 });
  // window 0: many values per bucket (sketches for some), window 1: fewer buckets, fewer values each,
  // so stale values of the first cut lie beyond every bucket's count in the reused memory
  for (const a of [reused, fresh]) fill(a, 0, 300, (s) => Array.from({ length: 1 + (s % 12) }, (_, k) => s * 10 + k));
  const first = rowsOf(reused, B, null);
  assert.ok(first.slice.count.buffer instanceof SharedArrayBuffer);
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
