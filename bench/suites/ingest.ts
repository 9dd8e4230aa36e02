/**
 * Suite `ingest`: end-to-end HTTP ingest into the compiled binary (`dist/stalker-storage`, copied into
 * the run's directory), the load generator on the same machine.
 *
 * The server runs on its embedded defaults (no config file: `ingestion.wal.sync_mode: fsync` with group
 * commit, flushes on `ingestion.flush.interval` or when the unflushed samples reach the threshold
 * derived from `ingestion.flush.max_buffer_size`, percentiles on; the report lists the values) with
 * only `--data-dir` (fresh per run) and `--listen 127.0.0.1:0`. The dataset is the peers'
 * generator at N series (default 100,000) × P points at 60 s ending at the time of the run, sent in
 * 1,000-sample time-major batches (`api_batches.jsonl`):
 *
 * - JSON through the peers' `post_lines.mjs` (`--lines 1`: one document per request), the driver the
 *   VictoriaMetrics run uses; it aborts on the first non-2xx answer, including a 429 (backpressure);
 * - JSON again, and protobuf (the same batches as length-prefixed `stalker.SampleBatch` bodies,
 *   converted once by `bench/lib/protobuf_bodies.ts`), through `bench/post_bodies.mjs`, which logs
 *   every request's send time and latency and, like a poller, waits the answer's Retry-After and
 *   sends a request refused with 429 again (its latency runs from the first send; refusals are
 *   counted): the sustained rate when the server paces its clients.
 *
 * Per run: samples/s = samples / wall time of the driver (first request to last answer); ack latency
 * p50/p99 = the driver's per-request latencies (nearest rank); server CPU-seconds per million samples =
 * utime+stime of the server from `/proc/PID/stat` before and after the load, divided by the samples
 * (the final flush at shutdown is not included, the flushes during the load are); peak RSS = `VmHWM`
 * after the load. Every run is checked: a driver never counts a non-2xx answer as a success, and
 * `/api/v1/status` must count exactly the dataset's samples accepted and no rejected request other
 * than the 429 refusals the driver counted and sent again. Latency while a flush runs:
 * requests whose [send, answer] interval overlaps a flush window (from the server log's "flushing" and
 * "flushed" lines) against all others.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { defaultConfig } from "../../src/config/load.ts";
import { ensureDatasetFiles, readDatasetManifest } from "../lib/dataset.ts";
import { lastJsonLine, runProcess } from "../lib/process.ts";
import { cpuSeconds, statusMiB } from "../lib/proc.ts";
import { convertToProtobuf } from "../lib/protobuf_bodies.ts";
import { flushWindows, getJson, startServer } from "../lib/server.ts";
import { round, summarize } from "../lib/stats.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface IngestOpts extends CommonOpts {
  binary: string;
  series: number;
  points: number;
  /** Start of the dataset (the VictoriaMetrics run of `peers` uses the same). */
  startMs: number;
  concurrency: number[];
  deadlineS: number;
}

/** The measured figures of one run. */
export interface IngestRun {
  name: string;
  encoding: "json" | "protobuf";
  driver: string;
  concurrency: number;
  ok: boolean;
  error?: string;
  samples: number;
  /** Requests refused with 429 and sent again (post_bodies only). */
  refused_429: number | null;
  requests: number;
  body_bytes: number;
  wall_s: number;
  samples_per_s: number;
  ack_p50_ms: number;
  ack_p99_ms: number;
  server_cpu_s: number;
  cpu_s_per_million: number;
  client_cpu_s: number | null;
  peak_rss_mib: number;
  rss_after_mib: number;
  accepted_by_status: number | null;
  rejected_by_status: number | null;
  wal_fsyncs: number | null;
  fsyncs_per_request: number | null;
  flushes: { start: number; end: number; detail: string }[];
  during_flush: ReturnType<typeof summarize> | null;
  outside_flush: ReturnType<typeof summarize> | null;
  shutdown_ms: number;
}

/** The suite's result. */
export interface IngestResult {
  series: number;
  points: number;
  samples: number;
  start_ms: number;
  json_bytes_per_sample: number;
  protobuf_bytes_per_sample: number;
  config: Record<string, unknown>;
  runs: IngestRun[];
}

