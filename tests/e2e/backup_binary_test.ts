import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BINARY, withTempDir } from "../helpers.ts";
import { legacyDataDir, runBinary, startBinary } from "./binary.ts";

const TOKEN = "backup-test-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const T0 = Date.now() - 3_600_000;

/** Runs the binary without blocking this process's event loop (ingest goes on meanwhile). */
function runAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(BINARY, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (c) => (out += c));
    p.stderr.on("data", (c) => (out += c));
    p.on("exit", (status) => resolve({ status, out }));
  });
}

/** Every raw sample the server holds, as "target@t" → how many times. */
async function stored(url: string): Promise<Map<string, number>> {
  const qs = new URLSearchParams({ namespace: "load", from: String(T0 - 1), to: String(Date.now()), tier: "raw" });
  qs.set("limit", "1000000");
  const res = await fetch(`${url}/api/v1/query?${qs}`, { headers: AUTH });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.truncated, false);
  const out = new Map<string, number>();
  for (const s of body.series) {
    for (const p of s.samples) out.set(`${s.target}@${p.t}`, (out.get(`${s.target}@${p.t}`) ?? 0) + 1);
  }
  return out;
}

test("snapshot under ingest through the server's admin API, restore, start: every sample acknowledged before it, once, none after", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "data");
    const config = path.join(dir, "storage.yaml");
    fs.writeFileSync(config, "ingestion:\n  flush:\n    interval: 1s\n");
    const env = { STALKER_STORAGE_TOKEN: TOKEN };
    const bin = await startBinary(["--config", config, "--data-dir", data], { env });
    type Phase = "before" | "during" | "after";
    let phase = "before" as Phase;
    const acked: Record<Phase, string[]> = { before: [], during: [], after: [] };
    let stop = false;
    let step = 0;
    const load = (async () => {
      while (!stop) {
        const at = phase;
        const t = T0 + step++ * 1000;
        const samples = Array.from({ length: 20 }, (_, i) => ({
          namespace: "load",
          target: `t${i}`,
          poller: "cpu",
          timestamp_ms: t,
          value: step,
        }));
        const res = await fetch(`${bin.url}/api/v1/ingest`, {
          method: "POST",
          headers: { ...AUTH, "content-type": "application/json" },
          body: JSON.stringify({ samples }),
        });
        const text = await res.text();
        assert.equal(res.status, 200, text);
        // acknowledged: counted in the phase the request started in (the snapshot may or may not hold "during")
        for (const s of samples) acked[at === "before" && phase !== "before" ? "during" : at].push(`${s.target}@${t}`);
      }
    })();
    const snap = path.join(data, "backups", "snap");
    try {
      const started = Date.now();
      // some flushes (every second) ran meanwhile: the snapshot holds tier files, a head snapshot and WAL
      while (acked.before.length < 20 * 300 || Date.now() - started < 2_500) {
        await new Promise((r) => setTimeout(r, 50));
      }
      phase = "during";
      const r = await runAsync(["snapshot", snap, "--data-dir", data], env);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /snapshot .*snap: commit \d+, \d+ tier file\(s\) \(\d+ hard-linked\)/);
      phase = "after";
      const afterFrom = acked.after.length;
      while (acked.after.length < afterFrom + 20 * 50) await new Promise((r) => setTimeout(r, 20));
      stop = true;
      await load;
    } finally {
      stop = true;
      assert.equal(await bin.stop(), 0);
    }
    const info = JSON.parse(fs.readFileSync(path.join(snap, "SNAPSHOT.json"), "utf8"));
    assert.ok(info.files > 0, "the snapshot holds tier files (flushes ran before it)");
    assert.ok(info.wal.length > 0, "and the WAL since the last flush");

    const restored = path.join(dir, "restored");
    const r = runBinary(["restore", snap, "--data-dir", restored], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /start it with: stalker-storage serve --data-dir /);
    // restoring again into the same (now full) directory is refused and changes nothing
    const again = runBinary(["restore", snap, "--data-dir", restored], { env });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /not an empty directory/);

    const back = await startBinary(["--data-dir", restored], { env });
    try {
      const have = await stored(back.url);
      for (const k of acked.before) assert.equal(have.get(k), 1, `acknowledged before the snapshot: ${k}`);
      for (const [k, n] of have) assert.equal(n, 1, `${k} stored once`);
      const after = new Set(acked.after);
      for (const k of have.keys()) assert.ok(!after.has(k), `${k} was sent after the snapshot`);
      assert.ok(have.size <= acked.before.length + acked.during.length);
    } finally {
      assert.equal(await back.stop(), 0);
    }
  });
});

