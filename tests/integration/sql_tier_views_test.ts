/**
 * The SQL views of the aggregate tiers over real tier files, through DuckDB: files whose time range
 * overlaps another's (late data, not yet merged) are merged per key; the others are read as they are,
 * with the same columns and values.
 */
import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Aggregate } from "../../src/model/aggregate.ts";
import { VALUE_KIND_CODE } from "../../src/model/aggregate.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { SqlEngine } from "../../src/sql/engine.ts";
import { tierParts, tierViews } from "../../src/sql/tier_views.ts";
import { viewSql } from "../../src/sql/views.ts";
import { type AggRow, rowsToColumns } from "../../src/tier/agg_rows.ts";
import type { TierFile } from "../../src/tier/manifest.ts";
import { writeTierFile } from "../../src/parquet/writer.ts";
import { diskStorage, withTempDir } from "../helpers.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { counter, gauge } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";

const T0 = Date.UTC(2026, 10, 25);
const MIN = 60_000;
const ACCURACY = 0.01;

function row(target: string, bucket: number, values: number[]): AggRow {
  const agg = Aggregate.empty(ACCURACY);
  values.forEach((v, i) => agg.add(v, bucket + i * MIN));
  return { namespace: "ns", target, poller: "cpu", bucket, kind: VALUE_KIND_CODE.gauge, agg };
}

function file(rel: string, rows: AggRow[]): TierFile {
  const buckets = rows.map((r) => r.bucket);
  return {
    path: rel,
    tier: "5min",
    partition: T0,
    seq: Number(rel.match(/(\d+)\.parquet$/)![1]),
    minTs: Math.min(...buckets),
    maxTs: Math.max(...buckets),
    rows: rows.length,
    bytes: 0,
    level: 0,
  };
}

const f = (seq: number, minTs: number, maxTs: number, partition = 0) =>
  ({
    path: `5min/${seq}.parquet`,
    tier: "5min",
    partition,
    seq,
    minTs,
    maxTs,
    rows: 1,
    bytes: 1,
    level: 0,
  }) as const;

test("tierParts groups only the time ranges two files cover, per partition; every row in one part", () => {
  const files = [f(1, 0, 10), f(2, 20, 30), f(3, 25, 26), f(4, 30, 40), f(5, 50, 60), f(6, 5, 5), f(7, 100, 200, 1)];
  const parts = tierParts(files, "/d").map((p) => ({
    ...p,
    files: p.files.map((x) => Number(/(\d+)\.parquet/.exec(x)![1])),
  }));
  // 1 and 6 share bucket 5; 2 and 3 share 25–26; 2 and 4 share bucket 30; partition 1 is a file of its own
  assert.deepEqual(parts, [
    { files: [1, 6, 2, 3, 4], unique: false, minMs: 5, maxMs: 30, within: [[5, 5], [25, 26], [30, 30]] },
    { files: [1, 2, 4, 5], unique: true, minMs: 0, maxMs: 60, outside: [[5, 5], [25, 26], [30, 30]] },
    { files: [7], unique: true, minMs: 100, maxMs: 200 },
  ]);
  assert.deepEqual(tierParts([f(1, 0, 10), f(2, 11, 20)], "/d").map((p) => [p.unique, p.files.length]), [[true, 2]]);
  assert.deepEqual(tierParts([], "/d"), []);
});

