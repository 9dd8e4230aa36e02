/**
 * Renders `bench/REPORT.md` from a run's suite results: the run's context (date, machine, disk,
 * versions, commands), the issues' targets with pass/fail, and one section per suite saying how each
 * number was measured, with the peers' figures of the same run next to ours.
 *
 * @module
 */
import type { MachineInfo } from "./machine.ts";
import type { SuiteOutput } from "./suite.ts";
import type { WalCase, WalResult } from "../suites/wal.ts";
import type { RingResult } from "../suites/ring.ts";
import type { ReplayResult } from "../suites/replay.ts";
import type { AggResult } from "../suites/agg.ts";
import type { DecodeResult } from "../suites/decode.ts";
import { type FlushResult, STALL_BARS } from "../suites/flush.ts";
import type { StorageResult } from "../suites/storage.ts";
import type { IngestResult, IngestRun } from "../suites/ingest.ts";
import type { MemoryResult, MemoryRun } from "../suites/memory.ts";
import type { DedupResult } from "../suites/dedup.ts";
import type { QueryResult, ScenarioResult } from "../suites/query.ts";
import type { PeerRun, PeersResult } from "../suites/peers.ts";
import { UNIT_COSTS } from "../../src/config/requirements.ts";
import { MEMORY_COSTS } from "../../src/config/memory_budget.ts";
import { BYTES_PER_SAMPLE } from "../../src/head/raw_log.ts";

/** The run's context. */
export interface RunInfo {
  stamp: string;
  quick: boolean;
  command: string;
  started: string;
  seconds: number;
  machine: MachineInfo;
  binary: { size_mib: number; compiled_by_this_run: boolean; source: string } | null;
  resultsDir: string;
  suites: { key: string; command: string }[];
  /** What was done to the results after the run (a suite re-run and merged in, ...), said in the header. */
  notes?: string[];
}

/** One suite execution. */
export interface SuiteRun {
  key: string;
  suite: string;
  runtime: string;
  output: SuiteOutput | null;
}

interface Target {
  issue: string;
  target: string;
  measured: string;
  pass: boolean | null;
}

type Cell = string | number;

const RUNTIMES = ["deno", "bun"] as const;

// ---------------------------------------------------------------- formatting

function int(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "—" : Math.round(v).toLocaleString("en-US");
}

function dec(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits);
}

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function pair(a: number | undefined, b: number | undefined): string {
  return `${ms(a)} / ${ms(b)}`;
}

function verdict(pass: boolean | null): string {
  return pass === null ? "n/a" : pass ? "**pass**" : "**FAIL**";
}

function table(head: string[], rows: Cell[][], right: number[] = []): string {
  const align = head.map((_, i) => (right.includes(i) ? "---:" : "---"));
  const line = (cells: Cell[]) => `| ${cells.map((c) => String(c).replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(head), `|${align.join("|")}|`, ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------- access

class Results {
  constructor(private readonly runs: SuiteRun[]) {}

  get<T>(key: string): T | undefined {
    const r = this.runs.find((x) => x.key === key);
    return r?.output?.result as T | undefined;
  }

  output(key: string): SuiteOutput | undefined {
    return this.runs.find((x) => x.key === key)?.output ?? undefined;
  }

  byRuntime<T>(suite: string): Partial<Record<(typeof RUNTIMES)[number], T>> {
    const out: Partial<Record<(typeof RUNTIMES)[number], T>> = {};
    for (const rt of RUNTIMES) {
      const v = this.get<T>(`${suite}.${rt}`);
      if (v) out[rt] = v;
    }
    return out;
  }

  peer(name: string): PeerRun | undefined {
    for (const key of ["peers.storage", "peers.ingest", "peers.query"]) {
      const r = this.get<PeersResult>(key)?.runs.find((x) => x.name === name);
      if (r) return r;
    }
    return undefined;
  }

  failures(): SuiteRun[] {
    return this.runs.filter((r) => !r.output || r.output.error);
  }

  has(suite: string): boolean {
    return this.runs.some((r) => r.suite === suite);
  }
}

/** The runtime whose figure decides a target: Bun (what ships) when measured, else Deno. */
function decisive<T>(by: Partial<Record<string, T>>): [string, T] | null {
  if (by.bun) return ["bun", by.bun];
  if (by.deno) return ["deno", by.deno];
  return null;
}

// ---------------------------------------------------------------- report

/** The whole report. */
export function renderReport(info: RunInfo, runs: SuiteRun[]): string {
  const r = new Results(runs);
  const targets: Target[] = [];
  const sections = [
    walSection(r, targets),
    ringSection(r, targets),
    replaySection(r, targets),
    decodeSection(r),
    aggSection(r, targets),
    flushSection(r, targets),
    storageSection(r),
    ingestSection(r, targets),
    memorySection(r, targets),
    dedupSection(r, targets),
    querySection(r, targets),
    unitCostsSection(r),
  ].filter((s) => s !== "");
  const parts = [
    header(info),
    "## Targets",
    "The targets of the issues (#3 durable ingest, #4 aggregation and tier files, #5 queries, #8 memory budget, #9 " +
    "data safety) that this run measured. In-process figures are the Bun runtime's (the shipped binary runs on Bun) when Bun was measured.",
    targets.length
      ? table(
        ["issue", "target", "measured", "result"],
        targets.map((t) => [t.issue, t.target, t.measured, verdict(t.pass)]),
      )
      : "No target was measured.",
    ...sections,
    commandsSection(info),
    failuresSection(r),
  ];
  return parts.filter((p) => p !== "").join("\n\n") + "\n";
}

function header(info: RunInfo): string {
  const m = info.machine;
  const lines = [
    "# stalker-storage benchmark report",
    "",
  ];
  if (info.quick) {
    lines.push(
      "> **Quick validation run** (`--quick`): far smaller sizes than the issues ask for, on a machine shared with " +
        "other work, to prove the harness end to end. These are **not the figures of record**: run `deno task bench` " +
        "(full sizes) on a quiet machine to regenerate this file.",
      "",
    );
  }
  lines.push(
    `- **Date**: ${info.started} (the run took ${Math.round(info.seconds / 60)} min)`,
    `- **Command**: \`${info.command}\` (each suite's own command is listed at the end)`,
    `- **Code**: commit \`${m.git.commit.slice(0, 12)}\` on \`${m.git.branch}\`` +
      (m.git.dirty_files
        ? `, with ${m.git.dirty_files} uncommitted files in the working tree`
        : ", clean working tree"),
    `- **Machine**: ${m.cpu}, ${m.cores} cores, ${m.ram_gib} GiB RAM, Linux ${m.kernel}, ${m.os}`,
    `- **Load average at start**: ${
      m.load_average.join(", ")
    } (1, 5, 15 min; each suite's start/end load is in its JSON)`,
    `- **Runtimes**: ${m.versions.deno}; Bun ${m.versions.bun}; Node ${m.versions.node} (load drivers)`,
    `- **Peers**: VictoriaMetrics ${
      m.versions["victoria-metrics"]
    }, Prometheus ${m.versions.prometheus} (Debian packages)`,
  );
  if (info.binary) {
    lines.push(
      `- **Binary**: \`${info.binary.source}\`, ${info.binary.size_mib} MiB, ` +
        (info.binary.compiled_by_this_run
          ? "built by this run (`deno task compile`)"
          : "used as found (`--no-compile`)") +
        ", copied into the run's directory and run from there",
    );
  }
  lines.push(`- **Results**: \`${info.resultsDir}/\` (one JSON file per suite, logs, server logs; git-ignored)`);
  for (const note of info.notes ?? []) lines.push(`- **Note**: ${note}`);
  lines.push("- **Disk** (`df -hT` of the scratch and repository directories):", "", "```", m.disk, "```");
  return lines.join("\n");
}

