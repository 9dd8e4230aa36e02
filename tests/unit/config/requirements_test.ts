import test from "node:test";
import assert from "node:assert/strict";
import { loadConfigText } from "../../../src/config/load.ts";
import { MEMORY_COSTS, planMemory } from "../../../src/config/memory_budget.ts";
import { computeRequirements, UNIT_COSTS } from "../../../src/config/requirements.ts";

const MiB = 2 ** 20;

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

test("RAM is the memory budget at the smallest server.memory_limit that fits the scale (one model for both)", () => {
  for (
    const yaml of ["", "scale: { poller_count: 100000 }\n", "scale: { poller_count: 50000, poll_interval_sec: 10 }\n"]
  ) {
    const config = loadConfigText(yaml);
    const r = computeRequirements(config);
    const at = (bytes: number) => planMemory({ ...config, server: { ...config.server, memoryLimitBytes: bytes } });
    assert.deepEqual(at(r.ramTotalBytes).problems, [], `${yaml}: the needed limit fits`);
    assert.deepEqual(r.ram, at(r.ramTotalBytes).shares, "the RAM lines are the budget's shares there");
    const less = at(r.ramTotalBytes - MiB);
    const ringWanted = Math.min(
      config.scale.pollerCount / config.scale.pollIntervalSec * config.features.rawBuffer.durationMs / 1000 *
        MEMORY_COSTS.rawSample,
      config.features.rawBuffer.memoryLimitBytes,
    );
    assert.ok(less.problems.length > 0 || less.ringBytes < ringWanted, `${yaml}: a MiB less does not fit`);
    assert.deepEqual(at(r.ramMinimumBytes).problems, [], `${yaml}: the scale fits at the minimum`);
    assert.ok(at(r.ramMinimumBytes - MiB).problems.length > 0, `${yaml}: a MiB under the minimum it does not`);
    assert.ok(r.ramMinimumBytes <= r.ramTotalBytes);
  }
});

test("RAM grows with the series by the budget's cost per series", () => {
  const ram = (series: number) =>
    computeRequirements(loadConfigText(`scale: { poller_count: ${series} }\nquery: { memory_limit: 16MiB }\n`));
  const small = ram(100_000), big = ram(200_000);
  const head = (r: typeof small) => r.ram.find((l) => l.item === "head (expected series)")!.bytes;
  assert.equal(head(small), 100_000 * MEMORY_COSTS.series);
  assert.equal(head(big), 200_000 * MEMORY_COSTS.series);
  assert.ok(big.ramTotalBytes - small.ramTotalBytes >= 100_000 * MEMORY_COSTS.series);
});
