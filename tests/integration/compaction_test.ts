import test from "node:test";
import assert from "node:assert/strict";
import { testStorage } from "../helpers.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge, type Sample } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import { Storage } from "../../src/service/storage.ts";
import { readAggFile } from "../../src/parquet/reader.ts";
import { resultJson } from "../../src/query/format.ts";
import { Aggregate } from "../../src/model/aggregate.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

async function open(fs: MemFs, clock: FakeClock, yaml = "", createdMs?: number): Promise<Storage> {
  const s = testStorage(fs, clock, yaml, { deleteDelayMs: 0 });
  const now = clock.now();
  if (createdMs !== undefined) clock.set(createdMs); // a new directory's watermarks start at its creation
  await s.start();
  clock.set(now);
  return s;
}

/** One gauge sample per series every `stepMs` in [from, to); value = minutes since `from` % 97. */
async function ingestRange(
  s: Storage,
  from: number,
  to: number,
  stepMs: number,
  targets = ["r1", "r2"],
): Promise<number> {
  let n = 0;
  let batch: Sample[] = [];
  for (let t = from; t < to; t += stepMs) {
    for (const target of targets) batch.push(gauge("prod", target, "cpu", t, ((t - from) / MIN) % 97));
    if (batch.length >= 500) {
      n += (await s.ingest(SampleBatch.of(batch))).accepted;
      batch = [];
    }
  }
  if (batch.length) n += (await s.ingest(SampleBatch.of(batch))).accepted;
  return n;
}

/** Sum of counts and values per bucket of a tier's files, for target r1. */
async function tierTotals(
  fs: MemFs,
  s: Storage,
  tier: string,
): Promise<Map<number, { count: number; sum: number; rows: number }>> {
  const out = new Map<number, { count: number; sum: number; rows: number }>();
  for (const f of s.core.manifest.files.filter((x) => x.tier === tier)) {
    const c = await readAggFile(fs, `/data/${f.path}`, { series: { namespace: "prod", target: "r1", poller: "cpu" } });
    for (let i = 0; i < c.length; i++) {
      const e = out.get(c.bucket[i]) ?? { count: 0, sum: 0, rows: 0 };
      e.count += c.count[i];
      e.sum += c.sum[i];
      e.rows++;
      out.set(c.bucket[i], e);
    }
  }
  return out;
}

const expectedSum = (from: number, to: number, stepMs: number, origin: number) => {
  let sum = 0;
  for (let t = from; t < to; t += stepMs) sum += ((t - origin) / MIN) % 97;
  return sum;
};

test("hourly rollup: complete hours from the 5-minute files, the watermark moves, a second run does nothing", async () => {
  const fs = new MemFs();
  const T0 = Date.UTC(2026, 10, 25, 10);
  const clock = new FakeClock(T0 + 2 * HOUR + 2 * MIN);
  const s = await open(fs, clock, "", T0);
  await ingestRange(s, T0, T0 + 2 * HOUR, MIN);
  await s.flushNow();
  const runs = await s.compact("hourly");
  assert.ok(runs.length >= 1);
  assert.equal(s.core.manifest.watermarks.hourly, T0 + 2 * HOUR);
  const hourly = await tierTotals(fs, s, "hourly");
  assert.deepEqual([...hourly.keys()], [T0, T0 + HOUR]);
  assert.equal(hourly.get(T0)!.count, 60);
  assert.equal(hourly.get(T0)!.sum, expectedSum(T0, T0 + HOUR, MIN, T0));
  assert.equal(hourly.get(T0 + HOUR)!.sum, expectedSum(T0 + HOUR, T0 + 2 * HOUR, MIN, T0));
  const files = s.core.manifest.files.length;
  assert.deepEqual(await s.compact("hourly"), []);
  assert.equal(s.core.manifest.files.length, files, "idempotent: nothing rewritten");
  await s.close();
});

