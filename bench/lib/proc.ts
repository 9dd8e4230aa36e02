/**
 * Process accounting from `/proc` (Linux), the same way the peers' `common.sh` does it: CPU time is
 * utime + stime of `/proc/PID/stat` (fields 14 and 15, in clock ticks), memory is `VmHWM` (peak
 * resident set) and `VmRSS` of `/proc/PID/status`.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";

let ticks = 0;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux). */
export function clockTicks(): number {
  if (ticks === 0) {
    const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    ticks = Number(r.stdout?.trim()) || 100;
  }
  return ticks;
}

/** utime + stime of process `pid` in seconds (its threads included). */
export function cpuSeconds(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = line.slice(line.lastIndexOf(") ") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / clockTicks();
}

/** A `kB` field of `/proc/PID/status` (`VmHWM`, `VmRSS`) in MiB, or NaN. */
export function statusMiB(pid: number, key: "VmHWM" | "VmRSS"): number {
  const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The 1-minute load average (a noise indicator on a shared machine). */
export function loadAverage(): number {
  return Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/**
 * CPU seconds of process `pid`'s live threads, by kind: `main` (the thread whose id is the pid), `worker`
 * (threads named `Worker`: Bun's worker threads), `gc` (the collector's helper threads), `jit` (the
 * compiler's), `other`. Threads that have exited are not listed (`/proc/PID/task` forgets them; their
 * time stays in {@link cpuSeconds}).
 */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = { main: 0, worker: 0, gc: 0, jit: 0, other: 0 };
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let name: string, line: string;
    try {
      name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      line = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const rest = line.slice(line.lastIndexOf(") ") + 2).split(" ");
    const s = (Number(rest[11]) + Number(rest[12])) / clockTicks();
    const kind = tid === String(pid)
      ? "main"
      : name === "Worker"
      ? "worker"
      : /HeapHelper|Collector|ollector Thread/.test(name)
      ? "gc"
      : /JIT|JSCWarmUp/.test(name)
      ? "jit"
      : "other";
    out[kind] += s;
  }
  return out;
}
