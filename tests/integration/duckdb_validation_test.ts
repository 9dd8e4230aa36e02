/**
 * A week and a day of backfilled SNMP-like samples go in over HTTP; after flush and compaction, DuckDB
 * (the engine outside tools would use) reads every tier file, and every aggregate is checked against an
 * independent computation from the raw samples: count, sum, min, max exact, percentiles within the
 * configured accuracy.
 */
import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { testConfig } from "../helpers.ts";
import { createApp } from "../../src/http/app.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { Storage } from "../../src/service/storage.ts";
import { duckQuery } from "../duckdb_helper.ts";
import { rng, testResidentBytes, withTempDir } from "../helpers.ts";

const MIN = 60_000;
const DAY = 86_400_000;
const MONDAY = Date.UTC(2026, 10, 16);
const DAYS = 8;
const ACCURACY = 0.01;

interface Point {
  ts: number;
  value: number;
}

/** The dataset: per series, its kind and samples (60 s polling). */
function dataset(): Map<string, { kind: "gauge" | "counter"; points: Point[] }> {
  const out = new Map<string, { kind: "gauge" | "counter"; points: Point[] }>();
  const r = rng(2026);
  for (const target of ["core-router-001", "access-switch-042"]) {
    for (const poller of ["cpu.load", "temperature", "ifHCInOctets.Gi0-1", "ifInErrors.Gi0-1"]) {
      const counter = poller.startsWith("if");
      const points: Point[] = [];
      let c = Math.floor(r() * 2 ** 40);
      let x = 0;
      for (let t = MONDAY; t < MONDAY + DAYS * DAY; t += MIN) {
        x = 0.8 * x + (r() - 0.5) * 4;
        if (counter) {
          c += poller.startsWith("ifHC") ? Math.floor(1e6 * (1 + r())) : (r() < 0.05 ? 1 + Math.floor(r() * 5) : 0);
          points.push({ ts: t, value: c });
        } else points.push({ ts: t, value: Math.round((poller === "temperature" ? -5 + x : 40 + x * 5) * 100) / 100 });
      }
      out.set(`${target}/${poller}`, { kind: counter ? "counter" : "gauge", points });
    }
  }
  return out;
}

/** Independent aggregation: values (gauge) or per-second rates (counter) per bucket of `width`. */
function expected(points: Point[], kind: string, width: number, monday: boolean) {
  const buckets = new Map<number, number[]>();
  for (let i = 0; i < points.length; i++) {
    let v = points[i].value;
    if (kind === "counter") {
      if (i === 0) continue;
      v = (points[i].value - points[i - 1].value) / ((points[i].ts - points[i - 1].ts) / 1000);
    }
    const offset = monday ? 4 * DAY : 0;
    const b = points[i].ts - ((((points[i].ts - offset) % width) + width) % width);
    if (!buckets.has(b)) buckets.set(b, []);
    buckets.get(b)!.push(v);
  }
  return buckets;
}

test("DuckDB reads every tier; aggregates match an independent computation from the raw samples", async () => {
  await withTempDir(async (dir) => {
    const clock = new FakeClock(MONDAY + DAYS * DAY + 2 * 3_600_000);
    const metrics = new Metrics();
    const storage = Storage.create(testConfig(dir, "retention:\n  raw: 720h\n"), {
      residentBytes: testResidentBytes,
      fs: nodeFs,
      clock,
      log: silentLogger,
      metrics,
      encoding: "inline",
      deleteDelayMs: 0,
    });
    await storage.start();
    const app = createApp({ storage, metrics, log: silentLogger, clock, authToken: "" });
    const data = dataset();
    // backfill over HTTP, time-major like a poller catching up, 1,000 samples per request
    let body: unknown[] = [];
    const send = async () => {
      const res = await app.request("/api/v1/ingest", {
        method: "POST",
        body: JSON.stringify({ samples: body }),
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.status, 200, await res.clone().text());
      body = [];
    };
    const series = [...data.entries()];
    for (let i = 0; i < series[0][1].points.length; i++) {
      for (const [key, s] of series) {
        const [target, poller] = key.split("/");
        const p = s.points[i];
        body.push({
          namespace: "prod",
          target,
          poller,
          timestamp_ms: p.ts,
          [s.kind === "counter" ? "value_counter" : "value"]: p.value,
        });
      }
      if (body.length >= 1000) await send();
    }
    if (body.length) await send();
    await storage.flushNow();
    await storage.compact();
    await storage.merge();
    const w = storage.core.manifest.watermarks;
    assert.equal(w.weekly, MONDAY + 7 * DAY, "the week is complete and rolled up");

    const tiers: [string, number, boolean][] = [["5min", 300_000, false], ["hourly", 3_600_000, false], [
      "daily",
      DAY,
      false,
    ], ["weekly", 7 * DAY, true]];
    for (const [tier, width, monday] of tiers) {
      const files = storage.core.manifest.files.filter((f) => f.tier === tier).map((f) =>
        `'${path.join(dir, f.path)}'`
      );
      assert.ok(files.length > 0, tier);
      const rows = await duckQuery(
        `SELECT target, poller, epoch_ms(bucket) AS b, count, sum, min, max, p50, p90, p99
         FROM read_parquet([${files.join(",")}])`,
      );
      let checked = 0;
      for (const row of rows) {
        const s = data.get(`${row.target}/${row.poller}`)!;
        const exp = expected(s.points, s.kind, width, monday).get(Number(row.b));
        assert.ok(exp, `${tier} ${row.target}/${row.poller} ${row.b}: bucket exists in the data`);
        const sorted = [...exp].sort((a, b) => a - b);
        assert.equal(Number(row.count), exp.length, `${tier} count`);
        const sum = exp.reduce((a, b) => a + b, 0);
        assert.ok(
          Math.abs(Number(row.sum) - sum) <= 1e-9 * Math.max(1, Math.abs(sum)),
          `${tier} sum ${row.sum} vs ${sum}`,
        );
        assert.equal(Number(row.min), sorted[0], `${tier} min`);
        assert.equal(Number(row.max), sorted[sorted.length - 1], `${tier} max`);
        for (const [q, col] of [[0.5, "p50"], [0.9, "p90"], [0.99, "p99"]] as const) {
          const truth = sorted[Math.floor(q * (sorted.length - 1))];
          const got = Number(row[col]);
          assert.ok(Math.abs(got - truth) <= ACCURACY * Math.abs(truth) + 1e-9, `${tier} ${col} ${got} vs ${truth}`);
        }
        checked++;
      }
      const expectedRows = [...data.values()].reduce((a, s) => a + expected(s.points, s.kind, width, monday).size, 0);
      const complete = tier === "weekly" ? 8 : expectedRows;
      assert.equal(checked, complete, `${tier}: every bucket is stored once`);
    }
    // the raw tier keeps every sample, exact counters included
    const raw = storage.core.manifest.files.filter((f) => f.tier === "raw").map((f) => `'${path.join(dir, f.path)}'`);
    const [count] = await duckQuery(`SELECT count(*) AS n, count(counter) AS c FROM read_parquet([${raw.join(",")}])`);
    assert.equal(Number(count.n), 8 * DAYS * 1440);
    assert.equal(Number(count.c), 4 * DAYS * 1440);
    await storage.close();
  });
});
