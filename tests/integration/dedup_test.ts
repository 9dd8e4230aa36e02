/**
 * Idempotent ingest: a sample whose (series, timestamp) is already stored is neither stored nor
 * aggregated again — in memory, after a flush, after compaction, after a restart, across concurrent
 * requests and within one request — and the answer counts the duplicates.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { testStorage } from "../helpers.ts";
import { createApp } from "../../src/http/app.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { Storage } from "../../src/service/storage.ts";
import type { Tier } from "../../src/model/tier.ts";
import { readAggFile, readRawFile } from "../../src/parquet/reader.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const MIN = 60_000;
const T0 = NOW - 2 * 3_600_000; // 10:00

/** Without the raw buffer a flush evicts everything: duplicates are found in the raw Parquet files. */
const NO_BUFFER = "features:\n  raw_buffer:\n    enabled: false\n";
const BUFFERS = [["with the raw buffer", ""], ["without the raw buffer", NO_BUFFER]] as const;

interface Env {
  fs: MemFs;
  clock: FakeClock;
  metrics: Metrics;
  storage: Storage;
  post(samples: unknown[]): Promise<{ status: number; body: Record<string, unknown> }>;
  metricsText(): Promise<string>;
}

async function open(yaml = "", fs = new MemFs(), clock = new FakeClock(NOW)): Promise<Env> {
  const metrics = new Metrics();
  const storage = testStorage(fs, clock, yaml, { metrics });
  // the directory exists since before the samples (a running server), so the hourly tier is rolled up
  // from them; history older than a new directory goes to the coarser tiers as late rows instead
  const now = clock.now();
  clock.set(Math.min(now, T0));
  await storage.start();
  clock.set(now);
  const app = createApp({ storage, metrics, log: silentLogger, clock, authToken: "" });
  return {
    fs,
    clock,
    metrics,
    storage,
    post: async (samples) => {
      const res = await app.request("/api/v1/ingest", {
        method: "POST",
        body: JSON.stringify({ samples }),
        headers: { "content-type": "application/json" },
      });
      return { status: res.status, body: await res.json() };
    },
    metricsText: async () => await (await app.request("/metrics")).text(),
  };
}

/** Minutes [from, to) of polling on two targets: a gauge and a counter each. */
function minutes(from: number, to: number, offset = 0): Record<string, unknown>[] {
  const out = [];
  for (let m = from; m < to; m++) {
    for (const target of ["r1", "r2"]) {
      const timestamp_ms = T0 + m * MIN;
      out.push({ namespace: "prod", target, poller: "cpu", timestamp_ms, value: m + offset });
      out.push({ namespace: "prod", target, poller: "octets", timestamp_ms, value_counter: 1_000 * m + offset });
    }
  }
  return out;
}

const ok = (n: number, duplicates = 0, conflicts = 0) => ({
  status: 200,
  body: { accepted: n, duplicates, conflicts },
});

/** What the service answers for every tier: raw (series/ts → count of copies) and per bucket counts. */
async function tiers(s: Storage): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const tier of ["raw", "5min", "hourly"] as Tier[]) {
    const r = await s.query({ filter: { namespace: "prod" }, fromMs: T0 - 3_600_000, toMs: NOW, tier, limit: 1e9 });
    const m: Record<string, number> = {};
    for (const series of r.series) {
      for (const p of series.samples ?? []) {
        const key = `${series.target}/${series.poller}/${p.ts}`;
        m[key] = (m[key] ?? 0) + 1;
      }
      for (const p of series.points ?? []) m[`${series.target}/${series.poller}/${p.bucket}`] = p.agg.count;
    }
    out[tier] = m;
  }
  return out;
}

/** Raw rows and 5-minute counts in the committed Parquet files. */
async function onDisk(fs: MemFs, s: Storage): Promise<{ raw: number; fiveMinCount: number; hourlyCount: number }> {
  let raw = 0, fiveMinCount = 0, hourlyCount = 0;
  for (const f of s.core.manifest.files) {
    const path = `/data/${f.path}`;
    if (f.tier === "raw") raw += (await readRawFile(fs, path)).length;
    if (f.tier === "5min") fiveMinCount += (await readAggFile(fs, path)).count.reduce((a, c) => a + c, 0);
    if (f.tier === "hourly") hourlyCount += (await readAggFile(fs, path)).count.reduce((a, c) => a + c, 0);
  }
  return { raw, fiveMinCount, hourlyCount };
}