test("late data for an hour already rolled up reaches the hourly tier once, as a partial row", async () => {
  const fs = new MemFs();
  const T0 = Date.UTC(2026, 10, 25, 10);
  const clock = new FakeClock(T0 + 2 * HOUR + 2 * MIN);
  const s = await open(fs, clock);
  await ingestRange(s, T0, T0 + 2 * HOUR, MIN);
  await s.flushNow();
  await s.compact("hourly");
  await s.ingest(SampleBatch.of([gauge("prod", "r1", "cpu", T0 + 30 * MIN + 30_000, 1000)]));
  await s.flushNow();
  const hourly = await tierTotals(fs, s, "hourly");
  assert.equal(hourly.get(T0)!.count, 61);
  assert.equal(hourly.get(T0)!.rows, 2, "the late delta is its own row until files are merged");
  assert.equal(hourly.get(T0)!.sum, expectedSum(T0, T0 + HOUR, MIN, T0) + 1000);
  await s.compact("hourly");
  assert.equal((await tierTotals(fs, s, "hourly")).get(T0)!.count, 61, "compaction does not read the hour again");
  // the query merges the partial rows into one point
  const res = await s.query({
    filter: { namespace: "prod", target: "r1", poller: "cpu" },
    fromMs: T0,
    toMs: T0 + HOUR,
    tier: "hourly",
    limit: 100,
  });
  assert.equal(res.series[0].points!.length, 1);
  assert.equal(res.series[0].points![0].agg.count, 61);
  // the partial rows were read with their sketches and merged: the percentiles cover all 61 values
  const all = Aggregate.empty(0.01);
  for (let m = 0; m < 60; m++) all.add(m, T0 + m * MIN);
  all.add(1000, T0 + 30 * MIN + 30_000);
  assert.deepEqual([...res.series[0].points![0].agg.quantiles()], [...all.quantiles()]);
  await s.close();
});

test("late data in hours and days already rolled up is in hourly and daily answers before the next flush", async () => {
  const fs = new MemFs();
  const T0 = Date.UTC(2026, 10, 25);
  const clock = new FakeClock(T0 + DAY + 2 * HOUR);
  const s = await open(fs, clock);
  await ingestRange(s, T0, T0 + DAY + HOUR, 5 * MIN);
  await s.flushNow();
  await s.compact();
  assert.ok(s.core.manifest.watermarks.daily > T0, "the day is rolled up");
  const late = T0 + 10 * HOUR + 30 * MIN + 30_000;
  await s.ingest(SampleBatch.of([gauge("prod", "r1", "cpu", late, 1000)]));
  const query = async (tier: "hourly" | "daily", fromMs: number, toMs: number) => {
    const res = await s.query({
      filter: { namespace: "prod", target: "r1", poller: "cpu" },
      fromMs,
      toMs,
      tier,
      limit: 100,
    });
    assert.equal(res.partial, false);
    return res.series[0].points!;
  };
  const before = {
    hour: (await query("hourly", T0 + 10 * HOUR, T0 + 11 * HOUR))[0].agg,
    day: (await query("daily", T0, T0 + DAY))[0].agg,
  };
  assert.equal(before.hour.count, 13, "12 samples + the late one");
  assert.equal(before.hour.max, 1000);
  assert.equal(before.day.count, 12 * 24 + 1);
  await s.flushNow(); // the late row is now in the hourly and daily files: the same answers, counted once
  assert.equal((await query("hourly", T0 + 10 * HOUR, T0 + 11 * HOUR))[0].agg.count, 13);
  assert.equal((await query("daily", T0, T0 + DAY))[0].agg.count, 12 * 24 + 1);
  await s.close();
});

test("daily and weekly rollups: a backfilled week comes out whole and equal at every tier", async () => {
  const fs = new MemFs();
  const monday = Date.UTC(2026, 10, 16); // Monday
  const clock = new FakeClock(Date.UTC(2026, 10, 23, 2));
  const s = await open(fs, clock);
  const n = await ingestRange(s, monday, monday + 7 * DAY + HOUR, 20 * MIN, ["r1"]);
  await s.flushNow();
  await s.compact();
  const w = s.core.manifest.watermarks;
  assert.equal(w.daily, Date.UTC(2026, 10, 23));
  assert.equal(w.weekly, Date.UTC(2026, 10, 23));
  const weekly = await tierTotals(fs, s, "weekly");
  const daily = await tierTotals(fs, s, "daily");
  const hourly = await tierTotals(fs, s, "hourly");
  const weekCount = 7 * 72;
  assert.equal(weekly.get(monday)!.count, weekCount);
  const sumOf = (m: Map<number, { sum: number }>, from: number, to: number) =>
    [...m].filter(([b]) => b >= from && b < to).reduce((a, [, e]) => a + e.sum, 0);
  const want = expectedSum(monday, monday + 7 * DAY, 20 * MIN, monday);
  assert.equal(weekly.get(monday)!.sum, want);
  assert.equal(sumOf(daily, monday, monday + 7 * DAY), want);
  assert.equal(sumOf(hourly, monday, monday + 7 * DAY), want);
  assert.equal(n, weekCount + 3);
  await s.close();
});