// ---------------------------------------------------------------- wal

function walSection(r: Results, targets: Target[]): string {
  const by = r.byRuntime<WalResult>("wal");
  const rts = RUNTIMES.filter((rt) => by[rt]);
  if (rts.length === 0) return sectionFailed(r, "wal");
  const any = by[rts[0]]!;
  const keyOf = (c: WalCase) => `${c.mode}/${c.appenders}`;
  const keys = [...new Set(rts.flatMap((rt) => by[rt]!.cases.map(keyOf)))];
  const find = (rt: string, k: string) => by[rt as "deno"]?.cases.find((c) => keyOf(c) === k);
  const rows = keys.map((k) => {
    const [mode, n] = k.split("/");
    const cells: Cell[] = [mode, n];
    for (const rt of rts) cells.push(int(find(rt, k)?.durable_samples_per_s));
    const c = find(rts[0], k)!;
    cells.push(dec(c.fsyncs_per_append, 3), pair(c.append_latency.p50_ms, c.append_latency.p99_ms), dec(c.mb_per_s, 1));
    return cells;
  });
  const d = decisive(by);
  const c4 = d?.[1].cases.find((c) => c.mode === "fsync" && c.appenders === 4);
  if (c4) {
    targets.push({
      issue: "#3",
      target: "WAL append with group fsync ≥ 3,000,000 samples/s",
      measured: `${int(c4.durable_samples_per_s)} samples/s (fsync, 4 appenders, ${d![0]})`,
      pass: c4.durable_samples_per_s >= 3_000_000,
    });
  }
  return [
    "## WAL append (`wal`)",
    `How: \`WalWriter\` (src/wal/writer.ts) on the real file system (the scratch directory, see Disk), ${
      any.series.toLocaleString("en-US")
    } ` +
    `series, ${any.batch_samples}-sample batches of one poll round resolved against a \`SeriesIndex\`; N concurrent appenders each loop ` +
    "`await append(batch)`. One round is appended (in `async` mode also flushed) untimed first. samples/s = samples / time from the first timed append until every " +
    "sample was durable per the mode (for `async`, the writer's final flush is included). fsyncs/append < 1 is group commit at work. " +
    `Append latency p50/p99 and MB/s are from the ${rts[0]} run. ${int(any.cases[0]?.samples)} samples per case.`,
    table(
      ["mode", "appenders", ...rts.map((rt) => `samples/s (${rt})`), "fsyncs/append", "append p50 / p99 ms", "MB/s"],
      rows,
      [1, 2, 3, 4, 5, 6],
    ),
  ].join("\n\n");
}

// ---------------------------------------------------------------- ring

function ringSection(r: Results, targets: Target[]): string {
  const by = r.byRuntime<RingResult>("ring");
  const rts = RUNTIMES.filter((rt) => by[rt]);
  if (rts.length === 0) return sectionFailed(r, "ring");
  const d = decisive(by)!;
  targets.push({
    issue: "#3",
    target: "ring buffer ≥ 20,000,000 pushes/s",
    measured: `${int(d[1].raw_log.pushes_per_s)} pushes/s (\`RawLog.${d[1].raw_log.method ?? "append"}\`, ${d[0]})`,
    pass: d[1].raw_log.pushes_per_s >= 20_000_000,
  });
  const h = by[rts[0]]!.head_apply;
  const row = (label: string, f: (x: RingResult) => string) => [label, ...rts.map((rt) => f(by[rt]!))];
  return [
    "## Ring buffer and head (`ring`)",
    `How: (1) \`RawLog.appendBatch\` (src/head/raw_log.ts; the path \`Head.apply\` takes) of pre-built, resolved ` +
    `1,000-sample batches; the log is ` +
    `marked flushed and evicted to ${
      by[rts[0]]!.raw_log.memory_bound_mib
    } MiB every 16 chunks inside the timed loop (bounded memory, as in ` +
    `production); ${int(by[rts[0]]!.raw_log.pushes)} pushes. (2) \`Head.apply\` (src/head/head.ts) at ${
      int(h.series)
    } series, one sample per series ` +
    `per simulated minute (real gauges and counters), ${h.warmup_rounds} rounds of warm-up then ${h.measured_rounds} timed rounds; every 5 ` +
    "simulated minutes a flush-like `cut` takes the closed 5-minute buckets and `flushed` marks the raw samples written (timed separately).",
    table(["measure", ...rts], [
      row("`RawLog.appendBatch` pushes/s", (x) => int(x.raw_log.pushes_per_s)),
      row("ns per push (batch)", (x) => dec(x.raw_log.ns_per_push, 1)),
      row("`Head.apply` samples/s (apply only)", (x) => int(x.head_apply.apply_samples_per_s)),
      row("`Head.apply` samples/s including the cuts", (x) => int(x.head_apply.total_samples_per_s)),
      row("cut every 5 min: mean / max ms", (x) => pair(x.head_apply.cut_ms_mean, x.head_apply.cut_ms_max)),
      row("closed buckets per cut", (x) => int(x.head_apply.closed_buckets_per_cut)),
      row("head memory estimate (MiB)", (x) => dec(x.head_apply.head_memory_mib, 1)),
    ], rts.map((_, i) => i + 1)),
  ].join("\n\n");
}

// ---------------------------------------------------------------- replay

function replaySection(r: Results, targets: Target[]): string {
  const by = r.byRuntime<ReplayResult>("replay");
  const rts = RUNTIMES.filter((rt) => by[rt]);
  if (rts.length === 0) return sectionFailed(r, "replay");
  const d = decisive(by)!;
  targets.push({
    issue: "#3",
    target: "WAL replay ≥ 1,000,000 samples/s",
    measured: `${int(d[1].into_head.samples_per_s)} samples/s into the head (${int(d[1].wal_samples)} samples, ${
      d[0]
    })`,
    pass: d[1].into_head.samples_per_s >= 1_000_000,
  });
  const a = by[rts[0]]!;
  const row = (label: string, f: (x: ReplayResult) => string) => [label, ...rts.map((rt) => f(by[rt]!))];
  return [
    "## WAL replay (`replay`)",
    `How: a WAL of ${int(a.wal_samples)} samples (${
      int(a.series)
    } series, 1,000-sample batches, 64 MiB segments, ${a.segments} ` +
    `segment(s), ${
      dec(a.wal_bytes_per_sample, 1)
    } bytes/sample) is written with the production writer, then replayed with \`replayWal\` ` +
    "(src/wal/reader.ts) from the page cache: into a fresh `Head` (what recovery does), and with a no-op apply (framing, CRC, " +
    "decoding and series resolution only). A cold-cache replay would also pay the disk's read speed.",
    table(["measure", ...rts], [
      row("replay into the head, samples/s", (x) => int(x.into_head.samples_per_s)),
      row("replay into the head, MB/s", (x) => dec(x.into_head.mb_per_s, 1)),
      row("decode only, samples/s", (x) => int(x.decode_only.samples_per_s)),
      row("head memory after replay (MiB, estimate)", (x) => dec(x.into_head.head_memory_mib, 1)),
    ], rts.map((_, i) => i + 1)),
  ].join("\n\n");
}

// ---------------------------------------------------------------- decode

