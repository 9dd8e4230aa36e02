/**
 * Suite `query`: query latency over HTTP on data the product itself wrote, side by side with
 * VictoriaMetrics fed the same samples in the same run (issue 13).
 *
 * Data: the peers' generator (`gen_dataset.mjs`), N series × D days at 60 s (default 5,000 × 1, the
 * size the user tried: ~2 min of ingest on the 2-core VM), starting at 00:00 UTC D + 1 days
 * before the run. Ours: the compiled binary on its embedded defaults, fed `api_batches.jsonl`
 * (1,000-sample time-major JSON documents) through `POST /api/v1/ingest` by `<peers>/post_lines.mjs`
 * (2 in flight, a 429 waits its Retry-After and is sent again), checked (`/api/v1/status` counts every
 * sample), stopped with SIGTERM (its shutdown flush writes what is left) and started again, so it reads
 * the files ingest → flush wrote. Measured in two phases: `restarted` (the files as flushed), then
 * after an offline `stalker-storage compact` (merges of small files, rollups) and another start.
 * VictoriaMetrics (Debian's `victoria-metrics`): `vm_import.jsonl` through `/api/v1/import`,
 * `/internal/force_flush`, then the peers' `query_bench.mjs` (`nocache=1`).
 *
 * Ours is measured with `bench/query_ours.mjs` (node:http, one keep-alive connection, sequential,
 * latency = request sent → last byte; every answer checked before it counts; `warmup` untimed
 * requests, then `reps` timed ones; p50/p99 nearest rank), for the manifest's first query series:
 *
 * - `five_min_24h`: `GET /api/v1/query … tier=5min` over the first 24 h (288 points);
 * - `raw_24h`: `tier=raw` over the first 24 h (1,440 samples, the last one checked);
 * - `last_value`: `GET /api/v1/series?namespace=…&target=…&poller=…`;
 * - `*_rotate`: the same over the manifest's 20 query series, one request each (colder);
 * - `sql_group_by_day`: `POST /api/v1/sql`, a `GROUP BY target` over the first UTC day of `agg_5min`;
 * - `promql_*`: dashboard PromQL through `/prometheus/api/v1/query_range` (see {@link promScenarios}), the
 *   same requests sent to VictoriaMetrics by the same client (`query_ours.mjs`).
 *
 * The machine is shared: compare ratios within one run (ours and VM run minutes apart).
 *
 * @module
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { datasetTag, ensureDatasetFiles, type QuerySeries, readDatasetManifest } from "../lib/dataset.ts";
import { lastJsonLine, runProcess, sleep, stopPid } from "../lib/process.ts";
import { statusMiB } from "../lib/proc.ts";
import { getJson, type Server, startServer } from "../lib/server.ts";
import { round } from "../lib/stats.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

const DAY = 86_400_000;

/** Options of the suite. */
export interface QueryOpts extends CommonOpts {
  binary: string;
  series: number;
  days: number;
  /** Start of the data (00:00 UTC); default: days + 1 days before the run. */
  startMs?: number;
  reps: number;
  warmup: number;
  sqlReps: number;
  sqlDeadlineS: number;
  cacheDir: string;
  vmBinary: string;
}

/** One scenario's figures (as `query_ours.mjs` prints them). */
export interface ScenarioResult {
  ok: boolean;
  error?: string;
  n?: number;
  p50_ms?: number;
  p99_ms?: number;
  mean_ms?: number;
  max_ms?: number;
  first_ms?: number;
  points?: number;
  response_bytes?: number;
  deadline_hit?: boolean;
}

/** What `/api/v1/status` says about one tier. */
export interface TierStatus {
  files: number;
  bytes: number;
  rows: number;
}

/** One measured phase of ours. */
export interface QueryPhase {
  name: "restarted" | "compacted";
  startup_ms: number;
  tiers: Record<string, TierStatus>;
  rss_mib: { after_start: number; after_queries: number; after_sql: number; peak: number };
  scenarios: Record<string, ScenarioResult>;
}

/** The suite's result. */
export interface QueryResult {
  series: number;
  days: number;
  samples: number;
  start_ms: number;
  ingest: { wall_s: number; samples_per_s: number; retries_429: number; shutdown_ms: number };
  compact_ms: number;
  phases: QueryPhase[];
  sql: string;
  vm: {
    version: string;
    ingest_wall_s: number;
    scenarios: Record<string, ScenarioResult>;
    rss_mib: number;
  };
}

