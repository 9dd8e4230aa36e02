/**
 * Runs background jobs on their cron schedules (UTC), at most `workers` at a time; a job that is still
 * running when it is due again is not started twice.
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
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Set<string>();
  private readonly queue: Job[] = [];
  private stopped = false;

  constructor(
    private readonly jobs: readonly Job[],
    private readonly workers: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Arms every job's timer. */
  start(): void {
    for (const job of this.jobs) this.arm(job, parseCron(job.schedule));
  }

  /** Disarms everything (running jobs finish on their own). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private arm(job: Job, cron: Cron): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const delay = Math.max(0, nextCronTime(cron, now) - now);
    const t = setTimeout(() => {
      this.enqueue(job);
      this.arm(job, cron);
    }, Math.min(delay, 2 ** 31 - 1));
    (t as { unref?: () => void }).unref?.();
    this.timers.set(job.name, t);
  }

  private enqueue(job: Job): void {
    if (this.running.has(job.name) || this.queue.includes(job)) return;
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.workers && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running.add(job.name);
      job.run().catch((err) => this.log.error(`${job.name} failed`, { error: err })).finally(() => {
        this.running.delete(job.name);
        this.pump();
      });
    }
  }
}
