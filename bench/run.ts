/**
 * `deno task bench` (= `deno run -A bench/run.ts`): runs the benchmark suites, writes their
 * machine-readable results to `bench/results/<UTC time>/*.json` (git-ignored) and the human report
 * `bench/REPORT.md`. See docs/benchmarks.md for what each suite measures and how.
 *
 * ```sh
 * deno task bench --quick                      # small sizes, a few minutes: validates the harness
 * deno task bench                              # full sizes (long: see docs/benchmarks.md)
 * deno task bench --suite wal,ring,replay      # selected suites
 * deno task bench --suite ingest,peers --ingest-points 120
 * ```
 *
 * Flags (defaults in brackets; `--quick` lowers every size):
 * `--suite LIST` [wal,ring,replay,decode,agg,flush,storage,ingest,query,peers,memory,dedup] · `--quick` ·
 * `--runtime deno|bun|both` [both]: runtime(s) of the in-process suites (wal, ring, replay, decode, agg,
 * flush) · `--series N` [100000]: series of wal, ring, replay, decode, agg, ingest · `--ingest-points N` [60] ·
 * `--concurrency LIST` [2,4] · `--wal-samples N` [5000000] · `--wal-appenders LIST` [1,2,4,8,16,64] ·
 * `--ring-pushes N` [50000000] · `--replay-samples N` [5000000] · `--agg-memory-series N` [1000000] ·
 * `--storage-series N` [10000] · `--storage-points N` [1440] · `--steady-series N` [100000] ·
 * `--query-series N` [5000]: series × `--query-days N` [1] ingested through the API by `query` ·
 * `--reps N` [200] · `--warmup N` [20] · `--sql-reps N` [10] · `--sql-deadline-s N` [300] · `--peer-query-series N`
 * [100000] · `--start-ms MS` [00:00 UTC two days ago: start of the storage dataset] · `--binary PATH`
 * [dist/stalker-storage] · `--no-compile` (use the binary as it is) · `--work-dir DIR`
 * [/tmp/stalker-bench] · `--peers-dir DIR` [../shared/bench-peers] · `--keep-data` · `--report=PATH`
 * [bench/REPORT.md] · `--no-report` · `--render DIR`: only render the report again from the results
 * directory DIR of an earlier run · `--memory-reps N` [2]: alternating runs of ours and VictoriaMetrics in
 * `memory` · `--steady-points N` [120]: rounds of the steady run in `memory` (0: none) · `--flood-budget SIZE` [384MiB]: `server.memory_limit` of the flood in `memory` · `--crash-cycles N` [20]: kill -9
 * cycles of the crash run in `dedup`.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { type Flags, listFlag, numFlag, numListFlag, parseFlags, strFlag } from "./lib/args.ts";
import { machineInfo } from "./lib/machine.ts";
import { runProcess } from "./lib/process.ts";
import { renderReport, type RunInfo, type SuiteRun } from "./lib/report.ts";
import { type Runtime, scriptCommand } from "./lib/runtime.ts";
import type { CommonOpts, SuiteOutput } from "./lib/suite.ts";

const SUITES = [
  "wal",
  "ring",
  "replay",
  "decode",
  "agg",
  "flush",
  "storage",
  "ingest",
  "query",
  "peers",
  "memory",
  "dedup",
] as const;
const IN_PROCESS = new Set(["wal", "ring", "replay", "decode", "agg", "flush"]);
const BOOLEANS = ["quick", "compile", "keep-data", "report", "help"];
const KNOWN_FLAGS = new Set([
  ...BOOLEANS,
  ...["suite", "runtime", "series", "ingest-points", "concurrency", "wal-samples", "wal-appenders", "ring-pushes"],
  ...["replay-samples", "agg-memory-series", "storage-series", "storage-points", "steady-series", "query-series"],
  ...["query-days", "reps", "warmup", "sql-reps", "sql-deadline-s"],
  ...[
    "peer-query-series",
    "start-ms",
    "binary",
    "work-dir",
    "peers-dir",
    "render",
    "memory-reps",
    "steady-points",
    "flood-budget",
    "crash-cycles",
  ],
]);
const DAY = 86_400_000;

interface Step {
  key: string;
  suite: string;
  runtime: Runtime;
  opts: CommonOpts & Record<string, unknown>;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const f = parseFlags(argv, BOOLEANS);
  if (f.help) {
    console.log(fs.readFileSync(new URL(import.meta.url), "utf8").split("@module")[0]);
    return;
  }
  const repoDir = path.resolve(new URL("..", import.meta.url).pathname);
  for (const name of Object.keys(f)) {
    if (!KNOWN_FLAGS.has(name)) throw new RangeError(`Unknown flag --${name}: see deno task bench --help`);
  }
  if (typeof f.render === "string") return await rerender(f, repoDir, path.resolve(f.render));
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const resultsDir = path.join(repoDir, "bench/results", stamp);
  const workRoot = path.resolve(strFlag(f, "work-dir", "/tmp/stalker-bench"));
  const workDir = path.join(workRoot, `run-${stamp}`);
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.mkdirSync(workDir, { recursive: true });
  const suites = listFlag(f, "suite", SUITES);
  for (const s of suites) if (!(SUITES as readonly string[]).includes(s)) throw new RangeError(`Unknown suite "${s}"`);
  const t0 = Date.now();
  const common: CommonOpts = {
    workDir,
    resultsDir,
    repoDir,
    peersDir: path.resolve(strFlag(f, "peers-dir", path.join(repoDir, "../shared/bench-peers"))),
    quick: f.quick === true,
  };
  const needsBinary = ["ingest", "query", "memory", "dedup"].some((s) => suites.includes(s));
  const binary = needsBinary ? await prepareBinary(f, repoDir, workDir) : null;
  const steps = plan(f, suites, common, binary, path.join(workRoot, "cache"));
  const info: RunInfo = {
    stamp,
    quick: common.quick,
    command: `deno task bench${argv.length ? " " + argv.join(" ") : ""}`,
    started: new Date(t0).toISOString(),
    seconds: 0,
    machine: machineInfo(repoDir, [workRoot, repoDir]),
    binary: binary ? binaryInfo(binary, f) : null,
    resultsDir: path.relative(repoDir, resultsDir),
    suites: steps.map((s) => ({ key: s.key, command: commandOf(s, repoDir) })),
  };
  const results: SuiteRun[] = [];
  for (const step of steps) results.push(await runStep(step, repoDir));
  info.seconds = Math.round((Date.now() - t0) / 1000);
  fs.writeFileSync(path.join(resultsDir, "run.json"), JSON.stringify(info, null, 1) + "\n");
  const report = renderReport(info, results);
  fs.writeFileSync(path.join(resultsDir, "REPORT.md"), report);
  await writeReport(f, repoDir, report);
  console.error(`results: ${path.relative(repoDir, resultsDir)}`);
  if (f["keep-data"] !== true) fs.rmSync(workDir, { recursive: true, force: true });
  const failed = results.filter((r) => !r.output || r.output.error);
  if (failed.length) console.error(`failed suites: ${failed.map((r) => r.key).join(", ")}`);
  process.exit(failed.length ? 1 : 0);
}

/** Writes the report where `--report=PATH` says (default bench/REPORT.md), unless `--no-report`. */
async function writeReport(f: Flags, repoDir: string, report: string): Promise<void> {
  if (f.report === false) return;
  const target = path.resolve(strFlag(f, "report", path.join(repoDir, "bench/REPORT.md")));
  fs.writeFileSync(target, report);
  // the repository's gate runs `deno fmt --check`: keep the committed report formatted
  await runProcess("deno", ["fmt", target], { timeoutMs: 60_000, cwd: repoDir });
  console.error(`report: ${path.relative(repoDir, target)}`);
}

