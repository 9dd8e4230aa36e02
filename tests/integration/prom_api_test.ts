/**
 * The Prometheus HTTP API over a storage on the memory file system, with answers computed by hand from
 * Prometheus's rules (lookback, windows, extrapolatedRate, counter resets), and every call Grafana's
 * data source makes: buildinfo, `1+1` (its health check), labels, label values, series, metadata,
 * query_range, query — GET and POST.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { createApp } from "../../src/http/app.ts";
import { silentLogger } from "../../src/platform/log.ts";
import { memStorage } from "../helpers.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const MIN = 60_000;
/** Samples every minute for two hours, ending 10 minutes before NOW. */
const FIRST = NOW - 130 * MIN;
const POINTS = 121;

async function setup(token = "") {
  const env = await memStorage("", NOW);
  const app = createApp({
    storage: env.storage,
    metrics: env.metrics,
    log: silentLogger,
    clock: env.clock,
    authToken: token,
  });
  const samples: unknown[] = [];
  for (let i = 0; i < POINTS; i++) {
    const ts = FIRST + i * MIN;
    for (const target of ["r1", "r2"]) {
      const k = target === "r1" ? 1 : 2;
      samples.push({ namespace: "prod", target, poller: "cpu.load", timestamp_ms: ts, value: k * 10 + (i % 10) });
      // 100 B/s on r1 and 200 B/s on r2; r2's counter resets to 0 at point 60
      const counter = target === "r2" && i >= 60 ? (i - 60) * 6000 * k : 1_000_000 + i * 6000 * k;
      samples.push({
        namespace: "prod",
        target,
        poller: "ifHCInOctets.Gi0/1",
        timestamp_ms: ts,
        value_counter: counter,
      });
    }
    samples.push({ namespace: "lab", target: "x1", poller: 'temp{sensor="inlet"}', timestamp_ms: ts, value: 20 + i });
  }
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await app.request("/api/v1/ingest", { method: "POST", body: JSON.stringify({ samples }), headers });
  assert.equal(res.status, 200, await res.text());
  const get = async (path: string, params: Record<string, string | string[]> = {}, h: Record<string, string> = {}) => {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.append(k, x);
    const r = await app.request(`/prometheus${path}?${u}`, { headers: { ...(token ? headers : {}), ...h } });
    return { status: r.status, body: await r.json(), headers: r.headers };
  };
  const post = async (path: string, params: Record<string, string>) => {
    const r = await app.request(`/prometheus${path}`, {
      method: "POST",
      body: new URLSearchParams(params).toString(),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        ...(token ? { authorization: headers.authorization } : {}),
      },
    });
    return { status: r.status, body: await r.json(), headers: r.headers };
  };
  return { ...env, app, get, post };
}

const sec = (ms: number) => ms / 1000;

test("Grafana's connection calls: buildinfo and the 1+1 health check", async () => {
  const { get, post } = await setup();
  const info = await get("/api/v1/status/buildinfo");
  assert.equal(info.status, 200);
  assert.equal(info.body.status, "success");
  assert.equal(info.body.data.version, "2.53.0");
  assert.equal(info.body.data.application, undefined); // Grafana would take it for Mimir or Cortex
  const health = await post("/api/v1/query", { query: "1+1", time: String(sec(NOW)) });
  assert.deepEqual(health.body, { status: "success", data: { resultType: "scalar", result: [sec(NOW), "2"] } });
});

