import test from "node:test";
import assert from "node:assert/strict";
import { testStorage } from "../helpers.ts";
import { createApp } from "../../src/http/app.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { counter, gauge, type Sample } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { MemFs } from "../../src/platform/mem_fs.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { Storage } from "../../src/service/storage.ts";
import { seriesKey } from "../../src/query/query.ts";
import { resultJson } from "../../src/query/format.ts";

const T0 = Date.UTC(2026, 10, 25, 10);
const MIN = 60_000;

async function setup() {
  const fs = new MemFs();
  const clock = new FakeClock(T0 + 11 * MIN);
  const metrics = new Metrics();
  const storage = testStorage(fs, clock, "", { metrics });
  await storage.start();
  const app = createApp({ storage, metrics, log: silentLogger, clock, authToken: "" });
  const get = async (q: string) => {
    const res = await app.request(`/api/v1/query?${q}`);
    return {
      status: res.status,
      body: res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text(),
      res,
    };
  };
  return { fs, clock, storage, app, get };
}

function minute(m: number, targets = ["r1", "r2"]): Sample[] {
  const ts = T0 + m * MIN;
  return targets.flatMap((t) => [
    gauge("prod", t, "cpu.load", ts, 10 + m),
    counter("prod", t, "ifHCInOctets.Gi0-1", ts, BigInt(1_000_000 + m * 6_000)),
  ]);
}

async function ingest(s: Storage, from: number, to: number): Promise<void> {
  for (let m = from; m < to; m++) await s.ingest(SampleBatch.of(minute(m)));
}

const cpuSum = (b: number) => [0, 1, 2, 3, 4].reduce((a, k) => a + 10 + b + k, 0);

test("a dashboard query merges flushed buckets with the last minutes still in memory", async () => {
  const { storage, clock, get } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow(); // 10:00 and 10:05 go to Parquet
  clock.set(T0 + 20 * MIN);
  await ingest(storage, 11, 20); // 10:10 .. 10:19 only in memory
  const { status, body } = await get(
    `namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 20 * MIN}&tier=5min`,
  );
  assert.equal(status, 200);
  assert.equal(body.tier, "5min");
  assert.equal(body.partial, false);
  const pts = body.series[0].points;
  assert.deepEqual(pts.map((p: { t: number }) => p.t), [0, 5, 10, 15].map((m) => T0 + m * MIN));
  assert.deepEqual(pts.map((p: { count: number }) => p.count), [5, 5, 5, 5]);
  assert.deepEqual(pts.map((p: { sum: number }) => p.sum), [0, 5, 10, 15].map(cpuSum));
  assert.equal(pts[0].min, 10);
  assert.equal(pts[0].max, 14);
  assert.ok(Math.abs(pts[0].p50 - 12) <= 0.12, `p50 ${pts[0].p50} within 1 % of 12`);
  assert.equal(pts[0].avg, 12);
  await storage.close();
});

test("seam: a bucket half in Parquet and half in memory comes out whole, counted once", async () => {
  const { storage, clock, get } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow();
  // a late sample for the flushed 10:00 bucket, and the bucket 10:10 split by a flush
  await storage.ingest(SampleBatch.of([gauge("prod", "r1", "cpu.load", T0 + 30_000, 100)]));
  clock.set(T0 + 16 * MIN);
  await ingest(storage, 11, 13);
  await storage.flushNow(); // 10:10 closed? no: closes at 10:16 only with grace -> stays open
  await ingest(storage, 13, 15);
  const { body } = await get(`namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 15 * MIN}&tier=5m`);
  const pts = body.series[0].points;
  assert.equal(pts[0].count, 6, "the late sample joins its own bucket");
  assert.equal(pts[0].sum, cpuSum(0) + 100);
  assert.equal(pts[0].max, 100);
  assert.equal(pts[2].count, 5);
  assert.equal(pts[2].sum, cpuSum(10));
  // after everything is flushed the answer is the same
  clock.set(T0 + 30 * MIN);
  await storage.flushNow();
  const again = (await get(`namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 15 * MIN}&tier=5m`)).body;
  assert.deepEqual(again.series[0].points, pts);
  await storage.close();
});

