import test from "node:test";
import assert from "node:assert/strict";
import type { ColumnChunk, FileMetaData } from "hyparquet";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { readTierFileInfo } from "../../../src/parquet/footer.ts";
import { writeTierFile } from "../../../src/parquet/writer.ts";
import { VERSION } from "../../../src/version.ts";
import { ALL_COMPRESSIONS, DAY0, MINUTE, rawOf, syntheticAgg, syntheticRaw, ZSTD } from "./_fixtures.ts";

const RAW = "/data/raw/date=2026-11-25/raw-000000000001.parquet";
const AGG = "/data/daily/date=2026-01-01/daily-000000000002.parquet";

const STRING = { converted_type: "UTF8", logical_type: { type: "STRING" } };
const TIMESTAMP = {
  converted_type: "TIMESTAMP_MILLIS",
  logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
};

/** The expected schema of raw files: name, physical type, repetition, annotations. */
const RAW_SCHEMA = [
  ["namespace", "BYTE_ARRAY", "REQUIRED", STRING],
  ["target", "BYTE_ARRAY", "REQUIRED", STRING],
  ["poller", "BYTE_ARRAY", "REQUIRED", STRING],
  ["ts", "INT64", "REQUIRED", TIMESTAMP],
  ["kind", "INT32", "REQUIRED", { converted_type: "UINT_8" }],
  ["gauge_decimal", "INT64", "OPTIONAL", {
    converted_type: "DECIMAL",
    scale: 2,
    precision: 18,
    logical_type: { type: "DECIMAL", scale: 2, precision: 18 },
  }],
  ["gauge_float", "DOUBLE", "OPTIONAL", {}],
  ["counter", "INT64", "OPTIONAL", { converted_type: "UINT_64" }],
  ["text", "BYTE_ARRAY", "OPTIONAL", STRING],
  ["valid", "BOOLEAN", "REQUIRED", {}],
  ["error", "BYTE_ARRAY", "OPTIONAL", STRING],
  ["poll_ms", "INT32", "REQUIRED", {}],
] as const;

const RAW_ENCODINGS: Record<string, string[]> = {
  namespace: ["PLAIN", "RLE_DICTIONARY"],
  target: ["PLAIN", "RLE_DICTIONARY"],
  poller: ["PLAIN", "RLE_DICTIONARY"],
  ts: ["DELTA_BINARY_PACKED"],
  kind: ["PLAIN", "RLE_DICTIONARY"],
  gauge_decimal: ["DELTA_BINARY_PACKED"],
  gauge_float: ["PLAIN"],
  counter: ["DELTA_BINARY_PACKED"],
  valid: ["RLE"],
  poll_ms: ["PLAIN"],
};

const AGG_SCHEMA = [
  ["namespace", "BYTE_ARRAY", "REQUIRED"],
  ["target", "BYTE_ARRAY", "REQUIRED"],
  ["poller", "BYTE_ARRAY", "REQUIRED"],
  ["bucket", "INT64", "REQUIRED"],
  ["kind", "INT32", "REQUIRED"],
  ["count", "INT64", "REQUIRED"],
  ["error_count", "INT64", "REQUIRED"],
  ["sum", "DOUBLE", "OPTIONAL"],
  ["min", "DOUBLE", "OPTIONAL"],
  ["max", "DOUBLE", "OPTIONAL"],
  ["first_ts", "INT64", "REQUIRED"],
  ["last_ts", "INT64", "REQUIRED"],
  ["p50", "DOUBLE", "OPTIONAL"],
  ["p90", "DOUBLE", "OPTIONAL"],
  ["p95", "DOUBLE", "OPTIONAL"],
  ["p99", "DOUBLE", "OPTIONAL"],
  ["sketch", "BYTE_ARRAY", "OPTIONAL"],
] as const;

function chunk(metadata: FileMetaData, name: string, group = 0): ColumnChunk {
  return metadata.row_groups[group].columns.find((c) => c.meta_data?.path_in_schema[0] === name)!;
}

async function rawInfo(options: { pageRows?: number } = {}) {
  const fs = new MemFs();
  await writeTierFile(
    fs,
    RAW,
    { tier: "raw", compression: ZSTD, pageRows: options.pageRows ?? 64 },
    syntheticRaw(8, 60),
  );
  return readTierFileInfo(fs, RAW);
}

