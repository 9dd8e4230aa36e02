/**
 * What the operating system says about this process: resident memory (now and its high-water mark),
 * CPU time, open file descriptors, and the JavaScript heap. Read from `/proc/self` on Linux (the
 * figures users see in `top` and systemd's `MemoryMax`), with `process.memoryUsage()` and
 * `process.cpuUsage()` where `/proc` is missing.
 *
 * @module
 */
import fs from "node:fs";
import process from "node:process";

/** One reading. Bytes and seconds. */
export interface ProcessStats {
  residentBytes: number;
  /** Peak resident memory since start (`VmHWM`); equals `residentBytes` where unknown. */
  residentPeakBytes: number;
  cpuSeconds: number;
  /** Open file descriptors, or -1 where unknown. */
  openFds: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory of ArrayBuffers and other objects outside the JavaScript heap. */
  externalBytes: number;
}

const PAGE = 4096;
let procWorks = true;

/**
 * Resident memory now, in bytes: one small read of `/proc/self/statm` (a few microseconds), so
 * admission can afford it often.
 *
 * @example
 * ```ts
 * import { residentBytes } from "./process_stats.ts";
 * if (!(residentBytes() > 0)) throw new Error();
 * ```
 */
export function residentBytes(): number {
  if (procWorks) {
    try {
      const statm = fs.readFileSync("/proc/self/statm", "latin1");
      return Number(statm.split(" ")[1]) * PAGE;
    } catch {
      procWorks = false;
    }
  }
  return process.memoryUsage.rss();
}

/**
 * A full reading (for `/metrics` and `/api/v1/status`).
 *
 * @example
 * ```ts
 * import { readProcessStats } from "./process_stats.ts";
 * const s = readProcessStats();
 * if (s.residentPeakBytes < s.residentBytes || s.cpuSeconds < 0) throw new Error();
 * ```
 */
export function readProcessStats(): ProcessStats {
  const mem = process.memoryUsage();
  const status = procStatus();
  const resident = status.VmRSS ?? mem.rss;
  const cpu = process.cpuUsage();
  return {
    residentBytes: resident,
    residentPeakBytes: Math.max(status.VmHWM ?? resident, resident),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    openFds: openFds(),
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    externalBytes: mem.external,
  };
}

function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  if (!procWorks) return out;
  try {
    for (const line of fs.readFileSync("/proc/self/status", "latin1").split("\n")) {
      const m = /^(Vm\w+):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]] = Number(m[2]) * 1024;
    }
  } catch {
    procWorks = false;
  }
  return out;
}

function openFds(): number {
  try {
    return fs.readdirSync("/proc/self/fd").length - 1; // minus the descriptor of the listing itself
  } catch {
    return -1;
  }
}
