/**
 * The memory budget in the running service: admission by resident memory, the ring giving way first,
 * the series limit, the in-flight body share and what /metrics and /api/v1/status show.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { createApp } from "../../src/http/app.ts";
import { readBody } from "../../src/http/body.ts";
import { HttpError } from "../../src/http/errors.ts";
import { SampleBatch } from "../../src/model/batch.ts";
import { gauge } from "../../src/model/sample.ts";
import { FakeClock } from "../../src/platform/clock.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { memStorage, until } from "../helpers.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const MiB = 2 ** 20;
const json = { "content-type": "application/json" };

async function setup(yaml = "server:\n  memory_limit: 256MiB\n") {
  let resident = 100 * MiB;
  const env = await memStorage(yaml, NOW, { residentBytes: () => resident });
  const app = createApp({
    storage: env.storage,
    metrics: env.metrics,
    log: silentLogger,
    clock: env.clock,
    authToken: "",
  });
  const post = (samples: unknown[]) =>
    app.request("/api/v1/ingest", { method: "POST", body: JSON.stringify(samples), headers: json });
  const setResident = (bytes: number) => {
    resident = bytes;
    env.clock.advance(1_000); // past the reading's reuse window
  };
  return { ...env, app, post, setResident };
}

const samples = (n: number, minute: number, poller = "cpu") =>
  Array.from({ length: n }, (_, i) => ({
    namespace: "prod",
    target: `r${i}`,
    poller,
    timestamp_ms: NOW - 60 * 60_000 + minute * 60_000,
    value: i,
  }));

test("ingest waits for memory, then is refused with 429 naming server.memory_limit before resident memory crosses it", async () => {
  const { storage, post, setResident, clock } = await setup();
  assert.equal((await post(samples(10, 0))).status, 200);
  setResident(250 * MiB); // 98 % of 256 MiB, nothing evictable
  const answer = post(samples(10, 1));
  await until(() => storage.waiting.length === 1, "the request to wait");
  clock.advance(3_000); // backpressure.max_wait
  const refused = await answer;
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  const body = await refused.json();
  assert.equal(body.error.code, "overloaded");
  assert.match(body.error.message, /server\.memory_limit/);
  assert.equal(storage.ingestCounters.samples, 10, "the refused request left no trace");
  const unread = post("not even JSON" as unknown as unknown[]);
  await until(() => storage.waiting.length === 1, "the next request to wait");
  assert.equal(storage.memory.inflightBodies, 0, "it waits before its body is read");
  clock.advance(3_000);
  assert.equal((await unread).status, 429, "refused before its body is read or decoded");
  setResident(100 * MiB);
  assert.equal((await post(samples(10, 1))).status, 200);
  assert.equal(storage.ingestCounters.samples, 20);
  await storage.close();
});

test("a request waiting for memory is let in once memory is given back", async () => {
  const { storage, post, setResident } = await setup();
  setResident(250 * MiB);
  const answer = post(samples(10, 0));
  await until(() => storage.waiting.length === 1, "the request to wait");
  setResident(100 * MiB); // a collection gave memory back; the clock moves 1 s, the queue looks again
  assert.equal((await answer).status, 200);
  assert.equal(storage.ingestCounters.samples, 10);
  assert.equal(storage.admission.refused.emergency + storage.admission.refused.critical, 0);
  await storage.close();
});

test("when the room kept for the next flush keeps ingest out, the storage flushes at once instead of waiting for the buffer or the interval", async () => {
  const { storage, post, setResident, clock } = await setup();
  storage.startBackground();
  assert.equal((await post(samples(10, 0))).status, 200);
  const limit = storage.memory.plan.limitBytes;
  // resident memory itself is below the emergency threshold, but not with the room a flush of the
  // unflushed samples is expected to take (half of the plan's share for a small flush)
  setResident(Math.floor(0.95 * limit - storage.memory.expectedFlushGrowth(10) / 2));
  assert.ok(storage.memory.usage() >= 0.95, `usage ${storage.memory.usage()}`);
  const answer = post(samples(10, 1));
  await until(() => storage.waiting.length === 1, "the request to wait");
  for (let i = 0; i < 8 && storage.waiting.length > 0; i++) {
    clock.advance(250); // the memory check's period; far below backpressure.max_wait and the 5 m interval
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await answer).status, 200, "let in once the flush emptied the buffer");
  const flush = storage.core.jobs.get("flush");
  assert.equal(flush?.detail?.reason, "memory");
  assert.equal(storage.ingestCounters.samples, 20);
  assert.equal(storage.admission.refused.emergency + storage.admission.refused.critical, 0);
  await storage.close();
});

test("the raw ring's flushed samples give way first: relieve() evicts them and queries still find the data", async () => {
  const { storage, setResident } = await setup();
  for (let m = 0; m < 30; m++) await storage.ingest(SampleBatch.of(samples(3000, m).map(toSample)));
  await storage.flushNow();
  const raw = storage.core.head.raw;
  assert.ok(raw.evictableBytes() > 0, "flushed chunks are held as cache");
  const held = raw.held;
  setResident(250 * MiB);
  const usageBefore = storage.memory.usage();
  storage.memory.relieve();
  assert.ok(raw.held < held, `held ${raw.held} of ${held}`);
  assert.ok(storage.memory.actions.evictions >= 1 && storage.memory.actions.collections >= 1);
  assert.ok(usageBefore > 0 && usageBefore < 250 / 256, "evictable memory does not count as pressure");
  const q = await storage.query({
    filter: { namespace: "prod", target: "r7", poller: "cpu" },
    fromMs: NOW - 2 * 3_600_000,
    toMs: NOW,
    tier: "raw",
    limit: 10_000,
  });
  assert.equal(q.partial, false);
  assert.deepEqual(q.series[0].samples?.map((p) => p.value), Array(30).fill(7));
  await storage.close();
});

test("limits.max_series refuses a request that would add a series past it, with the sample's index, storing nothing", async () => {
  const { storage, post } = await setup("limits:\n  max_series: 5\n");
  assert.equal((await post(samples(4, 0))).status, 200);
  const res = await post([...samples(4, 1), ...samples(3, 1, "mem")]);
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.code, "series_limit");
  assert.equal(body.error.index, 5, "r1/mem is the sixth series: the fifth is r0/mem at index 4");
  assert.match(body.error.message, /limits\.max_series/);
  assert.equal(storage.ingestCounters.samples, 4);
  assert.equal(storage.series(null).length, 4, "no series of the refused request is visible");
  assert.equal((await post(samples(4, 2))).status, 200, "known series are still accepted");
  await storage.close();
});

test("request bodies beyond their share of the budget are refused at once with 429", async () => {
  const { storage, app } = await setup();
  const share = storage.plan.bodiesBytes;
  assert.ok(storage.memory.reserveBody(share - 1000), "one body always fits");
  const body = JSON.stringify(samples(50, 0));
  const res = await app.request("/api/v1/ingest", {
    method: "POST",
    body,
    headers: { ...json, "content-length": String(body.length) },
  });
  assert.equal(res.status, 429);
  assert.match((await res.json()).error.message, /Request bodies in flight .* server\.memory_limit/);
  storage.memory.releaseBody(share - 1000);
  assert.equal(storage.memory.inflightBodies, 0, "the refused request reserved nothing");
  await storage.close();
});

test("a body that trickles past its deadline (30 s on the storage's clock) is answered 408", async () => {
  const { storage, app, clock } = await setup();
  const stalled = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("[{"));
    },
  });
  const timers = clock.pendingTimers;
  let answered = false;
  const res = Promise.resolve(app.request("/api/v1/ingest", { method: "POST", body: stalled, headers: json })).finally(
    () => {
      answered = true;
    },
  );
  for (let i = 0; i < 100 && clock.pendingTimers === timers; i++) await new Promise((r) => setTimeout(r, 1));
  assert.equal(clock.pendingTimers, timers + 1, "the deadline is armed on the storage's clock");
  clock.advance(29_999);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(answered, false, "still waiting 1 ms before the deadline");
  clock.advance(1);
  const answer = await res;
  assert.equal(answer.status, 408);
  assert.equal((await answer.json()).error.code, "body_timeout");
  assert.equal(answer.headers.get("connection"), "close");
  await storage.close();
});

test("readBody's deadline: a trickling body fails with 408 when its clock passes it", async () => {
  const clock = new FakeClock(0);
  const stalled = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("[{"));
    },
  });
  const req = new Request("http://x/api/v1/ingest", { method: "POST", body: stalled, duplex: "half" } as RequestInit);
  const reading = readBody(req, 1 << 20, 50, clock);
  clock.advance(50);
  await assert.rejects(reading, (err: unknown) => {
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 408);
    assert.equal(err.code, "body_timeout");
    return true;
  });
});

test("/metrics and /api/v1/status show process figures and memory against the budget", async () => {
  const { storage, app, post } = await setup();
  await post(samples(10, 0));
  const text = await (await app.request("/metrics")).text();
  for (
    const name of [
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      "process_open_fds",
      "stalker_memory_limit_bytes 268435456",
      'stalker_memory_share_bytes{consumer="head"}',
      'stalker_memory_used_bytes{consumer="raw_ring"}',
      "stalker_memory_usage_ratio",
      "stalker_series_limit",
    ]
  ) assert.ok(text.includes(name), `missing ${name}`);
  const status = await (await app.request("/api/v1/status")).json();
  assert.equal(status.memory.limit_bytes, 256 * MiB);
  assert.ok(status.memory.resident_bytes > 0 && status.memory.resident_peak_bytes >= status.memory.resident_bytes);
  assert.deepEqual(Object.keys(status.memory.shares).sort(), [
    "flush",
    "head",
    "query_cache",
    "raw_ring",
    "request_bodies",
    "runtime",
    "sql",
    "unflushed_raw",
  ]);
  assert.ok(status.memory.used.head > 0);
  assert.equal(typeof status.memory.used.query_cache, "number");
  assert.equal(status.memory.used.flush, 0, "inline encoding: no worker thread of its own");
  assert.ok(status.process.open_fds > 0);
  await storage.close();
});

function toSample(s: { namespace: string; target: string; poller: string; timestamp_ms: number; value: number }) {
  return gauge(s.namespace, s.target, s.poller, s.timestamp_ms, s.value);
}
