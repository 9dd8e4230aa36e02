/**
 * Real clients in end-to-end tests: free loopback ports, a scrape target serving a Prometheus text page,
 * and child processes (vmagent, Prometheus, collectd, snmpd) that must exist — a missing client fails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A scrape target: `page(n)` is the text served at the n-th scrape (1-based). */
export async function scrapeTarget(page: (n: number) => string): Promise<{
  port: number;
  scrapes(): number;
  close(): Promise<void>;
}> {
  let n = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    n++;
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(page(n));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    scrapes: () => n,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A running client process. */
export interface Client {
  proc: ChildProcess;
  /** Whether it has exited. */
  exited(): boolean;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `command`; fails at once when it cannot be started (a missing client fails the test). */
export function startClient(command: string, args: string[]): Promise<Client> {
  const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout!.on("data", (c: Uint8Array) => (output += new TextDecoder().decode(c)));
  proc.stderr!.on("data", (c: Uint8Array) => (output += new TextDecoder().decode(c)));
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    proc.on(
      "error",
      (err) => reject(new Error(`${command} cannot run (is its Debian package installed?): ${err.message}`)),
    );
    proc.on("spawn", () =>
      resolve({
        proc,
        exited: () => proc.exitCode !== null || proc.signalCode !== null,
        output: () => output,
        stop: async () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
          const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(timer);
        },
      }));
  });
}

/** Polls `check` every 200 ms until it answers true, at most `timeoutMs`; then throws with `what`. */
export async function waitFor(what: () => string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out: ${what()}`);
}

/** Polls `url` every 100 ms until it answers 200, at most `timeoutMs`; then throws. */
export async function waitHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}
