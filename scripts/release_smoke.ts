/**
 * The release check: a full ingest → query → SQL cycle on each release binary that this machine can run
 * (`deno task release` runs it after building; `deno task release:smoke [TARGET...]` alone). linux-x64
 * runs natively; linux-arm64 under `qemu-aarch64 -L /usr/aarch64-linux-gnu` (Debian `qemu-user`,
 * `libc6-arm64-cross`); linux-x64-musl needs a musl loader and a musl `libstdc++`, which Debian does not
 * ship, so it is reported as not run (never as passed).
 *
 * Not part of `deno task test`: under emulation the first SQL query (DuckDB's WebAssembly compiled by an
 * emulated JIT) alone takes about a minute on a loaded 2-core machine.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import process from "node:process";
import path from "node:path";
import { VERSION } from "../src/version.ts";
import { RELEASE_TARGETS } from "./compile.ts";

const root = new URL("../", import.meta.url).pathname;

/** How to run a target's binary here, or why it cannot run. */
function launcher(target: string): string[] | string {
  if (target === "linux-x64") return os.arch() === "x64" ? [] : "not an x86-64 machine";
  if (target === "linux-arm64") {
    if (os.arch() === "arm64") return [];
    if (!fs.existsSync("/usr/aarch64-linux-gnu/lib")) {
      return "no /usr/aarch64-linux-gnu (apt-get install libc6-arm64-cross)";
    }
    return ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"];
  }
  if (target === "linux-x64-musl") {
    if (!fs.existsSync("/lib/ld-musl-x86_64.so.1")) {
      return "no musl loader /lib/ld-musl-x86_64.so.1 and no musl libstdc++";
    }
    return [];
  }
  return "unknown target";
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${ms / 1000} s`);
}

/** Runs the cycle on one binary; returns the timings (seconds) or throws. */
export async function smoke(binary: string, prefix: string[]): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-smoke-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  fs.writeFileSync(path.join(dir, "storage.yaml"), "ingestion:\n  flush:\n    interval: 1s\nquery:\n  timeout: 10m\n");
  const [cmd, ...args] = [...prefix, binary];
  const proc = spawn(cmd, [
    ...args,
    "serve",
    "--config",
    path.join(dir, "storage.yaml"),
    "--data-dir",
    path.join(dir, "data"),
    "--listen",
    `127.0.0.1:${port}`,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (c) => (stderr += c));
  const exited = new Promise<number | string>((r) => proc.on("exit", (code, signal) => r(code ?? signal ?? -1)));
  const t: Record<string, number> = {};
  const started = Date.now();
  const lap = (name: string) => (t[name] = (Date.now() - started) / 1000);
  try {
    await until("ready", 300_000, async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : null));
    lap("ready_s");
    const from = Date.now() - 3_600_000;
    const samples = Array.from({ length: 60 }, (_, m) => ({
      namespace: "smoke",
      target: "box",
      poller: "cpu",
      timestamp_ms: from + m * 60_000,
      value: m,
    }));
    const ing = await fetch(`${url}/api/v1/ingest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ samples }),
    });
    if (ing.status !== 200) throw new Error(`ingest answered ${ing.status}: ${await ing.text()}`);
    const q = await (await fetch(`${url}/api/v1/query?namespace=smoke&tier=raw&from=${from}&to=${Date.now()}`)).json();
    const n = q.series?.[0]?.samples?.length;
    if (n !== 60) throw new Error(`query returned ${n} samples, expected 60`);
    lap("query_s");
    // the flush (every second) writes the raw tier that SQL reads
    await until("SQL count 60", 600_000, async () => {
      const res = await fetch(`${url}/api/v1/sql`, { method: "POST", body: "SELECT count(*) AS n FROM raw" });
      const body = await res.json();
      if (res.status !== 200) throw new Error(JSON.stringify(body));
      return Number(body.rows?.[0]?.[0]) === 60 ? true : null;
    });
    lap("sql_s");
    process.kill(proc.pid!, "SIGTERM");
    const code = await exited;
    if (code !== 0) throw new Error(`exit code ${code} after SIGTERM`);
    lap("stopped_s");
    return t;
  } catch (err) {
    proc.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${stderr.slice(-2000)}`);
  } finally {
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const names = Deno.args.length > 0 ? Deno.args : Object.keys(RELEASE_TARGETS);
  let failed = false;
  for (const name of names) {
    const binary = `${root}dist/release/stalker-storage-${VERSION}-${name}`;
    const how = launcher(name);
    if (!fs.existsSync(binary)) {
      console.log(`${name}: FAILED: ${binary} is missing (deno task release ${name})`);
      failed = true;
    } else if (typeof how === "string") {
      console.log(`${name}: NOT RUN: ${how}`);
    } else {
      try {
        const t = await smoke(binary, how);
        console.log(`${name}: ok ${how.length ? `(${how[0]}) ` : ""}${JSON.stringify(t)}`);
      } catch (err) {
        console.log(`${name}: FAILED: ${(err as Error).message}`);
        failed = true;
      }
    }
  }
  Deno.exit(failed ? 1 : 0);
}
