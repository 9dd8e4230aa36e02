/**
 * SIGTERM on the binary: while the final flush runs, the listener stays open and answers `503`
 * (clients retry), instead of refusing connections; then the process exits 0 with everything flushed.
 */
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";

const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

test("binary: during the shutdown flush requests get 503 unavailable, never a refused connection", async () => {
  await withTempDir(async (dir) => {
    // a buffer large enough that the only flush is the final one (the default budget flushes at ~500k samples)
    const config = path.join(dir, "storage.yaml");
    fs.writeFileSync(config, "server:\n  memory_limit: 2GiB\ningestion:\n  flush:\n    max_buffer_size: 8000000\n");
    const bin = await startBinary(["--data-dir", path.join(dir, "d"), "--config", config]);
    // enough unflushed samples that the final flush takes a while
    for (let k = 0; k < 30; k++) {
      const samples = [];
      for (let i = 0; i < 20_000; i++) {
        samples.push({ namespace: "e2e", target: `r${i % 2000}`, poller: `p${k}`, timestamp_ms: T0 + i, value: i });
      }
      const res = await fetch(`${bin.url}/api/v1/ingest`, {
        method: "POST",
        body: JSON.stringify({ samples }),
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.status, 200, await res.text());
    }
    const exited = new Promise<number | null>((resolve) => bin.proc.on("exit", (code) => resolve(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    process.kill(bin.proc.pid!, "SIGTERM");
    const statuses: number[] = [];
    let answeredAfterRefusal = 0;
    let refused = false;
    while (!gone) {
      try {
        const res = await fetch(`${bin.url}/api/v1/series?namespace=e2e&limit=1`);
        await res.body?.cancel();
        statuses.push(res.status);
        if (refused) answeredAfterRefusal++;
      } catch {
        refused = true; // the listener closed: from here on only at the very end
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    assert.equal(await exited, 0, bin.stderr());
    const counts = Object.entries(Object.groupBy(statuses, (x) => String(x))).map(([k, v]) => `${k}×${v!.length}`);
    assert.ok(statuses.includes(503), `answers during shutdown: ${counts.join(", ")}`);
    assert.deepEqual([...new Set(statuses.slice(statuses.indexOf(503)))], [503], "once stopping, only 503");
    assert.ok(/flushing.*reason=shutdown/.test(bin.stderr()), "the final flush ran");
    assert.equal(answeredAfterRefusal, 0, "the listener closes once, after the flush: no refusal in between");
  });
});