/** `--render DIR`: renders the report again from a results directory (e.g. after changing the report). */
async function rerender(f: Flags, repoDir: string, dir: string): Promise<void> {
  const info = JSON.parse(fs.readFileSync(path.join(dir, "run.json"), "utf8")) as RunInfo;
  const runs: SuiteRun[] = info.suites.map(({ key }) => {
    const file = path.join(dir, `${key}.json`);
    const output = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) as SuiteOutput : null;
    return { key, suite: key.split(".")[0], runtime: key.split(".")[1] ?? "deno", output };
  });
  const report = renderReport(info, runs);
  fs.writeFileSync(path.join(dir, "REPORT.md"), report);
  await writeReport(f, repoDir, report);
}

/** Builds the binary (unless --no-compile) and copies it into the run's directory. */
async function prepareBinary(f: Flags, repoDir: string, workDir: string): Promise<string> {
  const source = path.resolve(strFlag(f, "binary", path.join(repoDir, "dist/stalker-storage")));
  if (f.compile !== false) {
    console.error("compiling the binary: deno task compile");
    const r = await runProcess("deno", ["task", "compile"], { timeoutMs: 900_000, cwd: repoDir, echoStderr: true });
    if (r.code !== 0) throw new Error(`deno task compile failed:\n${r.stderr.slice(-3000)}`);
  }
  if (!fs.existsSync(source)) throw new Error(`${source} is missing: run "deno task compile" or pass --binary`);
  const copy = path.join(workDir, "stalker-storage");
  fs.copyFileSync(source, copy);
  fs.chmodSync(copy, 0o755);
  return copy;
}

