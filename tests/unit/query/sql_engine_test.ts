import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { OverloadedError } from "../../../src/model/errors.ts";
import { FakeClock } from "../../../src/platform/clock.ts";
import { SqlEngine, type SqlEngineOptions } from "../../../src/sql/engine.ts";
import { SqlEngineError, SqlError, SqlTimeoutError } from "../../../src/sql/errors.ts";
import type { SqlView } from "../../../src/sql/types.ts";
import { aggSelect, writeParquet } from "../../fixtures/sql_parquet.ts";

let root = "";
let outside = "";
let engine: SqlEngine;
let raw: SqlView;
const SLOW = "SELECT count(*) FROM range(100000000000) AS t(i) WHERE i % 7 = 3";

function newEngine(options: Partial<SqlEngineOptions> = {}): SqlEngine {
  return new SqlEngine({
    memoryLimitBytes: 64 << 20,
    timeoutMs: 20_000,
    maxRows: 1_000,
    idleReleaseMs: 60_000,
    allowedRoot: root,
    ...options,
  });
}

/** Every file under `dir`, recursively, with its size. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((name) => `${name} ${fs.lstatSync(path.join(dir, name)).size}`)
    .sort();
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-sql-"));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-sql-outside-"));
  fs.mkdirSync(path.join(root, "raw", "2026-11-25"), { recursive: true });
  fs.mkdirSync(path.join(root, "5min"));
  await writeParquet(path.join(root, "raw", "2026-11-25", "a.parquet"), aggSelect(10, 12));
  await writeParquet(path.join(root, "raw", "2026-11-25", "b.parquet"), aggSelect(10, 6));
  await writeParquet(path.join(root, "5min", "not_in_a_view.parquet"), aggSelect(2, 2));
  await writeParquet(path.join(outside, "secret.parquet"), "SELECT 'secret' AS s");
  fs.writeFileSync(path.join(outside, "secret.csv"), "s\nsecret\n");
  fs.writeFileSync(path.join(root, "secret.csv"), "s\nsecret\n");
  fs.symlinkSync(path.join(outside, "secret.parquet"), path.join(root, "raw", "link.parquet"));
  raw = {
    name: "raw",
    files: ["a", "b"].map((f) => path.join(root, "raw", "2026-11-25", `${f}.parquet`)),
  };
  engine = newEngine();
});

function removeFixtures(): void {
  for (const dir of [root, outside]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

after(async () => {
  await engine.release();
  removeFixtures();
});
globalThis.addEventListener("unload", removeFixtures); // `after` does not run when tests are filtered

test("the engine loads lazily: nothing before the first query, DuckDB 0.9.1 after it", async () => {
  assert.equal(engine.loaded, false);
  const result = await engine.query("SELECT version() AS v", []);
  assert.deepEqual(result.rows, [["v0.9.1"]]);
  assert.deepEqual(result.columns, [{ name: "v", type: "VARCHAR" }]);
  assert.equal(engine.loaded, true);
});

test("a query over a view of Parquet files answers DuckDB's columns and rows", async () => {
  const result = await engine.query(
    "SELECT target, count(*) AS n, sum(sum) AS total, min(bucket) AS first FROM raw GROUP BY target ORDER BY target",
    [raw],
  );
  assert.deepEqual(result.columns, [
    { name: "target", type: "VARCHAR" },
    { name: "n", type: "BIGINT" },
    { name: "total", type: "DOUBLE" },
    { name: "first", type: "TIMESTAMP" },
  ]);
  // a.parquet has rows i < 120, b.parquet rows i < 60: target i % 10, sum (i % 97) * 10.
  const total = (t: number) =>
    [120, 60].flatMap((n) => Array.from({ length: n }, (_, i) => i)).filter((i) => i % 10 === t)
      .reduce((s, i) => s + (i % 97) * 10, 0);
  assert.equal(result.rows.length, 10);
  assert.deepEqual(result.rows[0], ["target-0", 18, total(0), "2026-11-25T00:00:00.000Z"]);
  assert.deepEqual(result.rows[9], ["target-9", 18, total(9), "2026-11-25T00:00:00.000Z"]);
  assert.equal(result.truncated, false);
  assert.ok(result.elapsedMs > 0);
});

test("a view's select adds computed columns over its files", async () => {
  const view = { ...raw, name: "agg_5min", select: "*, sum / count AS avg" };
  const result = await engine.query("SELECT max(avg) AS top FROM agg_5min", [view]);
  assert.deepEqual(result.rows, [[96 * 10 / 10]]);
});

test("a view without files has the given columns and no rows", async () => {
  const columns = [{ name: "bucket", type: "TIMESTAMP" }, { name: "count", type: "DOUBLE" }];
  const result = await engine.query("SELECT * FROM agg_weekly", [{ name: "agg_weekly", files: [], columns }]);
  assert.deepEqual(result.columns, columns);
  assert.deepEqual(result.rows, []);
});

test("views over files outside the data directory are refused, symbolic links included", async () => {
  await assert.rejects(
    engine.query("SELECT 1", [{ name: "raw", files: [path.join(outside, "secret.parquet")] }]),
    (err: Error) => err instanceof TypeError && /outside the data directory/.test(err.message),
  );
  await assert.rejects(
    engine.query("SELECT * FROM raw", [{ name: "raw", files: [path.join(root, "raw", "link.parquet")] }]),
    (err: Error) => err instanceof TypeError && /links outside the data directory/.test(err.message),
  );
});

test("escape attempts fail with a clear SqlError and leave no trace", async () => {
  const before = [...listing(root), ...listing(outside)];
  const notAllowed = /only read-only queries .* are allowed, not /;
  const jailed = /Cannot open .*: only the files of the SQL views can be read/;
  const secret = path.join(outside, "secret.parquet");
  const cases: [string, RegExp][] = [
    [`COPY (SELECT 1) TO '${root}/x.csv'`, notAllowed],
    [`COPY raw TO '${root}/x.parquet' (FORMAT PARQUET)`, notAllowed],
    [`EXPORT DATABASE '${root}/export'`, notAllowed],
    [`CREATE TABLE t AS SELECT 1`, notAllowed],
    [`INSERT INTO raw VALUES (1)`, notAllowed],
    [`ATTACH '${root}/x.db' AS x`, notAllowed],
    [`INSTALL httpfs`, notAllowed],
    [`LOAD httpfs`, notAllowed],
    [`LOAD '${root}/evil.duckdb_extension'`, notAllowed],
    [`SET enable_external_access = true`, notAllowed],
    [`SET lock_configuration = false`, notAllowed],
    [`RESET memory_limit`, notAllowed],
    [`PRAGMA enable_profiling`, notAllowed],
    [`CALL pragma_version()`, notAllowed],
    [`SELECT 1; COPY (SELECT 1) TO '${root}/y.csv'`, /only one statement is allowed/],
    [`WITH a AS (SELECT 1) COPY (SELECT 1) TO '${root}/z.csv'`, /Parser Error: syntax error at or near "COPY"/],
    [`SELECT 1) AS _q; COPY (SELECT 1) TO '${root}/w.csv'; SELECT (1`, /only one statement is allowed/],
    [`SELECT 1) t, (SELECT * FROM read_csv_auto('/etc/passwd')`, jailed],
    [`SELECT * FROM read_csv_auto('/etc/passwd')`, jailed],
    [`SELECT * FROM read_csv('/etc/passwd', columns = {'line': 'VARCHAR'})`, jailed],
    [`SELECT * FROM '/etc/passwd'`, /Catalog Error: Table with name \/etc\/passwd does not exist/],
    [`SELECT * FROM '${outside}/secret.csv'`, jailed],
    [`FROM read_csv_auto('${root}/secret.csv')`, jailed],
    [`SELECT * FROM read_parquet('${secret}')`, jailed],
    [`SELECT * FROM read_parquet('${root}/5min/not_in_a_view.parquet')`, jailed],
    [`SELECT * FROM read_parquet('${root}/raw/../5min/not_in_a_view.parquet')`, jailed],
    [`SELECT * FROM read_parquet('${root}/**/*.parquet')`, jailed],
    [`SELECT * FROM glob('/*')`, jailed],
    [`SELECT * FROM glob('${root}/*')`, jailed],
    [`SELECT * FROM parquet_metadata('${secret}')`, jailed],
    [`SELECT * FROM parquet_schema('/etc/passwd')`, jailed],
    [`SELECT * FROM read_parquet('https://example.com/x.parquet')`, jailed],
    [`SELECT * FROM 's3://bucket/x.parquet'`, jailed],
    [`SELECT * FROM read_text('/etc/passwd')`, /Catalog Error: Table Function with name read_text does not exist/],
    [`SELECT * FROM read_json_auto('/etc/passwd')`, /exists in the json extension/],
    [`SELECT st_point(1, 2)`, /exists in the spatial extension/],
  ];
  for (const [sql, message] of cases) {
    await assert.rejects(
      engine.query(sql, [raw]),
      (err: Error) => err instanceof SqlError && message.test(err.message),
      sql,
    );
  }
  assert.deepEqual([...listing(root), ...listing(outside)], before, "no file was written, moved or removed");
  assert.deepEqual((await engine.query("SELECT count(*) FROM raw", [raw])).rows, [[180]], "the engine still works");
});