test("agg_5min merges the keys of overlapping files and reads the others as stored, with the same columns", async () => {
  await withTempDir(async (dir) => {
    const B = (k: number) => T0 + k * 5 * MIN;
    // a: buckets 0–2 of two series; b: a late part of bucket 1 of "r1" (overlaps a); c: buckets 6–7 (alone)
    const parts: [string, AggRow[]][] = [
      ["5min/date=2026-11-25/5min-000000000001.parquet", [
        row("r1", B(0), [1, 2, 3]),
        row("r1", B(1), [4, 5]),
        row("r1", B(2), [6]),
        row("r2", B(0), [10]),
      ]],
      ["5min/date=2026-11-25/5min-000000000002.parquet", [row("r1", B(1), [100])]],
      ["5min/date=2026-11-25/5min-000000000003.parquet", [row("r1", B(6), [7, 8, 9]), row("r2", B(7), [20, 30])]],
    ];
    for (const [rel, rows] of parts) {
      await writeTierFile(
        nodeFs,
        path.join(dir, rel),
        { tier: "5min", compression: { algorithm: "zstd", level: 3 } },
        rowsToColumns(rows),
      );
    }
    const files = parts.map(([rel, rows]) => file(rel, rows));
    const views = tierViews(files, dir);
    const agg5 = views.find((v) => v.name === "agg_5min")!;
    // a and b share bucket 1 (grouped); the rest of a and b, and all of c, are read without grouping
    assert.deepEqual(agg5.parts!.map((p) => [p.unique, p.files.length, p.within ?? p.outside]), [
      [false, 2, [[B(1), B(1)]]],
      [true, 2, [[B(1), B(1)]]],
    ]);
    assert.match(viewSql(agg5), / UNION ALL /);
    const engine = new SqlEngine({
      memoryLimitBytes: 64 << 20,
      timeoutMs: 20_000,
      maxRows: 1_000,
      idleReleaseMs: 60_000,
      allowedRoot: dir,
    });
    try {
      const result = await engine.query(
        `SELECT target, epoch_ms(bucket) AS b, kind, count, sum, min, max, avg, p50, stored_rows
         FROM agg_5min ORDER BY target, bucket`,
        views,
      );
      assert.deepEqual(result.columns.map((c) => `${c.name} ${c.type}`), [
        "target VARCHAR",
        "b BIGINT",
        "kind VARCHAR",
        "count BIGINT",
        "sum DOUBLE",
        "min DOUBLE",
        "max DOUBLE",
        "avg DOUBLE",
        "p50 DOUBLE",
        "stored_rows BIGINT",
      ]);
      const p50 = (values: number[]) => {
        const a = Aggregate.empty(ACCURACY);
        values.forEach((v, i) => a.add(v, i));
        return a.quantile(0.5);
      };
      assert.deepEqual(result.rows, [
        ["r1", B(0), "gauge", 3, 6, 1, 3, 2, p50([1, 2, 3]), 1],
        ["r1", B(1), "gauge", 3, 109, 4, 100, 109 / 3, null, 2], // merged: percentiles need the sketches
        ["r1", B(2), "gauge", 1, 6, 6, 6, 6, p50([6]), 1],
        ["r1", B(6), "gauge", 3, 24, 7, 9, 8, p50([7, 8, 9]), 1], // the file read without grouping
        ["r2", B(0), "gauge", 1, 10, 10, 10, 10, p50([10]), 1],
        ["r2", B(7), "gauge", 2, 50, 20, 30, 25, p50([20, 30]), 1],
      ]);
    } finally {
      await engine.release();
    }
  });
});

test("a view over no files has the columns and types of the same view over real tier files", async () => {
  await withTempDir(async (dir) => {
    const clock = new FakeClock(T0 + 11 * MIN);
    const s = diskStorage(dir, clock);
    await s.start();
    try {
      const shapes = async () => {
        const out: Record<string, string[]> = {};
        for (const view of ["raw", "agg_5min", "agg_5min_parts", "agg_hourly_parts"]) {
          const r = await s.sql(`SELECT * FROM ${view} LIMIT 0`);
          out[view] = r.columns.map((c) => `${c.name} ${c.type}`);
        }
        return out;
      };
      const empty = await shapes();
      for (let m = 0; m < 10; m++) {
        await s.ingest(SampleBatch.of([
          gauge("prod", "r1", "cpu", T0 + m * MIN, m + 0.5),
          counter("prod", "r1", "octets", T0 + m * MIN, BigInt(m * 1000)),
        ]));
      }
      clock.set(T0 + 2 * 3_600_000);
      await s.flushNow();
      await s.compact("hourly");
      assert.deepEqual(s.core.manifest.files.map((f) => f.tier).sort(), ["5min", "hourly", "raw"]);
      assert.deepEqual(await shapes(), empty);
      assert.ok(empty.agg_5min_parts.includes("sketch BLOB"), empty.agg_5min_parts.join());
    } finally {
      await s.close();
    }
  });
});
