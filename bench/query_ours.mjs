#!/usr/bin/env node
// Query latency harness for stalker-storage, the sibling of the peers' query_bench.mjs (same rules,
// same client: node:http, one keep-alive connection, one request in flight; latency = request sent
// -> last response byte, performance.now()). Every answer is checked (status 200 and the expected
// tier / point count / last value / row count) BEFORE it counts, so an error or an empty answer is
// never timed as a success: the first failed check aborts the scenario and reports the error.
//
// Usage: node query_ours.mjs --spec SPEC.json
// SPEC: { base, reps, warmup, timeout_ms, deadline_s,
//         scenarios: [{ name, method, path, body?, content_type?, check, reps?, warmup? }],
//         rotate:    [{ name, requests: [{ method, path, check }] }] }   (one request each, not warmed)
// check: { type: "points",  tier, points, first_t?, last_t? }     GET /api/v1/query (aggregates)
//        { type: "samples", samples, last_t?, last_value? }       GET /api/v1/query?tier=raw
//        { type: "last",    ts, value }                            GET /api/v1/series
//        { type: "sql",     rows, sum_column?, sum? }              POST /api/v1/sql
//        { type: "promql",  min_series, min_points? }              GET …/api/v1/query_range (a matrix)
// Output: one JSON object { scenarios: { name: { n, p50_ms, p99_ms, mean_ms, min_ms, max_ms,
//         first_ms, points, response_bytes, ok } | { ok: false, error } } }.

import fs from "node:fs";
import http from "node:http";
import { performance } from "node:perf_hooks";

const argv = process.argv.slice(2);
if (argv[0] !== "--spec" || !argv[1]) throw new Error("usage: node query_ours.mjs --spec SPEC.json");
const spec = JSON.parse(fs.readFileSync(argv[1], "utf8"));
const base = new URL(spec.base);
if (!["127.0.0.1", "localhost", "[::1]"].includes(base.hostname)) throw new Error("refusing non-loopback target");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const deadline = Date.now() + Number(spec.deadline_s ?? 600) * 1000;
const timeoutMs = Number(spec.timeout_ms ?? 60000);