test("the read-only settings are in force and locked", async () => {
  const result = await engine.query(
    `SELECT current_setting('lock_configuration'), current_setting('autoinstall_known_extensions'),
       current_setting('autoload_known_extensions'), current_setting('temp_directory'), current_setting('threads')`,
    [],
  );
  assert.deepEqual(result.rows, [[true, false, false, "", 1]]);
});

test("max_rows: an answer stops at maxRows rows and is flagged truncated", async () => {
  const cut = await engine.query("SELECT range AS i FROM range(2500)", []);
  assert.equal(cut.rows.length, 1_000);
  assert.deepEqual(cut.rows.at(-1), [999]);
  assert.equal(cut.truncated, true);
  const whole = await engine.query("SELECT range AS i FROM range(1000) ORDER BY i DESC", []);
  assert.equal(whole.rows.length, 1_000);
  assert.deepEqual(whole.rows[0], [999], "the query's own order is kept");
  assert.equal(whole.truncated, false);
});

test("memory_limit is DuckDB's memory_limit; a query beyond it fails with DuckDB's message", async () => {
  assert.deepEqual((await engine.query("SELECT current_setting('memory_limit')", [])).rows, [["67.1MB"]]);
  await assert.rejects(
    engine.query("SELECT count(*) FROM (SELECT range AS k, count(*) FROM range(10000000) GROUP BY k)", []),
    (err: Error) =>
      err instanceof SqlError &&
      /^Out of Memory Error: .*; narrow the query or raise query.memory_limit$/.test(err.detail),
  );
  assert.deepEqual((await engine.query("SELECT 1", [])).rows, [[1]]);
});

