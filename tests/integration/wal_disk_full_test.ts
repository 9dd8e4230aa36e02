/**
 * A full WAL disk (issue 10 item 5): the flush must still checkpoint (its WAL rotation uses the spare
 * segment created ahead, so it needs no new space) and free the disk, and a restart on a full disk
 * continues in the last segment instead of creating one. The WAL is on its own small volume of the
 * memory file system, as on a box with `ingestion.wal.dir` on a separate disk.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { testResidentBytes } from "../helpers.ts";
import { testConfig } from "../helpers.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { DiskFullError } from "../../src/model/errors.ts";
import { gauge, type Sample } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { Storage } from "../../src/service/storage.ts";
import { readRawFile } from "../../src/parquet/reader.ts";

const T0 = Date.UTC(2026, 10, 25, 10);
const WAL_DISK = 64 * 1024;

function open(fs: MemFs, clock: FakeClock): Promise<Storage> {
  const s = Storage.create(testConfig("/data", "ingestion:\n  wal:\n    dir: /wal\n"), {
    residentBytes: testResidentBytes,
    fs,
    clock,
    log: silentLogger,
    metrics: new Metrics(),
    encoding: "inline",
  });
  return s.start().then(() => s);
}

/** 50 samples of minute `m`. */
function minute(m: number): SampleBatch {
  const out: Sample[] = [];
  for (let t = 0; t < 50; t++) out.push(gauge("prod", `r${t}`, "cpu.load", T0 + m * 60_000, t + m));
  return SampleBatch.of(out);
}

/**
 * Ingests minutes from `from` on until the WAL disk is full, then fills its last bytes with a ballast
 * file (another writer); returns the next minute and the samples accepted.
 */
async function fill(fs: MemFs, s: Storage, from: number): Promise<{ next: number; accepted: number }> {
  let accepted = 0;
  for (let m = from;; m++) {
    try {
      accepted += (await s.ingest(minute(m))).accepted;
    } catch (err) {
      assert.ok(err instanceof DiskFullError, String(err));
      const { freeBytes } = await fs.diskSpace("/wal");
      await fs.writeFile(`/wal/ballast-${m}`, new Uint8Array(freeBytes));
      assert.equal((await fs.diskSpace("/wal")).freeBytes, 0);
      await assert.rejects(s.ingest(minute(m)), DiskFullError);
      return { next: m + 1, accepted };
    }
  }
}

async function rawRows(fs: MemFs, s: Storage): Promise<number> {
  let n = 0;
  for (const f of s.core.manifest.files) if (f.tier === "raw") n += (await readRawFile(fs, `/data/${f.path}`)).length;
  return n;
}

test("a full WAL disk: the flush checkpoints and frees it, and a restart on a full disk starts", async () => {
  const fs = new MemFs();
  fs.volumes.set("/wal", WAL_DISK);
  const clock = new FakeClock(T0 + 60 * 60_000);
  let s = await open(fs, clock);
  let { next, accepted } = await fill(fs, s, 0);
  let total = accepted;
  assert.ok(total > 1000, `${total} samples before the disk filled`);

  // the flush rotates into the spare segment, commits, deletes the old segments
  const report = await s.flushNow();
  assert.equal(report?.rawSamples, total);
  assert.ok((await fs.diskSpace("/wal")).freeBytes > WAL_DISK / 2, "the WAL disk was freed");
  await new Promise((r) => setTimeout(r, 1_100)); // the writer creates the next spare after a write
  total += (await s.ingest(minute(next++))).accepted; // ingest works again
  ({ next, accepted } = await fill(fs, s, next));
  total += accepted;

  // kill -9 with the WAL disk full: the restart must not need a new segment
  fs.crash();
  s = await open(fs, clock);
  assert.equal(s.core.head.raw.unflushed + (await rawRows(fs, s)), total, "every acknowledged sample");
  await s.flushNow();
  assert.ok((await fs.diskSpace("/wal")).freeBytes > WAL_DISK / 2);
  total += (await s.ingest(minute(next++))).accepted;
  await s.close();
  s = await open(fs, clock);
  assert.equal(await rawRows(fs, s), total, "every sample exactly once");
  await s.close();
});
