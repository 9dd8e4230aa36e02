/**
 * Entrypoint of the flush-encoding worker thread: receives a {@link FlushBatch}, answers with the
 * encoded tier files (their bytes transferred, not copied). See `encoder.ts`.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import type { FlushBatch } from "../aggregate/flush_batch.ts";
import { encodeFlush, type EncodeOptions } from "./flush_encode.ts";

/** A request to the worker. */
export interface EncodeRequest {
  id: number;
  batch: FlushBatch;
  options: EncodeOptions;
}

parentPort?.on("message", async (req: EncodeRequest) => {
  try {
    const files = await encodeFlush(req.batch, req.options);
    parentPort!.postMessage({ id: req.id, files }, files.map((f) => f.bytes.buffer as ArrayBuffer));
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: (err as Error).stack ?? String(err) });
  }
});