test("SQL errors carry DuckDB's own message", async () => {
  const cases: [string, RegExp][] = [
    ["SELECT nope FROM raw", /^Binder Error: Referenced column "nope" not found/],
    ["SELECT FROM WHERE", /^Parser Error: syntax error at or near "WHERE"/],
    ["SELECT * FROM agg_daily", /^Catalog Error: Table with name agg_daily does not exist!/],
    ["SELECT 1 / 0::INTEGER, 'x'::INTEGER", /^Conversion Error: Could not convert string 'x' to INT32/],
  ];
  for (const [sql, detail] of cases) {
    await assert.rejects(engine.query(sql, [raw]), (err: Error) => err instanceof SqlError && detail.test(err.detail));
  }
});

test("PIVOT and UNPIVOT work as documented; a PIVOT without its IN list says what is missing", async () => {
  const t = "(SELECT * FROM (VALUES ('a', 1), ('b', 2), ('a', 3)) t(k, v))";
  assert.deepEqual((await engine.query(`PIVOT ${t} ON k IN ('a', 'b') USING sum(v)`, [raw])).rows, [[4, 2]]);
  assert.deepEqual((await engine.query(`FROM ${t} PIVOT (sum(v) FOR k IN ('a', 'b'))`, [raw])).rows, [[4, 2]]);
  assert.deepEqual(
    (await engine.query("UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b INTO NAME k VALUE v", [raw])).rows,
    [["a", 1], ["b", 2]],
  );
  await assert.rejects(
    engine.query(`PIVOT ${t} ON k USING sum(v)`, [raw]),
    (err: Error) =>
      err instanceof SqlError && /^PIVOT needs the values to pivot on listed: .* ON column IN/.test(err.detail),
  );
});

