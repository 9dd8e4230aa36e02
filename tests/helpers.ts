/**
 * Shared test helpers: temporary directories, a storage service on the memory file system, and the
 * compiled binary.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfigText } from "../src/config/load.ts";
import type { Config } from "../src/config/schema.ts";
import { type Clock, FakeClock } from "../src/platform/clock.ts";
import type { FileSystem } from "../src/platform/fs.ts";
import { silentLogger } from "../src/platform/log.ts";
import { MemFs } from "../src/platform/mem_fs.ts";
import { Metrics } from "../src/platform/metrics.ts";
import { nodeFs } from "../src/platform/node_fs.ts";
import { Storage, type StorageDeps } from "../src/service/storage.ts";
import { MANIFEST_FILE } from "../src/model/paths.ts";
import { emptyManifest, type Manifest, readManifestFile } from "../src/tier/manifest.ts";

/**
 * A small configuration for tests: data in `dataDir`, an ephemeral port, fast timers.
 */
export function testConfig(dataDir: string, yaml = ""): Config {
  const config = loadConfigText(yaml, { dataDir, listen: "127.0.0.1:0" });
  // no disk reserve (32 MiB written per storage) unless the test's YAML asks for one
  if (!/\bdisk_reserve:/.test(yaml)) config.ingestion.diskReserveBytes = 0;
  return config;
}

/** The manifest of `dataDir`, or an empty one when it has none (recovery does more: `recovery.ts`). */
export async function readManifest(fs: FileSystem, dataDir: string): Promise<Manifest> {
  return (await readManifestFile(fs, path.join(dataDir, MANIFEST_FILE))) ?? emptyManifest();
}

/** A fresh temporary directory, removed when `fn` settles. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-test-"));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Resident memory as the storage service of a test sees it: a fixed, small figure. Every test storage
 * lives in one test process whose real RSS says nothing about that storage (and would let admission
 * refuse ingest when the suite's process grows); tests of the memory budget pass their own reader.
 */
export const testResidentBytes = (): number => 64 * 2 ** 20;

/**
 * A storage service as tests open it (not started): data in `/data` of `fs`, inline encoding, no
 * background jobs (a test that wants them calls `startBackground()`), a silent log and {@link testResidentBytes}; `deps` add or override.
 */
export function testStorage(fs: FileSystem, clock: Clock, yaml = "", deps: Partial<StorageDeps> = {}): Storage {
  return storageOn(testConfig("/data", yaml), fs, clock, deps);
}

/** As {@link testStorage}, on the real file system with data in `dir`. */
export function diskStorage(dir: string, clock: Clock, deps: Partial<StorageDeps> = {}): Storage {
  return storageOn(testConfig(dir), nodeFs, clock, deps);
}

function storageOn(config: Config, fs: FileSystem, clock: Clock, deps: Partial<StorageDeps>): Storage {
  return Storage.create(config, {
    residentBytes: testResidentBytes,
    fs,
    clock,
    log: silentLogger,
    metrics: new Metrics(),
    encoding: "inline",
    ...deps,
  });
}

/** A started storage service on a memory file system with a fake clock. */
export async function memStorage(
  yaml = "",
  start = Date.UTC(2026, 10, 25, 12),
  deps: Partial<StorageDeps> = {},
): Promise<{
  storage: Storage;
  fs: MemFs;
  clock: FakeClock;
  metrics: Metrics;
  config: Config;
}> {
  const fs = new MemFs();
  const clock = new FakeClock(start);
  const metrics = new Metrics();
  const config = testConfig("/data", yaml);
  const storage = testStorage(fs, clock, yaml, { metrics, ...deps });
  await storage.start();
  return { storage, fs, clock, metrics, config };
}

/** Absolute path of the compiled binary (`deno task compile`). */
export const BINARY = path.resolve(new URL("../dist/stalker-storage", import.meta.url).pathname);

/** Absolute path of the repository root. */
export const ROOT = path.resolve(new URL("..", import.meta.url).pathname);

/** A deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves once `cond()` holds, looking every millisecond of real time; fails after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
