/**
 * Issue 10 item 4 on the compiled binary: a backfill of years in one request. The flush writes each
 * tier only where its retention keeps the data (hourly by month, daily and weekly by year), so the
 * number of files is bounded by the retentions, not by the days the data spans; every sample is read
 * back exactly once from every tier that keeps it, over SQL (DuckDB) and the query API.
 */
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";

const DAY = 86_400_000;
const DAYS = 1_800;

/** Parquet files under the data directory, by tier. */
function filesByTier(data: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of fs.readdirSync(data, { recursive: true }) as string[]) {
    if (!name.endsWith(".parquet")) continue;
    const tier = name.split(path.sep)[0];
    out[tier] = (out[tier] ?? 0) + 1;
  }
  return out;
}

async function sqlRow(url: string, text: string): Promise<unknown[]> {
  const res = await fetch(`${url}/api/v1/sql`, { method: "POST", body: text });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.partial ?? false, false, JSON.stringify(body));
  return body.rows[0];
}

test(`binary: a backfill of ${DAYS} days in one request flushes into a bounded number of files, each sample once per tier`, async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const args = ["--data-dir", data];
    const today = Math.floor(Date.now() / DAY) * DAY;
    // one sample a day at noon, 8 to 1,807 days ago (all before this week: every one is history), value = age in days
    const samples: { namespace: string; target: string; poller: string; timestamp_ms: number; value: number }[] = [];
    for (let age = 8; age < 8 + DAYS; age++) {
      samples.push({
        namespace: "hist",
        target: "r1",
        poller: "cpu",
        timestamp_ms: today - age * DAY + DAY / 2,
        value: age,
      });
    }
    const total = samples.length;
    const sum = samples.reduce((a, s) => a + s.value, 0);

    let bin = await startBinary(args);
    const res = await fetch(`${bin.url}/api/v1/ingest`, {
      method: "POST",
      body: JSON.stringify({ samples }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 200, await res.text());
    const stopped = Date.now();
    assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr()); // the shutdown flush writes everything
    const stopMs = Date.now() - stopped;

    // default retentions: raw 48 h (3 day partitions at most), 5min 720 h (31 days), hourly 2160 h
    // (4 months), daily 17520 h (3 years), weekly 87600 h (11 years): at most 52 files whatever the span.
    // Before the fix: a raw and a 5-minute file per day, 3,600 files and a 38.7 s shutdown flush.
    const files = filesByTier(data);
    const count = Object.values(files).reduce((a, n) => a + n, 0);
    assert.ok(count <= 52, `${count} files: ${JSON.stringify(files)}`);
    assert.equal(files.raw ?? 0, 0, "every raw sample is past the 48 h raw retention: no raw file");
    assert.ok(stopMs < 10_000, `shutdown took ${stopMs} ms`);
    const manifest = fs.statSync(path.join(data, "MANIFEST.json")).size;
    assert.ok(manifest < 64 * 1024, `manifest of ${manifest} bytes`);

    bin = await startBinary(args);
    try {
      // every sample exactly once in each tier whose retention keeps its partition (retention works on
      // whole partitions: docs/operations.md), and nowhere else
      const now = Date.now();
      const kept = (partitionEnd: (ts: number) => number, retentionHours: number) =>
        samples.filter((s) => partitionEnd(s.timestamp_ms) > now - retentionHours * 3_600_000);
      const year = (ts: number) => Date.UTC(new Date(ts).getUTCFullYear() + 1, 0, 1);
      const month = (ts: number) => Date.UTC(new Date(ts).getUTCFullYear(), new Date(ts).getUTCMonth() + 1, 1);
      const expected = {
        "5min": kept((ts) => Math.floor(ts / DAY) * DAY + DAY, 720),
        hourly: kept(month, 2_160),
        daily: kept(year, 17_520),
        weekly: samples,
      };
      // history the 5-minute tier keeps (31 days) takes the live path: 5-minute files now, the hourly
      // tier by the rollup; older history went straight to the coarser tiers
      const compactNow = await fetch(`${bin.url}/api/v1/admin/compact`, { method: "POST" });
      assert.equal(compactNow.status, 200, await compactNow.text());
      const perTier = async () => {
        for (const [tier, want] of Object.entries(expected)) {
          assert.deepEqual(
            await sqlRow(bin.url, `SELECT sum(count)::INT, sum(sum)::INT FROM agg_${tier}`),
            [want.length, want.reduce((a, s) => a + s.value, 0)],
            `${tier}: each sample counted once`,
          );
        }
      };
      await perTier();
      const q = await (await fetch(
        `${bin.url}/api/v1/query?namespace=hist&tier=weekly&from=${today - (DAYS + 20) * DAY}&to=${today}`,
      )).json();
      assert.equal(q.partial, false, JSON.stringify(q.warnings));
      const points = q.series[0].points as { count: number; sum: number }[];
      assert.deepEqual(
        [points.reduce((a, p) => a + p.count, 0), points.reduce((a, p) => a + p.sum, 0)],
        [total, sum],
      );
      // the rollups have nothing of this history to read again, and the totals do not move
      const compact = await fetch(`${bin.url}/api/v1/admin/compact`, { method: "POST" });
      assert.equal(compact.status, 200, await compact.text());
      await perTier();
    } finally {
      assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());
    }
  });
});
