/**
 * Idempotent ingest on the compiled binary: a batch posted, re-posted, `kill -9`, re-posted after the
 * WAL replay, compacted offline (flush + hourly rollup), re-posted after that restart: every tier holds
 * every sample exactly once.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { readManifest } from "../helpers.ts";
import { readAggFile, readRawFile } from "../../src/parquet/reader.ts";
import { BINARY, withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";

const HOUR = 3_600_000;
const SERIES = 3;
const MINUTES = 120;

test("binary: post, kill -9, restart, post again, compact, restart, post again: every tier exactly once", async () => {
  await withTempDir(async (dir) => {
    const dataDir = path.join(dir, "data");
    const config = path.join(dir, "storage.yaml");
    // no flush by itself: the first copy stays in the WAL until the offline compaction
    fs.writeFileSync(config, "ingestion:\n  flush:\n    interval: 1h\n");
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR; // two complete hours, long closed
    const samples: Record<string, unknown>[] = [];
    for (let m = 0; m < MINUTES; m++) {
      for (let s = 0; s < SERIES; s++) {
        samples.push({ namespace: "e2e", target: `r${s}`, poller: "cpu", timestamp_ms: t0 + m * 60_000, value: m });
      }
    }
    const n = samples.length;
    const post = async (url: string) => {
      const res = await fetch(`${url}/api/v1/ingest`, {
        method: "POST",
        body: JSON.stringify({ samples }),
        headers: { "content-type": "application/json" },
      });
      return { status: res.status, body: await res.json() };
    };
    const args = ["--data-dir", dataDir, "--config", config];

    let bin = await startBinary(args);
    assert.deepEqual(await post(bin.url), { status: 200, body: { accepted: n, duplicates: 0, conflicts: 0 } });
    assert.deepEqual(await post(bin.url), { status: 200, body: { accepted: 0, duplicates: n, conflicts: 0 } });
    assert.equal(await bin.stop("SIGKILL"), "SIGKILL");

    bin = await startBinary(args); // the WAL replays
    assert.deepEqual(await post(bin.url), { status: 200, body: { accepted: 0, duplicates: n, conflicts: 0 } });
    assert.match(
      await (await fetch(`${bin.url}/metrics`)).text(),
      new RegExp(`^stalker_ingest_duplicate_samples_total ${n}$`, "m"),
    );
    assert.equal(await bin.stop("SIGKILL"), "SIGKILL");

    const compact = spawnSync(BINARY, ["compact", "--tier", "hourly", ...args], { encoding: "utf8", env: {} });
    assert.equal(compact.status, 0, compact.stderr);

    bin = await startBinary(args); // the samples are only in Parquet now
    assert.deepEqual(await post(bin.url), { status: 200, body: { accepted: 0, duplicates: n, conflicts: 0 } });
    assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());

    const manifest = await readManifest(nodeFs, dataDir);
    const raw = new Map<string, number>();
    const counts: Record<string, Map<string, number>> = { "5min": new Map(), hourly: new Map() };
    for (const f of manifest.files) {
      const file = path.join(dataDir, f.path);
      if (f.tier === "raw") {
        const c = await readRawFile(nodeFs, file, { columns: [] });
        for (let i = 0; i < c.length; i++) {
          const k = `${c.target[i]}/${c.ts[i]}`;
          raw.set(k, (raw.get(k) ?? 0) + 1);
        }
      } else if (f.tier === "5min" || f.tier === "hourly") {
        const c = await readAggFile(nodeFs, file, { columns: ["count"] });
        const m = counts[f.tier];
        for (let i = 0; i < c.length; i++) {
          const k = `${c.target[i]}/${c.bucket[i]}`;
          m.set(k, (m.get(k) ?? 0) + c.count[i]);
        }
      }
    }
    assert.equal(raw.size, n);
    assert.deepEqual([...raw.values()].filter((c) => c !== 1), [], "a raw sample stored twice");
    assert.equal(counts["5min"].size, SERIES * MINUTES / 5);
    assert.deepEqual([...counts["5min"].values()].filter((c) => c !== 5), [], "a 5-minute count is off");
    assert.equal(counts.hourly.size, SERIES * 2, "both hours rolled up");
    assert.deepEqual([...counts.hourly.values()].filter((c) => c !== 60), [], "an hourly count is off");
  });
});