test("values come back JSON-safe, in the documented representation", async () => {
  const result = await engine.query(
    `SELECT 42::TINYINT AS i8, 9007199254740993::BIGINT AS big, 18446744073709551615::UBIGINT AS ubig,
       170141183460469231731687303715884105727::HUGEINT AS huge, 123.45::DECIMAL(5,2) AS dec,
       12.5::DECIMAL(18,1) AS gauge,
       12345678901234567890.123::DECIMAL(38,3) AS wide, 'nan'::DOUBLE AS nan, 'inf'::FLOAT AS inf,
       TIMESTAMP '2026-11-25 12:00:00' AS ts, TIMESTAMP '2026-11-25 12:00:00.123456' AS ts_us,
       TIMESTAMPTZ '2026-11-25 12:00:00.5+00' AS tstz, TIMESTAMP_MS '2026-11-25 12:00:00.007' AS ts_ms,
       TIMESTAMP_NS '2026-11-25 12:00:00.123456789' AS ts_ns, 'infinity'::TIMESTAMP AS ts_inf,
       DATE '2026-11-25' AS d, TIME '01:02:03.5' AS t, INTERVAL 90 MINUTE AS iv, 'ab'::BLOB AS b,
       '00000000-0000-0000-0000-000000000001'::UUID AS u, [1::BIGINT, NULL] AS l, {'x': 1.5::DECIMAL(4,1)} AS s,
       MAP(['k'], [TIMESTAMP '2026-01-01 00:00:00']) AS m, NULL::INTEGER AS n, true AS ok, 'text' AS v`,
    [],
  );
  const json = Object.fromEntries(result.columns.map((c, i) => [c.name, result.rows[0][i]]));
  assert.deepEqual(json, {
    i8: 42,
    big: "9007199254740993",
    ubig: "18446744073709551615",
    huge: "170141183460469231731687303715884105727",
    dec: 123.45,
    gauge: 12.5,
    wide: "12345678901234567890.123",
    nan: "NaN",
    inf: "Infinity",
    ts: "2026-11-25T12:00:00.000Z",
    ts_us: "2026-11-25T12:00:00.123456Z",
    tstz: "2026-11-25T12:00:00.500Z",
    ts_ms: "2026-11-25T12:00:00.007Z",
    ts_ns: "2026-11-25T12:00:00.123456Z",
    ts_inf: "infinity",
    d: "2026-11-25",
    t: "01:02:03.500",
    iv: "01:30:00",
    b: "YWI=",
    u: "00000000-0000-0000-0000-000000000001",
    l: [1, null],
    s: { x: 1.5 },
    m: { k: "2026-01-01T00:00:00.000Z" },
    n: null,
    ok: true,
    v: "text",
  });
  assert.equal(result.columns.find((c) => c.name === "huge")?.type, "HUGEINT");
  assert.deepEqual(JSON.parse(JSON.stringify(result.rows)), result.rows, "rows survive JSON unchanged");
});

test("concurrent queries wait their turn and all get their own answers", async () => {
  const answers = await Promise.all([1, 2, 3, 4].map((n) => engine.query(`SELECT ${n} AS n`, [])));
  assert.deepEqual(answers.map((a) => a.rows), [[[1]], [[2]], [[3]], [[4]]]);
});

