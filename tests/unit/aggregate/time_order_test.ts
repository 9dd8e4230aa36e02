import test from "node:test";
import assert from "node:assert/strict";
import { timeOrder } from "../../../src/aggregate/time_order.ts";

/** The order a stable sort by time gives. */
function sorted(ts: number[]): number[] {
  return ts.map((t, i) => [t, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
}

const CASES: [string, number[], number[], number[] | null][] = [
  ["one sample per series, any times", [3, 1, 2], [0, 1, 2], null],
  ["every series oldest first, interleaved", [1, 5, 2, 6], [0, 1, 0, 1], null],
  ["newest first", [3, 2, 1], [0, 0, 0], [2, 1, 0]],
  ["newest first with equal times: ties keep the batch order", [3, 2, 2, 1], [0, 1, 2, 0], [3, 1, 2, 0]],
  ["mixed", [2, 3, 1, 3], [0, 0, 0, 0], [2, 0, 1, 3]],
];
for (const [name, ts, series, want] of CASES) {
  test(`timeOrder: ${name}`, () => {
    const got = timeOrder(new Float64Array(ts), new Int32Array(series), ts.length);
    assert.deepEqual(got === null ? null : [...got], want);
    if (want) assert.deepEqual(want, sorted(ts));
  });
}

test("timeOrder equals a stable sort by time for random batches", () => {
  let seed = 7;
  const r = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 200; k++) {
    const n = 1 + Math.floor(r() * 50);
    const ts = Array.from({ length: n }, () => Math.floor(r() * 10));
    if (k % 3 === 0) ts.sort((a, b) => b - a); // newest first, with ties
    const got = timeOrder(new Float64Array(ts), new Int32Array(n), n);
    assert.deepEqual(got === null ? [...Array(n).keys()] : [...got], sorted(ts), ts.join());
  }
});

test("timeOrder sorts a batch too wide for exact sort keys the same way", () => {
  const ts = [4e15, 1e12, 4e15, 2e12, 1e12];
  const got = timeOrder(new Float64Array(ts), new Int32Array(ts.length), ts.length);
  assert.deepEqual(got && [...got], sorted(ts));
});
