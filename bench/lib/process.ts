/**
 * Child processes with a deadline. Every process the bench starts is stopped by its own PID: on
 * timeout it gets SIGTERM, then SIGKILL.
 *
 * @module
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import process from "node:process";

/** How a child process ended. */
export interface ProcessResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Options of {@link runProcess}. */
export interface RunOptions {
  timeoutMs: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Copy the child's stderr to ours as it comes (progress). */
  echoStderr?: boolean;
  /** Also append stdout and stderr to this file. */
  logFile?: string;
}

/** Runs `cmd` to completion (or until `timeoutMs`, then kills it by PID). */
export function runProcess(cmd: string, args: readonly string[], opts: RunOptions): Promise<ProcessResult> {
  const t0 = performance.now();
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = opts.logFile ? fs.openSync(opts.logFile, "a") : null;
  let stdout = "", stderr = "", timedOut = false;
  child.stdout!.on("data", (c: Uint8Array) => {
    stdout += new TextDecoder().decode(c);
    if (log !== null) fs.writeSync(log, c);
  });
  child.stderr!.on("data", (c: Uint8Array) => {
    stderr += new TextDecoder().decode(c);
    if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
    if (log !== null) fs.writeSync(log, c);
    if (opts.echoStderr) process.stderr.write(c);
  });
  const timer = setTimeout(() => {
    timedOut = true;
    stopPid(child.pid!);
  }, opts.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (log !== null) fs.closeSync(log);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
  });
}

/** The last line of `stdout` parsed as JSON (the convention of every script the bench calls). */
export function lastJsonLine<T>(r: ProcessResult, what: string): T {
  if (r.code !== 0 || r.timedOut) {
    const why = r.timedOut ? "timed out" : `exited with ${r.code ?? r.signal}`;
    throw new Error(`${what} ${why}: ${r.stderr.trim().split("\n").slice(-8).join("\n")}`);
  }
  const lines = r.stdout.trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    throw new Error(`${what} printed no JSON summary: ${r.stdout.slice(-500)}`);
  }
}

/** SIGTERM to `pid`, then SIGKILL after `graceMs` if it is still alive. Never by name. */
export function stopPid(pid: number, graceMs = 10_000): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  const t = setTimeout(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }, graceMs);
  (t as { unref?: () => void }).unref?.();
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
