import test from "node:test";
import assert from "node:assert/strict";
import { testStorage } from "../helpers.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge, type Sample } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import type { FileSystem } from "../../src/platform/fs.ts";
import { Catalog, type CommitJob } from "../../src/service/catalog.ts";
import { Storage } from "../../src/service/storage.ts";
import { emptyManifest } from "../../src/tier/manifest.ts";
import { readAggFile, readRawFile } from "../../src/parquet/reader.ts";
import { FaultFs, type FsCall, manifestCommitted, manifestWrite } from "../fault_fs.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const D = Date.UTC(2026, 10, 20);
const CONFIG = "retention:\n  raw: 48h\n";

function open(fs: FileSystem, clock: FakeClock): Promise<Storage> {
  const s = testStorage(fs, clock, CONFIG, { deleteDelayMs: 0 });
  return s.start().then(() => s);
}

async function ingest(s: Storage, from: number, to: number): Promise<void> {
  let batch: Sample[] = [];
  for (let t = from; t < to; t += 5 * MIN) {
    for (const target of ["r1", "r2"]) batch.push(gauge("prod", target, "cpu", t, (t / MIN) % 97));
    if (batch.length >= 500) {
      await s.ingest(SampleBatch.of(batch));
      batch = [];
    }
  }
  if (batch.length) await s.ingest(SampleBatch.of(batch));
}

/** Two days in four flushes (two files per raw and 5-minute partition), then half a day not flushed yet. */
async function prepare(s: Storage, clock: FakeClock): Promise<void> {
  for (let k = 0; k < 4; k++) {
    await ingest(s, D + k * 12 * HOUR, D + (k + 1) * 12 * HOUR);
    clock.set(D + (k + 1) * 12 * HOUR + 2 * MIN);
    await s.flushNow();
  }
  await ingest(s, D + 2 * DAY, D + 2 * DAY + 12 * HOUR);
  // raw day D is past 48 h; both days are sealed, so merges fold their files
  clock.set(D + 3 * DAY + HOUR);
}

/** Every job that commits, in order: its commit is where the crashes go. */
const JOBS: Record<CommitJob, (s: Storage) => Promise<unknown>> = {
  flush: (s) => s.flushNow(),
  rollup: (s) => s.compact(),
  merge: (s) => s.merge(),
  retention: (s) => s.retention(),
};

/** Runs every job in order; `before` runs before each. */
async function jobs(s: Storage, before?: (job: CommitJob) => void): Promise<void> {
  for (const [job, run] of Object.entries(JOBS) as [CommitJob, (s: Storage) => Promise<unknown>][]) {
    before?.(job);
    await run(s);
  }
}

/** What the committed files hold, per tier: raw samples and aggregate count/sum per bucket, independent of file names. */
async function digest(fs: MemFs, s: Storage): Promise<Record<string, unknown>> {
  const out: Record<string, Map<string, number>> = {};
  for (const f of s.core.manifest.files) {
    const totals = out[f.tier] ??= new Map();
    const add = (key: string, v: number) => totals.set(key, (totals.get(key) ?? 0) + v);
    if (f.tier === "raw") {
      const c = await readRawFile(fs, `/data/${f.path}`);
      for (let i = 0; i < c.length; i++) add(`${c.target[i]} ${c.ts[i]}`, 1);
    } else {
      const c = await readAggFile(fs, `/data/${f.path}`);
      for (let i = 0; i < c.length; i++) {
        add(`${c.target[i]} ${c.bucket[i]} count`, c.count[i]);
        add(`${c.target[i]} ${c.bucket[i]} sum`, c.sum[i]);
      }
    }
  }
  return Object.fromEntries(Object.entries(out).map(([tier, m]) => [tier, Object.fromEntries([...m].sort())]));
}