test("a bucket closed by a flush in progress is visible (in flight) and counted once after the commit", async () => {
  const { storage, get } = await setup();
  await ingest(storage, 0, 11);
  const flushing = storage.flushNow();
  // the cut happened synchronously inside the WAL rotation; query while files are being written
  await new Promise((r) => setTimeout(r, 0));
  const seen = (await get(`namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 10 * MIN}&tier=5min`)).body;
  await flushing;
  const after = (await get(`namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 10 * MIN}&tier=5min`)).body;
  assert.deepEqual((seen as { series: unknown[] }).series, after.series);
  assert.equal(after.series[0].points[0].count, 5);
  await storage.close();
});

test("raw: samples from Parquet and memory, in time order, each exactly once", async () => {
  const { storage, clock, get } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow();
  clock.set(T0 + 20 * MIN);
  await ingest(storage, 11, 20);
  const { body } = await get(
    `namespace=prod&target=r2&poller=ifHCInOctets.Gi0-1&from=${T0}&to=${T0 + 20 * MIN}&tier=raw`,
  );
  const samples = body.series[0].samples;
  assert.equal(samples.length, 20);
  assert.deepEqual(samples.map((s: { t: number }) => s.t), Array.from({ length: 20 }, (_, m) => T0 + m * MIN));
  assert.equal(samples[19].value_counter, 1_000_000 + 19 * 6_000);
  assert.equal(samples[0].kind, "counter");
  await storage.close();
});

test("counters are stored raw and aggregated as a per-second rate", async () => {
  const { storage, clock, get } = await setup();
  await ingest(storage, 0, 11);
  clock.set(T0 + 12 * MIN);
  const { body } = await get(
    `namespace=prod&target=r1&poller=ifHCInOctets.Gi0-1&from=${T0}&to=${T0 + 10 * MIN}&tier=5min`,
  );
  const s = body.series[0];
  assert.equal(s.kind, "rate");
  assert.equal(s.points[0].count, 4); // the first sample has no predecessor
  assert.equal(s.points[0].avg, 100); // 6,000 octets per 60 s
  assert.equal(s.points[1].count, 5);
  await storage.close();
});

test("a counter batch sent newest first or mixed gives the same 5-minute rates as oldest first", async () => {
  const samples = Array.from({ length: 11 }, (_, m) => minute(m)).flat();
  const mixed = samples.map((s, i) => ({ s, k: (i * 7919) % samples.length })).sort((a, b) => a.k - b.k);
  const orders: [string, Sample[]][] = [
    ["oldest first", samples],
    ["newest first", [...samples].reverse()],
    ["mixed", mixed.map((x) => x.s)],
  ];
  const answers: unknown[] = [];
  for (const [name, batch] of orders) {
    const { storage, clock, get } = await setup();
    await storage.ingest(SampleBatch.of(batch));
    clock.set(T0 + 12 * MIN);
    const { body } = await get(`namespace=prod&target=r1&from=${T0}&to=${T0 + 10 * MIN}&tier=5min`);
    const rate = body.series.find((s: { kind: string }) => s.kind === "rate");
    assert.deepEqual(rate.points.map((p: { count: number }) => p.count), [4, 5], name);
    assert.deepEqual(rate.points.map((p: { avg: number }) => p.avg), [100, 100], name);
    answers.push(body.series);
    await storage.close();
  }
  assert.deepEqual(answers[1], answers[0]);
  assert.deepEqual(answers[2], answers[0]);
});

test("all series of a target, sorted; the namespace alone selects everything in it", async () => {
  const { storage, get } = await setup();
  await ingest(storage, 0, 3);
  const target = (await get(`namespace=prod&target=r1&from=${T0}&to=${T0 + 3 * MIN}&tier=raw`)).body;
  assert.deepEqual(target.series.map((s: { poller: string }) => s.poller), ["cpu.load", "ifHCInOctets.Gi0-1"]);
  const ns = (await get(`namespace=prod&from=${T0}&to=${T0 + 3 * MIN}&tier=raw`)).body;
  assert.equal(ns.series.length, 4);
  await storage.close();
});

test("tier=auto picks by range and by data age, and says so", async () => {
  const { storage, clock, get } = await setup();
  await ingest(storage, 0, 5);
  const now = clock.now();
  const hour = (await get(`namespace=prod&from=${now - 3_600_000}&to=${now}`)).body;
  assert.equal(hour.tier, "raw");
  assert.equal(hour.auto, true);
  assert.match(hour.tier_reason, /finest tier/);
  assert.equal((await get(`namespace=prod&from=-24h`)).body.tier, "5min");
  assert.equal((await get(`namespace=prod&from=-30d`)).body.tier, "hourly");
  assert.equal((await get(`namespace=prod&from=-3d&to=-70h`)).body.tier, "5min", "raw retention (48h) is over");
  await storage.close();
});

