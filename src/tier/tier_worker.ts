/**
 * Entrypoint of the tier worker threads (see `tier_jobs.ts`): encodes flushes, rolls up windows and
 * merges files. Encoded bytes travel back transferred, not copied.
 *
 * A job leaves its working set (columns, pages, sketches: up to hundreds of MB for a large flush) as
 * garbage in this thread's own heap, which the main thread's collections never reach; it is collected
 * right after the answer is sent, on this thread, so it neither counts against the memory budget until
 * the next job nor stalls ingest; a flush's garbage also every few row groups it encodes.
 *
 * @module
 */
import process from "node:process";
import { nodeFs } from "../platform/node_fs.ts";
import { collectGarbage } from "../platform/runtime.ts";
import { serveRequests } from "../platform/worker_client.ts";
import { collectWhenGrown, newTierJobContext, runTierJob, type TierJob } from "./tier_job.ts";

/**
 * Heap growth after which a flush's next batch boundary collects: a row-group batch leaves 5-12 MB
 * of garbage at 100,000 series, so a collection every two or three batches instead of after each.
 */
const FLUSH_GARBAGE_BYTES = 24 * 1024 * 1024;

const ctx = newTierJobContext();
// a flush's garbage is collected every few row groups: at 100,000 series its heap would otherwise end
// a job at about 200 MB (measured on Bun, the 2-core box)
const garbage = collectWhenGrown(FLUSH_GARBAGE_BYTES, () => process.memoryUsage().heapUsed, () => {
  collectGarbage("full");
});
ctx.afterBatch = garbage.afterBatch;

serveRequests(async (job: TierJob) => {
  try {
    return await runTierJob(nodeFs, job, ctx);
  } finally {
    if (job.type !== "memory") {
      setTimeout(() => {
        collectGarbage("full");
        garbage.reset();
      }, 0);
    }
  }
});
