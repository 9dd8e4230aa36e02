/**
 * The compiled binary as a server under test: started on `127.0.0.1:0` (the OS picks a free port,
 * read back from its "listening" log line), waited for until `/readyz` answers 200, stopped by its
 * PID (SIGTERM, then SIGKILL after a grace period). Its stderr (the structured log) is kept in
 * memory and in a file, so flush windows can be read from it.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import process from "node:process";
import { sleep } from "./process.ts";

/** A running server. */
export interface Server {
  pid: number;
  url: string;
  /** The log lines written so far. */
  log(): string[];
  /** Stops the server; resolves with its exit code and how long the shutdown took. */
  stop(graceMs?: number): Promise<{ code: number | string; ms: number }>;
}

/** Options of {@link startServer}. */
export interface ServerOptions {
  binary: string;
  dataDir: string;
  /** Extra arguments (e.g. `--config FILE`). */
  args?: string[];
  logFile: string;
  readyTimeoutMs?: number;
}

/** Starts the binary with `serve --data-dir DIR --listen 127.0.0.1:0`. */
export async function startServer(o: ServerOptions): Promise<Server> {
  const args = ["serve", "--data-dir", o.dataDir, "--listen", "127.0.0.1:0", ...(o.args ?? [])];
  const proc = spawn(o.binary, args, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", STALKER_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let partial = "";
  const logFd = fs.openSync(o.logFile, "a");
  const onData = (c: Uint8Array) => {
    fs.writeSync(logFd, c);
    partial += new TextDecoder().decode(c);
    const parts = partial.split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const state: { exit: { code: number | string } | null } = { exit: null };
  const exited = new Promise<void>((resolve) =>
    proc.on("close", (code, signal) => {
      state.exit = { code: code ?? signal ?? -1 };
      fs.closeSync(logFd);
      resolve();
    })
  );
  const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
  let url = "";
  while (!url) {
    if (state.exit) throw new Error(`${o.binary} exited (${state.exit.code}) before listening:\n${lines.join("\n")}`);
    if (Date.now() > deadline) {
      kill(proc);
      throw new Error(`${o.binary} did not listen within the deadline:\n${lines.join("\n")}`);
    }
    const m = lines.map((l) => /listening .*url=(http:\/\/127\.0\.0\.1:\d+)/.exec(l)).find((x) => x);
    if (m) url = m[1];
    else await sleep(20);
  }
  await waitReady(url, deadline, () => state.exit !== null);
  return {
    pid: proc.pid!,
    url,
    log: () => lines,
    stop: async (graceMs = 120_000) => {
      const t0 = performance.now();
      if (!state.exit) process.kill(proc.pid!, "SIGTERM");
      const timer = setTimeout(() => kill(proc), graceMs);
      await exited;
      clearTimeout(timer);
      return { code: state.exit?.code ?? -1, ms: performance.now() - t0 };
    },
  };
}

async function waitReady(url: string, deadline: number, dead: () => boolean): Promise<void> {
  while (Date.now() < deadline && !dead()) {
    try {
      const res = await fetch(`${url}/readyz`);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not accepting yet
    }
    await sleep(50);
  }
  throw new Error(`${url} did not become ready`);
}

function kill(proc: ChildProcess): void {
  try {
    process.kill(proc.pid!, "SIGKILL");
  } catch {
    // already gone
  }
}

/** GETs `url` and parses JSON, failing on a non-200 answer. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Flush windows [start, end] (Unix ms) from the server's log ("flushing" … "flushed" lines). */
export function flushWindows(lines: readonly string[]): { start: number; end: number; detail: string }[] {
  const out: { start: number; end: number; detail: string }[] = [];
  let open: number | null = null;
  for (const l of lines) {
    const m = /^(\S+) \w+ (flushing|flushed|flush failed)\b(.*)$/.exec(l);
    if (!m) continue;
    const t = Date.parse(m[1]);
    if (m[2] === "flushing") open = t;
    else if (open !== null) {
      out.push({ start: open, end: t, detail: m[3].trim() });
      open = null;
    }
  }
  return out;
}
