/**
 * The page reader (src/parquet/page_reader.ts) against hyparquet on files the tier writer wrote: every
 * column it takes gives hyparquet's values for any row range (page edges, row-group edges, nulls,
 * every compression), and it leaves to hyparquet what it does not handle (sketches, counters past
 * 2^53, a PLAIN INT64 chunk).
 */
import test from "node:test";
import assert from "node:assert/strict";
import { type DecodedArray, parquetScan } from "hyparquet";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { concatBatches } from "../../../src/parquet/batch.ts";
import { PAGE_DECOMPRESSORS } from "../../../src/parquet/compressors.ts";
import { readTierFileInfo, TIER_PARSERS } from "../../../src/parquet/footer.ts";
import { readColumnFast } from "../../../src/parquet/page_reader.ts";
import { readRawFile } from "../../../src/parquet/reader.ts";
import { writeTierFile } from "../../../src/parquet/writer.ts";
import type { AggColumns, RawColumns } from "../../../src/parquet/columns.ts";
import { ALL_COMPRESSIONS, DAY0, MINUTE, rawOf, type RawRow, syntheticAgg, syntheticRaw } from "./_fixtures.ts";

const PATH = "/data/raw/date=2026-11-25/raw-000000000001.parquet";
const AGG = "/data/5min/date=2026-11-25/5min-000000000001.parquet";

/** A value as text, so that hyparquet's forms (bigint for INT64, booleans) and the reader's compare. */
function norm(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "1" : "0";
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return String(v);
  if (v instanceof Uint8Array) return `bytes:${Array.from(v).join(",")}`;
  return `s:${String(v)}`;
}

function texts(a: DecodedArray): string[] {
  return Array.from(a as ArrayLike<unknown>, norm);
}

/**
 * For each column and each row range: the reader's values equal hyparquet's, or the reader declines
 * (null); answers the columns it declined.
 */
async function compare(fs: MemFs, path: string, ranges: [number, number][]): Promise<Set<string>> {
  const info = await readTierFileInfo(fs, path);
  const bytes = await fs.readFile(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  const { metadata } = info;
  const declined = new Set<string>();
  const columns = metadata.schema.slice(1).map((e) => e.name);
  const scan = await parquetScan({
    file,
    metadata,
    columns,
    compressors: PAGE_DECOMPRESSORS,
    parsers: TIER_PARSERS,
    utf8: false,
  });
  for (const [from, to] of ranges) {
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const groupEnd = groupStart + Number(group.num_rows);
      const lo = Math.max(from, groupStart), hi = Math.min(to, groupEnd);
      if (lo < hi) {
        for (const column of columns) {
          const fast = await readColumnFast(file, metadata, group, groupStart, column, lo, hi);
          if (fast === null) {
            declined.add(column);
            continue;
          }
          const want = await scan.readColumn({ column, rowStart: lo, rowEnd: hi });
          assert.equal(fast.length, hi - lo, `${column} [${lo}, ${hi})`);
          assert.deepEqual(texts(fast), texts(want), `${column} [${lo}, ${hi})`);
          // some rows picked out of the range: scattered, and a run that skips whole pages
          const picks = Int32Array.from({ length: hi - lo }, (_, i) => i).filter((i) =>
            (i * 7_919) % 11 < 3 || (i > (hi - lo) / 2 && i < (hi - lo) / 2 + 40)
          );
          const some = await readColumnFast(file, metadata, group, groupStart, column, lo, hi, picks);
          const all = texts(want);
          assert.deepEqual(texts(some!), Array.from(picks, (i) => all[i]), `${column} [${lo}, ${hi}) picked`);
        }
      }
      groupStart = groupEnd;
    }
  }
  return declined;
}

/** Rows of every kind: gauges (decimals, the double fallback: NaN, -0, ±Infinity), counters, texts, errors. */
function mixedRows(n: number): RawColumns {
  const rows: RawRow[] = [];
  for (let i = 0; i < n; i++) {
    const ts = DAY0 + i * MINUTE;
    const target = `r${String(Math.floor(i / 700)).padStart(2, "0")}`;
    const odd = [NaN, -0, Infinity, -Infinity, 1e-300, 0.1 + 0.2][i % 6];
    rows.push({ target, poller: "a.gauge", ts, kind: "gauge", value: i % 13 === 0 ? odd : (i % 1000) / 100 - 3 });
    rows.push({ target, poller: "b.counter", ts, kind: "counter", counter: BigInt(i) * 987_654_321n + 5n });
    rows.push({
      target,
      poller: "c.text",
      ts,
      kind: i % 17 === 0 ? "none" : "text",
      ...(i % 17 === 0 ? {} : { text: `t${i % 5}` }),
      valid: i % 17 !== 0,
      error: i % 17 === 0 ? `timeout ${i % 3}` : "",
      pollMs: i % 300,
    });
  }
  rows.sort((
    a,
    b,
  ) => (a.target! + a.poller! < b.target! + b.poller!
    ? -1
    : a.target! + a.poller! > b.target! + b.poller!
    ? 1
    : a.ts - b.ts)
  );
  return rawOf(rows);
}

