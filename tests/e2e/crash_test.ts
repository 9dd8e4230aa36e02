/**
 * kill -9 at random moments while clients ingest concurrently; after each restart every acknowledged
 * sample is present exactly once. The data directory is read offline (the Parquet files the manifest
 * lists) after a clean shutdown has flushed everything.
 */
import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { readManifest } from "../helpers.ts";
import { readAggFile, readRawFile } from "../../src/parquet/reader.ts";
import fs from "node:fs";
import { rng, withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";

const CYCLES = Number(Deno.env.get("CRASH_CYCLES") ?? 6);
const CLIENTS = 4;
const BATCH = 200;

/** A deterministic PRNG so a failing run can be repeated with CRASH_SEED. */

interface Sent {
  acked: Set<string>;
  maybe: Set<string>;
}

/** Sends batches until the server dies; records which samples were acknowledged. */
async function client(url: string, id: number, cycle: number, t0: number, sent: Sent): Promise<void> {
  for (let b = 0;; b++) {
    const samples = [];
    for (let i = 0; i < BATCH; i++) {
      const ts = t0 + (b * BATCH + i) * 10;
      samples.push({
        namespace: "crash",
        target: `c${id}`,
        poller: `cycle${cycle}`,
        timestamp_ms: ts,
        value: b * BATCH + i,
      });
    }
    const keys = samples.map((s) => `${s.target}/${s.poller}/${s.timestamp_ms}`);
    for (const k of keys) sent.maybe.add(k);
    let res: Response;
    try {
      res = await fetch(`${url}/api/v1/ingest`, {
        method: "POST",
        body: JSON.stringify({ samples }),
        headers: { "content-type": "application/json" },
      });
    } catch {
      return; // the server died mid-request: the batch may or may not be stored
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      return;
    }
    await res.json();
    for (const k of keys) sent.acked.add(k);
  }
}

test(`kill -9 during concurrent ingest, ${CYCLES} times: every acknowledged sample exactly once`, async () => {
  const seed = Number(Deno.env.get("CRASH_SEED") ?? Date.now() % 100_000);
  const random = rng(seed);
  await withTempDir(async (dir) => {
    const dataDir = path.join(dir, "data");
    // flush every second and at 4,000 buffered samples, so kills also land inside flushes
    const config = path.join(dir, "storage.yaml");
    fs.writeFileSync(
      config,
      "ingestion:\n  flush:\n    interval: 1s\n    max_buffer_size: 4000\nbackpressure:\n  enabled: false\n",
    );
    const sent: Sent = { acked: new Set(), maybe: new Set() };
    let flushes = 0;
    const t0 = Date.now() - 3_600_000;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const bin = await startBinary(["--data-dir", dataDir, "--config", config]);
      const clients = Array.from({ length: CLIENTS }, (_, id) => client(bin.url, id, cycle, t0, sent));
      await new Promise((r) => setTimeout(r, 100 + random() * 700));
      const code = await bin.stop("SIGKILL");
      assert.equal(code, "SIGKILL");
      flushes += (bin.stderr().match(/ INFO flushing /g) ?? []).length;
      await Promise.all(clients);
    }
    // a last clean run flushes everything recovered into Parquet
    const bin = await startBinary(["--data-dir", dataDir, "--config", config]);
    assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());

    const counts = new Map<string, number>();
    const manifest = await readManifest(nodeFs, dataDir);
    for (const f of manifest.files.filter((x) => x.tier === "raw")) {
      const c = await readRawFile(nodeFs, path.join(dataDir, f.path), { columns: [] });
      for (let i = 0; i < c.length; i++) {
        const k = `${c.target[i]}/${c.poller[i]}/${c.ts[i]}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
    // 5-minute aggregates: each bucket counts at least its acknowledged samples, at most those sent
    const bucketOf = (k: string) => {
      const [target, poller, ts] = k.split("/");
      return `${target}/${poller}/${Math.floor(Number(ts) / 300_000) * 300_000}`;
    };
    const low = new Map<string, number>();
    const high = new Map<string, number>();
    for (const k of sent.acked) low.set(bucketOf(k), (low.get(bucketOf(k)) ?? 0) + 1);
    for (const k of sent.maybe) high.set(bucketOf(k), (high.get(bucketOf(k)) ?? 0) + 1);
    const agg = new Map<string, number>();
    for (const f of manifest.files.filter((x) => x.tier === "5min")) {
      const c = await readAggFile(nodeFs, path.join(dataDir, f.path), { columns: ["count"] });
      for (let i = 0; i < c.length; i++) {
        const k = `${c.target[i]}/${c.poller[i]}/${c.bucket[i]}`;
        agg.set(k, (agg.get(k) ?? 0) + c.count[i]);
      }
    }
    // buckets still open at the last shutdown are in the snapshot, not in files: compare closed ones
    const closedBefore = Date.now() - 10 * 60_000;
    for (const [k, n] of low) {
      if (Number(k.split("/")[2]) + 300_000 > closedBefore) continue;
      const got = agg.get(k) ?? 0;
      assert.ok(
        got >= n && got <= high.get(k)!,
        `bucket ${k}: count ${got}, acknowledged ${n}, sent ${high.get(k)} (seed ${seed})`,
      );
    }
    const missing = [...sent.acked].filter((k) => !counts.has(k));
    const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
    const unknown = [...counts.keys()].filter((k) => !sent.maybe.has(k));
    assert.ok(flushes >= CYCLES / 2, `only ${flushes} flushes started between the kills`);
    assert.ok(sent.acked.size > CYCLES * BATCH, `only ${sent.acked.size} samples acknowledged (seed ${seed})`);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged samples lost (seed ${seed})`);
    assert.deepEqual(twice.slice(0, 5), [], `${twice.length} samples stored twice (seed ${seed})`);
    assert.deepEqual(unknown.slice(0, 5), [], "samples nobody sent");
  });
});
