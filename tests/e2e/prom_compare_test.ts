/**
 * PromQL answers side by side: the same dataset (the bench generator, 200 series × 4 hours at 60 s) is
 * posted to the compiled binary through `/api/v1/ingest` (the generator's `api_batches.jsonl`; then
 * SIGTERM and a restart, so the answers come from the Parquet files the product wrote), imported into
 * VictoriaMetrics (`/api/v1/import`) and backfilled into Prometheus (`promtool tsdb create-blocks-from
 * openmetrics`), both labelled as our API labels the series. A fixed suite of SNMP dashboard queries runs
 * as `query_range` on all of them, and the answers are compared point by point: the same series
 * (labels), the same timestamps, values within
 * |a − b| ≤ 1e-9 + rel·max(|a|, |b|) with rel = 1e-9 unless a query states otherwise.
 *
 * Raw-sample queries (1-minute step, evaluated at :30 so no sample sits on a window's edge, where
 * Prometheus 2 and 3 differ) are compared with Prometheus — the semantics we implement — and with
 * VictoriaMetrics where MetricsQL agrees (its rate/increase/delta/irate/deriv do not extrapolate).
 * Aggregate-tier queries (5-minute step and more) are compared with the query that selects exactly the
 * samples of the buckets: a bucket [t − 5m, t) is Prometheus's window (t − 5m − 1ms, t − 1ms], i.e.
 * `offset 1ms`; a rate from the stored per-interval rates is VictoriaMetrics' `rate(x[d] offset 1m)`;
 * the sketch quantile is within the 1 % DDSketch accuracy of the rank ⌊φ(n − 1)⌋ sample.
 *
 * Then the calls Grafana's data source makes to connect and browse (`1+1`, labels, label values with
 * `match[]`, series, instant queries) must answer exactly what Prometheus answers, lists in any order,
 * and buildinfo must carry Prometheus's fields.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { seriesLabels } from "../../src/prom/labels.ts";
import { ROOT, withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";
import { freePort, waitHttp } from "./clients.ts";

const SERIES = 200;
const POINTS = 240;
const HOUR = 3_600_000;
const MIN = 60_000;

/** Data from 5 h ago (hour-aligned) for 4 h: inside the raw tier's retention. */
const START = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;

type Peer = "prom" | "vm";

interface Case {
  name: string;
  query: string;
  /** "raw": 1-minute step at :30; "5m": 5-minute step; "1h": hourly step. */
  grid: "raw" | "5m" | "1h";
  /** The query each peer answers (default: the same); null: not compared with that peer. */
  prom?: string | null;
  vm?: string | null;
  /** Relative tolerance (default 1e-9). */
  rel?: number;
  /** The tier our answer must come from. */
  tier?: string;
  /** Compare without `__name__` (the peer's query is a function where ours is a selector). */
  ignoreName?: boolean;
}

const IN = '{__name__=~"ifHCInOctets_.*"}';
const OUT = '{__name__=~"ifHCOutOctets_.*"}';
const ERR = '{__name__=~"ifInErrors_.*"}';
const OPER = '{__name__=~"ifOperStatus_.*"}';
const NOT_VM = null;

