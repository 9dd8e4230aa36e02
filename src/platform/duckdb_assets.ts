/**
 * Where the embedded DuckDB engine's files are: the DuckDB-WASM JavaScript module, its WebAssembly
 * binary and the SQL worker script. The only place that knows how `bun build --compile` embeds them and
 * how Deno finds them in `node_modules/`.
 *
 * The compiled binary must be built with the worker as an extra entrypoint, from the repository root:
 * `bun build --compile main.ts src/sql/worker.ts --outfile dist/stalker-storage`.
 *
 * The npm module and the packed WebAssembly are reached with `require()` of a string literal: Bun's
 * bundler embeds what it sees required (the `.zst` with its `file` loader, `--loader .zst:file`),
 * while `deno check` does not follow `require()`: it would fail to read a `.wasm` as source, and
 * duckdb-wasm's own type definitions would pull `@types/node` 20 into every type-checked program
 * (hiding newer Node APIs such as `zlib.crc32` from the rest of the code base).
 *
 * @module
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { runtimeName, workerUrl } from "./runtime.ts";

/** The worker entrypoint, relative to the repository root (the root of the compiled binary's files). */
export const SQL_WORKER_ENTRY = "src/sql/worker.ts";

/**
 * duckdb-wasm 1.28.0's node blocking build (`duckdb-node-blocking.cjs`), untyped: `src/sql/duckdb.ts`
 * types the parts the engine uses.
 */
export function loadDuckdbModule(): unknown {
  if (runtimeName === "bun") return require("@duckdb/duckdb-wasm/dist/duckdb-node-blocking.cjs");
  return createRequire(import.meta.url)("@duckdb/duckdb-wasm/dist/duckdb-node-blocking.cjs");
}

/** DuckDB-WASM's exception-handling build (`duckdb-eh.wasm`): a file to read, or its bytes. */
export type DuckdbWasm = { path: string } | { bytes: Uint8Array };

/**
 * DuckDB-WASM's WebAssembly. From source: the file in `node_modules/`. In the compiled binary:
 * `scripts/compile.ts` embeds it zstd-compressed (`dist/duckdb-eh.wasm.zst`, 18 MB → 3.4 MB), and it is
 * unpacked here, in memory, when the SQL worker starts DuckDB (the first SQL query; it costs tens of
 * milliseconds beside the WebAssembly compilation that follows).
 *
 * @example
 * ```ts
 * import { duckdbWasm } from "./duckdb_assets.ts";
 * const wasm = duckdbWasm();
 * console.assert("path" in wasm); // not a compiled binary
 * ```
 */
export function duckdbWasm(): DuckdbWasm {
  if (runtimeName === "bun") {
    const packed = fs.readFileSync(require("../../dist/duckdb-eh.wasm.zst") as string);
    return { bytes: new Uint8Array(zstdDecompress(packed)) };
  }
  return { path: fileURLToPath(import.meta.resolve("@duckdb/duckdb-wasm/dist/duckdb-eh.wasm")) };
}

/** zstd decompression of `node:zlib` (Bun and Node ≥ 22.15; not in every runtime's type definitions). */
function zstdDecompress(data: Uint8Array): Uint8Array {
  return (zlib as unknown as { zstdDecompressSync(d: Uint8Array): Uint8Array }).zstdDecompressSync(data);
}

/**
 * What to hand `new Worker()` for the SQL worker: `sourceUrl` (the `.ts` file next to the engine)
 * when running from source, the embedded entrypoint inside a compiled binary.
 *
 * @example
 * ```ts
 * import { sqlWorkerUrl } from "./duckdb_assets.ts";
 * const url = new URL("../sql/worker.ts", import.meta.url);
 * console.assert(sqlWorkerUrl(url) === url); // not a compiled binary
 * ```
 */
export function sqlWorkerUrl(sourceUrl: URL): URL | string {
  return workerUrl(sourceUrl, SQL_WORKER_ENTRY);
}