function request(r) {
  return new Promise((resolve, reject) => {
    if (Date.now() > deadline) return reject(new Error("deadline exceeded"));
    const body = r.body === undefined ? null : Buffer.from(r.body);
    const headers = body ? { "Content-Type": r.content_type ?? "application/json", "Content-Length": body.length } : {};
    const t0 = performance.now();
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        path: r.path,
        method: r.method ?? "GET",
        agent,
        timeout: timeoutMs,
        headers,
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on(
          "end",
          () =>
            resolve({
              ms: performance.now() - t0,
              status: res.statusCode,
              body: Buffer.concat(chunks).toString("utf8"),
            }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}

const same = (a, b) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

function check(c, text) {
  const j = JSON.parse(text);
  switch (c.type) {
    case "points": {
      if (j.tier !== c.tier) throw new Error(`tier ${j.tier}, expected ${c.tier}`);
      if (j.partial) throw new Error(`partial answer: ${j.warnings}`);
      if (j.series.length !== 1) throw new Error(`${j.series.length} series, expected 1`);
      const p = j.series[0].points;
      if (p.length !== c.points) throw new Error(`${p.length} points, expected ${c.points}`);
      if (c.first_t !== undefined && p[0].t !== c.first_t) {
        throw new Error(`first point at ${p[0].t}, expected ${c.first_t}`);
      }
      if (c.last_t !== undefined && p[p.length - 1].t !== c.last_t) {
        throw new Error(`last point at ${p[p.length - 1].t}`);
      }
      if (p.some((x) => !(x.count > 0))) throw new Error("a point without values");
      return p.length;
    }
    case "samples": {
      if (j.tier !== "raw") throw new Error(`tier ${j.tier}, expected raw`);
      if (j.partial) throw new Error(`partial answer: ${j.warnings}`);
      if (j.series.length !== 1) throw new Error(`${j.series.length} series, expected 1`);
      const s = j.series[0].samples;
      if (s.length !== c.samples) throw new Error(`${s.length} samples, expected ${c.samples}`);
      const last = s[s.length - 1];
      const v = last.value ?? Number(last.value_counter);
      if (c.last_t !== undefined && (last.t !== c.last_t || !same(v, c.last_value))) {
        throw new Error(`last sample ${last.t}=${v}, expected ${c.last_t}=${c.last_value}`);
      }
      return s.length;
    }
    case "last": {
      if (j.series.length !== 1) throw new Error(`${j.series.length} series, expected 1`);
      const s = j.series[0];
      const v = s.value ?? Number(s.value_counter);
      if (s.last_timestamp_ms !== c.ts || !same(v, c.value)) {
        throw new Error(`last value ${s.last_timestamp_ms}=${v}, expected ${c.ts}=${c.value}`);
      }
      return 1;
    }
    case "sql": {
      if (j.truncated) throw new Error("truncated answer");
      if (j.rows.length !== c.rows) throw new Error(`${j.rows.length} rows, expected ${c.rows}`);
      if (c.sum_column !== undefined) {
        const k = j.columns.findIndex((col) => (col.name ?? col) === c.sum_column);
        const total = j.rows.reduce((a, r) => a + Number(Array.isArray(r) ? r[k] : r[c.sum_column]), 0);
        if (total !== c.sum) throw new Error(`sum of ${c.sum_column} is ${total}, expected ${c.sum}`);
      }
      return j.rows.length;
    }
    case "promql": {
      // a Prometheus API answer (ours under /prometheus, or VictoriaMetrics'): a matrix of at least
      // `min_series` series, each with at least `min_points` points
      if (j.status !== "success") throw new Error(`status ${j.status}: ${j.error}`);
      if (j.data.resultType !== "matrix") throw new Error(`resultType ${j.data.resultType}, expected matrix`);
      const r = j.data.result;
      if (r.length < c.min_series) throw new Error(`${r.length} series, expected at least ${c.min_series}`);
      const short = r.find((s) => s.values.length < (c.min_points ?? 1));
      if (short) throw new Error(`a series with ${short.values.length} points, expected at least ${c.min_points}`);
      return r.reduce((a, s) => a + s.values.length, 0);
    }
    default:
      throw new Error(`unknown check ${c.type}`);
  }
}

async function timed(r) {
  const res = await request(r);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  const points = check(r.check, res.body);
  return { ms: res.ms, points, bytes: Buffer.byteLength(res.body) };
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const pct = (p) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
  const r3 = (x) => Math.round(x * 1000) / 1000;
  return {
    n: s.length,
    p50_ms: r3(pct(50)),
    p99_ms: r3(pct(99)),
    mean_ms: r3(s.reduce((a, b) => a + b, 0) / s.length),
    min_ms: r3(s[0]),
    max_ms: r3(s[s.length - 1]),
  };
}

async function main() {
  const out = { reps: spec.reps, warmup: spec.warmup, scenarios: {} };
  for (const sc of spec.scenarios ?? []) {
    try {
      const first = await timed(sc);
      const warmup = sc.warmup ?? spec.warmup, reps = sc.reps ?? spec.reps;
      for (let k = 1; k < warmup; k++) await timed(sc);
      const lat = [];
      let last;
      for (let k = 0; k < reps && Date.now() < deadline; k++) {
        last = await timed(sc);
        lat.push(last.ms);
      }
      out.scenarios[sc.name] = {
        ...stats(lat),
        first_ms: Math.round(first.ms * 1000) / 1000,
        points: last.points,
        response_bytes: last.bytes,
        ok: true,
        deadline_hit: lat.length < reps,
      };
    } catch (e) {
      out.scenarios[sc.name] = { ok: false, error: String(e.message || e) };
    }
  }
  for (const rot of spec.rotate ?? []) {
    try {
      const lat = [];
      for (const r of rot.requests) lat.push((await timed(r)).ms);
      out.scenarios[rot.name] = { ...stats(lat), distinct_series: rot.requests.length, ok: true };
    } catch (e) {
      out.scenarios[rot.name] = { ok: false, error: String(e.message || e) };
    }
  }
  agent.destroy();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(`query_ours: ${e.message}`);
  process.exit(1);
});
