import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { legacyDataDir, runBinary, startBinary } from "./binary.ts";

const NOW = Date.now();
const T0 = NOW - (NOW % 300_000) - 3_600_000; // an hour ago, aligned to 5 minutes

/** Posts 30 minutes of a gauge and a counter from minute `from` on (a re-sent minute is a duplicate). */
async function ingest(url: string, from = 0): Promise<void> {
  const samples = [];
  for (let m = from; m < from + 30; m++) {
    samples.push({ namespace: "prod", target: "r1", poller: "cpu", timestamp_ms: T0 + m * 60_000, value: m });
    samples.push({
      namespace: "prod",
      target: "r1",
      poller: "octets",
      timestamp_ms: T0 + m * 60_000,
      value_counter: 1000 * m,
    });
  }
  const res = await fetch(`${url}/api/v1/ingest`, {
    method: "POST",
    body: JSON.stringify({ samples }),
    headers: { "content-type": "application/json" },
  });
  assert.equal(res.status, 200, await res.text());
}

test("query, series and sql work through the running server and offline, with the same answers", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const bin = await startBinary(["--data-dir", data]);
    const q = [
      "query",
      "--data-dir",
      data,
      "--namespace",
      "prod",
      "--target",
      "r1",
      "--poller",
      "cpu",
      "--from",
      String(T0),
      "--to",
      String(T0 + 1_800_000),
      "--tier",
      "5min",
      "--format",
      "json",
    ];
    let online: { query: string; series: string; sql: string };
    try {
      await ingest(bin.url);
      const r = runBinary(q);
      assert.equal(r.status, 0, r.stderr);
      const json = JSON.parse(r.stdout);
      assert.equal(json.tier, "5min");
      assert.deepEqual(json.series[0].points.map((p: { count: number }) => p.count), [5, 5, 5, 5, 5, 5]);
      const series = runBinary(["series", "--data-dir", data, "--format", "json"]);
      assert.equal(series.status, 0, series.stderr);
      assert.equal(JSON.parse(series.stdout).length, 2);
      const table = runBinary(["series", "--data-dir", data]);
      assert.match(table.stdout, /^namespace\s+target\s+poller/m);
      assert.match(table.stdout, /prod\s+r1\s+octets/);
      online = { query: JSON.stringify(json.series), series: series.stdout, sql: "" };
      // compaction of a directory a server holds goes through the server's admin API
      const compact = runBinary(["compact", "--data-dir", data]);
      assert.equal(compact.status, 0, compact.stderr);
      assert.match(compact.stdout, /merge\(s\)/);
    } finally {
      assert.equal(await bin.stop(), 0);
    }
    // offline: same answers (the shutdown flushed; the rest comes from the snapshot)
    const r = runBinary(q);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.stringify(JSON.parse(r.stdout).series), online!.query);
    assert.deepEqual(
      JSON.parse(runBinary(["series", "--data-dir", data, "--format", "json"]).stdout),
      JSON.parse(online!.series),
    );
    const csv = runBinary([
      "query",
      "--data-dir",
      data,
      "--namespace",
      "prod",
      "--target",
      "r1",
      "--poller",
      "octets",
      "--from",
      String(T0),
      "--to",
      String(T0 + 120_000),
      "--tier",
      "raw",
      "--format",
      "csv",
    ]);
    assert.match(csv.stdout, /^namespace,target,poller,tier,t,time,kind,value,value_counter/);
    assert.match(csv.stdout, /prod,r1,octets,raw,\d+,[^,]+,counter,,1000,/);
    const sql = runBinary([
      "sql",
      "--data-dir",
      data,
      "--format",
      "json",
      "SELECT count(*) AS n, sum(value) AS s FROM raw WHERE poller = 'cpu'",
    ]);
    assert.equal(sql.status, 0, sql.stderr);
    assert.deepEqual(JSON.parse(sql.stdout).rows, [[30, 435]]);
  });
});

test("compact and retention run offline; retention --dry-run deletes nothing", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const bin = await startBinary(["--data-dir", data]);
    await ingest(bin.url);
    assert.equal(await bin.stop(), 0);
    const compact = runBinary(["compact", "--data-dir", data]);
    assert.equal(compact.status, 0, compact.stderr);
    assert.match(compact.stdout, /tier\s+from\s+to/);
    const before = fs.readdirSync(data, { recursive: true }).length;
    const dry = runBinary(["retention", "--dry-run", "--data-dir", data]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /would delete \d+ file\(s\)/);
    assert.equal(fs.readdirSync(data, { recursive: true }).length, before);
  });
});

test("history imported 40 days ago, stop, retention, compact: the daily tier holds all 672 samples", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const from = NOW - (NOW % 86_400_000) - 40 * 86_400_000; // past retention.five_min (720 h)
    const samples = Array.from({ length: 672 }, (_, k) => ({
      namespace: "n",
      target: "t",
      poller: "p",
      timestamp_ms: from + k * 15 * 60_000,
      value: 1,
    }));
    legacyDataDir(data); // a new directory would take this history as late data for the coarser tiers at once
    const bin = await startBinary(["--data-dir", data]);
    const res = await fetch(`${bin.url}/api/v1/ingest`, {
      method: "POST",
      body: JSON.stringify({ samples }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal(await bin.stop(), 0);
    const retention = runBinary(["retention", "--data-dir", data]);
    assert.equal(retention.status, 0, retention.stderr);
    assert.match(retention.stdout, /kept \d+ expired file\(s\) until the coarser tier has them/);
    const compact = runBinary(["compact", "--data-dir", data]);
    assert.equal(compact.status, 0, compact.stderr);
    const q = runBinary([
      "query",
      "--data-dir",
      data,
      "--namespace",
      "n",
      "--from",
      String(from),
      "--to",
      String(from + 7 * 86_400_000),
      "--tier",
      "daily",
      "--format",
      "json",
    ]);
    assert.equal(q.status, 0, q.stderr);
    const points = JSON.parse(q.stdout).series[0].points as { count: number }[];
    assert.equal(points.reduce((a, p) => a + p.count, 0), 672);
  });
});

