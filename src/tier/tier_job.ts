/**
 * The heavy tier work, as messages a worker thread can run: encoding a flush, rolling a window up into
 * a coarser tier, merging files. The same function runs them inline (tests) or on a worker.
 *
 * @module
 */
import type { EncodedFile } from "../aggregate/flush_batch.ts";
import process from "node:process";
import type { FileSystem } from "../platform/fs.ts";
import { encodeFlush, type EncodeOptions } from "./flush_encode.ts";
import {
  encodeSnapshotJob,
  flushBatchOf,
  type FlushJob,
  type FlushJobResult,
  flushJobTransferables,
  NameTable,
  type RawArraysHolder,
} from "./flush_job.ts";
import { type MergeOptions, type MergeOutput, mergeTierFiles } from "./merge.ts";
import type { TierWriteResult } from "../parquet/mod.ts";
import { rollupFiles, type RollupRequest, type RollupResult } from "./rollup.ts";

/** A job. */
export type TierJob =
  | { type: "encode"; job: FlushJob; options: EncodeOptions }
  | { type: "rollup"; request: RollupRequest }
  | { type: "merge"; inputs: string[]; outputs: MergeOutput[]; options: MergeOptions }
  | { type: "memory" };

/** What each job answers. */
export interface TierJobResults {
  encode: FlushJobResult;
  rollup: RollupResult;
  merge: TierWriteResult[];
  memory: ThreadMemory;
}

/** The JavaScript heap of the thread that ran the job (its typed arrays included), bytes. */
export interface ThreadMemory {
  heapUsedBytes: number;
}

/** Buffers a job's message can transfer instead of copying. */
export function jobTransferables(job: TierJob): ArrayBuffer[] {
  return job.type === "encode" ? flushJobTransferables(job.job) : [];
}

/** What jobs keep between them: the series names of flushes (one table per runner). */
export interface TierJobContext {
  names: NameTable;
  /**
   * The raw rows' arrays of the last flush, for the next one (about 22 bytes per raw sample of the
   * largest flush stay in the thread's heap between flushes); taken while a flush runs.
   */
  raw: RawArraysHolder;
  /** Called after each row-group batch a flush encodes (see `EncodeOptions.afterBatch`). */
  afterBatch?: () => void;
}

/**
 * An `afterBatch` hook that collects garbage (`collect`) once the heap (`heapUsed`) has grown by
 * `growthBytes` since the last collection, and `reset`, to call after a collection made elsewhere.
 * A full collection marks the whole heap (the series names included): after every row-group batch
 * it cost the flush encoder thread about as much as the encoding (a 500,000-sample flush at 100,000
 * series, Bun); every few batches it bounds the garbage a flush leaves in the thread's heap to
 * `growthBytes` plus one batch's.
 *
 * @example
 * ```ts
 * import { collectWhenGrown } from "./tier_job.ts";
 * let heap = 0, collections = 0;
 * const hook = collectWhenGrown(10, () => heap, () => void (collections++, heap = 1));
 * heap = 5; hook.afterBatch();
 * heap = 12; hook.afterBatch();
 * if (collections !== 1) throw new Error();
 * ```
 */
export function collectWhenGrown(
  growthBytes: number,
  heapUsed: () => number,
  collect: () => void,
): { afterBatch(): void; reset(): void } {
  let base = heapUsed();
  const reset = () => void (base = heapUsed());
  return {
    afterBatch() {
      if (heapUsed() - base < growthBytes) return;
      collect();
      reset();
    },
    reset,
  };
}

/** A fresh context. */
export function newTierJobContext(): TierJobContext {
  return { names: new NameTable(), raw: {} };
}

/** Runs a job; `transfer` lists the answer's buffers that can be moved to the caller. */
export async function runTierJob(
  fs: FileSystem,
  job: TierJob,
  ctx: TierJobContext,
): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  switch (job.type) {
    case "encode": {
      ctx.names.apply(job.job.names);
      const options = { ...job.options, afterBatch: ctx.afterBatch };
      const raw = ctx.raw; // a flush that starts while this one runs copies into arrays of its own
      ctx.raw = {};
      const files = await encodeFlush(flushBatchOf(job.job, ctx.names, raw), options);
      ctx.raw = raw;
      const snapshot = job.job.snapshot ? encodeSnapshotJob(job.job.snapshot, ctx.names) : null;
      const result: FlushJobResult = { files, snapshot };
      const transfer = buffersOf(files);
      if (snapshot) transfer.push(snapshot.buffer as ArrayBuffer);
      return { result, transfer };
    }
    case "rollup": {
      const result = await rollupFiles(fs, job.request);
      return { result, transfer: buffersOf(result.files) };
    }
    case "merge":
      return { result: await mergeTierFiles(fs, job.inputs, job.outputs, job.options), transfer: [] };
    case "memory":
      return { result: { heapUsedBytes: process.memoryUsage().heapUsed }, transfer: [] };
  }
}

function buffersOf(files: EncodedFile[]): ArrayBuffer[] {
  return files.map((f) => f.bytes.buffer as ArrayBuffer);
}
