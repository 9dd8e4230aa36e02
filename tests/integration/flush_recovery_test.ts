import test from "node:test";
import assert from "node:assert/strict";
import { testResidentBytes, testStorage } from "../helpers.ts";
import {
  eio,
  FaultFs,
  type FsMatch,
  manifestCommitted,
  manifestWrite,
  renameSynced,
  snapshotWrite,
  tierFileWrite,
} from "../fault_fs.ts";
import { testConfig } from "../helpers.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { counter, gauge, type Sample } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import type { FileSystem } from "../../src/platform/fs.ts";
import { Storage } from "../../src/service/storage.ts";
import { readAggFile, readRawFile } from "../../src/parquet/reader.ts";
import { listSegments } from "../../src/wal/segments.ts";

const T0 = Date.UTC(2026, 10, 25, 10); // 10:00 UTC

function open(fs: FileSystem, clock: FakeClock): Promise<Storage> {
  const s = testStorage(fs, clock, "");
  return s.start().then(() => s);
}

/** Minute `m` of polling: 3 gauges and 2 counters on 2 targets. */
function minute(m: number): Sample[] {
  const ts = T0 + m * 60_000;
  const out: Sample[] = [];
  for (const target of ["r1", "r2"]) {
    out.push(gauge("prod", target, "cpu.load", ts, 10 + m));
    out.push(gauge("prod", target, "temperature", ts, -5 + m / 10));
    out.push(counter("prod", target, "ifHCInOctets.Gi0-1", ts, BigInt(1_000_000 + m * 6_000)));
  }
  return out;
}

async function ingestMinutes(s: Storage, from: number, to: number): Promise<number> {
  let n = 0;
  for (let m = from; m < to; m++) n += (await s.ingest(SampleBatch.of(minute(m)))).accepted;
  return n;
}

/** Every raw row and every 5-minute row in the committed files. */
async function committed(fs: MemFs, s: Storage) {
  let raw = 0;
  const fiveMin = new Map<string, { count: number; sum: number }>();
  for (const f of s.core.manifest.files) {
    const path = `/data/${f.path}`;
    if (f.tier === "raw") raw += (await readRawFile(fs, path)).length;
    if (f.tier === "5min") {
      const c = await readAggFile(fs, path);
      for (let i = 0; i < c.length; i++) {
        const key = `${c.target[i]}/${c.poller[i]}/${c.bucket[i]}`;
        const e = fiveMin.get(key) ?? { count: 0, sum: 0 };
        e.count += c.count[i];
        e.sum += c.count[i] > 0 ? c.sum[i] : 0;
        fiveMin.set(key, e);
      }
    }
  }
  return { raw, fiveMin };
}

test("a flush writes raw and closed 5-minute buckets to Parquet and checkpoints the WAL", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  const s = await open(fs, clock);
  const n = await ingestMinutes(s, 0, 11); // 10:00 .. 10:10
  const report = await s.flushNow();
  assert.ok(report);
  assert.equal(report.rawSamples, n);
  // buckets 10:00 and 10:05 closed (end + 60 s grace <= 10:11); 10:10 still open
  assert.equal(report.buckets, 2 * 6);
  const { raw, fiveMin } = await committed(fs, s);
  assert.equal(raw, n);
  assert.equal(fiveMin.get("r1/cpu.load/" + T0)!.count, 5);
  assert.equal(fiveMin.get("r1/cpu.load/" + T0)!.sum, 10 + 11 + 12 + 13 + 14);
  // the first counter sample has no predecessor: 4 rates in the first bucket, each 100 B/s
  assert.equal(fiveMin.get("r1/ifHCInOctets.Gi0-1/" + T0)!.count, 4);
  assert.equal(fiveMin.get("r1/ifHCInOctets.Gi0-1/" + T0)!.sum, 400);
  const segs = await listSegments(fs, "/data/wal");
  assert.ok(segs.every((x) => x.segment >= s.core.manifest.checkpoint.walSegment), "old segments deleted");
  assert.equal(s.core.head.raw.unflushed, 0);
  await s.close();
});

