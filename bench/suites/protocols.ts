/**
 * Suite `protocols`: the foreign ingest protocols (issue 12) side by side with VictoriaMetrics ingesting the
 * same bytes through the same protocol (Debian's `victoria-metrics` 1.79.5 accepts both).
 *
 * ```sh
 * deno run -A bench/suites/protocols.ts                       # writes bench/REPORT-protocols.md
 * deno run -A bench/suites/protocols.ts --devices 200 --rounds 5 --no-report   # a quick look
 * ```
 *
 * Data: a Telegraf `inputs.snmp`-like interface table — `--devices` (1,000) devices × `--interfaces` (10)
 * interfaces × 4 fields (`ifHCInOctets`, `ifHCOutOctets`, `ifInErrors` counters, `ifOperStatus` gauge) per
 * poll round, `--rounds` (30) rounds 60 s apart ending now: 40,000 series and 1.2 M samples by default.
 * Line-protocol bodies hold `--lines` (2,500) lines = 10,000 samples (`precision=s`); remote-write bodies hold
 * the same samples (metric `interface_<field>`, labels `agent_host`, `ifName`, `ifIndex`), snappy-compressed
 * by hyparquet-writer. Every body is built before timing; both servers get the very same bytes.
 *
 * Measured per (server, protocol), each on a fresh data directory: `--concurrency` (4) clients post every
 * body once; samples/s over the wall time of the posting, and the server's CPU (utime + stime from /proc)
 * per million samples. Ours runs with its defaults (`sync_mode: fsync`: every answer after an fsync);
 * VictoriaMetrics answers `/write` and `/api/v1/write` before its data is on disk (it buffers in memory
 * and flushes about every second), so it does less per request. Also, in process: the decoders alone
 * (`parseLineProtocol`, `RemoteWriteDecoder.decode` after snappy), ns per sample.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { create, toBinary } from "@bufbuild/protobuf";
import { WriteRequestSchema } from "../../src/gen/prometheus_remote_pb.ts";
import { snappyCompress } from "../../src/parquet/_hyparquet_writer.ts";
import { parseLineProtocol } from "../../src/ingest/influx.ts";
import { DEFAULT_MAPPING, IdentityMapper } from "../../src/ingest/mapping.ts";
import { RemoteWriteDecoder, snappyDecode } from "../../src/ingest/remote_write.ts";
import { numFlag, parseFlags, strFlag } from "../lib/args.ts";
import { cpuSeconds, loadAverage } from "../lib/proc.ts";
import { runProcess, sleep, stopPid } from "../lib/process.ts";
import { startServer } from "../lib/server.ts";

const FIELDS = ["ifHCInOctets", "ifHCOutOctets", "ifInErrors", "ifOperStatus"] as const;

interface Run {
  server: string;
  protocol: string;
  samples: number;
  bodies: number;
  body_mib: number;
  seconds: number;
  samples_per_s: number;
  cpu_s_per_million: number;
}

const flags = parseFlags(process.argv.slice(2), ["report", "compile"]);
const repoDir = path.resolve(new URL("../..", import.meta.url).pathname);
const devices = numFlag(flags, "devices", 1_000);
const interfaces = numFlag(flags, "interfaces", 10);
const rounds = numFlag(flags, "rounds", 30);
const linesPerBody = numFlag(flags, "lines", 2_500);
const concurrency = numFlag(flags, "concurrency", 4);
const binary = path.resolve(strFlag(flags, "binary", path.join(repoDir, "dist/stalker-storage")));
const workDir = path.resolve(strFlag(flags, "work-dir", "/tmp/stalker-bench-protocols"));
const reportPath = path.resolve(strFlag(flags, "report", path.join(repoDir, "bench/REPORT-protocols.md")));

/** One poll round's lines and remote-write series, in body-sized chunks. */
function buildBodies(): { lines: Uint8Array[]; remote: Uint8Array[]; samples: number } {
  const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const enc = new TextEncoder();
  const lineBodies: Uint8Array[] = [];
  const remoteBodies: Uint8Array[] = [];
  let lines: string[] = [];
  let series: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: bigint }[] }[] = [];
  let samples = 0;
  const flush = () => {
    if (lines.length === 0) return;
    lineBodies.push(enc.encode(lines.join("\n") + "\n"));
    remoteBodies.push(snappyCompress(toBinary(WriteRequestSchema, create(WriteRequestSchema, { timeseries: series }))));
    lines = [];
    series = [];
  };
  for (let r = 0; r < rounds; r++) {
    const t = end - (rounds - 1 - r) * 60_000;
    for (let d = 0; d < devices; d++) {
      for (let i = 1; i <= interfaces; i++) {
        const base = (d * interfaces + i) * 1_000_003;
        const values = [base + r * 123_457, base * 2 + r * 98_765, r * (i % 3), i % 5 === 0 ? 2 : 1];
        const host = `10.${(d >> 8) & 255}.${d & 255}.1`;
        lines.push(
          `interface,agent_host=${host},ifIndex=${i},ifName=Gi0/${i} ` +
            FIELDS.map((f, k) => `${f}=${values[k]}i`).join(",") + ` ${t / 1000}`,
        );
        FIELDS.forEach((f, k) =>
          series.push({
            labels: [
              { name: "__name__", value: `interface_${f}` },
              { name: "agent_host", value: host },
              { name: "ifIndex", value: String(i) },
              { name: "ifName", value: `Gi0/${i}` },
            ],
            samples: [{ value: values[k], timestamp: BigInt(t) }],
          })
        );
        samples += FIELDS.length;
        if (lines.length >= linesPerBody) flush();
      }
    }
    flush();
  }
  return { lines: lineBodies, remote: remoteBodies, samples };
}