const CASES: Case[] = [
  // ---- raw samples, 1-minute step
  { name: "CPU per device", query: "cpu_load", grid: "raw" },
  { name: "CPU of one namespace", query: 'cpu_load{namespace="prod"}', grid: "raw" },
  { name: "octet counters of one device", query: `${IN.slice(0, -1)},target="core-router-001"}`, grid: "raw" },
  { name: "interface traffic in", query: `rate(${IN}[5m])`, grid: "raw", vm: NOT_VM },
  { name: "interface traffic out in bit/s", query: `rate(${OUT}[5m]) * 8`, grid: "raw", vm: NOT_VM },
  { name: "irate of traffic", query: `irate(${IN}[5m])`, grid: "raw" },
  { name: "error increase", query: `increase(${ERR}[10m])`, grid: "raw", vm: NOT_VM },
  { name: "traffic per device", query: `sum by (target) (rate(${IN}[5m]))`, grid: "raw", vm: NOT_VM },
  { name: "top 10 busiest interfaces", query: `topk(10, rate(${IN}[5m]))`, grid: "raw", vm: NOT_VM },
  // (ties are broken arbitrarily by every implementation: a mean over 10 minutes has none here)
  { name: "3 least loaded CPUs", query: "bottomk(3, avg_over_time(cpu_load[10m]))", grid: "raw" },
  { name: "CPU smoothed", query: "avg_over_time(cpu_load[15m])", grid: "raw" },
  { name: "temperature peak", query: "max_over_time(temperature[30m])", grid: "raw" },
  { name: "memory low", query: "min_over_time(memory_used_pct[30m])", grid: "raw" },
  { name: "poll time total", query: "sum_over_time(snmp_poll_ms[10m])", grid: "raw" },
  { name: "samples per window", query: "count_over_time(cpu_load[10m])", grid: "raw" },
  { name: "last temperature", query: "last_over_time(temperature[10m])", grid: "raw" },
  { name: "CPU p95 over an hour", query: "quantile_over_time(0.95, cpu_load[1h])", grid: "raw" },
  { name: "CPU p90 across devices", query: "quantile(0.9, cpu_load)", grid: "raw" },
  { name: "CPU per namespace", query: "avg by (namespace) (cpu_load)", grid: "raw" },
  { name: "hottest device per namespace", query: "max by (namespace) (temperature)", grid: "raw" },
  { name: "memory without target", query: "min without (target) (memory_used_pct)", grid: "raw" },
  { name: "interfaces down", query: `count by (namespace) (${OPER} == 0)`, grid: "raw" },
  { name: "interfaces up", query: `sum(${OPER})`, grid: "raw" },
  // 30, not 50: the load is diurnal, and at night no device of the dataset passes 50 (an empty answer)
  { name: "CPU above 30", query: "cpu_load > 30", grid: "raw" },
  { name: "CPU above 50 as 0/1", query: "cpu_load > bool 50", grid: "raw" },
  { name: "temperature change", query: "delta(temperature[15m])", grid: "raw", vm: NOT_VM },
  { name: "memory trend", query: "deriv(memory_used_pct[30m])", grid: "raw", vm: NOT_VM },
  { name: "traffic 10 minutes earlier", query: `rate(${IN}[5m] offset 10m)`, grid: "raw", vm: NOT_VM },
  { name: "CPU half an hour earlier", query: "cpu_load offset 30m", grid: "raw" },
  {
    name: "devices with new errors",
    query: `sum by (target) (increase(${ERR}[30m])) > 0`,
    grid: "raw",
    vm: NOT_VM,
  },
  { name: "CPU idle", query: "100 - cpu_load", grid: "raw" },
  { name: "negated temperature", query: "-temperature", grid: "raw" },
  {
    name: "prod traffic in MB/s",
    query: `sum(rate(${IN.slice(0, -1)},namespace="prod"}[5m])) / 1e6`,
    grid: "raw",
    vm: NOT_VM,
  },
  { name: "mean hourly CPU", query: "avg(avg_over_time(cpu_load[1h]))", grid: "raw" },
  { name: "devices polled", query: "count(cpu_load)", grid: "raw" },
  { name: "top 5 CPU peaks", query: "topk(5, max_over_time(cpu_load[1h]))", grid: "raw" },
  { name: "a scalar", query: "2 ^ 3 + 1", grid: "raw" },
  // ---- aggregate tiers
  {
    name: "octet counters, 5-minute step (raw values: the tier keeps rates)",
    query: `${IN.slice(0, -1)},target="core-router-001"}`,
    grid: "5m",
    tier: "raw,5min",
  },
  {
    name: "CPU, 5-minute step",
    query: "cpu_load",
    grid: "5m",
    tier: "5min",
    prom: "avg_over_time(cpu_load[5m] offset 1ms)",
    vm: null,
    ignoreName: true,
  },
  {
    name: "CPU mean per 5 minutes",
    query: "avg_over_time(cpu_load[5m])",
    grid: "5m",
    tier: "5min",
    prom: "avg_over_time(cpu_load[5m] offset 1ms)",
    vm: "avg_over_time(cpu_load[5m] offset 1ms)",
  },
  {
    name: "temperature peak per hour, 5-minute step",
    query: "max_over_time(temperature[1h])",
    grid: "5m",
    tier: "5min",
    prom: "max_over_time(temperature[1h] offset 1ms)",
    vm: "max_over_time(temperature[1h] offset 1ms)",
  },
  {
    name: "memory low per 30 minutes",
    query: "min_over_time(memory_used_pct[30m])",
    grid: "5m",
    tier: "5min",
    prom: "min_over_time(memory_used_pct[30m] offset 1ms)",
    vm: null,
  },
  {
    name: "poll time sum and count per device",
    query: "sum by (target) (sum_over_time(snmp_poll_ms[15m])) / 1000",
    grid: "5m",
    tier: "5min",
    prom: "sum by (target) (sum_over_time(snmp_poll_ms[15m] offset 1ms)) / 1000",
    vm: null,
  },
  {
    name: "samples per 5 minutes",
    query: "count_over_time(cpu_load[5m])",
    grid: "5m",
    tier: "5min",
    prom: "count_over_time(cpu_load[5m] offset 1ms)",
    vm: null,
  },
  {
    name: "CPU p95 per hour from sketches",
    query: "quantile_over_time(0.95, cpu_load[1h])",
    grid: "5m",
    tier: "5min",
    // 60 samples: the sketch answers the rank ⌊0.95·59⌋ = 56 sample, which Prometheus gives at φ = 56/59
    prom: "quantile_over_time(56/59, cpu_load[1h] offset 1ms)",
    vm: null,
    rel: 0.01,
  },
  {
    name: "interface traffic from stored rates",
    query: `rate(${IN}[5m])`,
    grid: "5m",
    tier: "5min",
    prom: null,
    vm: `rate(${IN}[5m] offset 1m)`,
  },
  {
    name: "traffic per device, hourly step",
    query: `sum by (target) (rate(${IN}[1h]))`,
    grid: "1h",
    tier: "hourly",
    prom: null,
    vm: `sum by (target) (rate(${IN}[1h] offset 1m))`,
  },
  {
    name: "CPU mean per hour",
    query: "avg_over_time(cpu_load[1h])",
    grid: "1h",
    tier: "hourly",
    prom: "avg_over_time(cpu_load[1h] offset 1ms)",
    vm: "avg_over_time(cpu_load[1h] offset 1ms)",
  },
];

