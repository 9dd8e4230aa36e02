/**
 * kill -9 at random moments while clients ingest concurrently and re-send every batch that got no `200`
 * (the client a retry-safe API allows), and after every restart re-send their last acknowledged batch as
 * if its answer had been lost: after the last restart every sample sent is stored exactly once in the raw tier, and every 5-minute bucket counts exactly the samples sent for it. The samples
 * are 3 hours old, so after a flush they leave memory and re-sends are checked against the raw files.
 */
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { nodeFs } from "../../src/platform/node_fs.ts";
import { readManifest } from "../helpers.ts";
import { readAggFile, readRawFile } from "../../src/parquet/reader.ts";
import { rng, withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";

const CYCLES = Number(Deno.env.get("RETRY_CRASH_CYCLES") ?? 4);
const CLIENTS = 4;
const BATCH = 200;

interface Client {
  id: number;
  next: number;
  /** The batch sent and not acknowledged yet (re-sent as is). */
  pending: Record<string, unknown>[] | null;
  /** The last acknowledged batch: re-sent once after every restart, as if its answer had been lost. */
  last: Record<string, unknown>[] | null;
  sent: number;
  duplicates: number;
}

function batchOf(c: Client, t0: number): Record<string, unknown>[] {
  const samples = [];
  for (let i = 0; i < BATCH; i++, c.next++) {
    samples.push({
      namespace: "retry",
      target: `c${c.id}`,
      poller: "p",
      timestamp_ms: t0 + c.next * 10,
      value: c.next,
    });
  }
  return samples;
}

/** Sends until the server dies or, with `until`, until that many batches are acknowledged. */
async function run(url: string, c: Client, t0: number, until = Infinity): Promise<void> {
  if (c.last) {
    const res = await fetch(`${url}/api/v1/ingest`, {
      method: "POST",
      body: JSON.stringify({ samples: c.last }),
      headers: { "content-type": "application/json" },
    });
    assert.deepEqual(await res.json(), { accepted: 0, duplicates: BATCH, conflicts: 0 }, "an acknowledged batch again");
    c.duplicates += BATCH;
  }
  for (let acked = 0; acked < until;) {
    c.pending ??= batchOf(c, t0);
    let res: Response;
    try {
      res = await fetch(`${url}/api/v1/ingest`, {
        method: "POST",
        body: JSON.stringify({ samples: c.pending }),
        headers: { "content-type": "application/json" },
      });
    } catch {
      return; // the server died: the batch may or may not be stored; it is re-sent after the restart
    }
    const body = await res.json();
    if (res.status === 429 || res.status === 503 || res.status === 507) {
      await new Promise((r) => setTimeout(r, 20)); // retry the same batch
      continue;
    }
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.accepted + body.duplicates, BATCH);
    c.sent += BATCH;
    c.duplicates += body.duplicates;
    c.last = c.pending;
    c.pending = null;
    acked++;
  }
}

test(`kill -9 during concurrent ingest with retries, ${CYCLES} times: every sample exactly once`, async () => {
  const seed = Number(Deno.env.get("CRASH_SEED") ?? Date.now() % 100_000);
  const random = rng(seed);
  await withTempDir(async (dir) => {
    const dataDir = path.join(dir, "data");
    const config = path.join(dir, "storage.yaml");
    fs.writeFileSync(
      config,
      "ingestion:\n  flush:\n    interval: 1s\n    max_buffer_size: 4000\nbackpressure:\n  enabled: false\n",
    );
    const args = ["--data-dir", dataDir, "--config", config];
    const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    const clients: Client[] = Array.from({ length: CLIENTS }, (_, id) => ({
      id,
      next: 0,
      pending: null,
      last: null,
      sent: 0,
      duplicates: 0,
    }));
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const bin = await startBinary(args);
      const running = clients.map((c) => run(bin.url, c, t0));
      await new Promise((r) => setTimeout(r, 300 + random() * 900));
      assert.equal(await bin.stop("SIGKILL"), "SIGKILL");
      await Promise.all(running);
    }
    // the last run: every client re-sends what was not acknowledged, then one more batch
    const bin = await startBinary(args);
    await Promise.all(clients.map((c) => run(bin.url, c, t0, 1)));
    assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());

    const raw = new Map<string, number>();
    const buckets = new Map<string, number>();
    const manifest = await readManifest(nodeFs, dataDir);
    for (const f of manifest.files) {
      const file = path.join(dataDir, f.path);
      if (f.tier === "raw") {
        const c = await readRawFile(nodeFs, file, { columns: [] });
        for (let i = 0; i < c.length; i++) {
          const k = `${c.target[i]}/${c.ts[i]}`;
          raw.set(k, (raw.get(k) ?? 0) + 1);
        }
      } else if (f.tier === "5min") {
        const c = await readAggFile(nodeFs, file, { columns: ["count"] });
        for (let i = 0; i < c.length; i++) {
          const k = `${c.target[i]}/${c.bucket[i]}`;
          buckets.set(k, (buckets.get(k) ?? 0) + c.count[i]);
        }
      }
    }
    const want = new Map<string, number>();
    let total = 0;
    for (const c of clients) {
      assert.equal(c.next, c.sent, `client ${c.id}: every batch acknowledged in the end`);
      total += c.sent;
      for (let k = 0; k < c.next; k++) {
        const ts = t0 + k * 10;
        assert.equal(
          raw.get(`c${c.id}/${ts}`),
          1,
          `c${c.id}/${ts} stored ${raw.get(`c${c.id}/${ts}`)} times (seed ${seed})`,
        );
        const b = `c${c.id}/${Math.floor(ts / 300_000) * 300_000}`;
        want.set(b, (want.get(b) ?? 0) + 1);
      }
    }
    assert.equal(raw.size, total, `samples nobody sent (seed ${seed})`);
    assert.deepEqual(Object.fromEntries(buckets), Object.fromEntries(want), `5-minute counts (seed ${seed})`);
    assert.ok(total > CYCLES * CLIENTS * BATCH, `only ${total} samples sent`);
    const duplicates = clients.reduce((a, c) => a + c.duplicates, 0);
    assert.ok(duplicates >= CYCLES * CLIENTS * BATCH, `${duplicates} duplicates`);
    console.log(`${total} samples, ${duplicates} re-sent samples skipped as duplicates (seed ${seed})`);
  });
});
