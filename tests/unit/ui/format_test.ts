import test from "node:test";
import assert from "node:assert/strict";
import {
  ago,
  bytes,
  counterRates,
  describeUnit,
  duration,
  parseSeriesKey,
  type RawSample,
  seriesKey,
  si,
  unitOf,
} from "../../../src/ui/client/format.ts";

test("si: three significant digits with an SI prefix, rounding up into the next prefix", () => {
  assert.equal(si(0), "0");
  assert.equal(si(42.567), "42.6");
  assert.equal(si(-0.001234), "-0.00123");
  assert.equal(si(1234567, "B/s"), "1.23 MB/s");
  assert.equal(si(999_999), "1 M");
  assert.equal(si(863_000, "B/s"), "863 kB/s");
  assert.equal(si(null), "–");
  assert.equal(si(NaN), "–");
});

test("bytes, ago and duration read as people write them", () => {
  assert.equal(bytes(512), "512 B");
  assert.equal(bytes(1536), "1.5 KiB");
  assert.equal(bytes(512 * 2 ** 20), "512 MiB");
  assert.equal(ago(1_000_000 - 12_000, 1_000_000), "12 s ago");
  assert.equal(ago(0, 3 * 3600_000), "3 h ago");
  assert.equal(ago(0, 5 * 86400_000), "5 d ago");
  assert.equal(duration(93784), "1 d 2 h");
  assert.equal(duration(59), "59 s");
});

test("a series key survives names with | % & and spaces, and a malformed key is null", () => {
  const s = { namespace: "prod|eu", target: "router 1 & 2", poller: "ifHCInOctets.Gi0/1%" };
  const key = seriesKey(s);
  assert.equal(key.split("|").length, 3);
  assert.deepEqual(parseSeriesKey(key), s);
  const viaUrl = new URLSearchParams(new URLSearchParams({ s: key }).toString()).get("s")!;
  assert.deepEqual(parseSeriesKey(viaUrl), s);
  assert.equal(parseSeriesKey("a|b"), null);
  assert.equal(parseSeriesKey("a|b|%E0%A4%A"), null);
});

test("counter rates: per second between valid samples, a reset gives no rate, exact above 2^53", () => {
  const c = (t: number, v: number | string, valid = true): RawSample => ({
    t,
    kind: "counter",
    valid,
    value_counter: v,
  });
  const r = counterRates([
    c(0, 100),
    c(10_000, 1100), // +1000 in 10 s
    c(20_000, 0, false), // a failed poll is skipped
    c(30_000, 3100), // +2000 in 20 s
    c(40_000, 50), // reset
    c(50_000, 550),
    c(60_000, "18446744073709551000"), // near 2^64: exact difference below
    c(70_000, "18446744073709551615"),
  ]);
  assert.deepEqual(r.xs, [10_000, 30_000, 40_000, 50_000, 60_000, 70_000]);
  assert.deepEqual(r.values.slice(0, 4), [100, 100, null, 50]);
  assert.equal(r.values[5], 61.5);
});

test("units: counters per second; bytes and bits guessed from the poller's name", () => {
  assert.equal(unitOf("ifHCInOctets.Gi0-1", true), "B/s");
  assert.equal(unitOf("ifInBits", true), "bit/s");
  assert.equal(unitOf("sysUpTime", true), "/s");
  assert.equal(unitOf("cpu.load", false), "");
  assert.equal(describeUnit("B/s"), "B/s (a counter's rate)");
  assert.equal(describeUnit("/s"), "per second (a counter's rate)");
  assert.equal(describeUnit(""), "no unit");
});
