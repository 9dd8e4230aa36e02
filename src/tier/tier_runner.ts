/**
 * Runs tier jobs (`tier_job.ts`) off the main thread, so encoding, rollups and merges never stall
 * ingest or queries. The server has two runners, each with its own worker thread: one for flushes (on
 * the path that frees memory, never queued behind a long merge) and one for compaction. `inline` mode
 * runs jobs on the calling thread, on the caller's file system (tests).
 *
 * @module
 */
import type { FileSystem } from "../platform/fs.ts";
import type { Logger } from "../platform/log.ts";
import { workerUrl } from "../platform/runtime.ts";
import { WorkerClient } from "../platform/worker_client.ts";
import type { EncodeOptions } from "./flush_encode.ts";
import type { FlushJob, FlushJobResult, NamesDelta } from "./flush_job.ts";
import type { MergeOptions, MergeOutput } from "./merge.ts";
import type { TierWriteResult } from "../parquet/mod.ts";
import type { RollupRequest, RollupResult } from "./rollup.ts";
import {
  jobTransferables,
  newTierJobContext,
  runTierJob,
  type ThreadMemory,
  type TierJob,
  type TierJobContext,
  type TierJobResults,
} from "./tier_job.ts";

/** Entrypoint of the worker relative to the repository root (an extra entrypoint of the binary). */
export const TIER_WORKER_ENTRY = "src/tier/tier_worker.ts";

/** Where jobs run. */
export type TierRunnerMode = "worker" | "inline";

/** A runner. */
export class TierRunner {
  private readonly client: WorkerClient | null;
  /** Inline jobs' state; a worker keeps its own. */
  private readonly ctx: TierJobContext = newTierJobContext();
  /** Series names the encoder has (ids below this), and the worker they were sent to. */
  private namesSent = 0;
  private forgetSent = 0;
  private namesWorker = -1;

  /** `fs` serves inline jobs; a worker uses the real file system. */
  constructor(mode: TierRunnerMode, private readonly fs: FileSystem, private readonly name: string, log?: Logger) {
    this.client = mode === "inline"
      ? null
      : new WorkerClient(workerUrl(new URL("./tier_worker.ts", import.meta.url), TIER_WORKER_ENTRY), name, log);
  }

  /**
   * Encodes a flush, with the names of the series the encoder does not have yet (`names(from)`: those
   * of ids from `from` on). The snapshot's copies are transferred to the worker: do not use them
   * afterwards.
   */
  async encode(
    job: Omit<FlushJob, "names">,
    names: (from: number, forgetFrom?: number) => NamesDelta,
    options: EncodeOptions,
  ): Promise<FlushJobResult> {
    const worker = this.client?.generation() ?? 0;
    // a new worker has no names yet: all of them (forgotten ids have empty names), nothing to forget
    if (worker !== this.namesWorker) this.namesSent = 0;
    const delta = this.namesSent === 0 ? names(0) : names(this.namesSent, this.forgetSent);
    const named = delta.from + delta.lengths.length / 3; // read before the arrays move to the worker
    const result = await this.run({ type: "encode", job: { ...job, names: delta }, options });
    this.namesWorker = worker;
    this.namesSent = named;
    this.forgetSent = delta.forgotten ?? 0;
    return result;
  }

  /** Rolls a window up (see {@link RollupRequest}); paths are absolute. */
  rollup(request: RollupRequest): Promise<RollupResult> {
    return this.run({ type: "rollup", request });
  }

  /** Merges `inputs` into `outputs` (absolute paths; written atomically; see {@link MergeOutput}). */
  merge(inputs: string[], outputs: MergeOutput[], options: MergeOptions): Promise<TierWriteResult[]> {
    return this.run({ type: "merge", inputs, outputs, options });
  }

  /** The worker thread's heap, or null inline (no thread of its own) and before the worker started. */
  async memory(): Promise<ThreadMemory | null> {
    if (!this.client?.started) return null;
    return await this.run({ type: "memory" });
  }

  /**
   * Stops the worker thread when it has no job, giving its memory back (see
   * {@link WorkerClient.releaseIfIdle}); the next job starts a new one. Inline: nothing to release.
   */
  releaseIfIdle(): boolean {
    return this.client?.releaseIfIdle() ?? false;
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    await this.client?.close();
  }

  private async run<J extends TierJob>(job: J): Promise<TierJobResults[J["type"]]> {
    type R = TierJobResults[J["type"]];
    if (!this.client) return (await runTierJob(this.fs, job, this.ctx)).result as R;
    try {
      return await this.client.request<R>(job, jobTransferables(job));
    } catch (err) {
      throw new Error(`The ${this.name} failed to ${job.type}: ${(err as Error).message}`, { cause: err });
    }
  }
}
