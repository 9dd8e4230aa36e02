/**
 * The binary's size bar, and the release binaries of the other poller boxes run here: linux-x64-musl under
 * Debian's musl loader (Debian's libstdc++ bridged, scripts/release_smoke.ts muslRuntime) through a full
 * ingest → query → SQL → SIGTERM cycle, and linux-arm64 under qemu-user through a lean one (no SQL: the
 * first SQL query under emulation takes about a minute; `deno task release` runs it), whose flushed Parquet
 * the x86-64 binary then reads with DuckDB. Each builds its binary first (`bun build --compile --target`).
 */
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { BINARY, ROOT } from "../helpers.ts";
import { requireBinary, runBinary } from "./binary.ts";
import { compile, RELEASE_TARGETS } from "../../scripts/compile.ts";
import { launcher, smoke } from "../../scripts/release_smoke.ts";

/** Bun's runtime alone (linux-x64, 1.4.5) is 102.4 MiB; DuckDB's WebAssembly unpacked would add 17.3 MiB more. */
const MAX_BINARY_MIB = 112;

test(`the binary stays under ${MAX_BINARY_MIB} MiB: DuckDB's WebAssembly is embedded compressed`, () => {
  requireBinary();
  const mib = fs.statSync(BINARY).size / 2 ** 20;
  assert.ok(mib <= MAX_BINARY_MIB, `dist/stalker-storage is ${mib.toFixed(1)} MiB`);
});

/** Builds the release binary of `target` into dist/test/ and returns its path. */
function releaseBinary(target: string): string {
  // not dist/release/: its SHA256SUMS names the binaries of the last `deno task release`
  const file = `dist/test/stalker-storage-${target}`;
  compile(file, RELEASE_TARGETS[target]);
  return path.join(ROOT, file);
}

/** The ELF program interpreter (PT_INTERP) of a 64-bit little-endian executable. */
function interpreter(file: string): string {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(64);
    fs.readSync(fd, head, 0, 64, 0);
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (ph.readUInt32LE(i * phentsize) !== 3) continue; // PT_INTERP
      const off = Number(ph.readBigUInt64LE(i * phentsize + 8));
      const size = Number(ph.readBigUInt64LE(i * phentsize + 32));
      const s = Buffer.alloc(size);
      fs.readSync(fd, s, 0, size, off);
      return s.toString("latin1").replace(/\0+$/, "");
    }
    return "";
  } finally {
    fs.closeSync(fd);
  }
}

test("linux-x64-musl release binary: ingest → query → SQL → SIGTERM under Debian's musl loader", async () => {
  const binary = releaseBinary("linux-x64-musl");
  assert.equal(interpreter(binary), "/lib/ld-musl-x86_64.so.1", "a musl program");
  const how = launcher("linux-x64-musl");
  // a missing musl or musl-gcc fails the test (Debian packages musl, musl-tools), it never skips
  if (typeof how === "string") assert.fail(`cannot run the musl binary here: ${how}`);
  try {
    const t = await smoke(binary, how, { sql: true });
    assert.ok(t.sql_s > 0 && t.stopped_s >= t.sql_s, JSON.stringify(t));
  } finally {
    how.cleanup();
  }
});

test("linux-arm64 release binary under qemu: start, ingest, query, SIGTERM in < 90 s; x86-64 DuckDB reads its Parquet", async () => {
  const binary = releaseBinary("linux-arm64");
  assert.equal(interpreter(binary), "/lib/ld-linux-aarch64.so.1", "an arm64 glibc program");
  const how = launcher("linux-arm64");
  if (typeof how === "string") assert.fail(`cannot run the arm64 binary here: ${how}`);
  const started = Date.now();
  let counted = "";
  const t = await smoke(binary, how, {
    sql: false,
    afterStop: (data) => {
      // the shutdown flush wrote the raw tier: the native binary's SQL (Parquet only, no WAL) sees all 60
      const r = runBinary(["sql", "SELECT count(*) AS n FROM raw WHERE namespace = 'smoke'", "--data-dir", data]);
      assert.equal(r.status, 0, r.stderr);
      counted = r.stdout;
    },
  });
  const seconds = (Date.now() - started) / 1000;
  assert.match(counted, /\b60\b/, counted);
  assert.ok(seconds < 90, `the arm64 cycle took ${seconds} s: ${JSON.stringify(t)}`);
});
