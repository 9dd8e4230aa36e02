import test from "node:test";
import assert from "node:assert/strict";
import { createAtomicFile, isTempName, writeAtomic } from "../../../src/platform/atomic.ts";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { sliceBatch } from "../../../src/parquet/batch.ts";
import { readRawFile } from "../../../src/parquet/reader.ts";
import { createTierWriter, writeTierFile } from "../../../src/parquet/writer.ts";
import { rawOf, syntheticRaw, ZSTD } from "./_fixtures.ts";

const DIR = "/data/raw/date=2026-11-25";
const RAW = `${DIR}/raw-000000000001.parquet`;
const OPTIONS = { tier: "raw" as const, compression: ZSTD, rowGroupRows: 500 };

const bytes = (s: string) => new TextEncoder().encode(s);

/** Names in the directory that are not leftovers of interrupted writes. */
async function visible(fs: MemFs): Promise<string[]> {
  return (await fs.readdir(DIR)).filter((name) => !isTempName(name));
}

test("createAtomicFile: invisible until commit, durable after it", async () => {
  const fs = new MemFs();
  await fs.mkdir("/d");
  const file = await createAtomicFile(fs, "/d/f.bin");
  await file.write(bytes("abc"));
  await file.write(bytes("def"));
  assert.equal(file.bytesWritten, 6);
  assert.equal(await fs.stat("/d/f.bin"), null);
  await file.commit();
  fs.crash();
  assert.equal(new TextDecoder().decode(await fs.readFile("/d/f.bin")), "abcdef");
  assert.deepEqual([fs.counts.datasync, fs.counts.fsyncDir], [1, 1]);
  await assert.rejects(file.write(bytes("x")), /Cannot write \/d\/f.bin: the atomic write was already committed/);
});

test("createAtomicFile: abort removes the temporary file and keeps the old content", async () => {
  const fs = new MemFs();
  await fs.mkdir("/d");
  await writeAtomic(fs, "/d/f.bin", bytes("old"));
  const file = await createAtomicFile(fs, "/d/f.bin");
  await file.write(bytes("new"));
  await file.abort();
  await file.abort(); // idempotent
  assert.deepEqual(await fs.readdir("/d"), ["f.bin"]);
  assert.equal(new TextDecoder().decode(await fs.readFile("/d/f.bin")), "old");
});

test("a crash in the middle of a tier file leaves no visible file", async () => {
  const fs = new MemFs();
  const writer = await createTierWriter(fs, RAW, OPTIONS);
  const batch = syntheticRaw(4, 300);
  await writer.write(sliceBatch(batch, 0, 2_000)); // four row groups are in the temporary file
  assert.ok(fs.counts.write > 4);
  fs.crash();
  assert.deepEqual(await visible(fs), []);
  assert.equal(await fs.stat(RAW), null);
});

test("a crash right after finish() keeps the whole file", async () => {
  const fs = new MemFs();
  const batch = syntheticRaw(4, 300);
  await writeTierFile(fs, RAW, OPTIONS, batch);
  fs.crash();
  assert.deepEqual(await visible(fs), ["raw-000000000001.parquet"]);
  assert.equal((await readRawFile(fs, RAW)).length, batch.length);
});

test("abort() leaves nothing behind, and the writer refuses further work", async () => {
  const fs = new MemFs();
  const writer = await createTierWriter(fs, RAW, OPTIONS);
  await writer.write(syntheticRaw(2, 300));
  await writer.abort();
  assert.deepEqual(await fs.readdir(DIR), []);
  await assert.rejects(
    writer.write(syntheticRaw(1, 1)),
    /Cannot write .*raw-000000000001.parquet: the writer is aborted/,
  );
  await assert.rejects(writer.finish(), /the writer is aborted/);
});

test("a full disk aborts the file: no temporary file, no final file", async () => {
  const fs = new MemFs();
  const writer = await createTierWriter(fs, RAW, OPTIONS);
  fs.capacityBytes = 3_000;
  await assert.rejects(async () => {
    await writer.write(syntheticRaw(8, 300));
    await writer.finish();
  }, /ENOSPC/);
  assert.deepEqual(await fs.readdir(DIR), []);
});