test("a crash during a rollup (before its commit) neither loses nor doubles anything", async () => {
  const fs = new MemFs();
  const T0 = Date.UTC(2026, 10, 25, 10);
  const clock = new FakeClock(T0 + 2 * HOUR + 2 * MIN);
  let s = await open(fs, clock, "", T0);
  const watermark = s.core.manifest.watermarks.hourly;
  await ingestRange(s, T0, T0 + 2 * HOUR, MIN);
  await s.flushNow();
  const before = fs.usedBytes();
  fs.capacityBytes = before + 3_000; // room for the hourly file, not for the manifest commit
  await assert.rejects(s.compact("hourly"));
  fs.crash();
  fs.capacityBytes = Infinity;
  s = await open(fs, clock);
  assert.equal(s.core.manifest.watermarks.hourly, watermark, "the failed rollup committed nothing");
  await s.compact("hourly");
  const hourly = await tierTotals(fs, s, "hourly");
  assert.equal(hourly.get(T0)!.count, 60);
  assert.equal(hourly.get(T0)!.rows, 1);
  await s.close();
});

test("retention deletes expired partitions; a dry run deletes nothing", async () => {
  const fs = new MemFs();
  const day0 = Date.UTC(2026, 10, 20);
  const clock = new FakeClock(day0 + 5 * DAY);
  // imported while raw data was kept 5 days; then the operator lowers it to 48 h
  const before = await open(fs, clock, "retention:\n  raw: 120h\n");
  await ingestRange(before, day0, day0 + 4 * DAY, HOUR, ["r1"]);
  await before.flushNow();
  await before.close();
  const s = await open(fs, clock, "retention:\n  raw: 48h\n");
  const rawDays = () => [...new Set(s.core.manifest.files.filter((f) => f.tier === "raw").map((f) => f.partition))];
  assert.equal(rawDays().length, 4);
  // now = 11-25 00:00: raw data older than 11-23 00:00 is past 48 h; day 11-22 ends exactly there
  const dry = await s.previewRetention();
  assert.equal(dry.deletions.filter((d) => d.tier === "raw").length, 3);
  assert.equal(rawDays().length, 4, "dry run deletes nothing");
  const plan = await s.retention();
  assert.deepEqual(plan.deletions.map((d) => [d.tier, d.partition, d.reason]), [
    ["raw", "2026-11-20", "expired"],
    ["raw", "2026-11-21", "expired"],
    ["raw", "2026-11-22", "expired"],
  ]);
  assert.deepEqual(rawDays(), [day0 + 3 * DAY]);
  await s.close(); // pending deletions run at close
  assert.equal(await fs.stat("/data/raw/date=2026-11-20"), null, "files and empty partition directories are gone");
  assert.ok(await fs.stat("/data/raw/date=2026-11-23"));
});

/** Total count of target r1's rows in a tier. */
const tierCount = async (fs: MemFs, s: Storage, tier: string) =>
  [...(await tierTotals(fs, s, tier)).values()].reduce((a, e) => a + e.count, 0);

test("retention keeps expired 5-minute data until it is rolled up (history imported 40 days ago, stop, retention, compact)", async () => {
  const fs = new MemFs();
  const now = Date.UTC(2026, 10, 25, 12);
  const clock = new FakeClock(now);
  const from = Date.UTC(2026, 9, 16); // 40 days ago: past retention.five_min (720 h), within hourly (2160 h)
  let s = await open(fs, clock, "", from); // created then, no rollup ever ran
  const n = await ingestRange(s, from, from + 7 * DAY, 15 * MIN, ["r1"]);
  assert.equal(n, 672);
  await s.close(); // the shutdown flush writes the 5-minute files; no rollup has run
  s = await open(fs, clock);
  const plan = await s.retention();
  assert.deepEqual(plan.deletions.filter((d) => d.tier === "5min"), [], "not rolled up yet: kept");
  assert.equal(plan.awaitingRollup, s.core.manifest.files.filter((f) => f.tier === "5min").length);
  await s.compact();
  assert.equal(await tierCount(fs, s, "hourly"), 672);
  assert.equal(await tierCount(fs, s, "daily"), 672);
  assert.equal(await tierCount(fs, s, "weekly"), 672);
  // rolled up now: the next run deletes the expired 5-minute partitions, the coarser tiers keep every sample
  const second = await s.retention();
  assert.deepEqual(new Set(second.deletions.map((d) => `${d.tier} ${d.reason}`)), new Set(["5min expired"]));
  assert.equal(second.awaitingRollup, 0);
  assert.equal(s.core.manifest.files.filter((f) => f.tier === "5min").length, 0);
  assert.equal(await tierCount(fs, s, "daily"), 672);
  await s.close();
});