const RANGES = (n: number): [number, number][] => [
  [0, n],
  [0, 1],
  [n - 1, n],
  [1000, 1001],
  [1023, 1025],
  [3000, 7000],
  [4095, 4097],
  [12_000, 12_003],
];

test("raw files: every column the reader takes equals hyparquet's, for any row range and compression", async () => {
  for (const compression of ALL_COMPRESSIONS) {
    const fs = new MemFs();
    const batch = mixedRows(4_500);
    await writeTierFile(fs, PATH, { tier: "raw", compression, rowGroupRows: 8_192, pageRows: 1_024 }, batch);
    const declined = await compare(fs, PATH, RANGES(batch.length));
    // every raw column but the mostly-null texts and errors without a dictionary
    for (const c of ["namespace", "target", "poller", "ts", "kind", "gauge_decimal", "counter", "valid", "poll_ms"]) {
      assert.ok(!declined.has(c), `${compression.algorithm}: ${c} declined`);
    }
  }
});

test("aggregate files: the statistics the queries read come from the reader, sketches from hyparquet", async () => {
  const fs = new MemFs();
  const batch: AggColumns = syntheticAgg(40, 288);
  await writeTierFile(fs, AGG, { tier: "5min", compression: ALL_COMPRESSIONS[0], rowGroupRows: 4_096 }, batch);
  const declined = await compare(fs, AGG, RANGES(batch.length));
  for (const c of ["namespace", "target", "poller", "bucket", "kind", "count", "sum", "min", "max"]) {
    assert.ok(!declined.has(c), `${c} declined`);
  }
  assert.ok(declined.has("sketch"));
});

test("counters past 2^53 and a PLAIN counter chunk are left to hyparquet, and read exactly", async () => {
  for (const top of [2n ** 53n + 1n, 2n ** 62n + 7n, 2n ** 64n - 1n]) {
    const fs = new MemFs();
    const rows: RawRow[] = Array.from({ length: 3_000 }, (_, i) => ({
      poller: "ifIn",
      ts: DAY0 + i * MINUTE,
      kind: "counter" as const,
      counter: i === 2_000 ? top : BigInt(i) * 1_000n,
    }));
    await writeTierFile(fs, PATH, { tier: "raw", compression: ALL_COMPRESSIONS[0], pageRows: 1_024 }, rawOf(rows));
    const declined = await compare(fs, PATH, [[0, 3_000], [0, 10], [2_000, 2_001]]);
    assert.ok(declined.has("counter"), String(top));
    const read = await readRawFile(fs, PATH);
    assert.equal(read.counter[2_000], top);
    assert.equal(read.counter[1_999], 1_999_000n);
  }
});

test("a namespace's rows read through the reader equal the rows written", async () => {
  const fs = new MemFs();
  const batch = concatBatches([syntheticRaw(30, 200, DAY0, "lab"), syntheticRaw(30, 200, DAY0, "prod")]);
  await writeTierFile(fs, PATH, { tier: "raw", compression: ALL_COMPRESSIONS[0], rowGroupRows: 16_384 }, batch);
  const got = await readRawFile(fs, PATH, { series: { namespace: "prod" }, fromMs: DAY0 + 50 * MINUTE });
  let n = 0;
  for (let i = 0; i < batch.length; i++) {
    if (batch.namespace[i] !== "prod" || batch.ts[i] < DAY0 + 50 * MINUTE) continue;
    assert.equal(got.target[n], batch.target[i]);
    assert.equal(got.poller[n], batch.poller[i]);
    assert.equal(got.ts[n], batch.ts[i]);
    assert.equal(got.kind[n], batch.kind[i]);
    assert.ok(Object.is(got.value[n], batch.value[i]), `${got.value[n]} ${batch.value[i]}`);
    assert.equal(got.counter[n], batch.counter[i]);
    assert.equal(got.text[n], batch.text[i]);
    assert.equal(got.valid[n], batch.valid[i]);
    assert.equal(got.error[n], batch.error[i]);
    assert.equal(got.pollMs[n], batch.pollMs[i]);
    n++;
  }
  assert.equal(got.length, n);
});

test("decimal gauges whose steps pass 2^53 are left to hyparquet, and read exactly", async () => {
  const fs = new MemFs();
  const big = Number.MAX_SAFE_INTEGER;
  const values = [-big, 2 ** 52, -big, 3, big, -(2 ** 52), 0];
  const rows: RawRow[] = Array.from({ length: 2_100 }, (_, i) => ({
    poller: "g",
    ts: DAY0 + i * MINUTE,
    kind: "gauge" as const,
    value: i >= 2_000 ? values[i % values.length] : i,
  }));
  await writeTierFile(fs, PATH, { tier: "raw", compression: ALL_COMPRESSIONS[0], pageRows: 1_024 }, rawOf(rows));
  await compare(fs, PATH, [[0, 2_100], [1_990, 2_100]]);
  const read = await readRawFile(fs, PATH);
  for (let i = 0; i < rows.length; i++) assert.equal(read.value[i], rows[i].value, `row ${i}`);
});
