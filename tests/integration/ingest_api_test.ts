import test from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { SampleBatchSchema, SampleSchema } from "../../src/gen/stalker_pb.ts";
import { createApp } from "../../src/http/app.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { memStorage, until } from "../helpers.ts";

const NOW = Date.UTC(2026, 10, 25, 12);

async function setup(yaml = "") {
  const env = await memStorage(yaml, NOW);
  const app = createApp({
    storage: env.storage,
    metrics: env.metrics,
    log: silentLogger,
    clock: env.clock,
    authToken: "",
  });
  const post = (body: BodyInit, headers: Record<string, string>) =>
    app.request("/api/v1/ingest", { method: "POST", body, headers });
  const series = async (q = "") => (await (await app.request(`/api/v1/series${q}`)).json()).series;
  return { ...env, app, post, series };
}

const json = { "content-type": "application/json" };

test("JSON {samples:[...]} is accepted and visible in /api/v1/series", async () => {
  const { post, series, storage } = await setup();
  const res = await post(
    JSON.stringify({
      samples: [
        {
          namespace: "prod",
          target: "r1",
          poller: "cpu.load",
          timestamp_ms: NOW - 60_000,
          value: 45.67,
          valid: true,
          poll_ms: 12,
        },
        {
          namespace: "prod",
          target: "r1",
          poller: "ifHCInOctets.Gi0-1",
          timestamp_ms: NOW - 60_000,
          value_counter: 123456789,
        },
        { namespace: "prod", target: "r1", poller: "sysDescr", timestampMs: NOW - 60_000, valueText: "" },
      ],
    }),
    json,
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { accepted: 3, duplicates: 0, conflicts: 0 });
  const all = await series();
  assert.deepEqual(all.map((s: { poller: string }) => s.poller), ["cpu.load", "ifHCInOctets.Gi0-1", "sysDescr"]);
  assert.equal(all[0].value, 45.67);
  assert.equal(all[0].kind, "gauge");
  assert.equal(all[1].value_counter, 123456789);
  assert.equal(all[2].value_text, "");
  await storage.close();
});

test("a bare JSON array is accepted; a missing timestamp means now", async () => {
  const { post, series, storage } = await setup();
  const res = await post(JSON.stringify([{ namespace: "n", target: "t", poller: "p", value: 1 }]), json);
  assert.equal(res.status, 200);
  assert.equal((await series())[0].last_timestamp_ms, NOW);
  await storage.close();
});

test("counters above 2^53 as decimal strings stay exact", async () => {
  const { post, series, storage } = await setup();
  const res = await post(
    JSON.stringify([{
      namespace: "n",
      target: "t",
      poller: "c",
      timestamp_ms: NOW,
      value_counter: "18446744073709551615",
    }]),
    json,
  );
  assert.equal(res.status, 200);
  assert.equal((await series())[0].value_counter, "18446744073709551615");
  await storage.close();
});

test("NDJSON: one sample per line, blank lines skipped", async () => {
  const { post, series, storage } = await setup();
  const body = [
    JSON.stringify({ namespace: "n", target: "t", poller: "a", timestamp_ms: NOW, value: 1 }),
    "",
    JSON.stringify({ namespace: "n", target: "t", poller: "b", timestamp_ms: NOW, value: 2 }),
    "",
  ].join("\n");
  const res = await post(body, { "content-type": "application/x-ndjson" });
  assert.deepEqual(await res.json(), { accepted: 2, duplicates: 0, conflicts: 0 });
  assert.equal((await series()).length, 2);
  await storage.close();
});

test("protobuf stalker.SampleBatch, gzip-encoded", async () => {
  const { post, series, storage } = await setup();
  const msg = create(SampleBatchSchema, {
    samples: [
      create(SampleSchema, {
        namespace: "n",
        target: "t",
        poller: "octets",
        timestampMs: BigInt(NOW),
        valid: true,
        value: { case: "valueCounter", value: 2n ** 60n },
      }),
      create(SampleSchema, {
        namespace: "n",
        target: "t",
        poller: "down",
        timestampMs: BigInt(NOW),
        valid: false,
        error: "timeout",
      }),
    ],
  });
  const body = new Uint8Array(zlib.gzipSync(toBinary(SampleBatchSchema, msg)));
  const res = await post(body, { "content-type": "application/x-protobuf", "content-encoding": "gzip" });
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { accepted: 2, duplicates: 0, conflicts: 0 });
  const all = await series();
  assert.equal(all.find((s: { poller: string }) => s.poller === "octets").value_counter, (2n ** 60n).toString());
  const down = all.find((s: { poller: string }) => s.poller === "down");
  assert.equal(down.valid, false);
  assert.equal(down.error, "timeout");
  await storage.close();
});