/** Tier files on disk (the manifest's, after a close every dropped file is gone). */
async function tierFilesOnDisk(fs: MemFs): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const name of await fs.readdir(dir)) {
      const p = `${dir}/${name}`;
      if ((await fs.stat(p))?.isDirectory) await walk(p);
      else if (p.endsWith(".parquet")) out.push(p.slice("/data/".length));
    }
  };
  for (const tier of ["raw", "5min", "hourly", "daily", "weekly"]) {
    if (await fs.stat(`/data/${tier}`)) await walk(`/data/${tier}`);
  }
  return out.sort();
}

async function reference(): Promise<Record<string, unknown>> {
  const fs = new MemFs();
  const clock = new FakeClock(D);
  const s = await open(fs, clock);
  await prepare(s, clock);
  await jobs(s);
  const d = await digest(fs, s);
  await s.close();
  return d;
}

test("every job commits through the catalog, and a retention run really changes the tiers", async () => {
  const fs = new FaultFs(new MemFs());
  const clock = new FakeClock(D);
  const s = await open(fs, clock);
  await prepare(s, clock);
  const rawOfD = () => s.core.manifest.files.filter((f) => f.tier === "raw" && f.partition === D).length;
  assert.ok(rawOfD() > 0);
  for (const [job, run] of Object.entries(JOBS)) {
    const writes = fs.count(manifestWrite());
    const commit = s.core.manifest.commit;
    await run(s);
    // every manifest write of the job was a commit of the catalog (it numbers them)
    assert.ok(writes.calls > 0, `${job} wrote no manifest`);
    assert.equal(s.core.manifest.commit - commit, writes.calls, job);
  }
  assert.equal(rawOfD(), 0, "retention removed raw day D (past 48 h)");
  await s.close();
});

const want = reference();
for (const job of ["flush", "rollup", "merge", "retention"] as CommitJob[]) {
  for (const step of ["before", "after"] as const) {
    test(`a crash ${step} the ${job} commit: after restart and the same jobs, every tier holds what it would without the crash`, async () => {
      const fs = new MemFs();
      const faults = new FaultFs(fs);
      const clock = new FakeClock(D);
      const s = await open(faults, clock);
      await prepare(s, clock);
      // power loss where the job's commit starts (before) or once it is durable (after): what was not
      // synced is gone, the process runs no further
      let died!: (call: FsCall) => void;
      const dead = new Promise<FsCall>((r) => (died = r));
      const done = jobs(s, (j) => {
        if (j !== job) return;
        const match = step === "before" ? manifestWrite() : manifestCommitted();
        faults.crashAt(match, { at: step, powerLoss: () => fs.crash() }).then(died);
      });
      await Promise.race([dead, done.then(() => assert.fail(`the ${job} job never committed`))]);
      const again = await open(fs, clock);
      await jobs(again);
      assert.deepEqual(await digest(fs, again), await want);
      await again.close();
      const reopened = await open(fs, clock);
      assert.deepEqual(
        await tierFilesOnDisk(fs),
        reopened.core.manifest.files.map((f) => f.path).sort(),
        "no file outside the manifest is left, none it lists is missing",
      );
      await reopened.close();
    });
  }
}

test("the catalog refuses a commit outside its lock, or of a copy of a manifest that is no longer current", async () => {
  const fs = new MemFs();
  await fs.mkdir("/data");
  const catalog = new Catalog(fs, "/data", emptyManifest(), {
    log: silentLogger,
    clock: new FakeClock(D),
    deleteDelayMs: 0,
  });
  await assert.rejects(catalog.commit(structuredClone(catalog.manifest), "flush"), /the commit lock is not held/);
  const stale = structuredClone(catalog.manifest);
  await catalog.run(() => catalog.commit(structuredClone(catalog.manifest), "flush"));
  await assert.rejects(catalog.run(() => catalog.commit(stale, "retention")), /changes commit 0, the current is 1/);
  const a = catalog.allocate("raw", D);
  const b = catalog.allocate("raw", D);
  assert.equal(b.seq, a.seq + 1);
  await catalog.run(() => catalog.commit(structuredClone(catalog.manifest), "flush"));
  assert.equal(catalog.manifest.nextSeq, b.seq + 1, "a commit records every name handed out");
});
