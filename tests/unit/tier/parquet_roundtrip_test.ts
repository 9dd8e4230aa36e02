import test from "node:test";
import assert from "node:assert/strict";
import { MAX_COUNTER } from "../../../src/model/sample.ts";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { concatBatches, sliceBatch } from "../../../src/parquet/batch.ts";
import { iterateAggFile, iterateRawFile, readAggFile, readRawFile } from "../../../src/parquet/reader.ts";
import { createTierWriter, writeTierFile } from "../../../src/parquet/writer.ts";
import { ALL_COMPRESSIONS, DAY0, MINUTE, rawOf, rowsOf, syntheticAgg, syntheticRaw, ZSTD } from "./_fixtures.ts";

const RAW = "/data/raw/date=2026-11-25/raw-000000000001.parquet";
const AGG = "/data/5min/date=2026-11-25/5min-000000000002.parquet";

const EDGE_GAUGES = [
  0,
  -0,
  1,
  -1,
  12.34,
  0.1,
  0.3,
  100,
  99.99,
  Math.PI,
  -Math.E,
  1e-300,
  5e-324,
  -5e-324,
  1e300,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  2 ** 53,
  2 ** 53 + 2,
  9_007_199_254_740_991,
  123456789.123,
  0.000_001,
  1.5e-7,
  Infinity,
  -Infinity,
];

const EDGE_COUNTERS = [
  0n,
  1n,
  2n ** 32n - 1n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  MAX_COUNTER - 1n,
  MAX_COUNTER,
];

function edgeRaw() {
  return rawOf([
    ...EDGE_GAUGES.map((value, i) => ({ poller: "a-gauge", ts: DAY0 + i * MINUTE, kind: "gauge" as const, value })),
    ...EDGE_COUNTERS.map((counter, i) => ({
      poller: "b-counter",
      ts: DAY0 + i * MINUTE,
      kind: "counter" as const,
      counter,
    })),
    { poller: "c-text", ts: DAY0, kind: "text", text: "" },
    { poller: "c-text", ts: DAY0 + MINUTE, kind: "text", text: "Cisco IOS XE — ünïcødé 🚀" },
    { poller: "c-text", ts: DAY0 + 2 * MINUTE, kind: "text", text: "x".repeat(65_536) },
    { poller: "d-none", ts: DAY0, kind: "none", valid: false, error: "timeout after 5000 ms" },
    { poller: "d-none", ts: DAY0 + MINUTE, kind: "none", valid: false, error: "" },
    { poller: "e-gauge", ts: -MINUTE, kind: "gauge", value: 7, pollMs: 2 ** 31 - 1 },
  ]);
}

test("raw round trip: every column and edge value comes back exactly, with every compression", async () => {
  const batch = edgeRaw();
  for (const compression of ALL_COMPRESSIONS) {
    const fs = new MemFs();
    await writeTierFile(fs, RAW, { tier: "raw", compression }, batch);
    const back = await readRawFile(fs, RAW);
    assert.deepEqual(
      rowsOf(back),
      rowsOf({ ...batch, error: batch.error.map((e) => e || null) }),
      compression.algorithm,
    );
  }
});

test("raw round trip: gauges are bit-exact, including -0, subnormals, huge values and infinities", async () => {
  const fs = new MemFs();
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD }, edgeRaw());
  const back = await readRawFile(fs, RAW, { series: { namespace: "prod", target: "r1", poller: "a-gauge" } });
  assert.equal(back.length, EDGE_GAUGES.length);
  EDGE_GAUGES.forEach((v, i) => assert.ok(Object.is(back.value[i], v), `gauge ${v} came back as ${back.value[i]}`));
});

test("raw round trip: counters are exact unsigned 64-bit integers (0, 2^53+1, 2^64-1)", async () => {
  const fs = new MemFs();
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD }, edgeRaw());
  const back = await readRawFile(fs, RAW, { series: { namespace: "prod", poller: "b-counter" }, columns: ["counter"] });
  assert.deepEqual(back.counter, EDGE_COUNTERS);
});

test("raw round trip: a NaN gauge reads back as NaN, values of other kinds are not stored", async () => {
  const fs = new MemFs();
  const batch = rawOf([
    { ts: 1, kind: "gauge", value: NaN },
    { ts: 2, kind: "counter", counter: 5n },
    { ts: 3, kind: "text", text: "t" },
  ]);
  batch.value[1] = 42; // not a gauge: ignored
  batch.counter[0] = 7n; // not a counter: ignored
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD }, batch);
  const back = await readRawFile(fs, RAW);
  assert.ok(Number.isNaN(back.value[0]) && Number.isNaN(back.value[1]));
  assert.deepEqual(back.counter, [null, 5n, null]);
  assert.deepEqual(back.text, [null, null, "t"]);
});

