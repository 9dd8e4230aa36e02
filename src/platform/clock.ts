/**
 * Time as a port: storage and background loops take a {@link Clock}, so tests drive time by hand.
 *
 * @module
 */

/** A source of wall-clock time in Unix milliseconds. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that only moves when told to.
 *
 * @example
 * ```ts
 * import { FakeClock } from "./clock.ts";
 * const clock = new FakeClock(1_000);
 * clock.advance(500);
 * if (clock.now() !== 1_500) throw new Error("fake clock did not advance");
 * ```
 */
export class FakeClock implements Clock {
  constructor(private ms: number) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
