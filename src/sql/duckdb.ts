/**
 * The parts of duckdb-wasm 1.28.0 (node blocking build) and of the Apache Arrow JS objects it returns
 * that the engine uses, typed here. The package's own type definitions are not imported on purpose:
 * they pull `@types/node` 20 into every type-checked program (see `platform/duckdb_assets.ts`).
 *
 * @module
 */
import { loadDuckdbModule } from "../platform/duckdb_assets.ts";
import type { ArrowField } from "./values.ts";

/** duckdb-wasm's Emscripten module, as its runtime callbacks receive it. */
export interface WasmModule {
  ccall(name: string, returns: string | null, argTypes: string[], args: unknown[]): unknown;
  _malloc(bytes: number): number;
  HEAPF64: Float64Array;
}

/** What duckdb-wasm knows about a file it opens. */
export interface DuckdbFileInfo {
  fileId: number;
  fileName: string;
  dataProtocol: number;
  dataUrl: string | null;
}

/** The I/O callbacks DuckDB-WASM calls (duckdb-wasm's `DuckDBRuntime`), keyed by name. */
export type DuckdbRuntime = { [name: string]: unknown };

/** duckdb-wasm's `NODE_RUNTIME`: file access through `node:fs`, files by descriptor. */
export interface NodeRuntime {
  _fileInfoCache: Map<number, unknown>;
  _filesById: Map<number, number>;
  resolveFileInfo(mod: WasmModule, fileId: number): DuckdbFileInfo | null;
}

/** An Arrow table (a materialized result). */
export interface ArrowTable {
  getChild(name: string): { toArray(): ArrayLike<unknown> } | null;
}

/** An Arrow record batch. */
export interface ArrowBatch {
  numRows: number;
  schema: { fields: ArrowField[] };
  getChildAt(index: number): { get(row: number): unknown } | null;
}

/** A synchronous Arrow record batch reader; its class has `RecordBatchReader.from`. */
export interface ArrowReader extends Iterable<ArrowBatch> {
  readAll(): unknown;
}

/** A database (duckdb-wasm's `DuckDBBindings`). */
export interface DuckdbBindings {
  instantiate(onProgress: () => void): Promise<unknown>;
  open(config: { path?: string; maximumThreads?: number }): void;
  connect(): DuckdbConnection;
  getVersion(): string;
  tokenize(text: string): { offsets: number[]; types: number[] };
  startPendingQuery(conn: number, text: string): Uint8Array | null;
  pollPendingQuery(conn: number): Uint8Array | null;
  cancelPendingQuery(conn: number): boolean;
}

/** A connection (duckdb-wasm's `DuckDBConnection`). */
export interface DuckdbConnection {
  query(text: string): ArrowTable;
  send(text: string): Promise<ArrowReader>;
  useUnsafe<R>(callback: (bindings: DuckdbBindings, conn: number) => R): R;
}

/** The main file slot of a bundle (duckdb-wasm's `DuckDBBundles` entry). */
export interface DuckdbBundle {
  mainModule: string;
  mainWorker: string;
}

/** The module `duckdb-node-blocking.cjs`. */
export interface DuckdbModule {
  createDuckDB(
    bundles: { mvp: DuckdbBundle; eh: DuckdbBundle },
    logger: object,
    runtime: DuckdbRuntime,
  ): Promise<DuckdbBindings>;
  VoidLogger: new () => object;
  NODE_RUNTIME: NodeRuntime & DuckdbRuntime;
  ResultStreamIterator: new (bindings: DuckdbBindings, conn: number, header: Uint8Array) => Iterable<Uint8Array>;
  DuckDBDataProtocol: { NODE_FS: number };
  FileFlags: {
    FILE_FLAGS_WRITE: number;
    FILE_FLAGS_FILE_CREATE: number;
    FILE_FLAGS_FILE_CREATE_NEW: number;
    FILE_FLAGS_APPEND: number;
  };
  readString(mod: WasmModule, ptr: number, length: number): string;
}

let loaded: DuckdbModule | null = null;

/** duckdb-wasm's module, loaded on first use. */
export function duckdbModule(): DuckdbModule {
  loaded ??= loadDuckdbModule() as DuckdbModule;
  return loaded;
}

/**
 * Makes `db` instantiate its WebAssembly from `bytes` (the binary's packed copy, unpacked in memory)
 * instead of reading its bundle's file. The steps are those of duckdb-wasm 1.28.0's
 * `DuckDBNodeBindings.instantiateWasm` (pinned in deno.json): publish the runtime's functions as
 * `globalThis.DUCKDB_RUNTIME` for the WebAssembly's imports, then `WebAssembly.instantiate`. Call it
 * before `db.instantiate()`, which binds the method.
 */
export function instantiateFromBytes(db: DuckdbBindings, bytes: Uint8Array): void {
  type Done = (instance: WebAssembly.Instance, module: WebAssembly.Module) => void;
  const bindings = db as unknown as {
    _runtime: object;
    instantiateWasm(imports: WebAssembly.Imports, done: Done): unknown[];
  };
  bindings.instantiateWasm = function (this: { _runtime: object }, imports: WebAssembly.Imports, done: Done) {
    const published: Record<string, unknown> = {};
    for (const name of Object.getOwnPropertyNames(this._runtime)) {
      if (name !== "constructor") published[name] = Object.getOwnPropertyDescriptor(this._runtime, name)?.value;
    }
    (globalThis as { DUCKDB_RUNTIME?: unknown }).DUCKDB_RUNTIME = published;
    void WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, imports).then((r) => done(r.instance, r.module));
    return [];
  };
}
