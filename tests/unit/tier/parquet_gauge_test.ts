import test from "node:test";
import assert from "node:assert/strict";
import { KIND_CODE } from "../../../src/model/sample.ts";
import {
  chooseGaugeScale,
  decimalsOf,
  joinGauges,
  MAX_GAUGE_SCALE,
  splitGauges,
  toDecimal,
} from "../../../src/parquet/gauge.ts";

const GAUGE = KIND_CODE.gauge;

/** A deterministic stream of awkward doubles: random bit patterns, decimals, and special values. */
function awkwardDoubles(n: number): Float64Array {
  const out = new Float64Array(n);
  const bits = new DataView(new ArrayBuffer(8));
  let seed = 0x2545f491;
  const next = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0);
  const specials = [0, -0, Infinity, -Infinity, 5e-324, Number.MAX_VALUE, 2 ** 53, 0.1, 0.3];
  for (let i = 0; i < n; i++) {
    if (i < specials.length) out[i] = specials[i];
    else if (i % 3 === 0) out[i] = (next() % 2_000_000 - 1_000_000) / 10 ** (next() % 8);
    else {
      bits.setUint32(0, next());
      bits.setUint32(4, next());
      out[i] = bits.getFloat64(0);
    }
  }
  return out;
}

test("decimalsOf: the fewest decimals that give the same double back", () => {
  const cases: [number, number][] = [
    [0, 0],
    [-0, Infinity],
    [12, 0],
    [12.3, 1],
    [12.34, 2],
    [0.1, 1],
    [0.3, 1],
    [1e-9, 9],
    [1e-10, Infinity],
    [Math.PI, Infinity],
    [2 ** 53 - 1, 0],
    [2 ** 53, Infinity], // not a safe integer
    [Infinity, Infinity],
  ];
  for (const [value, decimals] of cases) assert.equal(decimalsOf(value), decimals, `decimalsOf(${value})`);
});

test("toDecimal never returns an unscaled value that decodes to another double", () => {
  for (const v of awkwardDoubles(20_000)) {
    for (let scale = 0; scale <= MAX_GAUGE_SCALE; scale++) {
      const unscaled = toDecimal(v, scale);
      if (unscaled === null) continue;
      assert.ok(Object.is(Number(BigInt(unscaled)) / 10 ** scale, v), `${v} at scale ${scale} -> ${unscaled}`);
    }
  }
});

test("split and join give back every gauge bit for bit, at every scale; NaN stays NaN", () => {
  const values = awkwardDoubles(5_000);
  values[42] = NaN;
  const kind = new Uint8Array(values.length).fill(GAUGE);
  for (let scale = 0; scale <= MAX_GAUGE_SCALE; scale++) {
    const { decimal, float } = splitGauges(values, kind, scale);
    // as hyparquet decodes DECIMAL(18, scale): unscaled / 10^scale
    const decoded = decimal.toBigInts().map((d) => (d === null ? null : Number(d) / 10 ** scale));
    const back = joinGauges(decoded, float.toNullable());
    values.forEach((v, i) => assert.ok(Object.is(back[i], v), `scale ${scale}: ${v} -> ${back[i]}`));
    assert.equal(decimal.present![42], 0);
    assert.ok(Number.isNaN(float.values[42]));
  }
});

test("only gauge rows are split", () => {
  const { decimal, float } = splitGauges(
    new Float64Array([1, 2, 3]),
    new Uint8Array([KIND_CODE.counter, GAUGE, KIND_CODE.text]),
    0,
  );
  assert.deepEqual(decimal.toBigInts(), [null, 2n, null]);
  assert.deepEqual(float.toNullable(), [null, null, null]);
});

test("chooseGaugeScale weighs digits against fallback doubles", () => {
  const kinds = (n: number) => new Uint8Array(n).fill(GAUGE);
  const scaleOf = (values: number[]) => chooseGaugeScale(new Float64Array(values), kinds(values.length));
  assert.equal(scaleOf([]), 0);
  assert.equal(scaleOf([1, 0, 1, 1]), 0);
  assert.equal(scaleOf([12.34, 56.7, 0, 1]), 2);
  assert.equal(scaleOf([Math.PI, Math.E, 1.5]), 1);
  assert.equal(scaleOf([Math.PI, Math.E, 7]), 0);
  // one value with 9 decimals among many with 2: cheaper as a double than 7 more digits on all
  assert.equal(scaleOf([...new Array(100).fill(12.34), 0.123456789]), 2);
  // non-gauge rows and NaN do not count
  assert.equal(chooseGaugeScale(new Float64Array([0.5, NaN]), new Uint8Array([KIND_CODE.counter, GAUGE])), 0);
});
