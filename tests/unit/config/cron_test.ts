import test from "node:test";
import assert from "node:assert/strict";
import { type Cron, nextCronTime, parseCron } from "../../../src/config/cron.ts";

/** Whether the minute starting at `ms` matches: it is the next match after the minute before. */
const cronMatches = (cron: Cron, ms: number) => nextCronTime(cron, ms - 60_000) === ms;

const at = (d: number, h: number, m: number) => Date.UTC(2026, 10, d, h, m); // November 2026

const NEXT: [string, number, number][] = [
  ["*/5 * * * *", at(25, 10, 7), at(25, 10, 10)],
  ["3 * * * *", at(25, 10, 3), at(25, 11, 3)],
  ["10 0 * * *", at(25, 10, 0), at(26, 0, 10)],
  ["20 0 * * 1", at(25, 10, 0), at(30, 0, 20)], // next Monday
  ["0 12 1 * *", at(25, 10, 0), Date.UTC(2026, 11, 1, 12, 0)],
  ["15,45 8-9 * * *", at(25, 8, 15), at(25, 8, 45)],
  ["0 0 * * 7", at(25, 0, 0), at(29, 0, 0)], // 7 = Sunday
];
for (const [expr, after, want] of NEXT) {
  test(`nextCronTime("${expr}") after ${new Date(after).toISOString()}`, () => {
    assert.equal(new Date(nextCronTime(parseCron(expr), after)).toISOString(), new Date(want).toISOString());
    assert.ok(cronMatches(parseCron(expr), want));
  });
}

for (const bad of ["* * * *", "60 * * * *", "* 24 * * *", "a * * * *", "*/0 * * * *", "5-1 * * * *"]) {
  test(`parseCron rejects "${bad}"`, () => assert.throws(() => parseCron(bad)));
}

test("with day-of-month and day-of-week both restricted, either matches (classic cron)", () => {
  const cron = parseCron("0 0 1 * 1");
  assert.ok(cronMatches(cron, Date.UTC(2026, 10, 1))); // the 1st (a Sunday)
  assert.ok(cronMatches(cron, Date.UTC(2026, 10, 2))); // a Monday
  assert.ok(!cronMatches(cron, Date.UTC(2026, 10, 3)));
});
