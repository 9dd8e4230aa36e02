/**
 * Runs flush encoding off the main thread: one worker thread (the box has two cores; the other one
 * serves requests), started on first use, restarted if it dies. `inline` mode encodes on the calling
 * thread (tests, and a fallback when workers cannot start).
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { type EncodedFile, type FlushBatch, transferables } from "../aggregate/flush_batch.ts";
import type { Logger } from "../platform/log.ts";
import { workerUrl } from "../platform/runtime.ts";
import { encodeFlush, type EncodeOptions } from "./flush_encode.ts";

/** Entrypoint of the worker relative to the repository root (an extra entrypoint of the binary). */
export const ENCODE_WORKER_ENTRY = "src/tier/encode_worker.ts";

interface Pending {
  resolve(files: EncodedFile[]): void;
  reject(err: Error): void;
}

/** The encoder. */
export class FlushEncoder {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly mode: "worker" | "inline", private readonly log?: Logger) {}

  /** Encodes a batch. Its typed arrays are transferred to the worker: do not use them afterwards. */
  encode(batch: FlushBatch, options: EncodeOptions): Promise<EncodedFile[]> {
    if (this.mode === "inline") return encodeFlush(batch, options);
    const worker = this.ensureWorker();
    const id = this.nextId++;
    worker.ref(); // keep the process alive while an answer is due
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, batch, options }, transferables(batch));
    });
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null; // its exit is expected now, not a failure to report
    if (w) await w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(workerUrl(new URL("./encode_worker.ts", import.meta.url), ENCODE_WORKER_ENTRY));
    w.on("message", (m: { id: number; files?: EncodedFile[]; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.files) p?.resolve(m.files);
      else p?.reject(new Error(`Cannot encode the flush: ${m.error}`));
    });
    const fail = (why: string) => {
      if (this.worker !== w) return; // closed on purpose
      this.worker = null;
      this.log?.error("flush encoder worker stopped", { why });
      for (const p of this.pending.values()) p.reject(new Error(`Cannot encode the flush: the worker ${why}`));
      this.pending.clear();
    };
    w.on("error", (err: Error) => fail(`failed: ${err.message}`));
    w.on("exit", (code: number) => fail(`exited with code ${code}`));
    w.unref();
    this.worker = w;
    return w;
  }
}
