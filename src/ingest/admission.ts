/**
 * Backpressure: two budgets, unflushed samples (`ingestion.flush.max_buffer_size`, capped by the memory
 * plan) and resident memory that cannot be evicted (`server.memory_limit`).
 *
 * A request is taken in when it fits: it would bring neither budget to the emergency threshold. One
 * that does not fit waits for room (a flush draining the buffer, a collection giving memory back), in
 * arrival order, up to `backpressure.max_wait` (the waiting is the storage's: `src/service/storage.ts`),
 * and is then refused with 429 + Retry-After: never silent loss. Waiting instead of refusing at once
 * turns the buffer's saw-tooth (a flush drains half of it every few seconds) into short delays, where a
 * 429 would idle the sender for its Retry-After while the buffer is already empty.
 *
 * The level, at fractions of whichever budget is fuller, is what answers and `/metrics` report; the
 * buffer's moves with hysteresis and a cooldown so it does not flap:
 *
 * - `warning`: flushing does not keep up (one starts at half of the buffer); answers say so.
 * - `critical`: a request that would reach the emergency threshold waits.
 * - `emergency`: the threshold is reached: every request waits, before its body is read.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { OverloadedError } from "../model/errors.ts";
import type { Clock } from "../platform/clock.ts";

/** Backpressure levels, lowest first (protocol enum order). */
export const LEVELS = ["none", "warning", "critical", "emergency"] as const;
/** A backpressure level. */
export type Level = typeof LEVELS[number];

/**
 * The admission controller.
 *
 * @example
 * ```ts
 * import { Admission } from "./admission.ts";
 * import { defaultConfig } from "../config/load.ts";
 * import { FakeClock } from "../platform/clock.ts";
 * const a = new Admission(defaultConfig().backpressure, 1000, new FakeClock(0));
 * a.update(960);
 * if (a.level !== "emergency") throw new Error();
 * ```
 */
export class Admission {
  private levelIndex = 0;
  private changedAt = 0;
  /** Requests refused, by level. */
  readonly refused = { critical: 0, emergency: 0 };

  constructor(
    private readonly cfg: Config["backpressure"],
    private readonly capacity: number,
    private readonly clock: Clock,
  ) {}

  /** The current level: the higher of the buffer's and memory's. */
  get level(): Level {
    return LEVELS[Math.max(this.levelIndex, this.memoryIndex)];
  }

  /** Fraction of the memory budget last reported (see {@link update}). */
  memoryUsage = 0;
  private memoryIndex = 0;

  /**
   * Recomputes the level from the number of unflushed samples and, when given, the fraction of the
   * memory budget held by what cannot be evicted; returns it. The buffer's level moves with hysteresis
   * and a cooldown (it drains slowly, by flushes); memory's follows each reading at once (a collection
   * gives memory back in milliseconds, and holding a refusal for a cooldown after that only loses time).
   */
  update(unflushed: number, memoryUsage = this.memoryUsage): Level {
    this.memoryUsage = memoryUsage;
    this.memoryIndex = this.target(memoryUsage);
    const usage = unflushed / this.capacity;
    const target = this.target(usage);
    const now = this.clock.now();
    if (target > this.levelIndex) {
      this.levelIndex = target;
      this.changedAt = now;
    } else if (target < this.levelIndex && now - this.changedAt >= this.cfg.recovery.cooldownMs) {
      // leave a level only when usage is clearly below it (hysteresis)
      const thresholds = this.thresholds();
      let next = this.levelIndex;
      while (next > target && usage < thresholds[next] - this.cfg.recovery.hysteresis) next--;
      if (next !== this.levelIndex) {
        this.levelIndex = next;
        this.changedAt = now;
      }
    }
    return this.level;
  }

  private thresholds(): number[] {
    const t = this.cfg.thresholds;
    return [0, t.warning, t.critical, t.emergency];
  }

  /** The level a usage reaches. */
  private target(usage: number): number {
    const thresholds = this.thresholds();
    for (let i = 3; i > 0; i--) if (usage >= thresholds[i]) return i;
    return 0;
  }

  /**
   * Whether a request of `size` samples fits now: with `unflushed` samples in the buffer (those of
   * requests already taken in included) and `memoryUsage` of the budget held, it brings neither the
   * buffer nor memory (with `incoming`, the share the request adds) to the emergency threshold. A
   * request into an empty buffer always fits the buffer, so a batch larger than it is not refused
   * forever. Everything fits with backpressure disabled.
   */
  fits(unflushed: number, size: number, memoryUsage = this.memoryUsage, incoming = 0): boolean {
    this.update(unflushed, memoryUsage);
    if (!this.cfg.enabled) return true;
    const emergency = this.cfg.thresholds.emergency;
    return (unflushed === 0 || (unflushed + size) / this.capacity < emergency) &&
      memoryUsage + incoming < emergency;
  }

