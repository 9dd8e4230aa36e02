import test from "node:test";
import assert from "node:assert/strict";
import { loadConfigText } from "../../../src/config/load.ts";
import { computeRequirements, UNIT_COSTS } from "../../../src/config/requirements.ts";

test("requirements scale linearly with the number of series", () => {
  const small = computeRequirements(loadConfigText("scale: { poller_count: 10000 }\n"));
  const big = computeRequirements(loadConfigText("scale: { poller_count: 100000 }\n"));
  const line = (r: typeof small, item: string) => r.disk.find((l) => l.item === item)!.bytes!;
  assert.ok(Math.abs(line(big, "5min") / line(small, "5min") - 10) < 1e-9);
  assert.ok(Math.abs(line(big, "raw") / line(small, "raw") - 10) < 1e-9);
  assert.ok(big.ramTotalBytes > small.ramTotalBytes);
});

test("raw disk follows samples/s × retention × measured bytes per sample", () => {
  const r = computeRequirements(
    loadConfigText("scale: { poller_count: 60000, poll_interval_sec: 60 }\nretention: { raw: 24h }\n"),
  );
  assert.equal(r.samplesPerSecond, 1000);
  const raw = r.disk.find((l) => l.item === "raw")!;
  assert.equal(raw.bytes, 1000 * 86_400 * UNIT_COSTS.rawBytesPerSample);
});

test("5-minute disk follows series × buckets × row size", () => {
  const r = computeRequirements(loadConfigText("scale: { poller_count: 1000 }\nretention: { five_min: 30d }\n"));
  assert.equal(r.disk.find((l) => l.item === "5min")!.bytes, 1000 * 30 * 288 * UNIT_COSTS.rowBytes["5min"]);
});

test("loading DuckDB adds its measured cost and the query memory limit", () => {
  const r = computeRequirements(loadConfigText("query: { memory_limit: 512MiB }\n"));
  assert.equal(r.ramWithSqlBytes - r.ramTotalBytes, UNIT_COSTS.duckdbRssBytes + 512 * 2 ** 20);
});

test("an open bucket costs what its state is: inline values, a sketch when polling is fast, less without percentiles", () => {
  const open = (yaml: string) =>
    computeRequirements(loadConfigText(`scale: { poller_count: 1000, ${yaml} }\n`)).ram.find((l) =>
      l.item === "open 5-minute buckets"
    )!.bytes;
  assert.equal(open("poll_interval_sec: 60"), 1000 * UNIT_COSTS.openBucketBytes);
  assert.equal(open("poll_interval_sec: 10"), 1000 * UNIT_COSTS.sketchBucketBytes);
  assert.equal(
    computeRequirements(
      loadConfigText("scale: { poller_count: 1000 }\nfeatures: { percentile: { enabled: false } }\n"),
    ).ram.find((l) => l.item === "open 5-minute buckets")!.bytes,
    1000 * UNIT_COSTS.plainBucketBytes,
  );
});
