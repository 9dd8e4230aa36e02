import test from "node:test";
import assert from "node:assert/strict";
import { type ParquetQueryFilter, parquetScan } from "hyparquet";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import type { RawColumns } from "../../../src/parquet/columns.ts";
import { concatBatches, gatherBatch } from "../../../src/parquet/batch.ts";
import { newReadStats } from "../../../src/parquet/buffer.ts";
import { readTierFileInfo } from "../../../src/parquet/footer.ts";
import { pruningFilter } from "../../../src/parquet/range.ts";
import { readAggFile, readRawFile } from "../../../src/parquet/reader.ts";
import { writeTierFile } from "../../../src/parquet/writer.ts";
import { DAY0, MINUTE, rowsOf, syntheticAgg, syntheticRaw, ZSTD } from "./_fixtures.ts";

const RAW = "/data/raw/date=2026-11-25/raw-000000000001.parquet";

/**
 * 2 namespaces × 150 targets × 4 pollers × 120 points = 144,000 rows in row groups of 16 Ki rows: a
 * row group is 11 % of the file, so reading less than two thirds of that proves that pages were skipped
 * (besides the pages, a cold read fetches the footer, the page indexes of the key columns for pruning,
 * and each read column's offset index and dictionary page for the page reader).
 */
const PAGE_LEVEL = 0.07;

let shared: Promise<{ fs: MemFs; batch: RawColumns; size: number }> | null = null;

function bigFile(): Promise<{ fs: MemFs; batch: RawColumns; size: number }> {
  shared ??= writeBigFile();
  return shared;
}

async function writeBigFile(): Promise<{ fs: MemFs; batch: RawColumns; size: number }> {
  const fs = new MemFs();
  const batch = concatBatches([syntheticRaw(150, 120, DAY0, "lab"), syntheticRaw(150, 120, DAY0, "prod")]);
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD, rowGroupRows: 16_384, pageRows: 1_024 }, batch);
  const info = await readTierFileInfo(fs, RAW); // caches the footer: the reads below are data reads only
  return { fs, batch, size: info.bytes };
}

/** The rows of `batch` a filter should return, computed the obvious way. */
function expected(batch: RawColumns, keep: (i: number) => boolean): RawColumns {
  const rows = Int32Array.from({ length: batch.length }, (_, i) => i).filter(keep);
  return gatherBatch(batch, rows);
}

test("pruning filters use hyparquet's explicit operators", () => {
  assert.deepEqual(
    pruningFilter("ts", { series: { namespace: "prod", target: "r1", poller: "cpu" }, fromMs: 5, toMs: 9 }),
    {
      $and: [
        { namespace: { $eq: "prod" } },
        { target: { $eq: "r1" } },
        { poller: { $eq: "cpu" } },
        { ts: { $gte: 5 } },
        { ts: { $lt: 9 } },
      ],
    },
  );
  assert.equal(pruningFilter("ts", {}), undefined);
});

test("hyparquet prunes with the explicit form only", async () => {
  const { fs } = await bigFile();
  const bytes = await fs.readFile(RAW);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  const rows = async (filter: ParquetQueryFilter) => {
    const scan = await parquetScan({ file, columns: ["namespace"], pruningFilter: filter, usePageIndex: true });
    return scan.ranges.reduce((n, r) => n + r.rowEnd - r.rowStart, 0);
  };
  assert.equal(await rows({ namespace: "staging" } as unknown as ParquetQueryFilter), 144_000);
  assert.equal(await rows({ namespace: { $eq: "staging" } }), 0);
  assert.ok(await rows({ namespace: { $eq: "prod" } }) <= 72_000 + 16_384);
});

test("one series is read from a few pages, not whole row groups", async () => {
  const { fs, batch, size } = await bigFile();
  const series = { namespace: "prod", target: "router-0077", poller: "cpu" };
  const stats = newReadStats();
  const got = await readRawFile(fs, RAW, { series, stats });
  const want = expected(
    batch,
    (i) => batch.namespace[i] === "prod" && batch.target[i] === "router-0077" && batch.poller[i] === "cpu",
  );
  assert.equal(got.length, 120);
  assert.deepEqual(rowsOf(got), rowsOf(want));
  assert.ok(stats.bytes < size * PAGE_LEVEL, `read ${stats.bytes} of ${size} bytes`);
});

