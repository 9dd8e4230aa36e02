import test from "node:test";
import assert from "node:assert/strict";
import { SqlError } from "../../../src/sql/errors.ts";
import { columnProjection, describeSql, runSql, singleQuery } from "../../../src/sql/statement.ts";
import type { SqlTokens } from "../../../src/sql/statement.ts";

/**
 * A stand-in for DuckDB's tokenizer, good enough for these cases: words, numbers, quoted strings and
 * single-character operators (the engine tests run the real one).
 */
function tokens(sql: string): SqlTokens {
  const offsets: number[] = [];
  const types: number[] = [];
  for (const m of sql.matchAll(/'[^']*'|[A-Za-z_][A-Za-z0-9_]*|\d+|--[^\n]*|[^\s\w]/g)) {
    offsets.push(m.index!);
    types.push(m[0].startsWith("--") ? 5 : m[0].startsWith("'") ? 2 : /^\d/.test(m[0]) ? 1 : /^\w/.test(m[0]) ? 4 : 3);
  }
  return { offsets, types };
}

test("singleQuery: one read-only statement passes, trailing semicolons dropped", () => {
  const cases: [string, string][] = [
    ["SELECT 1", "SELECT 1"],
    ["SELECT 1;", "SELECT 1"],
    ["SELECT ';' ;; ", "SELECT ';' "],
    ["with a as (select 1) select * from a", "with a as (select 1) select * from a"],
    ["VALUES (1)", "VALUES (1)"],
    ["FROM raw", "FROM raw"],
    ["(SELECT 1) UNION (SELECT 2)", "(SELECT 1) UNION (SELECT 2)"],
    ["-- note\nSELECT 1", "-- note\nSELECT 1"],
  ];
  for (const [sql, expected] of cases) assert.equal(singleQuery(sql, tokens(sql)), expected, sql);
});

test("singleQuery: empty input, several statements and non-queries are refused with SqlError", () => {
  const cases: [string, RegExp][] = [
    ["", /the query is empty/],
    ["  ; ", /the query is empty/],
    ["-- only a comment", /the query is empty/],
    ["SELECT 1; SELECT 2", /only one statement is allowed/],
    ["SELECT 1; COPY x TO 'y'", /only one statement is allowed/],
    ["COPY (SELECT 1) TO '/tmp/x.csv'", /not COPY$/],
    ["ATTACH 'x.db'", /not ATTACH$/],
    ["install httpfs", /not INSTALL$/],
    ["SET lock_configuration = false", /not SET$/],
    ["EXPLAIN SELECT 1", /not EXPLAIN$/],
  ];
  for (const [sql, message] of cases) {
    assert.throws(
      () => singleQuery(sql, tokens(sql)),
      (err: Error) => err instanceof SqlError && message.test(err.message),
    );
  }
});

test("describeSql and runSql wrap the query as a subquery, on lines of its own", () => {
  assert.equal(describeSql("SELECT 1 -- c"), "DESCRIBE SELECT * FROM (\nSELECT 1 -- c\n) AS _q");
  const columns = [{ name: "a", type: "BIGINT" }, { name: "a", type: "INTERVAL" }];
  assert.equal(
    runSql("SELECT 1, INTERVAL 1 DAY", columns, 10),
    "SELECT c0, CAST(c1 AS VARCHAR) AS c1 FROM (\nSELECT 1, INTERVAL 1 DAY\n) AS _q(c0, c1) LIMIT 11",
  );
});

test("columnProjection: casts only the types Arrow would garble", () => {
  const cases: [string, string][] = [
    ["BIGINT", "c"],
    ["DECIMAL(18,3)", "c"],
    ["TIMESTAMP WITH TIME ZONE", "c"],
    ["STRUCT(a INTEGER)[]", "c"],
    ["TIMESTAMP_NS", "CAST(c AS TIMESTAMP) AS c"],
    ["DATE", "CAST(c AS VARCHAR) AS c"],
    ["INTERVAL", "CAST(c AS VARCHAR) AS c"],
    ["INTERVAL[]", "CAST(c AS VARCHAR) AS c"],
    ["TIME WITH TIME ZONE", "CAST(c AS VARCHAR) AS c"],
    ["BIT", "CAST(c AS VARCHAR) AS c"],
  ];
  for (const [type, expected] of cases) assert.equal(columnProjection("c", type), expected, type);
});
