/**
 * The data disk filled by another process (issue 10 item 5), on a real 100 MiB tmpfs this test mounts
 * (as root, as `.ci/run` runs): the binary's disk reserve (`ingestion.disk_reserve`) is released so the
 * shutdown flush can write its Parquet files and checkpoint the WAL; without a reserve the same flush
 * fails. Every acknowledged sample is in the tier files afterwards, and the reserve comes back.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { runBinary, startBinary } from "./binary.ts";

const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const RESERVE = 16 * 2 ** 20;

function mount(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=100m", "tmpfs", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, `mounting a tmpfs needs root (as in .ci/run): ${r.stderr}`);
}

/** Fills the rest of the filesystem of `dir`, 64 KiB then 4 KiB at a time, until ENOSPC. */
function ballast(dir: string): void {
  const fd = fs.openSync(path.join(dir, "ballast"), "a");
  try {
    for (const size of [65536, 4096, 512]) {
      const page = new Uint8Array(size);
      for (;;) {
        try {
          fs.writeSync(fd, page);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Ingests 10 × 1,000 samples (acknowledged), fills the disk, stops with SIGTERM; the exit code and log. */
async function fillAndStop(
  dir: string,
  reserve: number,
): Promise<{ code: number | string; log: string; acked: number }> {
  const data = path.join(dir, "data");
  mount(data);
  const config = path.join(dir, "storage.yaml");
  fs.writeFileSync(config, `ingestion:\n  disk_reserve: ${reserve}\n  flush:\n    interval: 1h\n`);
  const args = ["--data-dir", data, "--config", config];
  try {
    const bin = await startBinary(args);
    let acked = 0;
    try {
      if (reserve > 0) {
        await waitFor(
          () => fs.statSync(path.join(data, "RESERVE"), { throwIfNoEntry: false })?.size === reserve,
          "RESERVE",
        );
      }
      for (let b = 0; b < 10; b++) {
        const samples = [];
        for (let i = 0; i < 1000; i++) {
          samples.push({
            namespace: "e2e",
            target: `r${i % 50}`,
            poller: "cpu",
            timestamp_ms: T0 + b * 1000 + i,
            value: i,
          });
        }
        const res = await fetch(`${bin.url}/api/v1/ingest`, {
          method: "POST",
          body: JSON.stringify({ samples }),
          headers: { "content-type": "application/json" },
        });
        const body = await res.text();
        assert.equal(res.status, 200, body);
        acked += JSON.parse(body).accepted;
      }
      ballast(data); // another process takes every free byte
    } catch (err) {
      await bin.stop("SIGKILL").catch(() => {});
      throw err;
    }
    const code = await bin.stop("SIGTERM", 60_000);
    const log = bin.stderr();
    fs.rmSync(path.join(data, "ballast"));
    // space is back: nothing was lost either way (the WAL keeps what a flush could not write), and the
    // reserve is written again
    const again = await startBinary(args);
    try {
      if (reserve > 0) {
        await waitFor(
          () => fs.statSync(path.join(data, "RESERVE"), { throwIfNoEntry: false })?.size === reserve,
          "the reserve again",
        );
      }
    } finally {
      assert.equal(await again.stop(), 0);
    }
    const sql = runBinary(["sql", ...args, "SELECT count(*) AS n FROM raw", "--format", "csv"]);
    assert.equal(sql.status, 0, sql.stderr);
    assert.equal(sql.stdout, `n\n${acked}\n`, "every acknowledged sample in the raw tier files, once");
    const agg = runBinary(["sql", ...args, "SELECT sum(count) AS n FROM agg_5min", "--format", "csv"]);
    assert.equal(agg.stdout, `n\n${acked}\n`, "and counted once in the 5-minute tier");
    return { code, log, acked };
  } finally {
    spawnSync("umount", ["-l", data]);
  }
}

test("binary on a data disk filled by another process: the reserve lets the flush write and checkpoint", async () => {
  await withTempDir(async (dir) => {
    const r = await fillAndStop(dir, RESERVE);
    assert.equal(r.code, 0, r.log);
    assert.doesNotMatch(r.log, /final flush failed/, r.log);
    assert.match(r.log, /released the disk reserve/);
    assert.match(r.log, /running it again on the released reserve/);
    assert.match(r.log, /flushed reason=shutdown rawSamples=10000/);
  });
});

test("without a reserve the same full data disk fails the shutdown flush (what the reserve prevents); the WAL keeps the data", async () => {
  await withTempDir(async (dir) => {
    const r = await fillAndStop(dir, 0);
    assert.match(r.log, /final flush failed; the WAL keeps the data for the next start/, "the flush had no room");
    assert.doesNotMatch(r.log, /released the disk reserve/);
  });
});