test("labels, label values, series and metadata follow the label mapping", async () => {
  const { get } = await setup();
  const labels = await get("/api/v1/labels", { start: String(sec(NOW - 3_600_000)), end: String(sec(NOW)) });
  assert.deepEqual(labels.body.data, ["__name__", "namespace", "poller", "sensor", "target"]);
  const names = await get("/api/v1/label/__name__/values");
  assert.deepEqual(names.body.data, ["cpu_load", "ifHCInOctets_Gi0_1", "temp"]);
  const targets = await get("/api/v1/label/target/values", { "match[]": 'cpu_load{namespace="prod"}' });
  assert.deepEqual(targets.body.data, ["r1", "r2"]);
  const series = await get("/api/v1/series", { "match[]": ["ifHCInOctets_Gi0_1", "temp"] });
  assert.deepEqual(series.body.data, [
    { __name__: "ifHCInOctets_Gi0_1", namespace: "prod", poller: "ifHCInOctets.Gi0/1", target: "r1" },
    { __name__: "ifHCInOctets_Gi0_1", namespace: "prod", poller: "ifHCInOctets.Gi0/1", target: "r2" },
    { __name__: "temp", namespace: "lab", sensor: "inlet", target: "x1" },
  ]);
  const limited = await get("/api/v1/series", { "match[]": '{namespace="prod"}', limit: "1" });
  assert.equal(limited.body.data.length, 1);
  assert.deepEqual(limited.body.warnings, ["results truncated due to limit"]);
  const none = await get("/api/v1/series");
  assert.equal(none.status, 400);
  assert.deepEqual(none.body, { status: "error", errorType: "bad_data", error: "no match[] parameter provided" });
  const meta = await get("/api/v1/metadata");
  assert.equal(meta.body.data.ifHCInOctets_Gi0_1[0].type, "counter");
  assert.equal(meta.body.data.cpu_load[0].type, "gauge");
});

test("instant selector: the newest sample within the 5-minute lookback", async () => {
  const { get } = await setup();
  // point 100 is at FIRST + 100 min; 30 s later the lookback still finds it
  const t = FIRST + 100 * MIN + 30_000;
  const r = await get("/api/v1/query", { query: 'cpu_load{target="r1"}', time: String(sec(t)) });
  assert.deepEqual(r.body.data.result, [{
    metric: { __name__: "cpu_load", namespace: "prod", poller: "cpu.load", target: "r1" },
    value: [sec(t), "10"],
  }]);
  // the last sample is at NOW - 10 min: nothing 5 minutes later
  const gone = await get("/api/v1/query", { query: "cpu_load", time: String(sec(NOW - 4 * MIN)) });
  assert.deepEqual(gone.body.data.result, []);
  assert.equal(gone.headers.get("x-stalker-tier"), "raw");
});