function decodeSection(r: Results): string {
  const by = r.byRuntime<DecodeResult>("decode");
  const rts = RUNTIMES.filter((rt) => by[rt]);
  if (rts.length === 0) return sectionFailed(r, "decode");
  const a = by[rts[0]]!;
  const run = (rt: string, enc: string) => by[rt as "deno"]!.runs.find((x) => x.encoding === enc);
  const rows = ["json", "protobuf", "json_parse"].filter((enc) => run(rts[0], enc)).map((enc) => [
    enc === "json_parse" ? "JSON.parse + checks (comparison)" : enc,
    ...rts.map((rt) => dec(run(rt, enc)?.ns_per_sample, 0)),
    ...rts.map((rt) => dec(run(rt, enc)?.mb_per_s, 1)),
    dec(run(rts[0], enc)?.bytes_per_sample, 1),
  ]);
  const right = Array.from({ length: 2 * rts.length + 1 }, (_, i) => i + 1);
  return [
    "## Request decoding (`decode`)",
    `How: the dataset's 1,000-sample time-major batches (${
      int(a.series)
    } series × ${a.points} points) as JSON bodies and as ` +
    "protobuf bodies, held in memory, decoded, validated and resolved to series ids as the ingest route does it (`scanJson`, " +
    "`scanProtobuf`, one `SeriesCache` and `SeriesIndex`); one untimed pass makes every series known, then the timed passes. " +
    "`JSON.parse + checks` is the alternative to the hand-written scanner: `JSON.parse` of the body, then field checks and " +
    "series look-ups by strings into the same batch (`bench/lib/json_parse_decoder.ts`; it checks less than the scanner, " +
    "so it is a lower bound on its cost). The scanner is kept while it is faster.",
    table(
      ["encoding", ...rts.map((rt) => `ns/sample (${rt})`), ...rts.map((rt) => `MB/s (${rt})`), "bytes/sample"],
      rows,
      right,
    ),
  ].join("\n\n");
}

// ---------------------------------------------------------------- agg

function aggSection(r: Results, targets: Target[]): string {
  const by = r.byRuntime<AggResult>("agg");
  const rts = RUNTIMES.filter((rt) => by[rt]);
  if (rts.length === 0) return sectionFailed(r, "agg");
  const d = decisive(by)!;
  const on = d[1].memory.find((m) => m.what === "on");
  if (on) {
    const worst = Math.max(on.heap_bytes_per_series, on.rss_bytes_per_series);
    targets.push({
      issue: "#4",
      target: "≤ 1 KB per open series, percentiles on",
      measured: `${int(on.heap_bytes_per_series)} B heap, ${int(on.rss_bytes_per_series)} B RSS per series (${
        int(on.series)
      } series, ${d[0]})`,
      pass: worst <= 1024,
    });
  }
  const modes = ["off", "on", "sketch"];
  const label: Record<string, string> = {
    off: "percentiles off",
    on: "percentiles on (exact values kept, default)",
    sketch: "percentiles on, DDSketch per bucket (`inline: 0`)",
  };
  const cost = modes.map((m) => [
    label[m],
    ...rts.map((rt) => dec(by[rt]!.cost.find((c) => c.mode === m)?.ns_per_sample, 1)),
    ...rts.map((rt) => int(by[rt]!.cost.find((c) => c.mode === m)?.samples_per_s)),
    ...rts.map((rt) => dec(by[rt]!.cost.find((c) => c.mode === m)?.ns_per_closed_bucket, 0)),
  ]);
  const what: Record<string, string> = {
    on: "aggregator, percentiles on",
    off: "aggregator, percentiles off",
    sketch: "aggregator, DDSketch per bucket",
    series_index: "series index (identity + last value)",
  };
  const mem = d[1].memory.map((m) => [
    what[m.what] ?? m.what,
    int(m.series),
    int(m.heap_bytes_per_series),
    int(m.rss_bytes_per_series),
    m.estimate_bytes_per_series === null ? "—" : int(m.estimate_bytes_per_series),
  ]);
  return [
    "## Streaming aggregation (`agg`)",
    `How (cost): poll rounds of ${
      int(d[1].series)
    } series (one sample per series per simulated minute, real gauges and counters; ` +
    "counters aggregate their per-second rate) fed to `Aggregator.add` (src/aggregate/aggregator.ts); closed buckets are extracted every 5 " +
    "simulated minutes (`extractClosed`, timed separately, per closed bucket). The first bucket (5 rounds) is warm-up, and each setting " +
    "is run once untimed before the timed pass.",
    table(
      [
        "setting",
        ...rts.map((rt) => `ns/sample (${rt})`),
        ...rts.map((rt) => `samples/s (${rt})`),
        ...rts.map((rt) => `extract ns/bucket (${rt})`),
      ],
      cost,
      [1, 2, 3, 4, 5, 6],
    ),
    `How (memory, ${
      d[0]
    }): a fresh process per row creates N series with one open 5-minute bucket of 5 values each (a full bucket at ` +
    "60 s polling; the dataset's mix of gauges and counters) and reports the growth of the JS heap plus array buffers (`heapUsed + " +
    'external`) and of the RSS after a full GC, divided by N; "estimate" is the aggregator\'s own `memoryBytes()`. The series index row ' +
    "is what every series costs on top (identity strings, maps, last value).",
    table(["what", "series", "heap B/series", "RSS B/series", "estimate B/series"], mem, [1, 2, 3, 4]),
  ].join("\n\n");
}

// ---------------------------------------------------------------- flush and storage