/** Runs the suite. */
export async function runIngest(o: IngestOpts): Promise<IngestResult> {
  const p = { series: o.series, points: o.points, startMs: o.startMs };
  const dataDir = path.join(o.workDir, `ingest-data-s${o.series}-n${o.points}-t${o.startMs}`);
  progress(`ingest: generating ${(o.series * o.points).toLocaleString("en")} samples (api_batches.jsonl)`);
  await ensureDatasetFiles(o.peersDir, p, ["json"], dataDir);
  const manifest = readDatasetManifest(dataDir);
  const jsonFile = path.join(dataDir, "api_batches.jsonl");
  const lpFile = path.join(dataDir, "api_batches.lp");
  progress("ingest: converting to length-prefixed protobuf bodies");
  const lp = convertToProtobuf(jsonFile, lpFile);
  if (lp.samples !== manifest.samples) {
    throw new Error(`protobuf bodies hold ${lp.samples} samples, expected ${manifest.samples}`);
  }
  const plan: { name: string; encoding: "json" | "protobuf"; driver: "post_lines" | "post_bodies"; c: number }[] = [];
  for (const c of o.concurrency) plan.push({ name: `json-c${c}`, encoding: "json", driver: "post_lines", c });
  for (const c of o.concurrency) plan.push({ name: `json-c${c}-retry`, encoding: "json", driver: "post_bodies", c });
  for (const c of o.concurrency) {
    plan.push({ name: `protobuf-c${c}-retry`, encoding: "protobuf", driver: "post_bodies", c });
  }
  const runs: IngestRun[] = [];
  for (const step of plan) {
    const run = await oneRun(o, step, step.encoding === "json" ? jsonFile : lpFile, manifest.samples);
    runs.push(run);
    progress(
      run.ok
        ? `ingest ${run.name}: ${
          run.samples_per_s.toLocaleString("en")
        } samples/s, p99 ${run.ack_p99_ms} ms, ${run.cpu_s_per_million} CPU-s/M`
        : `ingest ${run.name}: FAILED ${run.error}`,
    );
  }
  const c = defaultConfig();
  return {
    series: o.series,
    points: o.points,
    samples: manifest.samples,
    start_ms: o.startMs,
    json_bytes_per_sample: round(fs.statSync(jsonFile).size / manifest.samples, 1),
    protobuf_bytes_per_sample: round(lp.bytes / manifest.samples, 1),
    config: {
      source: "embedded defaults (no config file); flags --data-dir <fresh dir> --listen 127.0.0.1:0",
      "ingestion.wal.sync_mode": c.ingestion.wal.syncMode,
      "ingestion.wal.max_segment_size": c.ingestion.wal.maxSegmentBytes,
      "ingestion.flush.interval_ms": c.ingestion.flush.intervalMs,
      "ingestion.flush.max_buffer_size": c.ingestion.flush.maxBufferSamples,
      "backpressure.thresholds": c.backpressure.thresholds,
      "features.percentile": c.features.percentile,
      "features.raw_buffer": c.features.rawBuffer,
      "features.compression": c.features.compression,
    },
    runs,
  };
}