test("in a running server, a retention run before the hourly rollup keeps the 5-minute data it needs", async () => {
  const fs = new MemFs();
  const now = Date.UTC(2026, 10, 25, 12);
  const clock = new FakeClock(now);
  const s = await open(fs, clock);
  const from = Date.UTC(2026, 9, 16);
  await ingestRange(s, from, from + DAY, 15 * MIN, ["r1"]);
  await s.flushNow();
  await s.retention(); // the retention timer fires first
  await s.compact("hourly");
  assert.equal(await tierCount(fs, s, "hourly"), 96);
  await s.close();
});

test("retention.max_disk_bytes deletes what is rolled up before what is not, and says when it must delete both", async () => {
  const fs = new MemFs();
  const day0 = Date.UTC(2026, 10, 20);
  const clock = new FakeClock(day0 + 4 * DAY + HOUR);
  const logged: string[] = [];
  const s = testStorage(fs, clock, "retention:\n  raw: 720h\n", {
    log: { ...silentLogger, warn: (msg: string) => logged.push(msg) },
    deleteDelayMs: 0,
  });
  clock.set(day0); // created before the data
  await s.start();
  clock.set(day0 + 4 * DAY + HOUR);
  await ingestRange(s, day0, day0 + 4 * DAY, 5 * MIN, ["r1", "r2", "r3"]);
  await s.flushNow(); // no rollup: every 5-minute file waits for the hourly tier; raw files feed no tier
  const files = s.core.manifest.files;
  const total = files.reduce((a, f) => a + f.bytes, 0);
  const oldRaw = files.filter((f) => f.tier === "raw" && f.partition !== day0 + 3 * DAY);
  const oldRawBytes = oldRaw.reduce((a, f) => a + f.bytes, 0);
  s.config.retention.maxDiskBytes = total - oldRawBytes;
  const dry = await s.previewRetention();
  assert.deepEqual(dry.deletions.map((d) => [d.tier, d.reason]), oldRaw.map(() => ["raw", "size cap"]));
  s.config.retention.maxDiskBytes = total - oldRawBytes - 1;
  const plan = await s.retention();
  const fiveMin = plan.deletions.filter((d) => d.tier === "5min");
  assert.deepEqual(fiveMin.map((d) => [d.partition, d.reason]), [["2026-11-20", "size cap, not rolled up"]]);
  assert.ok(logged.some((m) => /deleted data the coarser tiers have not received yet/.test(m)), logged.join("\n"));
  await s.close();
});

test("retention.max_disk_bytes removes the oldest partitions first and keeps each tier's newest", async () => {
  const fs = new MemFs();
  const day0 = Date.UTC(2026, 10, 20);
  const clock = new FakeClock(day0 + 4 * DAY + HOUR);
  const s = await open(fs, clock, "retention:\n  raw: 720h\n");
  await ingestRange(s, day0, day0 + 4 * DAY, 5 * MIN, ["r1", "r2", "r3"]);
  await s.flushNow();
  const total = s.core.manifest.files.reduce((a, f) => a + f.bytes, 0);
  const s2cap = Math.floor(total * 0.6);
  s.config.retention.maxDiskBytes = s2cap;
  const plan = await s.retention();
  assert.ok(plan.bytesAfter <= s2cap, `${plan.bytesAfter} > ${s2cap}`);
  assert.ok(plan.deletions.every((d) => d.reason.startsWith("size cap")));
  const oldest = plan.deletions.map((d) => d.partition).sort()[0];
  assert.equal(oldest, "2026-11-20");
  for (const tier of ["raw", "5min"]) {
    assert.ok(
      s.core.manifest.files.some((f) => f.tier === tier && f.partition === day0 + 3 * DAY),
      `${tier} keeps its newest day`,
    );
  }
  await s.close();
});