function binaryInfo(binary: string, f: Flags): RunInfo["binary"] {
  const st = fs.statSync(binary);
  return {
    size_mib: Math.round((st.size / 2 ** 20) * 10) / 10,
    compiled_by_this_run: f.compile !== false,
    source: strFlag(f, "binary", "dist/stalker-storage"),
  };
}

/** The steps in order: each peer part right after the suite it is compared with. */
function plan(f: Flags, suites: string[], common: CommonOpts, binary: string | null, cacheDir: string): Step[] {
  const q = common.quick;
  const n = (name: string, full: number, quick: number) => numFlag(f, name, q ? quick : full);
  const runtimes: Runtime[] = ((r) => r === "both" ? ["deno", "bun"] : [r as Runtime])(strFlag(f, "runtime", "both"));
  const series = n("series", 100_000, 100_000);
  const now = Date.now();
  const storageStart = numFlag(f, "start-ms", (Math.floor(now / DAY) - 2) * DAY);
  const ingestSeries = n("series", 100_000, 10_000);
  const ingestPoints = n("ingest-points", 60, 200);
  const ingestStart = Math.floor(now / 60_000) * 60_000 - ingestPoints * 60_000;
  const concurrency = numListFlag(f, "concurrency", [2, 4]);
  const storageSeries = n("storage-series", 10_000, 1_000);
  const storagePoints = n("storage-points", 1440, 1440);
  const reps = n("reps", 200, 50);
  const opts: Record<string, Record<string, unknown>> = {
    wal: {
      series,
      samplesPerCase: n("wal-samples", 5_000_000, 300_000),
      appenders: numListFlag(f, "wal-appenders", q ? [1, 4, 16] : [1, 2, 4, 8, 16, 64]),
      modes: ["fsync", "sync", "async"],
      modeAppenders: q ? [4] : [1, 4],
      deadlineS: q ? 60 : 300,
      startMs: storageStart,
    },
    ring: {
      series,
      pushes: n("ring-pushes", 50_000_000, 5_000_000),
      warmupRounds: q ? 5 : 10,
      measureRounds: q ? 10 : 30,
      startMs: storageStart,
    },
    replay: { series, samples: n("replay-samples", 5_000_000, 1_000_000), startMs: storageStart },
    decode: { series, points: q ? 3 : 10, passes: q ? 2 : 3 },
    agg: {
      series,
      rounds: q ? 10 : 30,
      memorySeries: n("agg-memory-series", 1_000_000, 100_000),
      sketchMemorySeries: q ? 20_000 : 100_000,
      startMs: storageStart,
    },
    flush: {
      daySeries: storageSeries,
      dayPoints: storagePoints,
      startMs: storageStart,
      steadySeries: n("steady-series", 100_000, 10_000),
      steadyFlushes: q ? 3 : 6,
    },
    storage: { series: storageSeries, points: storagePoints, reads: q ? 50 : 200, runtime: "deno" },
    ingest: {
      binary,
      series: ingestSeries,
      points: ingestPoints,
      startMs: ingestStart,
      concurrency,
      deadlineS: 1200,
    },
    query: {
      binary,
      series: n("query-series", 5_000, 1_000),
      days: n("query-days", 1, 1),
      reps,
      warmup: n("warmup", 20, 5),
      sqlReps: n("sql-reps", 10, 3),
      sqlDeadlineS: n("sql-deadline-s", 300, 60),
      cacheDir,
      vmBinary: "/usr/bin/victoria-metrics",
    },
    memory: {
      binary,
      series: ingestSeries,
      points: ingestPoints,
      startMs: ingestStart,
      concurrency: 4,
      reps: n("memory-reps", 2, 1),
      steadyPoints: n("steady-points", 120, 0),
      floodBudget: strFlag(f, "flood-budget", "384MiB"),
      floodConcurrency: 16,
      vmBinary: "/usr/bin/victoria-metrics",
    },
    dedup: { series: ingestSeries, rounds: q ? 5 : 10, crashCycles: n("crash-cycles", 20, 4) },
    peers: {
      ingestSeries,
      ingestPoints,
      ingestStartMs: ingestStart,
      ingestConcurrency: concurrency,
      storageSeries,
      storagePoints,
      storageStartMs: storageStart,
      querySeries: n("peer-query-series", 100_000, 2_000),
      reps,
      peerRoot: path.join(common.workDir, "peerbench"),
    },
  };
  const steps: Step[] = [];
  const add = (suite: string, runtime: Runtime, key: string, extra: Record<string, unknown> = {}) =>
    steps.push({ key, suite, runtime, opts: { ...common, ...opts[suite], ...extra } });
  // each peer part runs right after the suite it is compared with (same conditions, minutes apart)
  const peerAfter: Record<string, string> = { storage: "storage", ingest: "ingest", query: "query" };
  for (
    const suite of ["wal", "ring", "replay", "decode", "agg", "flush", "storage", "ingest", "query", "memory", "dedup"]
  ) {
    if (suites.includes(suite)) {
      if (IN_PROCESS.has(suite)) { for (const rt of runtimes) add(suite, rt, `${suite}.${rt}`); }
      else add(suite, "deno", suite);
    }
    const part = peerAfter[suite];
    if (part && suites.includes("peers")) add("peers", "deno", `peers.${part}`, { parts: [part] });
  }
  return steps;
}

