/**
 * Drives the compiled binary: start it on a free loopback port, wait for it to listen, stop it with a
 * signal or `kill -9`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { emptyManifest, encodeManifest } from "../../src/tier/manifest.ts";
import { BINARY } from "../helpers.ts";

/** A running binary. */
export interface RunningBinary {
  proc: ChildProcess;
  port: number;
  url: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves with the exit code (or signal name) when the process ends. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

/** Asserts that the binary was built, with a message saying how. */
export function requireBinary(): void {
  if (!fs.existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "deno task compile" first`);
}

/** Starts the binary with `args` (plus `--listen 127.0.0.1:0`) and waits until it listens. */
export function startBinary(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; binary?: string; timeoutMs?: number; waitReady?: boolean } =
    {},
): Promise<RunningBinary> {
  requireBinary();
  const proc = spawn(options.binary ?? BINARY, [...args, "--listen", "127.0.0.1:0"], {
    cwd: options.cwd,
    env: options.env ?? {},
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<number | string>((resolve) => {
    proc.on("exit", (code, signal) => resolve(code ?? signal ?? -1));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`binary did not start listening within ${options.timeoutMs ?? 20_000} ms:\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    proc.stdout!.on("data", () => {});
    proc.stderr!.on("data", (chunk: Uint8Array) => {
      stderr += new TextDecoder().decode(chunk);
      const m = /listening .*url=http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m && timer) {
        clearTimeout(timer);
        const port = Number(m[1]);
        const ready = options.waitReady === false ? Promise.resolve() : waitReady(`http://127.0.0.1:${port}`);
        ready.then(() =>
          resolve({
            proc,
            port,
            url: `http://127.0.0.1:${port}`,
            stderr: () => stderr,
            stop: (signal = "SIGTERM", timeoutMs = 20_000) => {
              process.kill(proc.pid!, signal);
              return Promise.race([
                exited,
                new Promise<never>((_, rej) =>
                  setTimeout(() => {
                    proc.kill("SIGKILL");
                    rej(new Error(`binary did not exit within ${timeoutMs} ms after ${signal}:\n${stderr}`));
                  }, timeoutMs)
                ),
              ]);
            },
          }), reject);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`binary exited with ${code} before listening:\n${stderr}`));
    });
  });
}

/** Runs the binary to completion and returns its exit code and output. */
export function runBinary(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  requireBinary();
  const r = spawnSync(BINARY, args, { cwd: options.cwd, env: options.env ?? {}, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Polls `/readyz` until the server has finished recovery. */
export async function waitReady(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${url}/readyz`);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs} ms`);
}

/**
 * Makes `data` a data directory as versions before 2026-12-07 created it: empty, with every watermark
 * at 0 (a new directory now starts them at its creation, so imported history skips the rollups). For
 * tests of rollups over history on the binary.
 */
export function legacyDataDir(data: string): void {
  fs.mkdirSync(data, { recursive: true });
  const m = emptyManifest();
  m.watermarks = { "5min": 0, hourly: 0, daily: 0, weekly: 0 };
  fs.writeFileSync(path.join(data, "MANIFEST.json"), encodeManifest(m));
}
