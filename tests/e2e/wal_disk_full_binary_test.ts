/**
 * A full WAL disk on a real filesystem (issue 10 item 5): the WAL directory is a 1 MiB tmpfs that this
 * test mounts (it runs as root, as `.ci/run` does). Ingest until 507, let another writer take the last
 * pages, `kill -9`: the binary must start again on the full disk, its shutdown flush must checkpoint
 * and free the WAL disk, and every acknowledged sample must be in Parquet exactly once.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";

const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;

function mount(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, `mounting a tmpfs needs root (as in .ci/run): ${r.stderr}`);
}

/** Fills the rest of the filesystem of `dir` with a file, 4 KiB at a time, until ENOSPC. */
function ballast(dir: string): void {
  const fd = fs.openSync(path.join(dir, "ballast"), "a");
  try {
    const page = new Uint8Array(4096);
    for (;;) {
      try {
        fs.writeSync(fd, page);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOSPC") return;
        throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

test("binary on a full WAL tmpfs: restarts, its flush frees the disk, every acknowledged sample once", async () => {
  await withTempDir(async (dir) => {
    const walDir = path.join(dir, "wal");
    mount(walDir);
    try {
      const config = path.join(dir, "storage.yaml");
      fs.writeFileSync(config, `ingestion:\n  flush:\n    interval: 1h\n  wal:\n    dir: ${walDir}\n`);
      const args = ["--data-dir", path.join(dir, "data"), "--config", config];
      let next = 0;
      const post = async (url: string) => {
        const samples = [];
        for (let i = 0; i < 1000; i++, next++) {
          samples.push({
            namespace: "e2e",
            target: `r${next % 100}`,
            poller: "cpu",
            timestamp_ms: T0 + next,
            value: i,
          });
        }
        const res = await fetch(`${url}/api/v1/ingest`, {
          method: "POST",
          body: JSON.stringify({ samples }),
          headers: { "content-type": "application/json" },
        });
        const body = await res.json();
        return { status: res.status, accepted: res.status === 200 ? body.accepted as number : 0 };
      };

      let bin = await startBinary(args);
      let acknowledged = 0;
      for (let r = await post(bin.url); r.status === 200; r = await post(bin.url)) acknowledged += r.accepted;
      ballast(walDir);
      assert.equal((await post(bin.url)).status, 507);
      assert.ok(acknowledged > 10_000, `${acknowledged} samples before the disk filled`);
      assert.equal(await bin.stop("SIGKILL"), "SIGKILL");

      bin = await startBinary(args); // on the full disk
      assert.equal((await post(bin.url)).status, 507, "still full");
      assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr()); // the shutdown flush checkpoints
      assert.ok(fs.statfsSync(walDir).bavail * fs.statfsSync(walDir).bsize > 512 * 1024, "the WAL disk was freed");

      bin = await startBinary(args);
      const r = await post(bin.url);
      assert.equal(r.status, 200, "ingest works again");
      acknowledged += r.accepted;
      assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr());
      bin = await startBinary(args);
      const res = await fetch(`${bin.url}/api/v1/sql`, { method: "POST", body: "SELECT count(*) AS n FROM raw" });
      const sql = await res.json();
      assert.equal(res.status, 200, JSON.stringify(sql));
      assert.equal(sql.rows[0][0], acknowledged, "every acknowledged sample exactly once");
      assert.equal(await bin.stop("SIGTERM"), 0);
    } finally {
      spawnSync("umount", [walDir]);
    }
  });
});