function flushSection(r: Results, targets: Target[]): string {
  const by = r.byRuntime<FlushResult>("flush");
  const rts = RUNTIMES.filter((rt) => by[rt]);
  const vm = r.peer("vm_storage");
  const prom = r.peer("prom_storage");
  if (rts.length === 0 && !vm && !prom) return r.has("flush") ? sectionFailed(r, "flush") : "";
  const out: string[] = ["## Flush and bytes on disk (`flush`, peers `vm_storage`, `prom_storage`)"];
  const d = decisive(by);
  if (d) {
    const day = d[1].day;
    out.push(
      `How (throughput): the peers' dataset (${int(day.series)} series × ${int(day.points)} points at 60 s, start ` +
        `${
          new Date(day.start_ms).toISOString()
        }, the same samples as the peers' runs) is ingested in process through \`Storage.ingest\` ` +
        "(WAL `async`, buffer limit above the dataset: nothing flushes early; not timed), then one `Storage.flushNow` writes it all " +
        '(cut, Parquet encoding of raw samples and closed buckets, snapshot, manifest commit, WAL checkpoint). "steady" is live ' +
        `operation at ${
          int(d[1].steady.series)
        } series with a fake clock: every 5 simulated minutes a flush writes the last 5 minutes of raw ` +
        "samples and the bucket that just closed (first flush untimed). The stall is the longest gap of a 1 ms timer while the flush ran " +
        "(an ingest request arriving then waits at least that long).",
      table(["measure", ...rts], [
        ["day: one flush of the whole dataset (s)", ...rts.map((rt) => dec(by[rt]!.day.flush_seconds, 2))],
        ["day: rows/s (raw samples + 5-min rows)", ...rts.map((rt) => int(by[rt]!.day.rows_per_s))],
        ["day: longest event-loop stall (ms)", ...rts.map((rt) => ms(by[rt]!.day.stall.max_ms))],
        [
          "day: stall writing the load's WAL backlog first (ms; the WAL's, not the flush's)",
          ...rts.map((rt) => ms(by[rt]!.day.wal_drain_stall_ms)),
        ],
        [
          "steady: flush duration p50 / max (ms)",
          ...rts.map((rt) => pair(by[rt]!.steady.flush_ms.p50_ms, by[rt]!.steady.flush_ms.max_ms)),
        ],
        [
          "steady: raw samples + buckets per flush",
          ...rts.map((rt) => `${int(by[rt]!.steady.raw_samples_per_flush)} + ${int(by[rt]!.steady.buckets_per_flush)}`),
        ],
        ["steady: rows/s", ...rts.map((rt) => int(by[rt]!.steady.rows_per_s))],
        ["steady: longest event-loop stall (ms)", ...rts.map((rt) => ms(by[rt]!.steady.stall_max_ms))],
        ["steady: stall of the first flush, untimed (ms)", ...rts.map((rt) => ms(by[rt]!.steady.first_stall_ms))],
      ], rts.map((_, i) => i + 1)),
    );
    const st = d[1].steady;
    targets.push({
      issue: "#8",
      target: `no event-loop stall over ${STALL_BARS.steady} ms in steady flushes at ${int(st.series)} series`,
      measured: `${ms(st.stall_max_ms)} ms (${st.stalls_over_50ms} over 50 ms in ${st.flushes} flushes; first flush ${
        ms(st.first_stall_ms)
      } ms)`,
      pass: st.stall_max_ms <= STALL_BARS.steady,
    });
    targets.push({
      issue: "#8",
      target: `event-loop stall ≤ ${STALL_BARS.day} ms flushing a backfilled day (${int(day.samples)} samples)`,
      measured: `${ms(day.stall.max_ms)} ms`,
      pass: day.stall.max_ms <= STALL_BARS.day,
    });
  }
  const vmDisk = vm?.summary?.disk;
  const promDisk = prom?.summary?.disk;
  const rows: Cell[][] = [];
  if (d) {
    const day = d[1].day;
    rows.push([
      "stalker-storage raw tier (Parquet, zstd), all columns",
      dec(day.raw.bytes_per_row, 3),
      int(day.raw.bytes),
      `${day.raw.files} file(s), ${int(day.raw.rows)} rows`,
    ]);
    rows.push([
      "stalker-storage raw tier without `poll_ms`",
      dec(day.raw.bytes_per_sample_without_poll_ms, 3),
      "",
      "the peers do not store the poll duration",
    ]);
  }
  if (vmDisk) {
    rows.push([
      "VictoriaMetrics, force-merged (data + indexdb)",
      dec(vmDisk.bytes_per_sample, 3),
      int(vmDisk.bytes_total),
      `${vmDisk.parts} part(s)`,
    ]);
    rows.push([
      "VictoriaMetrics, settled without forced merge",
      dec(vmDisk.settled_without_force_merge?.bytes_per_sample, 3),
      int(vmDisk.settled_without_force_merge?.bytes),
      "",
    ]);
  }
  if (promDisk) {
    rows.push([
      "Prometheus block (promtool backfill)",
      dec(promDisk.bytes_per_sample, 3),
      int(promDisk.bytes_blocks),
      `${prom?.summary?.ingest?.blocks} block(s)`,
    ]);
  }
  if (rows.length) {
    out.push(
      "How (bytes): our figure is the size of the files the flush above wrote (from the manifest) divided by the samples; without " +
        "`poll_ms` subtracts that column's compressed chunks (from the footers). The peers' figures are `run_vm.sh` (bulk import, then " +
        "`du` of the storage directory without `cache/`) and `run_prom.sh` (promtool blocks), same dataset, same run.",
      table(["store", "bytes/sample", "bytes", "note"], rows, [1, 2]),
    );
  }
  if (d) {
    const day = d[1].day;
    const fm = day.five_min;
    out.push(
      table(["5-minute tier", "bytes/row"], [
        ["all columns", dec(fm.bytes_per_row, 2)],
        ["without the sketch column", dec(fm.bytes_per_row_without_sketch, 2)],
        ["sketch column alone", dec(fm.column_bytes_per_row.sketch, 2)],
      ], [1]),
    );
    if (vmDisk) {
      targets.push({
        issue: "#4",
        target: "raw tier ≤ VictoriaMetrics bytes/sample (same data)",
        measured: `${dec(day.raw.bytes_per_row, 3)} (${
          dec(day.raw.bytes_per_sample_without_poll_ms, 3)
        } without poll_ms) vs VM ${dec(vmDisk.bytes_per_sample, 3)}`,
        pass: day.raw.bytes_per_row <= vmDisk.bytes_per_sample,
      });
    }
    targets.push({
      issue: "#4",
      target: "5-minute row with its sketch ≤ 64 bytes",
      measured: `${dec(fm.bytes_per_row, 2)} bytes/row`,
      pass: fm.bytes_per_row <= 64,
    });
  }
  return out.join("\n\n");
}

function storageSection(r: Results): string {
  const s = r.get<StorageResult>("storage");
  if (!s) return r.has("storage") ? sectionFailed(r, "storage") : "";
  const kinds = Object.entries(s.raw.bytes_per_sample_per_kind).map((
    [k, v],
  ) => [k, dec(v.all, 3), dec(v.without_poll_ms, 3)]);
  const cols = Object.entries(s.raw.bytes_per_sample_per_column).map(([k, v]) => [k, dec(v, 3)]);
  const aggCols = Object.entries(s.five_min.bytes_per_row_per_column).map(([k, v]) => [k, dec(v, 3)]);
  return [
    "## Where the bytes go (`storage`)",
    "How: `bench/parquet_bench.ts` (the Parquet writer alone, default options, the peers' generator with its own fixed start date) " +
    "writes the raw and 5-minute tiers of the dataset, then files holding one poller kind each; column sizes are the footers' " +
    `compressed chunk sizes; reads are one series' 24 h straight from the file (no HTTP). Command: \`${s.command}\`.`,
    table(["raw tier", "value"], [
      ["bytes/sample", dec(s.raw.bytes_per_sample, 3)],
      ["bytes/sample without `poll_ms`", dec(s.raw.bytes_per_sample_without_poll_ms, 3)],
      ["writer rows/s", int(s.raw.write_rows_per_s)],
      [
        "read one series 24 h: cold / p50 / p99 ms",
        `${ms(s.raw.read_one_series_24h.cold_ms)} / ${ms(s.raw.read_one_series_24h.p50_ms)} / ${
          ms(s.raw.read_one_series_24h.p99_ms)
        }`,
      ],
      [
        "5-minute bytes/row (without sketch)",
        `${dec(s.five_min.bytes_per_row, 2)} (${dec(s.five_min.bytes_per_row_without_sketch, 2)})`,
      ],
      ["5-minute writer rows/s", int(s.five_min.write_rows_per_s)],
      [
        "5-minute read one series 24 h: cold / p50 / p99 ms",
        `${ms(s.five_min.read_one_series_24h.cold_ms)} / ${ms(s.five_min.read_one_series_24h.p50_ms)} / ${
          ms(s.five_min.read_one_series_24h.p99_ms)
        }`,
      ],
    ], [1]),
    table(["poller kind (raw)", "bytes/sample", "without `poll_ms`"], kinds, [1, 2]),
    table(["raw column", "bytes/sample"], cols, [1]),
    table(["5-minute column", "bytes/row"], aggCols, [1]),
  ].join("\n\n");
}

// ---------------------------------------------------------------- memory