/** Runs the suite. */
export async function runQuery(o: QueryOpts): Promise<QueryResult> {
  const startMs = o.startMs ?? (Math.floor(Date.now() / DAY) - o.days - 1) * DAY;
  const p = { series: o.series, points: o.days * 1440, startMs };
  const dataset = path.join(o.cacheDir, `query-${datasetTag(p)}`);
  progress(
    `query: dataset ${o.series} series × ${o.days} days (${(o.series * p.points).toLocaleString("en")} samples)`,
  );
  await ensureDatasetFiles(o.peersDir, p, ["json", "vm"], dataset);
  const manifest = readDatasetManifest(dataset);
  const dataDir = path.join(o.workDir, "query-data");
  fs.rmSync(dataDir, { recursive: true, force: true });
  const log = (name: string) => path.join(o.resultsDir, `query.${name}.server.log`);

  // ingest through the API, then SIGTERM: what a user's server holds after a restart
  let server = await startServer({ binary: o.binary, dataDir, logFile: log("ingest") });
  let ingest: QueryResult["ingest"];
  try {
    progress(`query: ingesting through ${server.url}/api/v1/ingest`);
    const driven = await post(o, path.join(dataset, "api_batches.jsonl"), `${server.url}/api/v1/ingest`, 1);
    const status = await getJson<{ ingest: { samples: number } }>(`${server.url}/api/v1/status`);
    if (status.ingest.samples !== manifest.samples) {
      throw new Error(`status counts ${status.ingest.samples} samples, the dataset has ${manifest.samples}`);
    }
    const stop = await server.stop();
    ingest = {
      wall_s: driven.wall_s,
      samples_per_s: Math.round(manifest.samples / driven.wall_s),
      retries_429: driven.retries,
      shutdown_ms: round(stop.ms),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }

  const sql = sqlText(startMs);
  const phases: QueryPhase[] = [];
  let compactMs = 0;
  for (const name of ["restarted", "compacted"] as const) {
    if (name === "compacted") {
      progress("query: offline compact");
      const r = await runProcess(o.binary, ["compact", "--data-dir", dataDir], { timeoutMs: 1_800_000 });
      if (r.code !== 0) throw new Error(`compact failed: ${r.stderr.slice(-1000)}`);
      compactMs = round(r.ms);
    }
    const t0 = performance.now();
    server = await startServer({ binary: o.binary, dataDir, logFile: log(name) });
    try {
      phases.push(await measure(o, server, name, performance.now() - t0, manifest.query_series, startMs, sql));
    } finally {
      await server.stop();
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  const vm = await vmRun(o, dataset, startMs);
  return {
    series: o.series,
    days: o.days,
    samples: manifest.samples,
    start_ms: startMs,
    ingest,
    compact_ms: compactMs,
    phases,
    sql,
    vm,
  };
}

async function measure(
  o: QueryOpts,
  server: Server,
  name: QueryPhase["name"],
  startupMs: number,
  series: QuerySeries[],
  startMs: number,
  sql: string,
): Promise<QueryPhase> {
  const status = await getJson<{ tiers: Record<string, TierStatus> }>(`${server.url}/api/v1/status`);
  const tiers = Object.fromEntries(
    Object.entries(status.tiers).map(([t, s]) => [t, { files: s.files, bytes: s.bytes, rows: s.rows }]),
  );
  const rssStart = statusMiB(server.pid, "VmRSS");
  progress(`query ${name}: ${JSON.stringify(tiers)}`);
  const q = await runSpec(o, specFor(o, series, startMs, server.url), `query-${name}-spec.json`);
  const rssQueries = statusMiB(server.pid, "VmRSS");
  progress(`query ${name}: SQL × ${o.sqlReps}`);
  const s = await runSpec(o, sqlSpec(o, sql, server.url), `query-${name}-sql-spec.json`);
  return {
    name,
    startup_ms: round(startupMs),
    tiers,
    rss_mib: {
      after_start: round(rssStart, 1),
      after_queries: round(rssQueries, 1),
      after_sql: round(statusMiB(server.pid, "VmRSS"), 1),
      peak: round(statusMiB(server.pid, "VmHWM"), 1),
    },
    scenarios: { ...q.scenarios, ...s.scenarios },
  };
}

interface Spec {
  base: string;
  reps: number;
  warmup: number;
  timeout_ms: number;
  deadline_s: number;
  scenarios: {
    name: string;
    method: string;
    path: string;
    body?: string;
    check: Record<string, unknown>;
    reps?: number;
    warmup?: number;
  }[];
  rotate?: { name: string; requests: { method: string; path: string; check: Record<string, unknown> }[] }[];
}

async function runSpec(o: QueryOpts, spec: Spec, name: string): Promise<{ scenarios: Record<string, ScenarioResult> }> {
  const file = path.join(o.workDir, name);
  fs.writeFileSync(file, JSON.stringify(spec));
  const script = new URL("../query_ours.mjs", import.meta.url).pathname;
  const r = await runProcess("node", [script, "--spec", file], { timeoutMs: (spec.deadline_s + 120) * 1000 });
  return lastJsonLine(r, "query_ours.mjs");
}

function specFor(o: QueryOpts, series: QuerySeries[], startMs: number, base: string): Spec {
  const from = startMs, to = startMs + DAY;
  const id = (s: QuerySeries) => `namespace=${enc(s.namespace)}&target=${enc(s.target)}&poller=${enc(s.poller)}`;
  const fiveMin = (s: QuerySeries) => ({
    method: "GET",
    path: `/api/v1/query?${id(s)}&from=${from}&to=${to}&tier=5min`,
    check: { type: "points", tier: "5min", points: 288, first_t: from, last_t: to - 300_000 },
  });
  // the first day's last sample: the manifest's when the dataset is one day long
  const lastOfDay = (s: QuerySeries) => o.days === 1 ? { last_t: s.last_ts_ms, last_value: s.last_value } : null;
  const raw = (s: QuerySeries) => ({
    method: "GET",
    path: `/api/v1/query?${id(s)}&from=${from}&to=${to}&tier=raw`,
    check: { type: "samples", samples: 1440, ...lastOfDay(s) },
  });
  const last = (s: QuerySeries) => ({
    method: "GET",
    path: `/api/v1/series?${id(s)}`,
    check: { type: "last", ts: s.last_ts_ms, value: s.last_value },
  });
  const one = series[0];
  return {
    base,
    reps: o.reps,
    warmup: o.warmup,
    timeout_ms: 60_000,
    deadline_s: 900,
    scenarios: [
      { name: "five_min_24h", ...fiveMin(one) },
      { name: "raw_24h", ...raw(one) },
      { name: "last_value", ...last(one) },
      ...promScenarios(one, startMs, "/prometheus"),
    ],
    rotate: [
      { name: "five_min_24h_rotate", requests: series.map(fiveMin) },
      { name: "raw_24h_rotate", requests: series.map(raw) },
      { name: "last_value_rotate", requests: series.map(last) },
    ],
  };
}

/**
 * The PromQL queries of a SNMP dashboard, the same text for ours (under `/prometheus`) and for
 * VictoriaMetrics (`prefix` ""), each checked as a matrix before it counts:
 *
 * - `promql_rate_one_24h`: `rate(<series>[5m])` over the first 24 h at step 5m (ours: the 5-minute tier);
 * - `promql_rate_device_24h`: `rate()` of every interface octet counter of the series' device, 24 h, step 5m
 *   (the device's interface traffic panel; the generator gives a device 4 interfaces, so 8 counters);
 * - `promql_topk_1h`: `topk(10, rate(…[5m]))` over every `ifHCInOctets_*` of the namespace, the day's last
 *   hour at step 1m (the "busiest interfaces" panel; raw samples on both sides).
 */
export function promScenarios(one: QuerySeries, startMs: number, prefix: string): Spec["scenarios"] {
  const end = (startMs + DAY) / 1000, start = startMs / 1000 + 300;
  const range = (query: string, from: number, to: number, step: number) =>
    `${prefix}/api/v1/query_range?query=${enc(query)}&start=${from}&end=${to}&step=${step}${
      prefix === "" ? "&nocache=1" : ""
    }`;
  // VictoriaMetrics' series have no `poller` label (the interface is in the metric name): rate() dropping
  // the name would leave duplicate series, which it refuses (422); `keep_metric_names` keeps them apart
  const keep = prefix === "" ? " keep_metric_names" : "";
  const device = `{namespace="${one.namespace}",target="${one.target}",__name__=~"ifHC(In|Out)Octets_.*"}`;
  const busiest = `topk(10, rate({namespace="${one.namespace}",__name__=~"ifHCInOctets_.*"}[5m])${keep})`;
  return [
    {
      name: "promql_rate_one_24h",
      method: "GET",
      path: range(`rate(${one.selector}[5m])`, start, end, 300),
      check: { type: "promql", min_series: 1, min_points: 287 },
    },
    {
      name: "promql_rate_device_24h",
      method: "GET",
      path: range(`rate(${device}[5m])${keep}`, start, end, 300),
      check: { type: "promql", min_series: 2, min_points: 287 },
    },
    {
      name: "promql_topk_1h",
      method: "GET",
      path: range(busiest, end - 3600, end - 60, 60),
      check: { type: "promql", min_series: 10, min_points: 1 },
    },
  ];
}

function sqlText(startMs: number): string {
  const ts = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace(".000Z", "+00");
  return `SELECT target, count(*) AS buckets, sum("count") AS samples, avg("sum" / "count") AS mean, ` +
    `max("max") AS peak FROM agg_5min WHERE bucket >= TIMESTAMPTZ '${ts(startMs)}' AND bucket < TIMESTAMPTZ '${
      ts(startMs + DAY)
    }' GROUP BY target ORDER BY target`;
}

function sqlSpec(o: QueryOpts, text: string, base: string): Spec {
  return {
    base,
    reps: o.sqlReps,
    warmup: 1,
    timeout_ms: 600_000,
    deadline_s: o.sqlDeadlineS,
    scenarios: [{
      name: "sql_group_by_day",
      method: "POST",
      path: "/api/v1/sql",
      body: JSON.stringify({ sql: text }),
      check: { type: "sql", rows: Math.ceil(o.series / 20), sum_column: "buckets", sum: o.series * 288 },
    }],
  };
}

interface Driven {
  wall_s: number;
  retries: number;
}

async function post(o: QueryOpts, file: string, url: string, lines: number): Promise<Driven> {
  const args = [path.join(o.peersDir, "post_lines.mjs"), "--file", file, "--lines", String(lines)];
  args.push("--url", url, "--concurrency", "2", "--deadline-s", "1800", "--retry-429", "1");
  const r = await runProcess("node", args, { timeoutMs: 1_900_000 });
  if (r.code !== 0) throw new Error(`post_lines failed: ${r.stderr.slice(-500)}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  return { wall_s: out.wall_s, retries: out.retries ?? 0 };
}

async function vmRun(o: QueryOpts, dataset: string, startMs: number): Promise<QueryResult["vm"]> {
  const dir = path.join(o.workDir, "query-vm");
  fs.rmSync(dir, { recursive: true, force: true });
  const port = 18_470;
  const url = `http://127.0.0.1:${port}`;
  const logFd = fs.openSync(path.join(o.resultsDir, "query.vm.log"), "a");
  const proc = spawn(o.vmBinary, [
    `-storageDataPath=${dir}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    "-retentionPeriod=100y",
  ], {
    stdio: ["ignore", logFd, logFd],
  });
  try {
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`${url}/health`).then((r) => r.ok).catch(() => false))) {
      if (Date.now() > deadline) throw new Error("VictoriaMetrics did not answer /health within 60 s");
      await sleep(100);
    }
    progress(`query: VictoriaMetrics import on ${url}`);
    const driven = await post(o, path.join(dataset, "vm_import.jsonl"), `${url}/api/v1/import`, 500);
    const flushed = await fetch(`${url}/internal/force_flush`);
    await flushed.body?.cancel();
    const r = await runProcess(
      "node",
      [
        path.join(o.peersDir, "query_bench.mjs"),
        "--peer",
        "vm",
        "--base",
        url,
        "--manifest",
        path.join(dataset, "manifest.json"),
        "--reps",
        String(o.reps),
        "--warmup",
        String(o.warmup),
        "--deadline-s",
        "900",
      ],
      { timeoutMs: 1_000_000 },
    );
    const q = lastJsonLine<{ scenarios: Record<string, ScenarioResult> }>(r, "query_bench.mjs");
    const manifest = readDatasetManifest(dataset);
    const prom = await runSpec(o, {
      base: url,
      reps: o.reps,
      warmup: o.warmup,
      timeout_ms: 60_000,
      deadline_s: 900,
      scenarios: promScenarios(manifest.query_series[0], startMs, ""),
    }, "query-vm-promql-spec.json");
    const version = await runProcess("dpkg-query", ["-W", "-f=${Version}", "victoria-metrics"], { timeoutMs: 10_000 });
    return {
      version: version.stdout.trim() || "unknown",
      ingest_wall_s: driven.wall_s,
      scenarios: { ...q.scenarios, ...prom.scenarios },
      rss_mib: round(statusMiB(proc.pid!, "VmHWM"), 1),
    };
  } finally {
    stopPid(proc.pid!);
    await new Promise((resolve) => proc.exitCode !== null ? resolve(null) : proc.on("close", resolve));
    fs.closeSync(logFd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

if (import.meta.main) await suiteMain("query", runQuery);