test("wal inspect lists segments; wal verify reports damage with exit code 1", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const bin = await startBinary(["--data-dir", data]);
    await ingest(bin.url);
    await ingest(bin.url, 30);
    assert.equal(await bin.stop("SIGKILL"), "SIGKILL"); // leave the data in the WAL: two records
    const inspect = runBinary(["wal", "inspect", "--data-dir", data]);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.match(inspect.stdout, /segment\s+bytes\s+records\s+samples/);
    assert.match(inspect.stdout, /\s2\s+120\s/, "2 records, 120 samples in the log");
    const verify = runBinary(["wal", "verify", "--data-dir", data]);
    assert.equal(verify.status, 0);
    assert.match(verify.stdout, /OK$/m);
    const seg = fs.readdirSync(path.join(data, "wal")).filter((n) => n.endsWith(".wal")).map((n) =>
      path.join(data, "wal", n)
    )
      .find((p) => fs.statSync(p).size > 100)!;
    const bytes = fs.readFileSync(seg);
    bytes[40] ^= 0xff; // inside the first record: the second one is still readable after it
    fs.writeFileSync(seg, bytes);
    const bad = runBinary(["wal", "verify", "--data-dir", data]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /damage: .* at offset \d+/);
  });
});

test("install-systemd --dry-run shows a hardened unit; --root writes the files", async () => {
  await withTempDir((dir) => {
    const dry = runBinary(["install-systemd", "--dry-run"]);
    assert.equal(dry.status, 0, dry.stderr);
    for (
      const line of [
        "User=stalker",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/stalker-storage",
        "MemoryMax=768M",
        "SystemCallFilter=@system-service",
        "ExecStart=/usr/local/bin/stalker-storage serve --config /etc/stalker-storage/storage.yaml",
      ]
    ) {
      assert.ok(dry.stdout.includes(line), line);
    }
    assert.match(dry.stdout, /would create system user stalker/);
    const r = runBinary(["install-systemd", "--root", dir, "--no-start"]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(dir, "etc/systemd/system/stalker-storage.service")));
    assert.ok(fs.existsSync(path.join(dir, "usr/local/bin/stalker-storage")));
    const cfg = fs.readFileSync(path.join(dir, "etc/stalker-storage/storage.yaml"), "utf8");
    assert.match(cfg, /^data_dir: \/var\/lib\/stalker-storage$/m);
    assert.equal(runBinary(["config", "check", path.join(dir, "etc/stalker-storage/storage.yaml")]).status, 0);
    return Promise.resolve();
  });
});

test("compact rolls up and merges on the binary's worker thread; the hourly tier holds every sample once", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const day = Date.UTC(2026, 0, 10); // a sealed day partition
    // a directory whose rollups start before that day, raw data kept for 10 years
    legacyDataDir(data);
    const config = path.join(dir, "storage.yaml");
    fs.writeFileSync(config, "retention:\n  raw: 87600h\n");
    // three server runs, each flushing its share at shutdown: three files per tier in the partition
    for (let run = 0; run < 3; run++) {
      const bin = await startBinary(["--data-dir", data, "--config", config]);
      try {
        const samples = [];
        for (let m = run; m < 6 * 60; m += 3) {
          samples.push({ namespace: "n", target: "t", poller: "p", timestamp_ms: day + m * 60_000, value: m });
        }
        const res = await fetch(`${bin.url}/api/v1/ingest`, {
          method: "POST",
          body: JSON.stringify({ samples }),
          headers: { "content-type": "application/json" },
        });
        assert.equal(res.status, 200, await res.text());
      } finally {
        assert.equal(await bin.stop(), 0);
      }
    }
    const compact = runBinary(["compact", "--data-dir", data, "--config", config]);
    assert.equal(compact.status, 0, compact.stderr);
    assert.match(compact.stdout, /^hourly\s+2026-01-10T00:00:00\.000Z\s+\S+\s+216\s+6\s+1\s*$/m, compact.stdout);
    assert.equal(
      compact.stdout.match(/^(hourly|daily|weekly) /gm)?.length,
      3,
      "one row per tier: empty stretches skipped",
    );
    assert.match(compact.stdout, /5min 2026-01-10 \(3 files → 1\)/);
    // a sealed raw day: one file per hour (6 hours of samples)
    assert.match(compact.stdout, /raw 2026-01-10 \(3 files → 6\)/);
    const files = (fs.readdirSync(data, { recursive: true }) as string[]).filter((f) => f.endsWith(".parquet"));
    assert.equal(files.filter((f) => f.startsWith("raw")).length, 6, files.join());
    const q = runBinary([
      "query",
      "--data-dir",
      data,
      "--namespace",
      "n",
      "--target",
      "t",
      "--poller",
      "p",
      "--from",
      String(day),
      "--to",
      String(day + 6 * 3_600_000),
      "--tier",
      "hourly",
      "--format",
      "json",
    ]);
    assert.equal(q.status, 0, q.stderr);
    const points = JSON.parse(q.stdout).series[0].points as { count: number; sum: number }[];
    assert.deepEqual(points.map((p) => p.count), [60, 60, 60, 60, 60, 60]);
    assert.deepEqual(points.map((p) => p.sum), [0, 1, 2, 3, 4, 5].map((h) => 60 * 60 * h + (59 * 60) / 2));
  });
});
