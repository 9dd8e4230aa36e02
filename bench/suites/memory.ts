/**
 * Suite `memory`: the whole process as users run it, next to VictoriaMetrics in the same run (issue
 * "One memory budget"). Both servers get the same samples (the peers' generator: N series × P points
 * at 60 s ending at the time of the run) through the same driver, `<peers>/post_lines.mjs`, with C
 * requests in flight, and are run alternately, `reps` times each:
 *
 * - ours: the compiled binary on embedded defaults (`server.memory_limit` 512 MiB, WAL `fsync` with
 *   group commit: every answer waits for its fdatasync), `api_batches.jsonl`, one 1,000-sample JSON
 *   document per request, `--retry-429 1` (a refused request waits its Retry-After and is sent again,
 *   as a poller does; the retries are counted);
 * - VictoriaMetrics (Debian's `victoria-metrics`, 1.79.5): `/api/v1/import`, 1,000 single-sample lines
 *   of `vm_import_timemajor.jsonl` per request (it answers before its data is on disk).
 *
 * Per run: samples/s (driver wall time), server CPU-seconds per million samples (utime+stime of
 * `/proc/PID/stat` around the load), peak RSS (`VmHWM` after the load), request p50/p99 (the driver's).
 * Ours is checked: `/api/v1/status` must count exactly the dataset's samples.
 *
 * Then the steady run: the same series for `steadyPoints` rounds (120: two hours of polling at one
 * sample per series per minute, time-compressed: sent as fast as the driver's requests are answered),
 * ours and VictoriaMetrics alternating `reps` times, each from an empty directory: the peak over a run
 * twice as long, through more flushes and the 5-minute buckets of two hours.
 *
 * Then the flood: ours with a small `server.memory_limit` (default 384 MiB, `limits.max_series` set to
 * the dataset's series so they all fit) and 16 clients in flight: peak RSS against the budget, the 429s
 * answered, and every acknowledged sample stored.
 *
 * @module
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ensureDatasetFiles, readDatasetManifest } from "../lib/dataset.ts";
import { runProcess, sleep, stopPid } from "../lib/process.ts";
import { cpuSeconds, statusMiB, threadCpuSeconds } from "../lib/proc.ts";
import { startServer } from "../lib/server.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface MemoryOpts extends CommonOpts {
  binary: string;
  series: number;
  points: number;
  startMs: number;
  concurrency: number;
  reps: number;
  /** Rounds of the steady run (0: none). */
  steadyPoints: number;
  floodBudget: string;
  floodConcurrency: number;
  vmBinary: string;
}

/** One server's run. */
export interface MemoryRun {
  server: "stalker-storage" | "victoriametrics";
  rep: number;
  ok: boolean;
  error?: string;
  samples_per_s: number;
  cpu_s_per_million: number;
  peak_rss_mib: number;
  rss_after_mib: number;
  p50_ms: number;
  p99_ms: number;
  retries_429: number;
  /** Ours only: what `/api/v1/status` counted as accepted. */
  accepted?: number;
  /** Ours only: requests that waited for room before they were taken in (or refused). */
  waited?: number;
  /** CPU-s per million samples by thread kind (`threadCpuSeconds`; exited threads under `exited`). */
  threads?: Record<string, number>;
  budget_mib?: number;
}

/** The suite's result. */
export interface MemoryResult {
  series: number;
  points: number;
  samples: number;
  concurrency: number;
  runs: MemoryRun[];
  /** The steady run: `steadyPoints` rounds of the same series (absent when not run). */
  steady?: { points: number; samples: number; runs: MemoryRun[] };
  flood: MemoryRun & { budget: string; concurrency: number };
}

interface Driven {
  wall_s: number;
  request_p50_ms: number;
  request_p99_ms: number;
  retries: number;
}

