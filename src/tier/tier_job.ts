/**
 * The heavy tier work, as messages a worker thread can run: encoding a flush, rolling a window up into
 * a coarser tier, merging files. The same function runs them inline (tests) or on a worker.
 *
 * @module
 */
import { type EncodedFile, type FlushBatch, transferables } from "../aggregate/flush_batch.ts";
import process from "node:process";
import type { FileSystem } from "../platform/fs.ts";
import { encodeFlush, type EncodeOptions } from "./flush_encode.ts";
import { type MergeOptions, mergeTierFiles } from "./merge.ts";
import type { TierWriteResult } from "./parquet_writer.ts";
import { rollupFiles, type RollupRequest, type RollupResult } from "./rollup.ts";

/** A job. */
export type TierJob =
  | { type: "encode"; batch: FlushBatch; options: EncodeOptions }
  | { type: "rollup"; request: RollupRequest }
  | { type: "merge"; inputs: string[]; output: string; options: MergeOptions }
  | { type: "memory" };

/** What each job answers. */
export interface TierJobResults {
  encode: EncodedFile[];
  rollup: RollupResult;
  merge: TierWriteResult;
  memory: ThreadMemory;
}

/** The JavaScript heap of the thread that ran the job (its typed arrays included), bytes. */
export interface ThreadMemory {
  heapUsedBytes: number;
}

/** Buffers a job's message can transfer instead of copying. */
export function jobTransferables(job: TierJob): ArrayBuffer[] {
  return job.type === "encode" ? transferables(job.batch) : [];
}

/** Runs a job; `transfer` lists the answer's buffers that can be moved to the caller. */
export async function runTierJob(fs: FileSystem, job: TierJob): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  switch (job.type) {
    case "encode": {
      const files = await encodeFlush(job.batch, job.options);
      return { result: files, transfer: buffersOf(files) };
    }
    case "rollup": {
      const result = await rollupFiles(fs, job.request);
      return { result, transfer: buffersOf(result.files) };
    }
    case "merge":
      return { result: await mergeTierFiles(fs, job.inputs, job.output, job.options), transfer: [] };
    case "memory":
      return { result: { heapUsedBytes: process.memoryUsage().heapUsed }, transfer: [] };
  }
}

function buffersOf(files: EncodedFile[]): ArrayBuffer[] {
  return files.map((f) => f.bytes.buffer as ArrayBuffer);
}