test("a torn write aborts the file", async () => {
  const fs = new MemFs();
  const writer = await createTierWriter(fs, RAW, OPTIONS);
  fs.tearNextWriteAt = 10;
  await assert.rejects(writer.write(syntheticRaw(2, 300)), /EIO/);
  assert.deepEqual(await fs.readdir(DIR), []);
});

test("finish() without rows is refused and leaves nothing", async () => {
  const fs = new MemFs();
  const writer = await createTierWriter(fs, RAW, OPTIONS);
  await writer.write(syntheticRaw(0, 0));
  await assert.rejects(writer.finish(), /Cannot finish .*: no rows were written \(abort instead\)/);
  assert.deepEqual(await fs.readdir(DIR), []);
});

test("rows out of order are refused with the offending row, across batches too", async () => {
  const fs = new MemFs();
  const unsorted = rawOf([
    { target: "b", ts: 1, kind: "gauge", value: 1 },
    { target: "a", ts: 2, kind: "gauge", value: 1 },
  ]);
  await assert.rejects(
    writeTierFile(fs, RAW, OPTIONS, unsorted),
    /Cannot write .*: rows must be sorted by namespace, target, poller, time, but row 1 \(prod\/a\/cpu @ 2\) comes after \(prod\/b\/cpu @ 1\)/,
  );
  const writer = await createTierWriter(fs, RAW, OPTIONS);
  await writer.write(rawOf([{ ts: 10, kind: "gauge", value: 1 }]));
  await assert.rejects(writer.write(rawOf([{ ts: 9, kind: "gauge", value: 1 }])), /row 0 .* comes after/);
  assert.deepEqual(await fs.readdir(DIR), []);
});

test("invalid values are refused before anything is written", async () => {
  const fs = new MemFs();
  const cases: [ReturnType<typeof rawOf>, RegExp][] = [
    [rawOf([{ ts: 1.5, kind: "gauge", value: 1 }]), /ts of row 0 is 1.5, not an integer/],
    [rawOf([{ ts: 1, kind: "counter", counter: -1n }]), /counter of row 0 is -1, not an unsigned 64-bit integer/],
    [rawOf([{ ts: 1, kind: "counter", counter: 2n ** 64n }]), /not an unsigned 64-bit integer/],
    [{ ...rawOf([{ ts: 1, kind: "gauge" }]), kind: new Uint8Array([9]) }, /kind 9 of row 0 is unknown/],
  ];
  for (const [batch, message] of cases) await assert.rejects(writeTierFile(fs, RAW, OPTIONS, batch), message);
  assert.deepEqual(await fs.readdir(DIR), []);
});

test("bad options are refused up front", async () => {
  const fs = new MemFs();
  const bad = [
    { ...OPTIONS, rowGroupRows: 0 },
    { ...OPTIONS, pageRows: 1.5 },
    { ...OPTIONS, gaugeScale: 10 },
    { ...OPTIONS, compression: { algorithm: "lz4" as "zstd", level: 1 } },
  ];
  for (const options of bad) await assert.rejects(createTierWriter(fs, RAW, options), RangeError);
});

test("the partition directory is created when missing", async () => {
  const fs = new MemFs();
  await writeTierFile(
    fs,
    "/data/5min/date=2026-11-25/x.parquet",
    { tier: "raw", compression: ZSTD },
    syntheticRaw(1, 1),
  );
  assert.deepEqual(await fs.readdir("/data/5min/date=2026-11-25"), ["x.parquet"]);
});

test("the writer yields to the event loop between column chunks", async () => {
  const fs = new MemFs();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  try {
    await writeTierFile(fs, RAW, { ...OPTIONS, rowGroupRows: 100 }, syntheticRaw(2, 100));
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 0, "no timer ran while writing 8 row groups");
});