test("merges: many flush files become one per sealed partition (raw: one per hour); answers and totals do not change", async () => {
  const fs = new MemFs();
  const day0 = Date.UTC(2026, 10, 24);
  const clock = new FakeClock(day0 + 10 * MIN);
  const s = await open(fs, clock);
  let n = 0;
  for (let k = 0; k < 20; k++) {
    clock.set(day0 + (k + 1) * HOUR + 2 * MIN);
    n += await ingestRange(s, day0 + k * HOUR, day0 + (k + 1) * HOUR, 5 * MIN, ["r1", "r2"]);
    await s.flushNow();
  }
  // a late sample for an already flushed bucket: a second row with the same key in another file
  await s.ingest(SampleBatch.of([gauge("prod", "r1", "cpu", day0 + 30_000, 500)]));
  await s.flushNow();
  const q = () =>
    s.query({
      filter: { namespace: "prod", target: "r1", poller: "cpu" },
      fromMs: day0,
      toMs: day0 + DAY,
      tier: "5min",
      limit: 10_000,
    });
  const qRaw = () =>
    s.query({
      filter: { namespace: "prod", target: "r1", poller: "cpu" },
      fromMs: day0,
      toMs: day0 + DAY,
      tier: "raw",
      limit: 10_000,
    });
  const before = JSON.stringify(resultJson(await q()));
  const rawBefore = (await qRaw()).series[0].samples!.length;
  const fiveMinFiles = () => s.core.manifest.files.filter((f) => f.tier === "5min").length;
  assert.ok(fiveMinFiles() >= 20);
  // the day is still open: fan-in merges of 8 level-0 files
  let reports = await s.merge();
  assert.ok(reports.length >= 2 && reports.every((r) => r.committed));
  assert.ok(fiveMinFiles() < 20);
  // the day ends and is sealed: one file per tier, raw one per hour (the late sample's hour had two)
  clock.set(day0 + DAY + 2 * HOUR);
  reports = await s.merge();
  assert.equal(s.core.manifest.files.filter((f) => f.tier === "5min").length, 1);
  const rawFiles = s.core.manifest.files.filter((f) => f.tier === "raw");
  assert.equal(rawFiles.length, 20);
  for (const f of rawFiles) assert.equal(Math.floor(f.minTs / HOUR), Math.floor(f.maxTs / HOUR), f.path);
  assert.deepEqual(await s.merge(), [], "nothing more to merge");
  assert.equal(JSON.stringify(resultJson(await q())), before, "same answer from one file");
  assert.equal((await qRaw()).series[0].samples!.length, rawBefore);
  const totals = await tierTotals(fs, s, "5min");
  assert.equal(totals.get(day0)!.rows, 1, "the late partial row was merged into its key");
  assert.equal(totals.get(day0)!.count, 2);
  assert.equal(s.core.manifest.files.filter((f) => f.tier === "raw").reduce((a, f) => a + f.rows, 0), n + 1);
  await s.close();
  const left = (await fs.readdir("/data/5min/date=2026-11-24")).filter((x) => x.endsWith(".parquet"));
  assert.equal(left.length, 1, "replaced files are deleted");
  const rawLeft = (await fs.readdir("/data/raw/date=2026-11-24")).filter((x) => x.endsWith(".parquet"));
  assert.equal(rawLeft.length, 20, "replaced raw files are deleted");
});

test("a merge whose input was removed meanwhile is dropped, not committed", async () => {
  const fs = new MemFs();
  const day0 = Date.UTC(2026, 10, 20);
  const clock = new FakeClock(day0 + 10 * MIN);
  const s = await open(fs, clock);
  // flushes across the hours: the sealed raw day is merged into one file per hour
  for (let k = 0; k < 3; k++) {
    clock.set(day0 + (k + 1) * HOUR + 32 * MIN);
    await ingestRange(s, day0 + k * HOUR + 30 * MIN, day0 + (k + 1) * HOUR + 30 * MIN, 10 * MIN, ["r1"]);
    await s.flushNow();
  }
  clock.set(day0 + 3 * DAY);
  const pending = s.merge();
  // retention removes the raw day while the merge runs
  s.config.retention.rawMs = DAY;
  await s.retention();
  const reports = await pending;
  const rawMerge = reports.find((r) => r.tier === "raw");
  assert.ok(rawMerge && !rawMerge.committed);
  assert.equal(s.core.manifest.files.filter((f) => f.tier === "raw").length, 0);
  await s.close();
});
