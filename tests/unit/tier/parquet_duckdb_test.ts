import test, { after } from "node:test";
import assert from "node:assert/strict";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { nodeFs } from "../../../src/platform/node_fs.ts";
import type { Compression } from "../../../src/parquet/compressors.ts";
import { writeTierFile } from "../../../src/parquet/writer.ts";
import { duckClose, duckQuery, duckRegisterFile } from "../../duckdb_helper.ts";
import { withTempDir } from "../../helpers.ts";
import { DAY0, MINUTE, rawOf, syntheticAgg } from "./_fixtures.ts";

after(() => duckClose());

const GAUGES = [0, 1, -1, 12.34, 99.99, 0.1, 0.3, 1e-300, 1e300, Math.PI, -2.5, 123456.78, 5e-324];
const COUNTERS = [0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];

function sampleRaw() {
  return rawOf([
    ...GAUGES.map((value, i) => ({ poller: "a", ts: DAY0 + i * MINUTE, kind: "gauge" as const, value, pollMs: i })),
    ...COUNTERS.map((counter, i) => ({ poller: "b", ts: DAY0 + i * MINUTE, kind: "counter" as const, counter })),
    { poller: "c", ts: DAY0, kind: "text", text: "Cisco IOS — ü" },
    { poller: "d", ts: DAY0, kind: "none", valid: false, error: "timeout" },
  ]);
}

/** The plain value of a raw row, as docs/format/tiers.md tells outside engines to compute it. */
const VALUE = "coalesce(CAST(gauge_decimal AS DOUBLE), gauge_float)";

const COMPRESSIONS: Compression[] = [
  { algorithm: "zstd", level: 3 },
  { algorithm: "snappy", level: 1 },
  { algorithm: "gzip", level: 6 },
];

for (const compression of COMPRESSIONS) {
  test(`DuckDB 0.9.1 reads a raw file (${compression.algorithm}): exact counters, gauges, timestamps, text, nulls`, async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/raw/date=2026-11-25/raw-000000000001.parquet`;
      await writeTierFile(nodeFs, path, { tier: "raw", compression, pageRows: 4 }, sampleRaw());
      const from = `read_parquet('${path}')`;
      const types = await duckQuery(
        `SELECT typeof(namespace) AS ns, typeof(ts) AS ts, typeof(kind) AS kind, typeof(gauge_decimal) AS dec,
                typeof(gauge_float) AS f, typeof(counter) AS c, typeof(valid) AS v, typeof(poll_ms) AS p FROM ${from} LIMIT 1`,
      );
      assert.deepEqual(types, [{
        ns: "VARCHAR",
        ts: "TIMESTAMP WITH TIME ZONE",
        kind: "UTINYINT",
        dec: "DECIMAL(18,2)",
        f: "DOUBLE",
        c: "UBIGINT",
        v: "BOOLEAN",
        p: "INTEGER",
      }]);
      const gauges = await duckQuery(
        `SELECT epoch_ms(ts) AS ms, ${VALUE} AS value, poll_ms FROM ${from} WHERE poller = 'a'`,
      );
      assert.deepEqual(gauges.map((r) => Number(r.ms)), GAUGES.map((_, i) => DAY0 + i * MINUTE));
      gauges.forEach((r, i) => assert.ok(Object.is(r.value, GAUGES[i]), `gauge ${GAUGES[i]} read as ${r.value}`));
      const counters = await duckQuery(`SELECT CAST(counter AS VARCHAR) AS c FROM ${from} WHERE poller = 'b'`);
      assert.deepEqual(counters.map((r) => r.c), COUNTERS.map(String));
      const others = await duckQuery(
        `SELECT poller, kind, text, error, valid, counter IS NULL AND ${VALUE} IS NULL AS no_value FROM ${from} WHERE poller IN ('c', 'd')`,
      );
      assert.deepEqual(others, [
        { poller: "c", kind: 3, text: "Cisco IOS — ü", error: null, valid: true, no_value: true },
        { poller: "d", kind: 0, text: null, error: "timeout", valid: false, no_value: true },
      ]);
    });
  });
}

test("DuckDB reads an aggregate file: counts, nullable sum/min/max, float percentiles, sketches", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/5min/date=2026-11-25/5min-000000000002.parquet`;
    const batch = syntheticAgg(3, 4);
    batch.count[1] = 0;
    for (const f of ["sum", "min", "max", "p50", "p90", "p95", "p99"] as const) batch[f][1] = NaN;
    batch.sketch[1] = null;
    await writeTierFile(nodeFs, path, { tier: "5min", compression: { algorithm: "zstd", level: 3 } }, batch);
    const rows = await duckQuery(
      `SELECT typeof(bucket) AS tb, typeof(count) AS tc, typeof(p50) AS tp, typeof(sketch) AS ts, epoch_ms(bucket) AS bucket,
              count, error_count, sum, min, max, epoch_ms(first_ts) AS first_ts, p50, p99, octet_length(sketch) AS sketch
       FROM read_parquet('${path}') ORDER BY target, bucket`,
    );
    assert.equal(rows.length, batch.length);
    assert.deepEqual([rows[0].tb, rows[0].tc, rows[0].tp, rows[0].ts], [
      "TIMESTAMP WITH TIME ZONE",
      "BIGINT",
      "DOUBLE",
      "BLOB",
    ]);
    rows.forEach((r, i) => {
      assert.equal(Number(r.bucket), batch.bucket[i]);
      assert.equal(r.count, BigInt(batch.count[i]));
      assert.equal(Number(r.first_ts), batch.firstTs[i]);
      const maybe = (v: number) => (Number.isNaN(v) ? null : v);
      assert.deepEqual([r.sum, r.min, r.max], [maybe(batch.sum[i]), maybe(batch.min[i]), maybe(batch.max[i])]);
      assert.equal(r.p50, Number.isNaN(batch.p50[i]) ? null : batch.p50[i]);
      assert.equal(r.sketch === null ? null : Number(r.sketch), batch.sketch[i] ? batch.sketch[i]!.length : null);
    });
  });
});