test("a time window of one series returns exactly the window, read from a few pages", async () => {
  const { fs, batch, size } = await bigFile();
  const series = { namespace: "lab", target: "router-0003", poller: "ifIn" };
  const [fromMs, toMs] = [DAY0 + 30 * MINUTE, DAY0 + 45 * MINUTE];
  const stats = newReadStats();
  const got = await readRawFile(fs, RAW, { series, fromMs, toMs, stats });
  const want = expected(
    batch,
    (i) =>
      batch.namespace[i] === "lab" && batch.target[i] === "router-0003" && batch.poller[i] === "ifIn" &&
      batch.ts[i] >= fromMs && batch.ts[i] < toMs,
  );
  assert.equal(got.length, 15);
  assert.deepEqual(rowsOf(got), rowsOf(want));
  assert.ok(stats.bytes < size * PAGE_LEVEL, `read ${stats.bytes} of ${size} bytes`);
});

test("a series that is not in the file is answered from statistics: almost nothing is read", async () => {
  const { fs, size } = await bigFile();
  const stats = newReadStats();
  const got = await readRawFile(fs, RAW, { series: { namespace: "staging" }, stats });
  assert.equal(got.length, 0);
  assert.ok(stats.bytes < size * 0.005, `read ${stats.bytes} of ${size} bytes`);
});

test("all series of a target, and all series of a namespace in a time window, come back exactly", async () => {
  const { fs, batch, size } = await bigFile();
  const target = await readRawFile(fs, RAW, { series: { namespace: "lab", target: "router-0149" } });
  assert.deepEqual(
    rowsOf(target),
    rowsOf(expected(batch, (i) => batch.namespace[i] === "lab" && batch.target[i] === "router-0149")),
  );
  const [fromMs, toMs] = [DAY0 + 10 * MINUTE, DAY0 + 12 * MINUTE];
  const stats = newReadStats();
  const window = await readRawFile(fs, RAW, { series: { namespace: "prod" }, fromMs, toMs, columns: ["value"], stats });
  const want = expected(batch, (i) => batch.namespace[i] === "prod" && batch.ts[i] >= fromMs && batch.ts[i] < toMs);
  assert.equal(window.length, 150 * 4 * 2);
  assert.deepEqual([...window.ts], [...want.ts]);
  assert.deepEqual([...window.value], [...want.value]);
  assert.ok(stats.bytes < size * 0.6, `read ${stats.bytes} of ${size} bytes`);
});

test("reading without a filter reads the data of every row group", async () => {
  const { fs, batch, size } = await bigFile();
  const stats = newReadStats();
  const all = await readRawFile(fs, RAW, { stats });
  assert.equal(all.length, batch.length);
  assert.ok(stats.bytes > size * 0.5, `read ${stats.bytes} of ${size} bytes`);
});

test("aggregate files prune the same way", async () => {
  const fs = new MemFs();
  const path = "/data/5min/date=2026-11-25/5min-000000000002.parquet";
  const batch = syntheticAgg(300, 96);
  await writeTierFile(fs, path, { tier: "5min", compression: ZSTD, rowGroupRows: 8_192, pageRows: 512 }, batch);
  const { bytes: size } = await readTierFileInfo(fs, path);
  const stats = newReadStats();
  const got = await readAggFile(fs, path, {
    series: { namespace: "prod", target: "router-0123", poller: "cpu" },
    fromMs: DAY0 + 3_600_000,
    toMs: DAY0 + 7_200_000,
    stats,
  });
  assert.equal(got.length, 12);
  assert.deepEqual([...got.bucket], Array.from({ length: 12 }, (_, i) => DAY0 + 3_600_000 + i * 300_000));
  assert.ok(stats.bytes < size * 0.03, `read ${stats.bytes} of ${size} bytes`);
});

test("reads over many small pages and candidate ranges come back exactly", async () => {
  const fs = new MemFs();
  const batch = concatBatches([syntheticRaw(6, 40, DAY0, "lab"), syntheticRaw(6, 40, DAY0, "prod")]);
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD, rowGroupRows: 512, pageRows: 8 }, batch);
  const cases: [string, (i: number) => boolean, Parameters<typeof readRawFile>[2]][] = [
    ["a namespace", (i) => batch.namespace[i] === "prod", { series: { namespace: "prod" } }],
    [
      "a target",
      (i) => batch.namespace[i] === "lab" && batch.target[i] === "router-0003",
      { series: { namespace: "lab", target: "router-0003" } },
    ],
    [
      "a namespace's window",
      (i) => batch.namespace[i] === "lab" && batch.ts[i] >= DAY0 + 7 * MINUTE && batch.ts[i] < DAY0 + 31 * MINUTE,
      { series: { namespace: "lab" }, fromMs: DAY0 + 7 * MINUTE, toMs: DAY0 + 31 * MINUTE },
    ],
    ["everything", () => true, {}],
  ];
  for (const [name, keep, options] of cases) {
    assert.deepEqual(rowsOf(await readRawFile(fs, RAW, options)), rowsOf(expected(batch, keep)), name);
  }
});