/** The query grids (Unix ms). */
const GRIDS = {
  raw: { start: START + 90 * MIN + 30_000, end: START + 150 * MIN + 30_000, step: 60 },
  "5m": { start: START + 70 * MIN, end: START + 235 * MIN, step: 300 },
  "1h": { start: START + 2 * HOUR, end: START + 4 * HOUR, step: 3600 },
};

/** What the test uses of the generator's `makeDataset`. */
interface Dataset {
  openSeries(s: number): {
    meta: { namespace: string; target: string; poller: string };
    next(): { ts: number; value: number };
  };
}

/**
 * The generator's samples for VictoriaMetrics (`/api/v1/import` lines) and Prometheus (OpenMetrics),
 * labelled exactly as our API labels them (`src/prom/labels.ts`: the sanitized name plus the raw
 * `poller` where it is not a metric name), so that series stay apart when functions drop `__name__`.
 */
async function writePeerFiles(dir: string): Promise<void> {
  const gen = await import(path.join(ROOT, "tests/fixtures/gen_dataset.mjs"));
  const ds = gen.makeDataset({ series: SERIES, points: POINTS, intervalS: 60, seed: 42, startMs: START }) as Dataset;
  const vm: string[] = [];
  const om: string[] = [];
  for (let s = 0; s < SERIES; s++) {
    const st = ds.openSeries(s);
    const labels = Object.fromEntries(seriesLabels(st.meta.namespace, st.meta.target, st.meta.poller));
    const { __name__: name, ...rest } = labels;
    const ts: number[] = [], values: number[] = [];
    for (let i = 0; i < POINTS; i++) {
      const p = st.next();
      ts.push(p.ts);
      values.push(p.value);
    }
    vm.push(JSON.stringify({ metric: labels, values, timestamps: ts }));
    const sel = `${name}{${Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
    for (let i = 0; i < POINTS; i++) om.push(`${sel} ${values[i]} ${ts[i] / 1000}`);
  }
  fs.writeFileSync(path.join(dir, "vm_import.jsonl"), vm.join("\n") + "\n");
  fs.writeFileSync(path.join(dir, "openmetrics.txt"), om.join("\n") + "\n# EOF\n");
}

type Matrix = Map<string, Map<number, number>>;

async function queryRange(base: string, query: string, grid: Case["grid"]): Promise<{ m: Matrix; tier: string }> {
  const g = GRIDS[grid];
  const body = new URLSearchParams({
    query,
    start: String(g.start / 1000),
    end: String(g.end / 1000),
    step: String(g.step),
    nocache: "1",
  });
  const res = await fetch(`${base}/api/v1/query_range`, { method: "POST", body });
  const doc = await res.json();
  if (res.status !== 200 || doc.status !== "success") throw new Error(`${base}: ${query}: ${JSON.stringify(doc)}`);
  const m: Matrix = new Map();
  for (const s of doc.data.result as { metric: Record<string, string>; values: [number, string][] }[]) {
    const key = JSON.stringify(Object.entries(s.metric).sort());
    m.set(key, new Map(s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)])));
  }
  return { m, tier: res.headers.get("x-stalker-tier") ?? "" };
}

function withoutName(m: Matrix): Matrix {
  const out: Matrix = new Map();
  for (const [k, v] of m) {
    out.set(JSON.stringify((JSON.parse(k) as [string, string][]).filter(([n]) => n !== "__name__")), v);
  }
  return out;
}

/** Differences between two answers, as readable lines (empty: they agree). */
function diff(ours: Matrix, theirs: Matrix, rel: number): string[] {
  const out: string[] = [];
  for (const k of theirs.keys()) if (!ours.has(k)) out.push(`missing series ${k}`);
  for (const k of ours.keys()) if (!theirs.has(k)) out.push(`extra series ${k}`);
  for (const [k, pts] of ours) {
    const other = theirs.get(k);
    if (!other) continue;
    for (const t of other.keys()) if (!pts.has(t)) out.push(`${k}: missing point at ${t}`);
    for (const [t, v] of pts) {
      if (!other.has(t)) {
        out.push(`${k}: extra point at ${t}`);
        continue;
      }
      const w = other.get(t)!;
      const same = (Number.isNaN(v) && Number.isNaN(w)) || v === w ||
        Math.abs(v - w) <= 1e-9 + rel * Math.max(Math.abs(v), Math.abs(w));
      if (!same) out.push(`${k} at ${t}: ours ${v}, theirs ${w}`);
    }
  }
  return out;
}

/** An API answer with its lists in a fixed order (instant vectors and series lists are unordered). */
function normalized(doc: { status: string; data: unknown }): unknown {
  const data = doc.data as { result?: unknown[] } | unknown[];
  const sortAll = (xs: unknown[]) => [...xs].sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
  if (Array.isArray(data)) return { ...doc, data: sortAll(data) };
  if (Array.isArray(data.result) && typeof data.result[0] === "object") {
    return { ...doc, data: { ...data, result: sortAll(data.result) } };
  }
  return doc;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}): install it (see .ci/run)`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr.slice(-2000)}`);
}

function startPeer(cmd: string, args: string[]): ChildProcess {
  const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  p.stderr!.on("data", () => {});
  return p;
}

async function postLines(url: string, file: string, linesPerPost: number, type: string): Promise<void> {
  const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  for (let i = 0; i < lines.length; i += linesPerPost) {
    const body = lines.slice(i, i + linesPerPost).join("\n") + "\n";
    const res = await fetch(url, { method: "POST", body, headers: { "content-type": type } });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${text}`);
  }
}

