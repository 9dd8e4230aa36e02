import test from "node:test";
import assert from "node:assert/strict";
import { BatchPool, SampleBatch } from "../../../src/model/batch.ts";

test("the batch pool gives back an emptied batch of enough room, and keeps at most 65,536 samples' worth", () => {
  const pool = new BatchPool();
  const a = pool.take(1_000);
  a.length = 3;
  a.setText(1, "x");
  a.setError(2, "e");
  a.setBig(0, 2n ** 60n);
  pool.give(a);
  assert.equal(pool.take(2_000).capacity, 2_000, "too small: a new one");
  const again = pool.take(500);
  assert.equal(again, a);
  assert.deepEqual([again.length, again.text, again.error, again.big], [0, null, null, null]);
  // bounded: a batch that would take the pool past its bound is left to the collector
  const big = new SampleBatch(60_000), over = new SampleBatch(10_000), huge = new SampleBatch(70_000);
  pool.give(big);
  pool.give(over);
  assert.equal(pool.take(60_000), big);
  assert.notEqual(pool.take(10_000), over, "60,000 + 10,000 samples: the second was not kept");
  pool.give(huge);
  assert.notEqual(pool.take(70_000), huge);
  const kept = Array.from({ length: 70 }, () => new SampleBatch(1_000));
  kept.forEach((b) => pool.give(b));
  const back = new Set(Array.from({ length: 70 }, () => pool.take(1_000)));
  assert.equal(kept.filter((b) => back.has(b)).length, 65, "65 of 70 batches of 1,000 fit in 65,536 samples");
});