/** Runs the suite. */
export async function runMemory(o: MemoryOpts): Promise<MemoryResult> {
  const { dataDir, samples } = await dataset(o, o.points, o.startMs);
  const runs = await alternate(o, dataDir, samples, "memory");
  let steady: MemoryResult["steady"];
  if (o.steadyPoints > 0) {
    // the same last minute as the main dataset, so both end at the time of the run
    const start = o.startMs + (o.points - o.steadyPoints) * 60_000;
    const d = await dataset(o, o.steadyPoints, start);
    steady = { points: o.steadyPoints, samples: d.samples, runs: await alternate(o, d.dataDir, d.samples, "steady") };
  }
  const floodConfig = path.join(o.workDir, "flood.yaml");
  // every series of the dataset fits (an explicit limit): the flood tests memory, not the series limit
  fs.writeFileSync(
    floodConfig,
    `server:\n  memory_limit: ${o.floodBudget}\nlimits:\n  max_series: ${o.series}\n`,
  );
  const flood = await ourRun(o, dataDir, samples, 1, ["--config", floodConfig], o.floodConcurrency);
  progress(`memory flood (${o.floodBudget}, ${o.floodConcurrency} clients): ${describe(flood)}`);
  return {
    series: o.series,
    points: o.points,
    samples,
    concurrency: o.concurrency,
    runs,
    steady,
    flood: { ...flood, budget: o.floodBudget, concurrency: o.floodConcurrency },
  };
}

/** The peers' dataset of `points` rounds from `startMs` (generated once, then reused). */
async function dataset(o: MemoryOpts, points: number, startMs: number): Promise<{ dataDir: string; samples: number }> {
  const dataDir = path.join(o.workDir, `memory-data-s${o.series}-n${points}-t${startMs}`);
  progress(`memory: generating ${(o.series * points).toLocaleString("en")} samples (json, vmt)`);
  await ensureDatasetFiles(o.peersDir, { series: o.series, points, startMs }, ["json", "vmt"], dataDir);
  return { dataDir, samples: readDatasetManifest(dataDir).samples };
}

/** VictoriaMetrics and ours, alternating, `reps` times each. */
async function alternate(o: MemoryOpts, dataDir: string, samples: number, label: string): Promise<MemoryRun[]> {
  const runs: MemoryRun[] = [];
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const server of ["victoriametrics", "stalker-storage"] as const) {
      const run = server === "victoriametrics"
        ? await vmRun(o, dataDir, samples, rep)
        : await ourRun(o, dataDir, samples, rep, [], o.concurrency);
      runs.push(run);
      progress(`${label} ${server} #${rep}: ${describe(run)}`);
    }
  }
  return runs;
}

function describe(r: MemoryRun): string {
  return r.ok
    ? `${Math.round(r.samples_per_s).toLocaleString("en")} samples/s, ${r.cpu_s_per_million} CPU-s/M, peak ${
      Math.round(r.peak_rss_mib)
    } MiB, p99 ${r.p99_ms} ms, ${r.retries_429} retries`
    : `FAILED ${r.error}`;
}

