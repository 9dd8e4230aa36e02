/**
 * The release check: a full ingest → query → SQL cycle on each release binary that this machine can run
 * (`deno task release` runs it after building; `deno task release:smoke [TARGET...]` alone). linux-x64
 * runs natively; linux-arm64 under `qemu-aarch64 -L /usr/aarch64-linux-gnu` (Debian `qemu-user`,
 * `libc6-arm64-cross`); linux-x64-musl under Debian's musl loader (`musl`) with Debian's libstdc++
 * bridged by `scripts/musl_glibc_shim.c` (built with `musl-gcc`, package `musl-tools`) — see
 * {@link muslRuntime}.
 *
 * tests/e2e/release_test.ts runs the musl cycle and a lean arm64 one (no SQL) in the suite: under
 * emulation the first SQL query (DuckDB's WebAssembly compiled by an emulated JIT) alone takes about a
 * minute on a loaded 2-core machine.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import process from "node:process";
import path from "node:path";
import { VERSION } from "../src/version.ts";
import { RELEASE_TARGETS } from "./compile.ts";

const root = new URL("../", import.meta.url).pathname;

/** How a binary is started here: a command before it (an emulator) and environment variables. */
export interface Launch {
  prefix: string[];
  env: Record<string, string>;
  /** Under qemu-user, which reports a guest's clean exit after a handled SIGTERM as death by SIGTERM. */
  emulated: boolean;
  /** Removes what was made to run it. */
  cleanup(): void;
}

const MUSL_LOADER = "/lib/ld-musl-x86_64.so.1";

/**
 * The libraries Bun's musl runtime needs beyond musl (it links `libstdc++.so.6`), in a new directory for
 * `LD_LIBRARY_PATH`: on a musl system none (its own libstdc++); on glibc Debian, links to Debian's
 * `libstdc++.so.6` and `libgcc_s.so.1` and `scripts/musl_glibc_shim.c` compiled with `musl-gcc` as the
 * `ld-linux-x86-64.so.2` they need. Returns why it cannot, as a string.
 */
export function muslRuntime(): { dir: string } | string {
  if (!fs.existsSync(MUSL_LOADER)) return `no musl loader ${MUSL_LOADER} (apt-get install musl)`;
  const gnu = "/usr/lib/x86_64-linux-gnu";
  const stdcxx = [`${gnu}/libstdc++.so.6`, `/lib/x86_64-linux-gnu/libgcc_s.so.1`];
  for (const f of stdcxx) if (!fs.existsSync(f)) return `no ${f} (apt-get install libstdc++6)`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-musl-"));
  for (const f of stdcxx) fs.symlinkSync(f, path.join(dir, path.basename(f)));
  const cc = spawnSync("musl-gcc", [
    "-shared",
    "-fPIC",
    "-O2",
    "-Wall",
    "-Werror",
    "-o",
    path.join(dir, "ld-linux-x86-64.so.2"),
    `${root}scripts/musl_glibc_shim.c`,
  ], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return cc.error ? "no musl-gcc (apt-get install musl-tools)" : `musl-gcc failed: ${cc.stderr}`;
  }
  return { dir };
}

/** How to run a target's binary here, or why it cannot run. */
export function launcher(target: string): Launch | string {
  const plain = (prefix: string[], emulated = false): Launch => ({ prefix, env: {}, emulated, cleanup() {} });
  if (target === "linux-x64") return os.arch() === "x64" ? plain([]) : "not an x86-64 machine";
  if (target === "linux-arm64") {
    if (os.arch() === "arm64") return plain([]);
    if (!fs.existsSync("/usr/aarch64-linux-gnu/lib")) {
      return "no /usr/aarch64-linux-gnu (apt-get install libc6-arm64-cross)";
    }
    return plain(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"], true);
  }
  if (target === "linux-x64-musl") {
    if (os.arch() !== "x64") return "not an x86-64 machine";
    const rt = muslRuntime();
    if (typeof rt === "string") return rt;
    return {
      prefix: [],
      env: { LD_LIBRARY_PATH: rt.dir },
      emulated: false,
      cleanup: () => fs.rmSync(rt.dir, { recursive: true, force: true }),
    };
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

/** What {@link smoke} runs beyond start, ingest, query and SIGTERM. */
export interface SmokeOptions {
  /** The SQL step (the first SQL query loads DuckDB's WebAssembly: about a minute under emulation). */
  sql: boolean;
  /** Called with the data directory after the binary stopped, before it is removed. */
  afterStop?: (dataDir: string) => void;
}

/** Runs the cycle on one binary; returns the timings (seconds) or throws. */
export async function smoke(
  binary: string,
  launch: Launch,
  options: SmokeOptions = { sql: true },
): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-smoke-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  fs.writeFileSync(path.join(dir, "storage.yaml"), "ingestion:\n  flush:\n    interval: 1s\nquery:\n  timeout: 10m\n");
  const [cmd, ...args] = [...launch.prefix, binary];
  const proc = spawn(cmd, [
    ...args,
    "serve",
    "--config",
    path.join(dir, "storage.yaml"),
    "--data-dir",
    path.join(dir, "data"),
    "--listen",
    `127.0.0.1:${port}`,
  ], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...launch.env } });
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
    if (options.sql) {
      // the flush (every second) writes the raw tier that SQL reads
      await until("SQL count 60", 600_000, async () => {
        const res = await fetch(`${url}/api/v1/sql`, { method: "POST", body: "SELECT count(*) AS n FROM raw" });
        const body = await res.json();
        if (res.status !== 200) throw new Error(JSON.stringify(body));
        return Number(body.rows?.[0]?.[0]) === 60 ? true : null;
      });
      lap("sql_s");
    }
    process.kill(proc.pid!, "SIGTERM");
    const code = await exited;
    // qemu-user 7.2 reports a guest that handled SIGTERM and called exit_group(0) (qemu-aarch64 -strace
    // shows it; a 3-line Bun script does the same) as killed by SIGTERM: there the log must show the end
    const clean = code === 0 || (launch.emulated && code === "SIGTERM" && /storage stopped/.test(stderr));
    if (!clean) throw new Error(`exit ${code} after SIGTERM`);
    lap("stopped_s");
    options.afterStop?.(path.join(dir, "data"));
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
        const via = how.prefix.length ? `(${how.prefix[0]}) ` : how.env.LD_LIBRARY_PATH ? "(musl loader) " : "";
        console.log(`${name}: ok ${via}${JSON.stringify(t)}`);
      } catch (err) {
        console.log(`${name}: FAILED: ${(err as Error).message}`);
        failed = true;
      } finally {
        how.cleanup();
      }
    }
  }
  Deno.exit(failed ? 1 : 0);
}