/** Posts every body once with `concurrency` clients; fails on any answer that is not 2xx. */
async function drive(url: string, bodies: Uint8Array[], headers: Record<string, string>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const client = async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      for (let attempt = 0;; attempt++) {
        const res = await fetch(url, { method: "POST", body: bodies[i] as Uint8Array<ArrayBuffer>, headers });
        const text = await res.text();
        if (res.status >= 200 && res.status < 300) break;
        if ((res.status === 429 || res.status === 503) && attempt < 100) {
          await sleep(200);
          continue;
        }
        throw new Error(`POST ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return (performance.now() - t0) / 1000;
}

function run(server: string, protocol: string, pid: number, bodies: Uint8Array[], samples: number) {
  return async (url: string, headers: Record<string, string>): Promise<Run> => {
    const cpu0 = cpuSeconds(pid);
    const seconds = await drive(url, bodies, headers);
    await sleep(1500); // work the answers left behind (VictoriaMetrics flushes in the background)
    const cpu = cpuSeconds(pid) - cpu0;
    const r: Run = {
      server,
      protocol,
      samples,
      bodies: bodies.length,
      body_mib: round(bodies.reduce((a, b) => a + b.length, 0) / 2 ** 20, 1),
      seconds: round(seconds, 2),
      samples_per_s: Math.round(samples / seconds),
      cpu_s_per_million: round(cpu / (samples / 1e6), 2),
    };
    console.error(
      `${server} ${protocol}: ${r.samples_per_s.toLocaleString("en")} samples/s, ${r.cpu_s_per_million} CPU-s/M`,
    );
    return r;
  };
}

async function ours(protocol: "line" | "remote", bodies: Uint8Array[], samples: number): Promise<Run> {
  const dir = path.join(workDir, `ours-${protocol}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const server = await startServer({ binary, dataDir: dir, logFile: path.join(workDir, `ours-${protocol}.log`) });
  try {
    const measure = run(
      "stalker-storage",
      protocol === "line" ? "line protocol" : "remote-write",
      server.pid,
      bodies,
      samples,
    );
    return protocol === "line"
      ? await measure(`${server.url}/write?db=snmp&precision=s`, {})
      : await measure(`${server.url}/api/v1/write`, {
        "content-encoding": "snappy",
        "content-type": "application/x-protobuf",
      });
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function victoria(protocol: "line" | "remote", bodies: Uint8Array[], samples: number): Promise<Run> {
  const dir = path.join(workDir, `vm-${protocol}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const port = 18_600 + (protocol === "line" ? 1 : 2);
  const log = fs.openSync(path.join(workDir, `vm-${protocol}.log`), "a");
  const proc: ChildProcess = spawn("victoria-metrics", [
    `-storageDataPath=${dir}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    "-retentionPeriod=100y",
  ], { stdio: ["ignore", log, log] });
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  try {
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok).catch(() => false))) {
      if (Date.now() > deadline) throw new Error("VictoriaMetrics did not answer /health within 60 s");
      await sleep(100);
    }
    const measure = run(
      "VictoriaMetrics 1.79.5",
      protocol === "line" ? "line protocol" : "remote-write",
      proc.pid!,
      bodies,
      samples,
    );
    return protocol === "line"
      ? await measure(`http://127.0.0.1:${port}/write?db=snmp&precision=s`, {})
      : await measure(`http://127.0.0.1:${port}/api/v1/write`, {
        "content-encoding": "snappy",
        "content-type": "application/x-protobuf",
      });
  } finally {
    stopPid(proc.pid!);
    await exited;
    fs.closeSync(log);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The decoders alone, in this process: ns per sample (best of 3 passes over every body). */
function decoders(lines: Uint8Array[], remote: Uint8Array[], samples: number) {
  const nowMs = Date.now();
  const clock = { nowMs, oldestMs: 0 };
  const best = (fn: () => void) => {
    let min = Infinity;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      fn();
      min = Math.min(min, performance.now() - t0);
    }
    return round((min * 1e6) / samples, 0);
  };
  const mapper = new IdentityMapper(DEFAULT_MAPPING);
  const line = best(() => {
    for (const b of lines) parseLineProtocol(b, mapper, { database: "snmp", precision: "s", ...clock });
  });
  const rw = new RemoteWriteDecoder(new IdentityMapper(DEFAULT_MAPPING));
  const remoteNs = best(() => {
    for (const b of remote) rw.decode(snappyDecode(b, 64 << 20), clock);
  });
  return { line_ns_per_sample: line, remote_write_ns_per_sample: remoteNs };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function main(): Promise<void> {
  fs.mkdirSync(workDir, { recursive: true });
  if (flags.compile !== false && !fs.existsSync(binary)) {
    const r = await runProcess("deno", ["task", "compile"], { timeoutMs: 900_000, cwd: repoDir, echoStderr: true });
    if (r.code !== 0) throw new Error("deno task compile failed");
  }
  const load0 = loadAverage();
  console.error(`building ${(devices * interfaces * FIELDS.length * rounds).toLocaleString("en")} samples…`);
  const { lines, remote, samples } = buildBodies();
  const decode = decoders(lines, remote, samples);
  console.error(`decoders: ${JSON.stringify(decode)}`);
  const runs: Run[] = [];
  for (const protocol of ["line", "remote"] as const) {
    const bodies = protocol === "line" ? lines : remote;
    runs.push(await victoria(protocol, bodies, samples));
    runs.push(await ours(protocol, bodies, samples));
  }
  const load1 = loadAverage();
  const result = { devices, interfaces, rounds, samples, concurrency, decode, runs, load: [load0, load1] };
  fs.writeFileSync(path.join(workDir, "protocols.json"), JSON.stringify(result, null, 1) + "\n");
  if (flags.report === false) return;
  fs.writeFileSync(reportPath, render(result));
  await runProcess("deno", ["fmt", reportPath], { timeoutMs: 60_000, cwd: repoDir });
  console.error(`report: ${path.relative(repoDir, reportPath)}`);
}

function render(r: {
  samples: number;
  concurrency: number;
  decode: { line_ns_per_sample: number; remote_write_ns_per_sample: number };
  runs: Run[];
  load: number[];
}): string {
  const cpus = os.cpus();
  const rows = r.runs.map((x) =>
    `| ${x.protocol} | ${x.server} | ${
      x.samples_per_s.toLocaleString("en")
    } | ${x.cpu_s_per_million} | ${x.seconds} | ${x.bodies} × ${round(x.body_mib / x.bodies * 1024, 0)} KiB |`
  );
  const ratio = (protocol: string) => {
    const [vm, us] = ["VictoriaMetrics 1.79.5", "stalker-storage"].map((s) =>
      r.runs.find((x) => x.protocol === protocol && x.server === s)!
    );
    return `${protocol}: ${round(us.samples_per_s / vm.samples_per_s, 2)}× VictoriaMetrics' samples/s, ${
      round(us.cpu_s_per_million / vm.cpu_s_per_million, 2)
    }× its CPU per sample`;
  };
  return `# Foreign protocols: ingest side by side with VictoriaMetrics

Generated by \`deno run -A bench/suites/protocols.ts\` on ${new Date().toISOString()} (see the suite's module doc for
what it measures). Machine: ${cpus.length} × ${cpus[0]?.model ?? "?"}, ${
    round(os.totalmem() / 2 ** 30, 1)
  } GiB, Linux ${os.release()}; 1-minute load average ${r.load[0]} at the start, ${r.load[1]} at the end. **The
machine was shared** with seven other engineers' builds and tests while this ran: absolute numbers are noisy, compare
the ratios of the same run.

Data: ${r.samples.toLocaleString("en")} samples — a Telegraf \`inputs.snmp\`-like interface table (40,000 series × 30
poll rounds by default), the same samples in both protocols, every body built before timing; ${r.concurrency} clients
post every body once; the servers start on fresh data directories.

| protocol | server | samples/s | server CPU-s per M samples | seconds | bodies |
| --- | --- | ---: | ---: | ---: | --- |
${rows.join("\n")}

- ${ratio("line protocol")}
- ${ratio("remote-write")}

Decoders alone, in process (\`deno\`, best of 3 over every body; wall time, so on a loaded machine they include the
time other processes held the CPU — the servers' CPU seconds above are the better measure): line protocol ${r.decode.line_ns_per_sample} ns per
sample (\`parseLineProtocol\`, identities remembered after the first round), remote-write ${r.decode.remote_write_ns_per_sample}
ns per sample (snappy + the wire scanner \`scanWriteRequest\` + mapping).

Not the same work: stalker-storage answers each request only after its samples are in the WAL and fsynced
(\`ingestion.wal.sync_mode: fsync\`), checks every (series, timestamp) for a duplicate and keeps the 5-minute aggregates
current; VictoriaMetrics answers before its data is on disk (it buffers in memory and flushes about every second).
`;
}

await main();