test("DuckDB reads a tier directory as one dataset with the date partition as a column", async () => {
  await withTempDir(async (dir) => {
    const compression = { algorithm: "zstd" as const, level: 3 };
    const day = (d: number) => rawOf([{ ts: DAY0 + d * 86_400_000, kind: "gauge", value: d + 0.5 }]);
    await writeTierFile(
      nodeFs,
      `${dir}/raw/date=2026-11-25/raw-000000000001.parquet`,
      { tier: "raw", compression },
      day(0),
    );
    await writeTierFile(
      nodeFs,
      `${dir}/raw/date=2026-11-26/raw-000000000002.parquet`,
      { tier: "raw", compression },
      day(1),
    );
    const rows = await duckQuery(
      `SELECT CAST(date AS VARCHAR) AS date, ${VALUE} AS value
       FROM read_parquet('${dir}/raw/*/*.parquet', hive_partitioning = true) ORDER BY ts`,
    );
    assert.deepEqual(rows, [{ date: "2026-11-25", value: 0.5 }, { date: "2026-11-26", value: 1.5 }]);
  });
});

test("DuckDB reads a tier file registered from memory (MemFs)", async () => {
  const fs = new MemFs();
  const path = "/data/raw/date=2026-11-25/raw-000000000003.parquet";
  await writeTierFile(fs, path, { tier: "raw", compression: { algorithm: "zstd", level: 3 } }, sampleRaw());
  await duckRegisterFile("mem-raw-3.parquet", await fs.readFile(path));
  const rows = await duckQuery(
    `SELECT count(*) AS n, count(counter) AS counters FROM read_parquet('mem-raw-3.parquet')`,
  );
  assert.deepEqual(rows, [{ n: BigInt(GAUGES.length + COUNTERS.length + 2), counters: BigInt(COUNTERS.length) }]);
});

test("DuckDB reads large counters exactly: delta pages below 2^62, PLAIN row groups above", async () => {
  const below = [2n ** 62n - 1n, 2n ** 62n - 7n, 5n, 2n ** 61n, 2n ** 62n - 1n];
  const above = [2n ** 62n, 2n ** 64n - 1n, 2n ** 63n, 1n];
  for (const [name, counters] of [["below", below], ["above", above]] as const) {
    const fs = new MemFs();
    const path = `/data/raw/date=2026-11-25/raw-${name}.parquet`;
    const rows = counters.map((counter, i) => ({ ts: DAY0 + i * MINUTE, kind: "counter" as const, counter }));
    await writeTierFile(
      fs,
      path,
      { tier: "raw", compression: { algorithm: "zstd", level: 3 }, pageRows: 2 },
      rawOf(rows),
    );
    await duckRegisterFile(`mem-counters-${name}.parquet`, await fs.readFile(path));
    const got = await duckQuery(
      `SELECT CAST(counter AS VARCHAR) AS c FROM read_parquet('mem-counters-${name}.parquet')`,
    );
    assert.deepEqual(got.map((r) => r.c), counters.map(String), name);
  }
});