function memorySection(r: Results, targets: Target[]): string {
  const res = r.get<MemoryResult>("memory");
  if (!res) return r.has("memory") ? sectionFailed(r, "memory") : "";
  const runTable = (runs: MemoryRun[]) =>
    table(
      [
        "server",
        "run",
        "samples/s",
        "CPU-s per M samples",
        "peak RSS MiB",
        "RSS after MiB",
        "p50 / p99 ms",
        "waited",
        "429 retries",
      ],
      runs.map((x) => [
        x.server,
        String(x.rep),
        x.ok ? int(x.samples_per_s) : `failed: ${x.error}`,
        dec(x.cpu_s_per_million, 2),
        dec(x.peak_rss_mib, 0),
        dec(x.rss_after_mib, 0),
        pair(x.p50_ms, x.p99_ms),
        x.waited === undefined ? "–" : int(x.waited),
        String(x.retries_429),
      ]),
    );
  // where ours' CPU goes: per thread kind, from /proc/PID/task around the load
  const threadTable = (runs: MemoryRun[]) => {
    const kinds = ["main", "worker", "gc", "jit", "other", "exited"];
    const rows = runs.filter((x) => x.server === "stalker-storage" && x.ok && x.threads);
    return rows.length === 0 ? "" : table(
      ["run", ...kinds.map((k) => `${k} CPU-s/M`)],
      rows.map((x) => [String(x.rep), ...kinds.map((k) => dec(x.threads![k] ?? 0, 2))]),
    );
  };
  const out = [
    "## The whole process next to VictoriaMetrics (`memory`)",
    `${int(res.samples)} samples (${int(res.series)} series × ${res.points} points at 60 s), the same driver ` +
    `(\`<peers>/post_lines.mjs\`, ${res.concurrency} requests in flight, a 429 waits its Retry-After and is sent again), ` +
    "the two servers alternating. Ours: the compiled binary on embedded defaults, 1,000-sample JSON documents, fsync " +
    "before every answer (group commit). VictoriaMetrics: 1,000 single-sample lines of its JSON import per request, " +
    "answered before its data is on disk. CPU from `/proc/PID/stat` around the load; peak RSS is `VmHWM`. " +
    "`waited`: requests ours held until it had room (`backpressure.max_wait`), from `/api/v1/status`.",
    runTable(res.runs),
    "Ours' CPU by thread (`/proc/PID/task` around the load): `main` the event loop (HTTP, decoding, WAL, head), " +
    "`worker` the tier worker threads (the flush's Parquet encoding, rollups), `gc` the collector's helper threads, " +
    "`jit` the compiler's, `exited` threads gone by the end (a tier worker stopped when idle near the budget):",
    threadTable(res.runs),
  ];
  const steady = res.steady;
  if (steady) {
    out.push(
      `Steady run: the same ${int(res.series)} series for ${steady.points} rounds (${
        steady.points / 60
      } hours of polling at one sample per series per minute, time-compressed), ${
        int(steady.samples)
      } samples, each server from an empty directory, alternating:`,
      runTable(steady.runs),
      threadTable(steady.runs),
    );
  }
  const f = res.flood;
  out.push(
    `Flood: ours with \`server.memory_limit: ${f.budget}\` and ${f.concurrency} clients: ${
      f.ok
        ? `${int(f.samples_per_s)} samples/s, ${f.retries_429} requests refused with 429 and sent again`
        : `failed: ${f.error}`
    }, peak RSS ${dec(f.peak_rss_mib, 0)} MiB, ${int(f.accepted ?? 0)} of ${
      int(res.samples)
    } samples counted as accepted.`,
  );
  const ours = res.runs.filter((x) => x.server === "stalker-storage" && x.ok);
  const vm = res.runs.filter((x) => x.server === "victoriametrics" && x.ok);
  if (ours.length && vm.length) {
    const worst = (xs: MemoryRun[], k: keyof MemoryRun) => Math.max(...xs.map((x) => x[k] as number));
    const best = (xs: MemoryRun[], k: keyof MemoryRun) => Math.min(...xs.map((x) => x[k] as number));
    const budget = ours[0].budget_mib ?? NaN;
    const add = (target: string, measured: string, pass: boolean) =>
      targets.push({ issue: "#8", target, measured, pass });
    add(
      `peak RSS ≤ server.memory_limit (${budget} MiB)`,
      `${worst(ours, "peak_rss_mib")} MiB`,
      worst(ours, "peak_rss_mib") <= budget,
    );
    add(
      "peak RSS ≤ 1.25 × VictoriaMetrics'",
      `${worst(ours, "peak_rss_mib")} vs ${worst(vm, "peak_rss_mib")} MiB`,
      worst(ours, "peak_rss_mib") <= 1.25 * worst(vm, "peak_rss_mib"),
    );
    add(
      "server CPU ≤ 2.0 s per million samples",
      `${best(ours, "cpu_s_per_million")} (VictoriaMetrics ${best(vm, "cpu_s_per_million")})`,
      best(ours, "cpu_s_per_million") <= 2,
    );
    add(
      "samples/s ≥ 0.8 × VictoriaMetrics'",
      `${int(worst(ours, "samples_per_s"))} vs ${int(best(vm, "samples_per_s"))}`,
      worst(ours, "samples_per_s") >= 0.8 * best(vm, "samples_per_s"),
    );
    add(
      "ack p99 ≤ VictoriaMetrics' request p99",
      `${worst(ours, "p99_ms")} vs ${worst(vm, "p99_ms")} ms`,
      worst(ours, "p99_ms") <= worst(vm, "p99_ms"),
    );
    const steadyOurs = steady?.runs.filter((x) => x.server === "stalker-storage") ?? [];
    const steadyVm = steady?.runs.filter((x) => x.server === "victoriametrics" && x.ok) ?? [];
    if (steady && steadyOurs.length && steadyVm.length) {
      const peak = worst(steadyOurs, "peak_rss_mib");
      add(
        `steady ${steady.points / 60} h: peak RSS ≤ server.memory_limit (${budget} MiB), every sample stored`,
        `${peak} MiB, ${steadyOurs.filter((x) => x.ok).length} of ${steadyOurs.length} runs complete`,
        peak <= budget && steadyOurs.every((x) => x.ok),
      );
      add(
        `steady ${steady.points / 60} h: peak RSS ≤ 1.25 × VictoriaMetrics'`,
        `${peak} vs ${worst(steadyVm, "peak_rss_mib")} MiB`,
        peak <= 1.25 * worst(steadyVm, "peak_rss_mib"),
      );
    }
    add(
      `flood at ${f.budget}: peak RSS under the budget, every sample stored`,
      `${dec(f.peak_rss_mib, 0)} MiB, ${int(f.accepted ?? 0)} of ${int(res.samples)}`,
      f.ok && f.peak_rss_mib <= (f.budget_mib ?? 0) && f.accepted === res.samples,
    );
  }
  return out.join("\n\n");
}

// ---------------------------------------------------------------- dedup

function dedupSection(r: Results, targets: Target[]): string {
  const res = r.get<DedupResult>("dedup");
  if (!res) return r.has("dedup") ? sectionFailed(r, "dedup") : "";
  targets.push({
    issue: "#9",
    target: `${res.crash.cycles} kill -9 cycles with retrying clients: every sample exactly once in every tier`,
    measured: res.crash.ok ? `passed in ${res.crash.seconds} s` : "failed",
    pass: res.crash.ok,
  });
  return [
    "## Idempotent ingest (`dedup`)",
    `In process on Deno (\`Storage.ingest\`, real file system, WAL async, no flush): ${int(res.series)} series × ` +
    `${int(res.samples / res.series)} rounds in 1,000-sample batches, first new, then the same batches again (all ` +
    "duplicates found in memory); and the duplicate check alone (`Dedup.claim`).",
    table(["measure", "value"], [
      ["`Storage.ingest`, new samples, µs/sample", dec(res.ingest_new_us_per_sample, 3)],
      ["`Storage.ingest`, re-sent samples (all duplicates), µs/sample", dec(res.ingest_resent_us_per_sample, 3)],
      ["duplicate check alone, new samples, ns/sample", int(res.claim_new_ns_per_sample)],
      ["duplicate check alone, re-sent samples, ns/sample", int(res.claim_resent_ns_per_sample)],
      ["duplicates counted on the second pass", int(res.duplicates_counted)],
      ["memory of the check, bytes per series", int(res.bytes_per_series)],
    ]),
    `Crash run: \`tests/e2e/retry_crash_test.ts\` on the compiled binary with \`RETRY_CRASH_CYCLES=${res.crash.cycles}\`` +
    ` (kill -9 at random moments, 4 clients re-sending every unacknowledged batch and, after every restart, their last ` +
    `acknowledged one): ${res.crash.ok ? "passed" : "FAILED"} in ${res.crash.seconds} s.`,
  ].join("\n\n");
}