test("a query that crashes DuckDB fails with SqlEngineError; the next query loads a fresh engine", async () => {
  const nested = `SELECT ${"(".repeat(50_000)}1${")".repeat(50_000)}`;
  await assert.rejects(
    engine.query(nested, []),
    (err: Error) => err instanceof SqlEngineError && /RuntimeError: .*restarts on the next query/.test(err.message),
  );
  assert.equal(engine.loaded, false);
  assert.deepEqual((await engine.query("SELECT count(*) FROM raw", [raw])).rows, [[180]]);
  assert.equal(engine.loaded, true);
});

test("a query past its timeout is cancelled (SqlTimeoutError); the event loop never stalls meanwhile", async () => {
  const timed = newEngine({ timeoutMs: 4_000, killGraceMs: 5_000 }); // time enough for DuckDB's own cancel
  try {
    await timed.query("SELECT 1", []); // loads DuckDB; the slow query below then has the time left of its own budget
    let maxGapMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      maxGapMs = Math.max(maxGapMs, performance.now() - last);
      last = performance.now();
    }, 10);
    const started = performance.now();
    const slow = timed.query(SLOW, []);
    const queued = timed.query("SELECT 2", []); // waits behind the slow query until past its own deadline
    await assert.rejects(slow, SqlTimeoutError).finally(() => clearInterval(ticker));
    await assert.rejects(queued, SqlTimeoutError);
    const tookMs = performance.now() - started;
    assert.ok(tookMs >= 4_000 && tookMs < 4_000 + 2_000, `cancelled after ${tookMs} ms`);
    assert.ok(maxGapMs < 400, `the event loop stalled for ${maxGapMs} ms`);
    assert.equal(timed.loaded, true, "DuckDB cancelled the query itself: the engine stays loaded");
    assert.deepEqual((await timed.query("SELECT 2", [])).rows, [[2]]);
  } finally {
    await timed.release();
  }
});

test("a query that cannot stop at its timeout is stopped by terminating the worker", async () => {
  // 100 ms is less than DuckDB takes to load: only terminating the worker can keep the deadline.
  const hurried = newEngine({ timeoutMs: 100, killGraceMs: 0 });
  const started = performance.now();
  await assert.rejects(hurried.query("SELECT 1", []), SqlTimeoutError);
  assert.ok(performance.now() - started < 1_000);
  assert.equal(hurried.loaded, false);
  await hurried.release();
});

test("release() during a query fails it with SqlEngineError; the next query works", async () => {
  const released = newEngine();
  try {
    await released.query("SELECT 1", []);
    const running = released.query(SLOW, []);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await released.release();
    await assert.rejects(running, (err: Error) => err instanceof SqlEngineError && /released/.test(err.message));
    assert.equal(released.loaded, false);
    assert.deepEqual((await released.query("SELECT 3", [])).rows, [[3]]);
  } finally {
    await released.release();
  }
});

test("too many waiting queries are refused with OverloadedError; an idle engine is released on its clock", async () => {
  const clock = new FakeClock(0);
  const idle = newEngine({ maxQueued: 1, idleReleaseMs: 300_000, clock });
  try {
    const first = idle.query("SELECT 1", []); // running (loading)
    const second = idle.query("SELECT 2", []); // waiting
    await assert.rejects(idle.query("SELECT 3", []), OverloadedError);
    assert.deepEqual([(await first).rows, (await second).rows], [[[1]], [[2]]]);
    assert.equal(idle.loaded, true);
    clock.advance(299_999);
    assert.equal(idle.loaded, true, "kept until 5 minutes without queries");
    clock.advance(1);
    assert.equal(idle.loaded, false, "released after 5 minutes without queries");
    assert.deepEqual((await idle.query("SELECT 4", [])).rows, [[4]], "and loaded again on demand");
  } finally {
    await idle.release();
  }
});
