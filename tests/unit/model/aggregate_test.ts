import test from "node:test";
import assert from "node:assert/strict";
import { Aggregate, EXACT_VALUES, QUANTILES } from "../../../src/model/aggregate.ts";
import { rng } from "../../helpers.ts";

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

function aggregateOf(values: number[], accuracy: number, t0 = 0): Aggregate {
  const a = Aggregate.empty(accuracy);
  values.forEach((v, i) => a.add(v, t0 + i));
  return a;
}

const DISTRIBUTIONS: [string, (r: () => number) => number][] = [
  ["uniform 0..100", (r) => r() * 100],
  ["log-normal", (r) => Math.exp(4 * r() - 1)],
  ["mixed sign", (r) => (r() - 0.4) * 1000],
  ["negative only", (r) => -1 - r() * 50],
  ["with zeros", (r) => (r() < 0.3 ? 0 : r() * 10)],
  ["two decimals", (r) => Math.round(r() * 10000) / 100],
];

for (const accuracy of [0.01, 0.001]) {
  for (const [name, draw] of DISTRIBUTIONS) {
    test(`merging is associative and keeps percentiles within ${accuracy * 100}% (${name})`, () => {
      const r = rng(name.length * 7919 + accuracy * 1e6);
      for (let round = 0; round < 20; round++) {
        const n = 1 + Math.floor(r() * 400);
        const values = Array.from({ length: n }, () => draw(r));
        const cut1 = Math.floor(r() * n);
        const cut2 = cut1 + Math.floor(r() * (n - cut1));
        const [a, b, c] = [values.slice(0, cut1), values.slice(cut1, cut2), values.slice(cut2)];

        const left = aggregateOf(a, accuracy);
        const ab = aggregateOf(b, accuracy, cut1);
        left.merge(ab);
        left.merge(aggregateOf(c, accuracy, cut2)); // (a·b)·c
        const right = aggregateOf(b, accuracy, cut1);
        right.merge(aggregateOf(c, accuracy, cut2));
        const aOnly = aggregateOf(a, accuracy);
        aOnly.merge(right); // a·(b·c)
        const whole = aggregateOf(values, accuracy);

        const sorted = [...values].sort((x, y) => x - y);
        for (const agg of [left, aOnly]) {
          assert.equal(agg.count, n);
          assert.equal(agg.min, sorted[0]);
          assert.equal(agg.max, sorted[n - 1]);
          assert.ok(Math.abs(agg.sum - whole.sum) <= 1e-9 * Math.max(1, Math.abs(whole.sum)) * n);
          assert.equal(agg.firstTs, 0);
          assert.equal(agg.lastTs, n - 1);
          for (const q of [0, ...QUANTILES, 1]) {
            const exact = exactQuantile(sorted, q);
            const got = agg.quantile(q);
            assert.ok(
              Math.abs(got - exact) <= accuracy * Math.abs(exact) + 1e-12,
              `q${q}: got ${got}, exact ${exact} (n=${n})`,
            );
            // merged percentiles equal those of one sketch over the union
            assert.ok(Math.abs(got - whole.quantile(q)) <= 2 * accuracy * Math.abs(exact) + 1e-12);
          }
        }
        assert.deepEqual([left.quantile(0.5), left.quantile(0.99)], [aOnly.quantile(0.5), aOnly.quantile(0.99)]);
      }
    });
  }
}

test("merge keeps negative values (sketches-js merge alone drops them)", () => {
  const many = (base: number) => Array.from({ length: 20 }, (_, i) => base - i);
  const a = aggregateOf(many(30), 0.01);
  a.merge(aggregateOf(many(-10), 0.01));
  assert.ok(a.sketch, "more than EXACT_VALUES values: sketched");
  assert.equal(a.sketch.negCounts.reduce((x, y) => x + y, 0), 20);
  assert.ok(Math.abs(a.quantile(0) - -29) <= 0.3);
});

test("few values stay exact (exact quantiles), many switch to the sketch", () => {
  const a = aggregateOf([5, 1, 4, 2, 3], 0.01);
  assert.deepEqual(a.values, [5, 1, 4, 2, 3]);
  assert.ok(Math.abs(a.quantile(0.5) - 3) <= 0.03);
  assert.equal(a.sketch, null);
  a.merge(aggregateOf(Array.from({ length: EXACT_VALUES }, (_, i) => i), 0.01));
  assert.equal(a.values, null);
  assert.equal((a.sketch as { count: number } | null)?.count, 5 + EXACT_VALUES);
});

test("merging with an aggregate of unknown percentiles makes them unknown, not wrong", () => {
  const a = aggregateOf([1, 2], 0.01);
  const unknown = Aggregate.stored(0.01, null, null);
  unknown.add(7, 1);
  a.merge(unknown);
  assert.equal(a.count, 3);
  assert.ok(Number.isNaN(a.quantile(0.5)));
  assert.equal(a.sketchBytes(), null);
});

test("an empty aggregate reports NaN averages and percentiles", () => {
  const a = Aggregate.empty(0.01);
  assert.ok(Number.isNaN(a.avg()));
  assert.ok(Number.isNaN(a.quantile(0.5)));
});

test("errors are counted but not aggregated", () => {
  const a = Aggregate.empty(0.01);
  a.add(5, 100);
  a.addError(50);
  assert.equal(a.count, 1);
  assert.equal(a.errorCount, 1);
  assert.equal(a.firstTs, 50);
  assert.equal(a.avg(), 5);
});

test("with percentiles off, aggregates still merge exactly", () => {
  const a = aggregateOf([1, 2], 0.01);
  const off = Aggregate.empty(null);
  off.add(3, 9);
  off.merge(a);
  assert.equal(off.count, 3);
  assert.equal(off.sum, 6);
  assert.ok(Number.isNaN(off.quantile(0.5)));
});

test("kept values answer exactly like a DDSketch of them (same percentiles in memory and stored)", () => {
  const r = rng(4242);
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(r() * EXACT_VALUES);
    const values = Array.from({ length: n }, () => (r() < 0.1 ? 0 : (r() - 0.3) * 10 ** Math.floor(r() * 6)));
    const kept = aggregateOf(values, 0.01);
    const sketched = aggregateOf(values, 0.01);
    sketched.materialize();
    for (const q of [0, 0.1, 0.5, 0.9, 0.95, 0.99, 1]) {
      assert.equal(kept.quantile(q), sketched.quantile(q), `${values} q${q}`);
    }
  }
});

test("a row read without its sketch reports its stored percentiles and refuses to be merged", () => {
  const row = Aggregate.reported(0.01, [1, 2, 3, 4]);
  row.count = 5;
  assert.deepEqual([...row.quantiles()], [1, 2, 3, 4]);
  assert.deepEqual([...row.clone().quantiles()], [1, 2, 3, 4]);
  const other = Aggregate.empty(0.01);
  other.add(7, 0);
  assert.throws(() => other.merge(row), /without its sketch/);
  assert.throws(() => row.clone().merge(other), /without its sketch/);
  assert.throws(() => row.sketchBytes(), /without its sketch/);
  const unknown = Aggregate.reported(0.01, [NaN, NaN, NaN, NaN]);
  unknown.count = 3;
  assert.ok(unknown.quantiles().every(Number.isNaN));
});
