import test from "node:test";
import assert from "node:assert/strict";
import { BYTES_PER_SAMPLE, CHUNK_SIZE, RawLog } from "../../../src/head/raw_log.ts";
import { SeriesIndex } from "../../../src/head/series.ts";
import { SampleBatch } from "../../../src/model/batch.ts";
import { counter, gauge, type Sample, text } from "../../../src/model/sample.ts";

/** Batches of mixed samples over 300 series, times out of order within a series now and then. */
function batches(count: number, size: number): SampleBatch[] {
  const index = new SeriesIndex();
  const out: SampleBatch[] = [];
  let n = 0;
  for (let b = 0; b < count; b++) {
    const samples: Sample[] = [];
    for (let k = 0; k < size; k++, n++) {
      const series = (n * 7) % 300;
      const t = 1_795_392_000_000 + n * 1_000 - (n % 11 === 0 ? 500_000 : 0);
      const s = series % 3 === 0
        ? counter("ns", `t${series}`, "octets", t, n % 13 === 0 ? 2n ** 60n + BigInt(n) : BigInt(n))
        : series % 3 === 1
        ? gauge("ns", `t${series}`, "cpu", t, n / 10)
        : text("ns", `t${series}`, "descr", t, `text ${n}`);
      if (n % 17 === 0) samples.push({ ...s, valid: false, error: `timeout ${n}` });
      else samples.push({ ...s, pollMs: n % 50 });
    }
    const batch = SampleBatch.of(samples);
    index.resolveBatch(batch);
    out.push(batch);
  }
  return out;
}

function snapshot(log: RawLog) {
  const rows = [];
  for (const { chunk, lo, hi } of log.ranges(log.start, log.end)) {
    for (let i = lo; i < hi; i++) {
      rows.push([
        chunk.ts[i],
        chunk.value[i],
        chunk.series[i],
        chunk.prev[i],
        chunk.kind[i],
        chunk.flags[i],
        chunk.pollMs[i],
        chunk.big?.get(i),
        chunk.text?.get(i),
        chunk.error?.get(i),
      ]);
    }
  }
  const bounds = [...log.ranges(log.start, log.end)].map((
    { chunk },
  ) => [chunk.base, chunk.n, chunk.minTs, chunk.maxTs]);
  return { rows, bounds, end: log.end };
}

/** Compares row by row (a whole-array diff of 90,000 rows would take minutes to print). */
function assertSameLog(actual: RawLog, expected: RawLog): void {
  const a = snapshot(actual), e = snapshot(expected);
  assert.deepEqual(a.bounds, e.bounds);
  assert.equal(a.end, e.end);
  assert.equal(a.rows.length, e.rows.length);
  for (let i = 0; i < e.rows.length; i++) assert.deepEqual(a.rows[i], e.rows[i], `position ${i}`);
}

test("appendBatch stores exactly what append does sample by sample, across chunk boundaries", () => {
  // 3 × 30,000 samples: the second batch crosses the first chunk's end, the third fills past the second's
  const input = batches(3, 30_000);
  const one = new RawLog(), bulk = new RawLog();
  for (const b of input) {
    for (let i = 0; i < b.length; i++) one.appendBatch(b.subset([i]));
    bulk.appendBatch(b);
  }
  assert.ok(bulk.end > CHUNK_SIZE);
  assertSameLog(bulk, one);
  for (const series of [0, 7, 299]) assert.deepEqual(bulk.positionsOf(series, 0), one.positionsOf(series, 0));
});

test("appendBatch after single appends continues the back links of every series", () => {
  const [a, b] = batches(2, 5_000);
  const one = new RawLog(), mixed = new RawLog();
  for (let i = 0; i < a.length; i++) [one, mixed].forEach((log) => log.appendBatch(a.subset([i])));
  for (let i = 0; i < b.length; i++) one.appendBatch(b.subset([i]));
  mixed.appendBatch(b);
  assertSameLog(mixed, one);
  assert.equal(mixed.positionsOf(14, 0).length, one.positionsOf(14, 0).length);
});

test("a chunk dropped by eviction is reused for the next one, with nothing of its old samples left", () => {
  const input = batches(12, 60_000);
  const evicting = new RawLog(), keeping = new RawLog();
  const seen = new Set<object>();
  let reused = 0;
  for (const b of input) {
    const before = new Set([...evicting.ranges(evicting.start, evicting.end)].map((r) => r.chunk));
    evicting.appendBatch(b);
    keeping.appendBatch(b);
    for (const { chunk } of evicting.ranges(evicting.start, evicting.end)) {
      if (!before.has(chunk) && seen.has(chunk)) reused++;
      seen.add(chunk);
    }
    evicting.markFlushed(evicting.end);
    evicting.evict(-Infinity, 8 * CHUNK_SIZE * BYTES_PER_SAMPLE); // 8 chunks, and 2 spares
  }
  assert.ok(reused >= 2, `reused ${reused} chunks`);
  assert.ok(evicting.start > 0);
  // every held position reads exactly what a log that never evicted holds there
  const a = snapshot(evicting), e = snapshot(keeping);
  const offset = evicting.start;
  assert.equal(a.end, e.end);
  for (let i = 0; i < a.rows.length; i++) {
    const expected = e.rows[offset + i];
    assert.deepEqual(a.rows[i], expected, `position ${offset + i}`);
  }
  for (const series of [0, 7, 299]) {
    assert.deepEqual(evicting.positionsOf(series, 0), keeping.positionsOf(series, evicting.start));
  }
});