// ---------------------------------------------------------------- ingest

function ingestSection(r: Results, targets: Target[]): string {
  const res = r.get<IngestResult>("ingest");
  const vmRuns = ["vm_ingest_c2", "vm_ingest_c4", "vm_ingest_c8", "vm_ingest_c1"].map((n) => r.peer(n)).filter((x) =>
    x
  );
  if (!res && vmRuns.length === 0) return r.has("ingest") ? sectionFailed(r, "ingest") : "";
  const out = ["## HTTP ingest (`ingest`, peer `vm_ingest_*`)"];
  if (res) {
    out.push(
      `How: the compiled binary on its embedded defaults (config below), a fresh data directory per run, ${
        int(res.series)
      } series × ` +
        `${res.points} points at 60 s ending at the start of the run (${
          int(res.samples)
        } samples), sent as 1,000-sample time-major batches ` +
        `(JSON ${dec(res.json_bytes_per_sample, 1)} B/sample, protobuf ${
          dec(res.protobuf_bytes_per_sample, 1)
        } B/sample) by a load driver on the ` +
        "same machine. samples/s = samples / the driver's wall time (first request to last answer); ack latency = per-request latency " +
        "(nearest rank); server CPU-s per million samples = utime+stime of the server (`/proc/PID/stat`) across the load, including " +
        "the flushes that ran during it, not the final flush at shutdown; peak RSS = `VmHWM`; client CPU = the driver's user+system time. " +
        "Every run is checked: `/api/v1/status` must count every sample accepted, and no rejected request other than the 429 " +
        "refusals the driver counted and sent again. `post_lines.mjs` (the driver of the " +
        "VictoriaMetrics runs) aborts on any non-2xx answer, a 429 included; `bench/post_bodies.mjs` sends a request refused with 429 " +
        "(backpressure) again after the answer's Retry-After, as a poller would: those runs give the sustained rate, their latency runs " +
        "from a request's first send to its acceptance, and the refusals are counted.",
      "Server configuration: " + Object.entries(res.config).map(([k, v]) =>
        `\`${k}\` = ${JSON.stringify(v)}`
      ).join("; ") + ".",
    );
    const rows: Cell[][] = res.runs.map((x) => [
      `stalker-storage ${x.encoding}`,
      x.driver,
      x.ok ? int(x.samples_per_s) : `failed (${x.name}, below)`,
      pair(x.ack_p50_ms, x.ack_p99_ms),
      dec(x.cpu_s_per_million, 3),
      dec(x.peak_rss_mib, 0),
      dec(x.fsyncs_per_request, 3),
      x.refused_429 === null ? "aborts" : int(x.refused_429),
      dec(x.client_cpu_s, 1),
      x.ok ? verdict(x.samples_per_s >= 1_000_000 && x.ack_p99_ms <= 20) : "**FAIL**",
    ]);
    for (const v of vmRuns) {
      const s = v!.summary;
      rows.push([
        "VictoriaMetrics time-major",
        `<peers>/post_lines.mjs --lines 1000 -c ${s?.ingest?.concurrency ?? "?"}`,
        v!.ok ? int(s.ingest.samples_per_s) : `failed (${v!.name}, below)`,
        pair(s?.ingest?.post_p50_ms, s?.ingest?.post_p99_ms),
        dec(s?.cpu?.ingest_s_per_million, 3),
        dec(s?.memory?.peak_rss_after_ingest_mib, 0),
        "no fsync",
        "aborts",
        "—",
        "peer",
      ]);
    }
    out.push(
      table(
        [
          "server",
          "driver",
          "samples/s",
          "ack p50 / p99 ms",
          "CPU-s per M samples",
          "peak RSS MiB",
          "fsyncs/request",
          "429 refusals retried",
          "client CPU s",
          "≥ 1 M/s and p99 ≤ 20 ms",
        ],
        rows,
        [2, 3, 4, 5, 6, 7, 8],
      ),
    );
    const failed = [
      ...res.runs.filter((x) => !x.ok).map((x) => [x.name, x.error ?? ""]),
      ...vmRuns.filter((v) => !v!.ok).map((v) => [v!.name, v!.error ?? ""]),
    ];
    if (failed.length) {
      out.push(failed.map(([n, e]) => `- \`${n}\` failed: ${e.split("\n")[0].slice(0, 300)}`).join("\n"));
    }
    for (const enc of ["json", "protobuf"] as const) {
      const best = res.runs.filter((x) => x.ok && x.encoding === enc).sort((a, b) =>
        b.samples_per_s - a.samples_per_s
      )[0];
      if (!best) {
        targets.push({
          issue: "#3",
          target: `HTTP ingest ${enc} ≥ 1,000,000 samples/s, fsync on`,
          measured: "failed",
          pass: false,
        });
        continue;
      }
      targets.push({
        issue: "#3",
        target: `HTTP ingest ${enc} ≥ 1,000,000 samples/s, fsync on`,
        measured: `${int(best.samples_per_s)} samples/s (best run: ${best.driver})`,
        pass: best.samples_per_s >= 1_000_000,
      });
      targets.push({
        issue: "#3",
        target: `ack p99 ≤ 20 ms (${enc})`,
        measured: `${ms(best.ack_p99_ms)} ms (same run)`,
        pass: best.ack_p99_ms <= 20,
      });
    }
    out.push(flushLatency(res.runs));
    out.push(costBudget(r, res));
  } else {
    out.push("Our `ingest` suite did not run; only the peer figures are shown in the JSON results.");
  }
  return out.join("\n\n");
}

/** The ingest path's parts measured in process, next to the server's CPU per sample. */
function costBudget(r: Results, res: IngestResult): string {
  const decode = decisive(r.byRuntime<DecodeResult>("decode"));
  const wal = decisive(r.byRuntime<WalResult>("wal"));
  const ring = decisive(r.byRuntime<RingResult>("ring"));
  const flush = decisive(r.byRuntime<FlushResult>("flush"));
  if (!decode && !wal && !ring) return "";
  const ns = (perS: number | undefined) => (perS ? 1e9 / perS : NaN);
  const walSync = wal?.[1].cases.find((c) => c.mode === "sync" && c.appenders === 4);
  const walFsync = wal?.[1].cases.find((c) => c.mode === "fsync" && c.appenders === 4);
  const rows: Cell[][] = [
    [
      `decode JSON (\`decode\`, ${decode?.[0] ?? "—"})`,
      dec(decode?.[1].runs.find((x) => x.encoding === "json")?.ns_per_sample, 0),
    ],
    [
      `decode protobuf (\`decode\`, ${decode?.[0] ?? "—"})`,
      dec(decode?.[1].runs.find((x) => x.encoding === "protobuf")?.ns_per_sample, 0),
    ],
    [
      `WAL append, \`sync\` mode, 4 appenders: encoding + write (\`wal\`, ${wal?.[0] ?? "—"})`,
      dec(ns(walSync?.durable_samples_per_s), 0),
    ],
    [
      `WAL append, \`fsync\` mode, 4 appenders: wall time per sample (\`wal\`)`,
      dec(ns(walFsync?.durable_samples_per_s), 0),
    ],
    [
      `\`Head.apply\` incl. 5-minute cuts (\`ring\`, ${ring?.[0] ?? "—"})`,
      dec(ns(ring?.[1].head_apply.total_samples_per_s), 0),
    ],
    [
      `flush: time per raw sample written, its 5-minute rows included (\`flush\` day, ${flush?.[0] ?? "—"}; ` +
      "mostly on the encoder thread)",
      dec(flush ? (flush[1].day.flush_seconds * 1e9) / flush[1].day.raw_samples : NaN, 0),
    ],
  ];
  for (const x of res.runs.filter((x) => x.ok)) {
    rows.push([`measured: server CPU per sample, ${x.name}`, dec(x.cpu_s_per_million * 1000, 0)]);
  }
  return [
    "Where an ingest request's time goes: the in-process figures of the parts of the ingest path (the runtime of the binary, Bun, " +
    "when measured), in nanoseconds per sample, next to the server's measured CPU per sample. What the parts do not explain is HTTP " +
    "(reading bodies, answering), fsync system time, flushes running meanwhile and garbage collection.",
    table(["part", "ns/sample"], rows, [1]),
  ].join("\n\n");
}