test("raw schema: physical types, repetition, logical and converted types", async () => {
  const { metadata } = await rawInfo();
  assert.equal(metadata.schema.length, RAW_SCHEMA.length + 1);
  RAW_SCHEMA.forEach(([name, type, repetition, annotations], i) => {
    const element = metadata.schema[i + 1];
    assert.deepEqual(
      { name: element.name, type: element.type, repetition: element.repetition_type },
      { name, type, repetition },
    );
    for (const [key, value] of Object.entries(annotations)) {
      assert.deepEqual(element[key as keyof typeof element], value, `${name}.${key}`);
    }
  });
});

test("raw encodings: dictionary identity, delta time and decimals, PLAIN doubles and poll_ms, RLE flags", async () => {
  const { metadata } = await rawInfo();
  for (const [name, encodings] of Object.entries(RAW_ENCODINGS)) {
    assert.deepEqual(chunk(metadata, name).meta_data!.encodings, encodings, name);
  }
});

test("identity and time columns carry exact min/max statistics and a page index", async () => {
  const { metadata } = await rawInfo();
  for (const name of ["namespace", "target", "poller", "ts"]) {
    const c = chunk(metadata, name);
    assert.ok(c.meta_data!.statistics?.min_value !== undefined, `${name} min`);
    assert.ok(c.meta_data!.statistics?.max_value !== undefined, `${name} max`);
    assert.ok(c.column_index_offset !== undefined && c.column_index_length! > 0, `${name} column index`);
    assert.ok(c.offset_index_offset !== undefined && c.offset_index_length! > 0, `${name} offset index`);
  }
  assert.equal(chunk(metadata, "target").meta_data!.statistics!.min_value, "router-0000");
  assert.equal(chunk(metadata, "target").meta_data!.statistics!.max_value, "router-0007");
  assert.equal(chunk(metadata, "ts").meta_data!.statistics!.min_value, DAY0);
  assert.equal(chunk(metadata, "ts").meta_data!.statistics!.max_value, DAY0 + 59 * MINUTE);
  assert.equal(chunk(metadata, "gauge_float").meta_data!.statistics!.null_count, BigInt(8 * 4 * 60));
});

test("identity statistics of 256-character names are not truncated", async () => {
  const fs = new MemFs();
  const long = (c: string) => c.repeat(256);
  await writeTierFile(
    fs,
    RAW,
    { tier: "raw", compression: ZSTD },
    rawOf([
      { namespace: long("a"), target: long("é"), poller: long("😀"), ts: 1, kind: "gauge", value: 1 },
      { namespace: long("b"), target: long("ö"), poller: long("😃"), ts: 1, kind: "gauge", value: 1 },
    ]),
  );
  const { metadata } = await readTierFileInfo(fs, RAW);
  assert.deepEqual(chunk(metadata, "namespace").meta_data!.statistics, {
    ...chunk(metadata, "namespace").meta_data!.statistics,
    min_value: long("a"),
    max_value: long("b"),
  });
  assert.equal(chunk(metadata, "target").meta_data!.statistics!.max_value, long("ö"));
  assert.equal(chunk(metadata, "poller").meta_data!.statistics!.max_value, long("😃"));
});

test("key-value metadata and created_by identify the format, tier, rows and time range", async () => {
  const info = await rawInfo();
  assert.equal(info.createdBy, `stalker-storage ${VERSION}`);
  assert.deepEqual(info.kv, {
    "stalker.format": "stalker-tier",
    "stalker.format_version": "1",
    "stalker.tier": "raw",
    "stalker.rows": String(8 * 4 * 60),
    "stalker.min_ts": String(DAY0),
    "stalker.max_ts": String(DAY0 + 59 * MINUTE),
    "stalker.gauge_scale": "2",
  });
  assert.deepEqual([info.tier, info.rows, info.minTs, info.maxTs], ["raw", 1920, DAY0, DAY0 + 59 * MINUTE]);
});