test("after kill -9 (crash) the restart replays the WAL: nothing lost, nothing counted twice", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  let s = await open(fs, clock);
  let total = await ingestMinutes(s, 0, 11);
  await s.flushNow();
  total += await ingestMinutes(s, 11, 14); // only in the WAL + head
  fs.crash();
  s = await open(fs, clock); // recovery: snapshot + WAL replay
  assert.equal(s.core.head.raw.unflushed, 3 * 6);
  clock.set(T0 + 21 * 60_000);
  total += await ingestMinutes(s, 14, 20);
  await s.flushNow();
  const { raw, fiveMin } = await committed(fs, s);
  assert.equal(raw, total);
  for (const b of [0, 5, 10, 15]) {
    const key = "r2/cpu.load/" + (T0 + b * 60_000);
    const want = [0, 1, 2, 3, 4].reduce((a, k) => a + 10 + b + k, 0);
    assert.equal(fiveMin.get(key)?.sum, want, key);
    assert.equal(fiveMin.get(key)?.count, 5, key);
  }
  // counter rates stay continuous across the restart: 5 rates per bucket after the first
  assert.equal(fiveMin.get("r2/ifHCInOctets.Gi0-1/" + (T0 + 10 * 60_000))!.count, 5);
  await s.close();
});

/**
 * The steps of a flush as the disk sees them: a crash at each is a kill -9 (with power loss) right after
 * the step completed: after the cut (no tier file written yet), after the tier files (before the
 * snapshot), after the snapshot (before the manifest) and after the manifest commit (before the cleanup).
 */
const FLUSH_STEPS: Record<string, { at: "before" | "after"; match: () => FsMatch }> = {
  cut: { at: "before", match: () => tierFileWrite() },
  files: { at: "before", match: () => snapshotWrite() },
  snapshot: { at: "before", match: () => manifestWrite() },
  commit: { at: "after", match: () => manifestCommitted() },
};

for (const [step, { at, match }] of Object.entries(FLUSH_STEPS)) {
  test(`a crash after the "${step}" step of a flush neither loses nor double-counts`, async () => {
    const fs = new MemFs();
    const faults = new FaultFs(fs);
    const clock = new FakeClock(T0 + 11 * 60_000);
    let s = await open(faults, clock);
    let total = await ingestMinutes(s, 0, 11);
    const died = faults.crashAt(match(), { at, powerLoss: () => fs.crash() });
    void s.flushNow();
    await died;
    // start a new process on what survived
    s = await open(fs, clock);
    clock.set(T0 + 21 * 60_000);
    total += await ingestMinutes(s, 11, 20);
    await s.flushNow();
    const { raw, fiveMin } = await committed(fs, s);
    assert.equal(raw, total, "every raw sample exactly once");
    for (const [key, e] of fiveMin) {
      if (key.includes("cpu.load")) assert.equal(e.count, 5, key);
    }
    assert.equal(fiveMin.size, 2 * 3 * 4, "buckets 10:00..10:15 for 6 series");
    await s.close();
  });
}

test("a failed flush keeps the data in memory and the next flush writes it once", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  const s = await open(fs, clock);
  const total = await ingestMinutes(s, 0, 11);
  const before = fs.usedBytes();
  fs.capacityBytes = before + 200; // too small for the Parquet files
  await assert.rejects(s.flushNow(), /ENOSPC/);
  assert.equal(s.core.head.raw.unflushed, total);
  assert.equal(s.core.head.agg.openBuckets, 2 * 3 * 3);
  assert.equal(s.core.manifest.files.length, 0);
  fs.capacityBytes = Infinity;
  await s.flushNow();
  const { raw, fiveMin } = await committed(fs, s);
  assert.equal(raw, total);
  assert.equal(fiveMin.get("r1/cpu.load/" + T0)!.count, 5);
  await s.close();
});

