import test from "node:test";
import assert from "node:assert/strict";
import { checkViews, quoteIdent, quoteString, viewSql } from "../../../src/sql/views.ts";
import type { SqlView } from "../../../src/sql/types.ts";

test("checkViews accepts plain names and normalized files inside the data directory", () => {
  checkViews([
    { name: "raw", files: ["/data/raw/2026-11-25/a.parquet", "/data/raw/b.parquet"] },
    { name: "agg_weekly", files: [], columns: [{ name: "bucket", type: "TIMESTAMP" }] },
  ], "/data");
});

test("checkViews refuses bad names, files outside the data directory and views without columns", () => {
  const cases: [SqlView[], RegExp][] = [
    [[{ name: "raw; DROP", files: [] }], /must be a plain identifier/],
    [[{ name: "raw", files: ["/data/a.parquet"] }, { name: "RAW", files: ["/data/b.parquet"] }], /given twice/],
    [[{ name: "raw", files: [] }], /no files and no columns/],
    [[{ name: "raw", files: ["/etc/passwd"] }], /outside the data directory/],
    [[{ name: "raw", files: ["/data-other/a.parquet"] }], /outside the data directory/],
    [[{ name: "raw", files: ["/data"] }], /outside the data directory/],
    [[{ name: "raw", files: ["/data/../etc/passwd"] }], /not a normalized absolute path/],
    [[{ name: "raw", files: ["raw/a.parquet"] }], /not a normalized absolute path/],
    [[{ name: "raw", files: ["/data/raw/*.parquet"] }], /not a normalized absolute path/],
    [
      [{
        name: "agg",
        files: ["/data/a.parquet"],
        timeColumn: "bucket",
        parts: [{ files: ["/etc/passwd"], unique: true, minMs: 0, maxMs: 1 }],
      }],
      /not one of its files/,
    ],
    [
      [{
        name: "agg",
        files: ["/data/a.parquet"],
        parts: [{ files: ["/data/a.parquet"], unique: true, minMs: 0, maxMs: 1 }],
      }],
      /parts need a timeColumn/,
    ],
    [
      [{
        name: "agg",
        files: ["/data/a.parquet", "/data/b.parquet"],
        timeColumn: "bucket",
        parts: [{ files: ["/data/a.parquet"], unique: true, minMs: 0, maxMs: 1 }],
      }],
      /1 file\(s\) are in no part/,
    ],
    [
      [{
        name: "agg",
        files: ["/data/a.parquet"],
        timeColumn: "bucket",
        parts: [{ files: ["/data/a.parquet"], unique: true, minMs: 2, maxMs: 1 }],
      }],
      /part range 2..1 is invalid/,
    ],
  ];
  for (const [views, message] of cases) {
    assert.throws(
      () => checkViews(views, "/data"),
      (err: Error) => err instanceof TypeError && message.test(err.message),
    );
  }
});

test("viewSql reads exactly the given files, or builds a typed empty relation", () => {
  assert.equal(
    viewSql({ name: "raw", files: ["/d/a.parquet", "/d/it's.parquet"], select: "*, 1 AS one" }),
    `CREATE OR REPLACE VIEW "raw" AS SELECT *, 1 AS one FROM read_parquet(['/d/a.parquet', '/d/it''s.parquet'], ` +
      "union_by_name = true, hive_partitioning = false)",
  );
  assert.equal(
    viewSql({ name: "w", files: [], columns: [{ name: "bucket", type: "TIMESTAMP" }, { name: "n", type: "DOUBLE" }] }),
    `CREATE OR REPLACE VIEW "w" AS SELECT * FROM (SELECT CAST(NULL AS TIMESTAMP) AS "bucket", ` +
      `CAST(NULL AS DOUBLE) AS "n" LIMIT 0)`,
  );
});

test("viewSql reads each part in its own branch, guarded by its time range, unique parts without grouping", () => {
  const view: SqlView = {
    name: "agg",
    files: ["/d/a.parquet", "/d/b.parquet", "/d/c.parquet"],
    select: "k, sum(n) AS n",
    groupBy: "k",
    timeColumn: "bucket",
    uniqueSelect: "k, n",
    parts: [
      { files: ["/d/a.parquet", "/d/b.parquet"], unique: false, minMs: 0, maxMs: 300_000, within: [[0, 300_000]] },
      { files: ["/d/a.parquet", "/d/b.parquet"], unique: true, minMs: 0, maxMs: 900_000, outside: [[0, 300_000]] },
      { files: ["/d/c.parquet"], unique: true, minMs: 86_400_000, maxMs: 86_400_001 },
    ],
  };
  const opts = "union_by_name = true, hive_partitioning = false";
  const t0 = "TIMESTAMPTZ '1970-01-01 00:00:00.000+00'", t5 = "TIMESTAMPTZ '1970-01-01 00:05:00.000+00'";
  assert.equal(
    viewSql(view),
    `CREATE OR REPLACE VIEW "agg" AS ` +
      `SELECT k, sum(n) AS n FROM read_parquet(['/d/a.parquet', '/d/b.parquet'], ${opts}) ` +
      `WHERE "bucket" >= ${t0} AND "bucket" <= ${t5} AND ("bucket" BETWEEN ${t0} AND ${t5}) GROUP BY k UNION ALL ` +
      `SELECT k, n FROM read_parquet(['/d/a.parquet', '/d/b.parquet'], ${opts}) ` +
      `WHERE "bucket" >= ${t0} AND "bucket" <= TIMESTAMPTZ '1970-01-01 00:15:00.000+00' ` +
      `AND NOT ("bucket" BETWEEN ${t0} AND ${t5}) UNION ALL ` +
      `SELECT k, n FROM read_parquet(['/d/c.parquet'], ${opts}) ` +
      `WHERE "bucket" >= TIMESTAMPTZ '1970-01-02 00:00:00.000+00' AND "bucket" <= TIMESTAMPTZ '1970-01-02 00:00:00.001+00'`,
  );
  // every part's files gone (damaged): an empty relation of the view's columns
  assert.equal(
    viewSql({ ...view, parts: [], columns: [{ name: "k", type: "VARCHAR" }] }),
    `CREATE OR REPLACE VIEW "agg" AS SELECT k, sum(n) AS n FROM (SELECT CAST(NULL AS VARCHAR) AS "k" LIMIT 0) GROUP BY k`,
  );
});

test("quoteIdent and quoteString double their quote character", () => {
  assert.equal(quoteIdent('a"b'), '"a""b"');
  assert.equal(quoteString("it's"), "'it''s'");
});
