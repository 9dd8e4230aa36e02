import test from "node:test";
import assert from "node:assert/strict";
import { parseDuration, parseSize } from "../../../src/config/units.ts";

const DURATIONS: [string, number][] = [
  ["25s", 25_000],
  ["10m", 600_000],
  ["720h", 2_592_000_000],
  ["30d", 2_592_000_000],
  ["1w", 604_800_000],
  ["1h30m", 5_400_000],
  ["500ms", 500],
  ["0", 0],
  ["1.5h", 5_400_000],
];
for (const [text, ms] of DURATIONS) {
  test(`parseDuration("${text}") is ${ms} ms`, () => assert.equal(parseDuration(text), ms));
}

for (const bad of ["", "10", "ten minutes", "5x", "1h 30m", "-5m", "m5"]) {
  test(`parseDuration rejects "${bad}"`, () => assert.throws(() => parseDuration(bad), /is not a duration/));
}

const SIZES: [string, number][] = [
  ["100MB", 100_000_000],
  ["4GiB", 4 * 2 ** 30],
  ["512", 512],
  ["64 MiB", 64 * 2 ** 20],
  ["1.5KB", 1500],
  ["2kib", 2048],
];
for (const [text, bytes] of SIZES) {
  test(`parseSize("${text}") is ${bytes} bytes`, () => assert.equal(parseSize(text), bytes));
}

for (const bad of ["", "MB", "10 parsecs", "-1MB"]) {
  test(`parseSize rejects "${bad}"`, () => assert.throws(() => parseSize(bad), /is not a size/));
}
