/**
 * Runs background jobs on their cron schedules (UTC) on the storage's clock, at most `workers` at a
 * time, until its signal aborts; a job that is still running when it is due again is not started twice.
 *
 * @module
 */
import { type Cron, nextCronTime, parseCron } from "../config/cron.ts";
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/log.ts";

/** A scheduled job. */
export interface Job {
  name: string;
  /** Five-field cron expression. */
  schedule: string;
  run(): Promise<unknown>;
}

/** The scheduler. */
export class Scheduler {
  private readonly running = new Set<string>();
  private readonly queue: Job[] = [];

  constructor(
    private readonly jobs: readonly Job[],
    private readonly workers: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Arms every job's timer; aborting `signal` disarms them (running jobs finish on their own). */
  start(signal: AbortSignal): void {
    for (const job of this.jobs) this.arm(job, parseCron(job.schedule), signal);
  }

  private arm(job: Job, cron: Cron, signal: AbortSignal): void {
    const now = this.clock.now();
    this.clock.setTimer(nextCronTime(cron, now) - now, () => {
      this.arm(job, cron, signal);
      this.enqueue(job, signal);
    }, signal);
  }

  private enqueue(job: Job, signal: AbortSignal): void {
    if (this.running.has(job.name) || this.queue.includes(job)) return;
    this.queue.push(job);
    this.pump(signal);
  }

  private pump(signal: AbortSignal): void {
    while (!signal.aborted && this.running.size < this.workers && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running.add(job.name);
      job.run().catch((err) => this.log.error(`${job.name} failed`, { error: err })).finally(() => {
        this.running.delete(job.name);
        this.pump(signal);
      });
    }
  }
}