function commandOf(s: Step, repoDir: string): string {
  const file = path.relative(repoDir, path.join(repoDir, "bench/suites", `${s.suite}.ts`));
  const [cmd, args] = scriptCommand(s.runtime, file, [
    "--opts",
    `<results>/${s.key}.opts.json`,
    "--out",
    `<results>/${s.key}.json`,
  ]);
  return `${cmd} ${args.join(" ")}`;
}

async function runStep(s: Step, repoDir: string): Promise<SuiteRun> {
  const optsFile = path.join(s.opts.resultsDir, `${s.key}.opts.json`);
  const outFile = path.join(s.opts.resultsDir, `${s.key}.json`);
  fs.writeFileSync(optsFile, JSON.stringify(s.opts, null, 1) + "\n");
  const file = path.join(repoDir, "bench/suites", `${s.suite}.ts`);
  const [cmd, args] = scriptCommand(s.runtime, file, ["--opts", optsFile, "--out", outFile]);
  console.error(`\n=== ${s.key}: ${cmd} ${args.join(" ")}`);
  const r = await runProcess(cmd, args, {
    timeoutMs: 8 * 3_600_000,
    cwd: repoDir,
    echoStderr: true,
    logFile: path.join(s.opts.resultsDir, `${s.key}.log`),
  });
  let output: SuiteOutput | null = null;
  if (fs.existsSync(outFile)) output = JSON.parse(fs.readFileSync(outFile, "utf8"));
  if (!output) {
    output = {
      suite: s.suite,
      runtime: s.runtime,
      runtime_version: "",
      started: "",
      seconds: Math.round(r.ms / 1000),
      load_average: { start: NaN, end: NaN },
      opts: s.opts,
      error: `exited with ${r.code ?? r.signal}${r.timedOut ? " (timed out)" : ""}: ${r.stderr.slice(-2000)}`,
    };
  }
  return { key: s.key, suite: s.suite, runtime: s.runtime, output };
}

if (import.meta.main) await main();
