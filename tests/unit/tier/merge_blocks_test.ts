/**
 * Sealed raw partitions are merged into one file per hour: the merge splits each series' rows by time
 * block, and the planner merges exactly the files of the blocks that need it.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { gatherBatch } from "../../../src/parquet/batch.ts";
import { readRawFile } from "../../../src/parquet/reader.ts";
import { writeTierFile } from "../../../src/parquet/writer.ts";
import { planMerges, SEALED_BLOCK_MS } from "../../../src/service/merger.ts";
import { emptyManifest, type TierFile } from "../../../src/tier/manifest.ts";
import { mergeTierFiles } from "../../../src/tier/merge.ts";
import { DAY0, MINUTE, rowsOf, syntheticRaw, ZSTD } from "./_fixtures.ts";

const HOUR = 3_600_000;
const DIR = "/data/raw/date=2026-11-25";

test("a merge into hour blocks: every row once, in its hour's file, sorted; empty blocks write no file", async () => {
  const fs = new MemFs();
  // 3 targets × 4 pollers × 150 minutes from 00:00, split into two overlapping inputs by row parity
  const all = syntheticRaw(3, 150);
  const even = Int32Array.from({ length: Math.ceil(all.length / 2) }, (_, i) => 2 * i);
  const odd = Int32Array.from({ length: Math.floor(all.length / 2) }, (_, i) => 2 * i + 1);
  await writeTierFile(fs, `${DIR}/raw-1.parquet`, { tier: "raw", compression: ZSTD }, gatherBatch(all, even));
  await writeTierFile(fs, `${DIR}/raw-2.parquet`, { tier: "raw", compression: ZSTD }, gatherBatch(all, odd));
  const outputs = [0, 1, 2, 3].map((h) => ({
    path: `${DIR}/raw-${10 + h}.parquet`,
    fromMs: DAY0 + h * HOUR,
    toMs: DAY0 + (h + 1) * HOUR,
  }));
  const written = await mergeTierFiles(fs, [`${DIR}/raw-1.parquet`, `${DIR}/raw-2.parquet`], outputs, {
    tier: "raw",
    compression: ZSTD,
    accuracy: null,
  });
  assert.deepEqual(written.map((w) => w.path), outputs.slice(0, 3).map((o) => o.path), "hour 3 has no row");
  assert.deepEqual((await fs.readdir(DIR)).sort(), [
    "raw-1.parquet",
    "raw-10.parquet",
    "raw-11.parquet",
    "raw-12.parquet",
    "raw-2.parquet",
  ]);
  let total = 0;
  for (const [h, w] of written.entries()) {
    const rows = rowsOf(await readRawFile(fs, w.path));
    const expected = rowsOf(all).filter((r) =>
      (r.ts as number) >= DAY0 + h * HOUR && (r.ts as number) < DAY0 + (h + 1) * HOUR
    );
    assert.deepEqual(rows, expected, `hour ${h}`);
    assert.equal(w.rows, h < 2 ? 3 * 4 * 60 : 3 * 4 * 30);
    total += w.rows;
  }
  assert.equal(total, all.length);
});

test("a merge refuses a row outside every output and leaves no file", async () => {
  const fs = new MemFs();
  await writeTierFile(fs, `${DIR}/raw-1.parquet`, { tier: "raw", compression: ZSTD }, syntheticRaw(1, 90));
  const outputs = [{ path: `${DIR}/raw-2.parquet`, fromMs: DAY0, toMs: DAY0 + HOUR }];
  await assert.rejects(
    mergeTierFiles(fs, [`${DIR}/raw-1.parquet`], outputs, { tier: "raw", compression: ZSTD, accuracy: null }),
    /after every output/,
  );
  assert.deepEqual(await fs.readdir(DIR), ["raw-1.parquet"], "nothing left behind");
});

function file(tier: TierFile["tier"], seq: number, minTs: number, maxTs: number, level = 1): TierFile {
  return { path: `${tier}/f-${seq}`, tier, partition: DAY0, seq, minTs, maxTs, rows: 10, bytes: 100, level };
}

test("sealed raw partitions: an old whole-day file is split; block files stay; a late file merges its hour only", () => {
  assert.equal(SEALED_BLOCK_MS.raw, HOUR);
  const sealed = DAY0 + 3 * 86_400_000;
  const plan = (files: TierFile[]) => planMerges({ ...emptyManifest(), files }, sealed);
  // one file over the whole day (written before blocks): split once
  const day = file("raw", 1, DAY0, DAY0 + 86_400_000 - MINUTE);
  assert.deepEqual(plan([day]).map((p) => p.inputs.map((f) => f.seq)), [[1]]);
  // one file per hour: nothing to do
  const hours = Array.from(
    { length: 24 },
    (_, h) => file("raw", 10 + h, DAY0 + h * HOUR, DAY0 + h * HOUR + 59 * MINUTE),
  );
  assert.deepEqual(plan(hours), []);
  // a late file in hour 5: that hour's two files only
  const late = file("raw", 50, DAY0 + 5 * HOUR + 7 * MINUTE, DAY0 + 5 * HOUR + 7 * MINUTE, 0);
  assert.deepEqual(plan([...hours, late]).map((p) => p.inputs.map((f) => f.seq)), [[15, 50]]);
  // a late file across hours 5 and 6: both hours
  const across = file("raw", 51, DAY0 + 5 * HOUR + 50 * MINUTE, DAY0 + 6 * HOUR + 10 * MINUTE, 0);
  assert.deepEqual(plan([...hours, across]).map((p) => p.inputs.map((f) => f.seq)), [[15, 16, 51]]);
  // the 5-minute tier: one file per partition, as before
  assert.deepEqual(plan([file("5min", 1, DAY0, DAY0 + 86_100_000)]), []);
  assert.deepEqual(
    plan([file("5min", 1, DAY0, DAY0 + HOUR), file("5min", 2, DAY0 + HOUR, DAY0 + 2 * HOUR)]).map((p) =>
      p.inputs.length
    ),
    [2],
  );
});