test("startup removes leftovers: temp files and tier files no manifest lists; foreign files are kept and reported", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  let s = await open(fs, clock);
  await ingestMinutes(s, 0, 11);
  await s.flushNow();
  const live = s.core.manifest.files.find((f) => f.tier === "raw")!;
  await s.close();
  const dir = "/data/raw/date=2026-11-25";
  // an uncommitted flush's output: a valid tier file no manifest lists
  await fs.writeFile(`${dir}/raw-000000088888.parquet`, await fs.readFile(`/data/${live.path}`));
  // foreign bytes under a tier file's name
  await fs.writeFile(`${dir}/raw-000000099999.parquet`, new Uint8Array([1, 2, 3]));
  await fs.writeFile(`${dir}/.raw-000000000001.parquet.x.tmp`, new Uint8Array([1]));
  s = await open(fs, clock);
  const names = await fs.readdir(dir);
  assert.ok(!names.includes("raw-000000088888.parquet"));
  assert.ok(!names.some((n) => n.endsWith(".tmp")));
  assert.ok(names.includes("raw-000000099999.parquet"), "a foreign file is never deleted");
  assert.ok(
    s.core.problems.some((p) => p.includes("raw-000000099999.parquet is not in the manifest and was kept")),
    s.core.problems.join("\n"),
  );
  assert.equal(s.core.manifest.files.filter((f) => f.tier === "raw").length, 1);
  await s.close();
});

test("a lost MANIFEST.json is restored from its backup: every file kept, nothing lost or doubled", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  let s = await open(fs, clock);
  let total = await ingestMinutes(s, 0, 11);
  await s.flushNow();
  total += await ingestMinutes(s, 11, 14); // WAL only
  const files = s.core.manifest.files.map((f) => f.path).sort();
  fs.crash();
  await fs.unlink("/data/MANIFEST.json");
  s = await open(fs, clock);
  assert.deepEqual(s.core.manifest.files.map((f) => f.path).sort(), files);
  for (const f of files) assert.ok(await fs.stat(`/data/${f}`), f);
  assert.ok(await fs.stat("/data/MANIFEST.json"), "the manifest is written back");
  assert.ok(s.core.problems.some((p) => /MANIFEST\.json is missing; restored from/.test(p)), s.core.problems.join());
  clock.set(T0 + 21 * 60_000);
  total += await ingestMinutes(s, 14, 20);
  await s.flushNow();
  const { raw, fiveMin } = await committed(fs, s);
  assert.equal(raw, total);
  for (const [key, e] of fiveMin) if (key.includes("cpu.load")) assert.equal(e.count, 5, key);
  await s.close();
});

test("a damaged MANIFEST.json (checksum mismatch) is restored from its backup too", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  let s = await open(fs, clock);
  const total = await ingestMinutes(s, 0, 11);
  await s.flushNow();
  await s.close();
  const bytes = await fs.readFile("/data/MANIFEST.json");
  bytes[40] ^= 0x01;
  await fs.writeFile("/data/MANIFEST.json", bytes);
  s = await open(fs, clock);
  assert.ok(
    s.core.problems.some((p) => /manifest is damaged .*checksum mismatch.*restored from/.test(p)),
    s.core.problems.join(),
  );
  assert.equal((await committed(fs, s)).raw, total);
  await s.close();
});

test("a backup older than the lost manifest is used only while the data still matches it", async () => {
  const fs = new MemFs();
  const faults = new FaultFs(fs);
  const clock = new FakeClock(T0 + 11 * 60_000);
  let s = await open(faults, clock);
  let total = await ingestMinutes(s, 0, 11);
  await s.flushNow();
  const oldBackup = await fs.readFile("/data/MANIFEST.backup.json");
  clock.set(T0 + 16 * 60_000);
  total += await ingestMinutes(s, 11, 16);
  // kill -9 right after the second flush's manifest write, before its backup write and its cleanup
  const died = faults.crashAt(renameSynced("/data/MANIFEST.json"), { at: "after", powerLoss: () => fs.crash() });
  void s.flushNow();
  await died;
  assert.deepEqual(await fs.readFile("/data/MANIFEST.backup.json"), oldBackup, "the backup is the first commit's");
  await fs.unlink("/data/MANIFEST.json");
  s = await open(fs, clock);
  clock.set(T0 + 21 * 60_000);
  total += await ingestMinutes(s, 16, 20);
  await s.flushNow();
  const { raw, fiveMin } = await committed(fs, s);
  assert.equal(raw, total, "every raw sample exactly once");
  for (const [key, e] of fiveMin) if (key.includes("cpu.load")) assert.equal(e.count, 5, key);
  assert.equal(fiveMin.size, 2 * 3 * 4);
  // once a later commit's cleanup removed what the old backup needs, it is refused
  const older = await fs.readFile("/data/MANIFEST.backup.json");
  clock.set(T0 + 31 * 60_000);
  await ingestMinutes(s, 20, 30);
  await s.flushNow();
  await s.close();
  await fs.writeFile("/data/MANIFEST.backup.json", older);
  await fs.unlink("/data/MANIFEST.json");
  const before = await listAll(fs, "/data");
  await assert.rejects(open(fs, clock), /its backup \(commit \d+\) is older than the data: .*Nothing was deleted/);
  assert.deepEqual(await listAll(fs, "/data"), before);
});

