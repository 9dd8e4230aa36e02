/**
 * The SQL worker thread's entrypoint: loads DuckDB on `init`, answers `query` messages one at a time
 * (sql_protocol.ts). DuckDB-WASM's blocking build runs synchronously here, so the server's event loop
 * never waits for it. A compiled binary needs this file as an extra `bun build --compile` entrypoint.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { SqlError } from "./errors.ts";
import { ROWS_PER_MESSAGE } from "./protocol.ts";
import type { FailureKind, FailureReply, InitRequest, QueryRequest, WorkerReply, WorkerRequest } from "./protocol.ts";
import { DeadlineError, type SessionAnswer, SqlSession, ViewInputError } from "./session.ts";

let session: SqlSession | null = null;

function post(reply: WorkerReply): void {
  parentPort!.postMessage(reply);
}

async function load(request: InitRequest): Promise<void> {
  const started = performance.now();
  try {
    session = await SqlSession.open(request);
    post({ type: "ready", version: session.version, loadMs: performance.now() - started });
  } catch (err) {
    post({ type: "failure", id: 0, kind: "engine", message: `Cannot load DuckDB: ${describe(err)}` });
  }
}

function respond(request: QueryRequest): void {
  if (session === null) {
    post({ type: "failure", id: request.id, kind: "engine", message: "DuckDB is not loaded" });
    return;
  }
  let answer: SessionAnswer;
  try {
    answer = session.run(request);
  } catch (err) {
    post(failure(request.id, err));
    return;
  }
  const { id } = request;
  for (let i = 0; i < answer.rows.length; i += ROWS_PER_MESSAGE) {
    post({ type: "rows", id, rows: answer.rows.slice(i, i + ROWS_PER_MESSAGE) });
  }
  post({ type: "result", id, columns: answer.columns, truncated: answer.truncated, skipped: answer.skipped });
}

/** DuckDB reports SQL problems as plain `Error`s; a wasm trap or any other error means DuckDB is broken. */
function failure(id: number, err: unknown): FailureReply {
  const message = describe(err);
  const reply = (kind: FailureKind, text = message): FailureReply => ({ type: "failure", id, kind, message: text });
  if (err instanceof DeadlineError) return reply("timeout");
  if (err instanceof ViewInputError) return reply("input");
  if (err instanceof SqlError) return reply("sql", err.detail);
  if (!(err instanceof Error) || err.constructor !== Error || /^(FATAL|INTERNAL) Error/.test(message)) {
    return reply("engine");
  }
  if (/^Out of Memory Error/.test(message)) {
    // DuckDB's advice after the first line (a persistent database, a temp directory) is not ours to take.
    return reply("sql", `${message.split("\n")[0]}; narrow the query or raise query.memory_limit`);
  }
  return reply("sql");
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.constructor === Error ? err.message : `${err.name}: ${err.message}`) : String(err);
}

// Outside a worker (a test runner importing every module) there is nothing to listen to.
parentPort?.on("message", (request: WorkerRequest) => {
  if (request.type === "init") void load(request);
  else respond(request);
});