async function oneRun(
  o: IngestOpts,
  step: { name: string; encoding: "json" | "protobuf"; driver: "post_lines" | "post_bodies"; c: number },
  file: string,
  samples: number,
): Promise<IngestRun> {
  const dataDir = path.join(o.workDir, `ingest-run-${step.name}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const server = await startServer({
    binary: o.binary,
    dataDir,
    logFile: path.join(o.resultsDir, `ingest-${step.name}.server.log`),
  });
  const latencyLog = step.driver === "post_bodies" ? path.join(o.workDir, `ingest-${step.name}.latency.csv`) : null;
  const url = `${server.url}/api/v1/ingest`;
  const contentType = step.encoding === "json" ? "application/json" : "application/x-protobuf";
  const driverArgs = step.driver === "post_lines"
    ? [path.join(o.peersDir, "post_lines.mjs"), "--file", file, "--lines", "1"]
    : [new URL("../post_bodies.mjs", import.meta.url).pathname, "--file", file, "--format"];
  if (step.driver === "post_bodies") {
    driverArgs.push(step.encoding === "json" ? "lines" : "lp", "--latency-log", latencyLog!, "--retry-429", "100000");
  }
  driverArgs.push("--url", url, "--content-type", contentType, "--concurrency", String(step.c));
  driverArgs.push("--deadline-s", String(o.deadlineS), "--timeout-ms", "60000");
  const timeFile = path.join(o.workDir, `ingest-${step.name}.time`);
  const useTime = fs.existsSync("/usr/bin/time");
  const [cmd, args] = useTime
    ? ["/usr/bin/time", ["-f", "%U %S", "-o", timeFile, "node", ...driverArgs]]
    : ["node", driverArgs];
  const base: IngestRun = {
    name: step.name,
    encoding: step.encoding,
    driver: `${
      step.driver === "post_lines" ? "<peers>/post_lines.mjs --lines 1" : "bench/post_bodies.mjs"
    } -c ${step.c}`,
    concurrency: step.c,
    ok: false,
    samples,
    refused_429: null,
    requests: 0,
    body_bytes: 0,
    wall_s: NaN,
    samples_per_s: NaN,
    ack_p50_ms: NaN,
    ack_p99_ms: NaN,
    server_cpu_s: NaN,
    cpu_s_per_million: NaN,
    client_cpu_s: null,
    peak_rss_mib: NaN,
    rss_after_mib: NaN,
    accepted_by_status: null,
    rejected_by_status: null,
    wal_fsyncs: null,
    fsyncs_per_request: null,
    flushes: [],
    during_flush: null,
    outside_flush: null,
    shutdown_ms: NaN,
  };
  try {
    const cpu0 = cpuSeconds(server.pid);
    const r = await runProcess(cmd, args, { timeoutMs: (o.deadlineS + 60) * 1000 });
    const cpu1 = cpuSeconds(server.pid);
    base.peak_rss_mib = round(statusMiB(server.pid, "VmHWM"), 1);
    base.rss_after_mib = round(statusMiB(server.pid, "VmRSS"), 1);
    const load = lastJsonLine<{
      requests: number;
      bytes: number;
      wall_s: number;
      request_p50_ms: number;
      request_p99_ms: number;
      refused_429?: number;
    }>(r, step.driver);
    base.refused_429 = load.refused_429 ?? null;
    base.requests = load.requests;
    base.body_bytes = load.bytes;
    base.wall_s = load.wall_s;
    base.samples_per_s = Math.round(samples / load.wall_s);
    base.ack_p50_ms = load.request_p50_ms;
    base.ack_p99_ms = load.request_p99_ms;
    base.server_cpu_s = round(cpu1 - cpu0, 2);
    base.cpu_s_per_million = round(((cpu1 - cpu0) / samples) * 1e6);
    if (useTime && fs.existsSync(timeFile)) {
      const [u, s] = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
      base.client_cpu_s = round(u + s, 2);
    }
    await checkStatus(server.url, base, samples);
    base.ok = true;
  } catch (err) {
    const msg = (err as Error).message;
    base.error = /HTTP 429/.test(msg) ? `refused with 429 (backpressure: the flush did not keep up): ${msg}` : msg;
  } finally {
    const stop = await server.stop();
    base.shutdown_ms = round(stop.ms);
    // after the stop, so that a flush still running when the load ended has its end in the log too
    base.flushes = flushWindows(server.log()).filter((w) => !/reason=shutdown/.test(w.detail));
    if (base.ok && latencyLog) Object.assign(base, latencySplit(latencyLog, base.flushes));
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (latencyLog) fs.rmSync(latencyLog, { force: true });
    fs.rmSync(timeFile, { force: true });
  }
  return base;
}

interface Status {
  ingest?: { samples?: number; rejected_requests?: number; rejected_samples?: number };
  wal?: { fsyncs?: number };
}

async function checkStatus(url: string, run: IngestRun, samples: number): Promise<void> {
  const s = await getJson<Status>(`${url}/api/v1/status`);
  run.accepted_by_status = s.ingest?.samples ?? null;
  run.rejected_by_status = s.ingest?.rejected_samples ?? null;
  run.wal_fsyncs = s.wal?.fsyncs ?? null;
  run.fsyncs_per_request = run.wal_fsyncs === null ? null : round(run.wal_fsyncs / run.requests);
  if (run.accepted_by_status !== null && run.accepted_by_status !== samples) {
    throw new Error(`/api/v1/status counts ${run.accepted_by_status} samples accepted, expected ${samples}`);
  }
  // the only rejections allowed are the 429 answers the driver counted and sent again
  const rejected = s.ingest?.rejected_requests ?? 0;
  if (rejected !== (run.refused_429 ?? 0)) {
    throw new Error(
      `/api/v1/status counts ${rejected} requests rejected, the driver saw ${run.refused_429 ?? 0} refusals (429)`,
    );
  }
}

function latencySplit(
  file: string,
  windows: { start: number; end: number }[],
): Pick<IngestRun, "during_flush" | "outside_flush"> {
  const during: number[] = [], outside: number[] = [];
  for (const line of fs.readFileSync(file, "utf8").trim().split("\n")) {
    const [t, ms] = line.split(",").map(Number);
    const overlaps = windows.some((w) => t <= w.end && t + ms >= w.start);
    (overlaps ? during : outside).push(ms);
  }
  return {
    during_flush: during.length > 0 ? summarize(during) : null,
    outside_flush: outside.length > 0 ? summarize(outside) : null,
  };
}

if (import.meta.main) await suiteMain("ingest", runIngest);
