/**
 * SQL prunes by time: each part of a tier view is its own `UNION ALL` branch guarded by the part's
 * time range, and DuckDB's optimizer replaces every branch a query's time filter contradicts with an
 * empty result, so its files are never scanned (DuckDB 0.9.1 does not prune Parquet row groups by
 * TIMESTAMPTZ statistics). Checked on the physical plan DuckDB makes (EXPLAIN, which the SQL API does
 * not allow users) and on the answers through the engine.
 */
import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Aggregate, VALUE_KIND_CODE } from "../../src/model/aggregate.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { duckdbWasm } from "../../src/platform/duckdb_assets.ts";
import { duckdbModule } from "../../src/sql/duckdb.ts";
import { SqlEngine } from "../../src/sql/engine.ts";
import { tierViews } from "../../src/sql/tier_views.ts";
import { viewSql } from "../../src/sql/views.ts";
import { type AggRow, rowsToColumns } from "../../src/tier/agg_rows.ts";
import type { TierFile } from "../../src/tier/manifest.ts";
import { writeTierFile } from "../../src/parquet/writer.ts";
import { withTempDir } from "../helpers.ts";

const DAY = 86_400_000, B = 300_000;
const T0 = Date.UTC(2026, 10, 23);

function row(target: string, bucket: number, value: number): AggRow {
  const agg = Aggregate.empty(0.01);
  agg.add(value, bucket);
  return { namespace: "ns", target, poller: "cpu", bucket, kind: VALUE_KIND_CODE.gauge, agg };
}

/** Three days; each day two flush files that meet at one bucket (as ingest and flush write them). */
async function writeDays(dir: string): Promise<TierFile[]> {
  const files: TierFile[] = [];
  let seq = 1;
  for (let d = 0; d < 3; d++) {
    const day = T0 + d * DAY, date = new Date(day).toISOString().slice(0, 10);
    for (const [from, to] of [[0, 10], [10, 20]]) {
      const rows = [];
      for (let k = from; k <= to; k++) rows.push(row("r1", day + k * B, d * 100 + k));
      for (let k = from; k <= to; k++) rows.push(row("r2", day + k * B, 1));
      const rel = `5min/date=${date}/5min-${String(seq).padStart(12, "0")}.parquet`;
      const opts = { tier: "5min" as const, compression: { algorithm: "zstd" as const, level: 3 } };
      await writeTierFile(nodeFs, path.join(dir, rel), opts, rowsToColumns(rows));
      const bytes = (await nodeFs.stat(path.join(dir, rel)))!.size;
      files.push({
        path: rel,
        tier: "5min",
        partition: day,
        seq: seq++,
        minTs: day + from * B,
        maxTs: day + to * B,
        rows: rows.length,
        bytes,
        level: 0,
      });
    }
  }
  return files;
}

const dayFilter = (d: number) => {
  const ts = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace(".000Z", "+00");
  return `bucket >= TIMESTAMPTZ '${ts(T0 + d * DAY)}' AND bucket < TIMESTAMPTZ '${ts(T0 + (d + 1) * DAY)}'`;
};

test("DuckDB drops the branches of the days a query's time range excludes", async () => {
  await withTempDir(async (dir) => {
    const views = tierViews(await writeDays(dir), dir);
    const duckdb = duckdbModule();
    const wasm = duckdbWasm();
    assert.ok("path" in wasm, "run from source: DuckDB's WebAssembly is a file");
    const bundle = { mainModule: wasm.path, mainWorker: "" };
    // deno-lint-ignore no-explicit-any
    const runtime = (duckdb as any).NODE_RUNTIME;
    const db = await duckdb.createDuckDB({ mvp: bundle, eh: bundle }, new duckdb.VoidLogger(), runtime);
    await db.instantiate(() => {});
    db.open({ path: ":memory:", maximumThreads: 1 });
    const conn = db.connect();
    for (const v of views) conn.query(viewSql(v));
    const plan = (sql: string) => {
      const table = conn.query(`EXPLAIN ${sql}`);
      return String(Array.from(table.getChild("explain_value")!.toArray()).join("\n"));
    };
    const scans = (text: string) => text.match(/READ_PARQUET/g)?.length ?? 0;
    // three days × (grouped shared bucket + the rest): six branches, all scanned without a time filter
    assert.equal(scans(plan("SELECT count(*) FROM agg_5min")), 6);
    // one day up to its last bucket: its two branches are scanned, the four others are empty results (pruned)
    const ts = (ms: number) => `TIMESTAMPTZ '${new Date(ms).toISOString().replace("T", " ").replace("Z", "+00")}'`;
    const closed = `bucket >= ${ts(T0 + DAY)} AND bucket <= ${ts(T0 + 2 * DAY - 1)}`;
    const oneDay = plan(`SELECT target, count(*) FROM agg_5min WHERE ${closed} GROUP BY target`);
    assert.equal(scans(oneDay), 2);
    // a half-open day (< next midnight): DuckDB 0.9's filter combiner does not see that "< M" contradicts
    // the next day's ">= M", so the next day's branch that starts at M is scanned too (it gives no rows)
    assert.equal(scans(plan(`SELECT target, count(*) FROM agg_5min WHERE ${dayFilter(1)} GROUP BY target`)), 3);
    // a range inside the day's first file, before the shared bucket: only the unique branch
    const early = `bucket >= ${ts(T0 + DAY)} AND bucket < ${ts(T0 + DAY + 5 * B)}`;
    assert.equal(scans(plan(`SELECT count(*) FROM agg_5min WHERE ${early}`)), 1);
    assert.equal(scans(plan(`SELECT count(*) FROM agg_5min_parts WHERE ${dayFilter(0)}`)), 2);
    assert.equal(scans(plan(`SELECT count(*) FROM agg_5min_parts WHERE ${dayFilter(2)}`)), 1);
  });
});

test("a day's GROUP BY over agg_5min answers exactly from that day's files, the shared bucket merged once", async () => {
  await withTempDir(async (dir) => {
    const views = tierViews(await writeDays(dir), dir);
    const engine = new SqlEngine({
      memoryLimitBytes: 64 << 20,
      timeoutMs: 60_000,
      maxRows: 1_000,
      idleReleaseMs: 60_000,
      allowedRoot: dir,
    });
    try {
      const r = await engine.query(
        `SELECT target, count(*) AS buckets, sum(count) AS samples, max(max) AS peak, max(stored_rows) AS stored
         FROM agg_5min WHERE ${dayFilter(1)} GROUP BY target ORDER BY target`,
        views,
      );
      // 21 buckets per day; bucket 10 is in both files: merged into one row of two samples
      assert.deepEqual(r.rows, [["r1", 21, 22, 120, 2], ["r2", 21, 22, 1, 2]]);
      const all = await engine.query("SELECT count(*), sum(count) FROM agg_5min", views);
      assert.deepEqual(all.rows, [[126, 132]]);
    } finally {
      await engine.release();
    }
  });
});