const BAD: [string, unknown, RegExp, number | undefined][] = [
  ["a missing poller", [{ namespace: "n", target: "t", value: 1 }], /sample 0: poller is required/, 0],
  ["an empty target", [{ namespace: "n", target: "", poller: "p", value: 1 }], /target must not be empty/, 0],
  [
    "an over-long namespace",
    [{ namespace: "x".repeat(257), target: "t", poller: "p", value: 1 }],
    /longer than 256/,
    0,
  ],
  ["two values", [{ namespace: "n", target: "t", poller: "p", value: 1, value_counter: 2 }], /more than one value/, 0],
  ["no value on a valid sample", [{ namespace: "n", target: "t", poller: "p" }], /has no value/, 0],
  ["a string gauge", [{ namespace: "n", target: "t", poller: "p", value: "1" }], /gauge value must be a number/, 0],
  ["a negative counter", [{ namespace: "n", target: "t", poller: "p", value_counter: -1 }], /non-negative integer/, 0],
  [
    "a fractional counter",
    [{ namespace: "n", target: "t", poller: "p", value_counter: 1.5 }],
    /non-negative integer/,
    0,
  ],
  [
    "an unsafe counter number",
    [{ namespace: "n", target: "t", poller: "p", value_counter: 2 ** 60 }],
    /decimal string/,
    0,
  ],
  [
    "a counter above 2^64",
    [{ namespace: "n", target: "t", poller: "p", value_counter: "18446744073709551616" }],
    /2\^64 - 1/,
    0,
  ],
  [
    "a timestamp before 1970",
    [{ namespace: "n", target: "t", poller: "p", timestamp_ms: -1, value: 1 }],
    /timestamp_ms -1 is before 2000-01-01T00:00:00Z$/,
    0,
  ],
  [
    "a timestamp in seconds (after a good sample: nothing of the batch is stored)",
    [
      { namespace: "n", target: "t", poller: "p", timestamp_ms: NOW, value: 1 },
      { namespace: "n", target: "t", poller: "q", timestamp_ms: NOW / 1000, value: 1 },
    ],
    /sample 1: timestamp_ms 1795608000 is before 2000-01-01T00:00:00Z; it looks like seconds: send milliseconds/,
    1,
  ],
  [
    "a timestamp in seconds as a decimal string",
    [{ namespace: "n", target: "t", poller: "p", timestamp_ms: String(NOW / 1000), value: 1 }],
    /looks like seconds/,
    0,
  ],
  [
    "a timestamp in milliseconds before 2000",
    [{ namespace: "n", target: "t", poller: "p", timestamp_ms: Date.UTC(1999, 11, 31), value: 1 }],
    /before 2000-01-01T00:00:00Z$/,
    0,
  ],
  [
    "a timestamp in microseconds",
    [{ namespace: "n", target: "t", poller: "p", timestamp_ms: NOW * 1000, value: 1 }],
    /ahead of the server clock; it looks like microseconds: send milliseconds/,
    0,
  ],
  [
    "a timestamp older than every retention (default ingestion.max_sample_age)",
    [{ namespace: "n", target: "t", poller: "p", timestamp_ms: NOW - 87_601 * 3_600_000, value: 1 }],
    /older than ingestion.max_sample_age allows \(oldest accepted now: 2016-11-27T12:00:00.000Z\)$/,
    0,
  ],
  [
    "a timestamp far in the future",
    [{ namespace: "n", target: "t", poller: "p", timestamp_ms: NOW + 86_400_000, value: 1 }],
    /ahead of the server clock/,
    0,
  ],
  [
    "a fractional timestamp",
    [{ namespace: "n", target: "t", poller: "p", timestamp_ms: 1.5, value: 1 }],
    /integer number of milliseconds/,
    0,
  ],
  ["an unknown field", [{ namespace: "n", target: "t", poller: "p", value: 1, vaule: 2 }], /unknown field "vaule"/, 0],
  [
    "a bad second sample",
    [{ namespace: "n", target: "t", poller: "p", value: 1 }, {
      namespace: "n",
      target: "t",
      poller: "p",
      valid: "yes",
      value: 1,
    }],
    /sample 1: valid must be true or false/,
    1,
  ],
  ["a non-object sample", [42], /sample 0: must be a JSON object/, 0],
  ["a wrong envelope", { sample: [] }, /Expected \{"samples": \[\.\.\.\]\}/, undefined],
];
for (const [name, body, message, index] of BAD) {
  test(`400 for ${name}, with the index, and nothing stored`, async () => {
    const { post, series, storage } = await setup();
    const res = await post(JSON.stringify(body), json);
    assert.equal(res.status, 400);
    const err = (await res.json()).error;
    assert.match(err.message, message);
    assert.equal(err.index, index);
    assert.deepEqual(await series(), [], "a rejected batch leaves no trace");
    assert.equal(storage.core.head.raw.end, 0);
    await storage.close();
  });
}

