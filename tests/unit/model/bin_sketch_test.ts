import test from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { DDSketchSchema } from "../../../src/gen/ddsketch_pb.ts";
import { BinSketch, summarizeValues, summarizeValuesTo } from "../../../src/model/bin_sketch.ts";
import { ByteWriter } from "../../../src/model/bytes.ts";
import { QUANTILES } from "../../../src/model/aggregate.ts";
import { createSketch, decodeSketch, encodeSketch, mergeSketch, quantile } from "../../reference/ddsketch.ts";
import { rng } from "../../helpers.ts";

const draw = (r: () => number) => (r() < 0.1 ? 0 : (r() - 0.3) * 10 ** Math.floor(r() * 8 - 2));

for (const accuracy of [0.01, 0.001, 0.05]) {
  test(`BinSketch answers exactly like @datadog/sketches-js (accuracy ${accuracy}), merges included`, () => {
    const r = rng(accuracy * 1e5);
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: 1 + Math.floor(r() * 300) }, () => draw(r));
      const b = Array.from({ length: Math.floor(r() * 50) }, () => draw(r));
      const mine = new BinSketch(accuracy);
      const mineB = new BinSketch(accuracy);
      const lib = createSketch(accuracy);
      const libB = createSketch(accuracy);
      a.forEach((v) => (mine.add(v), lib.accept(v)));
      b.forEach((v) => (mineB.add(v), libB.accept(v)));
      mine.merge(mineB);
      mergeSketch(lib, libB);
      assert.equal(mine.count, lib.count);
      for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
        assert.equal(mine.quantile(q), quantile(lib, q), `round ${round} q${q}`);
      }
    }
  });
}

test("BinSketch encodes DataDog's DDSketch message: the library's decoder reads the same bins", () => {
  const r = rng(7);
  for (let round = 0; round < 100; round++) {
    const s = new BinSketch(0.01);
    const lib = createSketch(0.01);
    for (let i = 0; i < 1 + Math.floor(r() * 60); i++) {
      const v = draw(r);
      s.add(v);
      lib.accept(v);
    }
    const decoded = decodeSketch(s.encode(), 0.01);
    assert.equal(decoded.count, lib.count);
    for (const q of [0, 0.5, 0.99, 1]) assert.equal(quantile(decoded, q), quantile(lib, q));
    const back = BinSketch.decode(encodeSketch(lib), 0.01);
    for (const q of [0, 0.5, 0.99, 1]) assert.equal(back.quantile(q), quantile(lib, q));
    assert.ok(fromBinary(DDSketchSchema, s.encode()).mapping!.gamma > 1);
  }
});

test("decode refuses a sketch of another accuracy", () => {
  const s = new BinSketch(0.02);
  s.add(5);
  assert.throws(() => BinSketch.decode(s.encode(), 0.01), /does not match accuracy/);
});

test("a sketch with many values stays compact", () => {
  const s = new BinSketch(0.01);
  for (let i = 0; i < 10_000; i++) s.add(50 + (i % 100) / 10);
  assert.ok(s.posKeys.length < 30, `${s.posKeys.length} bins`);
  assert.ok(s.encode().length < 400);
});

test("dense sketches (contiguous stores with an index offset) round-trip exactly, negative values included", () => {
  const r = rng(99);
  for (const center of [-5, 5, -1000, 1000, 0.01]) {
    const s = new BinSketch(0.01);
    const lib = createSketch(0.01);
    for (let i = 0; i < 500; i++) {
      const v = center * (1 + (r() - 0.5) * 0.8);
      s.add(v);
      lib.accept(v);
    }
    for (const bytes of [s.encode(), encodeSketch(lib)]) {
      const back = BinSketch.decode(bytes, 0.01);
      assert.deepEqual([back.posKeys, back.posCounts, back.negKeys, back.negCounts, back.count], [
        s.posKeys,
        s.posCounts,
        s.negKeys,
        s.negCounts,
        s.count,
      ]);
    }
    const msg = fromBinary(DDSketchSchema, s.encode());
    const store = center < 0 ? msg.negativeValues! : msg.positiveValues!;
    assert.ok(
      store.contiguousBinCounts.length > 0 && store.contiguousBinIndexOffset !== 0,
      "the dense encoding was used",
    );
  }
});

test("the spec example of docs/format/sketch.md decodes, by the codec and by the reference decoder", () => {
  const hex =
    "0a 09 09 fd 4a 81 5a bf 52 f0 3f 12 1a 0a 0b 08 00 11 00 00 00 00 00 00 f0 3f 0a 0b 08 46 11 00 00 00 00 00 " +
    "00 00 40 1a 0c 12 08 00 00 00 00 00 00 f0 3f 18 6e 21 00 00 00 00 00 00 f0 3f";
  const bytes = Uint8Array.from(hex.split(" "), (b) => parseInt(b, 16));
  assert.equal(bytes.length, 62);
  const s = BinSketch.decode(bytes, 0.01);
  assert.deepEqual([s.posKeys, s.posCounts, s.negKeys, s.negCounts, s.zero, s.count], [
    [0, 35],
    [1, 2],
    [55],
    [1],
    1,
    5,
  ]);
  const q = [0, 0.5, 1].map((x) => s.quantile(x));
  assert.deepEqual(q.map((v) => Math.round(v * 1000) / 1000), [-2.974, 0.99, 1.994]);
  const ref = decodeSketch(bytes, 0.01);
  assert.deepEqual([0, 0.5, 1].map((x) => quantile(ref, x)), q);
  const built = new BinSketch(0.01);
  for (const v of [1, 2, 2, -3, 0]) built.add(v);
  assert.deepEqual([...built.encode()], [...bytes]);
});

test("summarizeValuesTo appends what summarizeValues returns, with the same percentiles", () => {
  const values = [3.5, -2, 0, 17, 17, 1e6, 0.001, -40];
  const w = new ByteWriter(4);
  const expected: number[] = [];
  for (let n = 1; n <= values.length; n++) {
    const q1 = new Float64Array(4), q2 = new Float64Array(4);
    const bytes = summarizeValues(values, 0, n, 0.01, QUANTILES, q1);
    summarizeValuesTo(w, values, 0, n, 0.01, QUANTILES, q2);
    expected.push(...bytes);
    assert.deepEqual([...q2], [...q1], `percentiles of ${n} values`);
  }
  assert.deepEqual([...w.bytes()], expected, "the sketches one after the other");
});