test("admin API: compact, retention (dry run) and snapshot need the token; the CLI uses them while the server runs", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "data");
    const env = { STALKER_STORAGE_TOKEN: TOKEN };
    legacyDataDir(data); // rollups start before the samples (a new directory would take them as late data)
    const bin = await startBinary(["--data-dir", data], { env });
    try {
      const samples = Array.from({ length: 120 }, (_, m) => ({
        namespace: "ns",
        target: "r1",
        poller: "cpu",
        timestamp_ms: T0 - 86_400_000 + m * 60_000,
        value: m,
      }));
      const ing = await fetch(`${bin.url}/api/v1/ingest`, {
        method: "POST",
        headers: { ...AUTH, "content-type": "application/json" },
        body: JSON.stringify({ samples }),
      });
      assert.equal(ing.status, 200);
      for (const route of ["compact", "retention", "snapshot"]) {
        const res = await fetch(`${bin.url}/api/v1/admin/${route}`, { method: "POST" });
        assert.equal(res.status, 401, route);
        await res.body?.cancel();
      }
      const bad = await fetch(`${bin.url}/api/v1/admin/compact?tier=monthly`, { method: "POST", headers: AUTH });
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).error.message, /tier must be hourly, daily or weekly/);

      const compact = await fetch(`${bin.url}/api/v1/admin/compact`, { method: "POST", headers: AUTH });
      assert.equal(compact.status, 200);
      const c = await compact.json();
      assert.ok(c.rollups.some((r: { tier: string; rows_out: number }) => r.tier === "hourly" && r.rows_out > 0));

      const dry = await fetch(`${bin.url}/api/v1/admin/retention?dry_run=true`, { method: "POST", headers: AUTH });
      assert.equal(dry.status, 200);
      const plan = await dry.json();
      assert.equal(plan.dry_run, true);
      assert.ok(plan.bytes_before > 0);
      assert.equal(plan.deletions.length, 0);

      const snap = await fetch(`${bin.url}/api/v1/admin/snapshot`, { method: "POST", headers: AUTH });
      assert.equal(snap.status, 200);
      const s = await snap.json();
      assert.ok(s.dir.startsWith(path.join(data, "backups")), s.dir);
      assert.ok(fs.existsSync(path.join(s.dir, "SNAPSHOT.json")));
      const exists = await fetch(`${bin.url}/api/v1/admin/snapshot?dir=${encodeURIComponent(s.dir)}`, {
        method: "POST",
        headers: AUTH,
      });
      assert.equal(exists.status, 400);
      assert.match((await exists.json()).error.message, /it exists/);

      // the CLI finds the server through the data directory's lock and asks it
      const cli = runBinary(["compact", "--data-dir", data], { env });
      assert.equal(cli.status, 0, cli.stderr);
      assert.match(cli.stdout, /tier\s+from\s+to/);
      const ret = runBinary(["retention", "--dry-run", "--data-dir", data], { env });
      assert.equal(ret.status, 0, ret.stderr);
      assert.match(ret.stdout, /would delete 0 file\(s\)/);
      const retRun = runBinary(["retention", "--data-dir", data], { env });
      assert.equal(retRun.status, 0, retRun.stderr);
      assert.match(retRun.stdout, /deleted 0 file\(s\)/);
      const status = await (await fetch(`${bin.url}/api/v1/status`, { headers: AUTH })).json();
      assert.ok(JSON.stringify(status).includes("snapshot"), "the snapshot shows among the jobs");
    } finally {
      assert.equal(await bin.stop(), 0);
    }
  });
});

test("admin snapshot writes only under the snapshot directory (server.snapshot_dir): elsewhere, .. and links out get 400", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "data");
    const snaps = path.join(dir, "snaps");
    const outside = path.join(dir, "outside");
    fs.mkdirSync(outside);
    const cfg = path.join(dir, "storage.yaml");
    fs.writeFileSync(cfg, `server:\n  snapshot_dir: ${snaps}\n`);
    const env = { STALKER_STORAGE_TOKEN: TOKEN };
    const bin = await startBinary(["--config", cfg, "--data-dir", data], { env });
    try {
      const post = (qs: string) => fetch(`${bin.url}/api/v1/admin/snapshot${qs}`, { method: "POST", headers: AUTH });
      const named = await post("");
      assert.equal(named.status, 200);
      assert.equal(
        path.dirname((await named.json()).dir),
        snaps,
        "no dir: a new one named by the time, under the root",
      );
      const rel = await post("?dir=nightly/mon");
      assert.equal(rel.status, 200);
      assert.equal((await rel.json()).dir, path.join(snaps, "nightly/mon"), "a relative dir is under the root");
      const abs = await post(`?dir=${encodeURIComponent(path.join(snaps, "abs"))}`);
      assert.equal(abs.status, 200);
      fs.symlinkSync(outside, path.join(snaps, "link"));
      const refused = [
        path.join(outside, "x"),
        "../outside/x",
        "nightly/../../outside/x",
        path.join(data, "backups", "x"),
        snaps,
        "link/x",
        path.join(snaps, "link"),
      ];
      for (const bad of refused) {
        const res = await post(`?dir=${encodeURIComponent(bad)}`);
        assert.equal(res.status, 400, bad);
        const body = await res.json();
        assert.equal(body.error.code, "invalid_parameter", bad);
        assert.match(body.error.message, /under the snapshot directory \S+snaps \(server\.snapshot_dir\)/, bad);
      }
      assert.deepEqual(fs.readdirSync(outside), [], "nothing written outside the root");
      assert.ok(!fs.existsSync(path.join(data, "backups")), "nor in the data directory's default root");

      // the CLI through the running server: the same refusal in one line, no stack
      const cli = runBinary(["snapshot", path.join(outside, "y"), "--config", cfg, "--data-dir", data], { env });
      assert.notEqual(cli.status, 0);
      assert.match(cli.stderr, /server\.snapshot_dir/);
      assert.doesNotMatch(cli.stderr, /\n\s+at /, "no stack trace");
      assert.ok(!fs.existsSync(path.join(outside, "y")));
      const ok = runBinary(["snapshot", path.join(snaps, "cli"), "--config", cfg, "--data-dir", data], { env });
      assert.equal(ok.status, 0, ok.stderr);
      assert.ok(fs.existsSync(path.join(snaps, "cli", "SNAPSHOT.json")));
    } finally {
      assert.equal(await bin.stop(), 0);
    }
  });
});