test("ingestion.max_sample_age: older samples are refused, samples within it and backfill of old history are accepted", async () => {
  const { post, series, storage } = await setup("ingestion:\n  max_sample_age: 2h\n");
  const sample = (ts: number) =>
    JSON.stringify([{ namespace: "n", target: "t", poller: "p", timestamp_ms: ts, value: 1 }]);
  const old = await post(sample(NOW - 2 * 3_600_000 - 1), json);
  assert.equal(old.status, 400);
  const err = (await old.json()).error;
  assert.equal(err.index, 0);
  assert.match(
    err.message,
    /older than ingestion.max_sample_age allows \(oldest accepted now: 2026-11-25T10:00:00.000Z\)/,
  );
  assert.deepEqual(await series(), []);
  assert.equal((await post(sample(NOW - 2 * 3_600_000), json)).status, 200);
  await storage.close();

  // the default (the longest retention, weekly: 10 years) accepts history far older than the 5-minute retention
  const dflt = await setup();
  assert.equal((await dflt.post(sample(NOW - 365 * 86_400_000), json)).status, 200);
  await dflt.storage.close();
});

test("protobuf: a timestamp in seconds is refused with the index and the hint", async () => {
  const { post, series, storage } = await setup();
  const sample = (poller: string, ts: bigint) =>
    create(SampleSchema, {
      namespace: "n",
      target: "t",
      poller,
      timestampMs: ts,
      valid: true,
      value: { case: "valueGauge", value: 1 },
    });
  const msg = create(SampleBatchSchema, { samples: [sample("a", BigInt(NOW)), sample("b", BigInt(NOW / 1000))] });
  const res = await post(toBinary(SampleBatchSchema, msg), { "content-type": "application/x-protobuf" });
  assert.equal(res.status, 400);
  const err = (await res.json()).error;
  assert.equal(err.index, 1);
  assert.match(err.message, /sample 1: .*looks like seconds: send milliseconds/);
  assert.deepEqual(await series(), []);
  assert.equal(storage.core.head.raw.end, 0);
  await storage.close();
});

test("400 for malformed JSON, with the parser's message", async () => {
  const { post, storage } = await setup();
  const res = await post('{"samples": [', json);
  assert.equal(res.status, 400);
  const err = (await res.json()).error;
  assert.equal(err.code, "invalid_json");
  await storage.close();
});

test("400 for a malformed protobuf body", async () => {
  const { post, storage } = await setup();
  const res = await post(new Uint8Array([0x0a, 0xff, 0xff, 0xff]), { "content-type": "application/x-protobuf" });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, "invalid_protobuf");
  await storage.close();
});

test("415 for an unknown content type or encoding", async () => {
  const { post, storage } = await setup();
  const res = await post("x", { "content-type": "text/plain" });
  assert.equal(res.status, 415);
  assert.match((await res.json()).error.message, /application\/json, application\/x-ndjson or application\/x-protobuf/);
  const enc = await post("x", { "content-type": "application/json", "content-encoding": "br" });
  assert.equal(enc.status, 415);
  await storage.close();
});

