import test from "node:test";
import assert from "node:assert/strict";
import { bucketMs, bucketStart, coarserTier, parseTier, TIERS } from "../../../src/model/tier.ts";

const utc = (...a: [number, number, number, number?, number?, number?]) => Date.UTC(...a);

const CASES: [string, Parameters<typeof bucketStart>[0], number, number][] = [
  ["5min truncates inside a bucket", "5min", utc(2026, 10, 25, 10, 7, 31), utc(2026, 10, 25, 10, 5)],
  ["5min keeps an aligned start", "5min", utc(2026, 10, 25, 10, 5), utc(2026, 10, 25, 10, 5)],
  ["5min: the last ms belongs to the bucket", "5min", utc(2026, 10, 25, 10, 9, 59) + 999, utc(2026, 10, 25, 10, 5)],
  ["hourly", "hourly", utc(2026, 10, 25, 10, 59, 59), utc(2026, 10, 25, 10)],
  ["daily is UTC midnight", "daily", utc(2026, 10, 25, 23, 59), utc(2026, 10, 25)],
  ["weekly: Wednesday goes to Monday", "weekly", utc(2026, 10, 25, 12), utc(2026, 10, 23)],
  ["weekly: Sunday 23:59 goes to the previous Monday", "weekly", utc(2026, 10, 29, 23, 59), utc(2026, 10, 23)],
  ["weekly: Monday 00:00 starts a week", "weekly", utc(2026, 10, 30), utc(2026, 10, 30)],
  ["weekly: the epoch (a Thursday) goes to Monday 1969-12-29", "weekly", 0, utc(1969, 11, 29)],
];

for (const [name, tier, ts, want] of CASES) {
  test(`bucketStart: ${name}`, () => {
    assert.equal(bucketStart(tier, ts), want);
    assert.ok(bucketStart(tier, ts) + bucketMs(tier) > ts);
  });
}

test("parseTier accepts names and aliases, case-insensitively", () => {
  assert.equal(parseTier("5m"), "5min");
  assert.equal(parseTier("1H"), "hourly");
  assert.equal(parseTier("1d"), "daily");
  assert.equal(parseTier("1w"), "weekly");
  for (const t of TIERS) assert.equal(parseTier(t), t);
});

test("parseTier rejects an unknown tier with the list of valid ones", () => {
  assert.throws(() => parseTier("monthly"), /Unknown tier "monthly": use raw, 5min/);
});

test("coarserTier walks 5min → hourly → daily → weekly → null", () => {
  assert.equal(coarserTier("5min"), "hourly");
  assert.equal(coarserTier("hourly"), "daily");
  assert.equal(coarserTier("daily"), "weekly");
  assert.equal(coarserTier("weekly"), null);
});

test("every weekly bucket starts on a Monday", () => {
  for (let day = 0; day < 60; day++) {
    const start = bucketStart("weekly", utc(2026, 0, 1) + day * 86_400_000 + 12_345);
    assert.equal(new Date(start).getUTCDay(), 1);
  }
});
