/**
 * The background jobs run on the storage's clock: a fake clock drives the flush interval, retention and
 * the cron schedule by hand, and `close()` (or the scheduler's signal) stops every timer.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { memStorage } from "../helpers.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { Scheduler } from "../../src/service/scheduler.ts";

const T0 = Date.UTC(2026, 10, 25, 12); // on a 5-minute boundary
const MIN = 60_000;

test("no background job runs until startBackground(); then the flush interval and retention run on the storage's clock", async () => {
  const { storage, clock } = await memStorage("", T0);
  await storage.ingest(SampleBatch.of([gauge("prod", "r1", "cpu", T0 - MIN, 1)]));
  assert.equal(clock.pendingTimers, 0, "start() arms no timer");
  clock.advance(5 * MIN);
  assert.equal(storage.core.jobs.get("flush"), undefined);

  storage.startBackground();
  assert.ok(clock.pendingTimers > 0);
  clock.advance(5 * MIN); // ingestion.flush.interval (5m) and the raw_to_5min schedule fall due
  await storage.flushNow("test"); // queued behind the flush the timer started, which it waits for
  assert.equal(storage.core.jobs.get("flush")?.detail?.reason, "interval");
  assert.equal(storage.core.head.raw.unflushed, 0);

  clock.advance(5 * MIN); // 10 minutes since startBackground(): retention's period
  await storage.previewRetention(); // runs after retention's commit lock is released
  assert.ok(storage.core.jobs.get("retention"), "retention ran on its timer");

  await storage.close();
  assert.equal(clock.pendingTimers, 0, "close() disarms every timer");
});

test("the scheduler runs due jobs at most `workers` at a time, never one twice at once, until its signal aborts", async () => {
  const clock = new FakeClock(T0);
  const runs: string[] = [];
  const finish = new Map<string, () => void>();
  const job = (name: string, schedule: string) => ({
    name,
    schedule,
    run: () => {
      runs.push(`${name}@${(clock.now() - T0) / MIN}`);
      return new Promise<void>((resolve) => finish.set(name, resolve));
    },
  });
  const stop = new AbortController();
  new Scheduler([job("a", "*/5 * * * *"), job("b", "*/5 * * * *")], 1, clock, silentLogger).start(stop.signal);
  clock.advance(5 * MIN);
  assert.deepEqual(runs, ["a@5"], "one worker: b waits");
  clock.advance(5 * MIN);
  assert.deepEqual(runs, ["a@5"], "a is still running: not started twice, b still queued");
  finish.get("a")!();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(runs, ["a@5", "b@10"], "b starts when a's worker is free");
  stop.abort();
  finish.get("b")!();
  clock.advance(60 * MIN);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(runs, ["a@5", "b@10"], "nothing runs after the abort");
  assert.equal(clock.pendingTimers, 0);
});
