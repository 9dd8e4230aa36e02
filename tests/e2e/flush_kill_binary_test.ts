/**
 * Issue 10 item 11, made deterministic: `kill -9` of the compiled binary inside a flush, in each of its
 * phases, then a restart; in the end every acknowledged sample is stored exactly once in every tier.
 *
 * No test hook: the flush is the shutdown flush of a large buffer (SIGTERM), and the kill is timed by
 * what the process does: its log line `flushing` (the encoder thread is at work), the first tier file
 * it creates (inotify), its new snapshot, its manifest commit. After each kill the data directory shows
 * which phase the kill landed in (files that no manifest lists, a snapshot for the next commit, the
 * commit number), and the test checks the phase it aimed at was hit (up to 4 attempts each: an event
 * can come too late for the narrow phases).
 */
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { nodeFs } from "../../src/platform/node_fs.ts";
import type { Manifest } from "../../src/tier/manifest.ts";
import { readManifest } from "../helpers.ts";
import { readAggFile, readRawFile } from "../../src/parquet/reader.ts";
import { withTempDir } from "../helpers.ts";
import { type RunningBinary, startBinary } from "./binary.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const SERIES = 5;
const TIERS = ["raw", "5min", "hourly", "daily", "weekly"];

type Phase = "encode" | "files" | "snapshot" | "committed";

/** Samples of one attempt: its own poller; 25 days at a 20-minute step, then the last 20 hours at a 2-minute step. */
function samplesOf(attempt: number, now: number): { target: string; poller: string; ts: number }[] {
  const out = [];
  const poller = `a${attempt}`;
  const recent = Math.floor((now - 20 * HOUR) / MIN) * MIN;
  for (let s = 0; s < SERIES; s++) {
    const target = `r${s}`;
    for (let t = Math.floor((now - 28 * DAY) / DAY) * DAY; t < now - 3 * DAY; t += 20 * MIN) {
      out.push({ target, poller, ts: t });
    }
    for (let t = recent; t < now - HOUR; t += 2 * MIN) out.push({ target, poller, ts: t });
  }
  return out;
}

