/**
 * Where the embedded DuckDB engine's files are: the DuckDB-WASM JavaScript module, its WebAssembly
 * binary and the SQL worker script. The only place that knows how `bun build --compile` embeds them and
 * how Deno finds them in `node_modules/`.
 *
 * The compiled binary must be built with the worker as an extra entrypoint, from the repository root:
 * `bun build --compile main.ts src/query/sql_worker.ts --outfile dist/stalker-storage`.
 *
 * Both npm files are reached with `require()` of a string literal: Bun's bundler embeds what it sees
 * required (the `.wasm` with its `file` loader, exactly like `import p from "….wasm" with { type: "file" }`),
 * while `deno check` does not follow `require()`: it would fail to read a `.wasm` as source, and
 * duckdb-wasm's own type definitions would pull `@types/node` 20 into every type-checked program
 * (hiding newer Node APIs such as `zlib.crc32` from the rest of the code base).
 *
 * @module
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { runtimeName, workerUrl } from "./runtime.ts";

/** The worker entrypoint, relative to the repository root (the root of the compiled binary's files). */
export const SQL_WORKER_ENTRY = "src/query/sql_worker.ts";

/**
 * duckdb-wasm 1.28.0's node blocking build (`duckdb-node-blocking.cjs`), untyped: `src/query/sql_duckdb.ts`
 * types the parts the engine uses.
 */
export function loadDuckdbModule(): unknown {
  if (runtimeName === "bun") return require("@duckdb/duckdb-wasm/dist/duckdb-node-blocking.cjs");
  return createRequire(import.meta.url)("@duckdb/duckdb-wasm/dist/duckdb-node-blocking.cjs");
}

/**
 * Path of DuckDB-WASM's exception-handling build (`duckdb-eh.wasm`) that `fs.readFileSync` can read:
 * inside the compiled binary (`/$bunfs/root/duckdb-eh-<hash>.wasm`), else in `node_modules/`.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { duckdbWasmPath } from "./duckdb_assets.ts";
 * console.assert(fs.statSync(duckdbWasmPath()).size > 1_000_000);
 * ```
 */
export function duckdbWasmPath(): string {
  if (runtimeName === "bun") return require("@duckdb/duckdb-wasm/dist/duckdb-eh.wasm") as string;
  return fileURLToPath(import.meta.resolve("@duckdb/duckdb-wasm/dist/duckdb-eh.wasm"));
}

/**
 * What to hand `new Worker()` for the SQL worker: `sourceUrl` (the `.ts` file next to the engine)
 * when running from source, the embedded entrypoint inside a compiled binary.
 *
 * @example
 * ```ts
 * import { sqlWorkerUrl } from "./duckdb_assets.ts";
 * const url = new URL("../query/sql_worker.ts", import.meta.url);
 * console.assert(sqlWorkerUrl(url) === url); // not a compiled binary
 * ```
 */
export function sqlWorkerUrl(sourceUrl: URL): URL | string {
  return workerUrl(sourceUrl, SQL_WORKER_ENTRY);
}
