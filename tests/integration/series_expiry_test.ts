/**
 * Idle series expiry (`limits.series_idle_time`): a series without a sample for the idle time leaves
 * memory, stays queryable from Parquet, a re-sent old sample of it is still a duplicate (also after a
 * restart), and a new sample creates it again, written under its own name by the encoder thread.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import type { Storage } from "../../src/service/storage.ts";
import { testStorage } from "../helpers.ts";

const T0 = Date.UTC(2026, 10, 25, 12);
const MIN = 60_000, HOUR = 60 * MIN;
const YAML = "limits:\n  series_idle_time: 2h\n";

async function points(s: Storage, target: string, fromMs: number, toMs: number): Promise<number[]> {
  const filter = { namespace: "prod", target, poller: "cpu" };
  const q = await s.query({ filter, fromMs, toMs, tier: "raw", limit: 1000 });
  return (q.series[0]?.samples ?? []).map((p) => p.value!);
}

const names = (s: Storage) => s.series(null).map((e) => e.target).sort();

test("an idle series leaves memory, stays queryable, stays deduplicated, and comes back with a new sample", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0);
  // the encoder thread keeps its own copy of the names: a forgotten series must not lose or lend its name there
  const metrics = new Metrics();
  let s = testStorage(fs, clock, YAML, { encoding: "worker", metrics });
  await s.start();
  try {
    await s.ingest(SampleBatch.of([gauge("prod", "typo", "cpu", T0, 7), gauge("prod", "r1", "cpu", T0, 1)]));
    for (let m = 1; m <= 150; m += 10) {
      clock.set(T0 + m * MIN);
      await s.ingest(SampleBatch.of([gauge("prod", "r1", "cpu", T0 + m * MIN, m)]));
      await s.flushNow();
    }
    // the flush after typo's 2 idle hours let it go (a flush ends with the expiry)
    assert.equal(s.seriesExpired, 1, "typo: no sample for 2h21, all in Parquet");
    assert.deepEqual(names(s), ["r1"]);
    assert.equal(s.core.head.series.held, 1);
    assert.equal(s.expireIdle(), 0, "r1 is not idle");
    assert.match(metrics.render(), /stalker_series_expired_total 1\n/);
    assert.deepEqual(await points(s, "typo", T0, T0 + HOUR), [7], "still queryable from Parquet");

    const again = await s.ingest(SampleBatch.of([gauge("prod", "typo", "cpu", T0, 7)]));
    assert.deepEqual(again, { accepted: 0, duplicates: 1, conflicts: 0 }, "the forgotten series' sample is found");

    await s.close(); // the snapshot carries the forgotten series' newest timestamp
    s = testStorage(fs, clock, YAML, { encoding: "worker" });
    await s.start();
    const afterRestart = await s.ingest(SampleBatch.of([gauge("prod", "typo", "cpu", T0, 7)]));
    assert.deepEqual(afterRestart, { accepted: 0, duplicates: 1, conflicts: 0 }, "still found after a restart");

    clock.set(T0 + 160 * MIN);
    await s.ingest(SampleBatch.of([gauge("prod", "typo", "cpu", T0 + 160 * MIN, 9)]));
    assert.deepEqual(names(s), ["r1", "typo"], "a new sample creates it again");
    await s.flushNow();
    assert.deepEqual(await points(s, "typo", T0, T0 + 3 * HOUR), [7, 9]);
    assert.deepEqual(await points(s, "r1", T0 + 141 * MIN, T0 + 142 * MIN), [141]);
  } finally {
    await s.close();
  }
});

test("a series with an unflushed sample stays until it is flushed, and 0 keeps every series", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0);
  const s = testStorage(fs, clock, YAML);
  await s.start();
  await s.ingest(SampleBatch.of([gauge("prod", "late", "cpu", T0, 1)]));
  clock.set(T0 + 3 * HOUR);
  assert.equal(s.expireIdle(), 0, "its sample is not in Parquet yet");
  assert.deepEqual(names(s), ["late"]);
  await s.flushNow(); // writes it, then lets it go
  assert.deepEqual(names(s), []);
  assert.equal(s.seriesExpired, 1);
  await s.close();

  const keep = testStorage(new MemFs(), new FakeClock(T0), "limits:\n  series_idle_time: 0s\n");
  await keep.start();
  await keep.ingest(SampleBatch.of([gauge("prod", "x", "cpu", T0, 1)]));
  await keep.flushNow();
  assert.equal(keep.expireIdle(), 0);
  assert.deepEqual(names(keep), ["x"]);
  await keep.close();
});
