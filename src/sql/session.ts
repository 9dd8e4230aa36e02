/**
 * One DuckDB-WASM database inside the SQL worker: loaded with the file jail, configured read-only,
 * and running one query at a time over freshly defined views. Runs synchronously (duckdb-wasm's
 * node blocking build): only ever inside the worker thread.
 *
 * @module
 */
import { duckdbWasm } from "../platform/duckdb_assets.ts";
import {
  type ArrowBatch,
  type DuckdbBindings,
  type DuckdbConnection,
  duckdbModule,
  instantiateFromBytes,
} from "./duckdb.ts";
import { FileAllowList, sandboxRuntime } from "./sandbox.ts";
import { describeSql, runSql, singleQuery } from "./statement.ts";
import { valueConverter } from "./values.ts";
import { dropViewSql, quoteString, viewFiles, viewSql } from "./views.ts";
import type { SqlColumn, SqlSkippedFile, SqlValue, SqlView } from "./types.ts";
import { SqlError } from "./errors.ts";

/** What a session is opened with. */
export interface SessionOptions {
  memoryLimitBytes: number;
  allowedRoot: string;
}

/** One query for {@link SqlSession.run}. */
export interface SessionQuery {
  sql: string;
  views: SqlView[];
  maxRows: number;
  timeoutMs: number;
}

/** The rows of a query, `truncated` when there were more than `maxRows`; `skipped` damaged files. */
export interface SessionAnswer {
  columns: SqlColumn[];
  rows: SqlValue[][];
  truncated: boolean;
  skipped: SqlSkippedFile[];
}

/**
 * DuckDB's messages for a file it cannot decode (a damaged footer, page header or compressed page),
 * as opposed to mistakes in the query (Binder, Parser, Catalog, Conversion, ... errors).
 */
const DAMAGE_ERROR =
  /^(Invalid Error|IO Error|Invalid Input Error|Internal Error|Serialization Error):|parquet|zstd|snappy|gzip|decompress|thrift|corrupt/i;
/**
 * A PIVOT without an `IN` list makes DuckDB first run statements of its own (it collects the values
 * into a new ENUM type), which a read-only single query cannot do; with the list it is one query.
 */
const PIVOT_NEEDS_IN = "PIVOT needs the values to pivot on listed: PIVOT … ON column IN ('a', 'b') USING …; " +
  "without IN, DuckDB first creates a type from the data, which read-only SQL does not allow";
/** At most this many rounds of finding damaged files and running the query again. */
const MAX_DAMAGE_ROUNDS = 4;

/** The query reached its deadline and was cancelled. */
export class DeadlineError extends Error {
  constructor() {
    super("Cannot finish SQL query: its deadline passed");
    this.name = "DeadlineError";
  }
}

/** The caller's views are unusable (a file links outside the data directory). */
export class ViewInputError extends TypeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ViewInputError";
  }
}

/**
 * Settings applied right after opening, before anything else runs. No extension is ever fetched or
 * loaded; spilling to disk is off (nothing may be written); `lock_configuration` comes last so no query
 * can change any of them back. `enable_external_access` must stay on: DuckDB 0.9.1 will not scan
 * Parquet without it; the file jail (sql_sandbox.ts) takes its place.
 */
export function sessionSettings(memoryLimitBytes: number): string[] {
  return [
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    `SET memory_limit = '${Math.floor(memoryLimitBytes)}b'`,
    "SET threads = 1",
    "SET temp_directory = ''",
    "SET enable_object_cache = true",
    "SET enable_progress_bar = false",
    "SET lock_configuration = true",
  ];
}

type ReaderFrom = (chunks: Iterable<Uint8Array>) => Iterable<ArrowBatch>;

/** A loaded DuckDB. */
export class SqlSession {
  readonly #allow: FileAllowList;
  readonly #db: DuckdbBindings;
  readonly #conn: DuckdbConnection;
  readonly #readerFrom: ReaderFrom;
  readonly #root: string;
  /** The `CREATE VIEW` each view was last created with, by lower-case name. */
  readonly #views = new Map<string, string>();
  /**
   * Files found damaged (their error) and files read whole without error. Tier files are immutable and
   * their names never reused, so a verdict holds for the session.
   */
  readonly #damaged = new Map<string, string>();
  readonly #verified = new Set<string>();

