/**
 * What the report says about the machine and the software: CPU, cores, RAM, kernel, disk (`df`),
 * runtime and peer versions, the git commit (read-only git commands) and the binary measured.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";

/** The machine and software of a run. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  ram_gib: number;
  kernel: string;
  os: string;
  disk: string;
  load_average: number[];
  versions: Record<string, string>;
  git: { commit: string; dirty_files: number; branch: string };
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : "";
}

/** Collects the machine's description; `dirs` are the directories whose file systems matter. */
export function machineInfo(repoDir: string, dirs: string[]): MachineInfo {
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  const mem = /MemTotal:\s+(\d+) kB/.exec(fs.readFileSync("/proc/meminfo", "utf8"));
  const osRelease = fs.existsSync("/etc/os-release") ? fs.readFileSync("/etc/os-release", "utf8") : "";
  return {
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown",
    cores: Number(sh("nproc", [])) || os.cpus().length,
    ram_gib: mem ? Math.round((Number(mem[1]) / 2 ** 20) * 10) / 10 : NaN,
    kernel: sh("uname", ["-r"]),
    os: /PRETTY_NAME="?([^"\n]+)"?/.exec(osRelease)?.[1] ?? os.type(),
    disk: sh("df", ["-hT", ...new Set(dirs)]),
    load_average: os.loadavg().map((x) => Math.round(x * 100) / 100),
    versions: {
      deno: sh("deno", ["--version"]).split("\n")[0],
      bun: sh("bun", ["--version"]),
      node: sh("node", ["--version"]),
      "victoria-metrics": sh("dpkg-query", ["-W", "-f=${Version}", "victoria-metrics"]) || "not installed",
      prometheus: sh("dpkg-query", ["-W", "-f=${Version}", "prometheus"]) || "not installed",
    },
    git: {
      commit: sh("git", ["-C", repoDir, "rev-parse", "HEAD"]),
      branch: sh("git", ["-C", repoDir, "rev-parse", "--abbrev-ref", "HEAD"]),
      dirty_files: sh("git", ["-C", repoDir, "status", "--porcelain"]).split("\n").filter((l) => l.trim()).length,
    },
  };
}