async function ingest(url: string, samples: { target: string; poller: string; ts: number }[]): Promise<void> {
  for (let i = 0; i < samples.length; i += 20_000) {
    const body = samples.slice(i, i + 20_000).map((s) => ({
      namespace: "kill",
      target: s.target,
      poller: s.poller,
      timestamp_ms: s.ts,
      value: 1,
    }));
    const res = await fetch(`${url}/api/v1/ingest`, {
      method: "POST",
      body: JSON.stringify({ samples: body }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 200, await res.text());
  }
}

/** Relative paths of the files under `data` (names starting with `.` included: the atomic writes' temp files). */
function filesUnder(data: string): string[] {
  return (fs.readdirSync(data, { recursive: true }) as string[]).filter((n) =>
    fs.statSync(path.join(data, n)).isFile()
  );
}

/** Which phase of the flush a kill landed in, from what it left on disk. */
function phaseOf(data: string, before: Manifest, after: Manifest): Phase {
  if (after.commit > before.commit) return "committed";
  const names = filesUnder(data);
  const snap = names.some((n) => n.startsWith("snapshots") && !before.checkpoint.snapshot?.endsWith(path.basename(n)));
  if (snap) return "snapshot";
  const listed = new Set(before.files.map((f) => f.path));
  const tierFile = names.some((n) => TIERS.includes(n.split(path.sep)[0]) && !listed.has(n));
  return tierFile ? "files" : "encode";
}

/**
 * SIGTERM (the shutdown flush), then `kill -9` at the moment `phase` is observed. False when the
 * process had finished its shutdown before the kill reached it.
 */
async function killIn(bin: RunningBinary, data: string, phase: Phase): Promise<boolean> {
  const watcher = Deno.watchFs(data, { recursive: true });
  const hit = (p: string) => {
    const rel = path.relative(data, p);
    const top = rel.split(path.sep)[0];
    if (phase === "files") return TIERS.includes(top) && /\.(parquet|tmp)$/.test(rel);
    if (phase === "snapshot") return top === "snapshots";
    return rel === "MANIFEST.json";
  };
  const events = (async () => {
    if (phase === "encode") return;
    for await (const e of watcher) {
      if (e.kind !== "access" && e.paths.some(hit)) return;
    }
  })();
  process.kill(bin.proc.pid!, "SIGTERM");
  if (phase === "encode") {
    while (!/ INFO flushing reason=shutdown/.test(bin.stderr())) await new Promise((r) => setTimeout(r, 2));
  } else {
    await events;
  }
  const exit = await bin.stop("SIGKILL");
  watcher.close();
  return exit === "SIGKILL";
}

test("binary: kill -9 inside a flush, in each phase (encoding, files, snapshot, commit), then every acknowledged sample exactly once in every tier", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const config = path.join(dir, "storage.yaml");
    // flushes only when the test asks (the shutdown flush), so each one is large
    fs.writeFileSync(config, "ingestion:\n  flush:\n    interval: 1h\nbackpressure:\n  enabled: false\n");
    const args = ["--data-dir", data, "--config", config];
    const sent: { target: string; poller: string; ts: number }[] = [];
    let attempt = 0;
    const hits: string[] = [];
    for (const phase of ["encode", "files", "snapshot", "committed"] as const) {
      let landed: Phase | null = null;
      for (let tries = 0; tries < 4 && landed !== phase; tries++) {
        const bin = await startBinary(args);
        const samples = samplesOf(attempt++, Date.now());
        await ingest(bin.url, samples);
        sent.push(...samples);
        const before = await readManifest(nodeFs, data);
        const killed = await killIn(bin, data, phase);
        landed = killed ? phaseOf(data, before, await readManifest(nodeFs, data)) : null;
        hits.push(`${phase}→${landed ?? "exited first"}`);
      }
      assert.equal(landed, phase, `aimed at ${phase}: ${hits.join(", ")}`);
    }
    // the restart recovers, the shutdown flush writes everything
    let bin = await startBinary(args);
    assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());
    console.log(`kills: ${hits.join(", ")}; ${sent.length} samples`);

    // raw and 5-minute tiers on disk: each sample once (raw: the days inside its 48 h retention)
    const now = Date.now();
    const raw = new Map<string, number>();
    const fiveMin = new Map<string, number>();
    const m = await readManifest(nodeFs, data);
    for (const f of m.files) {
      const file = path.join(data, f.path);
      if (f.tier === "raw") {
        const c = await readRawFile(nodeFs, file, { columns: [] });
        for (let i = 0; i < c.length; i++) {
          const k = `${c.target[i]}/${c.poller[i]}/${c.ts[i]}`;
          raw.set(k, (raw.get(k) ?? 0) + 1);
        }
      } else if (f.tier === "5min") {
        const c = await readAggFile(nodeFs, file, { columns: ["count"] });
        for (let i = 0; i < c.length; i++) {
          const k = `${c.target[i]}/${c.poller[i]}/${c.bucket[i]}`;
          fiveMin.set(k, (fiveMin.get(k) ?? 0) + c.count[i]);
        }
      }
    }
    const wantRaw = new Map<string, number>();
    const want5 = new Map<string, number>();
    for (const s of sent) {
      if (Math.floor(s.ts / DAY) * DAY + DAY > now - 48 * HOUR) wantRaw.set(`${s.target}/${s.poller}/${s.ts}`, 1);
      const b = `${s.target}/${s.poller}/${Math.floor(s.ts / 300_000) * 300_000}`;
      want5.set(b, (want5.get(b) ?? 0) + 1);
    }
    assert.ok(wantRaw.size > 0);
    assert.deepEqual(Object.fromEntries(raw), Object.fromEntries(wantRaw), "raw: each sample once");
    assert.deepEqual(Object.fromEntries(fiveMin), Object.fromEntries(want5), "5min: each bucket counts its samples");

    // the coarser tiers as users query them (files below the watermark, rolled up above it): each sample once
    bin = await startBinary(args);
    try {
      for (const tier of ["hourly", "daily", "weekly"]) { // (5min: a point per bucket, more than max_rows)
        const res = await fetch(
          `${bin.url}/api/v1/query?namespace=kill&tier=${tier}&from=${now - 40 * DAY}&to=${now}`,
        );
        const q = await res.json();
        assert.equal(res.status, 200, JSON.stringify(q));
        assert.equal(q.partial, false, JSON.stringify(q.warnings));
        assert.equal(q.truncated, false);
        let count = 0;
        for (const s of q.series) for (const p of s.points) count += p.count;
        assert.equal(count, sent.length, `${tier}: every sample once`);
      }
    } finally {
      assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());
    }
  });
});
