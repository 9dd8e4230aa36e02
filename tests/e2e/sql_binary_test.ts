import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { buildArgs, bunCommand, packDuckdbWasm } from "../../scripts/compile.ts";

/**
 * The SQL engine inside a `bun build --compile` binary (tests/fixtures/sql_smoke.ts): the DuckDB wasm
 * and the worker entrypoint must be embedded, so the binary runs from another directory with an empty
 * environment.
 */
const ROOT = path.resolve(new URL("../..", import.meta.url).pathname);
let dir = "";
let binary = "";
let parquet = "";
/** One run of the binary: a default query, a jail escape, a DuckDB crash, a query after the crash. */
let session: { status: number | null; answers: Answer[] };

interface Answer {
  rows?: unknown[][];
  loaded?: boolean;
  error?: { name: string; message: string };
}

function compile(outfile: string): void {
  packDuckdbWasm();
  const [cmd, ...pre] = bunCommand();
  const entrypoints = ["tests/fixtures/sql_smoke.ts", "src/sql/worker.ts"];
  const r = spawnSync(cmd, [...pre, ...buildArgs(entrypoints, outfile)], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, `bun build --compile failed:\n${r.stdout}${r.stderr}`);
}

/** 120 rows like 10 series × 12 buckets of the 5-minute tier, written by hyparquet-writer. */
function writeFixture(file: string): void {
  const i = Array.from({ length: 120 }, (_, k) => k);
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: "target", data: i.map((k) => `target-${k % 10}`), type: "STRING" },
      {
        name: "bucket",
        data: i.map((k) => new Date(Date.UTC(2026, 10, 25) + Math.floor(k / 10) * 300_000)),
        type: "TIMESTAMP",
      },
      { name: "sum", data: i.map((k) => (k % 97) * 10), type: "DOUBLE" },
    ],
  });
  fs.writeFileSync(file, new Uint8Array(buffer));
}

/** Runs the copied binary in `dir` with an empty environment; one parsed JSON line per query. */
function run(timeoutMs: number, ...queries: string[]): { status: number | null; answers: Answer[] } {
  const r = spawnSync(binary, [parquet, String(timeoutMs), ...queries], {
    cwd: dir,
    env: {},
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.ok(r.error === undefined && r.stdout, `the binary did not run to the end: ${r.error}\n${r.stderr}`);
  return { status: r.status, answers: r.stdout.trim().split("\n").map((line) => JSON.parse(line)) };
}

function removeDir(): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-sql-e2e-"));
  compile(path.join(dir, "build", "sql_smoke"));
  binary = path.join(dir, "elsewhere", "sql-smoke");
  fs.mkdirSync(path.dirname(binary));
  fs.copyFileSync(path.join(dir, "build", "sql_smoke"), binary);
  fs.chmodSync(binary, 0o755);
  fs.rmSync(path.join(dir, "build"), { recursive: true });
  fs.mkdirSync(path.join(dir, "data"));
  parquet = path.join(dir, "data", "agg.parquet");
  writeFixture(parquet);
  const nested = `SELECT ${"(".repeat(50_000)}1${")".repeat(50_000)}`;
  session = run(20_000, "", "SELECT * FROM read_csv_auto('/etc/passwd')", nested, "SELECT count(*) FROM t");
});

after(removeDir);
globalThis.addEventListener("unload", removeDir); // `after` does not run when tests are filtered

test("the compiled binary runs SQL over Parquet from another directory with an empty environment", () => {
  const [answer] = session.answers;
  assert.deepEqual(answer.rows, [[120, 49090, "2026-11-25T00:00:00.000Z"]], JSON.stringify(answer));
  assert.equal(answer.loaded, true);
});

test("the compiled binary keeps the file jail and recovers from a DuckDB crash", () => {
  const [, jail, crash, after] = session.answers;
  assert.equal(jail.error?.name, "SqlError");
  assert.match(jail.error!.message, /Cannot open \/etc\/passwd: only the files of the SQL views can be read/);
  assert.equal(crash.error?.name, "SqlEngineError", JSON.stringify(crash));
  assert.deepEqual(after.rows, [[120]], "a fresh DuckDB answers after the crash");
  assert.equal(session.status, 1, "the smoke program exits 1 when a query failed");
});

test("the compiled binary cancels a query at its timeout and exits", () => {
  const started = Date.now();
  const { status, answers } = run(3_000, "SELECT count(*) FROM range(100000000000) AS r(i) WHERE i % 7 = 3");
  assert.equal(status, 1);
  assert.equal(answers[0].error?.name, "SqlTimeoutError", JSON.stringify(answers[0]));
  assert.ok(Date.now() - started < 15_000);
});