test("the same batch twice: stored and aggregated once, the answer counts the duplicates", async () => {
  const env = await open();
  const batch = minutes(0, 10);
  assert.deepEqual(await env.post(batch), ok(40));
  const before = await tiers(env.storage);
  assert.equal(Object.keys(before.raw).length, 40);
  assert.deepEqual(await env.post(batch), ok(0, 40));
  assert.deepEqual(await tiers(env.storage), before);
  assert.equal(env.storage.core.head.raw.unflushed, 40);
  assert.equal(before["5min"][`r1/cpu/${T0}`], 5);
  // a batch half old, half new stores the new half
  assert.deepEqual(await env.post(minutes(5, 15)), ok(20, 20));
  assert.equal(Object.keys((await tiers(env.storage)).raw).length, 60);
  const text = await env.metricsText();
  assert.match(text, /^stalker_ingest_duplicate_samples_total 60$/m);
  assert.match(text, /^stalker_ingest_samples_total 60$/m);
  await env.storage.close();
});

test("duplicates inside one request count once", async () => {
  const env = await open();
  const a = { namespace: "prod", target: "r1", poller: "cpu", timestamp_ms: T0, value: 1 };
  const b = { ...a, timestamp_ms: T0 + MIN };
  assert.deepEqual(await env.post([a, b, a, a, b]), ok(2, 3));
  assert.equal(env.storage.core.head.raw.unflushed, 2);
  assert.equal((await tiers(env.storage))["5min"][`r1/cpu/${T0}`], 2);
  await env.storage.close();
});

test("a batch sent newest-first is all new; sent again, all duplicates", async () => {
  const env = await open();
  const batch = minutes(0, 30).reverse();
  assert.deepEqual(await env.post(batch), ok(120));
  assert.deepEqual(await env.post(batch), ok(0, 120));
  assert.deepEqual(await env.post(minutes(0, 30)), ok(0, 120));
  await env.storage.close();
});

for (const where of ["in memory", "in Parquet"]) {
  test(`a different value at a stored (series, timestamp) ${where}: the first write wins, counted as a conflict`, async () => {
    const env = await open(NO_BUFFER);
    const first = [
      { namespace: "prod", target: "r1", poller: "cpu", timestamp_ms: T0, value: 1.5 },
      { namespace: "prod", target: "r1", poller: "octets", timestamp_ms: T0, value_counter: "18446744073709551000" },
      { namespace: "prod", target: "r1", poller: "descr", timestamp_ms: T0, value_text: "a" },
      { namespace: "prod", target: "r1", poller: "down", timestamp_ms: T0, valid: false, error: "timeout" },
    ];
    assert.deepEqual(await env.post(first), ok(4));
    if (where === "in Parquet") {
      await env.storage.flushNow();
      assert.equal(env.storage.core.head.raw.held, 0, "evicted: the check reads the raw files");
    }
    const second = [
      { ...first[0], value: 2.5 },
      { ...first[1], value_counter: "18446744073709551001" },
      { ...first[2], value_text: "b" },
      { ...first[3], error: "refused" },
      { ...first[0], timestamp_ms: T0 + MIN, value: 7 }, // new
      { ...first[0], timestamp_ms: T0 + MIN, value: 8 }, // conflicts with the one before it
    ];
    assert.deepEqual(await env.post(second), ok(1, 5, 5));
    assert.deepEqual(await env.post(first), ok(0, 4, 0), "the stored values are the first ones");
    const raw = await env.storage.query({
      filter: { namespace: "prod", target: "r1" },
      fromMs: T0,
      toMs: NOW,
      tier: "raw",
      limit: 100,
    });
    const byPoller = Object.fromEntries(raw.series.map((s) => [s.poller, s.samples!]));
    assert.deepEqual(byPoller.cpu.map((p) => p.value), [1.5, 7]);
    assert.equal(byPoller.octets[0].counter, 18446744073709551000n);
    assert.equal(byPoller.descr[0].text, "a");
    assert.equal(byPoller.down[0].error, "timeout");
    assert.match(await env.metricsText(), /^stalker_ingest_conflicting_samples_total 5$/m);
    await env.storage.close();
  });
}

