import test from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { WriteRequestSchema } from "../../src/gen/prometheus_remote_pb.ts";
import { memApp } from "../app_helper.ts";
import { snappyLiterals } from "../snappy_helper.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const TOKEN = "rw-token";

const setup = (authToken = "", yaml = "") => memApp(authToken, yaml, NOW);

function body(n: number, t: number, name = "ifHCInOctets"): Uint8Array<ArrayBuffer> {
  return snappyLiterals(toBinary(
    WriteRequestSchema,
    create(WriteRequestSchema, {
      timeseries: Array.from({ length: n }, (_, i) => ({
        labels: [
          { name: "__name__", value: name },
          { name: "ifIndex", value: String(i) },
          { name: "instance", value: "sw1" },
          { name: "job", value: "snmp" },
        ],
        samples: [{ value: 1000 * i, timestamp: BigInt(t) }],
      })),
    }),
  ));
}

const headers = {
  "content-type": "application/x-protobuf",
  "content-encoding": "snappy",
  "x-prometheus-remote-write-version": "0.1.0",
};

test("POST /api/v1/write: 204 after storing, labels in the poller, counters as counters, re-sends are duplicates", async () => {
  const { app, series, storage } = await setup(TOKEN);
  const post = (auth: string) =>
    app.request("/api/v1/write", { method: "POST", body: body(3, NOW), headers: { ...headers, authorization: auth } });
  const res = await post(`Bearer ${TOKEN}`);
  assert.equal(res.status, 204);
  const all = await series();
  assert.deepEqual(
    all.map((
      s: { namespace: string; target: string; poller: string; kind: string },
    ) => [s.namespace, s.target, s.poller, s.kind]),
    [0, 1, 2].map((i) => ["default", "sw1", `ifHCInOctets{ifIndex="${i}",job="snmp"}`, "counter"]),
  );
  // Prometheus's basic_auth: the password is the token
  assert.equal((await post("Basic " + btoa(`prom:${TOKEN}`))).status, 204);
  assert.equal(storage.ingestCounters.duplicates, 3);
  const denied = await post("Basic " + btoa("prom:nope"));
  assert.equal(denied.status, 401);
  assert.equal(await denied.text(), "Wrong token\n");
  await storage.close();
});

test("remote-write refusals: 400 as text naming the series (never retried), 415 for other encodings and 2.0", async () => {
  const { app, series, storage } = await setup();
  const bad = snappyLiterals(toBinary(
    WriteRequestSchema,
    create(WriteRequestSchema, {
      timeseries: [
        { labels: [{ name: "__name__", value: "ok" }], samples: [{ value: 1, timestamp: BigInt(NOW) }] },
        { labels: [{ name: "job", value: "x" }], samples: [{ value: 1, timestamp: BigInt(NOW) }] },
      ],
    }),
  ));
  const res = await app.request("/api/v1/write", { method: "POST", body: bad, headers });
  assert.equal(res.status, 400);
  assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
  assert.equal(await res.text(), 'series 1 (job="x"): the series has no __name__ label\n');
  assert.deepEqual(await series(), [], "a refused request leaves no trace");
  const gz = await app.request("/api/v1/write", {
    method: "POST",
    body: body(1, NOW),
    headers: { ...headers, "content-encoding": "gzip" },
  });
  assert.equal(gz.status, 415);
  const v2 = await app.request("/api/v1/write", {
    method: "POST",
    body: body(1, NOW),
    headers: { ...headers, "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request" },
  });
  assert.equal(v2.status, 415);
  assert.match(await v2.text(), /remote-write 2.0 is not supported/);
  const corrupt = await app.request("/api/v1/write", { method: "POST", body: new Uint8Array([5, 1, 2]), headers });
  assert.equal(corrupt.status, 400);
  await storage.close();
});

test("remote-write backpressure is 503 + Retry-After (senders must retry 5xx; 429 is optional for them)", async () => {
  const { app, storage } = await setup(
    "",
    "ingestion:\n  flush: { max_buffer_size: 1000 }\nbackpressure:\n  max_wait: 0s\n",
  );
  storage.core.head.raw.flushedPos = 0;
  storage.flushNow = () => Promise.resolve(null);
  const post = (n: number, t: number, name: string) =>
    app.request("/api/v1/write", { method: "POST", body: body(n, t, name), headers });
  assert.equal((await post(960, NOW - 1000, "a")).status, 204);
  const res = await post(1, NOW, "b");
  assert.equal(res.status, 503);
  assert.ok(Number(res.headers.get("retry-after")) >= 1);
  assert.match(await res.text(), /backpressure level emergency/);
  await storage.close();
});

test("a body decoding past server.max_body_bytes is 413 before it is decoded", async () => {
  const { app, storage } = await setup("", "server:\n  max_body_bytes: 1024\n");
  const res = await app.request("/api/v1/write", {
    method: "POST",
    body: new Uint8Array([0x80, 0x80, 0x40, 0]),
    headers,
  });
  assert.equal(res.status, 413);
  assert.match(await res.text(), /decodes to 1048576 bytes/);
  await storage.close();
});