test("hourly before any compaction is rolled up from the 5-minute data (memory included)", async () => {
  const { storage, get } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow();
  const { body } = await get(`namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 11 * MIN}&tier=1h`);
  const p = body.series[0].points;
  assert.equal(p.length, 1);
  assert.equal(p[0].t, T0);
  assert.equal(p[0].count, 11);
  assert.equal(p[0].sum, Array.from({ length: 11 }, (_, m) => 10 + m).reduce((a, b) => a + b));
  assert.ok(Math.abs(p[0].p50 - 15) <= 0.15, `p50 ${p[0].p50} within 1 % of 15`);
  await storage.close();
});

test("a damaged file is reported and skipped: the answer says it is partial", async () => {
  const { storage, fs, clock, get } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow();
  clock.set(T0 + 20 * MIN);
  await ingest(storage, 11, 15);
  const file = storage.core.manifest.files.find((f) => f.tier === "5min")!;
  await fs.writeFile(`/data/${file.path}`, new TextEncoder().encode("not parquet at all"));
  const { status, body } = await get(
    `namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 15 * MIN}&tier=5min`,
  );
  assert.equal(status, 200);
  assert.equal(body.partial, true);
  assert.match(body.warnings[0], new RegExp(`Cannot read ${file.path}`));
  assert.deepEqual(body.series[0].points.map((p: { t: number }) => p.t), [T0 + 10 * MIN], "memory data still answered");
  const status2 = await storage.status();
  assert.ok(status2.problems!.some((p) => p.includes(file.path)));
  await storage.close();
});

test("a damaged raw file in a namespace read (not cached) is skipped whole; the rest is answered", async () => {
  const { storage, fs, clock } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow();
  clock.set(T0 + 20 * MIN);
  await ingest(storage, 11, 15);
  const file = storage.core.manifest.files.find((f) => f.tier === "raw")!;
  await fs.writeFile(`/data/${file.path}`, new TextEncoder().encode("not parquet at all"));
  const r = await storage.query({
    filter: { namespace: "prod" },
    fromMs: T0,
    toMs: T0 + 15 * MIN,
    tier: "raw",
    limit: 1e6,
  });
  assert.equal(r.partial, true);
  assert.match(r.warnings[0], new RegExp(`Cannot read ${file.path}`));
  const cpu = r.series.find((s) => s.target === "r1" && s.poller === "cpu.load")!;
  assert.deepEqual(
    cpu.samples!.map((p) => p.ts),
    [11, 12, 13, 14].map((m) => T0 + m * MIN),
    "memory data still answered",
  );
  await storage.close();
});

test("rawFields: the raw columns not asked for are not read from files (PromQL reads no poll time or error)", async () => {
  const { storage } = await setup();
  const polled = { ...gauge("prod", "r1", "cpu.load", T0, 5), pollMs: 42 };
  const failed = { ...gauge("prod", "r1", "cpu.load", T0 + MIN, 0), valid: false, error: "timeout", pollMs: 7 };
  await storage.ingest(SampleBatch.of([polled, failed]));
  await storage.flushNow();
  const read = async (rawFields?: ("kind" | "value" | "counter" | "valid")[]) =>
    (await storage.query({
      filter: { namespace: "prod", target: "r1", poller: "cpu.load" },
      fromMs: T0,
      toMs: T0 + 2 * MIN,
      tier: "raw",
      limit: 100,
      rawFields,
    })).series[0].samples!.map((p) => [p.ts, p.value, p.valid, p.pollMs, p.error ?? null]);
  assert.deepEqual(await read(), [[T0, 5, true, 42, null], [T0 + MIN, 0, false, 7, "timeout"]]);
  assert.deepEqual(await read(["kind", "value", "counter", "valid"]), [[T0, 5, true, 0, null], [
    T0 + MIN,
    0,
    false,
    0,
    null,
  ]]);
  await storage.close();
});

test("CSV output", async () => {
  const { storage, get } = await setup();
  await ingest(storage, 0, 2);
  const { res, body } = await get(
    `namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 2 * MIN}&tier=raw&format=csv`,
  );
  assert.match(res.headers.get("content-type")!, /text\/csv/);
  const lines = (body as string).trim().split("\n");
  assert.equal(lines[0], "namespace,target,poller,tier,t,time,kind,value,value_counter,value_text,valid,error,poll_ms");
  assert.equal(lines[1], `prod,r1,cpu.load,raw,${T0},${new Date(T0).toISOString()},gauge,10,,,true,,`);
  await storage.close();
});

