/**
 * Issue 10 item 4: a backfill spread over many days. A flush writes one file per tier and partition
 * it keeps (all hours of a day in one raw or 5-minute file, in row groups), and leaves a tier out
 * where that tier's retention already expired the partition and a coarser tier receives the rows now.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge, type Sample } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import type { Tier } from "../../src/model/tier.ts";
import type { Storage } from "../../src/service/storage.ts";
import { testStorage } from "../helpers.ts";

const MIN = 60_000;
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 25, 12);
const TODAY = Math.floor(NOW / DAY) * DAY;

async function backfill(s: Storage, from: number, to: number, stepMs: number): Promise<number> {
  let n = 0;
  let batch: Sample[] = [];
  for (let t = from; t < to; t += stepMs) {
    for (const target of ["r1", "r2"]) batch.push(gauge("hist", target, "cpu", t, 1));
    if (batch.length >= 5_000) {
      n += (await s.ingest(SampleBatch.of(batch))).accepted;
      batch = [];
    }
  }
  if (batch.length) n += (await s.ingest(SampleBatch.of(batch))).accepted;
  return n;
}

/** Samples (raw) or the sum of bucket counts (aggregates) a tier answers for [from, to). */
async function total(s: Storage, tier: Tier, from: number, to: number): Promise<number> {
  const r = await s.query({ filter: { namespace: "hist" }, fromMs: from, toMs: to, tier, limit: 1e9 });
  assert.equal(r.partial, false, JSON.stringify(r.warnings));
  let n = 0;
  for (const series of r.series) {
    n += tier === "raw" ? series.samples!.length : series.points!.reduce((a, p) => a + p.agg.count, 0);
  }
  return n;
}

test("a 29-day backfill at a 5-minute step: one file per tier and partition kept, every sample once per tier", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(NOW);
  const s = testStorage(fs, clock, "", { deleteDelayMs: 0 });
  await s.start();
  const from = TODAY - 30 * DAY;
  const to = TODAY - DAY;
  const n = await backfill(s, from, to, 5 * MIN);
  assert.equal(n, 29 * 288 * 2);
  const report = (await s.flushNow())!;

  const files = s.core.manifest.files;
  const partitions = (tier: string) => files.filter((f) => f.tier === tier).map((f) => f.partition);
  for (const tier of ["raw", "5min", "hourly", "daily", "weekly"]) {
    const p = partitions(tier);
    assert.equal(new Set(p).size, p.length, `${tier}: one file per partition`);
  }
  // raw: 48 h keep only the day that ends after NOW - 48 h (11-23); the older 28 days would be deleted
  // by the next retention run, so they are not written
  assert.deepEqual(partitions("raw"), [TODAY - 2 * DAY]);
  assert.equal(partitions("5min").length, 29, "every day is within the 720 h of the 5-minute tier");
  // history the 5-minute tier keeps takes the live path: the coarser tiers get it from the rollups
  // (a new directory's coarser watermarks start where the finer tier's retention ends)
  for (const tier of ["hourly", "daily", "weekly"]) assert.deepEqual(partitions(tier), [], `${tier}: no late rows`);
  assert.equal(report.files, 30);

  assert.equal(await total(s, "raw", TODAY - 2 * DAY, to), 288 * 2);
  for (const tier of ["5min", "hourly", "daily", "weekly"] as const) {
    assert.equal(await total(s, tier, from - 7 * DAY, NOW), n, `${tier}: every sample once`);
  }
  await s.compact();
  const after = (tier: string) => s.core.manifest.files.filter((f) => f.tier === tier).map((f) => f.partition);
  assert.deepEqual([...new Set(after("hourly"))].sort(), [Date.UTC(2026, 9, 1), Date.UTC(2026, 10, 1)], "rolled up");
  for (const tier of ["hourly", "daily", "weekly"] as const) {
    assert.equal(await total(s, tier, from - 7 * DAY, NOW), n, `${tier} after compaction`);
  }
  await s.compact(); // nothing is rolled up twice
  for (const tier of ["hourly", "daily", "weekly"] as const) {
    assert.equal(await total(s, tier, from - 7 * DAY, NOW), n, `${tier} after a second compaction`);
  }
  await s.close();
});