  private constructor(
    allow: FileAllowList,
    db: DuckdbBindings,
    conn: DuckdbConnection,
    readerFrom: ReaderFrom,
    root: string,
  ) {
    this.#allow = allow;
    this.#db = db;
    this.#conn = conn;
    this.#readerFrom = readerFrom;
    this.#root = root;
  }

  /** Loads DuckDB-WASM inside the file jail and applies {@link sessionSettings}. */
  static async open(options: SessionOptions): Promise<SqlSession> {
    const allow = new FileAllowList();
    const duckdb = duckdbModule();
    const wasm = duckdbWasm();
    const bundle = { mainModule: "path" in wasm ? wasm.path : "duckdb-eh.wasm", mainWorker: "" };
    const db = await duckdb.createDuckDB({ mvp: bundle, eh: bundle }, new duckdb.VoidLogger(), sandboxRuntime(allow));
    if ("bytes" in wasm) instantiateFromBytes(db, wasm.bytes);
    await db.instantiate(() => {});
    db.open({ path: ":memory:", maximumThreads: 1 });
    const conn = db.connect();
    for (const setting of sessionSettings(options.memoryLimitBytes)) conn.query(setting);
    return new SqlSession(allow, db, conn, await arrowReaderFrom(conn), options.allowedRoot);
  }

  /** DuckDB's version, e.g. `v0.9.1`. */
  get version(): string {
    return this.#db.getVersion();
  }