test("PromQL suite: our answers match Prometheus and VictoriaMetrics on the same data", async () => {
  assert.ok(CASES.length >= 30);
  await withTempDir(async (dir) => {
    run("node", [
      path.join(ROOT, "tests/fixtures/gen_dataset.mjs"),
      ...["--series", String(SERIES), "--points", String(POINTS), "--start", String(START)],
      ...["--format", "json", "--out", path.join(dir, "data")],
    ]);
    await writePeerFiles(path.join(dir, "data"));
    const data = (f: string) => path.join(dir, "data", f);

    // Prometheus: offline backfill, then serve the blocks
    run("promtool", ["tsdb", "create-blocks-from", "openmetrics", data("openmetrics.txt"), path.join(dir, "prom")]);
    fs.writeFileSync(path.join(dir, "prometheus.yml"), "global:\n  scrape_interval: 60s\nscrape_configs: []\n");
    const promPort = await freePort();
    const prom = startPeer("prometheus", [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "prom")}`,
      "--storage.tsdb.retention.time=10y",
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    const vmPort = await freePort();
    const vm = startPeer("victoria-metrics", [
      `-storageDataPath=${path.join(dir, "vm")}`,
      `-httpListenAddr=127.0.0.1:${vmPort}`,
      "-retentionPeriod=1y",
      "-search.disableCache",
    ]);
    const dataDir = path.join(dir, "ours");
    let ours = await startBinary(["--data-dir", dataDir]);
    try {
      const vmUrl = `http://127.0.0.1:${vmPort}`;
      const promUrl = `http://127.0.0.1:${promPort}`;
      await waitHttp(`${vmUrl}/health`);
      await postLines(`${vmUrl}/api/v1/import`, data("vm_import.jsonl"), 50, "application/json");
      await (await fetch(`${vmUrl}/internal/force_flush`)).body?.cancel();
      await postLines(`${ours.url}/api/v1/ingest`, data("api_batches.jsonl"), 1, "application/json");
      // the answers must come from the files the product wrote: flush on SIGTERM, restart
      assert.equal(await ours.stop("SIGTERM"), 0);
      ours = await startBinary(["--data-dir", dataDir]);
      await waitHttp(`${promUrl}/-/ready`);
      // VictoriaMetrics makes imported rows searchable within a few seconds
      for (let i = 0; i < 100; i++) {
        const { m } = await queryRange(`${vmUrl}`, "count(cpu_load)", "raw");
        if ([...m.values()][0]?.size === 61 && [...[...m.values()][0].values()].every((v) => v === SERIES / 20)) break;
        await new Promise((r) => setTimeout(r, 200));
      }

      const failures: string[] = [];
      for (const c of CASES) {
        const peers = (["prom", "vm"] as Peer[]).filter((p) => c[p] !== null);
        const [mine, ...answers] = await Promise.all([
          queryRange(`${ours.url}/prometheus`, c.query, c.grid),
          ...peers.map((p) => queryRange(p === "prom" ? promUrl : vmUrl, c[p] ?? c.query, c.grid)),
        ]);
        if (c.tier && mine.tier !== c.tier) failures.push(`${c.name}: read tier ${mine.tier}, expected ${c.tier}`);
        if (mine.m.size === 0) failures.push(`${c.name}: our answer is empty`);
        peers.forEach((peer, i) => {
          const theirs = answers[i];
          // VictoriaMetrics keeps or drops __name__ by its own rules: compare without it
          const [a, b] = peer === "vm" || c.ignoreName
            ? [withoutName(mine.m), withoutName(theirs.m)]
            : [mine.m, theirs.m];
          const d = diff(a, b, c.rel ?? 1e-9);
          if (d.length > 0) {
            failures.push(
              `${c.name} (${c.query}) vs ${peer} (${c[peer] ?? c.query}):\n  ${d.slice(0, 5).join("\n  ")}`,
            );
          }
        });
      }

      // the calls Grafana's data source makes to connect and browse labels, answered like Prometheus
      // at :30, off the samples' minute marks (Prometheus 2 closes windows on the left, 3 does not)
      const t = String((START + 3 * HOUR + 30_000) / 1000);
      const range = { start: String(START / 1000), end: String((START + 4 * HOUR) / 1000) };
      const calls: [string, Record<string, string | string[]>][] = [
        ["/api/v1/query", { query: "1+1", time: t }],
        ["/api/v1/labels", range],
        ["/api/v1/labels", { ...range, "match[]": "temperature" }],
        ["/api/v1/label/__name__/values", range],
        ["/api/v1/label/target/values", { ...range, "match[]": 'cpu_load{namespace="prod"}' }],
        ["/api/v1/series", { ...range, "match[]": ["temperature", `${OPER.slice(0, -1)},target="core-router-001"}`] }],
        ["/api/v1/query", { query: 'topk(3, cpu_load{namespace="prod"})', time: t }],
        ["/api/v1/query", { query: `sum by (target) (rate(${IN}[5m]))`, time: t }],
      ];
      for (const [route, params] of calls) {
        const u = new URLSearchParams();
        for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.append(k, x);
        const [mine, theirs] = await Promise.all(
          [`${ours.url}/prometheus`, promUrl].map(async (base) =>
            normalized(await (await fetch(`${base}${route}?${u}`)).json())
          ),
        );
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
          failures.push(`${route}?${u}: ours ${JSON.stringify(mine)}, Prometheus ${JSON.stringify(theirs)}`);
        }
      }
      const info = await (await fetch(`${ours.url}/prometheus/api/v1/status/buildinfo`)).json();
      const promInfo = await (await fetch(`${promUrl}/api/v1/status/buildinfo`)).json();
      for (const key of Object.keys(promInfo.data)) if (!(key in info.data)) failures.push(`buildinfo lacks ${key}`);
      assert.deepEqual(failures, []);
    } finally {
      await ours.stop("SIGTERM").catch(() => {});
      prom.kill("SIGTERM");
      vm.kill("SIGTERM");
      await Promise.all([prom, vm].map((p) => new Promise((r) => p.exitCode !== null ? r(null) : p.on("exit", r))));
    }
  });
});
