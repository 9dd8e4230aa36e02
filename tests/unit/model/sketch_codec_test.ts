import test from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { DDSketchSchema } from "../../../src/gen/ddsketch_pb.ts";
import { createSketch, decodeSketch, encodeSketch, quantile } from "../../reference/ddsketch.ts";
import { encodeValuesAsSketch } from "../../../src/model/bin_sketch.ts";

test("a sketch round-trips through DDSketch protobuf", () => {
  const s = createSketch(0.01);
  for (const v of [0, 0, 1.5, 2, 1000, -3, -0.25, 42.42]) s.accept(v);
  const back = decodeSketch(encodeSketch(s), 0.01);
  assert.equal(back.count, s.count);
  assert.equal(back.zeroCount, 2);
  assert.equal(back.mapping.gamma, s.mapping.gamma);
  for (const q of [0, 0.1, 0.5, 0.9, 0.99, 1]) assert.equal(quantile(back, q), quantile(s, q));
});

test("the encoding is DataDog's DDSketch message (decodable by any implementation)", () => {
  const s = createSketch(0.02);
  s.accept(10);
  s.accept(10);
  s.accept(-5);
  const msg = fromBinary(DDSketchSchema, encodeSketch(s));
  assert.ok(Math.abs(msg.mapping!.gamma - 1.02 / 0.98) < 1e-12);
  assert.equal(msg.mapping!.indexOffset, 0);
  const positive = { ...msg.positiveValues!.binCounts };
  const contiguous = msg.positiveValues!.contiguousBinCounts;
  const total = Object.values(positive).reduce((a, b) => a + b, 0) + contiguous.reduce((a, b) => a + b, 0);
  assert.equal(total, 2);
});

test("a few scattered values use the smaller sparse encoding", () => {
  const s = createSketch(0.01);
  for (const v of [1, 10, 100, 1000, 10000]) s.accept(v);
  const bytes = encodeSketch(s);
  const msg = fromBinary(DDSketchSchema, bytes);
  assert.equal(Object.keys(msg.positiveValues!.binCounts).length, 5);
  assert.equal(msg.positiveValues!.contiguousBinCounts.length, 0);
  assert.ok(bytes.length < 100, `encoded ${bytes.length} bytes`);
});

test("decoding rejects a sketch without a mapping", () => {
  assert.throws(() => decodeSketch(new Uint8Array([])), /mapping gamma missing/);
});

test("encodeValuesAsSketch writes the same bins as a sketch of the values", () => {
  const cases = [[1, 2, 3], [0, 0, -5, 5], [1e-300, 1e300], [42.42, 42.43, 42.44, 1000, -0.001], [7]];
  for (const values of cases) {
    const s = createSketch(0.01);
    for (const v of values) s.accept(v);
    const fast = decodeSketch(encodeValuesAsSketch(values, 0.01), 0.01);
    const slow = decodeSketch(encodeSketch(s), 0.01);
    assert.equal(fast.count, values.length);
    assert.equal(fast.zeroCount, slow.zeroCount);
    for (const q of [0, 0.25, 0.5, 0.75, 1]) assert.equal(quantile(fast, q), quantile(slow, q), `${values} q${q}`);
  }
});

test("encodeValuesAsSketch output is a valid DDSketch message (protobuf-es decodes it)", () => {
  const msg = fromBinary(DDSketchSchema, encodeValuesAsSketch([3, 3, 9, -1, 0], 0.02));
  assert.ok(Math.abs(msg.mapping!.gamma - 1.02 / 0.98) < 1e-12);
  assert.equal(msg.zeroCount, 1);
  const pos = msg.positiveValues!;
  const total = Object.values(pos.binCounts).reduce((a, b) => a + b, 0) +
    pos.contiguousBinCounts.reduce((a, b) => a + b, 0);
  assert.equal(total, 3);
});