const BAD_PARAMS: [string, RegExp][] = [
  ["target=r1", /namespace is required/],
  ["namespace=prod&from=yesterday", /from: "yesterday" is not a time/],
  ["namespace=prod&from=-1h&to=-2h", /must be before/],
  ["namespace=prod&tier=monthly", /Unknown tier/],
  ["namespace=prod&limit=0", /limit must be a positive integer/],
  ["namespace=prod&format=xml", /format must be json or csv/],
];
for (const [q, message] of BAD_PARAMS) {
  test(`400 for query parameters ${q}`, async () => {
    const { storage, get } = await setup();
    const { status, body } = await get(q);
    assert.equal(status, 400);
    assert.match(body.error.message, message);
    await storage.close();
  });
}

test("limit caps the points and says the answer is truncated", async () => {
  const { storage, get } = await setup();
  await ingest(storage, 0, 5);
  const { body } = await get(`namespace=prod&from=${T0}&to=${T0 + 5 * MIN}&tier=raw&limit=7`);
  const total = body.series.reduce((a: number, s: { samples: unknown[] }) => a + s.samples.length, 0);
  assert.equal(total, 7);
  assert.equal(body.truncated, true);
  await storage.close();
});

test("a repeated query answers the same from the query cache, and a flush's new file is read", async () => {
  const { storage, clock, get } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow();
  const q = (to: number) => `namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${to}&tier=raw`;
  const first = await get(q(T0 + 11 * MIN));
  const misses = storage.readCache.stats().misses;
  assert.ok(misses > 0, "the first query read the file through the cache");
  const again = await get(q(T0 + 11 * MIN));
  assert.deepEqual(again.body, first.body);
  assert.equal(storage.readCache.stats().misses, misses, "the second query decoded nothing");
  assert.ok(storage.readCache.stats().hits > 0);
  // a narrower window: the cached rows cut to it
  const narrow = await get(q(T0 + 3 * MIN));
  assert.deepEqual(narrow.body.series[0].samples.map((s: { t: number }) => s.t), [T0, T0 + MIN, T0 + 2 * MIN]);
  // a new file after another flush: read (a miss), the old one still cached
  clock.set(T0 + 20 * MIN);
  await ingest(storage, 11, 20);
  await storage.flushNow();
  const later = await get(q(T0 + 20 * MIN));
  assert.equal(later.body.series[0].samples.length, 20);
  assert.equal(storage.readCache.stats().misses, misses + 1);
  await storage.close();
});

test("5-minute files that overlap (a late sample) are read once, with their sketches, and merged", async () => {
  const { storage, clock, get } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow(); // 10:00 and 10:05
  clock.set(T0 + 16 * MIN);
  await storage.ingest(SampleBatch.of([gauge("prod", "r1", "cpu.load", T0 + 2 * MIN + 30_000, 100)])); // late, 10:00
  await ingest(storage, 11, 16);
  await storage.flushNow(); // a partial 10:00 row, 10:10
  const files = storage.core.manifest.files.filter((f) => f.tier === "5min");
  assert.equal(files.length, 2);
  const before = storage.readCache.stats().misses; // the late sample's duplicate check read the raw file
  const { body } = await get(`namespace=prod&target=r1&poller=cpu.load&from=${T0}&to=${T0 + 15 * MIN}&tier=5min`);
  const first = body.series[0].points[0];
  assert.equal(first.count, 6, "the late sample merged into 10:00");
  assert.equal(first.sum, cpuSum(0) + 100);
  assert.equal(
    storage.readCache.stats().misses - before,
    2,
    "each file read once (with sketches), not first without them",
  );
  await storage.close();
});

test("an aborted query (a caller past its timeout) stops at its next file and rejects with the reason", async () => {
  const { storage, fs, clock } = await setup();
  for (let k = 0; k < 3; k++) {
    clock.set(T0 + (k * 10 + 11) * MIN);
    await ingest(storage, k * 10, k * 10 + 10);
    await storage.flushNow(); // one raw file per flush
  }
  const raw = storage.core.manifest.files.filter((f) => f.tier === "raw");
  assert.ok(raw.length >= 3, `${raw.length} raw files`);
  const reads = new AbortController();
  const reason = new Error("timed out");
  const opened: string[] = [];
  const open = fs.open.bind(fs);
  fs.open = (path, mode) => {
    if (path.endsWith(".parquet")) {
      opened.push(path);
      reads.abort(reason); // the deadline passes while the first file is read
    }
    return open(path, mode);
  };
  const request = {
    filter: { namespace: "prod" },
    fromMs: T0,
    toMs: T0 + 40 * MIN,
    tier: "raw" as const,
    limit: 1e6,
    signal: reads.signal,
  };
  await assert.rejects(storage.query(request), (err) => err === reason);
  assert.equal(opened.length, 1, "no file read after the abort");
  const before = opened.length;
  await assert.rejects(storage.query(request), (err) => err === reason, "an aborted signal reads nothing");
  assert.equal(opened.length, before);
  fs.open = open;
  const whole = await storage.query({ ...request, signal: undefined });
  assert.equal(whole.partial, false);
  assert.equal(whole.series.length, 4);
  await storage.close();
});

