/**
 * A worker thread answering requests one reply per request, matched by id: started on first use,
 * restarted after it dies (requests in flight fail), holding the process open only while an answer is
 * due.
 *
 * The worker side uses {@link serveRequests}.
 *
 * @module
 */
import { parentPort, Worker } from "node:worker_threads";
import type { Logger } from "./log.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** The main-thread side. */
export class WorkerClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private starts = 0;

  constructor(private readonly url: URL | string, private readonly name: string, private readonly log?: Logger) {}

  /** Sends `request`, transferring `transfer`; resolves with the worker's answer. */
  request<T>(request: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    const w = this.ensure();
    const id = this.nextId++;
    w.ref(); // keep the process alive while an answer is due
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      w.postMessage({ id, request }, transfer);
    });
  }

  /**
   * Starts the worker when it does not run, and tells which one runs: how many were started. State a
   * worker keeps between requests is lost when this changes.
   */
  generation(): number {
    this.ensure();
    return this.starts;
  }

  /** Whether the worker thread runs (it starts with the first request). */
  get started(): boolean {
    return this.worker !== null;
  }

  /**
   * Stops the worker when no request is pending, so its heap and the memory its allocator keeps go
   * back to the system; the next request starts a new one (a new generation). Answers whether it did.
   */
  releaseIfIdle(): boolean {
    if (!this.worker || this.pending.size > 0) return false;
    void this.close();
    return true;
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null; // its exit is expected now, not a failure to report
    if (w) await w.terminate();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.url);
    this.starts++;
    w.on("message", (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    });
    const fail = (why: string) => {
      if (this.worker !== w) return; // closed on purpose
      this.worker = null;
      this.log?.error(`${this.name} worker stopped`, { why });
      for (const p of this.pending.values()) p.reject(new Error(`the ${this.name} worker ${why}`));
      this.pending.clear();
    };
    w.on("error", (err: Error) => fail(`failed: ${err.message}`));
    w.on("exit", (code: number) => fail(`exited with code ${code}`));
    w.unref();
    this.worker = w;
    return w;
  }
}

/**
 * Worker side: answers each request with `handle(request)`; the answer's `transfer` buffers are moved,
 * not copied. Errors travel back as messages.
 */
export function serveRequests(
  handle: (request: never) => Promise<{ result: unknown; transfer?: ArrayBuffer[] }>,
): void {
  parentPort?.on("message", async ({ id, request }: { id: number; request: never }) => {
    try {
      const { result, transfer } = await handle(request);
      parentPort!.postMessage({ id, result }, transfer ?? []);
    } catch (err) {
      parentPort!.postMessage({ id, error: (err as Error).stack ?? String(err) });
    }
  });
}