async function ourRun(
  o: MemoryOpts,
  dataDir: string,
  samples: number,
  rep: number,
  args: string[],
  concurrency: number,
): Promise<MemoryRun> {
  const dir = path.join(o.workDir, `memory-ours-${rep}-${concurrency}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const server = await startServer({
    binary: o.binary,
    dataDir: dir,
    args,
    logFile: path.join(o.resultsDir, `memory-ours-${rep}-c${concurrency}.server.log`),
  });
  const run = await measure(
    "stalker-storage",
    rep,
    server.pid,
    () => drive(o, path.join(dataDir, "api_batches.jsonl"), `${server.url}/api/v1/ingest`, 1, concurrency),
    samples,
  );
  try {
    const status = await (await fetch(`${server.url}/api/v1/status`)).json();
    run.accepted = status.ingest.samples;
    run.waited = status.backpressure.waited;
    run.budget_mib = status.memory.limit_bytes / 2 ** 20;
    if (run.ok && run.accepted !== samples) {
      run.ok = false;
      run.error = `status counts ${run.accepted} accepted samples, the dataset has ${samples}`;
    }
  } finally {
    await server.stop();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return run;
}

async function vmRun(o: MemoryOpts, dataDir: string, samples: number, rep: number): Promise<MemoryRun> {
  const dir = path.join(o.workDir, `memory-vm-${rep}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const port = 18_400 + rep;
  const log = fs.openSync(path.join(o.resultsDir, `memory-vm-${rep}.log`), "a");
  const proc = spawn(o.vmBinary, [
    `-storageDataPath=${dir}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    "-retentionPeriod=100y",
  ], {
    stdio: ["ignore", log, log],
  });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok).catch(() => false);
      if (up) break;
      if (Date.now() > deadline) throw new Error("VictoriaMetrics did not answer /health within 60 s");
      await sleep(100);
    }
    return await measure(
      "victoriametrics",
      rep,
      proc.pid!,
      () =>
        drive(
          o,
          path.join(dataDir, "vm_import_timemajor.jsonl"),
          `http://127.0.0.1:${port}/api/v1/import`,
          1000,
          o.concurrency,
        ),
      samples,
    );
  } finally {
    // its directory goes only once it has exited: removed under a stopping VictoriaMetrics, the
    // removal races its final flush (ENOTEMPTY, and a panic in its log)
    const exited = new Promise((resolve) => proc.exitCode !== null ? resolve(null) : proc.once("exit", resolve));
    stopPid(proc.pid!);
    await exited;
    fs.closeSync(log);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(
  server: MemoryRun["server"],
  rep: number,
  pid: number,
  load: () => Promise<Driven>,
  samples: number,
): Promise<MemoryRun> {
  const cpu0 = cpuSeconds(pid);
  const threads0 = threadCpuSeconds(pid);
  const base: MemoryRun = {
    server,
    rep,
    ok: false,
    samples_per_s: NaN,
    cpu_s_per_million: NaN,
    peak_rss_mib: NaN,
    rss_after_mib: NaN,
    p50_ms: NaN,
    p99_ms: NaN,
    retries_429: 0,
  };
  try {
    const d = await load();
    const cpu = cpuSeconds(pid) - cpu0;
    const threads1 = threadCpuSeconds(pid);
    const perM = (x: number) => Math.round((x / (samples / 1e6)) * 100) / 100;
    const threads: Record<string, number> = {};
    let listed = 0;
    for (const k of Object.keys(threads1)) {
      const d = threads1[k] - (threads0[k] ?? 0);
      listed += d;
      threads[k] = perM(d);
    }
    threads.exited = perM(Math.max(0, cpu - listed));
    return {
      ...base,
      ok: true,
      samples_per_s: Math.round(samples / d.wall_s),
      cpu_s_per_million: Math.round((cpu / (samples / 1e6)) * 100) / 100,
      peak_rss_mib: Math.round(statusMiB(pid, "VmHWM")),
      rss_after_mib: Math.round(statusMiB(pid, "VmRSS")),
      p50_ms: d.request_p50_ms,
      p99_ms: d.request_p99_ms,
      retries_429: d.retries,
      threads,
    };
  } catch (err) {
    return { ...base, error: (err as Error).message.slice(0, 500), peak_rss_mib: statusMiB(pid, "VmHWM") };
  }
}

async function drive(o: MemoryOpts, file: string, url: string, lines: number, concurrency: number): Promise<Driven> {
  const args = [path.join(o.peersDir, "post_lines.mjs"), "--file", file, "--lines", String(lines)];
  args.push("--url", url, "--concurrency", String(concurrency), "--deadline-s", "900", "--retry-429", "1");
  const r = await runProcess("node", args, { timeoutMs: 960_000 });
  if (r.code !== 0) throw new Error(`post_lines failed: ${r.stderr.slice(-500)}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  return {
    wall_s: out.wall_s,
    request_p50_ms: out.request_p50_ms,
    request_p99_ms: out.request_p99_ms,
    retries: out.retries,
  };
}

if (import.meta.main) await suiteMain("memory", runMemory);