test("only: a target's or namespace's read keeps the listed series, from files and memory, in every tier", async () => {
  const { storage, clock } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow(); // 10:00 and 10:05 in Parquet
  clock.set(T0 + 20 * MIN);
  await ingest(storage, 11, 20); // the rest in memory
  const only = new Set([seriesKey("prod", "r2", "cpu.load"), seriesKey("prod", "r1", "ifHCInOctets.Gi0-1")]);
  for (const tier of ["raw", "5min", "hourly"] as const) {
    const request = { filter: { namespace: "prod" }, fromMs: T0, toMs: T0 + 20 * MIN, tier, limit: 1e6 };
    const all = await storage.query(request);
    const some = await storage.query({ ...request, only });
    assert.equal(all.series.length, 4, tier);
    assert.deepEqual(
      some.series.map((s) => `${s.target} ${s.poller}`),
      ["r1 ifHCInOctets.Gi0-1", "r2 cpu.load"],
      tier,
    );
    // the kept series are whole: the same points as in the answer without `only`
    for (const s of some.series) {
      const same = all.series.find((x) => x.target === s.target && x.poller === s.poller)!;
      assert.equal(
        JSON.stringify(resultJson({ ...some, series: [s] })),
        JSON.stringify(resultJson({ ...all, series: [same] })),
      );
    }
  }
  await storage.close();
});

test("a namespace read of selected series is cached for exactly those series and the hours it touches", async () => {
  const { storage } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow(); // 10:00 and 10:05 in Parquet
  const only = new Set([seriesKey("prod", "r2", "cpu.load"), seriesKey("prod", "r1", "ifHCInOctets.Gi0-1")]);
  const request = { filter: { namespace: "prod" }, fromMs: T0, toMs: T0 + 10 * MIN, tier: "raw" as const, limit: 1e6 };
  const first = await storage.query({ ...request, only });
  const misses = storage.readCache.stats().misses;
  assert.ok(misses > 0 && storage.readCache.stats().entries > 0, "the selected series' rows were kept");
  // the same panel refreshed a minute later: the same hours, nothing decoded again
  const again = await storage.query({ ...request, fromMs: T0 + MIN, only: new Set(only) });
  assert.equal(storage.readCache.stats().misses, misses);
  assert.deepEqual(again.series.map((s) => s.samples!.length), first.series.map((s) => s.samples!.length - 1));
  assert.deepEqual(again.series[0].samples, first.series[0].samples!.slice(1));
  // another selection is another entry: its answer has exactly its series
  const other = new Set([seriesKey("prod", "r1", "cpu.load")]);
  const third = await storage.query({ ...request, only: other });
  assert.ok(storage.readCache.stats().misses > misses);
  assert.deepEqual(third.series.map((s) => `${s.target} ${s.poller}`), ["r1 cpu.load"]);
  // without a selection a namespace read is not cached
  const entries = storage.readCache.stats().entries;
  await storage.query(request);
  assert.equal(storage.readCache.stats().entries, entries);
  await storage.close();
});

