/**
 * Entrypoint of the tier worker threads (see `tier_jobs.ts`): encodes flushes, rolls up windows and
 * merges files. Encoded bytes travel back transferred, not copied.
 *
 * @module
 */
import { nodeFs } from "../platform/node_fs.ts";
import { serveRequests } from "../platform/worker_client.ts";
import { runTierJob, type TierJob } from "./tier_job.ts";

serveRequests((job: TierJob) => runTierJob(nodeFs, job));