test("413 for a body over server.max_body_bytes, declared or streamed", async () => {
  const { post, storage } = await setup("server:\n  max_body_bytes: 2048\n");
  const big = JSON.stringify([{
    namespace: "n",
    target: "t",
    poller: "p",
    value: 1,
    error: "x".repeat(3000),
    valid: false,
  }]);
  const declared = await post(big, { ...json, "content-length": String(big.length) });
  assert.equal(declared.status, 413);
  const stream = new ReadableStream({
    start(ctrl) {
      for (let i = 0; i < 10; i++) ctrl.enqueue(new TextEncoder().encode("x".repeat(1000)));
      ctrl.close();
    },
  });
  const streamed = await post(stream, json);
  assert.equal(streamed.status, 413);
  assert.equal((await streamed.json()).error.code, "body_too_large");
  await storage.close();
});

test("413 for a gzip bomb: the decoded size counts", async () => {
  const { post, storage } = await setup("server:\n  max_body_bytes: 4096\n");
  const bomb = new Uint8Array(zlib.gzipSync(new Uint8Array(1_000_000)));
  assert.ok(bomb.length < 4096);
  const res = await post(bomb, { ...json, "content-encoding": "gzip" });
  assert.equal(res.status, 413);
  await storage.close();
});

test("400 for a corrupt gzip body", async () => {
  const { post, storage } = await setup();
  const res = await post(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), { ...json, "content-encoding": "gzip" });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, "invalid_gzip");
  await storage.close();
});

test("507 with Retry-After when the disk is full, and ingest resumes when space returns", async () => {
  const { post, storage, fs, clock } = await setup();
  fs.capacityBytes = fs.usedBytes() + 1024; // less than the free-space reserve
  clock.advance(5_000);
  const body = JSON.stringify([{ namespace: "n", target: "t", poller: "p", timestamp_ms: NOW, value: 1 }]);
  const res = await post(body, json);
  assert.equal(res.status, 507);
  assert.ok(Number(res.headers.get("retry-after")) >= 1);
  fs.capacityBytes = Infinity;
  const ok = await post(body, json);
  assert.equal(ok.status, 200);
  await storage.close();
});

const fill = (n: number, t0: number) =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({ namespace: "n", target: "t", poller: `p${i}`, timestamp_ms: t0, value: i })),
  );

test("at backpressure level emergency a request waits backpressure.max_wait for room, then gets 429 with Retry-After", async () => {
  const { post, storage, clock } = await setup("ingestion:\n  flush: { max_buffer_size: 1000 }\n");
  storage.core.head.raw.flushedPos = 0;
  // fill to 96 % without letting a flush drain it
  storage.flushNow = () => Promise.resolve(null);
  assert.equal((await post(fill(960, NOW - 1000), json)).status, 200);
  const answer = post(fill(1, NOW), json);
  await until(() => storage.waiting.length === 1, "the request to wait");
  clock.advance(2_900);
  assert.equal(storage.waiting.length, 1, "still waiting before backpressure.max_wait (3 s)");
  clock.advance(100);
  const res = await answer;
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "1", "no flush is running to wait for");
  assert.match((await res.json()).error.message, /backpressure level emergency/);
  assert.equal(storage.ingestCounters.samples, 960, "the refused request left no trace");
  assert.equal(storage.admission.refused.emergency, 1);
  await storage.close();
});

test("a request waiting for room is let in as soon as a flush drains the buffer: no 429", async () => {
  const { post, storage, clock } = await setup("ingestion:\n  flush: { max_buffer_size: 1000 }\n");
  const flushNow = storage.flushNow.bind(storage);
  storage.flushNow = () => Promise.resolve(null); // no flush by itself
  assert.equal((await post(fill(960, NOW - 1000), json)).status, 200);
  const answers = [post(fill(500, NOW), json), post(fill(10, NOW + 1), json)];
  await until(() => storage.waiting.length === 2, "both requests to wait");
  clock.advance(1_000);
  assert.equal(storage.waiting.length, 2);
  await flushNow("test");
  const [a, b] = await Promise.all(answers);
  assert.deepEqual([a.status, b.status], [200, 200]);
  assert.equal((await a.json()).accepted, 500);
  assert.equal(storage.ingestCounters.samples, 1470);
  assert.deepEqual(storage.waiting.counts, { waited: 2, admitted: 2, timedOut: 0 });
  assert.equal(storage.admission.refused.emergency + storage.admission.refused.critical, 0);
  await storage.close();
});

