/**
 * Builds the single binary `dist/stalker-storage` with `bun build --compile` (Bun's runtime comes from
 * the npm package; `scripts/release.ts` builds the other targets). Uses a local `bun` of the pinned version when present, else
 * `npx -y bun@<pinned>`.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import zlib from "node:zlib";

export const BUN_VERSION = "1.4.5";
const root = new URL("../", import.meta.url).pathname;

/** The `bun` command line: a local bun of the pinned version, else `npx -y bun@<pinned>`. */
export function bunCommand(): string[] {
  const local = spawnSync("bun", ["--version"], { encoding: "utf8" });
  if (local.status === 0 && local.stdout.trim() === BUN_VERSION) return ["bun"];
  return ["npx", "-y", `bun@${BUN_VERSION}`];
}

/** Where {@link packDuckdbWasm} writes DuckDB's WebAssembly, zstd-compressed (embedded instead of the 18 MB file). */
export const PACKED_WASM = "dist/duckdb-eh.wasm.zst";
const WASM_SOURCE = "node_modules/@duckdb/duckdb-wasm/dist/duckdb-eh.wasm";
/** zstd level: 9 packs the 18 MB to 3.4 MB in ~1 s (19: 2.9 MB in ~20 s, not worth it beside a 100 MB runtime). */
const ZSTD_LEVEL = 9;

/**
 * Writes {@link PACKED_WASM} from DuckDB-WASM's `duckdb-eh.wasm` unless it is up to date (same source size
 * and mtime, recorded beside it). `src/platform/duckdb_assets.ts` embeds it and unpacks it in memory on
 * the first SQL query.
 */
export function packDuckdbWasm(): void {
  const src = `${root}${WASM_SOURCE}`;
  const out = `${root}${PACKED_WASM}`;
  const st = fs.statSync(src);
  const stamp = `${st.size} ${st.mtimeMs} ${ZSTD_LEVEL}`;
  if (fs.existsSync(out) && fs.existsSync(`${out}.stamp`) && fs.readFileSync(`${out}.stamp`, "utf8") === stamp) return;
  fs.mkdirSync(`${root}dist`, { recursive: true });
  const packed = zlib.zstdCompressSync(fs.readFileSync(src), {
    params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
  });
  fs.writeFileSync(out, packed);
  fs.writeFileSync(`${out}.stamp`, stamp);
}

/** Bun's targets of the release binaries (`deno task release`), by the name they get in `dist/release/`. */
export const RELEASE_TARGETS: Readonly<Record<string, string>> = {
  "linux-x64": "bun-linux-x64",
  "linux-x64-musl": "bun-linux-x64-musl",
  "linux-arm64": "bun-linux-arm64",
};

/**
 * The `bun build --compile` arguments for `entrypoints` (the first is the program; workers follow) into
 * `outfile`, for Bun's `target` (default: this machine). Cross targets download their runtime from the
 * npm registry (`@oven/bun-<os>-<arch>[-musl]` of {@link BUN_VERSION}), like the local one.
 */
export function buildArgs(entrypoints: string[], outfile: string, target?: string): string[] {
  return [
    "build",
    "--compile",
    ...(target ? [`--target=${target}`] : []),
    "--minify-syntax",
    "--minify-whitespace",
    "--sourcemap=none",
    // sketches-js's own toProto/fromProto need an undeclared protobufjs; we encode sketches ourselves
    // (src/model/bin_sketch.ts) and never call them, so the lazy require stays unresolved.
    "--external",
    "protobufjs/minimal",
    // the packed DuckDB WebAssembly is embedded as a file (src/platform/duckdb_assets.ts)
    "--loader",
    ".zst:file",
    ...entrypoints,
    "--outfile",
    outfile,
  ];
}

/** The program's entrypoints: main, and the worker threads (Bun embeds a worker only as an entrypoint). */
export const ENTRYPOINTS = [
  "main.ts",
  // DuckDB runs in a worker thread
  "src/sql/worker.ts",
  // flush output is encoded to Parquet on a worker thread too
  "src/tier/tier_worker.ts",
];

/** Builds one binary; exits the process on failure. Returns its size in bytes. */
export function compile(outfile: string, target?: string): number {
  packDuckdbWasm();
  fs.mkdirSync(`${root}${outfile.slice(0, outfile.lastIndexOf("/"))}`, { recursive: true });
  const [cmd, ...pre] = bunCommand();
  const started = Date.now();
  const r = spawnSync(cmd, [...pre, ...buildArgs(ENTRYPOINTS, outfile, target)], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`bun build --compile${target ? ` --target=${target}` : ""} failed (exit ${r.status})`);
    Deno.exit(1);
  }
  const size = fs.statSync(`${root}${outfile}`).size;
  console.log(`built ${outfile} (${(size / 2 ** 20).toFixed(1)} MiB) in ${Date.now() - started} ms`);
  return size;
}

if (import.meta.main) compile("dist/stalker-storage");