test("query_range: step alignment, rate with extrapolation and a counter reset, sum by, topk", async () => {
  const { get, post } = await setup();
  const start = FIRST + 30 * MIN + 30_000, end = start + 10 * MIN;
  const r = await post("/api/v1/query_range", {
    query: 'rate(ifHCInOctets_Gi0_1{namespace="prod"}[5m])',
    start: String(sec(start)),
    end: String(sec(end)),
    step: "60",
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.data.resultType, "matrix");
  const [r1, r2] = r.body.data.result;
  assert.deepEqual(r1.metric, { namespace: "prod", poller: "ifHCInOctets.Gi0/1", target: "r1" });
  assert.equal(r1.values.length, 11);
  // a linear counter: 5 samples over 4 minutes, extrapolated to the 5-minute window, exactly 100/s
  for (const [t, v] of r1.values) assert.ok(Math.abs(Number(v) - 100) < 1e-9, `${t} ${v}`);
  assert.deepEqual(r1.values.map(([t]: [number]) => t), Array.from({ length: 11 }, (_, i) => sec(start + i * MIN)));
  for (const [, v] of r2.values) assert.ok(Math.abs(Number(v) - 200) < 1e-9, v);

  // across r2's reset (point 60 restarts at 0): the value before the reset is added back
  const t = FIRST + 62 * MIN + 30_000; // window (57.5, 62.5] holds points 58..62
  const reset = await get("/api/v1/query", {
    query: 'increase(ifHCInOctets_Gi0_1{target="r2"}[5m])',
    time: String(sec(t)),
  });
  const v58 = 1_000_000 + 58 * 12000, v59 = 1_000_000 + 59 * 12000, v62 = 2 * 12000;
  const raw = v62 - v58 + v59; // Prometheus: last - first + the value before each reset
  // 4 intervals sampled; 30 s to each edge (< 1.1 intervals): extrapolated to 300 s; the zero point
  // of the counter is further away than 30 s
  const expected = raw * (300 / 240);
  assert.ok(Math.abs(Number(reset.body.data.result[0].value[1]) - expected) < 1e-6, JSON.stringify(reset.body));

  const sum = await get("/api/v1/query_range", {
    query: "sum by (target) (avg_over_time(cpu_load[10m]))",
    start: String(sec(start)),
    end: String(sec(start)),
    step: "1m",
  });
  // points 21..30 (window (20.5, 30.5]) hold i % 10 = 1..9,0: mean 4.5
  assert.deepEqual(sum.body.data.result, [
    { metric: { target: "r1" }, values: [[sec(start), "14.5"]] },
    { metric: { target: "r2" }, values: [[sec(start), "24.5"]] },
  ]);
  const top = await get("/api/v1/query", { query: "topk(1, cpu_load)", time: String(sec(start)) });
  assert.deepEqual(top.body.data.result.map((s: { metric: { target: string } }) => s.metric.target), ["r2"]);
  // a comparison without bool filters and keeps the metric name
  const cmp = await get("/api/v1/query", { query: "cpu_load >= 20", time: String(sec(start)) });
  assert.deepEqual(cmp.body.data.result, [{
    metric: { __name__: "cpu_load", namespace: "prod", poller: "cpu.load", target: "r2" },
    value: [sec(start), "20"],
  }]);
  const bool = await get("/api/v1/query", { query: "cpu_load > bool 15", time: String(sec(start)) });
  assert.deepEqual(bool.body.data.result.map((s: { value: [number, string] }) => s.value[1]), ["0", "1"]);
  const arith = await get("/api/v1/query", { query: "cpu_load * 2 + 1", time: String(sec(start)) });
  assert.deepEqual(arith.body.data.result.map((s: { value: [number, string] }) => s.value[1]), ["21", "41"]);
  const q = await get("/api/v1/query", { query: "quantile(0.5, cpu_load)", time: String(sec(start)) });
  assert.equal(q.body.data.result[0].value[1], "15");
  const off = await get("/api/v1/query", { query: 'cpu_load{target="r1"} offset 5m', time: String(sec(start)) });
  assert.equal(off.body.data.result[0].value[1], "15"); // point 25: 10 + 5
});

test("a 5-minute step reads the 5-minute tier: count, sum, min and max exactly", async () => {
  const { get } = await setup();
  const start = FIRST + 30 * MIN, end = FIRST + 120 * MIN;
  const r = await get("/api/v1/query_range", {
    query: "max_over_time(temp[5m])",
    start: String(sec(start)),
    end: String(sec(end)),
    step: "300",
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.headers.get("x-stalker-tier"), "5min");
  // bucket [t-5m, t) holds points up to t-1m: 20 + i with i = (t - FIRST)/MIN - 1
  const values = r.body.data.result[0].values;
  assert.equal(values.length, 19);
  for (const [t, v] of values) assert.equal(Number(v), 20 + (t * 1000 - FIRST) / MIN - 1);
  const rate = await get("/api/v1/query_range", {
    query: 'rate(ifHCInOctets_Gi0_1{target="r1"}[5m])',
    start: String(sec(start)),
    end: String(sec(end)),
    step: "300",
  });
  assert.equal(rate.headers.get("x-stalker-tier"), "5min");
  // a plain selector of a counter at a 5-minute step: the tier keeps rates, so its raw values are read
  const counter = await get("/api/v1/query_range", {
    query: 'ifHCInOctets_Gi0_1{target="r1"}',
    start: String(sec(start)),
    end: String(sec(end)),
    step: "300",
  });
  assert.equal(counter.headers.get("x-stalker-tier"), "raw,5min");
  assert.equal(counter.body.warnings, undefined);
  for (const [t, v] of counter.body.data.result[0].values) {
    assert.equal(Number(v), 1_000_000 + 6000 * ((t * 1000 - FIRST) / MIN)); // the sample at t itself
  }
  for (const [, v] of rate.body.data.result[0].values) assert.ok(Math.abs(Number(v) - 100) < 1e-9, v);
});

test("errors: Prometheus's envelope, error types and status codes", async () => {
  const { get, post } = await setup();
  const bad = await get("/api/v1/query", { query: "rate(cpu_load[5m]" });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.status, "error");
  assert.equal(bad.body.errorType, "bad_data");
  assert.match(bad.body.error, /parse error/);
  const fn = await get("/api/v1/query", { query: "histogram_quantile(0.9, cpu_load)" });
  assert.equal(fn.status, 400);
  assert.match(fn.body.error, /histogram_quantile\(\) is not supported/);
  const vv = await get("/api/v1/query", { query: "cpu_load / cpu_load" });
  assert.match(vv.body.error, /binary operation between two vectors is not supported/);
  const sub = await get("/api/v1/query", { query: "max_over_time(cpu_load[1h:5m])" });
  assert.match(sub.body.error, /subquery is not supported/);
  const step = await get("/api/v1/query_range", { query: "cpu_load", start: "1", end: "2", step: "0" });
  assert.equal(step.status, 400);
  assert.match(step.body.error, /zero or negative query resolution step/);
  const time = await get("/api/v1/query", { query: "cpu_load", time: "yesterday" });
  assert.match(time.body.error, /invalid parameter "time"/);
  const missing = await post("/api/v1/query_range", { query: "cpu_load" });
  assert.equal(missing.status, 400);
  assert.match(missing.body.error, /invalid parameter "start"/);
  const many = await get("/api/v1/query_range", { query: "cpu_load", start: "0", end: "100000", step: "1" });
  assert.match(many.body.error, /exceeded maximum resolution of 11000 points per timeseries/);
  const empty = await get("/api/v1/query", { query: "{}" });
  assert.equal(empty.status, 400);
  const regex = await get("/api/v1/query", { query: 'cpu_load{target=~"r(?=1)"}' });
  assert.match(regex.body.error, /not RE2/);
});

test("regex matchers are anchored; != and !~ exclude", async () => {
  const { get } = await setup();
  const t = String(sec(FIRST + 50 * MIN));
  const targets = async (sel: string) =>
    (await get("/api/v1/query", { query: sel, time: t })).body.data.result.map((s: { metric: { target: string } }) =>
      s.metric.target
    ).sort();
  assert.deepEqual(await targets('cpu_load{target=~"r"}'), []);
  assert.deepEqual(await targets('cpu_load{target=~"r.*"}'), ["r1", "r2"]);
  assert.deepEqual(await targets('cpu_load{target!~"r1|x"}'), ["r2"]);
  assert.deepEqual(await targets('cpu_load{target!="r2"}'), ["r1"]);
  assert.deepEqual(await targets('{__name__=~"cpu_.*",target="r2"}'), ["r2"]);
});

test("the /api/ token protects /prometheus too, answered in Prometheus's envelope", async () => {
  const { app, get } = await setup("s3cret");
  const denied = await app.request("/prometheus/api/v1/query?query=1");
  assert.equal(denied.status, 401);
  const body = await denied.json();
  assert.equal(body.status, "error");
  assert.equal(body.errorType, "unauthorized");
  const ok = await get("/api/v1/query", { query: "1" });
  assert.equal(ok.status, 200);
});

test("a query past query.timeout (or a smaller timeout parameter) is a 503 timeout", async () => {
  const { get, storage, clock } = await setup();
  const query = storage.query.bind(storage);
  // every read takes 40 s of the fake clock
  const signals: (AbortSignal | undefined)[] = [];
  storage.query = (req) => {
    signals.push(req.signal);
    clock.advance(40_000);
    return query(req);
  };
  const slow = await get("/api/v1/query", { query: "cpu_load", time: String(sec(FIRST + 60 * MIN)) });
  assert.equal(slow.status, 503);
  assert.equal(slow.body.errorType, "timeout");
  // the reads were given the query's signal, aborted at the deadline (they stop at their next file)
  assert.ok(signals.length > 0 && signals.every((s) => s?.aborted), "reads cancelled");
  const asked = await get("/api/v1/query", { query: "sum(cpu_load)", time: String(sec(FIRST)), timeout: "10s" });
  assert.equal(asked.status, 503);
  storage.query = query;
  const fine = await get("/api/v1/query", { query: "sum(cpu_load)", time: String(sec(FIRST)), timeout: "10s" });
  assert.equal(fine.status, 200);
});

test("raw samples split over flushed files and memory answer as when all are in memory, refreshed from the cache", async () => {
  // 20 targets (a namespace read, above 16 targets) and one target alone (a target read); counters with a
  // reset and gauges; the samples reach storage in three parts: two flushed files, then memory
  const samplesOf = (from: number, to: number) => {
    const out: unknown[] = [];
    for (let i = from; i < to; i++) {
      const ts = FIRST + i * MIN;
      for (let d = 0; d < 20; d++) {
        const target = `sw${String(d).padStart(2, "0")}`;
        const counter = d === 3 && i >= 50 ? (i - 50) * 900 : 5_000 + i * (600 + 60 * d);
        out.push({ namespace: "big", target, poller: "ifHCInOctets.Gi0/1", timestamp_ms: ts, value_counter: counter });
        out.push({ namespace: "big", target, poller: "cpu.load", timestamp_ms: ts, value: (i * 7 + d) % 13 });
      }
      out.push({ namespace: "one", target: "r9", poller: "cpu.load", timestamp_ms: ts, value: i % 5 });
    }
    return out;
  };
  const split = await setup();
  const whole = await setup();
  const ingest = async (env: typeof split, samples: unknown[]) => {
    const res = await env.app.request("/api/v1/ingest", {
      method: "POST",
      body: JSON.stringify({ samples }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 200, await res.text());
  };
  // cut inside 5-minute buckets: those buckets are split between the files and memory
  await ingest(split, samplesOf(0, 42));
  assert.ok(await split.storage.flushNow());
  await ingest(split, samplesOf(42, 83));
  assert.ok(await split.storage.flushNow());
  await ingest(split, samplesOf(83, POINTS));
  await ingest(whole, samplesOf(0, POINTS));
  const queries = [
    'topk(3, rate({namespace="big",__name__=~"ifHCInOctets_.*"}[5m]))',
    'sum(rate({namespace="big",__name__="ifHCInOctets_Gi0_1"}[5m]))',
    'max_over_time({namespace="big",__name__="cpu_load"}[3m])',
    'avg_over_time(cpu_load{namespace="one"}[4m])',
  ];
  // windows within one file, across the files, across a file and memory; each asked twice (the second
  // from the query cache)
  const steps: [number, number, string][] = [[5, 35, "60"], [30, 75, "60"], [70, 115, "60"], [0, 120, "60"], [
    30,
    75,
    "60",
  ]];
  // a 5-minute step reads the 5-minute tier: buckets split between the files and memory merge exactly
  steps.push([10, 120, "300"], [10, 120, "300"]);
  for (const [a, b, step] of steps) {
    for (const query of queries) {
      const params = { query, start: String(sec(FIRST + a * MIN)), end: String(sec(FIRST + b * MIN)), step };
      const want = await whole.get("/api/v1/query_range", params);
      assert.equal(want.status, 200, JSON.stringify(want.body));
      assert.ok(want.body.data.result.length > 0, query);
      for (let k = 0; k < 2; k++) {
        const got = await split.get("/api/v1/query_range", params);
        assert.deepEqual(got.body, want.body, `${query} over [${a}, ${b}]`);
      }
    }
  }
});

test("a selector's series are kept between queries only while the series stay the same", async () => {
  const { app, get } = await setup();
  const t = String(sec(FIRST + 120 * MIN));
  const count = async () =>
    (await get("/api/v1/query", { query: 'count(cpu_load{namespace="prod"})', time: t }))
      .body.data.result[0].value[1];
  assert.equal(await count(), "2");
  assert.equal(await count(), "2");
  const res = await app.request("/api/v1/ingest", {
    method: "POST",
    body: JSON.stringify({
      samples: [{ namespace: "prod", target: "r3", poller: "cpu.load", timestamp_ms: FIRST + 120 * MIN, value: 1 }],
    }),
    headers: { "content-type": "application/json" },
  });
  assert.equal(res.status, 200, await res.text());
  assert.equal(await count(), "3");
});
