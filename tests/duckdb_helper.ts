/**
 * Test-only access to DuckDB-WASM 1.28.0 (DuckDB 0.9.1, Parquet reader built in), node blocking
 * build, to check that outside engines read what stalker-storage writes. One database per test
 * process, opened on first use with extension auto-install and auto-load off (they would reach for
 * the internet).
 *
 * Local files are read by path (`read_parquet('/tmp/…/x.parquet')`); bytes that only exist in memory
 * (a MemFs file) are registered under a name first. DuckDB caches what it read under a name: use a
 * new name (or path) for new content.
 *
 * @example
 * ```ts ignore
 * import { duckQuery, duckRegisterFile } from "./duckdb_helper.ts";
 * await duckRegisterFile("mem.parquet", bytes);
 * const rows = await duckQuery("SELECT count(*) AS n FROM read_parquet('mem.parquet')");
 * ```
 */

/**
 * The module is imported by a computed specifier on purpose: its type definitions pull in
 * `@types/node@20.3.0`, which replaces Deno's Node types for the whole type-checked program (and
 * hides `zlib.zstdCompressSync`, `zlib.crc32`, ...). These few declarations are all the helper needs.
 */
const DUCKDB_MODULE = "@duckdb/duckdb-wasm/dist/duckdb-node-blocking.cjs";

interface ArrowTable {
  toArray(): { toJSON(): Record<string, unknown> }[];
}

interface Duck {
  db: { registerFileBuffer(name: string, buffer: Uint8Array): void; reset(): void };
  conn: { query(sql: string): ArrowTable; close(): void };
}

interface DuckModule {
  createDuckDB(bundles: unknown, logger: unknown, runtime: unknown): Promise<
    Duck["db"] & {
      instantiate(progress: () => void): Promise<unknown>;
      open(config: object): void;
      connect(): Duck["conn"];
    }
  >;
  VoidLogger: new () => unknown;
  NODE_RUNTIME: unknown;
}

let duck: Promise<Duck> | null = null;

async function open(): Promise<Duck> {
  const duckdb: DuckModule = await import(DUCKDB_MODULE);
  const wasm = new URL(import.meta.resolve("@duckdb/duckdb-wasm/dist/duckdb-eh.wasm")).pathname;
  const bundles = { mvp: { mainModule: wasm, mainWorker: "" }, eh: { mainModule: wasm, mainWorker: "" } };
  const db = await duckdb.createDuckDB(bundles, new duckdb.VoidLogger(), duckdb.NODE_RUNTIME);
  await db.instantiate(() => {});
  db.open({});
  const conn = db.connect();
  conn.query("SET autoinstall_known_extensions=false");
  conn.query("SET autoload_known_extensions=false");
  return { db, conn };
}

function ready(): Promise<Duck> {
  duck ??= open();
  return duck;
}

/**
 * Runs `sql` and returns its rows as plain objects (BIGINT/UBIGINT as bigint, TIMESTAMP as Unix ms,
 * BLOB as Uint8Array; cast DECIMAL to DOUBLE or VARCHAR in SQL to read it).
 */
export async function duckQuery(sql: string): Promise<Record<string, unknown>[]> {
  const { conn } = await ready();
  const table = conn.query(sql);
  return table.toArray().map((row) => ({ ...row.toJSON() }));
}

/** Makes `bytes` readable by DuckDB as the file `name`. */
export async function duckRegisterFile(name: string, bytes: Uint8Array): Promise<void> {
  const { db } = await ready();
  db.registerFileBuffer(name, bytes);
}

/** Closes the database (the next query opens a new one). */
export async function duckClose(): Promise<void> {
  if (!duck) return;
  const { db, conn } = await duck;
  duck = null;
  conn.close();
  db.reset();
}