function flushLatency(runs: IngestRun[]): string {
  const logged = runs.filter((x) => x.ok && (x.during_flush || x.outside_flush));
  if (logged.length === 0) return "";
  const rows = logged.map((x) => [
    x.name,
    x.flushes.length,
    dec(x.flushes.reduce((a, w) => a + (w.end - w.start), 0) / 1000, 2),
    x.during_flush
      ? `${x.during_flush.n}: ${pair(x.during_flush.p50_ms, x.during_flush.p99_ms)}`
      : "no request overlapped a flush",
    x.outside_flush ? `${x.outside_flush.n}: ${pair(x.outside_flush.p50_ms, x.outside_flush.p99_ms)}` : "—",
  ]);
  return [
    "Ack latency while a flush runs: the runs driven by `bench/post_bodies.mjs` log every request's send time and latency; a request " +
    'counts as "during a flush" when its [send, answer] interval overlaps a flush window taken from the server\'s log ("flushing" to ' +
    '"flushed" lines, millisecond timestamps, same clock).',
    table(["run", "flushes", "flush seconds", "during a flush: n: p50 / p99 ms", "outside: n: p50 / p99 ms"], rows, [
      1,
      2,
    ]),
  ].join("\n\n");
}

// ---------------------------------------------------------------- query

function querySection(r: Results, targets: Target[]): string {
  const q = r.get<QueryResult>("query");
  if (!q) return r.has("query") ? sectionFailed(r, "query") : "";
  const out = ["## Queries (`query`)"];
  const vq = q.vm.scenarios;
  const cell = (s: ScenarioResult | undefined) =>
    !s ? "—" : s.ok ? `${pair(s.p50_ms, s.p99_ms)} (n=${s.n})` : `failed: ${String(s.error).slice(0, 100)}`;
  const [restarted, compacted] = q.phases;
  const files = (p: (typeof q.phases)[number] | undefined) =>
    p
      ? Object.entries(p.tiers).filter(([, t]) => t.files > 0).map(([k, t]) =>
        `${k}: ${t.files} files, ${int(t.rows)} rows, ${dec(t.bytes / 2 ** 20, 1)} MiB`
      ).join("; ")
      : "—";
  out.push(
    `How: ${int(q.series)} series × ${q.days} day(s) at 60 s (${int(q.samples)} samples, the peers' generator, from ${
      new Date(q.start_ms).toISOString()
    }) posted to the compiled binary through \`POST /api/v1/ingest\` (\`api_batches.jsonl\`, 1,000 samples per request, ` +
      `2 in flight: ${dec(q.ingest.wall_s, 0)} s, ${
        int(q.ingest.samples_per_s)
      } samples/s, ${q.ingest.retries_429} 429s ` +
      `retried), stopped with SIGTERM (${ms(q.ingest.shutdown_ms)} ms) and started again on its embedded defaults. ` +
      `Phase *restarted*: the files as ingest and flush wrote them (${
        files(restarted)
      }). Phase *compacted*: after an ` +
      `offline \`stalker-storage compact\` (${dec(q.compact_ms / 1000, 1)} s) and another start (${
        files(compacted)
      }). ` +
      "Requests come from `bench/query_ours.mjs` (node:http, one keep-alive connection, sequential, each answer checked " +
      "before it counts, warm-up requests untimed, p50/p99 nearest rank; *_rotate: the manifest's 20 query series, one " +
      `request each). VictoriaMetrics ${q.vm.version} got the same samples (\`vm_import.jsonl\` through ` +
      `\`/api/v1/import\`, ${dec(q.vm.ingest_wall_s, 0)} s) in the same run and was measured by the peers' ` +
      "`query_bench.mjs` (same client rules, `nocache=1`; raw = `/api/v1/export`, 5-minute = `query_range` of " +
      "`avg_over_time(…[5m])` at step 5m). The PromQL rows send the same `query_range` requests to ours " +
      "(`/prometheus`) and to VictoriaMetrics (`nocache=1`) with `bench/query_ours.mjs` (each answer a matrix with " +
      "the expected series and points; the points column of the JSON results shows both answered alike). " +
      "The machine is shared: compare within the run.",
  );
  const rows: Cell[][] = [
    ["24 h of one series, 5-minute (288 points)", "five_min_24h", "range_5m", "≤ 2 / 5"],
    ["raw 24 h of one series (1,440 samples)", "raw_24h", "raw_24h", "≤ 3 / 8"],
    ["last value (`/api/v1/series`; VM: instant query)", "last_value", "last_value", "—"],
    ["5-minute 24 h, 20 series (rotate)", "five_min_24h_rotate", "range_5m_rotate", "—"],
    ["raw 24 h, 20 series (rotate)", "raw_24h_rotate", "raw_24h_rotate", "—"],
    ["last value, 20 series (rotate)", "last_value_rotate", "last_value_rotate", "—"],
    ["SQL `GROUP BY target` over one day of `agg_5min`", "sql_group_by_day", "", "—"],
    ["PromQL `rate(<series>[5m])`, 24 h, step 5m", "promql_rate_one_24h", "promql_rate_one_24h", "—"],
    [
      "PromQL `rate()` of a device's interface octet counters, 24 h, step 5m",
      "promql_rate_device_24h",
      "promql_rate_device_24h",
      "≤ 2× VM",
    ],
    [
      "PromQL `topk(10, rate(…[5m]))` over a namespace's interfaces, 1 h, step 1m",
      "promql_topk_1h",
      "promql_topk_1h",
      "≤ 2× VM",
    ],
  ].map(([label, ours, vm, bar]) => [
    label,
    cell(restarted?.scenarios[ours]),
    cell(compacted?.scenarios[ours]),
    vm ? cell(vq[vm]) : "—",
    bar,
  ]);
  out.push(
    table(
      ["query", "ours p50 / p99 ms, restarted", "ours, compacted", "VictoriaMetrics p50 / p99 ms", "bar (issue 13)"],
      rows,
    ),
  );
  out.push(
    `SQL: \`${q.sql}\`. RSS of ours (MiB), restarted / compacted: after start-up ${
      q.phases.map((p) => dec(p.rss_mib.after_start, 0)).join(" / ")
    }, after the structured queries ${q.phases.map((p) => dec(p.rss_mib.after_queries, 0)).join(" / ")}, with ` +
      `DuckDB loaded ${q.phases.map((p) => dec(p.rss_mib.after_sql, 0)).join(" / ")}; VictoriaMetrics peak ${
        dec(q.vm.rss_mib, 0)
      }.`,
  );
  for (const p of q.phases) {
    for (
      const [name, label] of [["promql_rate_device_24h", "rate() of a device's interfaces, 24 h at 5m"], [
        "promql_topk_1h",
        "topk(10) over a namespace's interfaces, 1 h",
      ]]
    ) {
      const ours = p.scenarios[name], vm = vq[name];
      const ok = ours?.ok && vm?.ok;
      targets.push({
        issue: "#13",
        target: `PromQL ${label}, ${p.name}: p50 and p99 ≤ 2× VictoriaMetrics`,
        measured: ok
          ? `${pair(ours.p50_ms, ours.p99_ms)} ms vs VM ${pair(vm.p50_ms, vm.p99_ms)} (${
            dec(ours.p50_ms! / vm.p50_ms!, 1)
          }× / ${dec(ours.p99_ms! / vm.p99_ms!, 1)}×)`
          : "failed",
        pass: ok ? ours.p50_ms! <= 2 * vm.p50_ms! && ours.p99_ms! <= 2 * vm.p99_ms! : false,
      });
    }
    const f = p.scenarios.five_min_24h, w = p.scenarios.raw_24h;
    targets.push({
      issue: "#13",
      target: `24 h of one series (5-minute), ${p.name}: p50 ≤ 2 ms, p99 ≤ 5 ms`,
      measured: f?.ok ? `${pair(f.p50_ms, f.p99_ms)} ms` : "failed",
      pass: f?.ok ? f.p50_ms! <= 2 && f.p99_ms! <= 5 : false,
    });
    targets.push({
      issue: "#13",
      target: `24 h raw of one series, ${p.name}: p50 ≤ 3 ms, p99 ≤ 8 ms`,
      measured: w?.ok ? `${pair(w.p50_ms, w.p99_ms)} ms` : "failed",
      pass: w?.ok ? w.p50_ms! <= 3 && w.p99_ms! <= 8 : false,
    });
  }
  return out.join("\n\n");
}