test("with backpressure.max_wait 0 a request that does not fit is refused at once", async () => {
  const { post, storage } = await setup(
    "ingestion:\n  flush: { max_buffer_size: 1000 }\nbackpressure:\n  max_wait: 0s\n",
  );
  storage.flushNow = () => Promise.resolve(null);
  assert.equal((await post(fill(900, NOW - 1000), json)).status, 200);
  const res = await post(fill(100, NOW), json);
  assert.equal(res.status, 429, "900 + 100 would reach the emergency threshold (95 %)");
  assert.match(
    (await res.json()).error.message,
    /Cannot accept 100 samples now: backpressure level critical \(900 unflushed samples of 1000\)/,
  );
  assert.equal((await post(fill(40, NOW), json)).status, 200, "a request that fits is taken");
  await storage.close();
});

test("shutdown answers a waiting request 503, not 429", async () => {
  const { post, storage } = await setup("ingestion:\n  flush: { max_buffer_size: 1000 }\n");
  storage.flushNow = () => Promise.resolve(null);
  assert.equal((await post(fill(960, NOW - 1000), json)).status, 200);
  const answer = post(fill(1, NOW), json);
  await until(() => storage.waiting.length === 1, "the request to wait");
  await storage.close();
  assert.equal((await answer).status, 503);
});

for (const mode of ["fsync", "async"]) {
  test(`requests reuse their batches' memory: nothing of an earlier request shows in a later one (wal ${mode})`, async () => {
    const { post, storage } = await setup(`ingestion:\n  wal:\n    sync_mode: ${mode}\n`);
    const sample = (poller: string, minute: number, rest: Record<string, unknown>) => ({
      namespace: "prod",
      target: "r1",
      poller,
      timestamp_ms: NOW - 10 * 60_000 + minute * 60_000,
      ...rest,
    });
    // the first request fills every side column: text, error, a counter above 2^53
    const first = [
      sample("a", 0, { value: 1 }),
      sample("b", 0, { value_text: "up" }),
      sample("c", 0, { valid: false, error: "timeout" }),
      sample("d", 0, { value_counter: "18446744073709551615" }),
    ];
    assert.equal((await post(JSON.stringify(first), json)).status, 200);
    // then plain gauges at the same places of the batch: one request after the other (each takes the
    // batch the one before gave back), a refused request in between, then four at once
    const later = (minute: number) =>
      ["a", "b", "c", "d"].map((p, k) => sample(`${p}2`, minute, { value: 10 * minute + k }));
    assert.equal((await post(JSON.stringify(later(1)), json)).status, 200);
    const bad = [sample("e", 0, { value: 1 }), sample("f", 0, { value: "x" })];
    assert.equal((await post(JSON.stringify(bad), json)).status, 400);
    assert.equal((await post(JSON.stringify(first), json)).status, 200);
    assert.equal((await post(JSON.stringify(later(2)), json)).status, 200);
    const answers = await Promise.all([3, 4].map((m) => post(JSON.stringify(later(m)), json)));
    assert.deepEqual(answers.map((r) => r.status), [200, 200]);
    await storage.flushNow();
    const raw = await storage.query({
      filter: { namespace: "prod", target: "r1" },
      fromMs: NOW - 3_600_000,
      toMs: NOW,
      tier: "raw",
      limit: 100,
    });
    const byPoller = Object.fromEntries(raw.series.map((s) => [s.poller, s.samples!]));
    assert.deepEqual(Object.keys(byPoller).sort(), ["a", "a2", "b", "b2", "c", "c2", "d", "d2"]);
    for (const [k, p] of ["a2", "b2", "c2", "d2"].entries()) {
      assert.deepEqual(
        byPoller[p].map((s) => ({ value: s.value, text: s.text, error: s.error, counter: s.counter, valid: s.valid })),
        [1, 2, 3, 4].map((m) => ({
          value: 10 * m + k,
          text: undefined,
          error: undefined,
          counter: undefined,
          valid: true,
        })),
        p,
      );
    }
    assert.equal(byPoller.b[0].text, "up");
    assert.equal(byPoller.c[0].error, "timeout");
    assert.equal(byPoller.d[0].counter, 18446744073709551615n);
    await storage.close();
  });
}
