import test from "node:test";
import assert from "node:assert/strict";
import { testResidentBytes, testStorage } from "../helpers.ts";
import { testConfig } from "../helpers.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge, type Sample } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { restoreSnapshot, SNAPSHOT_INFO_FILE } from "../../src/service/backup.ts";
import { Storage } from "../../src/service/storage.ts";
import { InputError } from "../../src/model/errors.ts";

const T0 = Date.UTC(2026, 10, 25, 10);

function minute(m: number): Sample[] {
  const ts = T0 + m * 60_000;
  return ["r1", "r2", "r3"].map((t) => gauge("prod", t, "cpu", ts, m));
}

/** (series, ts) → count over the raw tier and memory. */
async function rawKeys(s: Storage): Promise<Map<string, number>> {
  const r = await s.query({ filter: { namespace: "prod" }, fromMs: 0, toMs: T0 + 86_400_000, tier: "raw", limit: 1e9 });
  const out = new Map<string, number>();
  for (const series of r.series) {
    for (const p of series.samples ?? []) {
      const k = `${series.target}@${p.ts}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

/** Count, sum, min and max per series and bucket (memory and Parquet hold percentiles differently). */
function summary(r: Awaited<ReturnType<Storage["query"]>>): string[] {
  return r.series.flatMap((s) =>
    (s.points ?? []).map((p) => `${s.target} ${p.bucket} ${p.agg.count} ${p.agg.sum} ${p.agg.min} ${p.agg.max}`)
  );
}

async function open(fs: MemFs, clock: FakeClock, dataDir: string): Promise<Storage> {
  const s = Storage.create(testConfig(dataDir), {
    residentBytes: testResidentBytes,
    fs,
    clock,
    log: silentLogger,
    metrics: new Metrics(),
    encoding: "inline",
  });
  await s.start();
  return s;
}

test("a snapshot taken during ingest restores to every acknowledged sample, each once, and the same 5-minute buckets", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 40 * 60_000);
  const s = testStorage(fs, clock);
  await s.start();
  for (let m = 0; m < 20; m++) await s.ingest(SampleBatch.of(minute(m)));
  await s.flushNow(); // tier files, a head snapshot and a checkpoint
  for (let m = 20; m < 30; m++) await s.ingest(SampleBatch.of(minute(m)));
  const acked = await rawKeys(s);
  // ingest keeps going while the snapshot runs
  const during = [30, 31, 32, 33].map((m) => s.ingest(SampleBatch.of(minute(m))));
  const report = await s.snapshot("/backup/snap1");
  await Promise.all(during);
  for (let m = 34; m < 38; m++) await s.ingest(SampleBatch.of(minute(m)));
  await s.flushNow(); // the live directory moves on; the snapshot must not
  assert.ok(report.files > 0 && report.linked > 0, JSON.stringify(report));
  assert.ok(report.wal.length >= 1);
  assert.ok(await fs.stat(`/backup/snap1/${SNAPSHOT_INFO_FILE}`));

  const config = testConfig("/restored");
  await restoreSnapshot(fs, "/backup/snap1", config);
  const r = await open(fs, clock, "/restored");
  const restored = await rawKeys(r);
  for (const [k] of acked) assert.equal(restored.get(k), 1, `acknowledged sample ${k} restored once`);
  for (const [k, n] of restored) {
    assert.equal(n, 1, `${k} once`);
    const m = (Number(k.split("@")[1]) - T0) / 60_000;
    assert.ok(m < 34, `${k} was sent after the snapshot returned`);
  }
  // the 5-minute aggregates of the buckets complete before the snapshot are the same
  const q = { filter: { namespace: "prod" }, fromMs: T0, toMs: T0 + 30 * 60_000, tier: "5min" as const, limit: 1e9 };
  assert.deepEqual(summary(await r.query(q)), summary(await s.query(q)));
  await r.close();
  await s.close();
});

test("snapshot and restore refuse bad targets and leave no trace", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 40 * 60_000);
  const s = testStorage(fs, clock);
  await s.start();
  for (let m = 0; m < 10; m++) await s.ingest(SampleBatch.of(minute(m)));
  await s.flushNow();
  await fs.mkdir("/backup/exists");
  await assert.rejects(s.snapshot("/backup/exists"), (e) => e instanceof InputError && /exists/.test(e.message));
  await s.snapshot("/backup/ok");
  await s.close();

  await fs.mkdir("/full");
  await fs.writeFile("/full/keep", new Uint8Array([1]));
  await assert.rejects(restoreSnapshot(fs, "/backup/ok", testConfig("/full")), /not an empty directory/);
  assert.deepEqual(await fs.readdir("/full"), ["keep"]);
  await assert.rejects(restoreSnapshot(fs, "/data", testConfig("/new1")), /not a snapshot/);
  assert.equal(await fs.stat("/new1"), null);

  // a damaged snapshot (a tier file gone) is refused before anything is written
  const manifest = JSON.parse(new TextDecoder().decode(await fs.readFile("/backup/ok/MANIFEST.json")).split("\n")[0]);
  await fs.unlink(`/backup/ok/${manifest.files[0].path}`);
  await assert.rejects(restoreSnapshot(fs, "/backup/ok", testConfig("/new2")), /damaged: .* is missing/);
  assert.equal(await fs.stat("/new2"), null);
});