test("extra key-value metadata is kept; stalker.* keys are reserved", async () => {
  const fs = new MemFs();
  await writeTierFile(
    fs,
    RAW,
    { tier: "raw", compression: ZSTD, kv: { "wal.checkpoint": "12:345" } },
    syntheticRaw(1, 2),
  );
  assert.equal((await readTierFileInfo(fs, RAW)).kv["wal.checkpoint"], "12:345");
  await assert.rejects(
    writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD, kv: { "stalker.tier": "x" } }, syntheticRaw(1, 2)),
    /key-value key "stalker.tier" is reserved/,
  );
});

test("every column chunk uses the configured codec", async () => {
  const expected = { zstd: "ZSTD", snappy: "SNAPPY", gzip: "GZIP", none: "UNCOMPRESSED" };
  for (const compression of ALL_COMPRESSIONS) {
    const fs = new MemFs();
    await writeTierFile(fs, RAW, { tier: "raw", compression }, syntheticRaw(2, 10));
    const { metadata } = await readTierFileInfo(fs, RAW);
    const codecs = new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data!.codec)));
    assert.deepEqual([...codecs], [expected[compression.algorithm]]);
  }
});

test("the gauge scale is chosen per file: the fewest decimals that fit, unless doubles are cheaper", async () => {
  const cases: [number[], number][] = [[[1, 2, 3], 0], [[1.25, 0.5, 99.99], 2], [[Math.PI, Math.E, 1 / 3, 0.5], 1], [[
    Math.PI,
    Math.E,
    1 / 3,
    7,
  ], 0], [[0.001], 3]];
  for (const [values, scale] of cases) {
    const fs = new MemFs();
    await writeTierFile(
      fs,
      RAW,
      { tier: "raw", compression: ZSTD },
      rawOf(values.map((value, i) => ({ ts: i, kind: "gauge", value }))),
    );
    const info = await readTierFileInfo(fs, RAW);
    assert.equal(info.kv["stalker.gauge_scale"], String(scale), `values ${values}`);
    assert.equal(info.metadata.schema.find((e) => e.name === "gauge_decimal")!.scale, scale);
  }
});

test("a row group with counters at or above 2^62 stores them PLAIN (DuckDB 0.9.1 misreads such delta pages)", async () => {
  const fs = new MemFs();
  const rows = [2n ** 62n, 5n].map((counter, i) => ({ ts: i, kind: "counter" as const, counter }));
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD }, rawOf(rows));
  assert.deepEqual(chunk((await readTierFileInfo(fs, RAW)).metadata, "counter").meta_data!.encodings, ["PLAIN"]);
});

test("aggregate schema, encodings, statistics, page index and key-value metadata", async () => {
  const fs = new MemFs();
  const batch = syntheticAgg(4, 40);
  await writeTierFile(fs, AGG, { tier: "daily", compression: ZSTD, pageRows: 32 }, batch);
  const info = await readTierFileInfo(fs, AGG);
  assert.deepEqual(
    info.metadata.schema.slice(1).map((e) => [e.name, e.type, e.repetition_type]),
    AGG_SCHEMA.map((row) => [...row]),
  );
  for (const name of ["bucket", "first_ts", "last_ts"]) {
    const element = info.metadata.schema.find((e) => e.name === name)!;
    assert.deepEqual(element.logical_type, TIMESTAMP.logical_type, name);
    assert.deepEqual(chunk(info.metadata, name).meta_data!.encodings, ["DELTA_BINARY_PACKED"], name);
  }
  for (const name of ["namespace", "target", "poller", "bucket", "first_ts", "last_ts"]) {
    const c = chunk(info.metadata, name);
    assert.ok(c.meta_data!.statistics?.min_value !== undefined, `${name} statistics`);
    assert.ok(c.column_index_length! > 0 && c.offset_index_length! > 0, `${name} page index`);
  }
  assert.deepEqual(chunk(info.metadata, "sketch").meta_data!.encodings, ["PLAIN"]);
  assert.deepEqual([info.kv["stalker.tier"], info.kv["stalker.rows"]], ["daily", "160"]);
  assert.equal(info.kv["stalker.gauge_scale"], undefined);
  assert.deepEqual([info.minTs, info.maxTs], [batch.bucket[0], batch.bucket[39]]);
});