test("a file written in many small batches equals the one-shot file, across row groups", async () => {
  const batch = syntheticRaw(12, 200);
  const fs = new MemFs();
  const options = { tier: "raw" as const, compression: ZSTD, rowGroupRows: 1_000, pageRows: 128 };
  const writer = await createTierWriter(fs, RAW, options);
  for (let i = 0; i < batch.length; i += 333) await writer.write(sliceBatch(batch, i, Math.min(batch.length, i + 333)));
  const result = await writer.finish();
  assert.equal(result.rows, batch.length);
  assert.equal(result.rowGroups, Math.ceil(batch.length / 1_000));
  assert.deepEqual(rowsOf(await readRawFile(fs, RAW)), rowsOf(batch));
  const oneShot = "/data/raw/date=2026-11-25/raw-000000000009.parquet";
  await writeTierFile(fs, oneShot, options, batch);
  assert.deepEqual(await fs.readFile(oneShot), await fs.readFile(RAW));
});

test("iterateRawFile yields one batch per row group without a filter", async () => {
  const batch = syntheticRaw(5, 100);
  const fs = new MemFs();
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD, rowGroupRows: 512 }, batch);
  const sizes: number[] = [];
  const parts = [];
  for await (const part of iterateRawFile(fs, RAW)) {
    sizes.push(part.length);
    parts.push(part);
  }
  assert.deepEqual(sizes, [512, 512, 512, 464]);
  assert.deepEqual(rowsOf(concatBatches(parts)), rowsOf(batch));
});

test("aggregate round trip: NaN ↔ null, exact percentiles, sketches byte for byte, every compression", async () => {
  const batch = syntheticAgg(6, 50);
  batch.count[3] = 0;
  batch.errorCount[3] = 4;
  for (const f of ["sum", "min", "max", "p50", "p90", "p95", "p99"] as const) batch[f][3] = NaN;
  batch.sketch[3] = null;
  batch.count[4] = 2 ** 40;
  for (const compression of ALL_COMPRESSIONS) {
    const fs = new MemFs();
    await writeTierFile(fs, AGG, { tier: "5min", compression }, batch);
    const back = await readAggFile(fs, AGG);
    const expected = batch; // percentiles are DOUBLE: they round-trip exactly
    assert.deepEqual(rowsOf(back), rowsOf(expected), compression.algorithm);
  }
});

test("iterateAggFile and readAggFile check the tier they are asked for", async () => {
  const fs = new MemFs();
  const path = "/data/hourly/date=2026-11-01/hourly-000000000003.parquet";
  await writeTierFile(fs, path, { tier: "hourly", compression: ZSTD }, syntheticAgg(2, 3));
  assert.equal((await readAggFile(fs, path, { tier: "hourly" })).length, 6);
  await assert.rejects(readAggFile(fs, path, { tier: "daily" }), /holds tier hourly, expected a daily tier file/);
  await assert.rejects(readRawFile(fs, path), /holds tier hourly, expected a raw tier file/);
  let batches = 0;
  for await (const _ of iterateAggFile(fs, path)) batches++;
  assert.equal(batches, 1);
});

test("reading only some columns leaves the others neutral", async () => {
  const fs = new MemFs();
  await writeTierFile(fs, AGG, { tier: "5min", compression: ZSTD }, syntheticAgg(2, 4));
  const back = await readAggFile(fs, AGG, { columns: ["max"] });
  assert.equal(back.length, 8);
  assert.ok(back.max.every((v) => Number.isFinite(v)));
  assert.ok(back.sum.every((v) => Number.isNaN(v)));
  assert.deepEqual(back.sketch, new Array(8).fill(null));
  assert.deepEqual([...back.count], new Array(8).fill(0));
});

test("an empty result is an empty batch, not an error", async () => {
  const fs = new MemFs();
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD }, syntheticRaw(2, 10));
  const none = await readRawFile(fs, RAW, { series: { namespace: "lab" } });
  assert.equal(none.length, 0);
  assert.deepEqual(none.namespace, []);
  assert.equal(none.ts.length, 0);
});