// ---------------------------------------------------------------- tail

// ---------------------------------------------------------------- unit costs

/**
 * The per-unit costs `stalker-storage requirements` plans with (src/config/requirements.ts), next to
 * what this run measured, so a drift between the plan and the implementation shows.
 */
/** `query.memory_limit` default: the plan adds it to DuckDB's own RSS. */
const DEFAULT_SQL_MEMORY = 256 * 2 ** 20;

function unitCostsSection(r: Results): string {
  const c = UNIT_COSTS;
  const agg = decisive(r.byRuntime<AggResult>("agg"))?.[1];
  const mem = (what: string) => {
    const m = agg?.memory.find((x) => x.what === what);
    return m ? Math.max(m.heap_bytes_per_series, m.rss_bytes_per_series) : undefined;
  };
  const wal = decisive(r.byRuntime<WalResult>("wal"))?.[1];
  const flush = decisive(r.byRuntime<FlushResult>("flush"))?.[1];
  const query = r.get<QueryResult>("query");
  const ingest = r.get<IngestResult>("ingest");
  const tier = (t: string) => {
    const x = query?.phases[query.phases.length - 1]?.tiers[t];
    return x && x.rows > 0 ? x.bytes / x.rows : undefined;
  };
  const json = ingest?.runs.filter((x) => x.ok && x.encoding === "json") ?? [];
  const ingestCpu = json.length ? Math.min(...json.map((x) => x.cpu_s_per_million)) : undefined;
  const flushCpu = flush ? (flush.steady.flush_ms.p50_ms / 1000) * 1e6 / flush.steady.raw_samples_per_flush : undefined;
  const last = query?.phases[query.phases.length - 1];
  const duck = last ? (last.rss_mib.after_sql - last.rss_mib.after_queries) * 2 ** 20 : undefined;
  const rows: Cell[][] = [
    [
      "series in the head, B/series",
      int(MEMORY_COSTS.series),
      int(mem("series_index") === undefined || mem("on") === undefined ? undefined : mem("series_index")! + mem("on")!),
      "`agg` memory: series index + open bucket (percentiles on), max(heap, RSS) each",
    ],
    ["raw sample held, B", int(MEMORY_COSTS.rawSample), int(BYTES_PER_SAMPLE), "typed-array columns (by construction)"],
    [
      "WAL, B/sample",
      dec(c.walBytesPerSample, 1),
      wal ? dec(Math.max(...wal.cases.map((x) => x.bytes_per_sample)), 1) : "–",
      "`wal`: largest of the cases",
    ],
    ["raw tier, B/sample", dec(c.rawBytesPerSample, 2), dec(flush?.day.raw.bytes_per_row, 2), "`flush` day"],
    ["5-minute row, B", int(c.rowBytes["5min"]), dec(flush?.day.five_min.bytes_per_row, 1), "`flush` day"],
    ["hourly row, B", int(c.rowBytes.hourly), dec(tier("hourly"), 1), "`query` dataset"],
    ["daily row, B", int(c.rowBytes.daily), dec(tier("daily"), 1), "`query` dataset"],
    ["weekly row, B", int(c.rowBytes.weekly), dec(tier("weekly"), 1), "`query` dataset"],
    [
      "ingest + flush CPU-s per million samples",
      dec(c.ingestCpuSecondsPerMillion + c.flushCpuSecondsPerMillion, 1),
      dec(ingestCpu, 1),
      "`ingest`: server CPU, best JSON run (flushes included)",
    ],
    ["flush CPU-s per million samples", dec(c.flushCpuSecondsPerMillion, 1), dec(flushCpu, 1), "`flush` steady, p50"],
    [
      "DuckDB loaded and its query memory (default `query.memory_limit` 64 MiB), extra RSS MiB",
      int((c.duckdbRssBytes + DEFAULT_SQL_MEMORY) / 2 ** 20),
      duck === undefined ? "–" : int(duck / 2 ** 20),
      "`query`: RSS after the SQL scenario − before",
    ],
  ];
  return [
    "## Unit costs for `requirements`",
    "What `stalker-storage requirements` plans with (RAM: `MEMORY_COSTS` in src/config/memory_budget.ts; disk and " +
    "CPU: `UNIT_COSTS` in src/config/requirements.ts) next to what this " +
    'run measured ("–": not measured in this run). The plan should sit at or above the measured figures.',
    table(["cost", "in the plan", "measured", "from"], rows, [1, 2]),
  ].join("\n\n");
}

function commandsSection(info: RunInfo): string {
  return [
    "## Commands",
    "",
    "Each suite runs in its own process (`<results>` is the results directory above); its options are in " +
    "`<results>/<suite>.opts.json`:",
    "",
    "```",
    ...info.suites.map((s) => `${s.key}: ${s.command}`),
    "```",
  ].join("\n");
}

function failuresSection(r: Results): string {
  const f = r.failures();
  if (f.length === 0) return "";
  return [
    "## Failures",
    ...f.map((x) => `- \`${x.key}\`: ${String(x.output?.error ?? "no output").split("\n")[0].slice(0, 400)}`),
  ].join("\n");
}

function sectionFailed(r: Results, suite: string): string {
  const runs = [...RUNTIMES.map((rt) => `${suite}.${rt}`), suite].map((k) => [k, r.output(k)] as const).filter((
    [, o],
  ) => o);
  if (runs.length === 0) return "";
  return `## ${suite}\n\nThe suite failed: ${
    runs.map(([k, o]) => `\`${k}\`: ${String(o!.error ?? "").split("\n")[0].slice(0, 300)}`).join("; ")
  }`;
}