  /**
   * The 429 for a request of `size` samples that found no room (counted by the level it met), naming
   * the fuller budget and what to change. `retryAfterMs` is for the buffer: about the time a flush takes.
   */
  refusal(unflushed: number, size: number, incoming: number, retryAfterMs: number): OverloadedError {
    const level = this.level;
    if (level === "emergency") this.refused.emergency++;
    else this.refused.critical++;
    const emergency = this.cfg.thresholds.emergency;
    const bufferFull = unflushed > 0 && (unflushed + size) / this.capacity >= emergency;
    const memoryFull = this.memoryUsage + incoming >= emergency;
    const byMemory = memoryFull && (!bufferFull || this.memoryIndex >= this.levelIndex);
    const cause = byMemory
      ? `memory at ${Math.round(this.memoryUsage * 100)} % of server.memory_limit`
      : `${unflushed} unflushed samples of ${this.capacity}`;
    const what = size > 0 ? `${size} samples` : "samples";
    return new OverloadedError(
      byMemory ? 1_000 : retryAfterMs,
      `Cannot accept ${what} now: backpressure level ${level} (${cause}); retry later${
        byMemory ? " or raise server.memory_limit" : " or raise ingestion.flush.max_buffer_size"
      }`,
    );
  }
}

/** How often waiting requests look for room between the events that make it (flushes, collections). */
export const WAIT_TICK_MS = 25;

interface Waiter {
  fits: () => boolean;
  take: () => void;
  deadline: number;
  settle: (admitted: boolean) => void;
  fail: (err: unknown) => void;
}

/**
 * Requests waiting for room, in arrival order: the first one that fits is let in (and takes its room at
 * once, before the next is looked at); one past its deadline is let go unadmitted. Looks on
 * {@link wake} and every {@link WAIT_TICK_MS} on the clock while anybody waits.
 *
 * @example
 * ```ts
 * import { WaitQueue } from "./admission.ts";
 * import { FakeClock } from "../platform/clock.ts";
 * const clock = new FakeClock(0);
 * const q = new WaitQueue(clock);
 * let room = 0;
 * const got = q.wait(() => room > 0, () => room--, 1_000);
 * room = 1;
 * clock.advance(25);
 * if (!(await got) || room !== 0) throw new Error();
 * ```
 */
export class WaitQueue {
  private readonly waiters: Waiter[] = [];
  private ticking = false;
  private readonly stop = new AbortController();
  /** Requests that waited, how many of them were let in, and how many were let go at their deadline. */
  readonly counts = { waited: 0, admitted: 0, timedOut: 0 };

  constructor(private readonly clock: Clock) {}

  /** Requests waiting now. */
  get length(): number {
    return this.waiters.length;
  }

  /**
   * Resolves true once `fits()` holds for this request at the head of the queue (`take()` is called
   * then, synchronously, so the next request sees the room taken), or false at `deadline` (clock ms).
   * Does not wait when nobody waits and it fits now.
   */
  wait(fits: () => boolean, take: () => void, deadline: number): Promise<boolean> {
    if (this.waiters.length === 0 && fits()) {
      take();
      return Promise.resolve(true);
    }
    if (this.clock.now() >= deadline) return Promise.resolve(false);
    this.counts.waited++;
    return new Promise((settle, fail) => {
      this.waiters.push({ fits, take, deadline, settle, fail });
      this.schedule();
    });
  }

  /** Lets in whoever fits now, first come first served, and lets go whoever waited too long. */
  wake(): void {
    const w = this.waiters;
    while (w.length > 0 && w[0].fits()) {
      const first = w.shift()!;
      first.take();
      this.counts.admitted++;
      first.settle(true);
    }
    const now = this.clock.now();
    for (let i = 0; i < w.length;) {
      if (now >= w[i].deadline) {
        this.counts.timedOut++;
        w.splice(i, 1)[0].settle(false);
      } else i++;
    }
  }

  /** Fails every waiting request with `err` and stops looking (shutdown). */
  close(err: unknown): void {
    this.stop.abort();
    for (const w of this.waiters.splice(0)) w.fail(err);
  }

  private schedule(): void {
    if (this.ticking || this.stop.signal.aborted) return;
    this.ticking = true;
    this.clock.setTimer(WAIT_TICK_MS, () => {
      this.ticking = false;
      this.wake();
      if (this.waiters.length > 0) this.schedule();
    }, this.stop.signal);
  }
}
