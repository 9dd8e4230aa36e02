/**
 * One SQL worker thread seen from the main thread: started with its settings, asked one request at a
 * time, and watched: if it crashes or exits, the request in flight fails with `SqlEngineError` and
 * the thread is dead for good (the engine starts a new one).
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { SqlEngineError } from "./errors.ts";
import type { FailureReply, InitRequest, QueryRequest, ReadyReply, ResultReply, WorkerReply } from "./protocol.ts";
import type { SqlValue } from "./types.ts";

/** A query's whole answer: its `result` message with the rows of the `rows` messages before it. */
export type QueryAnswer = ResultReply & { rows: SqlValue[][] };

/** How a request ends. */
export type Settled = ReadyReply | QueryAnswer | FailureReply;

interface Waiter {
  rows: SqlValue[][];
  resolve(reply: Settled): void;
  reject(err: Error): void;
}

/** A worker thread running DuckDB. */
export class SqlThread {
  readonly #worker: Worker;
  #waiter: Waiter | null = null;
  #death: Error | null = null;
  /** Settles when DuckDB is loaded (rejects with `SqlEngineError` if it cannot be). */
  readonly ready: Promise<ReadyReply>;

  /** Starts the worker at `url` and asks it to load DuckDB. */
  constructor(url: URL | string, init: InitRequest) {
    this.#worker = new Worker(url);
    this.#worker.on("message", (reply: WorkerReply) => this.#settle(reply));
    this.#worker.on("error", (err: Error) => this.#die(new SqlEngineError(`the worker failed: ${hint(err.message)}`)));
    this.#worker.on("exit", (code: number) => this.#die(new SqlEngineError(`the worker exited with code ${code}`)));
    this.ready = this.#ask(init).then((reply) => {
      if (reply.type === "ready") return reply;
      throw new SqlEngineError(reply.type === "failure" ? reply.message : `unexpected ${reply.type} reply`);
    });
    this.ready.catch(() => {}); // whoever awaits it sees the failure; nobody awaiting is no crash
  }

  /** Whether the worker is still running. */
  get alive(): boolean {
    return this.#death === null;
  }

  /** Runs one query; rejects with `SqlEngineError` if the worker dies meanwhile. */
  query(request: QueryRequest): Promise<Settled> {
    return this.#ask(request);
  }

  /** Keeps the process alive while the thread works. */
  ref(): void {
    this.#worker.ref();
  }

  /** Lets the process exit while the thread idles. */
  unref(): void {
    this.#worker.unref();
  }

  /** Stops the worker at once; a request in flight fails with `SqlEngineError(reason)`. */
  async terminate(reason: string): Promise<void> {
    this.#die(new SqlEngineError(reason));
    await this.#worker.terminate();
  }

  #ask(request: InitRequest | QueryRequest): Promise<Settled> {
    if (this.#death) return Promise.reject(this.#death);
    if (this.#waiter) return Promise.reject(new SqlEngineError("the worker is busy"));
    return new Promise((resolve, reject) => {
      this.#waiter = { rows: [], resolve, reject };
      this.#worker.postMessage(request);
    });
  }

  #settle(reply: WorkerReply): void {
    const waiter = this.#waiter;
    if (reply.type === "rows") {
      for (const row of reply.rows) waiter?.rows.push(row);
      return;
    }
    this.#waiter = null;
    waiter?.resolve(reply.type === "result" ? { ...reply, rows: waiter.rows } : reply);
  }

  #die(err: Error): void {
    this.#death ??= err;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(this.#death);
  }
}

/** Names the fix when a compiled binary was built without the worker entrypoint. */
function hint(message: string): string {
  if (!/Cannot find module|ModuleNotFound/.test(message)) return message;
  return `${message}; build the binary with src/sql/worker.ts as an extra bun build --compile entrypoint`;
}
