/**
 * The flush as the server runs it: encoding on the worker thread, on the real file system. The batch
 * handed to the worker must not take away what queries read meanwhile, nor what a failed flush puts
 * back (issue "Faults", items 1 and 9: "ArrayBuffer has been detached").
 */
import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { testConfig } from "../helpers.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { Storage } from "../../src/service/storage.ts";
import { eio, FaultFs, snapshotWrite } from "../fault_fs.ts";
import { testResidentBytes, withTempDir } from "../helpers.ts";

const T0 = Date.UTC(2026, 10, 25, 10);
const MIN = 60_000;

async function open(dir: string, fs: FaultFs, residentBytes = testResidentBytes): Promise<Storage> {
  const s = Storage.create(testConfig(path.join(dir, "data")), {
    residentBytes,
    fs,
    clock: new FakeClock(T0 + 30 * MIN),
    log: silentLogger,
    metrics: new Metrics(),
    encoding: "worker",
    deleteDelayMs: 0,
  });
  await s.start();
  for (let m = 0; m < 20; m++) {
    await s.ingest(SampleBatch.of(["r1", "r2", "r3"].map((t) => gauge("prod", t, "cpu", T0 + m * MIN, m))));
  }
  return s;
}

async function fiveMinCounts(s: Storage, minutes = 20): Promise<number[]> {
  const q = await s.query({
    filter: { namespace: "prod", target: "r2", poller: "cpu" },
    fromMs: T0,
    toMs: T0 + minutes * MIN,
    tier: "5min",
    limit: 1000,
  });
  assert.equal(q.partial, false, q.warnings.join("; "));
  return (q.series[0]?.points ?? []).map((p) => p.agg.count);
}

test("a query while the worker encodes the flush sees every closed bucket", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultFs(nodeFs);
    const s = await open(dir, fs);
    // held where the snapshot's write starts: after the tier files, before the commit
    const { reached, release } = fs.pauseAt(snapshotWrite(path.join(dir, "data")));
    const flushing = s.flushNow();
    await reached; // the batch went to the worker and came back as files; nothing is committed yet
    assert.equal(s.core.manifest.files.length, 0);
    assert.deepEqual(await fiveMinCounts(s), [5, 5, 5, 5]);
    release();
    await flushing;
    assert.deepEqual(await fiveMinCounts(s), [5, 5, 5, 5]);
    await s.refreshWorkerMemory();
    assert.ok(s.workerHeapBytes > 0, "the encoder thread's heap is read for /metrics");
    await s.close();
  });
});

test("a flush that fails after the worker encoded it keeps the closed buckets; the next flush writes them once", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultFs(nodeFs);
    const s = await open(dir, fs);
    fs.failAt(snapshotWrite(path.join(dir, "data")), () => eio("the snapshot cannot be written"));
    await assert.rejects(s.flushNow(), /EIO: i\/o error, the snapshot cannot be written/);
    assert.deepEqual(await fiveMinCounts(s), [5, 5, 5, 5], "the buckets are back in memory");
    const report = await s.flushNow();
    assert.equal(report?.buckets, 12);
    assert.equal(s.core.manifest.files.filter((f) => f.tier === "5min").length, 1);
    assert.deepEqual(await fiveMinCounts(s), [5, 5, 5, 5]);
    await s.close();
  });
});

test("at the budget with the encoder idle, its thread is stopped; the next flush starts one that knows every series", async () => {
  await withTempDir(async (dir) => {
    let resident = 64 * 2 ** 20;
    const s = await open(dir, new FaultFs(nodeFs), () => resident);
    await s.flushNow(); // the encoder thread runs and holds the names of r1, r2, r3
    resident = s.memory.plan.limitBytes; // at the budget: nothing evictable, nothing unflushed
    s.memory.relieve();
    const released = s.memory.actions.workerReleases;
    assert.ok(released >= 1, `workers released: ${released}`);
    s.memory.relieve();
    assert.equal(s.memory.actions.workerReleases, released, "not again within 10 s");
    resident = 64 * 2 ** 20;
    for (let m = 20; m < 25; m++) {
      await s.ingest(SampleBatch.of(["r1", "r2", "r3"].map((t) => gauge("prod", t, "cpu", T0 + m * MIN, m))));
    }
    await s.flushNow(); // a new thread: it gets every series' names again
    assert.deepEqual(await fiveMinCounts(s), [5, 5, 5, 5]);
    resident = s.memory.plan.limitBytes;
    s.memory.relieve(); // the ring's flushed samples go: the read below comes from the new thread's file
    assert.equal(s.core.head.raw.evictableBytes(), 0);
    resident = 64 * 2 ** 20;
    const q = await s.query({
      filter: { namespace: "prod", target: "r3", poller: "cpu" },
      fromMs: T0 + 20 * MIN,
      toMs: T0 + 25 * MIN,
      tier: "raw",
      limit: 100,
    });
    assert.deepEqual(q.series[0]?.samples?.map((p) => p.value), [20, 21, 22, 23, 24]);
    assert.ok(s.core.manifest.files.some((f) => f.tier === "raw" && f.minTs >= T0 + 20 * MIN));
    await s.close();
  });
});

test("a late sample of a bucket the flush in flight sealed opens a bucket of its own: counted once, after a commit or a failure", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultFs(nodeFs);
    const s = await open(dir, fs);
    const r2 = (ts: number, v: number) => s.ingest(SampleBatch.of([gauge("prod", "r2", "cpu", ts, v)]));
    const snapshot = snapshotWrite(path.join(dir, "data"));
    // committed: the sealed bucket is in Parquet, the late one in memory until the next flush
    const held = fs.pauseAt(snapshot);
    const flushing = s.flushNow();
    await held.reached;
    await r2(T0 + 90_000, 100);
    assert.deepEqual(await fiveMinCounts(s), [6, 5, 5, 5], "the sealed bucket and the late one, each once");
    held.release();
    assert.equal((await flushing)?.buckets, 12, "the late sample is not in this flush");
    assert.deepEqual(await fiveMinCounts(s), [6, 5, 5, 5]);

    // failed: the sealed buckets are open again, merged with a late one opened meanwhile
    for (let m = 20; m < 30; m++) await r2(T0 + m * MIN, m);
    (s.core.clock as FakeClock).set(T0 + 40 * MIN);
    const paused = fs.pauseAt(snapshot);
    fs.failAt(snapshot, () => eio("the snapshot cannot be written"));
    const failing = s.flushNow();
    await paused.reached;
    await r2(T0 + 20 * MIN + 30_000, 1); // into bucket 4, sealed
    paused.release();
    await assert.rejects(failing, /the snapshot cannot be written/);
    assert.deepEqual(await fiveMinCounts(s, 30), [6, 5, 5, 5, 6, 5]);
    assert.equal((await s.flushNow())?.buckets, 3, "the late bucket 0, bucket 4 merged with its late sample, bucket 5");
    assert.deepEqual(await fiveMinCounts(s, 30), [6, 5, 5, 5, 6, 5]);
    await s.close();
  });
});
