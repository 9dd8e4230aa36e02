import test from "node:test";
import assert from "node:assert/strict";
import { planMemory } from "../../../src/config/memory_budget.ts";
import { defaultConfig } from "../../../src/config/load.ts";
import { FULL_COLLECTION_MAX_MS, FULL_COLLECTION_MS, MemoryMonitor } from "../../../src/service/memory.ts";

/** A monitor over a fake process: resident memory set by the test, collections counted by kind. */
function monitor() {
  const plan = planMemory(defaultConfig());
  const p = { resident: 0, now: 0, full: [] as number[], gain: 0, unflushed: 0 };
  const m = new MemoryMonitor(plan, {
    residentBytes: () => p.resident,
    now: () => p.now,
    head: () => null,
    unflushedSamples: () => p.unflushed,
    collectGarbage: (how) => {
      if (how !== "full") return;
      p.full.push(p.now);
      p.resident -= p.gain;
    },
    releaseIdleSql: () => false,
    releaseIdleWorkers: () => 0,
  });
  return { m, p, limit: plan.limitBytes };
}

test("full collections that give nothing back come less and less often under pressure, up to 16 s apart", () => {
  const { m, p, limit } = monitor();
  p.resident = 0.97 * limit; // stuck: live memory, nothing to collect
  for (p.now = 0; p.now <= 60_000; p.now += 250) m.relieve();
  const gaps = p.full.slice(1).map((t, i) => t - p.full[i]);
  // judged at the next look (250 ms later): the first already waits twice the second
  assert.deepEqual(gaps.slice(0, 5), [2_000, 4_000, 8_000, 16_000, 16_000]);
  assert.ok(gaps.every((g) => g <= FULL_COLLECTION_MAX_MS));
  assert.ok(p.full.length <= 9, `${p.full.length} full collections in a minute, not 60`);
});

test("a full collection that gives memory back keeps them a second apart; below the soft share none runs", () => {
  const { m, p, limit } = monitor();
  p.resident = 0.97 * limit;
  p.gain = 0.05 * limit; // each gives back 5 % of the budget...
  const grow = () => (p.resident += 0.05 * limit); // ...and ingest takes it again
  for (p.now = 0; p.now <= 10_000; p.now += 250) {
    m.relieve();
    if (p.now % FULL_COLLECTION_MS === 750) grow(); // after the collection was judged
  }
  const gaps = p.full.slice(1).map((t, i) => t - p.full[i]);
  assert.ok(gaps.length >= 8 && gaps.every((g) => g === FULL_COLLECTION_MS), gaps.join(","));
  const before = p.full.length;
  p.resident = 0.5 * limit;
  for (; p.now <= 20_000; p.now += 250) m.relieve();
  assert.equal(p.full.length, before, "no pressure, no collection");
});

test("room is kept for a flush: what the last flushes added at their peak, scaled to the samples it takes, held while it runs", () => {
  const { m, p, limit } = monitor();
  const MiB = 2 ** 20;
  const planned = m.plan.flushWorkBytes;
  const mark = m.plan.flushStartSamples;
  p.resident = 100 * MiB;
  const usage = (reserve: number) => (100 * MiB + reserve) / limit;
  assert.equal(m.flushReserve(), 0, "nothing unflushed: no flush to make room for");
  p.unflushed = mark;
  assert.equal(m.flushReserve(), planned, "no flush measured yet: the plan's share");
  assert.equal(m.usage(), usage(planned));
  p.unflushed = mark / 4;
  assert.equal(m.flushReserve(), planned / 2, "a small flush: half of a planned one's, at least");
  p.unflushed = (3 * mark) / 4;
  assert.equal(m.flushReserve(), (3 * planned) / 4, "in proportion to its samples");
  const flush = (samples: number, peak: number) => {
    p.unflushed = samples;
    m.flushStarted(samples);
    p.unflushed = 0; // what arrives while it runs is the next flush's
    assert.equal(m.flushReserve(), m.expectedFlushGrowth(samples), "a running flush keeps its room until it ends");
    for (const r of [100 * MiB + peak / 2, 100 * MiB + peak, 100 * MiB + peak / 3]) {
      p.resident = r;
      p.now += 50; // a new reading
      m.residentBytes();
    }
    m.flushEnded();
    p.resident = 100 * MiB;
    p.now += 50;
  };
  flush(mark, 80 * MiB);
  p.unflushed = mark;
  assert.equal(m.flushReserve(), 80 * MiB);
  assert.equal(m.usage(), usage(80 * MiB));
  flush(mark, 30 * MiB);
  p.unflushed = mark;
  assert.equal(m.flushReserve(), 80 * MiB, "the largest of the last four");
  for (let k = 0; k < 4; k++) flush(mark, 20 * MiB);
  p.unflushed = mark;
  assert.equal(m.flushReserve(), 20 * MiB, "older flushes are forgotten");
  flush(mark / 10, 15 * MiB);
  p.unflushed = mark;
  assert.equal(m.flushReserve(), 30 * MiB, "a small flush's growth counts as half of a planned one's");
  flush(mark, planned * 3);
  p.unflushed = mark;
  assert.equal(m.flushReserve(), planned, "never more than the plan's share");
  // the reserve cannot keep ingest out for good: it shrinks with the buffer, to nothing when empty
  p.resident = limit / 2;
  p.now += 50;
  assert.ok(m.usage() < 0.95, `usage ${m.usage()}`);
  p.unflushed = 0;
  assert.equal(m.usage(), 0.5);
});