  /**
   * Runs one query; throws `SqlError`, `DeadlineError`, `ViewInputError` or DuckDB's own error. A view
   * file DuckDB cannot read is left out and named in `skipped`: when creating a view or running the
   * query fails with a damage error, the files of the views are checked one by one (each at most once
   * per session) and the query runs again without the damaged ones.
   */
  run(query: SessionQuery): SessionAnswer {
    const deadline = performance.now() + query.timeoutMs;
    try {
      this.#allow.set(this.#viewFiles(query.views));
      const sql = singleQuery(query.sql, this.#db.tokenize(query.sql));
      for (let round = 0;; round++) {
        const views = query.views.map((v) => this.#withoutDamaged(v));
        try {
          this.#syncViews(views);
          const columns = this.#describe(sql);
          const rows = this.#fetch(this.#start(runSql(sql, columns, query.maxRows), deadline), deadline);
          const truncated = rows.length > query.maxRows;
          const skipped = this.#skipped(query.views);
          return { columns, rows: truncated ? rows.slice(0, query.maxRows) : rows, truncated, skipped };
        } catch (err) {
          const message = err instanceof SqlError ? err.detail : (err as Error).message ?? "";
          if (/PendingQuery can only take a single statement/.test(message) && /^\s*pivot\b/i.test(sql)) {
            throw new SqlError(PIVOT_NEEDS_IN, { cause: err });
          }
          if (round >= MAX_DAMAGE_ROUNDS || err instanceof DeadlineError || !DAMAGE_ERROR.test(message)) throw err;
          if (this.#findDamaged(views, deadline) === 0) throw err;
        }
      }
    } finally {
      this.#allow.set([]);
    }
  }

  /** The view without the files found damaged; an empty relation of its columns when none is left. */
  #withoutDamaged(view: SqlView): SqlView {
    if (!view.files.some((f) => this.#damaged.has(f))) return view;
    const files = view.files.filter((f) => !this.#damaged.has(f));
    const parts = view.parts?.map((p) => ({ ...p, files: p.files.filter((f) => !this.#damaged.has(f)) }))
      .filter((p) => p.files.length > 0);
    return { ...view, files, parts };
  }

  #skipped(views: SqlView[]): SqlSkippedFile[] {
    const files = new Set(views.flatMap((v) => v.files));
    return [...files].filter((f) => this.#damaged.has(f)).map((file) => ({ file, error: this.#damaged.get(file)! }));
  }

  /** Reads every not yet verified file of `views` whole; returns how many were found damaged. */
  #findDamaged(views: SqlView[], deadline: number): number {
    let found = 0;
    for (const file of new Set(views.flatMap((v) => v.files))) {
      if (this.#verified.has(file) || this.#damaged.has(file)) continue;
      if (performance.now() > deadline) throw new DeadlineError();
      try {
        // every column decoded (min over all columns), the footer and page headers parsed
        this.#conn.query(`SELECT min(COLUMNS(*)) FROM read_parquet([${quoteString(file)}], hive_partitioning = false)`);
        this.#verified.add(file);
      } catch (err) {
        this.#damaged.set(file, (err as Error).message.split("\n")[0]);
        found++;
      }
    }
    return found;
  }

  #viewFiles(views: SqlView[]): string[] {
    try {
      return viewFiles(views, this.#root);
    } catch (err) {
      if (err instanceof TypeError) throw new ViewInputError(err.message, { cause: err });
      throw err;
    }
  }

  /** Creates the views that changed since the previous query, drops those no longer given. */
  #syncViews(views: SqlView[]): void {
    const wanted = new Set(views.map((v) => v.name.toLowerCase()));
    for (const name of this.#views.keys()) {
      if (wanted.has(name)) continue;
      this.#views.delete(name);
      this.#conn.query(dropViewSql(name));
    }
    for (const view of views) this.#createView(view);
  }

  #createView(view: SqlView): void {
    const key = view.name.toLowerCase();
    const sql = viewSql(view);
    if (this.#views.get(key) === sql) return;
    this.#views.delete(key);
    try {
      this.#conn.query(sql);
    } catch (err) {
      throw new SqlError(`Cannot create view ${view.name}: ${(err as Error).message}`, { cause: err });
    }
    this.#views.set(key, sql);
  }

  #describe(sql: string): SqlColumn[] {
    const table = this.#conn.query(describeSql(sql));
    const names = Array.from(table.getChild("column_name")!.toArray(), String);
    const types = Array.from(table.getChild("column_type")!.toArray(), String);
    return names.map((name, i) => ({ name, type: types[i] }));
  }

  /** Starts the query and polls it (DuckDB works in slices) until the first rows are ready. */
  #start(sql: string, deadline: number): Uint8Array {
    return this.#conn.useUnsafe((bindings, conn) => {
      let header = bindings.startPendingQuery(conn, sql);
      while (header === null) {
        if (performance.now() > deadline) {
          bindings.cancelPendingQuery(conn);
          throw new DeadlineError();
        }
        header = bindings.pollPendingQuery(conn);
      }
      return header;
    });
  }

  #fetch(header: Uint8Array, deadline: number): SqlValue[][] {
    const { ResultStreamIterator } = duckdbModule();
    const chunks = this.#conn.useUnsafe((bindings, conn) => new ResultStreamIterator(bindings, conn, header));
    const rows: SqlValue[][] = [];
    for (const batch of this.#readerFrom(chunks)) {
      if (performance.now() > deadline) throw new DeadlineError();
      appendRows(rows, batch);
    }
    return rows;
  }
}

function appendRows(rows: SqlValue[][], batch: ArrowBatch): void {
  const fields = batch.schema.fields;
  const vectors = fields.map((_, i) => batch.getChildAt(i)!);
  const converters = fields.map((f) => valueConverter(f.type));
  for (let r = 0; r < batch.numRows; r++) {
    rows.push(vectors.map((vector, c) => converters[c](vector.get(r))));
  }
}

/**
 * Apache Arrow's `RecordBatchReader.from`, taken from a reader duckdb-wasm itself built: apache-arrow is
 * duckdb-wasm's own dependency, not in our import map, so it cannot be imported under both Deno and Bun.
 */
async function arrowReaderFrom(conn: DuckdbConnection): Promise<ReaderFrom> {
  const probe = await conn.send("SELECT 1");
  probe.readAll();
  const Reader = probe.constructor as unknown as { from(chunks: Iterable<Uint8Array>): Iterable<ArrowBatch> };
  return (chunks) => Reader.from(chunks);
}
