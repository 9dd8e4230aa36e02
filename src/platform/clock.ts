/**
 * Time as a port: storage and background loops take a {@link Clock} for the time and for their timers,
 * and an `AbortSignal` to stop them, so tests drive time by hand with {@link FakeClock}.
 *
 * @module
 */

/** A source of wall-clock time in Unix milliseconds, and timers that run on it. */
export interface Clock {
  now(): number;
  /**
   * Calls `fn` once, `ms` from now on this clock, unless `signal` aborts first. The timer never keeps
   * the process alive by itself.
   */
  setTimer(ms: number, fn: () => void, signal: AbortSignal): void;
}

/** Longest delay one `setTimeout` takes (a signed 32-bit count of milliseconds). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms: number, fn: () => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    const wait = Math.max(0, ms);
    const step = Math.min(wait, MAX_TIMEOUT_MS); // a longer wait takes several steps, never fires early
    const t = setTimeout(() => {
      signal.removeEventListener("abort", cancel);
      if (wait > step) systemClock.setTimer(wait - step, fn, signal);
      else fn();
    }, step);
    const cancel = () => clearTimeout(t);
    signal.addEventListener("abort", cancel, { once: true });
    (t as { unref?: () => void }).unref?.();
  },
};

/**
 * Resolves `ms` from now on `clock`; rejects with the signal's reason when `signal` aborts first.
 *
 * @example
 * ```ts
 * import { FakeClock, sleep } from "./clock.ts";
 * const clock = new FakeClock(0);
 * const woke = sleep(clock, 1_000, new AbortController().signal);
 * clock.advance(1_000);
 * await woke;
 * ```
 */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    clock.setTimer(ms, () => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, signal);
  });
}

/**
 * Calls `fn` every `ms` on `clock` until `signal` aborts, at a fixed rate (the next call is armed before
 * `fn` runs, so a slow `fn` does not shift the ones after it); `fn` must not throw.
 *
 * @example
 * ```ts
 * import { every, FakeClock } from "./clock.ts";
 * const clock = new FakeClock(0), stop = new AbortController();
 * let ticks = 0;
 * every(clock, 100, () => ticks++, stop.signal);
 * clock.advance(350);
 * stop.abort();
 * clock.advance(1_000);
 * if (ticks !== 3) throw new Error(`${ticks} ticks`);
 * ```
 */
export function every(clock: Clock, ms: number, fn: () => void, signal: AbortSignal): void {
  clock.setTimer(ms, () => {
    every(clock, ms, fn, signal);
    fn();
  }, signal);
}

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  signal: AbortSignal;
}

/**
 * A clock that only moves when told to; its timers fire, in time order, as it moves past them.
 *
 * @example
 * ```ts
 * import { FakeClock } from "./clock.ts";
 * const clock = new FakeClock(1_000);
 * const fired: number[] = [];
 * clock.setTimer(200, () => fired.push(clock.now()), new AbortController().signal);
 * clock.advance(500);
 * if (clock.now() !== 1_500 || fired[0] !== 1_200) throw new Error("fake clock did not advance");
 * ```
 */
export class FakeClock implements Clock {
  private timers: FakeTimer[] = [];
  private seq = 0;

  constructor(private ms: number) {}

  now(): number {
    return this.ms;
  }

  setTimer(ms: number, fn: () => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.timers.push({ at: this.ms + Math.max(0, ms), seq: this.seq++, fn, signal });
  }

  /** Timers armed and neither fired nor aborted. */
  get pendingTimers(): number {
    this.timers = this.timers.filter((t) => !t.signal.aborted);
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (those armed by a firing
   * timer too), each with the clock at its due time.
   */
  advance(ms: number): void {
    this.set(this.ms + ms);
  }

  /** Moves time to `ms`; timers due by then fire when it moves forward. */
  set(ms: number): void {
    for (let next = this.nextDue(ms); next; next = this.nextDue(ms)) {
      this.timers.splice(this.timers.indexOf(next), 1);
      this.ms = Math.max(this.ms, next.at);
      next.fn();
    }
    this.ms = ms;
  }

  private nextDue(until: number): FakeTimer | null {
    let next: FakeTimer | null = null;
    for (const t of this.timers) {
      if (t.signal.aborted || t.at > until) continue;
      if (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
    }
    return next;
  }
}
