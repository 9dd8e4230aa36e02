import test from "node:test";
import assert from "node:assert/strict";
import { BinSketch } from "../../../src/model/bin_sketch.ts";
import { rng } from "../../helpers.ts";

/** Values over many magnitudes, both signs and zeros. */
function values(r: () => number, n: number): number[] {
  return Array.from({ length: n }, () => (r() < 0.05 ? 0 : (r() - 0.3) * 10 ** Math.floor(r() * 10 - 3)));
}

function sketchOf(xs: readonly number[], accuracy: number): BinSketch {
  const s = new BinSketch(accuracy);
  for (const x of xs) s.add(x);
  return s;
}

for (const accuracy of [0.01, 0.02, 0.005]) {
  test(`every quantile is within the relative accuracy ${accuracy} of the exact value of its rank (seeded)`, () => {
    for (let seed = 1; seed <= 20; seed++) {
      const xs = values(rng(seed), 1 + Math.floor(rng(seed * 31)() * 2_000));
      const s = sketchOf(xs, accuracy);
      const sorted = [...xs].sort((a, b) => a - b);
      for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
        const exact = sorted[Math.floor(q * (sorted.length - 1))];
        const got = s.quantile(q);
        assert.ok(
          Math.abs(got - exact) <= accuracy * Math.abs(exact) + 1e-300,
          `seed ${seed}, q ${q}: ${got} vs exact ${exact}`,
        );
      }
    }
  });
}

test("merging is associative and commutative: every grouping and order gives the same bytes (seeded)", () => {
  for (let seed = 1; seed <= 25; seed++) {
    const r = rng(seed);
    const [a, b, c] = [values(r, 50), values(r, 400), values(r, 7)].map((xs) => sketchOf(xs, 0.01));
    const merged = (...parts: BinSketch[]) => {
      const out = new BinSketch(0.01);
      for (const p of parts) out.merge(p);
      return [...out.encode()];
    };
    const ab = new BinSketch(0.01);
    ab.merge(a);
    ab.merge(b);
    const bc = new BinSketch(0.01);
    bc.merge(b);
    bc.merge(c);
    const expected = merged(a, b, c);
    assert.deepEqual(merged(ab, c), expected, `(a·b)·c, seed ${seed}`);
    assert.deepEqual(merged(a, bc), expected, `a·(b·c), seed ${seed}`);
    for (const order of [[b, a, c], [c, b, a], [a, c, b], [c, a, b], [b, c, a]]) {
      assert.deepEqual(merged(...order), expected, `order, seed ${seed}`);
    }
  }
});

test("a merge equals the sketch of the union of the values (seeded)", () => {
  for (let seed = 1; seed <= 25; seed++) {
    const r = rng(seed);
    const xs = values(r, 300), ys = values(r, 300);
    const m = sketchOf(xs, 0.01);
    m.merge(sketchOf(ys, 0.01));
    assert.deepEqual([...m.encode()], [...sketchOf([...xs, ...ys], 0.01).encode()]);
  }
});
