import test, { after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { duckClose, duckQuery } from "../duckdb_helper.ts";
import { runBinary, startBinary } from "./binary.ts";

after(duckClose);

const NOW = Date.now();
const T0 = NOW - (NOW % 300_000) - 3_600_000; // an hour ago, aligned to 5 minutes
const TOKEN = "export-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function ingest(url: string): Promise<void> {
  const samples = [];
  for (let m = 0; m < 30; m++) {
    for (const target of ["r1", "r2"]) {
      samples.push({ namespace: "prod", target, poller: "cpu", timestamp_ms: T0 + m * 60_000, value: m + 0.5 });
      samples.push({
        namespace: "prod",
        target,
        poller: "octets",
        timestamp_ms: T0 + m * 60_000,
        value_counter: 1000 * m,
      });
    }
  }
  const res = await fetch(`${url}/api/v1/ingest`, {
    method: "POST",
    body: JSON.stringify({ samples }),
    headers: { ...AUTH, "content-type": "application/json" },
  });
  assert.equal(res.status, 200, await res.text());
}

test("export: CSV, JSON lines and Parquet through the server and offline; DuckDB reads the Parquet back", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const env = { STALKER_STORAGE_TOKEN: TOKEN };
    const range = ["--from", String(T0), "--to", String(T0 + 1_800_000)];
    const bin = await startBinary(["--data-dir", data], { env });
    let onlineJsonl = "";
    try {
      await ingest(bin.url);
      // through the server (found by the lock file)
      const csv = runBinary(["export", "--data-dir", data, "--namespace", "prod", "--target", "r1", ...range], { env });
      assert.equal(csv.status, 0, csv.stderr);
      const lines = csv.stdout.trim().split("\n");
      assert.match(lines[0], /^namespace,target,poller,tier,t,time,kind,value,value_counter/);
      assert.equal(lines.length, 1 + 60, "30 minutes × 2 pollers of r1, raw (auto for one hour)");
      const jsonl = runBinary(
        ["export", "--data-dir", data, "--namespace", "prod", "--tier", "raw", "--format", "jsonl", ...range],
        { env },
      );
      assert.equal(jsonl.status, 0, jsonl.stderr);
      const rows = jsonl.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(rows.length, 120);
      assert.deepEqual(
        rows.find((r) => r.target === "r2" && r.poller === "octets" && r.t === T0 + 5 * 60_000),
        {
          namespace: "prod",
          target: "r2",
          poller: "octets",
          tier: "raw",
          t: T0 + 300_000,
          kind: "counter",
          valid: true,
          value_counter: 5000,
        },
      );
      onlineJsonl = jsonl.stdout;
      // HTTP: the same file, with its type; a bad format is a 400
      const res = await fetch(
        `${bin.url}/api/v1/export?namespace=prod&tier=5min&format=parquet&from=${T0}&to=${T0 + 1_800_000}`,
        { headers: AUTH },
      );
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/vnd.apache.parquet");
      const file = path.join(dir, "http.parquet");
      fs.writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
      const agg = await duckQuery(
        `SELECT target, poller, count(*)::INT AS n, sum("count")::INT AS samples FROM read_parquet('${file}') GROUP BY ALL ORDER BY ALL`,
      );
      // a counter's points count its rates: 29 between 30 samples
      assert.deepEqual(agg, [
        { target: "r1", poller: "cpu", n: 6, samples: 30 },
        { target: "r1", poller: "octets", n: 6, samples: 29 },
        { target: "r2", poller: "cpu", n: 6, samples: 30 },
        { target: "r2", poller: "octets", n: 6, samples: 29 },
      ]);
      const bad = await fetch(`${bin.url}/api/v1/export?namespace=prod&format=xml`, { headers: AUTH });
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).error.message, /format must be csv, jsonl or parquet/);
    } finally {
      assert.equal(await bin.stop(), 0);
    }
    // offline: the same rows; Parquet to a file, read back by DuckDB
    const off = runBinary(
      ["export", "--data-dir", data, "--namespace", "prod", "--tier", "raw", "--format", "jsonl", ...range],
      { env },
    );
    assert.equal(off.status, 0, off.stderr);
    assert.equal(off.stdout, onlineJsonl);
    const out = path.join(dir, "raw.parquet");
    const pq = runBinary(
      [
        "export",
        "--data-dir",
        data,
        "--namespace",
        "prod",
        "--tier",
        "raw",
        "--format",
        "parquet",
        "-o",
        out,
        ...range,
      ],
      { env },
    );
    assert.equal(pq.status, 0, pq.stderr);
    const raw = await duckQuery(
      `SELECT target, poller, count(*)::INT AS n, min(t) AS first, max(value) AS max_value, max(value_counter) AS max_counter FROM read_parquet('${out}') GROUP BY ALL ORDER BY ALL`,
    );
    assert.equal(raw.length, 4);
    assert.equal(raw[0].n, 30);
    assert.equal(raw[0].max_value, 29.5);
    assert.equal(Number(raw[1].max_counter), 29000);
    assert.equal(new Date(raw[0].first as number).getTime(), T0);
    // Parquet to a terminal is refused before anything is read
    const noOut = runBinary(["export", "--data-dir", data, "--namespace", "prod", "--format", "parquet"], { env });
    assert.equal(noOut.status, 2);
    assert.match(noOut.stderr, /--format parquet needs --output FILE/);
  });
});