test("with no manifest and no backup, a directory holding data refuses to start and deletes nothing", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  const s = await open(fs, clock);
  await ingestMinutes(s, 0, 11);
  await s.flushNow();
  await s.close();
  await fs.unlink("/data/MANIFEST.json");
  await fs.unlink("/data/MANIFEST.backup.json");
  const before = await listAll(fs, "/data");
  await assert.rejects(
    open(fs, clock),
    /MANIFEST\.json is missing, there is no backup of it, and the data directory holds \d+ tier files, 1 snapshots.*Nothing was deleted/,
  );
  assert.deepEqual(await listAll(fs, "/data"), before);
  assert.ok(before.some((p) => p.endsWith(".parquet")));
});

test("a deleted WAL segment is reported in problems and stalker_problems, not lost silently", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  const metrics = new Metrics();
  const openWith = () => {
    const s = testStorage(fs, clock, "ingestion:\n  wal:\n    max_segment_size: 1MiB\n", { metrics });
    return s.start().then(() => s);
  };
  let s = await openWith();
  await ingestMinutes(s, 0, 11);
  await s.flushNow(); // checkpoint: segment 2
  for (let k = 0; k < 3; k++) {
    // ~1.1 MB of WAL each: one segment per batch
    const batch: Sample[] = [];
    for (let m = 0; m < 80; m++) {
      for (let t = 0; t < 1000; t++) batch.push(gauge("prod", `t${t}`, `p${k}`, T0 + 11 * 60_000 + m * 1000, t + m));
    }
    await s.ingest(SampleBatch.of(batch));
  }
  fs.crash();
  assert.deepEqual((await listSegments(fs, "/data/wal")).map((x) => x.segment), [2, 3, 4, 5]); // 5: the spare
  await fs.unlink("/data/wal/0000000000000003.wal");
  s = await openWith();
  assert.equal(s.core.head.raw.unflushed, 2 * 80_000);
  assert.ok(
    s.core.problems.some((p) => /0000000000000003\.wal at offset 0: WAL segment 3 is missing/.test(p)),
    s.core.problems.join("\n"),
  );
  assert.match(metrics.render(), /^stalker_problems 1$/m);
  await s.close();
});

test("after a crash with a full buffer, the restart flushes at once (not at the next interval)", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  const config = testConfig("/data", "ingestion:\n  flush:\n    max_buffer_size: 1000\n");
  const deps = {
    residentBytes: testResidentBytes,
    fs,
    clock,
    log: silentLogger,
    metrics: new Metrics(),
    encoding: "inline" as const,
  };
  const faults = new FaultFs(fs);
  // kill -9 while the buffer is over its flush share: the flush it started dies before its first file
  const died = faults.crashAt(tierFileWrite(), { powerLoss: () => fs.crash() });
  let s = Storage.create(config, { ...deps, fs: faults });
  await s.start();
  const batch: Sample[] = [];
  for (let i = 0; i < 600; i++) batch.push(gauge("prod", `r${i}`, "cpu.load", T0 + 60_000, i));
  await s.ingest(SampleBatch.of(batch)); // 600 >= 1000 × 0.5: starts a flush, which dies
  await died;
  s = Storage.create(config, deps);
  await s.start();
  assert.equal(s.core.jobs.get("recovery")?.detail?.replayed_samples, 600);
  for (let i = 0; i < 200 && s.core.head.raw.unflushed > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(s.core.head.raw.unflushed, 0, "flushed right after recovery");
  assert.equal((await committed(fs, s)).raw, 600);
  await s.close();
});