test("numeric: a raw answer's valid gauge and counter samples as typed arrays, from files and memory, in order", async () => {
  const { storage, clock } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow(); // 10:00 and 10:05 in Parquet
  clock.set(T0 + 20 * MIN);
  await ingest(storage, 11, 20); // the rest in memory
  await storage.ingest(SampleBatch.of([{ ...gauge("prod", "r1", "cpu.load", T0 + 20 * MIN, 99), valid: false }]));
  const request = { filter: { namespace: "prod" }, fromMs: T0, toMs: T0 + 30 * MIN, tier: "raw" as const, limit: 1e6 };
  const objects = await storage.query(request);
  const numeric = await storage.query({ ...request, numeric: true });
  assert.equal(numeric.series.length, objects.series.length);
  for (const [i, s] of objects.series.entries()) {
    const valid = s.samples!.filter((p) => p.valid && (p.kind === "gauge" || p.kind === "counter"));
    assert.ok(valid.length < s.samples!.length || s.poller !== "cpu.load" || s.target !== "r1");
    assert.deepEqual(Array.from(numeric.series[i].numeric!.ts), valid.map((p) => p.ts));
    assert.deepEqual(
      Array.from(numeric.series[i].numeric!.values),
      valid.map((p) => p.kind === "counter" ? Number(p.counter) : p.value),
    );
    assert.equal(numeric.series[i].samples, undefined);
  }
  // the limit counts the numeric samples and cuts the typed arrays
  const cut = await storage.query({ ...request, numeric: true, limit: 25 });
  assert.equal(cut.truncated, true);
  assert.equal(cut.series.reduce((n, s) => n + s.numeric!.ts.length, 0), 25);
  await storage.close();
});

test("numeric on the 5-minute tier: count, sum, min and max columns equal the merged points (late rows, memory)", async () => {
  const { storage, clock } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow(); // 10:00 and 10:05
  clock.set(T0 + 16 * MIN);
  await storage.ingest(SampleBatch.of([gauge("prod", "r1", "cpu.load", T0 + 2 * MIN + 30_000, 100)])); // late, 10:00
  await ingest(storage, 11, 16);
  await storage.flushNow(); // a partial 10:00 row, 10:10
  clock.set(T0 + 19 * MIN);
  await ingest(storage, 16, 19); // 10:15 open in memory
  const request = { filter: { namespace: "prod" }, fromMs: T0, toMs: T0 + 20 * MIN, tier: "5min" as const, limit: 1e6 };
  const rows = await storage.query(request);
  const stats = await storage.query({ ...request, numeric: true });
  assert.equal(stats.series.length, 4);
  for (const [i, s] of rows.series.entries()) {
    const got = stats.series[i].stats!;
    assert.equal(stats.series[i].kind, s.kind);
    assert.deepEqual(Array.from(got.bucket), s.points!.map((p) => p.bucket), `${s.target} ${s.poller}`);
    assert.deepEqual(Array.from(got.count), s.points!.map((p) => p.agg.count));
    assert.deepEqual(Array.from(got.sum), s.points!.map((p) => p.agg.sum));
    assert.deepEqual(Array.from(got.min), s.points!.map((p) => p.agg.min));
    assert.deepEqual(Array.from(got.max), s.points!.map((p) => p.agg.max));
  }
  const late = stats.series.find((s) => s.target === "r1" && s.poller === "cpu.load")!.stats!;
  assert.deepEqual([late.count[0], late.sum[0], late.max[0]], [6, cpuSum(0) + 100, 100]);
  assert.deepEqual(Array.from(late.bucket), [0, 5, 10, 15].map((m) => T0 + m * MIN));
  await storage.close();
});

test("numeric reads of a target's selected series over part of a cached file: the same as the sample objects", async () => {
  const { storage, clock } = await setup();
  await ingest(storage, 0, 11);
  await storage.flushNow(); // 10:00 and 10:05 in Parquet
  clock.set(T0 + 20 * MIN);
  await ingest(storage, 11, 20); // the rest in memory
  const only = new Set([seriesKey("prod", "r1", "cpu.load")]);
  for (const tier of ["raw", "5min"] as const) {
    const request = { filter: { namespace: "prod", target: "r1" }, fromMs: T0 + 2 * MIN, toMs: T0 + 13 * MIN, tier };
    const objects = await storage.query({ ...request, limit: 1e6, only });
    for (let round = 0; round < 2; round++) { // the second from the query cache: the whole file's rows, cut here
      const numeric = await storage.query({ ...request, limit: 1e6, only, numeric: true });
      assert.deepEqual(numeric.series.map((s) => s.poller), ["cpu.load"], tier);
      const s = numeric.series[0], want = objects.series[0];
      if (tier === "raw") {
        assert.deepEqual(Array.from(s.numeric!.ts), want.samples!.map((p) => p.ts));
        assert.deepEqual(Array.from(s.numeric!.values), want.samples!.map((p) => p.value));
      } else {
        assert.deepEqual(Array.from(s.stats!.bucket), want.points!.map((p) => p.bucket));
        assert.deepEqual(Array.from(s.stats!.sum), want.points!.map((p) => p.agg.sum));
      }
    }
  }
  await storage.close();
});
