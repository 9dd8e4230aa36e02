import test from "node:test";
import assert from "node:assert/strict";
import { checkViews, quoteIdent, quoteString, viewSql } from "../../../src/query/sql_views.ts";
import type { SqlView } from "../../../src/query/sql_types.ts";

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
      [{ name: "agg", files: ["/data/a.parquet"], uniqueFiles: ["/etc/passwd"], uniqueSelect: "*" }],
      /not one of its files/,
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

test("viewSql reads files with unique keys without grouping, the others grouped, joined by UNION ALL", () => {
  const view: SqlView = {
    name: "agg",
    files: ["/d/a.parquet", "/d/b.parquet", "/d/c.parquet"],
    select: "k, sum(n) AS n",
    groupBy: "k",
    uniqueFiles: ["/d/c.parquet"],
    uniqueSelect: "k, n",
  };
  const opts = "union_by_name = true, hive_partitioning = false";
  assert.equal(
    viewSql(view),
    `CREATE OR REPLACE VIEW "agg" AS SELECT k, n FROM read_parquet(['/d/c.parquet'], ${opts}) UNION ALL ` +
      `SELECT k, sum(n) AS n FROM read_parquet(['/d/a.parquet', '/d/b.parquet'], ${opts}) GROUP BY k`,
  );
  assert.equal(
    viewSql({ ...view, uniqueFiles: view.files }),
    `CREATE OR REPLACE VIEW "agg" AS SELECT k, n FROM read_parquet(['/d/a.parquet', '/d/b.parquet', '/d/c.parquet'], ${opts})`,
  );
});

test("quoteIdent and quoteString double their quote character", () => {
  assert.equal(quoteIdent('a"b'), '"a""b"');
  assert.equal(quoteString("it's"), "'it''s'");
});