for (const [name, yaml] of BUFFERS) {
  test(`re-sent after a flush (${name}): every tier unchanged on disk and in answers`, async () => {
    const env = await open(yaml);
    const batch = minutes(0, 60);
    assert.deepEqual(await env.post(batch), ok(240));
    await env.storage.flushNow();
    const before = await tiers(env.storage);
    const disk = await onDisk(env.fs, env.storage);
    assert.deepEqual(disk, { raw: 240, fiveMinCount: 240 - 2, hourlyCount: 0 }); // first counter samples: no rate
    assert.deepEqual(await env.post(batch), ok(0, 240));
    assert.deepEqual(await env.post(batch.slice(7, 9)), ok(0, 2));
    await env.storage.flushNow();
    assert.deepEqual(await tiers(env.storage), before);
    assert.deepEqual(await onDisk(env.fs, env.storage), disk);
    await env.storage.close();
  });

  test(`re-sent after compaction into the hourly tier (${name})`, async () => {
    const env = await open(yaml);
    const batch = minutes(0, 110);
    assert.deepEqual(await env.post(batch), ok(440));
    await env.storage.flushNow();
    const reports = await env.storage.compact("hourly");
    assert.ok(reports.length > 0, "an hourly rollup ran");
    const before = await tiers(env.storage);
    const disk = await onDisk(env.fs, env.storage);
    assert.equal(disk.hourlyCount, 4 * 60 - 2, "10:00 rolled up (the first counter samples have no rate)");
    assert.deepEqual(await env.post(batch), ok(0, 440));
    await env.storage.flushNow();
    await env.storage.compact("hourly");
    assert.deepEqual(await tiers(env.storage), before);
    assert.deepEqual(await onDisk(env.fs, env.storage), disk);
    await env.storage.close();
  });

  test(`re-sent after a restart, WAL replay and after flush + restart (${name})`, async () => {
    const fs = new MemFs();
    const clock = new FakeClock(NOW);
    let env = await open(yaml, fs, clock);
    assert.deepEqual(await env.post(minutes(0, 30)), ok(120));
    await env.storage.flushNow();
    assert.deepEqual(await env.post(minutes(30, 60)), ok(120)); // only in the WAL
    const before = await tiers(env.storage);
    fs.crash(); // kill -9
    env = await open(yaml, fs, clock);
    assert.equal(env.storage.core.head.raw.unflushed, 120, "the WAL replayed");
    assert.deepEqual(await env.post(minutes(0, 60)), ok(0, 240));
    assert.deepEqual(await tiers(env.storage), before);
    await env.storage.close(); // flushes everything
    env = await open(yaml, fs, clock);
    assert.equal(env.storage.core.head.raw.unflushed, 0);
    assert.deepEqual(await env.post(minutes(0, 60)), ok(0, 240));
    assert.deepEqual(await env.post(minutes(55, 65)), ok(20, 20));
    await env.storage.flushNow();
    const disk = await onDisk(env.fs, env.storage);
    assert.equal(disk.raw, 260);
    const after = await tiers(env.storage);
    assert.equal(Object.keys(after.raw).length, 260);
    assert.ok(Object.values(after.raw).every((n) => n === 1));
    for (const [k, v] of Object.entries(before["5min"])) assert.equal(after["5min"][k], v, k);
    await env.storage.close();
  });
}

test("two concurrent identical requests store the samples once", async () => {
  const env = await open();
  const batch = minutes(0, 20);
  const answers = await Promise.all([env.post(batch), env.post(batch), env.post(batch)]);
  assert.ok(answers.every((a) => a.status === 200));
  assert.equal(answers.reduce((a, r) => a + (r.body.accepted as number), 0), 80);
  assert.equal(answers.reduce((a, r) => a + (r.body.duplicates as number), 0), 160);
  assert.equal(env.storage.core.head.raw.unflushed, 80);
  assert.equal((await tiers(env.storage))["5min"][`r2/cpu/${T0}`], 5);
  await env.storage.close();
});

test("a duplicate of a request whose WAL write fails is not acknowledged; retries store it once", async () => {
  const env = await open();
  const batch = minutes(0, 20);
  env.fs.tearNextWriteAt = 10; // the first request's WAL write fails
  const answers = await Promise.all([env.post(batch), env.post(batch)]);
  // one request's write fails (500); the other counted on it for its duplicates, so it is refused too (503)
  assert.deepEqual(answers.map((a) => a.status).sort(), [500, 503], JSON.stringify(answers));
  assert.equal(env.storage.core.head.raw.unflushed, 0);
  // the client retries whatever was not acknowledged
  assert.deepEqual(await env.post(batch), ok(80));
  assert.deepEqual(await env.post(batch), ok(0, 80));
  assert.equal(env.storage.core.head.raw.unflushed, 80);
  await env.storage.close();
});

test("re-sent after a restart that lost its snapshot: the raw files still tell", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(NOW);
  let env = await open("", fs, clock);
  assert.deepEqual(await env.post(minutes(0, 30)), ok(120));
  await env.storage.close();
  const snapshot = env.storage.core.manifest.checkpoint.snapshot;
  assert.ok(snapshot);
  await fs.unlink(`/data/${snapshot}`);
  env = await open("", fs, clock);
  assert.equal(env.storage.core.head.series.visible, 0, "the series index is empty");
  assert.deepEqual(await env.post(minutes(0, 31)), ok(4, 120));
  await env.storage.close();
});
