/**
 * Damaged tier files and SQL (issue 10 item 8): a file DuckDB cannot read is left out of the views,
 * named in the answer (`skipped`) and in `problems`; every other query keeps working.
 */
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge, type Sample } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { diskStorage, withTempDir } from "../helpers.ts";

const T0 = Date.UTC(2026, 10, 25, 10);

function minute(m: number): Sample[] {
  const out: Sample[] = [];
  for (let t = 0; t < 100; t++) out.push(gauge("prod", `t${t}`, "cpu", T0 + m * 60_000, (t * 7 + m) % 100 + 0.25));
  return out;
}

test("a damaged raw file is skipped and reported; SQL keeps working", async () => {
  await withTempDir(async (dir) => {
    const clock = new FakeClock(T0 + 10 * 60_000);
    const s = diskStorage(dir, clock);
    await s.start();
    try {
      // three flushes: three raw files of 1,000 samples
      for (let f = 0; f < 3; f++) {
        for (let m = f * 10; m < f * 10 + 10; m++) await s.ingest(SampleBatch.of(minute(m)));
        clock.set(T0 + (f * 10 + 11) * 60_000);
        await s.flushNow();
      }
      const raw = s.core.manifest.files.filter((f) => f.tier === "raw").sort((a, b) => a.seq - b.seq);
      assert.equal(raw.length, 3);
      const [flipped, , cut] = raw.map((f) => `${dir}/${f.path}`);
      const bytes = fs.readFileSync(flipped);
      bytes[Math.floor(bytes.length * 0.4)] ^= 0xff; // inside a compressed page: the footer is fine
      fs.writeFileSync(flipped, bytes);
      fs.truncateSync(cut, Math.floor(fs.statSync(cut).size / 2)); // the footer is gone

      const one = await s.sql("SELECT 1 AS one");
      assert.deepEqual(one.rows, [[1]]);
      const all = await s.sql("SELECT count(*) AS n, sum(value) AS v FROM raw WHERE target IS NOT NULL");
      assert.deepEqual(all.skipped.map((x) => x.file).sort(), [cut, flipped].sort());
      assert.equal(all.rows[0][0], 1_000, "the good file's rows");
      for (const f of [cut, flipped]) {
        assert.ok(s.core.problems.some((p) => p.startsWith(`Cannot read ${f}`)), s.core.problems.join("\n"));
      }
      const again = await s.sql("SELECT count(*) FROM agg_5min");
      assert.ok(Number(again.rows[0][0]) > 0);
      // the answer names every file the views lack, whichever views the query reads
      assert.deepEqual(again.skipped.map((x) => x.file).sort(), [cut, flipped].sort());
      await assert.rejects(s.sql("SELECT nope FROM raw"), /Binder Error/);
      // DuckDB is released after 10 minutes without SQL, on the storage's clock
      clock.advance(10 * 60_000 - 1);
      assert.equal(s.sqlLoaded, true);
      clock.advance(1);
      assert.equal(s.sqlLoaded, false);
    } finally {
      await s.close();
    }
  });
});