/** Every file under `dir` (except the lock), sorted. */
async function listAll(fs: MemFs, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await fs.readdir(dir)) {
    const p = `${dir}/${name}`;
    if ((await fs.stat(p))?.isDirectory) out.push(...(await listAll(fs, p)));
    else if (name !== "LOCK") out.push(p);
  }
  return out.sort();
}

test("a graceful shutdown flushes, so a restart replays nothing", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  let s = await open(fs, clock);
  const total = await ingestMinutes(s, 0, 11);
  await s.close();
  s = await open(fs, clock);
  assert.equal(s.core.head.raw.unflushed, 0);
  assert.equal((await committed(fs, s)).raw, total);
  assert.equal(s.core.head.agg.openBuckets, 6, "the open 10:10 bucket came back from the snapshot");
  await s.close();
});

test("the disk reserve: a flush on a disk another writer filled releases it and succeeds; it comes back with space", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  const yaml = "ingestion:\n  disk_reserve: 1MiB\n";
  const reserveSize = async () => (await fs.stat("/data/RESERVE"))?.size ?? 0;
  const settle = async (want: number) => {
    for (let i = 0; i < 200 && (await reserveSize()) !== want; i++) await new Promise((r) => setTimeout(r, 1));
    assert.equal(await reserveSize(), want);
  };
  let s = testStorage(fs, clock, yaml);
  await s.start();
  await settle(2 ** 20);
  const total = await ingestMinutes(s, 0, 11);
  fs.capacityBytes = fs.usedBytes() + 200; // another writer took the rest: too small for the Parquet files
  await s.flushNow(); // released the reserve and ran again
  assert.equal(await reserveSize(), 0);
  const { raw, fiveMin } = await committed(fs, s);
  assert.equal(raw, total, "every raw sample, once");
  assert.equal(fiveMin.get("r1/cpu.load/" + T0)!.count, 5);
  // still full: a second failure has no reserve to release and fails as before
  await ingestMinutes(s, 11, 12).catch(() => {});
  fs.capacityBytes = Infinity;
  clock.advance(2_000); // the next free-space check (every 2 s) sees room and writes the reserve again
  await ingestMinutes(s, 12, 13);
  await settle(2 ** 20);
  await s.close();
  // a start on a full disk (a sliver left, far below the 64 MiB ingest needs) releases the reserve before recovery
  fs.capacityBytes = fs.usedBytes() + 4096;
  s = testStorage(fs, clock, yaml);
  await s.start();
  assert.equal(await reserveSize(), 0);
  assert.equal(s.ready, true);
  fs.capacityBytes = Infinity;
  await s.close();
});

test("failing flushes are in problems and stalker_problems while they fail; a flush that succeeds clears them", async () => {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * 60_000);
  const metrics = new Metrics();
  const faults = new FaultFs(fs);
  const s = testStorage(faults, clock, "", { metrics });
  await s.start();
  await ingestMinutes(s, 0, 11);
  faults.failAt(tierFileWrite(), () => eio("writing a tier file"), 2);
  await assert.rejects(s.flushNow(), /EIO/);
  clock.advance(60_000);
  await assert.rejects(s.flushNow(), /EIO/);
  assert.deepEqual(s.core.problems, [
    `flushes failing since ${new Date(T0 + 11 * 60_000).toISOString()} (2 in a row): EIO: i/o error, writing a ` +
    "tier file; the data stays in memory and the WAL, and is retried",
  ]);
  assert.match(metrics.render(), /^stalker_problems 1$/m);
  assert.ok(await s.flushNow());
  assert.deepEqual(s.core.problems, []);
  assert.match(metrics.render(), /^stalker_problems 0$/m);
  await s.close();
});
