/**
 * Entrypoint of the tier worker threads (see `tier_jobs.ts`): encodes flushes, rolls up windows and
 * merges files. Encoded bytes travel back transferred, not copied.
 *
 * A job leaves its working set (columns, pages, sketches: up to hundreds of MB for a large flush) as
 * garbage in this thread's own heap, which the main thread's collections never reach; it is collected
 * right after the answer is sent, on this thread, so it neither counts against the memory budget until
 * the next job nor stalls ingest; a flush's garbage also after each row group it encodes.
 *
 * @module
 */
import { nodeFs } from "../platform/node_fs.ts";
import { collectGarbage } from "../platform/runtime.ts";
import { serveRequests } from "../platform/worker_client.ts";
import { newTierJobContext, runTierJob, type TierJob } from "./tier_job.ts";

const ctx = newTierJobContext();
// a flush's garbage is collected row group by row group: at 100,000 series its heap then ends a job
// at about 100 MB instead of 200 MB (measured on Bun, the 2-core box), for some CPU of this thread
ctx.afterBatch = () => collectGarbage("full");

serveRequests(async (job: TierJob) => {
  try {
    return await runTierJob(nodeFs, job, ctx);
  } finally {
    if (job.type !== "memory") setTimeout(() => collectGarbage("full"), 0);
  }
});
