/**
 * Faults of issue 10 as users meet them, on the compiled binary: a lost manifest, a damaged Parquet
 * file under SQL.
 */
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";

const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;

async function ingest(url: string, poller: string, n: number): Promise<void> {
  const samples = [];
  for (let i = 0; i < n; i++) {
    samples.push({ namespace: "e2e", target: `r${i % 10}`, poller, timestamp_ms: T0 + i * 1000, value: i });
  }
  const res = await fetch(`${url}/api/v1/ingest`, {
    method: "POST",
    body: JSON.stringify({ samples }),
    headers: { "content-type": "application/json" },
  });
  assert.equal(res.status, 200, await res.text());
}

async function sql(url: string, text: string) {
  const res = await fetch(`${url}/api/v1/sql`, { method: "POST", body: text });
  return { status: res.status, body: await res.json() };
}

function parquetFiles(data: string): string[] {
  return (fs.readdirSync(data, { recursive: true }) as string[]).filter((n) => n.endsWith(".parquet")).sort();
}

test("binary: a deleted MANIFEST.json is restored from its backup; without any, the start is refused and nothing deleted", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const args = ["--data-dir", data];
    let bin = await startBinary(args);
    await ingest(bin.url, "cpu", 5000);
    assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr()); // flushed to Parquet
    const files = parquetFiles(data);
    assert.ok(files.length >= 2, files.join());

    fs.unlinkSync(path.join(data, "MANIFEST.json"));
    bin = await startBinary(args);
    assert.deepEqual((await sql(bin.url, "SELECT count(*) FROM raw")).body.rows, [[5000]]);
    const status = await (await fetch(`${bin.url}/api/v1/status`)).json();
    assert.ok(
      status.problems.some((p: string) => /MANIFEST\.json is missing; restored from .*MANIFEST\.backup\.json/.test(p)),
      JSON.stringify(status.problems),
    );
    assert.equal(await bin.stop("SIGTERM"), 0);
    assert.deepEqual(parquetFiles(data), files);

    fs.unlinkSync(path.join(data, "MANIFEST.json"));
    fs.unlinkSync(path.join(data, "MANIFEST.backup.json"));
    await assert.rejects(
      startBinary(args),
      /cannot start: .*MANIFEST\.json is missing, there is no backup of it.*Nothing was deleted/s,
    );
    assert.deepEqual(parquetFiles(data), files, "every Parquet file is still there");
  });
});

test("binary: a damaged raw file is skipped by SQL (partial, named) and reported; SELECT 1 still works", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const args = ["--data-dir", data];
    let bin = await startBinary(args);
    await ingest(bin.url, "cpu", 3000);
    assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());
    bin = await startBinary(args);
    await ingest(bin.url, "mem", 2000);
    assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());
    const raw = parquetFiles(data).filter((n) => n.startsWith("raw/")).map((n) => path.join(data, n));
    assert.equal(raw.length, 2);
    const bytes = fs.readFileSync(raw[0]);
    bytes[Math.floor(bytes.length / 3)] ^= 0xff; // a byte flip inside a compressed page
    fs.writeFileSync(raw[0], bytes);

    bin = await startBinary(args);
    try {
      const one = await sql(bin.url, "SELECT 1 AS one");
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.deepEqual(one.body.rows, [[1]]);
      // every column of every row: the damaged page is read
      const rows = await sql(bin.url, "SELECT * FROM raw");
      assert.equal(rows.status, 200, JSON.stringify(rows.body));
      assert.equal(rows.body.partial, true);
      assert.deepEqual(rows.body.skipped.map((s: { file: string }) => s.file), [raw[0]]);
      const poller = rows.body.columns.findIndex((c: { name: string }) => c.name === "poller");
      assert.deepEqual(
        [...new Set(rows.body.rows.map((r: string[]) => r[poller]))],
        ["mem"],
        "the whole damaged file is left out",
      );
      assert.equal(rows.body.rows.length, 2000, "the other file answers");
      const status = await (await fetch(`${bin.url}/api/v1/status`)).json();
      assert.ok(status.problems.some((p: string) => p.includes(raw[0])), JSON.stringify(status.problems));
    } finally {
      assert.equal(await bin.stop("SIGTERM"), 0);
    }
  });
});
