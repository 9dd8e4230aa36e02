import test from "node:test";
import assert from "node:assert/strict";
import { testConfig } from "../../helpers.ts";
import type { Tier } from "../../../src/model/tier.ts";
import { AUTO_MAX_POINTS, chooseTier } from "../../../src/query/planner.ts";

const NOW = Date.UTC(2026, 10, 25);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

/** The defaults: 60 s polls; raw 48 h, 5min 30 d, hourly 90 d, daily 2 y, weekly 10 y. */
const DEFAULTS = "";
const FAST_POLLS = "scale:\n  poll_interval_sec: 10\n";
const LONG_WEEKLY = "retention:\n  weekly: 262800h\n"; // 30 years

/** [case, config yaml, range start before now, range end before now, expected tier, reason starts with]. */
const CASES: [string, string, number, number, Tier, string][] = [
  ["the last hour: raw (60 points)", DEFAULTS, HOUR, 0, "raw", "finest"],
  ["exactly the point budget on raw (1,000 polls of 60 s)", DEFAULTS, AUTO_MAX_POINTS * MIN, 0, "raw", "finest"],
  ["one poll past the budget goes to 5min", DEFAULTS, (AUTO_MAX_POINTS + 1) * MIN, 0, "5min", "finest"],
  ["the last day: 5min (288 points)", DEFAULTS, DAY, 0, "5min", "finest"],
  ["an hour that starts at raw's retention edge: still raw", DEFAULTS, 48 * HOUR, 47 * HOUR, "raw", "finest"],
  ["an hour that starts 1 ms past raw's retention: 5min", DEFAULTS, 48 * HOUR + 1, 47 * HOUR, "5min", "finest"],
  ["an hour three days ago: raw has expired, 5min", DEFAULTS, 3 * DAY, 3 * DAY - HOUR, "5min", "finest"],
  ["exactly the point budget on 5min", DEFAULTS, AUTO_MAX_POINTS * 5 * MIN, 0, "5min", "finest"],
  ["the last week: hourly (168 points; 5min would be 2,016)", DEFAULTS, 7 * DAY, 0, "hourly", "finest"],
  ["the last 60 days: 5min expired, hourly over budget, daily", DEFAULTS, 60 * DAY, 0, "daily", "finest"],
  ["a day 100 days ago: hourly has expired, daily", DEFAULTS, 100 * DAY, 99 * DAY, "daily", "finest"],
  ["the last 5 years: only weekly still holds the start", DEFAULTS, 5 * YEAR, 0, "weekly", "finest"],
  ["a range from 20 years ago: before every retention, weekly", DEFAULTS, 20 * YEAR, 0, "weekly", "the range starts"],
  ["3 hours at 10 s polls: 1,080 raw points, 5min", FAST_POLLS, 3 * HOUR, 0, "5min", "finest"],
  ["2 hours at 10 s polls: 720 raw points, raw", FAST_POLLS, 2 * HOUR, 0, "raw", "finest"],
  [
    "25 years over a 30-year weekly tier: over budget, coarsest covering",
    LONG_WEEKLY,
    25 * YEAR,
    0,
    "weekly",
    "coarsest",
  ],
];

for (const [name, yaml, fromAgo, toAgo, tier, reason] of CASES) {
  test(`auto tier: ${name}`, () => {
    const choice = chooseTier(NOW - fromAgo, NOW - toAgo, NOW, testConfig("/data", yaml));
    assert.equal(choice.tier, tier);
    assert.ok(choice.reason.startsWith(reason), `reason "${choice.reason}" should start with "${reason}"`);
  });
}
