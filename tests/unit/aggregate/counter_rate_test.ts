import test from "node:test";
import assert from "node:assert/strict";
import { counterIncrease } from "../../../src/aggregate/counter_rate.ts";

const TWO_64 = 1n << 64n;

/** [case, previous, current, increase] */
const CASES: [string, number | bigint, number | bigint, number][] = [
  ["steady increase", 100, 250, 150],
  ["no change", 7, 7, 0],
  ["32-bit wrap just past the top", 4_294_967_290, 5, 11],
  ["32-bit wrap of almost half the space", 4_294_967_295, 2_147_483_646, 2_147_483_647],
  ["32-bit counter reset (wrapped difference of half the space or more)", 3_000_000_000, 1_000_000_000, 1_000_000_000],
  ["reset of a counter above 2^32", 10_000_000_000, 42, 42],
  ["reset to zero", 123_456, 0, 0],
  ["exact 64-bit increase above 2^53", 2n ** 60n, 2n ** 60n + 1000n, 1000],
  ["64-bit wrap", TWO_64 - 10n, 5n, 15],
  ["64-bit reset below 2^63", 2n ** 62n, 3n, 3],
  ["mixed: a number before, a bigint after", 1_000, 2n ** 54n, 2 ** 54 - 1000],
  ["mixed: a bigint before, a small number after (reset)", 2n ** 60n, 9, 9],
];

for (const [name, prev, cur, expected] of CASES) {
  test(`counterIncrease: ${name}`, () => {
    assert.equal(counterIncrease(prev, cur), expected);
  });
}
